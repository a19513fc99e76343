"""The order form as data: three steps, their fields, Discord's limits and the validators."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from orderbot import messages

# Discord's modal limits: docs/developers/interactions/receiving-and-responding (modal
# data) and components/reference (text input). nextcord does not check lengths itself,
# so a form that breaks them would only fail when a customer opens it.
MAX_INPUTS_PER_MODAL = 5
MAX_TITLE_LENGTH = 45
MAX_LABEL_LENGTH = 45
MAX_PLACEHOLDER_LENGTH = 100
MAX_INPUT_LENGTH = 4000

# RFC 5321 caps a forward-path at 256 octets including the angle brackets.
MAX_EMAIL_LENGTH = 254


class Style(Enum):
    """How Discord draws a text input."""

    SHORT = "short"
    PARAGRAPH = "paragraph"


class Check(Enum):
    """The kind of value a field must hold, beyond being present."""

    TEXT = "text"
    DATE = "date"
    URL = "url"
    MONEY = "money"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One text input of a step."""

    key: str
    label: str
    style: Style
    required: bool
    max_length: int
    placeholder: str
    check: Check = Check.TEXT
    sample: str = ""

    @property
    def example(self) -> str:
        """Return a valid value to show the customer when theirs was refused."""
        return self.sample or self.placeholder


@dataclass(frozen=True, slots=True)
class DateRange:
    """A rule across two date fields: the end may not come before the start."""

    start_key: str
    end_key: str


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One modal of the form."""

    number: int
    title: str
    fields: tuple[FieldSpec, ...]
    date_ranges: tuple[DateRange, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """Return the keys of this step's fields, in form order."""
        return tuple(f.key for f in self.fields)


def _short(
    key: str,
    label: str,
    max_length: int,
    placeholder: str,
    check: Check = Check.TEXT,
    sample: str = "",
) -> FieldSpec:
    return FieldSpec(key, label, Style.SHORT, True, max_length, placeholder, check, sample)


FORM: tuple[StepSpec, ...] = (
    StepSpec(
        1,
        "Order Details - Step 1",
        (
            _short("order_number", "Order Number", 50, "ORD-12345"),
            _short(
                "estimated_arrival_start_date",
                "Arrival Start",
                20,
                "YYYY-MM-DD",
                Check.DATE,
                "2026-12-24",
            ),
            _short(
                "estimated_arrival_end_date",
                "Arrival End",
                20,
                "YYYY-MM-DD",
                Check.DATE,
                "2026-12-31",
            ),
            _short(
                "product_image_url",
                "Image URL",
                500,
                "https://example.com/image.jpg",
                Check.URL,
            ),
            _short(
                "product_name", "Product Name", 100, "Product Name", sample="Classic Leather Boots"
            ),
        ),
        (DateRange("estimated_arrival_start_date", "estimated_arrival_end_date"),),
    ),
    StepSpec(
        2,
        "Order Details - Step 2",
        (
            _short("style_id", "Style ID", 50, "STY-789"),
            _short("product_size", "Product Size", 20, "10"),
            _short("product_condition", "Condition", 50, "New"),
            _short("purchase_price", "Purchase Price", 20, "$150.00", Check.MONEY),
            _short("color", "Color", 30, "Black"),
        ),
    ),
    StepSpec(
        3,
        "Order Details - Step 3",
        (
            FieldSpec(
                "shipping_address",
                "Shipping Address",
                Style.PARAGRAPH,
                True,
                500,
                "123 Main St, City, State 12345",
            ),
            FieldSpec(
                "notes",
                "Additional Notes",
                Style.PARAGRAPH,
                False,
                1000,
                "Additional delivery instructions",
            ),
        ),
    ),
)

STEP_COUNT = len(FORM)
FIELDS: dict[str, FieldSpec] = {f.key: f for step in FORM for f in step.fields}
FORM_KEYS: tuple[str, ...] = tuple(FIELDS)


class FormDefinitionError(ValueError):
    """Raised at start-up when the form breaks one of Discord's modal limits."""


def check_form(form: tuple[StepSpec, ...]) -> None:
    """Raise FormDefinitionError naming every place the form exceeds Discord's limits."""
    problems: list[str] = []
    seen: set[str] = set()
    for step in form:
        where = f"step {step.number}"
        if not 1 <= len(step.fields) <= MAX_INPUTS_PER_MODAL:
            problems.append(f"{where} has {len(step.fields)} inputs (1 to {MAX_INPUTS_PER_MODAL})")
        if not 1 <= len(step.title) <= MAX_TITLE_LENGTH:
            problems.append(
                f"{where} title is {len(step.title)} characters (max {MAX_TITLE_LENGTH})"
            )
        for spec in step.fields:
            problems.extend(_field_problems(where, spec, seen))
        for rule in step.date_ranges:
            if not {rule.start_key, rule.end_key} <= set(step.keys):
                problems.append(f"{where} date range names fields outside the step")
    if problems:
        raise FormDefinitionError("; ".join(problems))


