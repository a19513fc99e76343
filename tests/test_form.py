"""The form definition, Discord's limits, and every validator over good and hostile values."""

from __future__ import annotations

import dataclasses

import pytest

from orderbot.form import (
    FIELDS,
    FORM,
    MAX_INPUT_LENGTH,
    FormDefinitionError,
    StepSpec,
    check_form,
    is_http_url,
    is_money,
    parse_date,
    parse_email_address,
    step_spec,
    validate_step,
)

HOSTILE = [
    "<script>alert(1)</script>",
    '" onerror="alert(1)',
    "line one\r\nBcc: victim@example.com",
    "{{email}}",
    "x" * 4000,
    "\u202eevil\u202c",
    "zero\u200bwidth",
    "🎉🔥",
]


def _step1(**changes: str) -> dict[str, str]:
    values = {
        "order_number": "ORD-12345",
        "estimated_arrival_start_date": "2026-12-24",
        "estimated_arrival_end_date": "2026-12-31",
        "product_image_url": "https://example.com/image.jpg",
        "product_name": "Classic Leather Boots",
    }
    values.update(changes)
    return values


def test_form_matches_spec_table() -> None:
    assert [s.title for s in FORM] == [
        "Order Details - Step 1",
        "Order Details - Step 2",
        "Order Details - Step 3",
    ]
    assert FORM[0].keys == (
        "order_number",
        "estimated_arrival_start_date",
        "estimated_arrival_end_date",
        "product_image_url",
        "product_name",
    )
    assert FORM[1].keys == (
        "style_id",
        "product_size",
        "product_condition",
        "purchase_price",
        "color",
    )
    assert FORM[2].keys == ("shipping_address", "notes")
    assert FIELDS["product_image_url"].max_length == 500
    assert FIELDS["notes"].required is False
    assert FIELDS["shipping_address"].style.value == "paragraph"
    assert FIELDS["purchase_price"].placeholder == "$150.00"


def test_check_form_shipped_form_fits_discord_limits() -> None:
    check_form(FORM)


def test_check_form_refuses_six_inputs() -> None:
    extra = dataclasses.replace(FIELDS["color"], key="extra")
    bad = (dataclasses.replace(FORM[1], fields=(*FORM[1].fields, extra)),)

    with pytest.raises(FormDefinitionError, match="6 inputs"):
        check_form(bad)


def test_check_form_refuses_long_title_and_label() -> None:
    field = dataclasses.replace(FIELDS["color"], label="L" * 46)
    bad = (StepSpec(1, "T" * 46, (field,)),)

    with pytest.raises(FormDefinitionError) as caught:
        check_form(bad)

    assert "title is 46" in str(caught.value)
    assert "label is 46" in str(caught.value)


def test_check_form_refuses_length_over_4000() -> None:
    field = dataclasses.replace(FIELDS["notes"], max_length=MAX_INPUT_LENGTH + 1)

    with pytest.raises(FormDefinitionError, match="max length 4001"):
        check_form((StepSpec(1, "Title", (field,)),))


def test_check_form_refuses_duplicate_keys() -> None:
    field = FIELDS["color"]

    with pytest.raises(FormDefinitionError, match="repeats"):
        check_form((StepSpec(1, "Title", (field, field)),))


@pytest.mark.parametrize("value", ["2026-12-24", "2024-02-29", "1999-01-01"])
def test_parse_date_accepts_real_dates(value: str) -> None:
    assert parse_date(value) is not None


@pytest.mark.parametrize(
    "value",
    ["2025-02-29", "2026-13-01", "2026-12-32", "24/12/2026", "20261224", "2026-1-5", "", *HOSTILE],
)
def test_parse_date_refuses_other_values(value: str) -> None:
    assert parse_date(value) is None


@pytest.mark.parametrize(
    "value",
    ["https://example.com/image.jpg", "http://cdn.shop.example/a/b.png?x=1&y=2"],
)
def test_is_http_url_accepts_links(value: str) -> None:
    assert is_http_url(value)


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "ftp://example.com/a.jpg",
        "data:image/png;base64,AAAA",
        "https://",
        "https://localhost/a.jpg",
        "example.com/image.jpg",
        'https://example.com/a.jpg" onerror="alert(1)',
        "https://exa mple.com/a.jpg",
        "https://example.com/\u202ejpg",
        *HOSTILE,
    ],
)
def test_is_http_url_refuses_other_values(value: str) -> None:
    assert not is_http_url(value)


