"""Discord permission bits and the channel permission algorithm, as far as the stand-in needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntFlag

__all__ = [
    "ALL_PERMISSIONS",
    "BOT_DEFAULT_PERMISSIONS",
    "EVERYONE_DEFAULT_PERMISSIONS",
    "OVERWRITE_MEMBER",
    "OVERWRITE_ROLE",
    "Overwrite",
    "Permission",
    "compute_permissions",
]


class Permission(IntFlag):
    """Permission bits from Discord's documentation (topics/permissions)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    SEND_MESSAGES_IN_THREADS = 1 << 38


ALL_PERMISSIONS = (1 << 51) - 1
"""Every bit Discord defines today; what an administrator or the guild owner holds."""

EVERYONE_DEFAULT_PERMISSIONS = int(
    Permission.CREATE_INSTANT_INVITE
    | Permission.ADD_REACTIONS
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.CHANGE_NICKNAME
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.SEND_MESSAGES_IN_THREADS
)
"""Roughly what a new guild grants @everyone."""

BOT_DEFAULT_PERMISSIONS = int(
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.SEND_MESSAGES_IN_THREADS
)
"""What the bot's managed role grants: enough to post in any channel that does not deny it."""

OVERWRITE_ROLE = 0
OVERWRITE_MEMBER = 1


@dataclass(slots=True)
class Overwrite:
    """A channel permission overwrite for one role or one member."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, object]:
        """Return the overwrite as Discord serialises it."""
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


def compute_permissions(
    *,
    guild_id: int,
    owner_id: int,
    role_permissions: Mapping[int, int],
    user_id: int,
    role_ids: Iterable[int],
    overwrites: Mapping[int, Overwrite] | None,
) -> int:
    """Compute a member's permissions, in a channel when its overwrites are given.

    This follows Discord's order: the owner and administrators get everything; otherwise the
    @everyone role (whose id is the guild id) and the member's roles are OR-ed, then the
    channel's @everyone overwrite, the member's role overwrites (denies before allows) and
    finally the member's own overwrite are applied.
    """
    if user_id == owner_id:
        return ALL_PERMISSIONS
    roles = list(role_ids)
    base = role_permissions.get(guild_id, 0)
    for role_id in roles:
        base |= role_permissions.get(role_id, 0)
    if base & Permission.ADMINISTRATOR:
        return ALL_PERMISSIONS
    if not overwrites:
        return base
    everyone = overwrites.get(guild_id)
    if everyone is not None:
        base = (base & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in roles:
        overwrite = overwrites.get(role_id)
        if overwrite is not None and overwrite.type == OVERWRITE_ROLE:
            allow |= overwrite.allow
            deny |= overwrite.deny
    base = (base & ~deny) | allow
    own = overwrites.get(user_id)
    if own is not None and own.type == OVERWRITE_MEMBER:
        base = (base & ~own.deny) | own.allow
    return base
