"""Health figures for staff: uptime, email counts and a cached check of the SMTP login."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from orderbot.orders import OrderService

log = logging.getLogger(__name__)

# A login check costs a TLS handshake and an AUTH against the provider; staff
# running the command twice in a minute should not pay for it twice.
LOGIN_CHECK_CACHE_SECONDS = 60.0
# How long the command waits for a fresh check before answering without it.
LOGIN_CHECK_WAIT_SECONDS = 0.8

LoginProbe = Callable[[], Awaitable[str]]


class EmailCounts(Protocol):
    """Emails accepted and given up on since start."""

    sent: int
    failed: int


def format_uptime(seconds: float) -> str:
    """Write a duration as "2d 14h 32m 18s", leaving out leading zero units."""
    remaining = int(seconds)
    days, remaining = divmod(remaining, 86_400)
    hours, remaining = divmod(remaining, 3_600)
    minutes, secs = divmod(remaining, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m")]
    while parts and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value}{unit}" for value, unit in [*parts, (secs, "s")])


@dataclass(frozen=True, slots=True)
class LoginState:
    """The outcome of the last SMTP login check: "ok", "checking", or a failure reason code."""

    reason: str
    checked_at: float


class Diagnostics:
    """Collect the figures /run_diagnostics reports.

    Args:
        service: the order desk, for live orders and the configured channels.
        emails: the counts of confirmations sent and failed.
        probe_login: connects and logs in to the SMTP server without sending, and
            returns "ok" or a failure reason code. None when there is no SMTP account
            (the outbox is used).
        timer: monotonic clock, injectable for tests.
    """

    def __init__(
        self,
        *,
        service: OrderService,
        emails: EmailCounts,
        probe_login: LoginProbe | None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.emails = emails
        self.probe_login = probe_login
        self._timer = timer
        self._started = timer()
        self._last: LoginState | None = None
        self._running: asyncio.Task[LoginState] | None = None

    def uptime_seconds(self) -> float:
        """Return how long the bot has been running."""
        return self._timer() - self._started

    async def smtp_login(self) -> str:
        """Return "ok", "outbox", "checking" or a failure reason, waiting under a second."""
        if self.probe_login is None:
            return "outbox"
        last = self._last
        if last is not None and self._timer() - last.checked_at < LOGIN_CHECK_CACHE_SECONDS:
            return last.reason
        task = self._running
        if task is None:
            task = asyncio.get_running_loop().create_task(self._check(self.probe_login))
            self._running = task
        done, _ = await asyncio.wait({task}, timeout=LOGIN_CHECK_WAIT_SECONDS)
        # A slow check keeps running after the answer; its result is cached for the next.
        return task.result().reason if done else "checking"

    async def _check(self, probe: LoginProbe) -> LoginState:
        try:
            reason = await probe()
        except Exception:
            log.exception("SMTP login check raised")
            reason = "internal"
        self._last = LoginState(reason, self._timer())
        self._running = None
        return self._last
