"""What every mailer promises: the Mailer protocol and the typed results it returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Literal, Protocol

from orderbot.email.errors import InvalidRecipient
from orderbot.form import parse_email_address

Transport = Literal["smtp", "outbox"]

_ADDRESS_RE = re.compile(r"[^\s<>@,;:\"']+@[^\s<>@,;:\"']+")


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message the server accepted (or the outbox stored)."""

    reference: str
    transport: Transport
    attempts: int
    elapsed_seconds: float
    server_reply: str | None = None
    outbox_path: Path | None = None


@dataclass(frozen=True, slots=True)
class LoginStatus:
    """The result of check_login(), for /run_diagnostics."""

    ok: bool
    reason: str  # "ok", "outbox", or an EmailError reason code
    detail: str
    checked_at: datetime
    elapsed_seconds: float


@dataclass(slots=True)
class MailerStats:
    """Delivery counters since the mailer was built, for diagnostics."""

    transport: Transport
    sent: int = 0
    failed: int = 0
    retries: int = 0
    connections: int = 0
    logins: int = 0
    reconnects: int = 0
    last_failure_reason: str | None = None
    last_sent_at: datetime | None = None

    def snapshot(self) -> MailerStats:
        """Return a copy of the counters as they are now."""
        return replace(self)


class Mailer(Protocol):
    """The one interface the bot uses to deliver confirmation emails."""

    @property
    def stats(self) -> MailerStats:
        """Return a snapshot of the delivery counters."""
        ...

    async def send(self, message: EmailMessage, *, recipient: str, reference: str) -> Delivery:
        """Deliver the message to exactly this recipient, retrying transient failures.

        Raises:
            EmailPermanentError: a subclass saying why retrying cannot help.
            DeliveryGaveUp: transient failures lasted past the retry budget.
        """
        ...

    async def check_login(self) -> LoginStatus:
        """Connect and log in without sending anything; never raises for SMTP trouble."""
        ...

    async def close(self) -> None:
        """Say goodbye to the server and close any open connection."""
        ...


def mask_address(address: str) -> str:
    """Return the address with its local part hidden, as j***@example.com."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_addresses(text: str) -> str:
    """Return the text with every email address in it masked, for log lines."""
    return _ADDRESS_RE.sub(lambda m: mask_address(m.group()), text)


def checked_recipient(message: EmailMessage, recipient: str) -> str:
    """Return the one validated recipient, which must also be the message's only To address.

    Raises:
        InvalidRecipient: the recipient is not exactly one valid address.
        ValueError: the message is addressed to someone else as well or instead.
    """
    address = parse_email_address(recipient)
    if address is None:
        raise InvalidRecipient("not exactly one valid email address", step="address")
    to = [parse_email_address(a) for _, a in getaddresses(message.get_all("To", []))]
    if to != [address] or message.get_all("Cc") or message.get_all("Bcc"):
        raise ValueError("the message must be addressed To the recipient and nobody else")
    return address
