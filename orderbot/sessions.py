"""Live orders: one per customer per server, expiring after a stretch of idle time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from cachetools import TTLCache

from orderbot.errors import OrderBotError
from orderbot.fsm.machine import OrderMachine, TransitionNotAllowed
from orderbot.fsm.order import Order
from orderbot.fsm.states import OrderState, Trigger

log = logging.getLogger(__name__)

SessionKey = tuple[int, int]
Timer = Callable[[], float]
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class SessionStoreFull(OrderBotError):
    """Raised when a new order would exceed the number of live orders allowed."""


class SessionExists(OrderBotError):
    """Raised when a customer who already has a live order in a server opens another."""

    def __init__(self, order: Order) -> None:
        super().__init__(f"{order!r} is still live")
        self.order = order


class _ExpiringCache(TTLCache[SessionKey, Order]):
    """A TTLCache that reports every entry it drops on its own.

    TTLCache purges lazily and silently, inside whichever call happens to mutate it
    next; overriding `expire` and `popitem` is the documented way to see those drops
    (cachetools docs, "Extending cache classes"). The report must not raise or touch
    the cache.
    """

    def __init__(
        self,
        maxsize: int,
        ttl: float,
        timer: Timer,
        on_drop: Callable[[SessionKey, Order], None],
    ) -> None:
        super().__init__(maxsize, ttl, timer=timer)
        self._on_drop = on_drop

    def expire(self, time: float | None = None) -> list[tuple[SessionKey, Order]]:
        dropped = super().expire(time)
        for key, order in dropped:
            self._on_drop(key, order)
        return dropped

    def popitem(self) -> tuple[SessionKey, Order]:
        key, order = super().popitem()
        self._on_drop(key, order)
        return key, order


class SessionStore:
    """Hold live orders in a TTL cache and move the ones that idle out to `timeout`.

    Expiry is noticed both when the cache is next used and by `reap`, which the
    service calls periodically, so an order nobody touches again still times out.
    A full store refuses new orders instead of evicting someone's live one.

    Args:
        machine: the state machine the orders belong to.
        spawn: starts a tracked background task (the expiry transition awaits).
        maxsize: the most live orders at once.
        ttl_seconds: idle time before an order expires; renewed by `touch`.
        timer: a monotonic clock, injectable so tests never sleep.
    """

    def __init__(
        self,
        *,
        machine: OrderMachine,
        spawn: Spawn,
        maxsize: int,
        ttl_seconds: float,
        timer: Timer = time.monotonic,
    ) -> None:
        self._machine = machine
        self._spawn = spawn
        self._timer = timer
        self.ttl_seconds = ttl_seconds
        self._cache = _ExpiringCache(maxsize, ttl_seconds, timer, self._dropped)

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def maxsize(self) -> int:
        """Return the most live orders the store holds."""
        return int(self._cache.maxsize)

    def open(self, order: Order) -> None:
        """Register a new live order for its customer.

        Raises:
            SessionExists: the customer already has a live order in this server.
            SessionStoreFull: the store holds as many live orders as allowed.
        """
        self._cache.expire()
        existing = self._cache.get(order.key)
        if existing is not None:
            raise SessionExists(existing)
        if len(self._cache) >= self._cache.maxsize:
            raise SessionStoreFull(f"{len(self._cache)} live orders")
        self._machine.add(order)
        order.last_active = self._timer()
        self._cache[order.key] = order

    def get(self, key: SessionKey) -> Order | None:
        """Return the live order for this customer, or None if there is none (any more)."""
        self._cache.expire()
        return self._cache.get(key)

    def touch(self, order: Order) -> None:
        """Restart the order's idle clock; call it on every action of its customer."""
        if self._cache.get(order.key) is order:
            order.last_active = self._timer()
            # Re-inserting is what renews a TTLCache entry; reads do not.
            self._cache[order.key] = order

    def close(self, order: Order) -> None:
        """Forget a finished order (done, cancelled or timed out)."""
        if self._cache.get(order.key) is order:
            self._cache.pop(order.key, None)

    def seconds_left(self, order: Order) -> float:
        """Return how long the order has before it idles out."""
        return max(0.0, order.last_active + self.ttl_seconds - self._timer())

    def reap(self) -> int:
        """Expire every order whose idle time is up; return how many there were."""
        return len(self._cache.expire())

    async def run_reaper(self, interval_seconds: float) -> None:
        """Reap expired orders every interval until cancelled."""
        while True:
            await asyncio.sleep(interval_seconds)
            self.reap()

    def _dropped(self, key: SessionKey, order: Order) -> None:
        # Called from inside a cache mutation: schedule, never await or raise here.
        self._spawn(self._time_out(order))

    async def _time_out(self, order: Order) -> None:
        if order.state is OrderState.EMAILING and order.delivery is not None:
            # A send is never interrupted; an order whose email then fails still expires.
            await asyncio.shield(order.delivery)
        if not self._machine.may(order, Trigger.EXPIRE):
            self._machine.remove(order)
            return
        try:
            await self._machine.fire(order, Trigger.EXPIRE)
        except TransitionNotAllowed:
            # The customer finished or cancelled it while the expiry waited its turn.
            log.debug("Order %s closed before it could expire", order.reference)
            return
        log.info("Order %s expired after %.0f s idle", order.reference, self.ttl_seconds)
