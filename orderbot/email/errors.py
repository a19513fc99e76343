"""Typed delivery failures of confirmation emails, each with a stable reason code."""

from __future__ import annotations

from typing import ClassVar, Literal

from orderbot.errors import OrderBotError

# Where in an SMTP session a failure happened; the send-test-email tool names it.
Step = Literal["address", "connect", "tls", "auth", "sender", "recipient", "data", "outbox"]


class EmailError(OrderBotError):
    """Base class of every failure to deliver an email; never shown to customers as is.

    Attributes:
        reason: a short stable code the order state machine stores and counts.
        step: where the failure happened.
        smtp_code: the server's reply code, when there was one.
        detail: the server's reply or the local error, for the log (addresses masked).
    """

    reason: ClassVar[str] = "email_error"

    def __init__(self, detail: str, *, step: Step, smtp_code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.step = step
        self.smtp_code = smtp_code


class EmailPermanentError(EmailError):
    """Raised when retrying cannot help: the configuration or the address must change."""

    reason = "rejected"


class AuthenticationFailed(EmailPermanentError):
    """Raised when the server refuses SENDER_EMAIL and SENDER_PASSWORD (535 and other 5xx)."""

    reason = "auth_failed"


class AuthenticationUnsupported(AuthenticationFailed):
    """Raised when the server offers no AUTH mechanism we can use, so no login is possible."""

    reason = "auth_unsupported"


class TLSUnavailable(EmailPermanentError):
    """Raised when TLS cannot be set up: no STARTTLS offered, a bad certificate, no TLS on 465.

    In starttls mode this is raised before any credentials are sent.
    """

    reason = "tls_unavailable"


class RecipientRefused(EmailPermanentError):
    """Raised when the server permanently refuses the customer's address (550 and other 5xx)."""

    reason = "recipient_refused"


class InvalidRecipient(EmailPermanentError):
    """Raised before connecting when the recipient is not exactly one valid address."""

    reason = "invalid_address"


class MessageRejected(EmailPermanentError):
    """Raised when the server permanently refuses the sender or the message (5xx on MAIL/DATA)."""

    reason = "message_rejected"


class OutboxWriteFailed(EmailPermanentError):
    """Raised when the outbox folder cannot be created or written."""

    reason = "outbox_failed"


class EmailTransientError(EmailError, ConnectionError):
    """Raised for one failed attempt that may succeed later: a drop, a timeout, a 4xx reply."""

    reason = "temporary_failure"


class DeliveryGaveUp(EmailTransientError):
    """Raised when transient failures went on until the retry budget ran out.

    Attributes:
        attempts: how many attempts were made.
        last_error: the failure of the last attempt.
    """

    reason = "unavailable"

    def __init__(self, last_error: EmailTransientError, *, attempts: int) -> None:
        super().__init__(
            f"gave up after {attempts} attempt(s): {last_error.detail}",
            step=last_error.step,
            smtp_code=last_error.smtp_code,
        )
        self.attempts = attempts
        self.last_error = last_error
