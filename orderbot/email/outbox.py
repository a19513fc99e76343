"""Write confirmation emails as .eml files into a local folder when no SMTP login is set."""

from __future__ import annotations

import asyncio
import email.policy
import logging
import os
import re
import secrets
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from orderbot.config import Settings
from orderbot.email.delivery import (
    Delivery,
    LoginStatus,
    MailerStats,
    checked_recipient,
    mask_address,
)
from orderbot.email.errors import EmailPermanentError, OutboxWriteFailed

log = logging.getLogger(__name__)

_UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9-]+")


def outbox_name(reference: str, now: datetime) -> str:
    """Return a file name that sorts by time and never collides: time, reference, random."""
    safe = _UNSAFE_NAME_RE.sub("", reference)[:40] or "order"
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{safe}-{secrets.token_hex(4)}.eml"


def write_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Write data to folder/name so that readers see the whole file or nothing.

    The bytes go to a hidden temporary file in the same folder first, are flushed
    to disk, and only then renamed into place.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        target = folder / name
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


class OutboxMailer:
    """A Mailer that stores each message as an .eml file under settings.outbox_dir."""

    def __init__(self, settings: Settings) -> None:
        self._folder = settings.outbox_dir
        self._counts = MailerStats("outbox")

    @property
    def folder(self) -> Path:
        """Return the folder the emails are written to."""
        return self._folder

    @property
    def stats(self) -> MailerStats:
        """Return a snapshot of the counters."""
        return self._counts.snapshot()

    async def send(self, message: EmailMessage, *, recipient: str, reference: str) -> Delivery:
        """Write the message atomically into the outbox folder."""
        started = time.monotonic()
        try:
            address = checked_recipient(message, recipient)
            # The same bytes an SMTP server would receive, line endings included.
            data = message.as_bytes(policy=email.policy.SMTP)
            name = outbox_name(reference, datetime.now(UTC))
            try:
                path = await asyncio.to_thread(write_atomically, self._folder, name, data)
            except OSError as exc:
                raise OutboxWriteFailed(
                    f"{type(exc).__name__}: {exc.strerror or exc}",
                    step="outbox",
                ) from exc
        except EmailPermanentError as exc:
            self._counts.failed += 1
            self._counts.last_failure_reason = exc.reason
            log.error("Email for order %s not written: %s (%s)", reference, exc.reason, exc.detail)
            raise
        self._counts.sent += 1
        self._counts.last_sent_at = datetime.now(UTC)
        log.info(
            "Email for order %s to %s written to the outbox: %s",
            reference,
            mask_address(address),
            path,
        )
        return Delivery(reference, "outbox", 1, time.monotonic() - started, outbox_path=path)

    async def check_login(self) -> LoginStatus:
        """Report that no SMTP login is configured and where emails go instead."""
        return LoginStatus(
            ok=True,
            reason="outbox",
            detail=f"no SMTP login configured; emails are written to {self._folder}",
            checked_at=datetime.now(UTC),
            elapsed_seconds=0.0,
        )

    async def close(self) -> None:
        """Do nothing: every file is complete once send() returns."""
