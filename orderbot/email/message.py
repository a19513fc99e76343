"""Build the confirmation email as a multipart/alternative EmailMessage."""

from __future__ import annotations

import email.policy
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import make_msgid

from orderbot.config import Settings
from orderbot.email.template import Confirmation, RenderedEmail, header_safe, render_email
from orderbot.form import is_http_url, parse_email_address

# The From address of outbox emails when no SENDER_EMAIL is configured.
OUTBOX_SENDER = "orders@localhost"
REFERENCE_HEADER = "X-Order-Reference"
_REFERENCE_RE = re.compile(r"[A-Za-z0-9-]{1,40}")


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, remembering the header classes it builds.

    The stdlib registry creates a new class with type() for every header it parses,
    which was a third of the time spent building a confirmation (measured: 1.24 ms
    down to 0.70 ms per message). The classes it returns are the same either way.
    """

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = super().__getitem__(name)
        return built


# email.policy.default with the remembering registry; aiosmtplib and the outbox
# serialise with clones of a message's own policy, so they share it.
POLICY = email.policy.default.clone(header_factory=_HeaderClasses())


def sender_address(settings: Settings) -> str:
    """Return the envelope and From address: SENDER_EMAIL, or a local one for the outbox."""
    return settings.sender_email or OUTBOX_SENDER


def check_reference(reference: str) -> str:
    """Return the reference if it is a plain order reference such as REF-7K3Q9XH2."""
    if not _REFERENCE_RE.fullmatch(reference):
        raise ValueError("an order reference is 1 to 40 letters, digits and hyphens")
    return reference


def build_message(
    settings: Settings,
    rendered: RenderedEmail,
    *,
    recipient: str,
    reference: str,
) -> EmailMessage:
    """Wrap rendered texts in headers: From the shop, To the one recipient, text then HTML."""
    address = parse_email_address(recipient)
    if address is None:
        raise ValueError("the recipient must be exactly one valid email address")
    sender = sender_address(settings)
    message = EmailMessage(policy=POLICY)
    # The headerregistry objects quote display names themselves; header_safe keeps
    # line breaks and encoded words out of them all the same.
    message["From"] = Address(display_name=header_safe(settings.shop_name), addr_spec=sender)
    message["To"] = Address(addr_spec=address)
    if settings.reply_to:
        message["Reply-To"] = Address(addr_spec=settings.reply_to)
    message["Subject"] = rendered.subject
    message["Date"] = datetime.now(UTC)
    message["Message-ID"] = make_msgid(
        idstring=check_reference(reference),
        domain=sender.rpartition("@")[2],
    )
    message[REFERENCE_HEADER] = reference
    # RFC 3834: an automatic reply to a request, so vacation responders stay quiet.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text, subtype="plain", charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return message


def compose_confirmation(
    settings: Settings,
    *,
    answers: Mapping[str, str],
    email: str,
    reference: str,
    customer: str,
    server_name: str,
    submitted_at: datetime,
    allow_url: Callable[[str], bool] = is_http_url,
) -> EmailMessage:
    """Render the configured template for one order and build the message to send.

    Args:
        answers: the customer's form answers by form key.
        email: the customer's validated address, the one and only recipient.
        reference: the bot's order reference (REF-...).
        customer: the Discord user who submitted the order, for the footer.
        server_name: the Discord server it was submitted on, for the footer.
        submitted_at: when it was submitted (timezone-aware).
        allow_url: which links may become the product image; leave the default.
    """
    confirmation = Confirmation(
        answers=answers,
        email=email,
        reference=reference,
        shop_name=settings.shop_name,
        server_name=server_name,
        customer=customer,
        submitted_at=submitted_at,
    )
    rendered = render_email(settings.template, confirmation, allow_url=allow_url)
    return build_message(settings, rendered, recipient=email, reference=reference)
