"""Every text a customer or staff member reads in Discord, in one place."""

from __future__ import annotations

# Quoted word for word from SPEC §3; external checks match these exactly.
INVALID_EMAIL = "❌ Invalid email address provided. Please use a valid email format."
ORDER_SUBMITTED_HEADING = "✅ **Order Submitted!**"
NO_ORDER_IN_PROGRESS = "No order in progress"
ORDER_EXPIRED = "This order has expired — run `/order_form` to start again"

GENERIC_ERROR = "⚠️ Something went wrong on our side. Please try again in a moment."

_CHECK_RULES = {
    "date": "must be a real date written YYYY-MM-DD",
    "url": "must be a link that starts with http:// or https://",
    "money": "must be an amount of money",
    "email": "must be one email address",
    "text": "is not valid",
}


def field_required(label: str, example: str) -> str:
    """Say that a required field was left blank."""
    return f"❌ **{label}** is required, for example `{example}`."


def field_too_long(label: str, max_length: int) -> str:
    """Say that a field holds more characters than it allows."""
    return f"❌ **{label}** can be at most {max_length} characters long."


def field_invalid(label: str, kind: str, example: str) -> str:
    """Say that a field's value does not have the expected form."""
    return f"❌ **{label}** {_CHECK_RULES[kind]}, for example `{example}`."


def date_range_reversed(end_label: str, start_label: str, example: str) -> str:
    """Say that the end date comes before the start date."""
    return (
        f"❌ **{end_label}** cannot be before **{start_label}**; "
        f"use the same day or later, for example `{example}`."
    )
