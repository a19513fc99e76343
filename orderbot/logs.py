"""Logging set-up: one stderr format, quiet libraries, and secrets scrubbed from every line."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

LOG_FORMAT = "%(asctime)s | %(levelname)s | %(name)s | %(message)s"
LIBRARY_LOGGERS = ("nextcord", "transitions", "aiosmtplib", "aiohttp", "asyncio", "mail.log")
REDACTED = "[redacted]"

# The shape of a Discord bot token (three base64url parts), in case one reaches a
# log line from a library or an exception we did not write.
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}")


class RedactSecrets(logging.Filter):
    """Replace known secrets and anything shaped like a bot token in a record.

    It sits on the handler, not on a logger, so it also sees records that propagate
    up from library loggers, and it scrubs tracebacks as well as messages.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.update(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        """Replace the list of secret values to scrub."""
        # Longest first, so a secret that contains another is removed whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_RE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = self._scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self._scrub(record.stack_info)
        return True


def setup_logging(level: str = "INFO", *, stream: TextIO | None = None) -> RedactSecrets:
    """Send every log record to stderr in our format and return the redaction filter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    redactor = RedactSecrets()
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return redactor