def _field_problems(where: str, spec: FieldSpec, seen: set[str]) -> list[str]:
    problems = []
    name = f"{where} field {spec.key!r}"
    if spec.key in seen or spec.key == "email":
        problems.append(f"{name} repeats a key already used")
    seen.add(spec.key)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", spec.key):
        problems.append(f"{name} key must be lower-case letters, digits and underscores")
    if not 1 <= len(spec.label) <= MAX_LABEL_LENGTH:
        problems.append(f"{name} label is {len(spec.label)} characters (max {MAX_LABEL_LENGTH})")
    if len(spec.placeholder) > MAX_PLACEHOLDER_LENGTH:
        problems.append(f"{name} placeholder is over {MAX_PLACEHOLDER_LENGTH} characters")
    if not 1 <= spec.max_length <= MAX_INPUT_LENGTH:
        problems.append(f"{name} max length {spec.max_length} is outside 1..{MAX_INPUT_LENGTH}")
    return problems


def step_spec(number: int) -> StepSpec:
    """Return the step with this number (1-based)."""
    return FORM[number - 1]


# Zero-width and other invisible format characters (category Cf) do not make a
# field filled in, and must never hide inside a date, a price or a link.
def _visible(value: str) -> str:
    # ASCII holds no format characters; most answers are ASCII and skip the scan.
    if value.isascii():
        return value.strip()
    return "".join(c for c in value if unicodedata.category(c) != "Cf").strip()


_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONEY_RE = re.compile(
    r"(?:[$€£¥]\s?|[A-Z]{3}\s)?"
    r"(?:\d{1,3}(?:,\d{3})+|\d+)"
    r"(?:\.\d{1,2})?"
    r"(?:\s?[A-Z]{3}|\s?[$€£¥])?"
)
_URL_FORBIDDEN = re.compile(r"[\s<>\"'`\\{}|^]")


def parse_date(value: str) -> dt.date | None:
    """Return the date written as YYYY-MM-DD, or None if it is not a real date."""
    if not _DATE_RE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def is_http_url(value: str) -> bool:
    """Tell whether the value is a plain http or https link to a named host."""
    if not value.isascii() or not value.isprintable() or _URL_FORBIDDEN.search(value):
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host) and "." in (host or "")


def is_money(value: str) -> bool:
    """Tell whether the value looks like an amount of money such as $150.00."""
    return _MONEY_RE.fullmatch(value) is not None


def parse_email_address(value: str) -> str | None:
    """Return the normalised address if the value is exactly one valid email address."""
    if len(value) > MAX_EMAIL_LENGTH or value != value.strip():
        return None
    try:
        # No DNS lookups: deliverability is the mail server's to judge, and there is
        # no network in tests. SMTPUTF8 stays off because not every relay offers it.
        result = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return result.normalized


_CHECKS: dict[Check, Callable[[str], bool]] = {
    Check.TEXT: lambda value: True,
    Check.DATE: lambda value: parse_date(value) is not None,
    Check.URL: is_http_url,
    Check.MONEY: is_money,
    Check.EMAIL: lambda value: parse_email_address(value) is not None,
}


def clean_value(spec: FieldSpec, raw: str) -> str:
    """Return the value as it will be stored: trimmed, and invisible characters dropped
    from the fields whose format is strict."""
    if spec.check is Check.TEXT:
        return raw.strip()
    return _visible(raw)


def validate_step(step: StepSpec, raw: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Check one submitted step, returning the cleaned values and every problem found.

    Each problem is a message for the customer that names the field and shows an example.
    """
    values = {spec.key: clean_value(spec, raw.get(spec.key, "")) for spec in step.fields}
    problems = [p for spec in step.fields if (p := _field_problem(spec, values[spec.key]))]
    if not problems:
        problems.extend(_range_problems(step, values))
    return values, problems


def _field_problem(spec: FieldSpec, value: str) -> str | None:
    if not _visible(value):
        return messages.field_required(spec.label, spec.example) if spec.required else None
    if len(value) > spec.max_length:
        return messages.field_too_long(spec.label, spec.max_length)
    if not _CHECKS[spec.check](value):
        return messages.field_invalid(spec.label, spec.check.value, spec.example)
    return None


def _range_problems(step: StepSpec, values: Mapping[str, str]) -> list[str]:
    problems = []
    for rule in step.date_ranges:
        start = parse_date(values[rule.start_key])
        end = parse_date(values[rule.end_key])
        if start is not None and end is not None and end < start:
            end_spec, start_spec = FIELDS[rule.end_key], FIELDS[rule.start_key]
            problems.append(
                messages.date_range_reversed(end_spec.label, start_spec.label, end_spec.example)
            )
    return problems
