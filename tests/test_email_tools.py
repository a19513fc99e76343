"""Operator tools: the template preview and send-test-email's step-by-step diagnosis."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from orderbot.config import Settings
from orderbot.email.tools import (
    SAMPLE_IMAGE_DATA_URI,
    TestEmailReport,
    preview_email,
    send_test_email,
)
from tests.smtp_server import Fault, SmtpTestServer

ServerFactory = Callable[..., SmtpTestServer]
SettingsFactory = Callable[..., Settings]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_preview_email_renders_the_sample_order_with_an_offline_image(
    smtp_server: SmtpTestServer, smtp_settings: SettingsFactory, tmp_path: Path
) -> None:
    output = preview_email(smtp_settings(smtp_server), tmp_path / "preview" / "email.html")

    html = output.read_text(encoding="utf-8")
    assert "Classic Leather Boots" in html
    assert f'src="{SAMPLE_IMAGE_DATA_URI}"' in html
    assert "not a receipt from any retailer" in html
    assert "Test Shop" in html


def test_preview_email_uses_a_given_image_url(
    smtp_server: SmtpTestServer, smtp_settings: SettingsFactory, tmp_path: Path
) -> None:
    output = preview_email(
        smtp_settings(smtp_server), tmp_path / "p.html", image_url="file:///tmp/boots.png"
    )
    assert 'src="file:///tmp/boots.png"' in output.read_text(encoding="utf-8")


async def test_send_test_email_reports_success(
    smtp_server: SmtpTestServer, smtp_settings: SettingsFactory
) -> None:
    report = await send_test_email(smtp_settings(smtp_server), "operator@example.com")

    assert (report.ok, report.step) == (True, "done")
    assert "operator@example.com" in report.explanation
    [received] = await smtp_server.wait_for_messages(1)
    assert received.rcpt_tos == ["operator@example.com"]
    assert received.message["X-Order-Reference"] == "REF-TESTMAIL"


async def test_send_test_email_names_the_failing_step(
    smtp_server_factory: ServerFactory, smtp_settings: SettingsFactory
) -> None:
    cases: list[tuple[SmtpTestServer, dict, str, str]] = []
    starttls = smtp_server_factory(security="starttls")
    plain = smtp_server_factory(security="none", auth_require_tls=False)
    implicit = smtp_server_factory(security="tls")
    cases = [
        (starttls, {"password": "wrong"}, "authentication", "app password"),
        (plain, {"smtp_security": "starttls"}, "tls", "does not offer STARTTLS"),
        (starttls, {"smtp_ca_file": None}, "tls", "smtp_ca_file"),
        (implicit, {"smtp_security": "starttls"}, "connection", "port 465"),
        (starttls, {"smtp_security": "tls"}, "tls", "Port 465 needs"),
        (starttls, {"smtp_port": closed_port()}, "connection", "refused the connection"),
        (starttls, {"smtp_server": "no-such-host.invalid"}, "connection", "name resolution"),
    ]
    for server, options, step, words in cases:
        settings = smtp_settings(server, smtp_timeout_seconds=1, **options)

        report = await send_test_email(settings, "operator@example.com")

        assert (report.ok, report.step) == (False, step), (options, report)
        assert words in report.explanation, (options, report.explanation)


async def test_send_test_email_reports_a_refused_recipient(
    smtp_server: SmtpTestServer, smtp_settings: SettingsFactory
) -> None:
    smtp_server.inject(Fault.reply("rcpt", 550), times=1)

    report = await send_test_email(smtp_settings(smtp_server), "nobody@example.com")

    assert (report.ok, report.step, report.smtp_code) == (False, "recipient", 550)
    assert "nobody@example.com" in report.explanation


async def test_send_test_email_does_not_retry(
    smtp_server: SmtpTestServer, smtp_settings: SettingsFactory
) -> None:
    smtp_server.inject(Fault.reply("rcpt", 451), times=1)

    report = await send_test_email(smtp_settings(smtp_server), "operator@example.com")

    assert (report.ok, report.step, report.smtp_code) == (False, "recipient", 451)
    assert smtp_server.stats.transactions == 1


@pytest.mark.parametrize("address", ["not an address", "a@example.com, b@example.com"])
async def test_send_test_email_checks_the_address_first(
    smtp_server: SmtpTestServer, smtp_settings: SettingsFactory, address: str
) -> None:
    report = await send_test_email(smtp_settings(smtp_server), address)

    assert (report.ok, report.step) == (False, "address")
    assert smtp_server.stats.connections == 0


async def test_send_test_email_without_credentials_explains_the_outbox(
    smtp_server: SmtpTestServer, smtp_settings: SettingsFactory
) -> None:
    report = await send_test_email(
        smtp_settings(smtp_server, password=None), "operator@example.com"
    )

    assert (report.ok, report.step) == (False, "configuration")
    assert "outbox" in report.explanation


def test_test_email_report_is_not_collected_as_a_test() -> None:
    assert TestEmailReport.__test__ is False
