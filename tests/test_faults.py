"""Faults under load: SMTP trouble mid-burst, gateway loss, SIGTERM with emails in flight, crowds.

For each: nothing lost, nothing sent twice, no customer sees another's data, no secret
in the logs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from orderbot import messages
from tests.conftest import TEST_TOKEN, StartDesk
from tests.desk import Desk, eventually, start_desk, step_values
from tests.samples import STEP_VALUES
from tests.smtp_server import PASSWORD, Fault, SmtpTestServer
from tests.standin import DiscordStandIn, FakeUser
from tests.standin.interactions import InteractionCallback

pytestmark = pytest.mark.slow


def _answers(i: int) -> dict[int, dict[str, str]]:
    return {
        1: step_values(1, order_number=f"ORD-{i:05d}", product_name=f"Item {i}"),
        2: STEP_VALUES[2],
        3: step_values(3, shipping_address=f"{i} Distinct Avenue"),
    }


async def _order(desk: Desk, i: int, user: FakeUser) -> tuple[InteractionCallback, list[str]]:
    """Walk one customer through the flow; return the submit answer and every text seen."""
    review = await desk.to_review(user, f"c{i}@example.com", _answers(i))
    handle = await desk.click(user, review, messages.SUBMIT_ORDER)
    copy = await handle.response()
    return copy, [review.content or "", copy.content or ""]


def _check_own_data(i: int, texts: Sequence[str]) -> None:
    joined = "\n".join(texts)
    assert f"ORD-{i:05d}" in joined and f"{i} Distinct Avenue" in joined
    assert messages.GENERIC_ERROR not in joined


async def _crowd(desk: Desk, count: int) -> list[FakeUser]:
    users = [desk.standin.make_user(f"crowd{i}") for i in range(count)]
    results = await asyncio.gather(*(_order(desk, i, u) for i, u in enumerate(users)))
    for i, (copy, texts) in enumerate(results):
        assert copy.content and copy.content.startswith(messages.ORDER_SUBMITTED_HEADING)
        _check_own_data(i, texts)
    return users


def _check_emails(smtp: SmtpTestServer, count: int) -> None:
    received = smtp.messages
    recipients = [m.rcpt_tos[0] for m in received]
    assert sorted(recipients) == sorted(f"c{i}@example.com" for i in range(count)), "lost or twice"
    for message in received:
        i = int(message.rcpt_tos[0][1:].split("@")[0])
        body = message.raw.decode("utf-8", "replace")
        assert f"ORD-{i:05d}" in body
        assert not any(f"ORD-{j:05d}" in body for j in (i - 1, i + 1))


def _check_no_secrets(caplog: pytest.LogCaptureFixture, desk: Desk) -> None:
    text = "\n".join(
        logging.Formatter("%(message)s").format(r) + (r.exc_text or "") for r in caplog.records
    )
    assert PASSWORD not in text
    assert desk.standin.token not in text
    assert TEST_TOKEN not in text


@pytest.fixture
async def busy_desk(plain_desk: StartDesk) -> AsyncIterator[Desk]:
    """orderbot with a plain SMTP server and a 20 s retry budget."""
    async with plain_desk(smtp_retry_budget_seconds=20) as running:
        yield running


@pytest.mark.parametrize(
    "faults",
    [
        [Fault.reply("mail", 421)] * 3,
        [Fault.reply("rcpt", 451)] * 5,
        [Fault.drop("data")] * 3,
        [Fault.reply("mail", 421), Fault.reply("rcpt", 451), Fault.drop("rcpt")],
    ],
    ids=["421", "451", "dropped", "mixed"],
)
async def test_smtp_faults_mid_burst_deliver_everything_once(
    busy_desk: Desk, caplog: pytest.LogCaptureFixture, faults: list[Fault]
) -> None:
    smtp = busy_desk.smtp
    assert smtp is not None
    for fault in faults:
        smtp.inject(fault)
    count = 40

    with caplog.at_level(logging.INFO):
        users = await _crowd(busy_desk, count)
        await smtp.wait_for_messages(count, timeout=60)
        await eventually(lambda: all(_live(busy_desk, u) is None for u in users), 30)

    _check_emails(smtp, count)
    assert smtp.stats.faults_played == len(faults)
    assert busy_desk.service.confirmations.sent == count
    _check_no_secrets(caplog, busy_desk)


def _live(desk: Desk, user: FakeUser):
    return desk.service.orders.find((desk.standin.guild.id, user.id))


async def test_smtp_down_past_the_budget_fails_then_retry_delivers(
    standin: DiscordStandIn,
    smtp_server_factory: Callable[..., SmtpTestServer],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp = smtp_server_factory(security="none", auth_require_tls=False)
    config: dict[str, Any] = {
        "smtp_security": "none",
        "smtp_retry_budget_seconds": 1,
        "smtp_timeout_seconds": 1,
    }
    async with start_desk(standin, smtp, tmp_path / "cfg", **config) as desk:
        smtp.inject(Fault.reply("connect", 421), times=1000)
        users = [standin.make_user(f"down{i}") for i in range(5)]
        handles = []
        for i, user in enumerate(users):
            review = await desk.to_review(user, f"c{i}@example.com", _answers(i))
            handles.append(await desk.click(user, review, messages.SUBMIT_ORDER))
        failures = [(await h.followup(1, timeout=30))[0] for h in handles]
        assert all("could not send" in f.content for f in failures)
        assert smtp.messages == []

        smtp.clear_faults()
        retries = [
            await standin.click(button_id_in(f, messages.RETRY), user=u)
            for f, u in zip(failures, users, strict=True)
        ]
        sent = [(await r.followup(1, timeout=30))[0] for r in retries]

    assert all("is on its way" in s.content for s in sent)
    _check_emails(smtp, 5)
    assert any(
        "giving up" in r.getMessage().lower() or r.levelno == logging.ERROR for r in caplog.records
    )
    _check_no_secrets(caplog, desk)


def button_id_in(message, label: str) -> str:
    return next(str(b.custom_id) for b in message.buttons() if b.label == label)


async def test_gateway_drop_and_invalidation_during_a_burst(
    busy_desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    smtp = busy_desk.smtp
    assert smtp is not None
    count = 60

    async def disrupt() -> None:
        await asyncio.sleep(0.05)
        await busy_desk.standin.drop_connection()
        await busy_desk.standin.wait_resumed(1)
        await asyncio.sleep(0.05)

    with caplog.at_level(logging.INFO):
        await asyncio.gather(disrupt(), _crowd(busy_desk, count))
        await smtp.wait_for_messages(count, timeout=60)
        identifies = busy_desk.standin.identify_count
        await busy_desk.standin.invalidate_session()
        await busy_desk.standin.wait_identified(identifies + 1)
        await busy_desk.standin.wait_ready()
        late = await _crowd_from(busy_desk, count, 20)
        await smtp.wait_for_messages(count + 20, timeout=60)

    _check_emails(smtp, count + 20)
    assert len(late) == 20
    _check_no_secrets(caplog, busy_desk)


async def _crowd_from(desk: Desk, start: int, count: int) -> list[FakeUser]:
    users = [desk.standin.make_user(f"late{i}") for i in range(count)]
    results = await asyncio.gather(*(_order(desk, start + i, u) for i, u in enumerate(users)))
    for i, (_, texts) in enumerate(results):
        _check_own_data(start + i, texts)
    return users


async def test_sigterm_with_emails_in_flight_delivers_or_reports_and_exits_zero(
    standin: DiscordStandIn,
    smtp_server_factory: Callable[..., SmtpTestServer],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp = smtp_server_factory(security="none", auth_require_tls=False)
    config: dict[str, Any] = {"smtp_security": "none", "shutdown_grace_seconds": 1.5}
    with caplog.at_level(logging.INFO):
        async with start_desk(standin, smtp, tmp_path / "cfg", **config) as desk:
            users = [standin.make_user(f"term{i}") for i in range(6)]
            reviews = [
                await desk.to_review(u, f"c{i}@example.com", _answers(i))
                for i, u in enumerate(users)
            ]
            # Each message takes 0.4 s to be accepted, so the grace period covers some.
            smtp.inject(Fault.delay("data", 0.4), times=6)
            for user, review in zip(users, reviews, strict=True):
                await (await desk.click(user, review, messages.SUBMIT_ORDER)).response()
            code = await desk.stop()

    delivered = {m.rcpt_tos[0] for m in smtp.messages}
    reported = "\n".join(
        r.getMessage() for r in caplog.records if "not confirmed" in r.getMessage()
    )
    assert code == 0
    assert delivered, "the grace period let some emails finish"
    for i, review in enumerate(reviews):
        order_reference = _reference_of(review)
        assert f"c{i}@example.com" in delivered or order_reference in reported
    assert len(delivered) == len(smtp.messages), "nothing sent twice"


def _reference_of(review: InteractionCallback) -> str:
    content = review.content or ""
    return content.split("(", 1)[1].split(")", 1)[0]


async def test_five_hundred_customers_at_once(
    busy_desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    smtp = busy_desk.smtp
    assert smtp is not None
    count = 500

    with caplog.at_level(logging.WARNING):
        users = await _crowd(busy_desk, count)
        await smtp.wait_for_messages(count, timeout=120)
        await eventually(lambda: all(_live(busy_desk, u) is None for u in users), 60)

    _check_emails(smtp, count)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    _check_no_secrets(caplog, busy_desk)
