"""The Discord client: connection, command sync, interaction routing and the error boundary."""

from __future__ import annotations

import logging
import sys
from typing import Any

import nextcord
from nextcord import Interaction, InteractionType
from nextcord.ext import commands

from orderbot import messages
from orderbot.boundary import answer_failure, send_ephemeral
from orderbot.config import Settings
from orderbot.diagnostics import Diagnostics
from orderbot.orders import OrderService
from orderbot.tasks import BackgroundTasks
from orderbot.views.flow import OrderFlow

log = logging.getLogger(__name__)

_ROUTED_TYPES = (InteractionType.component, InteractionType.modal_submit)


def intents() -> nextcord.Intents:
    """Return the gateway intents: servers and channels only, nothing privileged.

    No members intent (about 2 KB of cache per member) and no message events: the
    bot works through interactions alone.
    """
    return nextcord.Intents(guilds=True)


class OrderBot(commands.AutoShardedBot):
    """orderbot's Discord client; everything it uses is handed to it here.

    Slash commands come from the extensions; buttons and forms are routed by their
    custom_id to the order flow, never through View or Modal objects.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        service: OrderService,
        diagnostics: Diagnostics,
        tasks: BackgroundTasks,
    ) -> None:
        dev_guild = [settings.dev_guild_id] if settings.dev_guild_id else None
        # The bot has no voice features; without this, every start logs a warning that
        # PyNaCl (voice encryption) is missing, which operators would chase for nothing.
        nextcord.VoiceClient.warn_nacl = False
        super().__init__(
            intents=intents(),
            shard_count=settings.shard_count,
            shard_ids=list(settings.shard_ids) if settings.shard_ids else None,
            default_guild_ids=dev_guild,
            # Customer text ends up in channel posts: it must never ping anyone.
            allowed_mentions=nextcord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
            help_command=None,
        )
        self.service = service
        self.diagnostics = diagnostics
        self.tasks = tasks
        self.flow = OrderFlow(service=service, tasks=tasks, channels=self)
        self.accepting = True
        self.load_extension("orderbot.cogs.staff", extras={"diagnostics": diagnostics})
        self.load_extension("orderbot.cogs.orders", extras={"flow": self.flow})

    async def on_ready(self) -> None:
        log.info(
            "Connected to Discord as %s (%s), in %d servers",
            self.user,
            self.user.id if self.user else "?",
            len(self.guilds),
        )

    async def on_interaction(self, interaction: Interaction[Any]) -> None:
        """Route buttons and forms ourselves; leave slash commands to nextcord.

        This overrides Client.on_interaction in a subclass and calls it for commands,
        so application commands keep working (replacing it with @bot.event would not).
        """
        if not self.accepting:
            await send_ephemeral(interaction, messages.SHUTTING_DOWN)
            return
        if interaction.type not in _ROUTED_TYPES:
            await super().on_interaction(interaction)
            return
        try:
            if not await self.flow.dispatch(interaction):
                await send_ephemeral(interaction, messages.ORDER_EXPIRED)
        except Exception as exc:
            await answer_failure(interaction, exc)

    async def on_application_command_error(
        self,
        interaction: Interaction[Any],
        exception: nextcord.ApplicationError,
    ) -> None:
        await answer_failure(interaction, exception)

    async def on_error(self, event_method: str, *args: Any, **kwargs: Any) -> None:
        # nextcord calls this from inside its except block, so the traceback is current.
        log.error("Unhandled error in event %s", event_method, exc_info=sys.exc_info())
