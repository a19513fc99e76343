"""The confirmation email template, the placeholders it may use, and how it is rendered.

Rendering is one regular-expression pass over the operator's template, so text a
customer types (even "{{email}}") is never expanded again. Every value is cleaned
for where it lands: HTML-escaped in the body, checked as an http(s) link in URL
attributes, left out of style, script and event-handler attributes, and stripped
of line breaks, control characters and encoded-word openers in headers.
"""

from __future__ import annotations

import enum
import functools
import html
import re
import textwrap
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from orderbot.form import FIELDS, FORM_KEYS, is_http_url

# Values the code supplies besides the customer's form answers.
CONTEXT_KEYS = ("email", "reference", "shop_name", "server_name", "customer", "submitted_at")
PLACEHOLDERS: frozenset[str] = frozenset(FORM_KEYS) | frozenset(CONTEXT_KEYS)

PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

IMAGE_KEY = "product_image_url"
SUBMITTED_AT_FORMAT = "%Y-%m-%d %H:%M UTC"
MAX_HEADER_CHARS = 200
MAX_FOOTER_NAME_CHARS = 100
EMPTY_ANSWER = "—"


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    """The operator's confirmation email: a subject line and an HTML body with placeholders."""

    subject: str
    html_body: str


def unknown_placeholders(template: EmailTemplate) -> list[tuple[str, str]]:
    """Return (template key, placeholder) for every placeholder the renderer cannot fill."""
    found = []
    for key, text in (("subject", template.subject), ("html_body", template.html_body)):
        for name in PLACEHOLDER_RE.findall(text):
            if name not in PLACEHOLDERS and (key, name) not in found:
                found.append((key, name))
    return found


@dataclass(frozen=True, slots=True)
class Confirmation:
    """Everything one confirmation email is made from."""

    answers: Mapping[str, str]
    email: str
    reference: str
    shop_name: str
    server_name: str
    customer: str
    submitted_at: datetime

    def values(self) -> dict[str, str]:
        """Return every placeholder's raw value, form answers first."""
        unknown = set(self.answers) - set(FORM_KEYS)
        if unknown:
            raise ValueError(f"answers for unknown form keys: {sorted(unknown)}")
        if self.submitted_at.tzinfo is None:
            raise ValueError("submitted_at must be timezone-aware")
        values = {key: self.answers.get(key, "") for key in FORM_KEYS}
        values.update(
            email=self.email,
            reference=self.reference,
            shop_name=self.shop_name,
            server_name=self.server_name,
            customer=self.customer,
            submitted_at=self.submitted_at.astimezone(UTC).strftime(SUBMITTED_AT_FORMAT),
        )
        return values


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """The three texts of one email: the subject and both body parts, footers included."""

    subject: str
    html: str
    text: str


# Characters that never reach a customer's email. Bidirectional controls can make
# "$150.00" display as "00.051$"; zero-width characters hide text. The joiners stay,
# because emoji sequences and several scripts need them.
_KEPT_FORMAT_CHARS = frozenset("\u200c\u200d")
_NEWLINES_RE = re.compile(r"\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_ENCODED_WORD_RE = re.compile(r"=+(?=\?)")
_SPACES_RE = re.compile(r"\s+")
# In ASCII the only characters those rules drop are the C0 controls and DEL, so most
# values (plain ASCII) take one regex instead of a Unicode lookup per character.
_ASCII_CONTROLS_RE = re.compile(r"[\x00-\x1f\x7f]")
_ASCII_CONTROLS_BUT_NEWLINE_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def clean_value(value: str) -> str:
    """Return text fit for an email body: one kind of newline, no control or hidden characters."""
    value = _NEWLINES_RE.sub("\n", value).replace("\t", " ")
    if value.isascii():
        return _ASCII_CONTROLS_BUT_NEWLINE_RE.sub("", value).strip()
    return "".join(
        c
        for c in value
        if c == "\n"
        or c in _KEPT_FORMAT_CHARS
        or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co")
    ).strip()


def header_safe(value: str, max_length: int = MAX_HEADER_CHARS) -> str:
    """Return text fit for a header: one line, no control or format characters, no "=?".

    Line breaks become spaces, so words stay apart; runs of "=" before "?" are removed
    so no RFC 2047 encoded word can be smuggled in; the result is cut to max_length.
    """
    if value.isascii():
        value = _ASCII_CONTROLS_RE.sub(" ", value)
    else:
        value = "".join(
            " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
            for c in value
            if unicodedata.category(c) not in ("Cf", "Cs", "Co")
        )
    value = _ENCODED_WORD_RE.sub("", _SPACES_RE.sub(" ", value)).strip()
    if len(value) > max_length:
        value = value[: max_length - 1].rstrip() + "…"
    return value


class _Context(enum.Enum):
    """Where in the HTML a placeholder stands, which decides how its value is written."""

    TEXT = "text"  # element content: escaped, newlines become <br>
    PLAIN = "plain"  # quoted attribute, title, comment: escaped, newlines become spaces
    URL = "url"  # href, src and the like: an http(s) link or nothing
    NEVER = "never"  # style, on*, script, unquoted attribute, bare tag: nothing


_URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "srcset",
        "background",
        "action",
        "formaction",
        "poster",
        "cite",
        "longdesc",
        "xlink:href",
        "data",
        "code",
        "codebase",
        "lowsrc",
        "dynsrc",
        "usemap",
        "manifest",
        "profile",
        "icon",
        "ping",
        "archive",
    }
)
_NEVER_ATTRIBUTES = frozenset({"style", "srcdoc", "content"})
_RAW_TEXT_TAGS = frozenset({"script", "style"})
_RCDATA_TAGS = frozenset({"title", "textarea"})
_TAG_NAME_RE = re.compile(r"/?[A-Za-z][A-Za-z0-9:-]*")
_ATTR_NAME_RE = re.compile(r"[^\s\"'>/=]+")


