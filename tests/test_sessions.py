"""Live sessions: one per customer per server, idle expiry, reaping and a bounded store."""

from __future__ import annotations

import asyncio

import pytest

from orderbot.fsm.machine import OrderMachine
from orderbot.fsm.order import Order
from orderbot.fsm.states import OrderState, Trigger
from orderbot.sessions import SessionExists, SessionStore, SessionStoreFull
from orderbot.tasks import BackgroundTasks
from tests.conftest import FakeClock

TTL = 900


class Parts:
    def __init__(self, tasks: BackgroundTasks, clock: FakeClock, maxsize: int = 100) -> None:
        self.tasks = tasks
        self.clock = clock
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False
        self.closed: list[Order] = []
        self.closed_event = asyncio.Event()
        self.machine = OrderMachine(
            deliver=self._deliver, spawn=tasks.spawn, on_closed=self._closed
        )
        self.store = SessionStore(
            machine=self.machine,
            spawn=tasks.spawn,
            maxsize=maxsize,
            ttl_seconds=TTL,
            timer=clock,
        )

    async def _deliver(self, order: Order) -> None:
        await self.gate.wait()
        if self.fail:
            raise ConnectionError("smtp down")

    def _closed(self, order: Order) -> None:
        self.closed.append(order)
        self.closed_event.set()
        self.store.close(order)

    def open(self, user_id: int, server_id: int = 1) -> Order:
        order = Order(server_id=server_id, user_id=user_id, email="c@example.com")
        self.store.open(order)
        return order

    async def settle(self) -> None:
        """Let scheduled expiry transitions run to completion."""
        assert await self.tasks.drain(2) == 0


@pytest.fixture
def parts(tasks: BackgroundTasks, clock: FakeClock) -> Parts:
    return Parts(tasks, clock)


async def test_open_then_get_returns_the_order(parts: Parts) -> None:
    order = parts.open(7)

    assert parts.store.get((1, 7)) is order
    assert len(parts.store) == 1
    assert len(parts.machine) == 1


async def test_open_second_order_same_customer_same_server_refused(parts: Parts) -> None:
    first = parts.open(7)

    with pytest.raises(SessionExists) as caught:
        parts.open(7)

    assert caught.value.order is first


async def test_open_same_customer_other_server_allowed(parts: Parts) -> None:
    parts.open(7, server_id=1)
    parts.open(7, server_id=2)

    assert len(parts.store) == 2


async def test_get_after_ttl_expires_and_times_out_the_order(parts: Parts) -> None:
    order = parts.open(7)
    await parts.machine.fire(order, Trigger.START)

    parts.clock.advance(TTL)
    assert parts.store.get((1, 7)) is None
    await parts.settle()

    assert order.state is OrderState.TIMEOUT
    assert parts.closed == [order]
    assert len(parts.machine) == 0


async def test_get_before_ttl_keeps_the_order(parts: Parts) -> None:
    order = parts.open(7)

    parts.clock.advance(TTL - 1)

    assert parts.store.get((1, 7)) is order


async def test_touch_renews_the_idle_time(parts: Parts) -> None:
    order = parts.open(7)

    parts.clock.advance(600)
    parts.store.touch(order)
    parts.clock.advance(600)

    assert parts.store.get((1, 7)) is order
    assert parts.store.seconds_left(order) == pytest.approx(300)


async def test_reads_do_not_renew_the_idle_time(parts: Parts) -> None:
    parts.open(7)

    parts.clock.advance(600)
    parts.store.get((1, 7))
    parts.clock.advance(300)

    assert parts.store.get((1, 7)) is None


async def test_reap_times_out_orders_nobody_touches(parts: Parts) -> None:
    untouched = [parts.open(uid) for uid in range(5)]
    parts.clock.advance(TTL + 1)

    reaped = parts.store.reap()
    await parts.settle()

    assert reaped == 5
    assert all(o.state is OrderState.TIMEOUT for o in untouched)
    assert len(parts.machine) == 0


async def test_reap_leaves_active_orders(parts: Parts) -> None:
    old = parts.open(1)
    parts.clock.advance(800)
    fresh = parts.open(2)
    parts.clock.advance(200)

    assert parts.store.reap() == 1
    await parts.settle()

    assert old.state is OrderState.TIMEOUT
    assert parts.store.get((1, 2)) is fresh


async def test_run_reaper_expires_orders_periodically(parts: Parts) -> None:
    order = parts.open(1)
    parts.clock.advance(TTL + 1)

    reaper = asyncio.create_task(parts.store.run_reaper(0.001))
    try:
        async with asyncio.timeout(2):
            await parts.closed_event.wait()
    finally:
        reaper.cancel()

    assert order.state is OrderState.TIMEOUT
    assert parts.closed == [order]


async def test_expiry_during_send_waits_for_outcome(parts: Parts) -> None:
    order = parts.open(1)
    for trigger in (
        Trigger.START,
        Trigger.SUBMIT_STEP1,
        Trigger.SUBMIT_STEP2,
        Trigger.SUBMIT_STEP3,
    ):
        await parts.machine.fire(order, trigger)
    parts.gate.clear()
    await parts.machine.fire(order, Trigger.SUBMIT)

    parts.clock.advance(TTL + 1)
    parts.store.reap()
    for _ in range(10):
        await asyncio.sleep(0)
    assert order.state is OrderState.EMAILING
    parts.gate.set()
    await parts.settle()

    assert order.state.value == "done"


async def test_full_store_refuses_instead_of_evicting(
    tasks: BackgroundTasks, clock: FakeClock
) -> None:
    parts = Parts(tasks, clock, maxsize=3)
    live = [parts.open(uid) for uid in range(3)]

    with pytest.raises(SessionStoreFull):
        parts.open(99)

    assert all(parts.store.get(o.key) is o for o in live)
    assert len(parts.machine) == 3


async def test_full_store_accepts_once_an_order_expires(
    tasks: BackgroundTasks, clock: FakeClock
) -> None:
    parts = Parts(tasks, clock, maxsize=2)
    parts.open(1)
    parts.open(2)
    clock.advance(TTL)

    newcomer = parts.open(3)
    await parts.settle()

    assert parts.store.get((1, 3)) is newcomer
    assert len(parts.machine) == 1


async def test_cancelled_order_frees_the_customer_slot(parts: Parts) -> None:
    order = parts.open(7)

    await parts.machine.fire(order, Trigger.CANCEL)
    again = parts.open(7)

    assert parts.store.get((1, 7)) is again


async def test_failed_order_stays_until_it_expires(parts: Parts) -> None:
    order = parts.open(1)
    for trigger in (
        Trigger.START,
        Trigger.SUBMIT_STEP1,
        Trigger.SUBMIT_STEP2,
        Trigger.SUBMIT_STEP3,
    ):
        await parts.machine.fire(order, trigger)
    parts.fail = True
    await parts.machine.fire(order, Trigger.SUBMIT)
    assert order.delivery is not None
    await order.delivery
    assert parts.store.get((1, 1)) is order

    parts.clock.advance(TTL)
    parts.store.reap()
    await parts.settle()

    assert order.state is OrderState.TIMEOUT
