"""pytest fixtures around tests.smtp_server: real SMTP servers and Settings that use them.

Registered in tests/conftest.py through pytest_plugins, so any test can ask for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orderbot.config import Settings
from tests.smtp_server import SmtpTestServer, settings_for


@pytest.fixture
def smtp_server_factory() -> Iterator[Callable[..., SmtpTestServer]]:
    """Start SmtpTestServers with any options; all are stopped after the test."""
    servers: list[SmtpTestServer] = []

    def start(**options: Any) -> SmtpTestServer:
        server = SmtpTestServer(**options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Callable[..., SmtpTestServer]) -> SmtpTestServer:
    """A STARTTLS server requiring AUTH, as Gmail on port 587."""
    return smtp_server_factory(security="starttls")


@pytest.fixture
def plain_server(smtp_server_factory: Callable[..., SmtpTestServer]) -> SmtpTestServer:
    """A plaintext server with AUTH, which only smtp_security "none" may use."""
    return smtp_server_factory(security="none", auth_require_tls=False)


@pytest.fixture
def smtp_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Build Settings for a server: smtp_settings(server, password=..., **config_json_keys)."""
    made = 0

    def make(server: SmtpTestServer, **options: Any) -> Settings:
        nonlocal made
        made += 1
        return settings_for(server, tmp_path / f"config-{made}", **options)

    return make


@dataclass
class FakeBackoff:
    """An injectable sleep and clock: sleeping records the wait and moves the clock."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def backoff() -> FakeBackoff:
    """Sleep and clock for SmtpMailer, so retries take no real time."""
    return FakeBackoff()
