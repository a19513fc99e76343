"""`python -m orderbot` run exactly as an operator runs it, against the Discord stand-in."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import REPO, SHIPPED_CONFIG
from tests.desk import ORDER_COMMANDS, button_id
from tests.samples import STEP_VALUES
from tests.standin import DiscordStandIn

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| [A-Z]+ \| [\w.]+ \| .+")


class BotProcess:
    """The bot in a child process, with its stderr collected line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            self._changed.set()

    async def wait_for_line(self, fragment: str, timeout: float = 10) -> str:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                for line in self.lines:
                    if fragment in line:
                        return line
                self._changed.clear()
                await self._changed.wait()

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), 30)
        await self._reader
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "email_template.json").write_bytes(
        (SHIPPED_CONFIG / "email_template.json").read_bytes()
    )
    (config / "config.json").write_text(
        json.dumps({"shop_name": "Process Shop", "order_cooldown_seconds": 0})
    )
    return tmp_path


@pytest.fixture
async def bot_process(standin: DiscordStandIn, workdir: Path) -> AsyncIterator[BotProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENDER_", "DISCORD_"))}
    env |= {
        "PYTHONPATH": str(REPO),
        "DISCORD_BOT_TOKEN": standin.token,
        "DISCORD_API_BASE_URL": standin.base_url,
        "ORDERBOT_CONFIG_DIR": str(workdir / "config"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "orderbot",
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    bot = BotProcess(process)
    try:
        await standin.wait_ready(timeout=20)
        await standin.wait_commands_synced(ORDER_COMMANDS, timeout=20)
        yield bot
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_process_serves_ping_and_exits_zero_on_sigterm(
    standin: DiscordStandIn, bot_process: BotProcess
) -> None:
    callback = await (await standin.slash("ping")).response()

    assert re.match(r"^Pong! Latency: \d+ms$", callback.content or "")
    assert await bot_process.stop() == 0
    assert "Stopped" in bot_process.output
    assert standin.token not in bot_process.output
    assert all(LOG_LINE.match(line) for line in bot_process.lines), bot_process.output


async def test_process_writes_the_confirmation_to_the_outbox(
    standin: DiscordStandIn, bot_process: BotProcess, workdir: Path
) -> None:
    user = standin.customer
    opened = await (
        await standin.slash("order_form", {"email": "buyer@example.com"}, user=user)
    ).response()
    labels = {1: "Continue to Step 2", 2: "Continue to Final Step"}
    for step in (1, 2, 3):
        reply = await (
            await standin.submit_modal(opened.modal().custom_id, STEP_VALUES[step], user=user)
        ).response()
        if step < 3:
            opened = await (
                await standin.click(button_id(reply, labels[step]), user=user)
            ).response()
    await (await standin.click(button_id(reply, "Submit Order"), user=user)).response()

    line = await bot_process.wait_for_line(".eml")
    assert await bot_process.stop() == 0

    [eml] = (workdir / "outbox").glob("*.eml")
    assert "buyer@example.com" in eml.read_text()
    assert "Process Shop" in eml.read_text()
    assert "buyer@example.com" not in line, "the log must mask the recipient"


async def test_process_sighup_reloads_and_keeps_a_good_config(
    standin: DiscordStandIn, bot_process: BotProcess, workdir: Path
) -> None:
    config = workdir / "config" / "config.json"
    config.write_text(json.dumps({"shop_name": "Renamed Shop"}))
    bot_process.process.send_signal(signal.SIGHUP)
    await bot_process.wait_for_line("Configuration reloaded")

    config.write_text(json.dumps({"smtp_port": "not a port"}))
    bot_process.process.send_signal(signal.SIGHUP)
    refused = await bot_process.wait_for_line("Reload refused")
    callback = await (await standin.slash("ping")).response()

    assert "smtp_port" in refused
    assert callback.content and callback.content.startswith("Pong!")
    assert await bot_process.stop() == 0


async def test_process_wrong_token_exits_one_without_echoing_it(
    standin: DiscordStandIn, workdir: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENDER_", "DISCORD_"))}
    wrong = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.AbCdEf.wrong-token-wrong-token-wrong-1234"
    env |= {
        "PYTHONPATH": str(REPO),
        "DISCORD_BOT_TOKEN": wrong,
        "DISCORD_API_BASE_URL": standin.base_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "orderbot",
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == 1
    assert "Discord refused DISCORD_BOT_TOKEN" in stderr.decode()
    assert wrong not in stderr.decode()
