"""The stand-in's world: users, guilds, roles, channels, messages and application commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .components import ButtonSpec, buttons_in
from .payloads import member_payload, user_payload
from .permissions import Overwrite

__all__ = [
    "CHANNEL_DM",
    "CHANNEL_TEXT",
    "MESSAGE_FLAG_EPHEMERAL",
    "MESSAGE_FLAG_LOADING",
    "ChannelState",
    "CommandRecord",
    "FakeUser",
    "GuildState",
    "MemberState",
    "MessageRecord",
    "RoleState",
    "UploadedFile",
]

CHANNEL_TEXT = 0
CHANNEL_DM = 1

MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7


@dataclass(slots=True, eq=False)
class FakeUser:
    """A Discord user: the bot itself, or a customer that a test acts as."""

    id: int
    name: str
    global_name: str | None = None
    bot: bool = False
    accepts_dms: bool = True
    """False makes the bot's DMs to this user fail with 403 code 50007, like closed DMs."""
    locale: str = "en-US"
    memberships: dict[int, MemberState] = field(default_factory=dict, repr=False)

    @property
    def mention(self) -> str:
        """Return the mention markup for this user."""
        return f"<@{self.id}>"

    def payload(self) -> dict[str, Any]:
        """Return this user's user object."""
        return user_payload(self)

    def member(self, guild_id: int | None = None) -> MemberState:
        """Return this user's membership in a guild (the first one when no id is given)."""
        if guild_id is None:
            return next(iter(self.memberships.values()))
        return self.memberships[guild_id]

    def member_payload(self, guild_id: int | None = None) -> dict[str, Any]:
        """Return this user's guild member object, as GUILD_CREATE and REST carry it."""
        return member_payload(self.member(guild_id))


@dataclass(slots=True, eq=False)
class MemberState:
    """A user's membership in one guild."""

    user: FakeUser
    guild_id: int
    role_ids: list[int]
    joined_at: str
    nick: str | None = None


@dataclass(slots=True, eq=False)
class RoleState:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None
    color: int = 0
    hoist: bool = False
    mentionable: bool = False


@dataclass(slots=True, eq=False)
class ChannelState:
    """A guild text channel or a DM channel, with the messages posted in it."""

    id: int
    name: str
    type: int = CHANNEL_TEXT
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    recipient: FakeUser | None = None
    messages: list[MessageRecord] = field(default_factory=list, repr=False)
    """Visible messages in the order they were posted; ephemeral ones are kept elsewhere."""

    @property
    def is_dm(self) -> bool:
        """Return whether this is a DM channel."""
        return self.type == CHANNEL_DM


@dataclass(slots=True, eq=False)
class GuildState:
    """A guild the bot is in."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, RoleState] = field(default_factory=dict)
    channels: dict[int, ChannelState] = field(default_factory=dict)
    members: dict[int, MemberState] = field(default_factory=dict, repr=False)
    bot_role_id: int = 0
    preferred_locale: str = "en-US"

    @property
    def everyone(self) -> RoleState:
        """Return the @everyone role."""
        return self.roles[self.id]

    def channel(self, name: str) -> ChannelState:
        """Return the channel with this name."""
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        raise LookupError(f"guild {self.name!r} has no channel named {name!r}")

    def role(self, name: str) -> RoleState:
        """Return the role with this name."""
        for role in self.roles.values():
            if role.name == name:
                return role
        raise LookupError(f"guild {self.name!r} has no role named {name!r}")

    def role_permissions(self) -> dict[int, int]:
        """Return each role's permission bits by role id."""
        return {role.id: role.permissions for role in self.roles.values()}


@dataclass(slots=True, frozen=True)
class UploadedFile:
    """A file the bot attached to a message (multipart upload)."""

    field: str
    filename: str
    content_type: str | None
    data: bytes


@dataclass(slots=True, eq=False)
class MessageRecord:
    """A message the bot created, through a channel post, an interaction or a follow-up."""

    id: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    content: str
    timestamp: str
    created_ns: int
    """time.perf_counter_ns() when the request creating the message arrived."""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    attachments: list[dict[str, Any]] = field(default_factory=list)
    files: list[UploadedFile] = field(default_factory=list, repr=False)
    webhook_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    visible_to: int | None = None
    """The only user who can see (and click) an ephemeral message."""
    edited_timestamp: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """Each edit body applied to the message, in order."""
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """Return whether the message is ephemeral (flag 64)."""
        return bool(self.flags & MESSAGE_FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Return whether this is a deferred response still "thinking" (flag 128)."""
        return bool(self.flags & MESSAGE_FLAG_LOADING)

    def buttons(self) -> list[ButtonSpec]:
        """Return the buttons on the message, in display order."""
        return buttons_in(self.components)

    def button(self, custom_id: str) -> ButtonSpec:
        """Return the button with this custom_id."""
        for button in self.buttons():
            if button.custom_id == custom_id:
                return button
        raise LookupError(f"message {self.id} has no button {custom_id!r}")


@dataclass(slots=True, eq=False)
class CommandRecord:
    """An application command registered by the bot, global or for one guild."""

    id: int
    guild_id: int | None
    name: str
    type: int
    version: int
    payload: dict[str, Any]
    """The command object exactly as the stand-in returns it from the REST API."""

    @property
    def options(self) -> list[dict[str, Any]]:
        """Return the command's top-level options."""
        options: list[dict[str, Any]] = self.payload.get("options") or []
        return options

    def option_names(self) -> list[str]:
        """Return the names of the command's top-level options, in order."""
        return [option["name"] for option in self.options]
