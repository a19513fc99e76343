"""Staff commands: /ping for everyone, /run_diagnostics for Manage Server."""

from __future__ import annotations

import math
from typing import Any

import nextcord
from nextcord import Interaction
from nextcord.ext import application_checks, commands

from orderbot import messages
from orderbot.boundary import StaffOnly
from orderbot.diagnostics import Diagnostics, format_uptime

GUILD_ONLY = [nextcord.InteractionContextType.guild]
STAFF_PERMISSIONS = nextcord.Permissions(manage_guild=True)


def _is_staff(interaction: Interaction[Any]) -> bool:
    # Discord hides the command from others by default, but server admins can change
    # who sees it; the permissions in the interaction are Discord's own word.
    permissions = interaction.permissions
    if permissions.administrator or permissions.manage_guild:
        return True
    raise StaffOnly()


class StaffCommands(commands.Cog):
    """Health checks for the people who run the server."""

    def __init__(self, bot: commands.AutoShardedBot, diagnostics: Diagnostics) -> None:
        self.bot = bot
        self.diagnostics = diagnostics

    def _latency_ms(self) -> int:
        latency = self.bot.latency
        return round(latency * 1000) if math.isfinite(latency) else 0

    @nextcord.slash_command(name="ping", description=messages.PING_DESCRIPTION, contexts=GUILD_ONLY)
    async def ping(self, interaction: Interaction[Any]) -> None:
        """Answer with the gateway latency."""
        await interaction.response.send_message(messages.ping(self._latency_ms()))

    @nextcord.slash_command(
        name="run_diagnostics",
        description=messages.DIAGNOSTICS_DESCRIPTION,
        default_member_permissions=STAFF_PERMISSIONS,
        contexts=GUILD_ONLY,
    )
    @application_checks.check(_is_staff)
    async def run_diagnostics(self, interaction: Interaction[Any]) -> None:
        """Report the bot's health to staff, privately."""
        smtp = await self.diagnostics.smtp_login()
        settings = self.diagnostics.service.settings
        emails = self.diagnostics.emails
        members = sum(guild.member_count or 0 for guild in self.bot.guilds)
        rows = [
            ("Latency", f"{self._latency_ms()}ms"),
            ("Uptime", format_uptime(self.diagnostics.uptime_seconds())),
            ("Servers", f"{len(self.bot.guilds):,}"),
            ("Users", f"about {members:,}"),
            ("Live orders", f"{len(self.diagnostics.service.sessions):,}"),
            ("Emails since start", f"{emails.sent:,} sent, {emails.failed:,} failed"),
            ("SMTP", messages.smtp_state(smtp)),
            ("Summary channel", self._channel_state(settings.summary_channel_id, True)),
            ("Staff channel", self._channel_state(settings.staff_channel_id, False)),
        ]
        await interaction.response.send_message(messages.diagnostics(rows), ephemeral=True)

    def _channel_state(self, channel_id: int | None, falls_back: bool) -> str:
        if channel_id is None:
            return messages.CHANNEL_DEFAULT if falls_back else messages.CHANNEL_NOT_SET
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, nextcord.abc.GuildChannel):
            return messages.channel_missing(channel_id)
        permissions = channel.permissions_for(channel.guild.me)
        if permissions.view_channel and permissions.send_messages:
            return messages.channel_ok(channel.mention)
        return messages.channel_blocked(channel.mention)


def setup(bot: commands.AutoShardedBot, *, diagnostics: Diagnostics) -> None:
    """Add the staff commands to the bot."""
    bot.add_cog(StaffCommands(bot, diagnostics))
