"""Snowflake ids: stamped with the current time for events, deterministic for fixtures."""

from __future__ import annotations

import time

__all__ = ["DISCORD_EPOCH_MS", "SnowflakeFactory", "snowflake_time_ms"]

DISCORD_EPOCH_MS = 1_420_070_400_000
"""Milliseconds from the Unix epoch to Discord's epoch (2015-01-01T00:00:00Z)."""

_STATIC_START_MS = 1_577_836_800_000
"""Fixture ids count up one millisecond at a time from 2020-01-01, long before any event id."""

_WORKER_BITS = 1 << 17
_INCREMENT_MASK = 0xFFF


def snowflake_time_ms(snowflake: int) -> int:
    """Return the Unix time in milliseconds encoded in a snowflake."""
    return (snowflake >> 22) + DISCORD_EPOCH_MS


class SnowflakeFactory:
    """Hand out unique snowflakes for one stand-in.

    Event ids (interactions, messages) carry the current time, because nextcord derives an
    interaction's expiry from its id. Fixture ids (users, guilds, channels, roles) come from a
    fixed clock, one millisecond apart, so that a test sees the same ids on every run and so
    that consecutive guilds land on different shards (the shard is ``(id >> 22) % count``).
    """

    __slots__ = ("_increment", "_last_ms", "_static_ms")

    def __init__(self) -> None:
        self._last_ms = 0
        self._increment = 0
        self._static_ms = _STATIC_START_MS - DISCORD_EPOCH_MS

    def now(self) -> int:
        """Return a new snowflake stamped with the current wall-clock time."""
        ms = time.time_ns() // 1_000_000 - DISCORD_EPOCH_MS
        if ms > self._last_ms:
            self._last_ms = ms
            self._increment = 0
        else:
            # Same millisecond (or the clock stepped back): stay unique by counting up, and
            # borrow the next millisecond once the 12-bit increment runs out.
            self._increment += 1
            if self._increment > _INCREMENT_MASK:
                self._last_ms += 1
                self._increment = 0
        return (self._last_ms << 22) | _WORKER_BITS | self._increment

    def static(self) -> int:
        """Return the next deterministic snowflake for a fixture object."""
        self._static_ms += 1
        return self._static_ms << 22
