"""Deliver emails over one reused SMTP connection, with typed failures and bounded retries."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

import aiosmtplib

from orderbot.config import Settings
from orderbot.email.delivery import (
    Delivery,
    LoginStatus,
    MailerStats,
    checked_recipient,
    mask_address,
    mask_addresses,
)
from orderbot.email.errors import (
    AuthenticationFailed,
    AuthenticationUnsupported,
    DeliveryGaveUp,
    EmailError,
    EmailPermanentError,
    EmailTransientError,
    InvalidRecipient,
    MessageRejected,
    RecipientRefused,
    Step,
    TLSUnavailable,
)
from orderbot.email.message import sender_address

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait between attempts: exponential, capped, with random jitter.

    The n-th wait is first_delay * multiplier**(n-1), capped at max_delay, then
    shortened by up to `jitter` of itself so many bots do not retry in step.
    """

    first_delay_seconds: float = 1.0
    multiplier: float = 2.0
    max_delay_seconds: float = 15.0
    jitter: float = 0.5

    def delay(self, attempt: int, rand: float) -> float:
        """Return the wait after the given failed attempt (1-based); rand is in [0, 1)."""
        base = self.first_delay_seconds * self.multiplier ** (attempt - 1)
        return min(base, self.max_delay_seconds) * (1 - self.jitter * rand)


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Return the client TLS context: the system's CAs, or only smtp_ca_file when set."""
    cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    return ssl.create_default_context(cafile=cafile)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return mask_addresses(f"{type(exc).__name__}: {text}")[:300]


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _by_code(code: int, detail: str, step: Step, permanent: type[EmailError]) -> EmailError:
    if 400 <= code < 500:
        return EmailTransientError(detail, step=step, smtp_code=code)
    return permanent(detail, step=step, smtp_code=code)


def classify(exc: BaseException, step: Step) -> EmailError:
    """Turn an aiosmtplib or socket failure at one step into our typed error."""
    detail = _describe(exc)
    if isinstance(exc, EmailError):
        return exc
    if any(isinstance(e, ssl.SSLError) for e in _chain(exc)):
        # A certificate that does not verify, or no TLS where TLS was expected, is
        # configuration: it will fail the same way on every retry.
        return TLSUnavailable(detail, step="tls")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        code = exc.recipients[0].code if exc.recipients else 550
        return _by_code(code, detail, "recipient", RecipientRefused)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return _by_code(exc.code, detail, "auth", AuthenticationFailed)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return _by_code(exc.code, detail, "sender", MessageRejected)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, detail, step, MessageRejected)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return MessageRejected(detail, step=step)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPTimeoutError):
        return EmailTransientError(detail, step=step)
    if isinstance(exc, aiosmtplib.SMTPConnectError | OSError | TimeoutError):
        return EmailTransientError(detail, step="connect")
    if step == "auth":
        return AuthenticationUnsupported(detail, step="auth")
    return MessageRejected(detail, step=step)


@dataclass(slots=True)
class _Progress:
    """How far one connection attempt got, so a timeout can name the step."""

    step: Step = "connect"


def _abort(smtp: aiosmtplib.SMTP) -> None:
    """Close the connection at once, without a TLS goodbye: the session is over or broken."""
    transport = smtp.transport
    if isinstance(transport, asyncio.WriteTransport):
        transport.abort()
    smtp.close()


async def _discard(smtp: aiosmtplib.SMTP) -> None:
    """Abort the connection and give the loop one turn to release its socket."""
    _abort(smtp)
    await asyncio.sleep(0)


_HOSTNAME_CACHE: list[str] = []


async def _local_hostname() -> str:
    """Return this machine's name for EHLO, looked up once and off the event loop."""
    if not _HOSTNAME_CACHE:
        name = (await asyncio.to_thread(socket.getfqdn)).strip()
        usable = name.isascii() and name.isprintable() and name and " " not in name
        _HOSTNAME_CACHE.append(name if usable else "localhost")
    return _HOSTNAME_CACHE[0]


