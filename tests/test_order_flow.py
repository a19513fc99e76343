"""The order flow end to end: stand-in Discord, the real nextcord client, a real SMTP server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from orderbot import messages
from orderbot.fsm.states import OrderState
from tests.conftest import FakeClock, StartDesk
from tests.desk import Desk, button_id, eventually, start_desk, step_values
from tests.samples import STEP_VALUES
from tests.smtp_server import Fault, SmtpTestServer
from tests.standin import DiscordStandIn, FakeUser
from tests.standin.interactions import InteractionCallback

REF_RE = re.compile(r"REF-[A-Z0-9]{8}")


def _html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def _submit(
    desk: Desk, user: FakeUser, email: str = "customer@example.com"
) -> InteractionCallback:
    review = await desk.to_review(user, email)
    return await (await desk.click(user, review, messages.SUBMIT_ORDER)).response()


def _order(desk: Desk, user: FakeUser):
    return desk.service.orders.find((desk.standin.guild.id, user.id))


async def test_happy_path_summary_copy_and_email(desk: Desk) -> None:
    user = desk.standin.customer
    review = await desk.to_review(user)
    handle = await desk.click(user, review, messages.SUBMIT_ORDER)

    copy = await handle.response()
    [followup] = await handle.followup(1, timeout=10)
    summary = await desk.standin.wait_for_message(desk.standin.general)
    assert desk.smtp is not None
    [received] = await desk.smtp.wait_for_messages(1, timeout=10)

    reference = REF_RE.search(copy.content or "")
    assert reference is not None
    ref = reference.group()
    assert copy.ephemeral and (copy.content or "").startswith(messages.ORDER_SUBMITTED_HEADING)
    assert "123 Main St" in (copy.content or "")
    assert summary.content.startswith(messages.ORDER_SUBMITTED_HEADING)
    assert ref in summary.content
    assert "123 Main St" not in summary.content
    assert "customer@example.com" not in summary.content
    assert "front desk" not in summary.content
    assert "**Product:** Classic Leather Boots" in summary.content
    assert "is on its way" in followup.content and ref in followup.content
    assert received.rcpt_tos == ["customer@example.com"]
    assert ref in str(received.message["Subject"])
    html = _html(received.message)
    for value in (*STEP_VALUES[1].values(), *STEP_VALUES[2].values(), *STEP_VALUES[3].values()):
        assert value in html or value.replace("$", "&#36;") in html
    assert ref in _text(received.message)
    assert "Stand-in Guild" in _text(received.message)
    assert _order(desk, user) is None, "done removes the session"


async def test_bad_email_gets_the_exact_message_and_nothing_else(desk: Desk) -> None:
    user = desk.standin.customer

    callback = await (await desk.order_form(user, "not-an-email")).response()

    assert callback.ephemeral
    assert callback.content == messages.INVALID_EMAIL
    assert callback.components == []
    assert _order(desk, user) is None


@pytest.mark.parametrize(
    ("step", "bad", "fragment"),
    [
        (
            1,
            {"estimated_arrival_start_date": "2026-02-30"},
            "**Arrival Start** must be a real date",
        ),
        (1, {"estimated_arrival_end_date": "2026-12-01"}, "**Arrival End** cannot be before"),
        (1, {"product_image_url": "javascript:alert(1)"}, "**Image URL** must be a link"),
        (1, {"order_number": "   "}, "**Order Number** is required"),
        (2, {"purchase_price": "lots"}, "**Purchase Price** must be an amount of money"),
        (3, {"shipping_address": "\u200b"}, "**Shipping Address** is required"),
    ],
)
async def test_refused_step_lists_problems_and_fix_refills_what_was_typed(
    desk: Desk, step: int, bad: dict[str, str], fragment: str
) -> None:
    user = desk.standin.customer
    opened = await (await desk.order_form(user)).response()
    labels = {1: "Continue to Step 2", 2: "Continue to Final Step"}
    for earlier in range(1, step):
        reply = await (await desk.submit_step(user, opened, STEP_VALUES[earlier])).response()
        opened = await (await desk.click(user, reply, labels[earlier])).response()
    typed = step_values(step, **bad)

    refused = await (await desk.submit_step(user, opened, typed)).response()
    refilled = await (await desk.click(user, refused, messages.fix_label(step))).response()

    assert refused.ephemeral
    assert fragment in (refused.content or "")
    assert "for example" in (refused.content or "")
    assert {f.custom_id: f.value for f in refilled.modal().fields} == typed
    fixed = await (await desk.submit_step(user, refilled, STEP_VALUES[step])).response()
    expected = "Review your order" if step == 3 else f"Step {step} of 3 saved"
    assert expected in (fixed.content or "")


async def test_valid_step_shows_progress_and_continue_button(desk: Desk) -> None:
    user = desk.standin.customer
    opened = await (await desk.order_form(user)).response()

    reply = await (await desk.submit_step(user, opened, STEP_VALUES[1])).response()

    assert opened.modal().title == "Order Details - Step 1"
    assert reply.ephemeral
    assert "Step 2 of 3" in (reply.content or "")
    assert [b.label for b in reply.buttons()] == ["Continue to Step 2", "Cancel"]
    step2 = await (await desk.click(user, reply, "Continue to Step 2")).response()
    assert step2.modal().title == "Order Details - Step 2"
    reply2 = await (await desk.submit_step(user, step2, STEP_VALUES[2])).response()
    assert "Step 3 of 3" in (reply2.content or "")
    assert reply2.buttons()[0].label == "Continue to Final Step"


async def test_edit_from_review_refills_and_returns_to_review(desk: Desk) -> None:
    user = desk.standin.customer
    review = await desk.to_review(user)

    form = await (await desk.click(user, review, "Edit Step 2")).response()
    assert {f.custom_id: f.value for f in form.modal().fields} == STEP_VALUES[2]
    again = await (
        await desk.submit_step(user, form, step_values(2, color="Midnight Blue"))
    ).response()

    assert "Review your order" in (again.content or "")
    assert "**Color:** Midnight Blue" in (again.content or "")
    assert [b.label for b in again.buttons()] == [
        "Submit Order",
        "Edit Step 1",
        "Edit Step 2",
        "Edit Step 3",
        "Cancel",
    ]


@pytest.mark.parametrize("where", ["after step 1", "after step 2", "review", "refused step"])
async def test_cancel_at_each_step(desk: Desk, where: str) -> None:
    user = desk.standin.customer
    opened = await (await desk.order_form(user)).response()
    if where == "refused step":
        message = await (
            await desk.submit_step(user, opened, step_values(1, order_number=" "))
        ).response()
    elif where == "review":
        await (
            await desk.click(
                user,
                (await (await desk.submit_step(user, opened, STEP_VALUES[1])).response()),
                "Cancel",
            )
        ).response()
        message = await desk.to_review(user)
    else:
        message = await (await desk.submit_step(user, opened, STEP_VALUES[1])).response()
        if where == "after step 2":
            opened = await (await desk.click(user, message, "Continue to Step 2")).response()
            message = await (await desk.submit_step(user, opened, STEP_VALUES[2])).response()

    reply = await (await desk.click(user, message, messages.CANCEL)).response()

    assert "cancelled" in (reply.content or "")
    assert _order(desk, user) is None
    assert desk.smtp is not None and desk.smtp.messages == []
    status = await (await desk.standin.slash("order_status", user=user)).response()
    assert (status.content or "").startswith(messages.NO_ORDER_IN_PROGRESS)
    assert "was cancelled" in (status.content or "")


async def test_second_order_form_offers_resume_and_restart(desk: Desk) -> None:
    user = desk.standin.customer
    opened = await (await desk.order_form(user)).response()
    reply = await (await desk.submit_step(user, opened, STEP_VALUES[1])).response()
    first = _order(desk, user)

    prompt = await (await desk.order_form(user, "other@example.com")).response()
    resumed = await (await desk.click(user, prompt, messages.RESUME)).response()

    assert prompt.ephemeral
    assert [b.label for b in prompt.buttons()] == [messages.RESUME, messages.CANCEL_AND_START_OVER]
    assert first is not None and first.reference in (prompt.content or "")
    assert resumed.modal().title == "Order Details - Step 2"
    restarted = await (await desk.click(user, prompt, messages.CANCEL_AND_START_OVER)).response()
    fresh = _order(desk, user)
    assert restarted.modal().title == "Order Details - Step 1"
    assert fresh is not None and fresh.reference != first.reference
    assert fresh.email == "other@example.com"
    assert first.state is OrderState.CANCELLED
    old = await (await desk.click(user, reply, "Continue to Step 2")).response()
    assert old.content == messages.ORDER_EXPIRED


async def test_foreign_member_cannot_press_a_customers_buttons(desk: Desk) -> None:
    owner = desk.standin.customer
    stranger = desk.standin.make_user("stranger")
    review = await desk.to_review(owner)

    results = []
    for label in ("Submit Order", "Edit Step 1", "Cancel"):
        handle = await desk.standin.click(button_id(review, label), user=stranger, forged=True)
        results.append(await handle.response())

    assert all(r.ephemeral and r.content == messages.NOT_YOUR_ORDER for r in results)
    order = _order(desk, owner)
    assert order is not None and order.state is OrderState.REVIEW


async def test_stale_step_button_says_where_the_customer_is(desk: Desk) -> None:
    user = desk.standin.customer
    opened = await (await desk.order_form(user)).response()
    first_reply = await (await desk.submit_step(user, opened, STEP_VALUES[1])).response()
    step2 = await (await desk.click(user, first_reply, "Continue to Step 2")).response()
    await (await desk.submit_step(user, step2, STEP_VALUES[2])).response()

    again = await (await desk.click(user, first_reply, "Continue to Step 2")).response()

    assert again.ephemeral
    assert "Step 3 of 3" in (again.content or "")
    assert [b.label for b in again.buttons()] == [messages.RESUME]


async def test_racing_submits_send_one_email_and_one_summary(desk: Desk) -> None:
    user = desk.standin.customer
    review = await desk.to_review(user)
    submit = button_id(review, messages.SUBMIT_ORDER)

    handles = await asyncio.gather(*(desk.standin.click(submit, user=user) for _ in range(5)))
    answers = [await h.response() for h in handles]
    assert desk.smtp is not None
    await desk.smtp.wait_for_messages(1, timeout=10)
    await desk.standin.wait_for_message(desk.standin.general)
    await eventually(lambda: _order(desk, user) is None)

    submitted = [
        a for a in answers if (a.content or "").startswith(messages.ORDER_SUBMITTED_HEADING)
    ]
    assert len(submitted) == 1
    assert all("already been submitted" in (a.content or "") for a in answers if a not in submitted)
    assert len(desk.smtp.messages) == 1
    assert len(desk.standin.messages(desk.standin.general)) == 1


async def test_permanent_failure_then_retry_delivers(desk: Desk) -> None:
    assert desk.smtp is not None
    desk.smtp.inject(Fault.reply("rcpt", 550))
    user = desk.standin.customer
    handle = await desk.click(user, await desk.to_review(user), messages.SUBMIT_ORDER)
    await handle.response()

    [failure] = await handle.followup(1, timeout=10)
    order = _order(desk, user)
    assert order is not None and order.state is OrderState.FAILED
    assert "could not send" in failure.content and "refused that address" in failure.content
    assert [b.label for b in failure.buttons()] == [messages.RETRY, messages.CHANGE_EMAIL, "Cancel"]
    status = await (await desk.standin.slash("order_status", user=user)).response()
    assert "could not be sent" in (status.content or "")

    retry = await desk.standin.click(button_id_in(failure, messages.RETRY), user=user)
    await retry.response()
    [sent] = await retry.followup(1, timeout=10)

    assert "is on its way" in sent.content
    assert len(desk.smtp.messages) == 1
    assert _order(desk, user) is None


def button_id_in(message, label: str) -> str:
    return next(str(b.custom_id) for b in message.buttons() if b.label == label)


async def test_change_email_after_failure_sends_to_the_new_address(desk: Desk) -> None:
    assert desk.smtp is not None
    desk.smtp.inject(Fault.reply("rcpt", 550))
    user = desk.standin.customer
    handle = await desk.click(
        user, await desk.to_review(user, "typo@exampel.com"), messages.SUBMIT_ORDER
    )
    await handle.response()
    [failure] = await handle.followup(1, timeout=10)

    form = await (
        await desk.standin.click(button_id_in(failure, messages.CHANGE_EMAIL), user=user)
    ).response()
    assert form.modal().field("email").value == "typo@exampel.com"
    bad = await (
        await desk.standin.submit_modal(form.modal().custom_id, {"email": "nope"}, user=user)
    ).response()
    form = await (await desk.click(user, bad, messages.CHANGE_EMAIL)).response()
    fixed = await desk.standin.submit_modal(
        form.modal().custom_id, {"email": "right@example.com"}, user=user
    )
    await fixed.response()
    [sent] = await fixed.followup(1, timeout=10)

    assert bad.content == messages.INVALID_EMAIL
    assert "right@example.com" in sent.content
    assert [m.rcpt_tos for m in desk.smtp.messages] == [["right@example.com"]]


async def test_modal_survives_gateway_resume_and_reidentify(desk: Desk) -> None:
    user = desk.standin.customer
    opened = await (await desk.order_form(user)).response()
    reply = await (await desk.submit_step(user, opened, STEP_VALUES[1])).response()

    await desk.standin.drop_connection()
    await desk.standin.wait_resumed(1)
    step2 = await (await desk.click(user, reply, "Continue to Step 2")).response()
    identifies = desk.standin.identify_count
    await desk.standin.invalidate_session()
    await desk.standin.wait_identified(identifies + 1)
    await desk.standin.wait_ready()
    after = await (await desk.submit_step(user, step2, STEP_VALUES[2])).response()

    assert "Step 3 of 3" in (after.content or "")


async def test_fifty_customers_at_once_get_their_own_emails(desk: Desk) -> None:
    customers = [desk.standin.make_user(f"buyer{i}") for i in range(50)]

    async def order(i: int, user: FakeUser) -> None:
        answers = {
            1: step_values(1, order_number=f"ORD-{i:04d}", product_name=f"Product {i}"),
            2: STEP_VALUES[2],
            3: step_values(3, shipping_address=f"{i} Unique Road"),
        }
        review = await desk.to_review(user, f"buyer{i}@example.com", answers)
        await (await desk.click(user, review, messages.SUBMIT_ORDER)).response()

    await asyncio.gather(*(order(i, u) for i, u in enumerate(customers)))
    assert desk.smtp is not None
    received = await desk.smtp.wait_for_messages(50, timeout=30)

    by_rcpt = {m.rcpt_tos[0]: _html(m.message) for m in received}
    assert len(by_rcpt) == 50
    for i in range(50):
        html = by_rcpt[f"buyer{i}@example.com"]
        assert f"ORD-{i:04d}" in html and f"{i} Unique Road" in html
        others = [j for j in range(50) if j != i]
        assert not any(f"ORD-{j:04d}" in html for j in others)


HOSTILE = {
    1: {
        "order_number": "<script>alert(1)</script>",
        "estimated_arrival_start_date": "2026-12-24",
        "estimated_arrival_end_date": "2026-12-31",
        "product_image_url": "https://example.com/a.jpg?x=%22%3E%3Cscript%3E",
        "product_name": '" onerror="alert(1) {{email}} @everyone 🎉',
    },
    2: {
        "style_id": "\u202eevil\u202c",
        "product_size": "zero\u200bwidth",
        "product_condition": "**bold** <b>x</b>",
        "purchase_price": "$150.00",
        "color": "{{reference}}",
    },
    3: {
        "shipping_address": "line one\r\nBcc: victim@example.com\n" + "x" * 450,
        "notes": "<img src=x onerror=alert(1)>" + "é" * 970,
    },
}


async def test_hostile_values_in_every_field(desk: Desk) -> None:
    user = desk.standin.customer
    review = await desk.to_review(user, answers=HOSTILE)
    handle = await desk.click(user, review, messages.SUBMIT_ORDER)
    copy = await handle.response()
    summary = await desk.standin.wait_for_message(desk.standin.general)
    assert desk.smtp is not None
    [received] = await desk.smtp.wait_for_messages(1, timeout=10)

    assert len(review.content or "") <= 2000 and len(copy.content or "") <= 2000
    assert "@everyone" not in summary.content.replace("@\u200beveryone", "")
    assert "\u202e" not in summary.content
    html = _html(received.message)
    assert "<script>" not in html and "<img src=x" not in html
    assert "{{email}}" in html and "{{reference}}" in html
    assert 'onerror="alert(1)' not in html
    assert received.message.get_all("Bcc") is None
    assert received.rcpt_tos == ["customer@example.com"]


async def test_order_status_in_every_state(
    standin: DiscordStandIn,
    smtp_server_factory: Callable[..., SmtpTestServer],
    tmp_path: Path,
) -> None:
    smtp = smtp_server_factory(security="none", auth_require_tls=False)
    clock = FakeClock()
    config: dict[str, Any] = {"smtp_security": "none", "session_reap_interval_seconds": 0.1}
    async with start_desk(standin, smtp, tmp_path / "cfg", timer=clock, **config) as desk:
        user = standin.customer

        async def status() -> str:
            return (await (await standin.slash("order_status", user=user)).response()).content or ""

        assert (await status()).startswith("No order in progress")
        opened = await (await desk.order_form(user)).response()
        assert "filling in Step 1 of 3" in await status()
        reply = await (await desk.submit_step(user, opened, STEP_VALUES[1])).response()
        text = await status()
        assert "filling in Step 2 of 3" in text and "✅ Step 1 · ⬜ Step 2" in text
        assert re.search(r"Expires after 1[45] min \d+ s", text)
        opened = await (await desk.click(user, reply, "Continue to Step 2")).response()
        reply = await (await desk.submit_step(user, opened, STEP_VALUES[2])).response()
        assert "Step 3 of 3" in await status()
        opened = await (await desk.click(user, reply, "Continue to Final Step")).response()
        review = await (await desk.submit_step(user, opened, STEP_VALUES[3])).response()
        assert "ready for your review" in await status()

        smtp.inject(Fault.delay("data", 1.0))
        await (await desk.click(user, review, messages.SUBMIT_ORDER)).response()
        assert "being sent" in await status()
        await smtp.wait_for_messages(1, timeout=10)
        await eventually(lambda: _order(desk, user) is None)
        done = await status()
        assert done.startswith("No order in progress") and "was submitted" in done

        await (await desk.order_form(user)).response()
        clock.advance(desk.settings.session_timeout_seconds + 1)
        await eventually(lambda: _order(desk, user) is None)
        text = await status()
        assert text.startswith("No order in progress") and "expired" in text


async def test_expired_order_old_button_says_so(
    standin: DiscordStandIn,
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with start_desk(
        standin, None, tmp_path / "cfg", timer=clock, session_reap_interval_seconds=0.1
    ) as desk:
        user = standin.customer
        opened = await (await desk.order_form(user)).response()
        reply = await (await desk.submit_step(user, opened, STEP_VALUES[1])).response()
        order = _order(desk, user)
        assert order is not None

        clock.advance(desk.settings.session_timeout_seconds + 1)
        await eventually(lambda: order.state is OrderState.TIMEOUT)
        old = await (await desk.click(user, reply, "Continue to Step 2")).response()

    assert old.ephemeral and old.content == messages.ORDER_EXPIRED


async def test_button_after_restart_says_the_order_expired(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    user = standin.customer
    async with start_desk(standin, None, tmp_path / "one") as desk:
        opened = await (await desk.order_form(user)).response()
        reply = await (await desk.submit_step(user, opened, STEP_VALUES[1])).response()

    async with start_desk(standin, None, tmp_path / "two"):
        old = await (
            await standin.click(button_id(reply, "Continue to Step 2"), user=user)
        ).response()

    assert old.content == messages.ORDER_EXPIRED


async def test_cooldown_says_when_to_try_again(standin: DiscordStandIn, tmp_path: Path) -> None:
    async with start_desk(standin, None, tmp_path / "cfg", order_cooldown_seconds=30) as desk:
        user = standin.customer
        opened = await (await desk.order_form(user)).response()
        reply = await (await desk.submit_step(user, opened, STEP_VALUES[1])).response()
        await (await desk.click(user, reply, messages.CANCEL)).response()

        again = await (await desk.order_form(user)).response()

    assert again.ephemeral
    assert re.match(r"⏳ You can start another order in (29|30) seconds\.", again.content or "")


async def test_daily_email_cap_refuses_politely(desk_one_email: Desk) -> None:
    desk = desk_one_email
    user = desk.standin.customer
    await _submit(desk, user)
    await eventually(lambda: _order(desk, user) is None)

    refused = await (await desk.order_form(user)).response()

    assert "today's limit" in (refused.content or "")
    assert not refused.is_modal


@pytest.fixture
async def desk_one_email(plain_desk: StartDesk) -> AsyncIterator[Desk]:
    async with plain_desk(max_emails_per_user_per_day=1) as running:
        yield running


async def test_staff_channel_gets_the_full_order(standin: DiscordStandIn, tmp_path: Path) -> None:
    staff = standin.channel("locked")
    general = standin.general
    async with start_desk(
        standin, None, tmp_path / "cfg", staff_channel_id=general.id, summary_channel_id=staff.id
    ) as desk:
        copy = await _submit(desk, standin.customer)
        posted = await standin.wait_for_message(general)

    assert copy.ephemeral
    assert "🗂️ **New order**" in posted.content
    assert "123 Main St" in posted.content and "customer@example.com" in posted.content
    assert standin.messages(staff) == [], "the locked channel refused the summary (403)"


async def test_outbox_mode_tells_the_customer_honestly(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    async with start_desk(standin, None, tmp_path / "cfg") as desk:
        user = standin.customer
        handle = await desk.click(user, await desk.to_review(user), messages.SUBMIT_ORDER)
        await handle.response()
        [note] = await handle.followup(1, timeout=10)

    assert "has not set up confirmation emails" in note.content
    assert len(list((tmp_path / "cfg" / "outbox").glob("*.eml"))) == 1


@pytest.mark.parametrize("command", ["order_form", "order_status"])
async def test_order_commands_in_a_dm_ask_for_a_server(desk: Desk, command: str) -> None:
    options = {"email": "customer@example.com"} if command == "order_form" else None

    handle = await desk.standin.slash(command, options, in_dm=True, validate=False)
    callback = await handle.response()

    assert callback.content == messages.GUILD_ONLY


async def test_lost_follow_up_is_logged_not_raised(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    user = desk.standin.customer
    review = await desk.to_review(user)
    desk.standin.inject_fault(
        "POST /webhooks/{application_id}/{token}", status=404, code=10015, times=1
    )

    await (await desk.click(user, review, messages.SUBMIT_ORDER)).response()
    await eventually(lambda: "email outcome" in caplog.text)

    assert "Could not tell the customer" in caplog.text
    assert "Background task" not in caplog.text
    assert desk.smtp is not None and len(desk.smtp.messages) == 1


async def test_stale_form_submit_changes_nothing_and_says_where(desk: Desk) -> None:
    user = desk.standin.customer
    opened = await (await desk.order_form(user)).response()
    await (await desk.submit_step(user, opened, STEP_VALUES[1])).response()
    step1_form = opened.modal().custom_id

    again = await desk.standin.submit_modal(
        step1_form, step_values(1, order_number="ORD-CHANGED"), user=user, require_open=False
    )
    reply = await again.response()

    order = _order(desk, user)
    assert order is not None and order.answers["order_number"] == "ORD-12345"
    assert order.drafts == {}
    assert "Step 2 of 3" in (reply.content or "")
    assert [b.label for b in reply.buttons()] == [messages.RESUME]
