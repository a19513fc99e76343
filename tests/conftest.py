"""Shared fixtures: a copy of the shipped configuration, a fake clock, tracked tasks."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from orderbot.config import Settings, load_settings
from orderbot.tasks import BackgroundTasks
from tests.desk import Desk, start_desk
from tests.smtp_server import SmtpTestServer
from tests.standin import DiscordStandIn

REPO = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = REPO / "config"
TEST_TOKEN = "MTEyMzQ1Njc4OTAxMjM0NTY3OA.GhIjKl.test-token-that-is-not-real-0123456789"

pytest_plugins = ["tests.standin.fixtures", "tests.smtp_fixtures"]


class FakeClock:
    """A monotonic clock that only moves when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A writable copy of the shipped config folder."""
    target = tmp_path / "config"
    shutil.copytree(SHIPPED_CONFIG, target)
    return target


@pytest.fixture
def environ() -> dict[str, str]:
    return {"DISCORD_BOT_TOKEN": TEST_TOKEN}


@pytest.fixture
def settings(config_dir: Path, environ: dict[str, str], tmp_path: Path) -> Settings:
    return load_settings(config_dir, env_file=tmp_path / "no.env", environ=environ)


@pytest.fixture
async def tasks() -> AsyncIterator[BackgroundTasks]:
    background = BackgroundTasks()
    yield background
    await background.cancel_all()


StartDesk = Callable[..., AbstractAsyncContextManager[Desk]]


@pytest.fixture
def plain_desk(standin: DiscordStandIn, plain_server: SmtpTestServer, tmp_path: Path) -> StartDesk:
    """Start orderbot against the stand-in and the plain SMTP server, with config changes."""

    def start(**config: Any) -> AbstractAsyncContextManager[Desk]:
        return start_desk(standin, plain_server, tmp_path / "desk", smtp_security="none", **config)

    return start


@pytest.fixture
async def desk(plain_desk: StartDesk) -> AsyncIterator[Desk]:
    """orderbot running against the stand-in and a plain SMTP server with AUTH."""
    async with plain_desk() as running:
        yield running
