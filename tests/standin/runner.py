"""Connect a real nextcord client to a DiscordStandIn, from pytest or a plain asyncio script."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import nextcord
from nextcord.http import _USER_AGENT, Route

from .driver import DiscordStandIn

__all__ = ["BotRunner", "expected_shards", "run_client", "use_ws_timeout_object"]

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 10.0
SETTLE_TIMEOUT_S = 1.0
"""How long stop() lets a closed client's event handlers run before cancelling them."""
_EVENT_TASKS = ("nextcord: ", "discord-ui-view-dispatch-", "discord-ui-modal-dispatch-")
"""Name prefixes of the tasks nextcord creates per event and per component/modal dispatch."""
GATEWAY_CLOSE_TIMEOUT_S = 30.0
"""The close timeout nextcord 3.2 passes to ``ws_connect``."""


def expected_shards(client: nextcord.Client) -> int:
    """Return how many gateway sessions the client opens once connected."""
    shard_ids = getattr(client, "shard_ids", None)
    if shard_ids:
        return len(shard_ids)
    if isinstance(client, nextcord.AutoShardedClient):
        return client.shard_count or 1
    return 1


def use_ws_timeout_object(client: nextcord.Client) -> None:
    """Make the client open its gateway socket with a ClientWSTimeout instead of a float.

    nextcord 3.2 passes ``timeout=30.0`` to aiohttp's ``ws_connect``; aiohttp 3.14 deprecates
    the float with a DeprecationWarning, which the test suite's ``filterwarnings = error``
    turns into a failed connect. The replacement sends the same options with the
    equivalent ClientWSTimeout(ws_close=30.0).
    TODO(nextcord>3.2): drop this once nextcord passes a ClientWSTimeout itself.
    """
    http = client.http

    async def ws_connect(url: str, *, compress: int = 0) -> Any:
        # nextcord keeps its session under a name-mangled attribute and reads it the same way.
        session: aiohttp.ClientSession = http._HTTPClient__session  # type: ignore[attr-defined]
        return await session.ws_connect(
            url,
            proxy=http._proxy,
            proxy_auth=http._proxy_auth,
            max_msg_size=0,
            timeout=aiohttp.ClientWSTimeout(ws_close=GATEWAY_CLOSE_TIMEOUT_S),
            autoclose=False,
            headers={"User-Agent": _USER_AGENT},
            compress=compress,
        )

    http.ws_connect = ws_connect  # type: ignore[method-assign]


class BotRunner:
    """Run ``client.start(token)`` against a stand-in, and stop it cleanly.

    Starting points ``nextcord.http.Route.BASE`` at the stand-in (restored on stop), makes the
    client pass aiohttp a ClientWSTimeout (see use_ws_timeout_object) and, with
    fast_identify, replaces the instance's ``before_identify_hook``: nextcord's default sleeps
    5 s before every IDENTIFY but the first, which would make re-identify and multi-shard
    tests crawl. The client must have been built inside the running event loop.
    """

    def __init__(
        self, standin: DiscordStandIn, client: nextcord.Client, *, fast_identify: bool = True
    ) -> None:
        self.standin = standin
        self.client = client
        self.task: asyncio.Task[None] | None = None
        self._fast_identify = fast_identify
        self._previous_base: str | None = None

    async def start(
        self,
        *,
        wait_ready: bool = True,
        wait_client_ready: bool = False,
        timeout: float = 10.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> None:
        """Start the client and wait until its sessions got READY (and its on_ready fired)."""
        self._previous_base = Route.BASE
        Route.BASE = self.standin.base_url
        if self._fast_identify:

            async def identify_now(shard_id: int | None, *, initial: bool = False) -> None:
                return None

            # The instance attribute shadows the method nextcord's hook dispatcher calls.
            self.client.before_identify_hook = identify_now  # type: ignore[method-assign]
        use_ws_timeout_object(self.client)
        # Sessions of clients started earlier count too, so wait for this client's on top.
        # (Clients started concurrently could satisfy each other's wait; start them in turn.)
        connected = sum(1 for session in self.standin.sessions if session.connected)
        target = connected + expected_shards(self.client)
        self.task = asyncio.get_running_loop().create_task(
            self.client.start(self.standin.token), name="standin-client"
        )
        if wait_ready:
            await self._race(self.standin.wait_ready(target, timeout))
        if wait_client_ready:
            await self._race(asyncio.wait_for(self.client.wait_until_ready(), timeout))

    async def _race(self, waiter: Any) -> None:
        """Await ``waiter``, but fail at once if the client task dies first."""
        assert self.task is not None
        wait_task = asyncio.ensure_future(waiter)
        done, _ = await asyncio.wait({wait_task, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if wait_task in done:
            wait_task.result()
            return
        wait_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await wait_task
        self.task.result()
        raise RuntimeError("the client stopped before it was ready")

    async def stop(self) -> None:
        """Close the client, let its event tasks finish and restore ``Route.BASE``."""
        try:
            if not self.client.is_closed():
                await self.client.close()
            if self.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(self.task, CLOSE_TIMEOUT_S)
            await _settle_event_tasks()
            # nextcord reopens its HTTP session for any request made after close()
            # (HTTPClient.recreate), say by a command sync that was still running; closing
            # again keeps that session from leaking into the next test as a ResourceWarning.
            await self.client.http.close()
        finally:
            if self._previous_base is not None:
                Route.BASE = self._previous_base
                self._previous_base = None


async def _settle_event_tasks() -> None:
    """Wait briefly for nextcord's event and UI dispatch tasks, then cancel what is left."""
    current = asyncio.current_task()
    pending = [
        task
        for task in asyncio.all_tasks()
        if task is not current and not task.done() and task.get_name().startswith(_EVENT_TASKS)
    ]
    if not pending:
        return
    _, unfinished = await asyncio.wait(pending, timeout=SETTLE_TIMEOUT_S)
    for task in unfinished:
        task.cancel()
    await asyncio.gather(*unfinished, return_exceptions=True)


@contextlib.asynccontextmanager
async def run_client[ClientT: nextcord.Client](
    standin: DiscordStandIn,
    client: ClientT,
    *,
    fast_identify: bool = True,
    wait_client_ready: bool = False,
    timeout: float = 10.0,  # noqa: ASYNC109 - see Notifier.wait
) -> AsyncIterator[ClientT]:
    """Run a nextcord client against the stand-in for the duration of the block."""
    runner = BotRunner(standin, client, fast_identify=fast_identify)
    try:
        await runner.start(wait_client_ready=wait_client_ready, timeout=timeout)
        yield client
    finally:
        await runner.stop()
