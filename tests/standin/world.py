"""The state shared by the REST API, the gateway and the driver, with its lookup indexes."""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .components import ModalSpec, find_component, iter_components
from .model import (
    CHANNEL_DM,
    CHANNEL_TEXT,
    MESSAGE_FLAG_EPHEMERAL,
    MESSAGE_FLAG_LOADING,
    ChannelState,
    CommandRecord,
    FakeUser,
    GuildState,
    MemberState,
    MessageRecord,
    RoleState,
    UploadedFile,
)
from .payloads import iso_now
from .permissions import (
    BOT_DEFAULT_PERMISSIONS,
    EVERYONE_DEFAULT_PERMISSIONS,
    Overwrite,
    Permission,
    compute_permissions,
)
from .snowflake import SnowflakeFactory
from .waiting import Notifier

if TYPE_CHECKING:
    from .interactions import InteractionHandle

__all__ = ["DM_PERMISSIONS", "World"]

log = logging.getLogger(__name__)

DM_PERMISSIONS = int(
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.ADD_REACTIONS
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.USE_APPLICATION_COMMANDS
)
"""What Discord reports as the bot's (and the user's) permissions in a DM."""

_KEPT_MESSAGE_FLAGS = 1 << 2 | 1 << 6 | 1 << 12 | 1 << 15
"""Flags a bot may set on a new message: suppress embeds, ephemeral, silent, components V2."""

CDN_ATTACHMENTS_URL = "https://cdn.discordapp.com/attachments"


