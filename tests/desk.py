"""The whole bot, running in the test's loop against the Discord stand-in and a real SMTP server.

`start_desk` builds orderbot's Service exactly as `python -m orderbot` does, with
DISCORD_API_BASE_URL pointing at the stand-in, and `Desk` acts as customers do:
slash commands, form submits and button clicks, as Discord sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nextcord.http import Route

from orderbot.app import Service
from orderbot.config import Settings, load_settings
from tests.samples import STEP_VALUES
from tests.smtp_server import PASSWORD, USERNAME, SmtpTestServer, write_config
from tests.standin import DiscordStandIn
from tests.standin.interactions import InteractionCallback, InteractionHandle
from tests.standin.model import FakeUser

ORDER_COMMANDS = ("order_form", "order_status", "ping", "run_diagnostics")


def step_values(step: int, **changes: str) -> dict[str, str]:
    """Return good answers for a step, with some replaced."""
    return {**STEP_VALUES[step], **changes}


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 5) -> None:  # noqa: ASYNC109
    """Wait until check() holds, looking every few milliseconds.

    For outcomes the bot announces to nobody (an order timing out, a session closing
    after its email), there is no event to wait on; a short poll keeps the test honest
    without sleeping for a guessed duration.
    """
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if result if isinstance(result, bool) else await result:
                return
            await asyncio.sleep(0.01)


def button_id(callback: InteractionCallback, label: str) -> str:
    """Return the custom_id of the button with this label in a callback's message."""
    for button in callback.buttons():
        if button.label == label:
            return str(button.custom_id)
    labels = [b.label for b in callback.buttons()]
    raise AssertionError(f"no button {label!r} in {labels}")


@dataclass
class Desk:
    """A running orderbot and the two servers it talks to."""

    standin: DiscordStandIn
    smtp: SmtpTestServer | None
    service: Service
    settings: Settings
    task: asyncio.Task[int]

    async def order_form(
        self, user: FakeUser, email: str = "customer@example.com"
    ) -> InteractionHandle:
        """Run /order_form as the user."""
        return await self.standin.slash("order_form", {"email": email}, user=user)

    async def submit_step(
        self,
        user: FakeUser,
        opened: InteractionCallback,
        values: Mapping[str, str],
    ) -> InteractionHandle:
        """Submit the form that `opened` showed, typing `values`."""
        assert opened.is_modal, f"expected a form, got {opened.content!r}"
        return await self.standin.submit_modal(opened.modal().custom_id, dict(values), user=user)

    async def click(
        self, user: FakeUser, callback: InteractionCallback, label: str
    ) -> InteractionHandle:
        """Press the button with this label on the message of a callback."""
        return await self.standin.click(button_id(callback, label), user=user)

    async def to_review(
        self,
        user: FakeUser,
        email: str = "customer@example.com",
        answers: Mapping[int, Mapping[str, str]] | None = None,
    ) -> InteractionCallback:
        """Walk a customer from /order_form to the review; return the review message."""
        answers = answers or {}
        opened = await (await self.order_form(user, email)).response()
        labels = {1: "Continue to Step 2", 2: "Continue to Final Step"}
        for step in (1, 2, 3):
            values = answers.get(step, STEP_VALUES[step])
            reply = await (await self.submit_step(user, opened, values)).response()
            if step == 3:
                return reply
            opened = await (await self.click(user, reply, labels[step])).response()
        raise AssertionError("unreachable")

    async def stop(self) -> int:
        """Stop the bot as SIGTERM would and return its exit code."""
        self.service.stop()
        return await asyncio.wait_for(self.task, 30)


def desk_settings(
    standin: DiscordStandIn,
    smtp: SmtpTestServer | None,
    folder: Path,
    **config: Any,
) -> Settings:
    """Write a config folder for the stand-in and the SMTP server and load it."""
    defaults: dict[str, Any] = {"order_cooldown_seconds": 0, "shop_name": "Test Shop"}
    defaults.update(config)
    environ = {"DISCORD_BOT_TOKEN": standin.token, "DISCORD_API_BASE_URL": standin.base_url}
    if smtp is not None:
        write_config(smtp, folder, **defaults)
        environ |= {"SENDER_EMAIL": USERNAME, "SENDER_PASSWORD": PASSWORD}
    else:
        _write_outbox_config(folder, **defaults)
    return load_settings(folder, env_file=folder / "absent.env", environ=environ)


def _write_outbox_config(folder: Path, **config: Any) -> None:
    import json
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    config.setdefault("outbox_dir", str(folder / "outbox"))
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    shipped = Path(__file__).resolve().parent.parent / "config" / "email_template.json"
    shutil.copyfile(shipped, folder / "email_template.json")


@contextlib.asynccontextmanager
async def start_desk(
    standin: DiscordStandIn,
    smtp: SmtpTestServer | None,
    folder: Path,
    *,
    timer: Callable[[], float] = time.monotonic,
    **config: Any,
) -> AsyncIterator[Desk]:
    """Run orderbot until the block ends, then stop it as SIGTERM would."""
    settings = desk_settings(standin, smtp, folder, **config)
    previous_base = Route.BASE
    service = Service(settings, timer=timer)

    async def identify_now(shard_id: int | None, *, initial: bool = False) -> None:
        return None

    # nextcord waits 5 s before every IDENTIFY but the first (Discord's identify rate);
    # the stand-in has no such limit, and re-IDENTIFY tests should not crawl.
    service.bot.before_identify_hook = identify_now  # type: ignore[method-assign]
    task = asyncio.create_task(service.serve(handle_signals=False))
    desk = Desk(standin, smtp, service, settings, task)
    try:
        await _wait_started(desk)
        yield desk
    finally:
        if not task.done():
            service.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)
        await service.bot.http.close()
        Route.BASE = previous_base


async def _wait_started(desk: Desk) -> None:
    shards = desk.settings.shard_ids or range(desk.settings.shard_count or 1)
    ready = asyncio.ensure_future(desk.standin.wait_ready(len(shards), timeout=10))
    done, _ = await asyncio.wait({ready, desk.task}, return_when=asyncio.FIRST_COMPLETED)
    if desk.task in done:
        ready.cancel()
        raise RuntimeError(f"orderbot stopped during start-up with code {desk.task.result()}")
    ready.result()
    scope = desk.settings.dev_guild_id
    await desk.standin.wait_commands_synced(ORDER_COMMANDS, guild=scope, timeout=10)
