"""One error boundary for every interaction: precise answers, or a logged apology."""

from __future__ import annotations

import logging
from typing import Any

import nextcord
from nextcord import ApplicationCheckFailure, Interaction

from orderbot import messages
from orderbot.errors import UserFacingError

log = logging.getLogger(__name__)


class StaffOnly(UserFacingError, ApplicationCheckFailure):
    """Raised by the staff check when the member lacks Manage Server and Administrator."""

    def __init__(self) -> None:
        super().__init__(messages.STAFF_ONLY)


def _unwrap(error: BaseException) -> BaseException:
    # nextcord wraps what a command raised in ApplicationInvokeError.original.
    while isinstance(error, nextcord.ApplicationInvokeError):
        error = error.original
    return error


def _describe(interaction: Interaction[Any]) -> str:
    data: dict[str, Any] = dict(interaction.data or {})
    target = data.get("name") or data.get("custom_id") or "?"
    user = interaction.user.id if interaction.user else "?"
    return (
        f"interaction {interaction.id} ({target}) from user {user} in server {interaction.guild_id}"
    )


async def answer_failure(interaction: Interaction[Any], error: BaseException) -> None:
    """Answer an interaction whose handler raised, and log what was not expected."""
    error = _unwrap(error)
    if isinstance(error, UserFacingError):
        log.debug("Refused %s: %s", _describe(interaction), type(error).__name__)
        content = error.message
    else:
        log.error("Unhandled error in %s", _describe(interaction), exc_info=error)
        content = messages.GENERIC_ERROR
    await send_ephemeral(interaction, content)


async def send_ephemeral(interaction: Interaction[Any], content: str) -> None:
    """Answer with an ephemeral message, as a follow-up if the interaction was answered."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True)
        else:
            await interaction.response.send_message(content, ephemeral=True)
    except nextcord.HTTPException as exc:
        # The token may have expired (15 minutes) or Discord may be failing; there
        # is no one left to tell but the log.
        log.warning("Could not answer %s: %s %s", _describe(interaction), exc.status, exc.text)