class World:
    """Users, guilds, channels, messages, commands and interactions, indexed for O(1) lookups."""

    def __init__(self, *, token: str, bot_name: str, guild_name: str) -> None:
        self.ids = SnowflakeFactory()
        self.token = token
        self.application_id = self.ids.static()
        self.bot = FakeUser(id=self.application_id, name=bot_name, bot=True)
        self.owner = FakeUser(id=self.ids.static(), name="owner", global_name="Guild Owner")
        self.users: dict[int, FakeUser] = {self.bot.id: self.bot, self.owner.id: self.owner}
        self.guilds: dict[int, GuildState] = {}
        self.channels: dict[int, ChannelState] = {}
        self.dm_channels: dict[int, ChannelState] = {}
        self.messages: dict[int, MessageRecord] = {}
        self.interactions: dict[int, InteractionHandle] = {}
        self.interactions_by_token: dict[str, InteractionHandle] = {}
        self.commands_by_id: dict[int, CommandRecord] = {}
        self.global_commands: dict[tuple[int, str], CommandRecord] = {}
        self.guild_commands: dict[int, dict[tuple[int, str], CommandRecord]] = {}
        self.open_modals: dict[tuple[int, str], tuple[ModalSpec, InteractionHandle]] = {}
        self.commands_changed = Notifier()
        self._channel_notifiers: dict[int, Notifier] = {}
        self._component_index: dict[tuple[int | None, str], MessageRecord] = {}
        self._permission_cache: dict[tuple[int, int], int] = {}
        self.default_guild = self.add_guild(guild_name)

    # Guilds, roles, channels and users.

    def add_guild(self, name: str, *, channels: Iterable[str] = ("general",)) -> GuildState:
        """Create a guild with @everyone, the bot's managed role, Admin and Manager roles."""
        guild = GuildState(id=self.ids.static(), name=name, owner_id=self.owner.id)
        self.guilds[guild.id] = guild
        guild.roles[guild.id] = RoleState(guild.id, "@everyone", EVERYONE_DEFAULT_PERMISSIONS)
        bot_role = self.add_role(guild, self.bot.name, BOT_DEFAULT_PERMISSIONS, managed=True)
        bot_role.bot_id = self.bot.id
        guild.bot_role_id = bot_role.id
        self.add_role(guild, "Admin", int(Permission.ADMINISTRATOR))
        self.add_role(guild, "Manager", int(Permission.MANAGE_GUILD))
        self.add_member(guild, self.owner)
        self.add_member(guild, self.bot, role_ids=[bot_role.id])
        for channel_name in channels:
            self.add_channel(guild, channel_name)
        return guild

    def add_role(
        self, guild: GuildState, name: str, permissions: int, *, managed: bool = False
    ) -> RoleState:
        """Create a role in a guild, above the existing ones."""
        role = RoleState(
            id=self.ids.static(),
            name=name,
            permissions=int(permissions),
            position=len(guild.roles),
            managed=managed,
        )
        guild.roles[role.id] = role
        self._permission_cache.clear()
        return role

    def role_with_permissions(self, guild: GuildState, permissions: int) -> tuple[RoleState, bool]:
        """Return a role granting exactly these permissions, creating it if needed.

        The second item says whether the role is new.
        """
        for role in guild.roles.values():
            if role.permissions == permissions and not role.managed and role.id != guild.id:
                return role, False
        return self.add_role(guild, f"perm-{permissions:x}", permissions), True

    def add_channel(
        self,
        guild: GuildState,
        name: str,
        *,
        overwrites: Iterable[Overwrite] = (),
        topic: str | None = None,
    ) -> ChannelState:
        """Create a text channel in a guild."""
        channel = ChannelState(
            id=self.ids.static(),
            name=name,
            type=CHANNEL_TEXT,
            guild_id=guild.id,
            position=len(guild.channels),
            topic=topic,
            overwrites={overwrite.id: overwrite for overwrite in overwrites},
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def set_overwrite(self, channel: ChannelState, overwrite: Overwrite) -> None:
        """Add or replace a permission overwrite on a channel."""
        channel.overwrites[overwrite.id] = overwrite
        self._permission_cache.clear()

    def add_user(self, user: FakeUser) -> FakeUser:
        """Register a user so REST lookups and DMs find it."""
        self.users[user.id] = user
        return user

    def add_member(
        self, guild: GuildState, user: FakeUser, *, role_ids: Iterable[int] = ()
    ) -> MemberState:
        """Make a user a member of a guild."""
        self.users.setdefault(user.id, user)
        member = MemberState(
            user=user, guild_id=guild.id, role_ids=list(role_ids), joined_at=iso_now()
        )
        guild.members[user.id] = member
        user.memberships[guild.id] = member
        self._permission_cache.clear()
        return member

    def dm_channel(self, user: FakeUser) -> ChannelState:
        """Return the DM channel between the bot and a user, opening it on first use."""
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = ChannelState(id=self.ids.static(), name="", type=CHANNEL_DM, recipient=user)
            self.dm_channels[user.id] = channel
            self.channels[channel.id] = channel
        return channel

    def channel_by_name(self, name: str, guild: GuildState | None = None) -> ChannelState:
        """Return a guild channel by name (in the default guild unless one is given)."""
        return (guild or self.default_guild).channel(name)

    # Permissions.

    def permissions_in(self, user: FakeUser, channel: ChannelState) -> int:
        """Return a user's permissions in a channel, with overwrites, cached until a change."""
        if channel.guild_id is None:
            return DM_PERMISSIONS
        key = (user.id, channel.id)
        cached = self._permission_cache.get(key)
        if cached is not None:
            return cached
        guild = self.guilds[channel.guild_id]
        member = guild.members.get(user.id)
        value = compute_permissions(
            guild_id=guild.id,
            owner_id=guild.owner_id,
            role_permissions=guild.role_permissions(),
            user_id=user.id,
            role_ids=member.role_ids if member is not None else (),
            overwrites=channel.overwrites,
        )
        self._permission_cache[key] = value
        return value

    def permissions_changed(self) -> None:
        """Forget cached permissions after a role or overwrite was edited in place."""
        self._permission_cache.clear()

    # Messages.

    def channel_notifier(self, channel_id: int) -> Notifier:
        """Return the notifier woken whenever a message is posted in a channel."""
        notifier = self._channel_notifiers.get(channel_id)
        if notifier is None:
            notifier = self._channel_notifiers[channel_id] = Notifier()
        return notifier

    def create_message(
        self,
        channel: ChannelState,
        body: Mapping[str, Any],
        *,
        arrived_ns: int,
        files: list[UploadedFile] | None = None,
        flags: int | None = None,
        message_type: int = 0,
        webhook_id: int | None = None,
        interaction_metadata: dict[str, Any] | None = None,
        visible_to: int | None = None,
    ) -> MessageRecord:
        """Store a message from the bot and wake the channel's waiters if it is visible."""
        message_flags = (
            int(body.get("flags") or 0) & _KEPT_MESSAGE_FLAGS if flags is None else flags
        )
        message = MessageRecord(
            id=self.ids.now(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=self.bot,
            content=str(body.get("content") or ""),
            timestamp=iso_now(),
            created_ns=arrived_ns,
            embeds=list(body.get("embeds") or ()),
            components=list(body.get("components") or ()),
            flags=message_flags,
            type=message_type,
            webhook_id=webhook_id,
            interaction_metadata=interaction_metadata,
            visible_to=visible_to if message_flags & MESSAGE_FLAG_EPHEMERAL else None,
        )
        self._attach_files(message, body, files or [])
        self.messages[message.id] = message
        self._index_components(message)
        if not message.ephemeral:
            channel.messages.append(message)
            notifier = self._channel_notifiers.get(channel.id)
            if notifier is not None:
                notifier.notify()
        return message

    def edit_message(
        self, message: MessageRecord, body: Mapping[str, Any], files: list[UploadedFile] | None
    ) -> MessageRecord:
        """Apply an edit body to a message, the way PATCH on a message does."""
        if "content" in body:
            message.content = str(body["content"] or "")
        if "embeds" in body:
            message.embeds = list(body["embeds"] or ())
        if "components" in body:
            message.components = list(body["components"] or ())
        if "attachments" in body or files:
            self._attach_files(message, body, files or [])
        # Editing a deferred response fills the "thinking" message, which ends the loading state.
        message.flags &= ~MESSAGE_FLAG_LOADING
        message.edited_timestamp = iso_now()
        message.edits.append(dict(body))
        self._index_components(message)
        return message

    def delete_message(self, message: MessageRecord) -> None:
        """Mark a message deleted; it stays in the records for assertions."""
        message.deleted = True

    def history(
        self, channel: ChannelState, *, limit: int, before: int | None, after: int | None
    ) -> list[MessageRecord]:
        """Return up to ``limit`` visible messages, newest first, as channel history does."""
        messages = channel.messages
        # Messages are appended with increasing snowflakes, so ids can be bisected.
        end = len(messages) if before is None else bisect.bisect_left(messages, before, key=_id)
        start = 0 if after is None else bisect.bisect_right(messages, after, key=_id)
        found: list[MessageRecord] = []
        for index in range(end - 1, start - 1, -1):
            if not messages[index].deleted:
                found.append(messages[index])
                if len(found) >= limit:
                    break
        return found

    def _attach_files(
        self, message: MessageRecord, body: Mapping[str, Any], files: list[UploadedFile]
    ) -> None:
        """Turn uploaded files into attachment objects, keeping the attachments the body lists."""
        listed = body.get("attachments")
        if listed is not None:
            keep = {str(item.get("id")) for item in listed}
            message.attachments = [item for item in message.attachments if item["id"] in keep]
        descriptions = {
            str(item.get("id")): item.get("description") for item in listed or () if "id" in item
        }
        for index, upload in enumerate(files):
            attachment_id = self.ids.now()
            message.attachments.append(
                {
                    "id": str(attachment_id),
                    "filename": upload.filename,
                    "description": descriptions.get(str(index)),
                    "content_type": upload.content_type,
                    "size": len(upload.data),
                    "url": f"{CDN_ATTACHMENTS_URL}/{message.channel_id}/{attachment_id}/"
                    f"{upload.filename}",
                    "proxy_url": f"{CDN_ATTACHMENTS_URL}/{message.channel_id}/{attachment_id}/"
                    f"{upload.filename}",
                }
            )
        message.files.extend(files)

    def _index_components(self, message: MessageRecord) -> None:
        """Remember which message carries each custom_id, so a click finds it in O(1)."""
        for component in iter_components(message.components):
            custom_id = component.get("custom_id")
            if custom_id is not None:
                self._component_index[(message.visible_to, custom_id)] = message

    def find_component_message(self, custom_id: str, user_id: int | None) -> MessageRecord | None:
        """Return the newest message with this custom_id that the user can see, or None.

        With no user, any message carrying it will do (a forged click, see click()).
        """
        keys: list[tuple[int | None, str]] = [(user_id, custom_id), (None, custom_id)]
        if user_id is None:
            keys += [key for key in self._component_index if key[1] == custom_id]
        for key in keys:
            message = self._component_index.get(key)
            # The index is not pruned on edits; a stale entry is detected here instead.
            if (
                message is not None
                and not message.deleted
                and find_component(message.components, custom_id) is not None
            ):
                return message
        return None

    # Application commands.

    def command_scope(self, guild_id: int | None) -> dict[tuple[int, str], CommandRecord]:
        """Return the registered commands of a guild, or the global ones for None."""
        if guild_id is None:
            return self.global_commands
        return self.guild_commands.setdefault(guild_id, {})

    def find_command(self, name: str, guild_id: int | None, command_type: int = 1) -> CommandRecord:
        """Return the command a user in this guild would invoke: the guild's first, then global."""
        key = (command_type, name)
        if guild_id is not None:
            found = self.guild_commands.get(guild_id, {}).get(key)
            if found is not None:
                return found
        found = self.global_commands.get(key)
        if found is None:
            known = sorted(
                {record.name for record in self.global_commands.values()}
                | {record.name for record in self.guild_commands.get(guild_id or 0, {}).values()}
            )
            raise LookupError(f"no command {name!r} is registered here; registered: {known}")
        return found

    # Interactions.

    def register_interaction(self, handle: InteractionHandle) -> None:
        """Index an interaction by id and token so callbacks and follow-ups find it."""
        self.interactions[handle.id] = handle
        self.interactions_by_token[handle.token] = handle

    def forget_interaction(self, handle: InteractionHandle) -> None:
        """Drop an interaction that never reached the bot."""
        self.interactions.pop(handle.id, None)
        self.interactions_by_token.pop(handle.token, None)


def _id(message: MessageRecord) -> int:
    return message.id
