"""pytest fixtures for the Discord stand-in; load with ``pytest_plugins``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import nextcord
import pytest

from .driver import DiscordStandIn
from .runner import BotRunner

__all__ = ["connect_bot", "pytest_configure", "standin"]

ConnectBot = Callable[..., Awaitable[Any]]

OPTIONS_MARKER = "standin_options"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that passes options to the stand-in fixture."""
    config.addinivalue_line(
        "markers",
        f"{OPTIONS_MARKER}(**options): keyword arguments for DiscordStandIn in the standin "
        "fixture, e.g. ack_deadline_s=None or zlib_stream=True",
    )


@pytest.fixture
async def standin(request: pytest.FixtureRequest) -> AsyncIterator[DiscordStandIn]:
    """Yield a started stand-in on 127.0.0.1; fail the test if unmodelled traffic was seen.

    Options come from ``@pytest.mark.standin_options(...)`` on the test.
    """
    marker = request.node.get_closest_marker(OPTIONS_MARKER)
    server = DiscordStandIn(**(marker.kwargs if marker is not None else {}))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    report = server.unexpected_report()
    if report:
        pytest.fail(f"traffic the Discord stand-in does not model (or a stand-in error):\n{report}")


@pytest.fixture
async def connect_bot(standin: DiscordStandIn) -> AsyncIterator[ConnectBot]:
    """Yield ``await connect_bot(client, **options)``, which runs a client until teardown.

    Options are fast_identify plus those of BotRunner.start (wait_client_ready, timeout).
    Build the client inside the test or an async fixture, so it binds to the running loop;
    connect several clients one after the other, not concurrently.
    """
    runners: list[BotRunner] = []

    async def connect(
        client: nextcord.Client, *, fast_identify: bool = True, **options: Any
    ) -> nextcord.Client:
        runner = BotRunner(standin, client, fast_identify=fast_identify)
        runners.append(runner)
        await runner.start(**options)
        return client

    yield connect
    for runner in reversed(runners):
        await runner.stop()
