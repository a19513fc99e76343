"""SmtpMailer against a real aiosmtpd server: TLS modes, AUTH, faults, retries, reuse, logs."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from orderbot.config import Settings
from orderbot.email.errors import (
    AuthenticationFailed,
    AuthenticationUnsupported,
    DeliveryGaveUp,
    EmailPermanentError,
    InvalidRecipient,
    MessageRejected,
    RecipientRefused,
    TLSUnavailable,
)
from orderbot.email.mailer import build_mailer
from orderbot.email.message import compose_confirmation
from orderbot.email.outbox import OutboxMailer
from orderbot.email.smtp import RetryPolicy, SmtpMailer
from tests.samples import ANSWERS
from tests.smtp_fixtures import FakeBackoff
from tests.smtp_server import PASSWORD, USERNAME, Fault, SmtpTestServer

CUSTOMER = "jordan@example.com"

# A note that must never reach a log line.
SECRET_NOTE = "Secret-Note-Text"

ServerFactory = Callable[..., SmtpTestServer]
SettingsFactory = Callable[..., Settings]


def confirmation(settings: Settings, reference: str = "REF-7K3Q9XH2") -> EmailMessage:
    return compose_confirmation(
        settings,
        answers={**ANSWERS, "notes": SECRET_NOTE},
        email=CUSTOMER,
        reference=reference,
        customer="jordan_lee",
        server_name="Test Server",
        submitted_at=datetime(2026, 12, 3, 14, 5, tzinfo=UTC),
    )


MailerFactory = Callable[..., SmtpMailer]


@pytest.fixture
async def make_mailer(backoff: FakeBackoff) -> AsyncIterator[MailerFactory]:
    """Build SmtpMailers with the fake backoff; each is closed after the test."""
    made: list[SmtpMailer] = []

    def make(settings: Settings, **changes: object) -> SmtpMailer:
        if changes:
            settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
        mailer = SmtpMailer(
            settings,
            retry=RetryPolicy(first_delay_seconds=1.0, multiplier=2.0, max_delay_seconds=15.0),
            sleep=backoff.sleep,
            clock=backoff.clock,
            rand=lambda: 0.0,
        )
        made.append(mailer)
        return mailer

    yield make
    for mailer in made:
        await mailer.close()


async def send_one(mailer: SmtpMailer, settings: Settings, reference: str = "REF-7K3Q9XH2"):
    return await mailer.send(
        confirmation(settings, reference), recipient=CUSTOMER, reference=reference
    )


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
async def test_smtp_mailer_delivers_over_each_transport(
    smtp_server_factory: ServerFactory,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
    security: str,
) -> None:
    server = smtp_server_factory(security=security, auth_require_tls=security == "starttls")
    settings = smtp_settings(server)
    mailer = make_mailer(settings)

    delivery = await send_one(mailer, settings)
    await mailer.close()

    [received] = server.messages
    assert received.tls is (security != "none")
    assert received.authenticated_as == USERNAME
    assert received.mail_from == USERNAME
    assert received.rcpt_tos == [CUSTOMER]
    assert received.message["Subject"] == "Test Shop order confirmation REF-7K3Q9XH2"
    assert delivery.attempts == 1
    assert delivery.transport == "smtp"


async def test_smtp_mailer_starttls_uses_the_configured_ca_file(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server)
    assert settings.smtp_ca_file == smtp_server.ca_file

    await send_one(make_mailer(settings), settings)

    assert smtp_server.stats.starttls == 1
    assert smtp_server.messages[0].tls


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_smtp_mailer_refuses_an_untrusted_certificate(
    smtp_server_factory: ServerFactory,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
    security: str,
) -> None:
    server = smtp_server_factory(security=security)
    settings = smtp_settings(server, smtp_ca_file=None)
    mailer = make_mailer(settings)

    with pytest.raises(TLSUnavailable) as caught:
        await send_one(mailer, settings)

    assert caught.value.reason == "tls_unavailable"
    assert server.stats.auth_commands == 0
    assert backoff.sleeps == []


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_smtp_mailer_logs_in_with_each_mechanism(
    smtp_server_factory: ServerFactory,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
    mechanism: str,
) -> None:
    server = smtp_server_factory(security="starttls", auth_mechanisms=(mechanism,))
    settings = smtp_settings(server)

    await send_one(make_mailer(settings), settings)

    assert server.stats.auth_mechanisms == [mechanism]
    assert server.stats.logins == 1


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_smtp_mailer_bad_password_is_permanent(
    smtp_server_factory: ServerFactory,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
    mechanism: str,
) -> None:
    server = smtp_server_factory(security="starttls", auth_mechanisms=(mechanism,))
    settings = smtp_settings(server, password="wrong password")
    mailer = make_mailer(settings)

    with pytest.raises(AuthenticationFailed) as caught:
        await send_one(mailer, settings)

    assert caught.value.reason == "auth_failed"
    assert caught.value.smtp_code == 535
    assert server.stats.logins == 0
    assert server.stats.connections == 1
    assert server.messages == []
    assert backoff.sleeps == []
    assert mailer.stats.failed == 1


async def test_smtp_mailer_starttls_refuses_a_server_without_starttls_before_sending_credentials(
    plain_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(plain_server, smtp_security="starttls")
    mailer = make_mailer(settings)

    with pytest.raises(TLSUnavailable) as caught:
        await send_one(mailer, settings)

    assert caught.value.step == "tls"
    assert "does not offer STARTTLS" in caught.value.detail
    stats = plain_server.stats
    assert stats.ehlos == 1  # we did talk to it...
    assert stats.auth_commands == 0  # ...but never offered the password
    assert stats.transactions == 0
    assert backoff.sleeps == []


async def test_smtp_mailer_reports_a_server_without_auth(
    smtp_server_factory: ServerFactory,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    # A plain server that offers AUTH only after TLS, which it does not have.
    server = smtp_server_factory(security="none", auth_require_tls=True)
    settings = smtp_settings(server)

    with pytest.raises(AuthenticationUnsupported):
        await send_one(make_mailer(settings), settings)


TRANSIENT_FAULTS = [
    ("421 on connect", Fault.reply("connect", 421)),
    ("421 on MAIL", Fault.reply("mail", 421)),
    ("451 on MAIL", Fault.reply("mail", 451)),
    ("451 on RCPT", Fault.reply("rcpt", 451)),
    ("452 on RCPT", Fault.reply("rcpt", 452)),
    ("451 on DATA", Fault.reply("data", 451)),
    ("421 on EHLO", Fault.reply("ehlo", 421)),
    ("drop on connect", Fault.drop("connect")),
    ("drop on MAIL", Fault.drop("mail")),
    ("drop on RCPT", Fault.drop("rcpt")),
    ("drop after DATA", Fault.drop("data")),
    ("slow greeting", Fault.delay("connect", 2.0)),
    ("slow MAIL reply", Fault.delay("mail", 2.0)),
    ("slow RCPT reply", Fault.delay("rcpt", 2.0)),
]


@pytest.mark.parametrize(
    "fault", [f for _, f in TRANSIENT_FAULTS], ids=[n for n, _ in TRANSIENT_FAULTS]
)
async def test_smtp_mailer_retries_a_transient_fault_then_delivers_once(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
    fault: Fault,
) -> None:
    settings = smtp_settings(smtp_server)
    # A client timeout well below the server's delay, so "slow" means "too slow".
    mailer = make_mailer(settings, smtp_timeout_seconds=0.4)
    smtp_server.inject(fault, times=1)

    delivery = await send_one(mailer, settings)

    assert len(await smtp_server.wait_for_messages(1)) == 1
    assert smtp_server.stats.accepted == 1
    assert delivery.attempts == 2
    assert backoff.sleeps == [1.0]
    assert mailer.stats.retries == 1
    assert mailer.stats.sent == 1


async def test_smtp_mailer_backs_off_exponentially(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server)
    mailer = make_mailer(settings)
    smtp_server.inject(Fault.reply("rcpt", 451), times=3)

    delivery = await send_one(mailer, settings)

    assert delivery.attempts == 4
    assert backoff.sleeps == [1.0, 2.0, 4.0]
    assert len(smtp_server.messages) == 1


def test_retry_policy_jitter_shortens_the_wait_and_the_cap_holds() -> None:
    policy = RetryPolicy(
        first_delay_seconds=1.0, multiplier=2.0, max_delay_seconds=15.0, jitter=0.5
    )
    assert policy.delay(1, 0.0) == 1.0
    assert policy.delay(3, 0.5) == 3.0
    assert policy.delay(10, 0.0) == 15.0
    assert policy.delay(10, 0.999) == pytest.approx(7.5, abs=0.02)


PERMANENT_FAULTS = [
    ("550 on RCPT", Fault.reply("rcpt", 550), RecipientRefused, "recipient_refused"),
    ("553 on MAIL", Fault.reply("mail", 553), MessageRejected, "message_rejected"),
    ("554 on DATA", Fault.reply("data", 554), MessageRejected, "message_rejected"),
    ("552 on DATA", Fault.reply("data", 552), MessageRejected, "message_rejected"),
    ("554 on connect", Fault.reply("connect", 554), MessageRejected, "message_rejected"),
]


@pytest.mark.parametrize(
    ("fault", "error", "reason"),
    [f[1:] for f in PERMANENT_FAULTS],
    ids=[f[0] for f in PERMANENT_FAULTS],
)
async def test_smtp_mailer_does_not_retry_a_permanent_fault(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
    fault: Fault,
    error: type[EmailPermanentError],
    reason: str,
) -> None:
    settings = smtp_settings(smtp_server)
    mailer = make_mailer(settings)
    smtp_server.inject(fault, times=5)

    with pytest.raises(error) as caught:
        await send_one(mailer, settings)

    assert caught.value.reason == reason
    assert smtp_server.stats.connections == 1
    assert smtp_server.stats.transactions <= 1
    assert smtp_server.messages == []
    assert backoff.sleeps == []
    assert mailer.stats.failed == 1
    assert mailer.stats.last_failure_reason == reason


async def test_smtp_mailer_keeps_the_connection_after_a_refused_recipient(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server)
    mailer = make_mailer(settings)
    smtp_server.inject(Fault.reply("rcpt", 550), times=1)
    with pytest.raises(RecipientRefused):
        await send_one(mailer, settings, reference="REF-1")

    await send_one(mailer, settings, reference="REF-2")

    assert smtp_server.stats.connections == 1
    assert [m.message["X-Order-Reference"] for m in smtp_server.messages] == ["REF-2"]


async def test_smtp_mailer_gives_up_when_the_budget_runs_out(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = smtp_settings(smtp_server, smtp_retry_budget_seconds=10)
    mailer = make_mailer(settings)
    smtp_server.inject(Fault.reply("rcpt", 451), times=100)

    with (
        caplog.at_level(logging.INFO, logger="orderbot.email"),
        pytest.raises(DeliveryGaveUp) as caught,
    ):
        await send_one(mailer, settings)

    # Waits of 1, 2 and 4 s fit in 10 s; the next (8 s) would not.
    assert backoff.sleeps == [1.0, 2.0, 4.0]
    assert caught.value.attempts == 4
    assert caught.value.reason == "unavailable"
    assert caught.value.last_error.smtp_code == 451
    assert isinstance(caught.value, ConnectionError)
    assert smtp_server.messages == []
    levels = [r.levelname for r in caplog.records if r.name.startswith("orderbot.email")]
    assert levels == ["WARNING", "WARNING", "WARNING", "ERROR"]


async def test_smtp_mailer_with_no_budget_tries_once(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server, smtp_retry_budget_seconds=0)
    smtp_server.inject(Fault.reply("rcpt", 451), times=1)

    with pytest.raises(DeliveryGaveUp):
        await send_one(make_mailer(settings), settings)

    assert backoff.sleeps == []


async def test_smtp_mailer_gives_up_on_an_unreachable_server(
    smtp_settings: SettingsFactory,
    smtp_server: SmtpTestServer,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = smtp_settings(smtp_server, smtp_port=closed_port, smtp_retry_budget_seconds=5)

    with pytest.raises(DeliveryGaveUp) as caught:
        await send_one(make_mailer(settings), settings)

    assert caught.value.step == "connect"
    assert backoff.sleeps == [1.0, 2.0]


async def test_smtp_mailer_reuses_one_connection_and_one_login(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server)
    mailer = make_mailer(settings)

    for n in range(5):
        await send_one(mailer, settings, reference=f"REF-{n}")

    stats = smtp_server.stats
    assert (stats.connections, stats.starttls, stats.logins, stats.accepted) == (1, 1, 1, 5)
    assert (mailer.stats.connections, mailer.stats.logins, mailer.stats.sent) == (1, 1, 5)


async def test_smtp_mailer_serialises_concurrent_sends_on_one_connection(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server)
    mailer = make_mailer(settings)

    await asyncio.gather(*(send_one(mailer, settings, reference=f"REF-{n}") for n in range(8)))

    assert smtp_server.stats.connections == 1
    assert sorted(m.message["X-Order-Reference"] for m in smtp_server.messages) == [
        f"REF-{n}" for n in range(8)
    ]


async def test_smtp_mailer_reconnects_after_the_server_idle_closes(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server)
    mailer = make_mailer(settings)
    smtp_server.inject(Fault.idle_close(), times=1)
    await send_one(mailer, settings, reference="REF-1")
    await smtp_server.wait_for_stat("disconnects", 1)

    await send_one(mailer, settings, reference="REF-2")

    assert len(smtp_server.messages) == 2
    assert smtp_server.stats.connections == 2
    assert smtp_server.stats.logins == 2
    assert backoff.sleeps == []
    assert mailer.stats.retries == 0


async def test_smtp_mailer_reconnects_at_once_when_a_reused_connection_is_gone(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server)
    mailer = make_mailer(settings)
    await send_one(mailer, settings, reference="REF-1")
    # The server drops the kept connection just as the next message starts.
    smtp_server.inject(Fault.drop("mail"), times=1)

    delivery = await send_one(mailer, settings, reference="REF-2")

    assert delivery.attempts == 1
    assert backoff.sleeps == []
    assert (mailer.stats.reconnects, mailer.stats.retries) == (1, 0)
    assert smtp_server.stats.connections == 2
    assert len(smtp_server.messages) == 2


async def test_smtp_mailer_reconnects_after_a_real_idle_timeout(
    smtp_server_factory: ServerFactory,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    server = smtp_server_factory(security="starttls", idle_timeout_seconds=0.2)
    settings = smtp_settings(server)
    mailer = make_mailer(settings)
    await send_one(mailer, settings, reference="REF-1")
    await server.wait_for_stat("disconnects", 1)

    await send_one(mailer, settings, reference="REF-2")

    assert len(server.messages) == 2
    assert backoff.sleeps == []


async def test_smtp_mailer_sends_to_exactly_the_one_recipient(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server)

    await send_one(make_mailer(settings), settings)

    assert [m.rcpt_tos for m in smtp_server.messages] == [[CUSTOMER]]


@pytest.mark.parametrize(
    "recipient",
    [
        "a@example.com, b@example.com",
        "Victim <v@example.com>",
        "x@example.com\r\nRCPT TO:<y@example.com>",
    ],
)
async def test_smtp_mailer_refuses_a_recipient_that_is_not_one_address(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
    recipient: str,
) -> None:
    settings = smtp_settings(smtp_server)
    mailer = make_mailer(settings)

    with pytest.raises(InvalidRecipient):
        await mailer.send(confirmation(settings), recipient=recipient, reference="REF-1")

    assert smtp_server.stats.connections == 0


async def test_smtp_mailer_refuses_a_message_addressed_to_someone_else(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server)
    message = confirmation(settings)
    message["Cc"] = "other@example.com"

    with pytest.raises(ValueError, match="nobody else"):
        await make_mailer(settings).send(message, recipient=CUSTOMER, reference="REF-1")

    assert smtp_server.stats.connections == 0


async def test_smtp_mailer_logs_accepted_mail_with_a_masked_address_only(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = smtp_settings(smtp_server)

    with caplog.at_level(logging.DEBUG):
        await send_one(make_mailer(settings), settings)

    [line] = [
        r for r in caplog.records if r.levelno == logging.INFO and r.name.startswith("orderbot")
    ]
    assert "REF-7K3Q9XH2" in line.getMessage()
    assert "j***@example.com" in line.getMessage()
    assert CUSTOMER not in caplog.text
    assert SECRET_NOTE not in caplog.text


async def test_smtp_mailer_never_logs_the_password(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = smtp_settings(smtp_server)
    bad = smtp_settings(smtp_server, password=PASSWORD + "-wrong")
    smtp_server.inject(Fault.drop("rcpt"), times=1)

    with caplog.at_level(logging.DEBUG):
        await send_one(make_mailer(good), good)
        with pytest.raises(AuthenticationFailed):
            await send_one(make_mailer(bad), bad)
        await make_mailer(bad).check_login()

    secrets = [PASSWORD, PASSWORD + "-wrong"]
    encoded = [base64.b64encode(f"\0{USERNAME}\0{p}".encode()).decode() for p in secrets]
    logged = caplog.text + repr([r.args for r in caplog.records])
    for secret in secrets + encoded:
        assert secret not in logged


async def test_smtp_mailer_check_login_reports_success_without_sending(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    status = await make_mailer(smtp_settings(smtp_server)).check_login()

    assert (status.ok, status.reason) == (True, "ok")
    assert smtp_server.stats.logins == 1
    assert smtp_server.stats.transactions == 0
    await smtp_server.wait_for_stat("disconnects", 1)


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"password": "wrong"}, "auth_failed"),
        ({"smtp_ca_file": None}, "tls_unavailable"),
        ({"smtp_port": 1}, "unavailable"),
    ],
)
async def test_smtp_mailer_check_login_reports_the_failure_reason(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
    options: dict,
    reason: str,
) -> None:
    status = await make_mailer(smtp_settings(smtp_server, **options)).check_login()

    assert (status.ok, status.reason) == (False, reason)


async def test_smtp_mailer_close_says_goodbye_and_a_later_send_reconnects(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server)
    mailer = make_mailer(settings)
    await send_one(mailer, settings)

    await mailer.close()
    await smtp_server.wait_for_stat("disconnects", 1)
    await send_one(mailer, settings)

    assert smtp_server.stats.connections == 2
    assert len(smtp_server.messages) == 2


async def test_smtp_mailer_cancelled_send_leaves_no_half_open_session(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
    backoff: FakeBackoff,
    make_mailer: MailerFactory,
) -> None:
    settings = smtp_settings(smtp_server)
    mailer = make_mailer(settings)
    smtp_server.inject(Fault.delay("rcpt", 5.0), times=1)
    task = asyncio.create_task(send_one(mailer, settings, reference="REF-1"))
    await smtp_server.wait_for_stat("faults_played", 1)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await send_one(mailer, settings, reference="REF-2")

    assert [m.message["X-Order-Reference"] for m in smtp_server.messages] == ["REF-2"]
    assert smtp_server.stats.connections == 2


def test_build_mailer_picks_smtp_with_credentials_and_the_outbox_without(
    smtp_server: SmtpTestServer,
    smtp_settings: SettingsFactory,
) -> None:
    assert isinstance(build_mailer(smtp_settings(smtp_server)), SmtpMailer)
    assert isinstance(build_mailer(smtp_settings(smtp_server, password=None)), OutboxMailer)