@dataclass(frozen=True, slots=True)
class _Image:
    """An <img> tag of the template: where it is, and which placeholders fill its src."""

    start: int
    end: int
    src_placeholders: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Scan:
    contexts: tuple[_Context, ...]
    images: tuple[_Image, ...]
    body_end: int | None  # characters from the end to the last real </body>, if usable
    closer: str  # what closes whatever the template leaves open at its end


def _attribute_context(name: str, quoted: bool) -> _Context:
    if not quoted or name in _NEVER_ATTRIBUTES or name.startswith("on"):
        return _Context.NEVER
    return _Context.URL if name in _URL_ATTRIBUTES else _Context.PLAIN


@functools.lru_cache(maxsize=16)
def _scan(markup: str) -> _Scan:
    """Walk the template once and note the context of every placeholder, in order."""
    spans = {m.start(): m.end() for m in PLACEHOLDER_RE.finditer(markup)}
    contexts: list[_Context] = []
    images: list[_Image] = []
    image_start, image_srcs = -1, []
    body_end: int | None = None
    state, tag, attr, i = "data", "", "", 0
    while i < len(markup):
        if i in spans:
            if tag == "img" and attr == "src" and state in ("dq", "sq"):
                image_srcs.append(len(contexts))
            contexts.append(_placeholder_context(state, tag, attr))
            # The footer goes before </body> only when no placeholder follows it, so
            # the rendered text after that point is the template's own.
            body_end = None
            i = spans[i]
            continue
        if state == "data" and markup[i : i + 6].lower() == "</body":
            body_end = len(markup) - i
        before = state
        state, tag, attr, i = _step(markup, i, state, tag, attr)
        if before == "data" and state == "tag" and tag == "img":
            image_start, image_srcs = markup.rfind("<", 0, i), []
        elif before == "tag" and state == "data" and tag == "img" and image_start >= 0:
            images.append(_Image(image_start, i, tuple(image_srcs)))
            image_start = -1
    return _Scan(tuple(contexts), tuple(images), body_end, _closer(state, tag))


def _closer(state: str, tag: str) -> str:
    """Return the markup that ends whatever is open in this tokenizer state."""
    if state == "comment":
        return "-->"
    if state in ("raw", "rcdata"):
        return f"</{tag}>"
    if state == "data":
        return ""
    end_of_tag = {"dq": '">', "sq": "'>"}.get(state, ">")
    opens_text = tag in _RAW_TEXT_TAGS or tag in _RCDATA_TAGS
    return end_of_tag + (f"</{tag}>" if opens_text else "")


def _placeholder_context(state: str, tag: str, attr: str) -> _Context:
    if state == "data":
        return _Context.TEXT
    if state in ("comment", "rcdata"):
        return _Context.PLAIN
    if state in ("dq", "sq"):
        return _attribute_context(attr, quoted=True)
    return _Context.NEVER


