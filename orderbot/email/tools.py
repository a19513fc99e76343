"""Operator tools: preview the template with a sample order, and send one test email.

Unlike the rest of orderbot.email, these speak to the operator in plain words.
"""

from __future__ import annotations

import base64
import dataclasses
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from orderbot.config import Settings
from orderbot.email.errors import (
    AuthenticationUnsupported,
    DeliveryGaveUp,
    EmailError,
)
from orderbot.email.message import compose_confirmation, sender_address
from orderbot.email.smtp import SmtpMailer
from orderbot.email.template import Confirmation, render_email
from orderbot.form import is_http_url, parse_email_address

SAMPLE_REFERENCE = "REF-7K3Q9XH2"
TEST_REFERENCE = "REF-TESTMAIL"
SAMPLE_ANSWERS: dict[str, str] = {
    "order_number": "ORD-20417",
    "estimated_arrival_start_date": "2026-12-24",
    "estimated_arrival_end_date": "2026-12-31",
    "product_image_url": "https://example.com/images/classic-leather-boots.jpg",
    "product_name": "Classic Leather Boots",
    "style_id": "STY-789",
    "product_size": "10",
    "product_condition": "New",
    "purchase_price": "$150.00",
    "color": "Black",
    "shipping_address": "Jordan Lee\n123 Main St, Apt 4B\nSpringfield, IL 62704",
    "notes": "Please leave the parcel with the neighbour at number 125 if nobody is home.",
}

