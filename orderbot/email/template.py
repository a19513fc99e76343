"""The confirmation email template and the placeholders it may use."""

from __future__ import annotations

import re
from dataclasses import dataclass

from orderbot.form import FORM_KEYS

# Values the code supplies besides the customer's form answers.
CONTEXT_KEYS = ("email", "reference", "shop_name", "server_name", "customer", "submitted_at")
PLACEHOLDERS: frozenset[str] = frozenset(FORM_KEYS) | frozenset(CONTEXT_KEYS)

PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


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
