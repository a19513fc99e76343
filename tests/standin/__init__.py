"""A wire-level Discord stand-in: REST v10 and gateway for a real nextcord client, plus a driver.

The core needs only aiohttp, so a benchmark can drive it from plain asyncio; ``runner``
connects a nextcord client and ``fixtures`` holds the pytest fixtures::

    async with DiscordStandIn() as standin:
        async with run_client(standin, build_my_bot()):
            await standin.wait_commands_synced(["ping"])
            handle = await standin.slash("ping")
            callback = await handle.response()
            print(callback.content, handle.latency_ns)

For a bot in another process, start the stand-in (and act as users) in the benchmark's
process and give the bot ``standin.base_url`` and ``standin.token``.
"""

from .components import ButtonSpec, ModalSpec, TextInputSpec
from .driver import DiscordStandIn
from .faults import Fault
from .gateway import GatewayEvent, GatewaySession, NoGatewaySession
from .interactions import InteractionCallback, InteractionHandle
from .model import ChannelState, CommandRecord, FakeUser, GuildState, MessageRecord, RoleState
from .permissions import Permission
from .server import RequestRecord

__all__ = [
    "ButtonSpec",
    "ChannelState",
    "CommandRecord",
    "DiscordStandIn",
    "FakeUser",
    "Fault",
    "GatewayEvent",
    "GatewaySession",
    "GuildState",
    "InteractionCallback",
    "InteractionHandle",
    "MessageRecord",
    "ModalSpec",
    "NoGatewaySession",
    "Permission",
    "RequestRecord",
    "RoleState",
    "TextInputSpec",
]
