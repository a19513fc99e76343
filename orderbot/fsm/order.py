"""The order model: what one customer has typed so far and where their order stands."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets

from orderbot.fsm.states import OrderState

# No 0/O, 1/I/L, 5/S or 8/B, so a reference read aloud or copied by hand survives.
REFERENCE_ALPHABET = "ACDEFGHJKMNPQRTUVWXYZ2346789"
REFERENCE_LENGTH = 8
REFERENCE_PREFIX = "REF-"


def new_reference() -> str:
    """Return a fresh order reference such as REF-7K3Q9XH2."""
    # One draw from the OS's randomness for all eight characters, not one each.
    number = secrets.randbelow(len(REFERENCE_ALPHABET) ** REFERENCE_LENGTH)
    body = []
    for _ in range(REFERENCE_LENGTH):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        body.append(REFERENCE_ALPHABET[digit])
    return REFERENCE_PREFIX + "".join(body)


class Order:
    """One customer's order, moved through its states by OrderMachine.

    Slots keep a live order small: ten thousand of them must fit on a small VPS.
    """

    __slots__ = (
        "answers",
        "attempts",
        "channel_id",
        "customer",
        "delivery",
        "drafts",
        "email",
        "failure",
        "last_active",
        "reference",
        "server_id",
        "server_name",
        "state",
        "submitted_at",
        "user_id",
    )

    def __init__(
        self,
        *,
        server_id: int,
        user_id: int,
        email: str,
        customer: str = "",
        server_name: str = "",
        channel_id: int | None = None,
        reference: str | None = None,
    ) -> None:
        self.server_id = server_id
        self.user_id = user_id
        self.email = email
        self.customer = customer
        self.server_name = server_name
        self.channel_id = channel_id
        self.reference = reference or new_reference()
        self.answers: dict[str, str] = {}
        # What the customer typed in a step that was refused, to refill its form.
        self.drafts: dict[int, dict[str, str]] = {}
        self.state = OrderState.IDLE
        self.failure: str | None = None
        self.delivery: asyncio.Task[OrderState] | None = None
        self.last_active = 0.0
        self.submitted_at: dt.datetime | None = None
        self.attempts = 0

    @property
    def key(self) -> tuple[int, int]:
        """Return the session key: one live order per customer per server."""
        return (self.server_id, self.user_id)

    def __repr__(self) -> str:
        # Only identifiers: the answers hold addresses and notes that must not reach a log.
        return f"<Order {self.reference} {self.state.value}>"
