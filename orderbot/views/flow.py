"""The order flow on Discord: commands, forms and buttons, routed by custom_id to the service."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nextcord import ButtonStyle, Interaction

from orderbot import messages
from orderbot.form import STEP_COUNT, step_spec
from orderbot.fsm.machine import TransitionNotAllowed
from orderbot.fsm.order import Order
from orderbot.fsm.states import STEP_OF_STATE, OrderState
from orderbot.orders import InvalidEmail, OrderService
from orderbot.sessions import SessionExists
from orderbot.tasks import BackgroundTasks
from orderbot.views import text
from orderbot.views.announce import Announcements, Channels
from orderbot.views.components import (
    ButtonSpec,
    buttons,
    cancel_button,
    email_modal,
    order_button,
    step_modal,
    submitted_values,
)
from orderbot.views.ids import Action, Route, decode, encode

log = logging.getLogger(__name__)

Handler = Callable[[Interaction[Any], Order, Route], Awaitable[None]]


def _ids(interaction: Interaction[Any]) -> tuple[int, int] | None:
    # The commands are registered for servers only; a DM would have no session key.
    if interaction.guild_id is None or interaction.user is None:
        return None
    return interaction.guild_id, interaction.user.id


def _steps_done(order: Order) -> list[bool]:
    return [step_spec(n).keys[0] in order.answers for n in range(1, STEP_COUNT + 1)]


def _where(order: Order) -> str:
    return messages.state_phrase(order.state.value)


class OrderFlow:
    """Answer every order interaction: `/order_form`, `/order_status`, forms and buttons.

    Args:
        service: the order desk's rules and live orders.
        tasks: tracks the follow-ups sent when an email's outcome is known.
        channels: posts the public summary and the staff copy.
    """

    def __init__(
        self, *, service: OrderService, tasks: BackgroundTasks, channels: Channels
    ) -> None:
        self.service = service
        self._tasks = tasks
        self._announce = Announcements(service=service, channels=channels)
        self._handlers: dict[Action, Handler] = {
            Action.STEP_MODAL: self._step_submitted,
            Action.EMAIL_MODAL: self._email_submitted,
            Action.CONTINUE: self._open_step,
            Action.FIX: self._open_step,
            Action.EDIT: self._open_step,
            Action.RESUME: self._resume,
            Action.RESTART: self._restart,
            Action.SUBMIT: self._submit,
            Action.CANCEL: self._cancel,
            Action.RETRY: self._retry,
            Action.CHANGE_EMAIL: self._change_email,
        }

    async def order_form(self, interaction: Interaction[Any], email: str) -> None:
        """Start an order, or offer to resume the one already open."""
        key = _ids(interaction)
        if key is None:
            await _reply(interaction, messages.GUILD_ONLY)
            return
        server_id, user_id = key
        guild = interaction.guild
        try:
            order = self.service.start(
                server_id=server_id,
                user_id=user_id,
                email=email,
                customer=str(interaction.user),
                server_name=guild.name if guild else str(server_id),
                channel_id=interaction.channel_id,
            )
        except SessionExists as exists:
            await self._offer_resume(interaction, exists.order)
            return
        await self._send_step(interaction, order, 1)

    async def order_status(self, interaction: Interaction[Any]) -> None:
        """Describe the caller's live order and what comes next."""
        key = _ids(interaction)
        if key is None:
            await _reply(interaction, messages.GUILD_ONLY)
            return
        order = self.service.find(key)
        if order is None:
            last = self.service.last_closed(key)
            content = messages.no_order(
                last.reference if last else None,
                last.state.value if last else None,
            )
            await _reply(interaction, content)
            return
        step = STEP_OF_STATE.get(order.state)
        content = messages.status(
            order.reference,
            order.state.value,
            _steps_done(order),
            messages.countdown(self.service.sessions.seconds_left(order)),
            messages.next_step(order.state.value, step),
        )
        await _reply(interaction, content, [order_button(order, Action.RESUME, messages.RESUME)])

    async def dispatch(self, interaction: Interaction[Any]) -> bool:
        """Handle a button click or form submit that carries one of our custom_ids.

        Returns False if the custom_id is not ours, so another handler may take it.
        """
        data: Mapping[str, object] = interaction.data or {}
        route = decode(str(data.get("custom_id", "")))
        if route is None:
            return False
        if interaction.user is None or interaction.user.id != route.user_id:
            await _reply(interaction, messages.NOT_YOUR_ORDER)
            return True
        order = self.service.find(route.key) if interaction.guild_id == route.server_id else None
        if order is None or order.reference != route.reference:
            await _reply(interaction, messages.ORDER_EXPIRED)
            return True
        await self._handlers[route.action](interaction, order, route)
        return True

    async def _send_step(self, interaction: Interaction[Any], order: Order, step: int) -> None:
        await self.service.begin(order)
        prefill = {**order.answers, **order.drafts.get(step, {})}
        custom_id = encode(Action.STEP_MODAL, order.server_id, order.user_id, order.reference, step)
        modal = step_modal(step, custom_id, prefill)
        await interaction.response.send_modal(modal)
        # Nothing is dispatched to the modal object: stopping it lets nextcord drop it.
        modal.stop()

    async def _offer_resume(self, interaction: Interaction[Any], order: Order) -> None:
        if order.state is OrderState.EMAILING:
            await _reply(interaction, messages.still_sending(order.reference))
            return
        content = messages.resume_prompt(order.reference, _where(order))
        specs = [
            order_button(order, Action.RESUME, messages.RESUME, ButtonStyle.primary),
            order_button(order, Action.RESTART, messages.CANCEL_AND_START_OVER, ButtonStyle.danger),
        ]
        await _reply(interaction, content, specs)

    async def _tell_where(self, interaction: Interaction[Any], order: Order) -> None:
        content = messages.where_you_are(order.reference, _where(order))
        button = order_button(order, Action.RESUME, messages.RESUME, ButtonStyle.primary)
        await _reply(interaction, content, [button])

    def _step_is_open(self, order: Order, route: Route) -> bool:
        if route.action is Action.EDIT:
            return order.state is OrderState.REVIEW
        if route.action is Action.FIX and order.state is OrderState.REVIEW:
            return route.step in order.drafts
        return STEP_OF_STATE.get(order.state) == route.step

    async def _open_step(self, interaction: Interaction[Any], order: Order, route: Route) -> None:
        if not 1 <= route.step <= STEP_COUNT or not self._step_is_open(order, route):
            await self._tell_where(interaction, order)
            return
        await self._send_step(interaction, order, route.step)

    async def _step_submitted(
        self, interaction: Interaction[Any], order: Order, route: Route
    ) -> None:
        step = route.step
        if not 1 <= step <= STEP_COUNT:
            await self._tell_where(interaction, order)
            return
        try:
            result = await self.service.submit_step(
                order, step, submitted_values(interaction.data or {})
            )
        except TransitionNotAllowed:
            await self._tell_where(interaction, order)
            return
        if not result.accepted:
            content = messages.step_refused(step, STEP_COUNT, result.problems)
            fix = order_button(
                order, Action.FIX, messages.fix_label(step), ButtonStyle.primary, step
            )
            await _reply(interaction, content, [fix, cancel_button(order)])
        elif order.state is OrderState.REVIEW:
            await self._show_review(interaction, order)
        else:
            following = step + 1
            label = messages.continue_label(following, STEP_COUNT)
            button = order_button(order, Action.CONTINUE, label, ButtonStyle.primary, following)
            content = messages.step_saved(step, STEP_COUNT)
            await _reply(interaction, content, [button, cancel_button(order)])

    def _full_values(self, order: Order) -> dict[str, str]:
        return {**order.answers, "email": order.email}

    async def _show_review(self, interaction: Interaction[Any], order: Order) -> None:
        lines = text.order_lines(self._full_values(order), reference=order.reference)
        specs = [order_button(order, Action.SUBMIT, messages.SUBMIT_ORDER, ButtonStyle.success)]
        specs += [
            order_button(order, Action.EDIT, messages.edit_label(n), step=n)
            for n in range(1, STEP_COUNT + 1)
        ]
        specs.append(cancel_button(order))
        await _reply(interaction, messages.review(order.reference, lines), specs)

    async def _resume(self, interaction: Interaction[Any], order: Order, route: Route) -> None:
        step = STEP_OF_STATE.get(order.state)
        if order.state is OrderState.IDLE:
            step = 1
        if step is not None:
            await self._send_step(interaction, order, step)
        elif order.state is OrderState.REVIEW:
            await self._show_review(interaction, order)
        elif order.state is OrderState.FAILED:
            failure = self._announce.failure_text(order)
            await _reply(interaction, failure, self._announce.failure_buttons(order))
        else:
            await _reply(interaction, messages.already_submitted(order.reference))

    async def _restart(self, interaction: Interaction[Any], order: Order, route: Route) -> None:
        try:
            fresh = await self.service.restart(order)
        except TransitionNotAllowed:
            await _reply(interaction, messages.cannot_cancel(order.reference))
            return
        await self._send_step(interaction, fresh, 1)

    async def _submit(self, interaction: Interaction[Any], order: Order, route: Route) -> None:
        try:
            await self.service.submit(order)
        except TransitionNotAllowed:
            await self._refuse_send(interaction, order)
            return
        values = self._full_values(order)
        lines = text.order_lines(values, reference=order.reference)
        # No await may come between the transition and this answer: the transition
        # started the delivery task, whose email rendering would otherwise run first.
        await _reply(interaction, messages.submitted_copy(lines, text.display(order.email)))
        self._report_later(interaction, order)
        await self._announce.post_summaries(order, values, lines)

    async def _refuse_send(self, interaction: Interaction[Any], order: Order) -> None:
        # A second Submit, or a Retry racing the first: the order is already on its way.
        if order.state in (OrderState.EMAILING, OrderState.FAILED, OrderState.DONE):
            await _reply(interaction, messages.already_submitted(order.reference))
        else:
            await self._tell_where(interaction, order)

    def _report_later(self, interaction: Interaction[Any], order: Order) -> None:
        report = self._announce.report(interaction, order)
        self._tasks.spawn(report, name=f"report-{order.reference}")

    async def _cancel(self, interaction: Interaction[Any], order: Order, route: Route) -> None:
        try:
            await self.service.cancel(order)
        except TransitionNotAllowed:
            await _reply(interaction, messages.cannot_cancel(order.reference))
            return
        await _reply(interaction, messages.cancelled(order.reference))

    async def _retry(self, interaction: Interaction[Any], order: Order, route: Route) -> None:
        await self._resend(interaction, order, None)

    async def _change_email(
        self, interaction: Interaction[Any], order: Order, route: Route
    ) -> None:
        if order.state is not OrderState.FAILED:
            await self._tell_where(interaction, order)
            return
        custom_id = encode(Action.EMAIL_MODAL, order.server_id, order.user_id, order.reference)
        modal = email_modal(custom_id, order.email)
        await interaction.response.send_modal(modal)
        modal.stop()

    async def _email_submitted(
        self, interaction: Interaction[Any], order: Order, route: Route
    ) -> None:
        email = submitted_values(interaction.data or {}).get("email", "").strip()
        try:
            await self._resend(interaction, order, email)
        except InvalidEmail:
            button = order_button(order, Action.CHANGE_EMAIL, messages.CHANGE_EMAIL)
            await _reply(interaction, messages.INVALID_EMAIL, [button])

    async def _resend(self, interaction: Interaction[Any], order: Order, email: str | None) -> None:
        try:
            await self.service.retry(order, email=email)
        except TransitionNotAllowed:
            await self._refuse_send(interaction, order)
            return
        await _reply(interaction, messages.retrying(text.display(order.email)))
        self._report_later(interaction, order)


async def _reply(
    interaction: Interaction[Any],
    content: str,
    specs: list[ButtonSpec] | None = None,
) -> None:
    """Answer the interaction with an ephemeral message, with buttons if given."""
    if specs:
        await interaction.response.send_message(content, ephemeral=True, view=buttons(specs))
    else:
        await interaction.response.send_message(content, ephemeral=True)