@pytest.mark.parametrize(
    "value", ["$150.00", "150", "150.5", "$1,299.99", "€99", "99.99 USD", "USD 20"]
)
def test_is_money_accepts_amounts(value: str) -> None:
    assert is_money(value)


@pytest.mark.parametrize("value", ["free", "$", "1.234", "12,34,5", "-5", "$ 1 5", *HOSTILE])
def test_is_money_refuses_other_values(value: str) -> None:
    assert not is_money(value)


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("customer@example.com", "customer@example.com"),
        ("Jane.Doe+x@EXAMPLE.COM", "Jane.Doe+x@example.com"),
    ],
)
def test_parse_email_address_accepts_one_address(value: str, normalised: str) -> None:
    assert parse_email_address(value) == normalised


@pytest.mark.parametrize(
    "value",
    [
        "not-an-email",
        "a@b",
        "user@localhost",
        "user@example.com\n",
        " user@example.com",
        "user@example.com\r\nBcc: x@example.com",
        "a@example.com, b@example.com",
        "Name <user@example.com>",
        "user..dots@example.com",
        "user@example..com",
        "x" * 250 + "@example.com",
        *HOSTILE,
    ],
)
def test_parse_email_address_refuses_other_values(value: str) -> None:
    assert parse_email_address(value) is None


def test_validate_step_accepts_good_step1() -> None:
    values, problems = validate_step(step_spec(1), _step1())

    assert problems == []
    assert values["order_number"] == "ORD-12345"


def test_validate_step_lists_every_problem_with_field_and_example() -> None:
    raw = _step1(
        order_number="  ",
        estimated_arrival_start_date="2026-02-30",
        product_image_url="javascript:alert(1)",
    )

    _, problems = validate_step(step_spec(1), raw)

    assert len(problems) == 3
    assert "**Order Number** is required, for example `ORD-12345`" in problems[0]
    assert "**Arrival Start** must be a real date written YYYY-MM-DD" in problems[1]
    assert "**Image URL**" in problems[2] and "https://example.com/image.jpg" in problems[2]


def test_validate_step_end_before_start_is_refused() -> None:
    raw = _step1(estimated_arrival_start_date="2026-12-31", estimated_arrival_end_date="2026-12-24")

    _, [problem] = validate_step(step_spec(1), raw)

    assert "**Arrival End** cannot be before **Arrival Start**" in problem


def test_validate_step_same_day_range_is_fine() -> None:
    raw = _step1(estimated_arrival_start_date="2026-12-24", estimated_arrival_end_date="2026-12-24")

    assert validate_step(step_spec(1), raw)[1] == []


def test_validate_step_price_problem_shows_example() -> None:
    raw = {
        "style_id": "STY-1",
        "product_size": "10",
        "product_condition": "New",
        "purchase_price": "a lot",
        "color": "Black",
    }

    _, [problem] = validate_step(step_spec(2), raw)

    assert "**Purchase Price** must be an amount of money, for example `$150.00`" in problem


def test_validate_step_optional_notes_may_be_blank() -> None:
    values, problems = validate_step(step_spec(3), {"shipping_address": "1 Main St", "notes": ""})

    assert problems == []
    assert values["notes"] == ""


def test_validate_step_zero_width_only_counts_as_blank() -> None:
    _, [problem] = validate_step(step_spec(3), {"shipping_address": "\u200b\u200d", "notes": ""})

    assert "**Shipping Address** is required" in problem


def test_validate_step_too_long_value_is_refused() -> None:
    _, [problem] = validate_step(step_spec(3), {"shipping_address": "x" * 501, "notes": ""})

    assert "at most 500 characters" in problem


def test_validate_step_zero_width_inside_date_is_tolerated() -> None:
    values, problems = validate_step(
        step_spec(1), _step1(estimated_arrival_start_date="2026-12-24\u200b")
    )

    assert problems == []
    assert values["estimated_arrival_start_date"] == "2026-12-24"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_validate_step_free_text_keeps_hostile_value_verbatim(hostile: str) -> None:
    raw = _step1(product_name=hostile[:100])

    values, problems = validate_step(step_spec(1), raw)

    assert values["product_name"] == hostile[:100].strip()
    assert problems == [] or all("Product Name" in p for p in problems)


def test_validate_step_missing_keys_count_as_blank() -> None:
    _, problems = validate_step(step_spec(2), {})

    assert len(problems) == 5
