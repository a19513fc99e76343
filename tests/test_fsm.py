"""The order state machine through its public API, with no Discord and no SMTP."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from orderbot.fsm.machine import DeliveryFailed, OrderMachine, TransitionNotAllowed
from orderbot.fsm.order import REFERENCE_ALPHABET, Order, new_reference
from orderbot.fsm.states import TRANSITIONS, OrderState, Trigger, allowed_triggers
from orderbot.tasks import BackgroundTasks

S = OrderState

# The shortest path of triggers that brings a fresh order into each state.
PATH_TO: dict[OrderState, list[Trigger]] = {
    S.IDLE: [],
    S.STEP1: [Trigger.START],
    S.STEP2: [Trigger.START, Trigger.SUBMIT_STEP1],
    S.STEP3: [Trigger.START, Trigger.SUBMIT_STEP1, Trigger.SUBMIT_STEP2],
    S.REVIEW: [Trigger.START, Trigger.SUBMIT_STEP1, Trigger.SUBMIT_STEP2, Trigger.SUBMIT_STEP3],
}


class Sender:
    """Records each delivery; can be told to fail or to wait for a signal."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail_with: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def __call__(self, order: Order) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((order.reference, order.email))


class Harness:
    def __init__(self, tasks: BackgroundTasks) -> None:
        self.sender = Sender()
        self.closed: list[Order] = []
        self.machine = OrderMachine(
            deliver=self.sender,
            spawn=tasks.spawn,
            on_closed=self.closed.append,
        )
        self._ids = itertools.count(1)

    async def order_in(self, state: OrderState) -> Order:
        order = Order(server_id=1, user_id=next(self._ids), email="c@example.com")
        self.machine.add(order)
        if state in PATH_TO:
            for trigger in PATH_TO[state]:
                await self.machine.fire(order, trigger)
            return order
        await self.order_in_late(order, state)
        return order

    async def order_in_late(self, order: Order, state: OrderState) -> None:
        for trigger in PATH_TO[S.REVIEW]:
            await self.machine.fire(order, trigger)
        if state is S.FAILED:
            self.sender.fail_with = DeliveryFailed("unavailable")
        elif state is S.EMAILING:
            self.sender.gate = asyncio.Event()
        await self.machine.fire(order, Trigger.SUBMIT)
        if state is not S.EMAILING:
            assert order.delivery is not None
            await order.delivery
        self.sender.fail_with = None
        if state in (S.CANCELLED, S.TIMEOUT):
            raise AssertionError("use a waiting state for final states")


@pytest.fixture
def harness(tasks: BackgroundTasks) -> Harness:
    return Harness(tasks)


ALLOWED = allowed_triggers()
REACHABLE = [S.IDLE, S.STEP1, S.STEP2, S.STEP3, S.REVIEW, S.EMAILING, S.DONE, S.FAILED]
EXPECTED_DEST = {(m.trigger, source): m.dest for m in TRANSITIONS for source in m.sources}


@pytest.mark.parametrize(
    ("state", "trigger"),
    [(s, t) for s in REACHABLE for t in Trigger if t in ALLOWED[s]],
    ids=lambda v: v.value,
)
async def test_fire_allowed_trigger_moves_to_table_destination(
    harness: Harness, state: OrderState, trigger: Trigger
) -> None:
    order = await harness.order_in(state)

    await harness.machine.fire(order, trigger)

    assert order.state in (EXPECTED_DEST[(trigger, state)], S.DONE, S.FAILED)
    if EXPECTED_DEST[(trigger, state)] is S.EMAILING:
        assert order.delivery is not None
        assert await order.delivery is S.DONE


@pytest.mark.parametrize(
    ("state", "trigger"),
    [(s, t) for s in REACHABLE for t in Trigger if t not in ALLOWED[s]],
    ids=lambda v: v.value,
)
async def test_fire_refused_trigger_raises_and_leaves_state(
    harness: Harness, state: OrderState, trigger: Trigger
) -> None:
    order = await harness.order_in(state)

    with pytest.raises(TransitionNotAllowed) as caught:
        await harness.machine.fire(order, trigger)

    assert order.state is state
    assert caught.value.trigger is trigger
    if harness.sender.gate is not None:
        harness.sender.gate.set()


async def test_fire_from_final_state_is_refused(harness: Harness) -> None:
    order = await harness.order_in(S.STEP2)
    await harness.machine.fire(order, Trigger.CANCEL)

    with pytest.raises(TransitionNotAllowed):
        await harness.machine.fire(order, Trigger.START)

    assert order.state is S.CANCELLED


async def test_fire_step_values_stored_only_when_allowed(harness: Harness) -> None:
    order = await harness.order_in(S.STEP1)

    await harness.machine.fire(order, Trigger.SUBMIT_STEP1, values={"order_number": "ORD-1"})
    with pytest.raises(TransitionNotAllowed):
        await harness.machine.fire(order, Trigger.SUBMIT_STEP1, values={"order_number": "ORD-2"})

    assert order.answers == {"order_number": "ORD-1"}


