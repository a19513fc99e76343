"""OutboxMailer: atomic .eml files that parse, sort by time and never collide."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orderbot.config import Settings, load_settings
from orderbot.email.errors import InvalidRecipient, OutboxWriteFailed
from orderbot.email.mailer import build_mailer
from orderbot.email.message import OUTBOX_SENDER, compose_confirmation
from orderbot.email.outbox import OutboxMailer, outbox_name
from tests.samples import ANSWERS

REPO = Path(__file__).resolve().parent.parent
CUSTOMER = "jordan@example.com"


@pytest.fixture
def outbox_settings(tmp_path: Path) -> Settings:
    config = tmp_path / "config"
    config.mkdir()
    outbox = tmp_path / "outbox" / "nested"
    (config / "config.json").write_text(f'{{"shop_name": "Test Shop", "outbox_dir": "{outbox}"}}')
    (config / "email_template.json").write_bytes(
        (REPO / "config" / "email_template.json").read_bytes()
    )
    return load_settings(config, env_file=tmp_path / "none.env", environ={}, require_token=False)


def confirmation(settings: Settings, reference: str = "REF-7K3Q9XH2"):
    return compose_confirmation(
        settings,
        answers=ANSWERS,
        email=CUSTOMER,
        reference=reference,
        customer="jordan_lee",
        server_name="Test Server",
        submitted_at=datetime(2026, 12, 3, 14, 5, tzinfo=UTC),
    )


async def test_build_mailer_uses_the_outbox_without_credentials(outbox_settings: Settings) -> None:
    assert outbox_settings.uses_outbox
    assert isinstance(build_mailer(outbox_settings), OutboxMailer)


async def test_outbox_mailer_writes_a_parseable_eml_with_the_footer(
    outbox_settings: Settings,
) -> None:
    mailer = OutboxMailer(outbox_settings)

    delivery = await mailer.send(
        confirmation(outbox_settings), recipient=CUSTOMER, reference="REF-7K3Q9XH2"
    )

    assert delivery.transport == "outbox"
    assert delivery.outbox_path is not None
    assert delivery.outbox_path.parent == outbox_settings.outbox_dir
    message = email.message_from_bytes(
        delivery.outbox_path.read_bytes(), policy=email.policy.default
    )
    assert message["To"] == CUSTOMER
    assert message["From"].addresses[0].addr_spec == OUTBOX_SENDER
    assert message["From"].addresses[0].display_name == "Test Shop"
    assert message.get_content_type() == "multipart/alternative"
    for subtype in ("plain", "html"):
        part = message.get_body((subtype,))
        assert part is not None
        content = " ".join(part.get_content().split())
        assert "Test Server" in content
        assert "jordan_lee" in content
        assert "not a receipt from any retailer or brand" in content
    assert mailer.stats.sent == 1


async def test_outbox_mailer_names_files_by_time_and_reference_without_collisions(
    outbox_settings: Settings,
) -> None:
    mailer = OutboxMailer(outbox_settings)
    message = confirmation(outbox_settings)

    paths = [
        d.outbox_path
        for d in await asyncio.gather(
            *(mailer.send(message, recipient=CUSTOMER, reference="REF-7K3Q9XH2") for _ in range(20))
        )
    ]

    names = [p.name for p in paths if p is not None]
    assert len(set(names)) == 20
    assert all(re.fullmatch(r"\d{8}T\d{12}Z-REF-7K3Q9XH2-[0-9a-f]{8}\.eml", n) for n in names)
    assert sorted(os.listdir(outbox_settings.outbox_dir)) == sorted(names)


def test_outbox_name_sorts_by_time() -> None:
    early = outbox_name("REF-B", datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    late = outbox_name("REF-A", datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC))
    assert sorted([late, early]) == [early, late]


def test_outbox_name_keeps_only_safe_characters_of_the_reference() -> None:
    name = outbox_name("../../etc/passwd\n", datetime(2026, 1, 1, tzinfo=UTC))
    assert "/" not in name
    assert re.fullmatch(r"\d{8}T\d{12}Z-etcpasswd-[0-9a-f]{8}\.eml", name)


async def test_outbox_mailer_leaves_no_partial_file_when_the_write_fails(
    outbox_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_replace(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    mailer = OutboxMailer(outbox_settings)

    with pytest.raises(OutboxWriteFailed) as caught:
        await mailer.send(confirmation(outbox_settings), recipient=CUSTOMER, reference="REF-1")

    assert caught.value.reason == "outbox_failed"
    assert os.listdir(outbox_settings.outbox_dir) == []
    assert mailer.stats.failed == 1


async def test_outbox_mailer_writes_through_a_hidden_temporary_file(
    outbox_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spying_replace(src: str, dst: str) -> None:
        seen.append((Path(src).name, Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spying_replace)

    await OutboxMailer(outbox_settings).send(
        confirmation(outbox_settings), recipient=CUSTOMER, reference="REF-1"
    )

    [(temporary, final)] = seen
    assert temporary.startswith(".") and temporary.endswith(".tmp")
    assert final.endswith(".eml")


async def test_outbox_mailer_logs_the_path_and_a_masked_address(
    outbox_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="orderbot.email"):
        delivery = await OutboxMailer(outbox_settings).send(
            confirmation(outbox_settings), recipient=CUSTOMER, reference="REF-1"
        )

    assert str(delivery.outbox_path) in caplog.text
    assert "j***@example.com" in caplog.text
    assert CUSTOMER not in caplog.text


async def test_outbox_mailer_refuses_a_bad_recipient(outbox_settings: Settings) -> None:
    with pytest.raises(InvalidRecipient):
        await OutboxMailer(outbox_settings).send(
            confirmation(outbox_settings),
            recipient="a@example.com, b@example.com",
            reference="REF-1",
        )


async def test_outbox_mailer_check_login_says_where_mail_goes(outbox_settings: Settings) -> None:
    status = await OutboxMailer(outbox_settings).check_login()
    assert (status.ok, status.reason) == (True, "outbox")
    assert str(outbox_settings.outbox_dir) in status.detail


async def test_outbox_mailer_creates_the_folder(outbox_settings: Settings, tmp_path: Path) -> None:
    settings = dataclasses.replace(outbox_settings, outbox_dir=tmp_path / "a" / "b" / "c")
    await OutboxMailer(settings).send(confirmation(settings), recipient=CUSTOMER, reference="REF-1")
    assert len(list((tmp_path / "a" / "b" / "c").glob("*.eml"))) == 1
