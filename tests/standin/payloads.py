"""Build the JSON objects Discord sends: users, members, guilds, channels, messages, READY."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import ChannelState, FakeUser, GuildState, MemberState, MessageRecord, RoleState

__all__ = [
    "ATTACHMENT_SIZE_LIMIT_BYTES",
    "GUILD_MEMBERS_IN_CREATE",
    "application_payload",
    "channel_payload",
    "current_user_payload",
    "guild_create_payload",
    "guild_payload",
    "iso_now",
    "member_payload",
    "message_payload",
    "role_payload",
    "user_payload",
]

GUILD_MEMBERS_IN_CREATE = 25
"""GUILD_CREATE carries a handful of members (the bot first), not the whole member list."""

ATTACHMENT_SIZE_LIMIT_BYTES = 10 * 1024 * 1024


def iso_now() -> str:
    """Return the current time as Discord's ISO 8601 timestamp."""
    return datetime.now(UTC).isoformat()


def user_payload(user: FakeUser) -> dict[str, Any]:
    """Return a user object (the partial form Discord embeds in members and messages)."""
    payload: dict[str, Any] = {
        "id": str(user.id),
        "username": user.name,
        "global_name": user.global_name,
        "discriminator": "0",
        "avatar": None,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
    }
    if user.bot:
        payload["bot"] = True
    return payload


def current_user_payload(user: FakeUser) -> dict[str, Any]:
    """Return the user object of ``GET /users/@me`` and READY, with the private fields."""
    payload = user_payload(user)
    payload.update(verified=True, mfa_enabled=True, locale=user.locale, email=None)
    return payload


def role_payload(role: RoleState) -> dict[str, Any]:
    """Return a role object."""
    payload: dict[str, Any] = {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": role.position,
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": role.hoist,
        "managed": role.managed,
        "mentionable": role.mentionable,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if role.bot_id is not None:
        payload["tags"] = {"bot_id": str(role.bot_id)}
    return payload


def member_payload(member: MemberState, *, permissions: int | None = None) -> dict[str, Any]:
    """Return a guild member object; interactions add the member's channel permissions."""
    payload: dict[str, Any] = {
        "user": user_payload(member.user),
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "roles": [str(role_id) for role_id in member.role_ids],
        "joined_at": member.joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
        "unusual_dm_activity_until": None,
    }
    if permissions is not None:
        payload["permissions"] = str(permissions)
    return payload


def channel_payload(channel: ChannelState) -> dict[str, Any]:
    """Return a channel object: a guild text channel or a DM."""
    last_message_id = str(channel.messages[-1].id) if channel.messages else None
    if channel.is_dm:
        recipients = [user_payload(channel.recipient)] if channel.recipient is not None else []
        return {
            "id": str(channel.id),
            "type": channel.type,
            "last_message_id": last_message_id,
            "recipients": recipients,
            "flags": 0,
        }
    return {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": [overwrite.payload() for overwrite in channel.overwrites.values()],
        "topic": channel.topic,
        "nsfw": False,
        "parent_id": str(channel.parent_id) if channel.parent_id is not None else None,
        "rate_limit_per_user": 0,
        "last_message_id": last_message_id,
        "flags": 0,
    }


def _guild_fields(guild: GuildState) -> dict[str, Any]:
    """Return the fields shared by GUILD_CREATE and ``GET /guilds/{id}``."""
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(guild.owner_id),
        "region": None,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "roles": [role_payload(role) for role in guild.roles.values()],
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": guild.preferred_locale,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
    }


def guild_create_payload(guild: GuildState, *, bot: FakeUser) -> dict[str, Any]:
    """Return the GUILD_CREATE event data for a guild that is available."""
    members = [guild.members[bot.id]] if bot.id in guild.members else []
    for member in guild.members.values():
        if len(members) >= GUILD_MEMBERS_IN_CREATE:
            break
        if member.user is not bot:
            members.append(member)
    payload = _guild_fields(guild)
    payload.update(
        joined_at=guild.members[bot.id].joined_at if bot.id in guild.members else iso_now(),
        large=len(guild.members) >= 250,
        unavailable=False,
        member_count=len(guild.members),
        voice_states=[],
        members=[member_payload(member) for member in members],
        channels=[channel_payload(channel) for channel in guild.channels.values()],
        threads=[],
        presences=[],
        stage_instances=[],
        guild_scheduled_events=[],
        soundboard_sounds=[],
    )
    return payload


def guild_payload(guild: GuildState, *, with_counts: bool) -> dict[str, Any]:
    """Return the guild object of ``GET /guilds/{id}``."""
    payload = _guild_fields(guild)
    if with_counts:
        payload["approximate_member_count"] = len(guild.members)
        payload["approximate_presence_count"] = 0
    return payload


def message_payload(message: MessageRecord) -> dict[str, Any]:
    """Return a message object."""
    payload: dict[str, Any] = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "type": message.type,
        "author": user_payload(message.author),
        "content": message.content,
        "timestamp": message.timestamp,
        "edited_timestamp": message.edited_timestamp,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": message.attachments,
        "embeds": message.embeds,
        "components": message.components,
        "pinned": False,
        "flags": message.flags,
    }
    if message.guild_id is not None:
        payload["guild_id"] = str(message.guild_id)
    if message.webhook_id is not None:
        payload["webhook_id"] = str(message.webhook_id)
        payload["application_id"] = str(message.webhook_id)
    if message.interaction_metadata is not None:
        payload["interaction_metadata"] = message.interaction_metadata
    return payload


def application_payload(application_id: int, bot: FakeUser, owner: FakeUser) -> dict[str, Any]:
    """Return the application object of ``GET /oauth2/applications/@me``."""
    return {
        "id": str(application_id),
        "name": bot.name,
        "icon": None,
        "description": "Discord stand-in application",
        "rpc_origins": [],
        "bot_public": False,
        "bot_require_code_grant": False,
        "bot": user_payload(bot),
        "owner": user_payload(owner),
        "team": None,
        "verify_key": "0" * 64,
        "flags": 0,
        "terms_of_service_url": None,
        "privacy_policy_url": None,
        "integration_types_config": {"0": {}},
    }
