"""What the bot posts once an order is submitted: summaries, and the email's outcome."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import nextcord
from nextcord import ButtonStyle, Interaction

from orderbot import messages
from orderbot.fsm.order import Order
from orderbot.fsm.states import OrderState
from orderbot.orders import OrderService
from orderbot.views import text
from orderbot.views.components import ButtonSpec, buttons, cancel_button, order_button
from orderbot.views.ids import Action

log = logging.getLogger(__name__)


class Channels(Protocol):
    """Where summaries are posted: the bot, seen only through this one method."""

    def get_partial_messageable(self, id: int) -> nextcord.PartialMessageable: ...


class Announcements:
    """Post an order's summaries and tell its customer whether the email went out.

    Args:
        service: the order desk, for the settings and the time an order has left.
        channels: posts the public summary and the staff copy.
    """

    def __init__(self, *, service: OrderService, channels: Channels) -> None:
        self.service = service
        self._channels = channels

    async def post_summaries(
        self,
        order: Order,
        values: dict[str, str],
        lines: list[str],
    ) -> None:
        settings = self.service.settings
        public = text.order_lines(
            values,
            reference=order.reference,
            hidden=settings.public_summary_hidden_fields,
            full=False,
            customer_id=order.user_id,
        )
        channel_id = settings.summary_channel_id or order.channel_id
        if channel_id is not None:
            await self._post(channel_id, messages.public_summary(public), order)
        if settings.staff_channel_id is not None:
            full = [*lines, text.customer_line(order.user_id)]
            await self._post(settings.staff_channel_id, messages.staff_copy(full), order)

    async def _post(self, channel_id: int, content: str, order: Order) -> None:
        try:
            await self._channels.get_partial_messageable(channel_id).send(content)
        except nextcord.HTTPException as exc:
            # The customer already has their copy; staff see this in the log and in
            # /run_diagnostics, which checks the bot may post there.
            log.warning(
                "Could not post order %s to channel %s: %s %s",
                order.reference,
                channel_id,
                exc.status,
                exc.text,
            )

    async def report(self, interaction: Interaction[Any], order: Order) -> None:
        delivery = order.delivery
        if delivery is None:
            return
        outcome = await delivery
        try:
            if outcome is OrderState.DONE:
                await interaction.followup.send(self._sent_text(order), ephemeral=True)
            elif outcome is OrderState.FAILED:
                await interaction.followup.send(
                    self.failure_text(order),
                    ephemeral=True,
                    view=buttons(self.failure_buttons(order)),
                )
        except nextcord.HTTPException as exc:
            # The interaction token lives 15 minutes; a retry pressed late, or Discord
            # failing, leaves the outcome in /order_status and the log only.
            log.warning(
                "Could not tell the customer of order %s the email outcome: %s %s",
                order.reference,
                exc.status,
                exc.text,
            )

    def _sent_text(self, order: Order) -> str:
        if self.service.settings.uses_outbox:
            return messages.email_recorded(order.reference)
        return messages.email_sent(order.reference, text.display(order.email))

    def failure_text(self, order: Order) -> str:
        ttl = messages.countdown(self.service.sessions.seconds_left(order))
        return messages.email_failed(order.reference, text.display(order.email), order.failure, ttl)

    def failure_buttons(self, order: Order) -> list[ButtonSpec]:
        return [
            order_button(order, Action.RETRY, messages.RETRY, ButtonStyle.primary),
            order_button(order, Action.CHANGE_EMAIL, messages.CHANGE_EMAIL),
            cancel_button(order),
        ]
