"""The customer's slash commands: /order_form and /order_status."""

from __future__ import annotations

from typing import Any

import nextcord
from nextcord import Interaction, SlashOption
from nextcord.ext import commands

from orderbot import messages
from orderbot.form import MAX_EMAIL_LENGTH
from orderbot.views.flow import OrderFlow

GUILD_ONLY = [nextcord.InteractionContextType.guild]


class OrderCommands(commands.Cog):
    """Start an order and check on it; the flow does the rest."""

    def __init__(self, flow: OrderFlow) -> None:
        self.flow = flow

    @nextcord.slash_command(
        name="order_form",
        description=messages.ORDER_FORM_DESCRIPTION,
        contexts=GUILD_ONLY,
    )
    async def order_form(
        self,
        interaction: Interaction[Any],
        email: str = SlashOption(
            description=messages.ORDER_FORM_EMAIL_DESCRIPTION,
            required=True,
            max_length=MAX_EMAIL_LENGTH,
        ),
    ) -> None:
        """Open the first form of a new order (or offer to resume the open one)."""
        await self.flow.order_form(interaction, email)

    @nextcord.slash_command(
        name="order_status",
        description=messages.ORDER_STATUS_DESCRIPTION,
        contexts=GUILD_ONLY,
    )
    async def order_status(self, interaction: Interaction[Any]) -> None:
        """Show the caller's live order and what comes next."""
        await self.flow.order_status(interaction)


def setup(bot: commands.Bot, *, flow: OrderFlow) -> None:
    """Add the order commands to the bot."""
    bot.add_cog(OrderCommands(flow))
