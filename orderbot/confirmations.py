"""Turn an order into its confirmation email and hand it to the mailer, counting outcomes."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from orderbot.config import Settings
from orderbot.email.delivery import Mailer
from orderbot.email.errors import EmailError
from orderbot.email.message import compose_confirmation
from orderbot.fsm.machine import DeliveryFailed
from orderbot.fsm.order import Order

log = logging.getLogger(__name__)

# One SMTP connection sends one message at a time; composing one ahead of it keeps the
# connection busy. Composing costs about 4 ms of CPU on the event loop (Python's email
# package), so a burst of 500 submits must not compose 500 at once: that would stall
# every interaction for two seconds.
COMPOSE_AHEAD = 2


class Confirmations:
    """Send each order's confirmation: the order state machine's injected sender.

    Args:
        settings: the template, shop name and sender come from here.
        mailer: SMTP or the outbox.
    """

    def __init__(self, *, settings: Settings, mailer: Mailer) -> None:
        self.settings = settings
        self.mailer = mailer
        self.sent = 0
        self.failed = 0
        self._turns = asyncio.Semaphore(COMPOSE_AHEAD)

    def use(self, *, settings: Settings, mailer: Mailer) -> None:
        """Switch to reloaded settings and the mailer built from them."""
        self.settings = settings
        self.mailer = mailer

    async def deliver(self, order: Order) -> None:
        """Compose and send the order's confirmation.

        Raises:
            DeliveryFailed: with the mail error's reason code, for the state machine.
        """
        async with self._turns:
            message = compose_confirmation(
                self.settings,
                answers=order.answers,
                email=order.email,
                reference=order.reference,
                customer=order.customer,
                server_name=order.server_name,
                submitted_at=order.submitted_at or dt.datetime.now(dt.UTC),
            )
            # Composing and serialising are each a millisecond or two of CPU; letting
            # waiting interactions go in between halves the longest stall they see.
            await asyncio.sleep(0)
            try:
                await self.mailer.send(message, recipient=order.email, reference=order.reference)
            except EmailError as exc:
                self.failed += 1
                raise DeliveryFailed(exc.reason) from exc
        self.sent += 1
