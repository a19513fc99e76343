"""Per-customer limits that keep the bot from being used to flood an inbox."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

from cachetools import TTLCache

DAY_SECONDS = 24 * 60 * 60

Timer = Callable[[], float]


class Cooldown:
    """Allow one use per key every `seconds`; zero seconds turns it off.

    `seconds` may change while running (a configuration reload): the last uses are
    kept for the longest cooldown allowed, so a new value applies to them at once.
    """

    def __init__(
        self, seconds: float, *, maxsize: int = 100_000, timer: Timer = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._timer = timer
        self._last: TTLCache[Hashable, float] = TTLCache(maxsize, DAY_SECONDS, timer=timer)

    def remaining(self, key: Hashable) -> float:
        """Return the seconds left before the key may be used again (0 if it may now)."""
        last = self._last.get(key)
        if last is None or self.seconds <= 0:
            return 0.0
        return max(0.0, last + self.seconds - self._timer())

    def use(self, key: Hashable) -> None:
        """Record a use of the key now."""
        if self.seconds > 0:
            self._last[key] = self._timer()


class DailyCap:
    """Count uses per key over the last 24 hours and refuse past a limit.

    `limit` may change while running (a configuration reload) and applies at once.
    """

    def __init__(
        self, limit: int, *, maxsize: int = 100_000, timer: Timer = time.monotonic
    ) -> None:
        self.limit = limit
        self._timer = timer
        # A key's deque only grows while allows() says yes, so it holds at most `limit`
        # timestamps; a key untouched for a day has nothing left to count.
        self._uses: TTLCache[Hashable, deque[float]] = TTLCache(maxsize, DAY_SECONDS, timer=timer)

    def _recent(self, key: Hashable) -> deque[float]:
        uses = self._uses.get(key)
        if uses is None:
            return deque()
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
        # A slot frees when all but limit - 1 of the counted uses have aged out.
        return max(0.0, uses[len(uses) - self.limit] + DAY_SECONDS - self._timer())

    def record(self, key: Hashable) -> None:
        """Count one use now."""
        uses = self._recent(key)
        uses.append(self._timer())
        self._uses[key] = uses
