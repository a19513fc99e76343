"""Customer text in Discord messages: neutralised, escaped, and inside Discord's limits."""

from __future__ import annotations

import pytest

from orderbot import messages
from orderbot.form import FIELDS, FORM_KEYS
from orderbot.views.ids import Action, decode, encode
from orderbot.views.text import MAX_MESSAGE_LENGTH, display, order_lines


def _values(text: str) -> dict[str, str]:
    values = {key: text[: FIELDS[key].max_length] for key in FORM_KEYS}
    values["email"] = "customer@example.com"
    return values


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("**bold** _it_", "\\*\\*bold\\*\\* \\_it\\_"),
        ("@everyone look", "@\u200beveryone look"),
        ("a\r\nb\nc", "a, b, c"),
        ("evil\u202eoverride\u202c", "eviloverride"),
        ("zero\u200bwidth", "zerowidth"),
        ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),
    ],
)
def test_display_neutralises_customer_text(raw: str, shown: str) -> None:
    assert display(raw) == shown


def test_order_lines_fit_a_message_with_every_field_at_its_maximum() -> None:
    values = _values("*" * 4000)
    values["email"] = "_" * 64 + "@" + "e" * 60 + ".example.com"
    lines = order_lines(values, reference="REF-7K3Q9XH2", customer_id=42)

    for text in (
        messages.review("REF-7K3Q9XH2", lines),
        messages.submitted_copy(lines, display(values["email"])),
        messages.staff_copy(lines),
        messages.public_summary(lines),
    ):
        assert len(text) <= MAX_MESSAGE_LENGTH
    assert lines[-2] == "🧾 **Reference:** REF-7K3Q9XH2"
    assert lines[-1] == "👤 **Customer:** <@42>"
    assert not any(line.endswith("\\…") for line in lines)


def test_order_lines_public_copy_leaves_out_hidden_fields() -> None:
    values = _values("x")
    values["shipping_address"] = "1 Private Lane"
    values["notes"] = "ring twice"

    lines = order_lines(
        values,
        reference="REF-7K3Q9XH2",
        hidden=("shipping_address", "email", "notes"),
        full=False,
    )

    text = "\n".join(lines)
    assert "Private Lane" not in text
    assert "customer@example.com" not in text
    assert "ring twice" not in text
    assert "**Product:**" in text


def test_order_lines_summary_layout_order() -> None:
    values = _values("v")
    values["estimated_arrival_start_date"] = "2026-12-24"
    values["estimated_arrival_end_date"] = "2026-12-31"

    lines = order_lines(values, reference="REF-7K3Q9XH2", full=False)

    labels = [line.split("**")[1] for line in lines]
    assert labels[:8] == [
        "Product:",
        "Total Paid:",
        "Estimated Arrival:",
        "Style ID:",
        "Size:",
        "Color:",
        "Condition:",
        "Shipping To:",
    ]
    assert "**Estimated Arrival:** 2026-12-24 to 2026-12-31" in lines[2]


def test_order_lines_image_link_is_not_escaped_or_unfurled() -> None:
    values = _values("v")
    values["product_image_url"] = "https://example.com/my_image.jpg"

    lines = order_lines(values, reference="REF-7K3Q9XH2")

    assert "🖼️ **Image:** <https://example.com/my_image.jpg>" in lines


def test_custom_id_round_trip_and_length() -> None:
    custom_id = encode(Action.CONTINUE, 2**63 - 1, 2**63 - 1, "REF-7K3Q9XH2", 2)

    route = decode(custom_id)

    assert len(custom_id) <= 100
    assert route is not None
    assert route.action is Action.CONTINUE
    assert route.key == (2**63 - 1, 2**63 - 1)
    assert route.reference == "REF-7K3Q9XH2"
    assert route.step == 2


@pytest.mark.parametrize(
    "custom_id", ["", "ob", "ob:zz:1:2:ABC:0", "other:c:1:2:ABC:0", "ob:c:x:2:A:0"]
)
def test_custom_id_decode_refuses_foreign_ids(custom_id: str) -> None:
    assert decode(custom_id) is None
