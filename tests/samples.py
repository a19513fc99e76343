"""Good answers for every form field, shared by the tests and the benchmarks."""

from __future__ import annotations

from orderbot.form import FORM

ANSWERS: dict[str, str] = {
    "order_number": "ORD-12345",
    "estimated_arrival_start_date": "2026-12-24",
    "estimated_arrival_end_date": "2026-12-31",
    "product_image_url": "https://example.com/boots.jpg",
    "product_name": "Classic Leather Boots",
    "style_id": "STY-789",
    "product_size": "10",
    "product_condition": "New",
    "purchase_price": "$150.00",
    "color": "Black",
    "shipping_address": "123 Main St, Springfield, IL 62704",
    "notes": "Leave at the front desk",
}

# The same answers, as the three forms ask for them.
STEP_VALUES: dict[int, dict[str, str]] = {
    step.number: {key: ANSWERS[key] for key in step.keys} for step in FORM
}
