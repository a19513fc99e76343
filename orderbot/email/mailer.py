"""The bot's entry point to email: build the configured Mailer and compose confirmations."""

from __future__ import annotations

import logging

from orderbot.config import Settings
from orderbot.email.delivery import Delivery, LoginStatus, Mailer, MailerStats, mask_address
from orderbot.email.message import compose_confirmation
from orderbot.email.outbox import OutboxMailer
from orderbot.email.smtp import RetryPolicy, SmtpMailer

__all__ = [
    "Delivery",
    "LoginStatus",
    "Mailer",
    "MailerStats",
    "OutboxMailer",
    "RetryPolicy",
    "SmtpMailer",
    "build_mailer",
    "compose_confirmation",
    "mask_address",
]

log = logging.getLogger(__name__)


def build_mailer(settings: Settings) -> Mailer:
    """Return the SMTP mailer, or the outbox when SENDER_EMAIL or SENDER_PASSWORD is missing."""
    if settings.uses_outbox:
        log.info("Emails will be written to the outbox folder %s", settings.outbox_dir.resolve())
        return OutboxMailer(settings)
    if settings.smtp_security == "none":
        log.warning(
            'smtp_security is "none": the SMTP password and every email travel '
            "unencrypted to %s:%s",
            settings.smtp_server,
            settings.smtp_port,
        )
    log.info(
        "Emails will be sent through %s:%s (%s)",
        settings.smtp_server,
        settings.smtp_port,
        settings.smtp_security,
    )
    return SmtpMailer(settings)