class SmtpMailer:
    """Send through the configured SMTP server over one connection, reopened when dropped.

    Messages are serialised by a lock, so a burst pays one TLS handshake and one login.
    Transient failures are retried with exponential backoff and jitter within
    settings.smtp_retry_budget_seconds; permanent ones are raised at once.

    Args:
        sleep, clock, rand: injectable for tests, so retries take no real time.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if settings.sender_email is None or settings.sender_password is None:
            raise ValueError("SmtpMailer needs SENDER_EMAIL and SENDER_PASSWORD")
        self._settings = settings
        self._username = settings.sender_email
        self._password = settings.sender_password
        self._sender = sender_address(settings)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._tls = tls_context(settings) if settings.smtp_security != "none" else None
        self._smtp: aiosmtplib.SMTP | None = None
        self._progress = _Progress()
        self._lock = asyncio.Lock()
        self._counts = MailerStats("smtp")

    @property
    def stats(self) -> MailerStats:
        """Return a snapshot of the delivery counters."""
        return self._counts.snapshot()

    async def send(self, message: EmailMessage, *, recipient: str, reference: str) -> Delivery:
        """Deliver the message to exactly this recipient, retrying transient failures."""
        started = self._clock()
        try:
            address = checked_recipient(message, recipient)
        except EmailPermanentError as exc:
            self._failed(reference, exc)
            raise
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = await self._attempt(message, address, started)
            except EmailTransientError as exc:
                delay = self._retry.delay(attempt, self._rand())
                if self._clock() - started + delay > self._settings.smtp_retry_budget_seconds:
                    gave_up = DeliveryGaveUp(exc, attempts=attempt)
                    self._failed(reference, gave_up)
                    raise gave_up from exc
                self._counts.retries += 1
                log.warning(
                    "Email for order %s failed (%s: %s) on attempt %d; retrying in %.1f s",
                    reference,
                    exc.reason,
                    exc.detail,
                    attempt,
                    delay,
                )
                await self._sleep(delay)
            except EmailPermanentError as exc:
                self._failed(reference, exc)
                raise
            else:
                return self._accepted(reference, address, attempt, started, reply)

    def _accepted(
        self,
        reference: str,
        address: str,
        attempts: int,
        started: float,
        reply: str,
    ) -> Delivery:
        elapsed = self._clock() - started
        self._counts.sent += 1
        self._counts.last_sent_at = datetime.now(UTC)
        log.info(
            "Email for order %s accepted for %s (attempt %d, %.0f ms)",
            reference,
            mask_address(address),
            attempts,
            elapsed * 1000,
        )
        return Delivery(reference, "smtp", attempts, elapsed, server_reply=reply)

    def _failed(self, reference: str, exc: EmailError) -> None:
        self._counts.failed += 1
        self._counts.last_failure_reason = exc.reason
        # A refused address is the customer's typo; everything else needs the operator.
        typo = isinstance(exc, RecipientRefused | InvalidRecipient)
        level = logging.WARNING if typo else logging.ERROR
        log.log(
            level,
            "Email for order %s not delivered: %s at %s (%s)",
            reference,
            exc.reason,
            exc.step,
            exc.detail,
        )

    async def _attempt(self, message: EmailMessage, address: str, started: float) -> str:
        """Make one delivery attempt, bounded by what is left of the budget."""
        left = self._settings.smtp_retry_budget_seconds - (self._clock() - started)
        # The per-command timeouts fire first; this guard stops a server that answers
        # every command just in time from holding the attempt for minutes. It allows
        # at least two command timeouts, so a small remainder of the budget does not
        # cut short an attempt that is about to succeed.
        limit = max(left, 2 * self._settings.smtp_timeout_seconds)
        async with self._lock:
            try:
                async with asyncio.timeout(limit):
                    return await self._send_on_connection(message, address)
            except TimeoutError as exc:
                await self._drop()
                raise EmailTransientError(_describe(exc), step=self._progress.step) from exc
            except EmailError:
                # Already handled below: the connection is kept when it is still good.
                raise
            except BaseException:
                # Cancelled mid-transaction (or a bug): the session state is unknown.
                if self._smtp is not None:
                    _abort(self._smtp)
                    self._smtp = None
                raise

    async def _send_on_connection(self, message: EmailMessage, address: str) -> str:
        for stale_retry in (True, False):
            reused = self._smtp is not None and self._smtp.is_connected
            if reused and self._smtp is not None:
                smtp = self._smtp
            else:
                smtp = await self._open(self._progress)
            self._smtp = smtp
            self._progress.step = "data"
            try:
                errors, reply = await smtp.send_message(
                    message,
                    sender=self._sender,
                    recipients=[address],
                )
            except aiosmtplib.SMTPServerDisconnected as exc:
                await self._drop()
                if reused and stale_retry:
                    # The server closed the idle connection before we noticed: this is
                    # no failure of the message, so reconnect at once without backoff.
                    self._counts.reconnects += 1
                    log.debug("SMTP connection was closed by the server; reconnecting")
                    continue
                raise classify(exc, "data") from exc
            except aiosmtplib.SMTPException as exc:
                error = classify(exc, "data")
                if not smtp.is_connected or isinstance(error, EmailTransientError):
                    await self._drop()
                raise error from exc
            if errors:
                raise RecipientRefused(_describe(Exception(str(errors))), step="recipient")
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    async def _open(self, progress: _Progress) -> aiosmtplib.SMTP:
        """Connect, secure the connection as configured, and log in."""
        settings = self._settings
        smtp = aiosmtplib.SMTP(
            hostname=settings.smtp_server,
            port=settings.smtp_port,
            timeout=settings.smtp_timeout_seconds,
            use_tls=settings.smtp_security == "tls",
            # We run STARTTLS ourselves below: aiosmtplib's default (None) would quietly
            # stay in plaintext when the server does not offer it.
            start_tls=False,
            tls_context=self._tls,
            local_hostname=await _local_hostname(),
        )
        progress.step = "connect"
        try:
            await smtp.connect()
            self._counts.connections += 1
            await smtp.ehlo()
            progress.step = "tls"
            if settings.smtp_security == "starttls":
                await self._starttls(smtp)
            progress.step = "auth"
            await self._login(smtp)
        except Exception as exc:
            await _discard(smtp)
            raise classify(exc, progress.step) from exc
        except BaseException:
            _abort(smtp)
            raise
        self._counts.logins += 1
        return smtp

    async def _starttls(self, smtp: aiosmtplib.SMTP) -> None:
        if not smtp.supports_extension("starttls"):
            raise TLSUnavailable(
                "the server does not offer STARTTLS; no credentials were sent",
                step="tls",
            )
        await smtp.starttls()
        await smtp.ehlo()

    async def _login(self, smtp: aiosmtplib.SMTP) -> None:
        if self._settings.smtp_security != "none" and smtp.get_transport_info("sslcontext") is None:
            # Never hand the password to a connection that is not encrypted.
            raise TLSUnavailable("the connection is not encrypted", step="tls")
        if not smtp.supports_extension("auth"):
            raise AuthenticationUnsupported("the server offers no AUTH", step="auth")
        await smtp.login(self._username, self._password.reveal())

    async def _drop(self) -> None:
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            await _discard(smtp)

    async def check_login(self) -> LoginStatus:
        """Open a separate connection, log in and say goodbye; report what happened."""
        started = self._clock()
        try:
            async with asyncio.timeout(self._settings.smtp_timeout_seconds * 4):
                smtp = await self._open(_Progress())
                await self._quit(smtp)
        except EmailError as exc:
            # A drop or timeout says the server is unreachable now, not which attempt failed.
            reason = "unavailable" if isinstance(exc, EmailTransientError) else exc.reason
            return self._login_status(False, reason, exc.detail, started)
        except TimeoutError as exc:
            return self._login_status(False, "unavailable", _describe(exc), started)
        return self._login_status(True, "ok", "logged in", started)

    def _login_status(self, ok: bool, reason: str, detail: str, started: float) -> LoginStatus:
        return LoginStatus(ok, reason, detail, datetime.now(UTC), self._clock() - started)

    async def close(self) -> None:
        """Send QUIT on the open connection, if any, and close it."""
        async with self._lock:
            if self._smtp is not None:
                await self._quit(self._smtp)
                self._smtp = None

    async def _quit(self, smtp: aiosmtplib.SMTP) -> None:
        try:
            if smtp.is_connected:
                await smtp.execute_command(b"QUIT")
        except (aiosmtplib.SMTPException, OSError):
            # The server may already be gone; closing is all that is left to do.
            pass
        finally:
            # After QUIT nothing more is said, so there is no TLS goodbye to wait for.
            await _discard(smtp)
