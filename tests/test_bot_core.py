"""The bot over the wire: start-up, command sync, staff commands, the error boundary, reconnects."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from orderbot import messages
from tests.desk import ORDER_COMMANDS, Desk, start_desk
from tests.standin import DiscordStandIn, Permission

PING_RE = re.compile(r"^Pong! Latency: \d+ms$")


async def test_startup_registers_every_command_with_its_shape(desk: Desk) -> None:
    registered = desk.standin.commands()

    assert set(ORDER_COMMANDS) <= set(registered)
    [email] = registered["order_form"].payload["options"]
    assert (email["name"], email["type"], email["required"]) == ("email", 3, True)
    assert registered["order_status"].payload.get("options", []) == []
    assert registered["run_diagnostics"].payload["default_member_permissions"] == str(
        int(Permission.MANAGE_GUILD)
    )
    assert registered["order_form"].payload.get("default_member_permissions") is None
    for name in ORDER_COMMANDS:
        assert registered[name].payload["contexts"] == [0]


async def test_startup_asks_for_no_privileged_intents(desk: Desk) -> None:
    [session] = desk.standin.sessions

    assert session.intents & ((1 << 1) | (1 << 8) | (1 << 15)) == 0


async def test_ping_answers_publicly_with_latency(desk: Desk) -> None:
    callback = await (await desk.standin.slash("ping")).response()

    assert callback.type == 4
    assert PING_RE.match(callback.content or "")
    assert not callback.ephemeral


@pytest.mark.parametrize("permission", [Permission.ADMINISTRATOR, Permission.MANAGE_GUILD])
async def test_run_diagnostics_reports_to_staff_privately(desk: Desk, permission: int) -> None:
    staff = desk.standin.make_user("staff", permissions=permission)

    callback = await (await desk.standin.slash("run_diagnostics", user=staff)).response()

    assert callback.ephemeral
    text = callback.content or ""
    assert re.search(r"\*\*Latency:\*\* \d+ms", text)
    assert re.search(r"\*\*Uptime:\*\* (\d+[dhm] )*\d+s", text)
    assert "**Servers:** 1" in text
    assert re.search(r"\*\*Users:\*\* about \d", text)
    assert "**Live orders:** 0" in text
    assert "**Emails since start:** 0 sent, 0 failed" in text
    assert "the server accepts our login" in text


async def test_run_diagnostics_refused_for_plain_member_even_when_shown(desk: Desk) -> None:
    member = desk.standin.make_user("member")

    callback = await (await desk.standin.slash("run_diagnostics", user=member)).response()

    assert callback.ephemeral
    assert callback.content == messages.STAFF_ONLY
    assert desk.smtp is not None and desk.smtp.stats.logins == 0


async def test_run_diagnostics_counts_live_orders_and_emails(desk: Desk) -> None:
    customer = desk.standin.customer
    review = await desk.to_review(customer)
    await (await desk.click(customer, review, "Submit Order")).response()
    assert desk.smtp is not None
    await desk.smtp.wait_for_messages(1, timeout=10)
    await (await desk.order_form(desk.standin.make_user("second"))).response()
    admin = desk.standin.make_user("admin", permissions=Permission.ADMINISTRATOR)

    callback = await (await desk.standin.slash("run_diagnostics", user=admin)).response()

    assert "**Live orders:** 1" in (callback.content or "")
    assert "**Emails since start:** 1 sent, 0 failed" in (callback.content or "")


async def test_run_diagnostics_says_where_the_bot_cannot_post(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    config: dict[str, Any] = {
        "summary_channel_id": standin.locked.id,
        "staff_channel_id": standin.general.id,
    }
    async with start_desk(standin, None, tmp_path / "cfg", **config) as running:
        admin = standin.make_user("admin", permissions=Permission.ADMINISTRATOR)

        callback = await (await running.standin.slash("run_diagnostics", user=admin)).response()

    text = callback.content or ""
    summary = next(line for line in text.splitlines() if line.startswith("**Summary channel:**"))
    staff = next(line for line in text.splitlines() if line.startswith("**Staff channel:**"))
    assert "cannot post" in summary
    assert "can post" in staff and "cannot" not in staff
    assert "outbox" in text


async def test_exception_inside_command_gives_generic_reply_and_logged_traceback(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    # Discord refusing the first answer raises inside the command, as any bug would.
    desk.standin.inject_fault(
        "POST /interactions/{interaction_id}/{token}/callback", status=400, code=50035, times=1
    )

    with caplog.at_level(logging.ERROR):
        callback = await (await desk.standin.slash("ping")).response()

    assert callback.ephemeral
    assert callback.content == messages.GENERIC_ERROR
    record = next(r for r in caplog.records if r.getMessage().startswith("Unhandled error in"))
    assert record.exc_info is not None
    assert "(ping)" in record.getMessage()


async def test_unknown_custom_id_is_answered(desk: Desk) -> None:
    callback = await (
        await desk.standin.submit_modal("something-else", {}, require_open=False)
    ).response()

    assert callback.ephemeral
    assert callback.content == messages.ORDER_EXPIRED


async def test_gateway_drop_resumes_and_ping_still_works(desk: Desk) -> None:
    registrations = desk.standin.registration_count

    await desk.standin.drop_connection()
    await desk.standin.wait_resumed(1)
    callback = await (await desk.standin.slash("ping")).response()

    assert PING_RE.match(callback.content or "")
    assert desk.standin.registration_count == registrations


async def test_invalidated_session_reidentifies_and_ping_still_works(desk: Desk) -> None:
    registrations = desk.standin.registration_count
    identifies = desk.standin.identify_count

    await desk.standin.invalidate_session()
    await desk.standin.wait_identified(identifies + 1)
    await desk.standin.wait_ready()
    callback = await (await desk.standin.slash("ping")).response()

    assert PING_RE.match(callback.content or "")
    assert desk.standin.registration_count == registrations, "unchanged commands re-registered"


async def test_dev_guild_registers_commands_in_that_server_only(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    guild = standin.guild
    async with start_desk(standin, None, tmp_path / "cfg", dev_guild_id=guild.id):
        registered = standin.commands(guild)

    assert set(ORDER_COMMANDS) <= set(registered)
    assert standin.commands() == {}


async def test_stop_answers_new_interactions_then_exits_zero(desk: Desk) -> None:
    desk.service.bot.accepting = False

    callback = await (await desk.standin.slash("ping")).response()

    assert callback.content == messages.SHUTTING_DOWN
    assert await desk.stop() == 0


async def test_two_shards_each_serve_their_own_servers(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    guilds = [standin.guild]
    while {standin.shard_of(g, 2) for g in guilds} != {0, 1}:
        guilds.append(await standin.add_guild(f"Guild {len(guilds)}"))
    pair = [next(g for g in guilds if standin.shard_of(g, 2) == shard) for shard in (0, 1)]

    async with start_desk(standin, None, tmp_path / "cfg", shard_count=2) as desk:
        shards = sorted(s.shard for s in standin.sessions if s.connected and s.shard)
        answers = []
        for guild in pair:
            member = standin.make_user(f"member-{guild.id}", guild=guild)
            handle = await standin.slash(
                "ping", user=member, guild=guild, channel=standin.channel("general", guild)
            )
            answers.append(await handle.response())
        order = await (await desk.order_form(standin.customer)).response()

    assert shards == [(0, 2), (1, 2)]
    assert all(PING_RE.match(a.content or "") for a in answers)
    assert order.is_modal