# A product picture drawn in SVG, so the preview shows an image with no network.
_SAMPLE_IMAGE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="1088" height="680"
viewBox="0 0 1088 680">
<defs>
<linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#f1f2f4"/><stop
offset="1" stop-color="#dcdfe4"/></linearGradient>
<linearGradient id="up" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#4a3426"/><stop
offset="0.6" stop-color="#2e1f16"/><stop offset="1" stop-color="#1d140e"/></linearGradient>
</defs>
<rect width="1088" height="680" fill="url(#bg)"/>
<ellipse cx="580" cy="584" rx="330" ry="22" fill="#000" opacity="0.14"/>
<path d="M392 132 L604 132 Q616 132 616 146 L622 330 Q628 372 676 392 L812 446 Q868 468 872 516
L874 540 L320 540 Q316 470 352 430 Q372 400 374 330 L378 146 Q380 132 392 132 Z"
fill="url(#up)"/>
<path d="M380 132 L612 132 Q618 132 618 142 L618 168 L378 168 L378 142 Q378 132 380 132 Z"
fill="#5b4130"/>
<path d="M392 134 L394 100 Q396 90 406 90 L410 90 Q420 90
420 100 L420 134" fill="none" stroke="#2a1c13" stroke-width="10"/>
<path d="M700 402 Q776 420 836 470 Q864 496 866 528" fill="none" stroke="#6a4e3a"
stroke-width="3" stroke-dasharray="8 7"/>
<path d="M360 500 L866 500" stroke="#6a4e3a" stroke-width="3" stroke-dasharray="8 7"/>
<g stroke="#c9b48f" stroke-width="5" stroke-linecap="round">
<path d="M560 188 L604 214"/><path d="M604 188 L560 214"/>
<path d="M562 238 L606 264"/><path d="M606 238 L562 264"/>
<path d="M564 288 L610 314"/><path d="M610 288 L564 314"/>
</g>
<g fill="#d8c7a6">
<circle cx="558" cy="186" r="6"/><circle cx="606" cy="186" r="6"/>
<circle cx="560" cy="236" r="6"/><circle cx="608" cy="236" r="6"/>
<circle cx="562" cy="286" r="6"/><circle cx="612" cy="286" r="6"/>
<circle cx="566" cy="336" r="6"/><circle cx="616" cy="336" r="6"/>
</g>
<path d="M312 540 L880 540 Q888 540 888 550 L888 566 Q888 578 876 578 L328 578 Q312 578 312 562
Z" fill="#151515"/>
<path d="M312 540 L420 540 L420 578 L328 578 Q312 578 312 562 Z" fill="#222"/>
<path d="M320 548 L880 548" stroke="#333" stroke-width="2"/>
</svg>"""
SAMPLE_IMAGE_DATA_URI = "data:image/svg+xml;base64," + base64.b64encode(
    _SAMPLE_IMAGE_SVG.encode()
).decode("ascii")


def sample_confirmation(settings: Settings, *, image_url: str | None = None) -> Confirmation:
    """Return a realistic order for previews and test emails."""
    answers = dict(SAMPLE_ANSWERS)
    if image_url is not None:
        answers["product_image_url"] = image_url
    return Confirmation(
        answers=answers,
        email="jordan.lee@example.com",
        reference=SAMPLE_REFERENCE,
        shop_name=settings.shop_name,
        server_name="Sneaker Exchange",
        customer="jordan_lee",
        submitted_at=datetime(2026, 12, 3, 14, 5, tzinfo=UTC),
    )


def preview_email(settings: Settings, output: Path, *, image_url: str | None = None) -> Path:
    """Render the configured template with a sample order into an HTML file and return it.

    Args:
        image_url: the product image; by default a picture embedded in the file, so the
            preview needs no network. It is trusted: it comes from the operator.
    """
    picture = image_url or SAMPLE_IMAGE_DATA_URI

    def allow(url: str) -> bool:
        return url == picture or is_http_url(url)

    sample = sample_confirmation(settings, image_url=picture)
    rendered = render_email(settings.template, sample, allow_url=allow)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(rendered.html, encoding="utf-8")
    return output


@dataclass(frozen=True, slots=True)
class TestEmailReport:
    """What send_test_email found: whether it worked, and if not, which step failed and why.

    step is one of "done", "address", "configuration", "connection", "tls",
    "authentication", "sender", "recipient" or "message".
    """

    __test__ = False  # not a pytest test class, despite the name

    ok: bool
    step: str
    explanation: str
    server: str
    smtp_code: int | None = None
    detail: str = ""
    elapsed_seconds: float = 0.0


_STEP_WORDS = {
    "address": "address",
    "connect": "connection",
    "tls": "tls",
    "auth": "authentication",
    "sender": "sender",
    "recipient": "recipient",
    "data": "message",
    "outbox": "message",
}


async def send_test_email(settings: Settings, address: str) -> TestEmailReport:
    """Send one message through the configured server; on failure, explain which step failed."""
    server = f"{settings.smtp_server}:{settings.smtp_port} ({settings.smtp_security})"
    recipient = parse_email_address(address)
    if recipient is None:
        return TestEmailReport(
            False, "address", f"{address!r} is not one valid email address.", server
        )
    if settings.uses_outbox:
        return TestEmailReport(
            False,
            "configuration",
            "SENDER_EMAIL and SENDER_PASSWORD are not both set, so there is no SMTP account "
            f"to test; the bot writes emails to the outbox folder {settings.outbox_dir} "
            "instead. Set both in .env or the environment and run this again.",
            server,
        )
    # One attempt only: the operator wants the error now, not after a minute of retries.
    mailer = SmtpMailer(dataclasses.replace(settings, smtp_retry_budget_seconds=0))
    message = compose_confirmation(
        settings,
        answers=SAMPLE_ANSWERS,
        email=recipient,
        reference=TEST_REFERENCE,
        customer="the operator (send-test-email)",
        server_name="none: a test from the command line",
        submitted_at=datetime.now(UTC),
    )
    started = time.monotonic()
    try:
        delivery = await mailer.send(message, recipient=recipient, reference=TEST_REFERENCE)
    except EmailError as exc:
        cause = exc.last_error if isinstance(exc, DeliveryGaveUp) else exc
        return TestEmailReport(
            ok=False,
            step=_STEP_WORDS[cause.step],
            explanation=_explain(settings, cause, recipient),
            server=server,
            smtp_code=cause.smtp_code,
            detail=cause.detail,
            elapsed_seconds=time.monotonic() - started,
        )
    finally:
        await mailer.close()
    return TestEmailReport(
        ok=True,
        step="done",
        explanation=(
            f"Sent: {server} accepted the test message for {recipient} in "
            f"{delivery.elapsed_seconds:.1f} s (server reply: {delivery.server_reply}). "
            "Look for it in that inbox, and in the spam folder."
        ),
        server=server,
        elapsed_seconds=delivery.elapsed_seconds,
    )


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _explain(settings: Settings, exc: EmailError, recipient: str) -> str:
    where = f"{settings.smtp_server}:{settings.smtp_port}"
    said = f" The server said: {exc.detail}" if exc.detail else ""
    explain = {
        "connect": _explain_connect,
        "tls": _explain_tls,
        "auth": _explain_auth,
    }.get(exc.step)
    if explain is not None:
        return explain(settings, exc, where) + said
    if exc.step == "sender":
        return (
            f"{where} refused {sender_address(settings)} as the sender. With Gmail the "
            "sender must be the account itself or one of its verified aliases." + said
        )
    if exc.step == "recipient":
        return f"{where} refused the recipient {recipient}. Check the address." + said
    return f"{where} refused the message." + said


def _explain_connect(settings: Settings, exc: EmailError, where: str) -> str:
    causes = _causes(exc)
    if any(isinstance(c, socket.gaierror) for c in causes):
        return (
            f"Could not find the SMTP server {settings.smtp_server!r}: name resolution "
            "failed. Check smtp_server in config.json and this machine's DNS."
        )
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return (
            f'{where} refused the connection. Check smtp_port (587 for "starttls", 465 '
            'for "tls") and that the server is running.'
        )
    if any(isinstance(c, TimeoutError) for c in causes):
        return (
            f"No answer from {where} within {settings.smtp_timeout_seconds:g} s. A firewall "
            "may block the port, or the port does not match smtp_security: port 465 "
            'needs "tls", port 587 needs "starttls".'
        )
    if exc.smtp_code is not None:
        return f"{where} answered the connection with {exc.smtp_code}: it is not taking mail now."
    return f"Could not connect to {where}."


def _explain_tls(settings: Settings, exc: EmailError, where: str) -> str:
    causes = _causes(exc)
    verify = next((c for c in causes if isinstance(c, ssl.SSLCertVerificationError)), None)
    if verify is not None:
        return (
            f"The TLS certificate of {where} could not be verified "
            f"({verify.verify_message}). For a self-hosted server with its own certificate "
            "authority, set smtp_ca_file in config.json to that authority's PEM file."
        )
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return (
            f'TLS could not be set up with {where}. Port 465 needs smtp_security "tls" '
            '(TLS from the first byte); port 587 needs "starttls".'
        )
    return (
        f"{where} does not offer STARTTLS, so the password was not sent. If this is port "
        '465, set smtp_security to "tls"; use "none" only for a trusted relay on your '
        "own network."
    )


def _explain_auth(settings: Settings, exc: EmailError, where: str) -> str:
    if isinstance(exc, AuthenticationUnsupported):
        return (
            f"{where} offers no way to log in on this connection (no AUTH). Check "
            "smtp_security and smtp_port: many servers offer AUTH only after TLS."
        )
    if exc.smtp_code is not None and 400 <= exc.smtp_code < 500:
        return f"{where} could not check the login just now (a temporary error); try again."
    return (
        f"{where} refused the login for {settings.sender_email}. Check SENDER_EMAIL and "
        "SENDER_PASSWORD. Gmail and Google Workspace need an app password (Google "
        "Account, Security, 2-Step Verification, App passwords): the normal account "
        "password does not work over SMTP."
    )