def _step(s: str, i: int, state: str, tag: str, attr: str) -> tuple[str, str, str, int]:
    """Advance the little HTML tokenizer by one step; returns (state, tag, attr, index)."""
    c = s[i]
    if state == "data":
        if s.startswith("<!--", i):
            return "comment", tag, attr, i + 4
        m = _TAG_NAME_RE.match(s, i + 1) if c == "<" else None
        if m:
            return "tag", m.group().lower(), "", m.end()
        return state, tag, attr, i + 1
    if state == "comment":
        return ("data", tag, attr, i + 3) if s.startswith("-->", i) else (state, tag, attr, i + 1)
    if state in ("raw", "rcdata"):
        if s[i : i + len(tag) + 2].lower() == f"</{tag}":
            return "tag", "/" + tag, "", i + len(tag) + 2
        return state, tag, attr, i + 1
    if state == "dq":
        return ("tag", tag, attr, i + 1) if c == '"' else (state, tag, attr, i + 1)
    if state == "sq":
        return ("tag", tag, attr, i + 1) if c == "'" else (state, tag, attr, i + 1)
    if state == "uq":
        if c.isspace() or c == ">":
            return "tag", tag, attr, i
        return state, tag, attr, i + 1
    # Inside a tag, between attributes.
    if c == ">":
        if tag in _RAW_TEXT_TAGS:
            return "raw", tag, "", i + 1
        if tag in _RCDATA_TAGS:
            return "rcdata", tag, "", i + 1
        return "data", tag, "", i + 1
    if c == "=":
        j = i + 1
        while j < len(s) and s[j].isspace():
            j += 1
        if j < len(s) and s[j] in "\"'":
            return ("dq" if s[j] == '"' else "sq"), tag, attr, j + 1
        return "uq", tag, attr, j
    m = _ATTR_NAME_RE.match(s, i)
    if m:
        return state, tag, m.group().lower(), m.end()
    return state, tag, attr, i + 1


def _html_value(name: str, value: str, context: _Context, allow_url: Callable[[str], bool]) -> str:
    if name == IMAGE_KEY or context is _Context.URL:
        # Escaping does not make "javascript:" harmless: only real web links pass.
        value = value if allow_url(value) else ""
    if context is _Context.NEVER:
        return ""
    escaped = html.escape(value, quote=True)
    if context is _Context.TEXT:
        return escaped.replace("\n", "<br>\n")
    return escaped.replace("\n", " ")


def _lookup(values: Mapping[str, str], name: str) -> str:
    try:
        return values[name]
    except KeyError:
        raise ValueError(f"the template uses an unknown placeholder {{{{{name}}}}}") from None


def render_subject(template: EmailTemplate, values: Mapping[str, str]) -> str:
    """Render the subject line, safe to put in a header."""
    return header_safe(
        PLACEHOLDER_RE.sub(lambda m: header_safe(_lookup(values, m.group(1))), template.subject)
    )


def render_html(
    template: EmailTemplate,
    values: Mapping[str, str],
    *,
    allow_url: Callable[[str], bool] = is_http_url,
) -> str:
    """Render the operator's HTML body (without the footer) in a single substitution pass.

    An <img> whose src placeholder was refused (not an http(s) link) is left out whole,
    so no client shows a broken-image box.
    """
    markup = template.html_body
    scan = _scan(markup)
    matches = list(PLACEHOLDER_RE.finditer(markup))
    filled = [
        _html_value(m.group(1), clean_value(_lookup(values, m.group(1))), context, allow_url)
        for m, context in zip(matches, scan.contexts, strict=True)
    ]
    # An optional answer left blank shows as a dash in the text, not as a hole.
    filled = [
        EMPTY_ANSWER if not value and context is _Context.TEXT and m.group(1) in FIELDS else value
        for m, context, value in zip(matches, scan.contexts, filled, strict=True)
    ]
    dropped = [
        (image.start, image.end)
        for image in scan.images
        if any(not filled[n] for n in image.src_placeholders)
    ]
    pieces: list[str] = []
    position = 0
    for match, value in zip(matches, filled, strict=True):
        pieces.append(_without(markup, position, match.start(), dropped))
        if not any(start <= match.start() < end for start, end in dropped):
            pieces.append(value)
        position = match.end()
    pieces.append(_without(markup, position, len(markup), dropped))
    return "".join(pieces)


def _without(markup: str, start: int, end: int, dropped: list[tuple[int, int]]) -> str:
    """Return markup[start:end] minus the dropped spans."""
    kept = []
    for drop_start, drop_end in dropped:
        if drop_end <= start or drop_start >= end:
            continue
        kept.append(markup[start:drop_start] if drop_start > start else "")
        start = max(start, drop_end)
    kept.append(markup[start:end] if start < end else "")
    return "".join(kept)


