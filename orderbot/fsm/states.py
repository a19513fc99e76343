"""The order's states and the transition table, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class OrderState(Enum):
    """Where one order stands."""

    IDLE = "idle"
    STEP1 = "step1"
    STEP2 = "step2"
    STEP3 = "step3"
    REVIEW = "review"
    EMAILING = "emailing"
    DONE = "done"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


class Trigger(Enum):
    """The events that move an order."""

    START = "start"
    SUBMIT_STEP1 = "submit_step1"
    SUBMIT_STEP2 = "submit_step2"
    SUBMIT_STEP3 = "submit_step3"
    REVISE = "revise"
    SUBMIT = "submit"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    RETRY = "retry"
    CHANGE_EMAIL = "change_email"
    CANCEL = "cancel"
    EXPIRE = "expire"


@dataclass(frozen=True, slots=True)
class Move:
    """One row of the transition table."""

    trigger: Trigger
    sources: tuple[OrderState, ...]
    dest: OrderState


S = OrderState

# An order can be abandoned or given up on from any state where it waits for the
# customer. Never from `emailing`: an expiry or a click must not interrupt a send
# (AsyncMachine would cancel the running delivery), so those wait for its outcome.
WAITING_FOR_CUSTOMER = (S.IDLE, S.STEP1, S.STEP2, S.STEP3, S.REVIEW, S.FAILED)

TRANSITIONS: tuple[Move, ...] = (
    Move(Trigger.START, (S.IDLE,), S.STEP1),
    Move(Trigger.SUBMIT_STEP1, (S.STEP1,), S.STEP2),
    Move(Trigger.SUBMIT_STEP2, (S.STEP2,), S.STEP3),
    Move(Trigger.SUBMIT_STEP3, (S.STEP3,), S.REVIEW),
    Move(Trigger.REVISE, (S.REVIEW,), S.REVIEW),
    Move(Trigger.SUBMIT, (S.REVIEW,), S.EMAILING),
    Move(Trigger.DELIVERED, (S.EMAILING,), S.DONE),
    Move(Trigger.DELIVERY_FAILED, (S.EMAILING,), S.FAILED),
    Move(Trigger.RETRY, (S.FAILED,), S.EMAILING),
    Move(Trigger.CHANGE_EMAIL, (S.FAILED,), S.EMAILING),
    Move(Trigger.CANCEL, WAITING_FOR_CUSTOMER, S.CANCELLED),
    Move(Trigger.EXPIRE, WAITING_FOR_CUSTOMER, S.TIMEOUT),
)

FINAL_STATES = frozenset({S.DONE, S.TIMEOUT, S.CANCELLED})

# The step whose modal the customer fills in while the order is in that state.
STEP_OF_STATE: dict[OrderState, int] = {S.STEP1: 1, S.STEP2: 2, S.STEP3: 3}

STEP_TRIGGERS: dict[int, Trigger] = {
    1: Trigger.SUBMIT_STEP1,
    2: Trigger.SUBMIT_STEP2,
    3: Trigger.SUBMIT_STEP3,
}


def allowed_triggers() -> dict[OrderState, frozenset[Trigger]]:
    """Return, for every state, the triggers the table allows from it."""
    allowed: dict[OrderState, set[Trigger]] = {state: set() for state in OrderState}
    for move in TRANSITIONS:
        for source in move.sources:
            allowed[source].add(move.trigger)
    return {state: frozenset(triggers) for state, triggers in allowed.items()}
