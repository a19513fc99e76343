"""Per-customer limits that keep the bot from being used to flood an inbox."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

from cachetools import TTLCache

DAY_SECONDS = 24 * 60 * 60

Timer = Callable[[], float]


class Cooldown:
    """Allow one use per key every `seconds`; zero seconds turns it off."""

    def __init__(
        self, seconds: float, *, maxsize: int = 100_000, timer: Timer = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._timer = timer
        self._last: TTLCache[Hashable, float] | None = (
            TTLCache(maxsize, seconds, timer=timer) if seconds > 0 else None
        )

    def remaining(self, key: Hashable) -> float:
        """Return the seconds left before the key may be used again (0 if it may now)."""
        if self._last is None:
            return 0.0
        last = self._last.get(key)
        return 0.0 if last is None else max(0.0, last + self.seconds - self._timer())

    def use(self, key: Hashable) -> None:
        """Record a use of the key now."""
        if self._last is not None:
            self._last[key] = self._timer()


class DailyCap:
    """Count uses per key over the last 24 hours and refuse past a limit."""

    def __init__(
        self, limit: int, *, maxsize: int = 100_000, timer: Timer = time.monotonic
    ) -> None:
        self.limit = limit
        self._timer = timer
        # Each key's deque holds at most `limit` timestamps, and a key untouched for a
        # day has nothing left to count, so the TTL cache bounds the memory.
        self._uses: TTLCache[Hashable, deque[float]] = TTLCache(maxsize, DAY_SECONDS, timer=timer)

    def _recent(self, key: Hashable) -> deque[float]:
        uses = self._uses.get(key)
        if uses is None:
            return deque(maxlen=self.limit)
        cutoff = self._timer() - DAY_SECONDS
        while uses and uses[0] <= cutoff:
            uses.popleft()
        return uses

    def allows(self, key: Hashable) -> bool:
        """Tell whether one more use fits in the last 24 hours."""
        return len(self._recent(key)) < self.limit

    def seconds_until_free(self, key: Hashable) -> float:
        """Return how long until the oldest counted use leaves the 24-hour window."""
        uses = self._recent(key)
        if len(uses) < self.limit:
            return 0.0
        return max(0.0, uses[0] + DAY_SECONDS - self._timer())

    def record(self, key: Hashable) -> None:
        """Count one use now."""
        uses = self._recent(key)
        uses.append(self._timer())
        self._uses[key] = uses