def render_text(
    values: Mapping[str, str],
    *,
    allow_url: Callable[[str], bool] = is_http_url,
) -> str:
    """Render the plain-text part (without the footer): the order as a readable table."""
    clean = {key: clean_value(value) for key, value in values.items()}
    if not allow_url(clean[IMAGE_KEY]):
        clean[IMAGE_KEY] = ""
    rows = [("Reference", clean["reference"]), ("Submitted", clean["submitted_at"])]
    rows += [(FIELDS[key].label, clean[key] or EMPTY_ANSWER) for key in FORM_KEYS]
    rows.append(("Email", clean["email"]))
    width = max(len(label) for label, _ in rows) + 2
    lines = [
        f"{header_safe(clean['shop_name'])}: order confirmation",
        "",
        "Thank you for your order. These are the details you submitted:",
        "",
    ]
    for label, value in rows:
        first, *rest = value.split("\n")
        lines.append(f"{label + ':':<{width}}{first}")
        lines.extend(" " * width + line for line in rest)
    return "\n".join(lines) + "\n"


def _footer_names(values: Mapping[str, str]) -> dict[str, str]:
    names = ("shop_name", "server_name", "customer", "reference", "submitted_at")
    return {
        key: header_safe(clean_value(values[key]), MAX_FOOTER_NAME_CHARS) or "unknown"
        for key in names
    }


def footer_text(values: Mapping[str, str]) -> str:
    """Return the provenance footer for the plain-text part; no template can leave it out."""
    v = _footer_names(values)
    paragraphs = [
        f"This is {v['shop_name']}'s own order confirmation, sent at the customer's request "
        f"through {v['shop_name']}'s Discord server. It is not a receipt from any retailer "
        "or brand.",
        f'Submitted on the Discord server "{v["server_name"]}" by the Discord user '
        f"{v['customer']} on {v['submitted_at']}. Order reference: {v['reference']}.",
        "If you did not place this order, you can ignore this email.",
    ]
    return "-- \n" + "\n".join(textwrap.fill(p, 76) for p in paragraphs) + "\n"


_FOOTER_FONT = "font-family:Helvetica,Arial,sans-serif;font-size:12px;line-height:18px;"


def footer_html(values: Mapping[str, str]) -> str:
    """Return the provenance footer for the HTML part; no template can leave it out."""
    v = {key: html.escape(text, quote=True) for key, text in _footer_names(values).items()}
    p = f'<p style="margin:0 0 8px 0;{_FOOTER_FONT}color:#6b7280;">'
    return (
        '\n<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="width:100%;">\n<tr><td align="center" style="padding:8px 12px 32px 12px;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="width:100%;max-width:600px;">\n<tr><td data-orderbot-footer="provenance" '
        'style="padding:16px 8px 0 8px;border-top:1px solid #e4e4e7;text-align:center;">'
        f"\n{p}This is <strong>{v['shop_name']}</strong>&#x27;s own order "
        f"confirmation, sent at the customer&#x27;s request through {v['shop_name']}&#x27;s "
        "Discord server. It is not a receipt from any retailer or brand.</p>\n"
        f"{p}Submitted on the Discord server <strong>{v['server_name']}</strong> by the Discord "
        f"user <strong>{v['customer']}</strong> on {v['submitted_at']}. Order reference: "
        f"<strong>{v['reference']}</strong>.</p>\n"
        f"{p}If you did not place this order, you can ignore this email.</p>\n"
        "</td></tr>\n</table>\n</td></tr>\n</table>\n"
    )


def append_footer(template: EmailTemplate, rendered_html: str, footer: str) -> str:
    """Put the footer before </body>, or at the very end after closing what is left open.

    A template cannot hide the footer in an unclosed comment, style or attribute.
    """
    scan = _scan(template.html_body)
    if scan.body_end is None:
        return rendered_html + scan.closer + footer
    at = len(rendered_html) - scan.body_end
    return rendered_html[:at] + footer + rendered_html[at:]


def render_email(
    template: EmailTemplate,
    confirmation: Confirmation,
    *,
    allow_url: Callable[[str], bool] = is_http_url,
) -> RenderedEmail:
    """Render the subject and both body parts of a confirmation, with the footer in each.

    Args:
        allow_url: which links may go into src/href; the default accepts http(s) only.
            Only the preview tool widens it, for its own offline sample image.
    """
    values = confirmation.values()
    body = render_html(template, values, allow_url=allow_url)
    return RenderedEmail(
        subject=render_subject(template, values),
        html=append_footer(template, body, footer_html(values)),
        text=render_text(values, allow_url=allow_url) + "\n" + footer_text(values),
    )