async def test_fire_revise_replaces_values_and_stays_in_review(harness: Harness) -> None:
    order = await harness.order_in(S.REVIEW)
    order.answers["color"] = "Black"

    await harness.machine.fire(order, Trigger.REVISE, values={"color": "Red"})

    assert order.state is S.REVIEW
    assert order.answers["color"] == "Red"


async def test_concurrent_submits_send_exactly_once(harness: Harness) -> None:
    order = await harness.order_in(S.REVIEW)

    results = await asyncio.gather(
        *(harness.machine.fire(order, Trigger.SUBMIT) for _ in range(10)),
        return_exceptions=True,
    )
    assert order.delivery is not None
    await order.delivery

    assert results.count(None) == 1
    assert all(isinstance(r, TransitionNotAllowed) for r in results if r is not None)
    assert harness.sender.sent == [(order.reference, "c@example.com")]
    assert order.state is S.DONE


async def test_submit_returns_before_the_email_is_sent(harness: Harness) -> None:
    order = await harness.order_in(S.REVIEW)
    harness.sender.gate = asyncio.Event()

    await harness.machine.fire(order, Trigger.SUBMIT)

    assert order.state is S.EMAILING
    assert harness.sender.sent == []
    harness.sender.gate.set()
    assert order.delivery is not None
    assert await order.delivery is S.DONE


async def test_delivery_failure_moves_to_failed_with_reason(harness: Harness) -> None:
    order = await harness.order_in(S.REVIEW)
    harness.sender.fail_with = DeliveryFailed("recipient_refused")

    await harness.machine.fire(order, Trigger.SUBMIT)
    assert order.delivery is not None

    assert await order.delivery is S.FAILED
    assert order.failure == "recipient_refused"
    assert harness.closed == []


async def test_delivery_unexpected_error_is_logged_and_fails(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    order = await harness.order_in(S.REVIEW)
    harness.sender.fail_with = RuntimeError("boom")

    await harness.machine.fire(order, Trigger.SUBMIT)
    assert order.delivery is not None

    assert await order.delivery is S.FAILED
    assert order.failure == "internal"
    assert "boom" in caplog.text


async def test_retry_after_failure_delivers(harness: Harness) -> None:
    order = await harness.order_in(S.FAILED)

    await harness.machine.fire(order, Trigger.RETRY)
    assert order.delivery is not None

    assert await order.delivery is S.DONE
    assert order.attempts == 2
    assert order.failure is None


async def test_change_email_after_failure_sends_to_new_address(harness: Harness) -> None:
    order = await harness.order_in(S.FAILED)

    await harness.machine.fire(order, Trigger.CHANGE_EMAIL, email="new@example.com")
    assert order.delivery is not None
    await order.delivery

    assert harness.sender.sent[-1] == (order.reference, "new@example.com")


async def test_expire_cannot_interrupt_a_send(harness: Harness) -> None:
    order = await harness.order_in(S.EMAILING)

    with pytest.raises(TransitionNotAllowed):
        await harness.machine.fire(order, Trigger.EXPIRE)
    assert harness.sender.gate is not None
    harness.sender.gate.set()
    assert order.delivery is not None

    assert await order.delivery is S.DONE
    assert harness.sender.sent


@pytest.mark.parametrize("trigger", [Trigger.CANCEL, Trigger.EXPIRE])
async def test_final_states_run_cleanup_and_detach(harness: Harness, trigger: Trigger) -> None:
    order = await harness.order_in(S.STEP2)
    assert len(harness.machine) == 1

    await harness.machine.fire(order, trigger)

    assert harness.closed == [order]
    assert len(harness.machine) == 0


async def test_done_runs_cleanup_and_detaches(harness: Harness) -> None:
    order = await harness.order_in(S.DONE)

    assert harness.closed == [order]
    assert len(harness.machine) == 0


async def test_submitted_at_set_once(harness: Harness) -> None:
    order = await harness.order_in(S.FAILED)
    first = order.submitted_at

    await harness.machine.fire(order, Trigger.RETRY)
    assert order.delivery is not None
    await order.delivery

    assert first is not None
    assert order.submitted_at == first


def test_new_reference_format() -> None:
    refs = {new_reference() for _ in range(500)}

    assert len(refs) == 500
    for ref in refs:
        assert ref.startswith("REF-")
        assert len(ref) == 12
        assert set(ref[4:]) <= set(REFERENCE_ALPHABET)
    assert not set("0O1IL") & set(REFERENCE_ALPHABET)


def test_order_repr_hides_customer_data() -> None:
    order = Order(server_id=1, user_id=2, email="secret.person@example.com")
    order.answers["shipping_address"] = "1 Private Lane"

    assert "secret.person" not in repr(order)
    assert "Private" not in repr(order)


def test_machine_adds_nothing_to_the_model() -> None:
    order = Order(server_id=1, user_id=2, email="c@example.com")

    async def deliver(o: Order) -> None:
        return None

    machine = OrderMachine(deliver=deliver, spawn=lambda coro: asyncio.ensure_future(coro))
    machine.add(order)

    assert not hasattr(order, "__dict__")
    assert order.state is S.IDLE
