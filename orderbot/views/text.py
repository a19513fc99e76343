"""Put customer text safely into Discord messages: neutralised, escaped and within limits."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from nextcord.utils import escape_markdown, escape_mentions

from orderbot import messages

# Discord refuses message content over 2000 characters.
MAX_MESSAGE_LENGTH = 2000
_ELLIPSIS = "…"
_MIN_VALUE_LENGTH = 12

# Bidirectional overrides and isolates can flip the rest of a line on screen, and
# zero-width characters hide text; the zero-width joiner stays, emoji need it.
_INVISIBLE_RE = re.compile(
    "[\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK_RE = re.compile(r"\s*(?:\r\n|\r|\n)+\s*")
LINK_KEYS = frozenset({"product_image_url"})


def display(value: str) -> str:
    """Return a customer's value ready for one line of a message, showing exactly its text."""
    value = _INVISIBLE_RE.sub("", value)
    value = _CONTROL_RE.sub("", value)
    value = _LINE_BREAK_RE.sub(", ", value).strip(", ")
    return escape_mentions(escape_markdown(value))


def _shorten(raw: str, length: int) -> str:
    if len(raw) <= length:
        return raw
    return raw[: max(1, length - 1)].rstrip() + _ELLIPSIS


def _show(raw: str, link: bool) -> str:
    # A link was validated as plain printable ASCII; angle brackets keep Discord from
    # unfurling a preview of a stranger's page in the channel.
    return f"<{raw}>" if link else display(raw)


def fit_lines(parts: list[tuple[str, str, bool]], budget: int) -> list[str]:
    """Join (label, raw value, is link) into lines, shortening the longest values to fit.

    Values are shortened before escaping, so an escape sequence is never cut in half.
    """
    raws = [raw for _, raw, _ in parts]
    while True:
        shown = [_show(raw, link) for raw, (_, _, link) in zip(raws, parts, strict=True)]
        lines = [label + text for (label, _, _), text in zip(parts, shown, strict=True)]
        if sum(len(line) + 1 for line in lines) <= budget:
            return lines
        longest = max(range(len(raws)), key=lambda i: len(shown[i]))
        current = len(raws[longest])
        if current <= _MIN_VALUE_LENGTH:
            return lines[:1]
        raws[longest] = _shorten(raws[longest], max(_MIN_VALUE_LENGTH, current * 3 // 4))


def _value(keys: tuple[str, ...], values: Mapping[str, str]) -> str:
    if len(keys) == 2:
        return messages.DATE_RANGE_JOINER.join(values.get(k, "") for k in keys)
    return values.get(keys[0], "")


def order_lines(
    values: Mapping[str, str],
    *,
    reference: str,
    hidden: Collection[str] = (),
    full: bool = True,
    customer_id: int | None = None,
    budget: int = MAX_MESSAGE_LENGTH - 300,
) -> list[str]:
    """Return the summary lines of an order (SPEC §3), leaving out `hidden` keys.

    `values` holds the form answers plus `email`. `full` adds the order number,
    image, email and notes, which the channel summary never shows.
    """
    rows = list(messages.SUMMARY_LINES)
    if full:
        rows += messages.EXTRA_LINES
    parts: list[tuple[str, str, bool]] = []
    for emoji, label, keys in rows:
        if any(k in hidden for k in keys):
            continue
        raw = _value(keys, values)
        if raw.strip():
            parts.append((f"{emoji} **{label}:** ", raw, keys[0] in LINK_KEYS))
    lines = fit_lines(parts, budget)
    emoji, label = messages.REFERENCE_LABEL
    lines.append(f"{emoji} **{label}:** {reference}")
    if customer_id is not None:
        lines.append(customer_line(customer_id))
    return lines


def customer_line(user_id: int) -> str:
    """Return the summary line naming the customer (a mention, which never pings)."""
    emoji, label = messages.CUSTOMER_LABEL
    return f"{emoji} **{label}:** <@{user_id}>"
