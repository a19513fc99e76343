"""Build the buttons and forms the bot sends, from the form definition and our custom_ids.

Nothing built here is kept after it is sent: views go out with prevent_update off
and modals are stopped at once, so nextcord's stores stay empty and every click or
submit is routed by its custom_id instead (see views/ids.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nextcord
from nextcord import ui

from orderbot import messages
from orderbot.form import MAX_EMAIL_LENGTH, Style, step_spec
from orderbot.fsm.order import Order
from orderbot.views.ids import Action, encode

log = logging.getLogger(__name__)

_STYLES = {
    Style.SHORT: nextcord.TextInputStyle.short,
    Style.PARAGRAPH: nextcord.TextInputStyle.paragraph,
}


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    """One button: its label, its route and how it looks."""

    label: str
    custom_id: str
    style: nextcord.ButtonStyle = nextcord.ButtonStyle.secondary


class FormModal(ui.Modal):
    """A modal that is only ever sent, never dispatched: its submit arrives by custom_id."""

    async def on_error(self, error: Exception, interaction: nextcord.Interaction[Any]) -> None:
        # nextcord's default prints to stderr; a stopped modal never gets here, but if
        # one did, the failure belongs in our log.
        log.error("Modal %s raised", self.custom_id, exc_info=error)


def order_button(
    order: Order,
    action: Action,
    label: str,
    style: nextcord.ButtonStyle = nextcord.ButtonStyle.secondary,
    step: int = 0,
) -> ButtonSpec:
    """Return a button that routes `action` on this order (and step) back to the flow."""
    custom_id = encode(action, order.server_id, order.user_id, order.reference, step)
    return ButtonSpec(label, custom_id, style)


def cancel_button(order: Order) -> ButtonSpec:
    """Return the red Cancel button of an order."""
    return order_button(order, Action.CANCEL, messages.CANCEL, nextcord.ButtonStyle.danger)


def buttons(specs: Sequence[ButtonSpec]) -> ui.View:
    """Return a throw-away view holding the buttons, in order (five to a row)."""
    view = ui.View(timeout=None, prevent_update=False)
    for spec in specs:
        view.add_item(ui.Button(label=spec.label, custom_id=spec.custom_id, style=spec.style))
    return view


def step_modal(step: int, custom_id: str, prefill: Mapping[str, str]) -> FormModal:
    """Return the form of one step, filled in with `prefill` where given."""
    spec = step_spec(step)
    modal = FormModal(spec.title, custom_id=custom_id, timeout=None, auto_defer=False)
    for field in spec.fields:
        # Discord rejects a default longer than the input allows; a hostile client
        # may have sent more than that.
        default = prefill.get(field.key, "")[: field.max_length] or None
        modal.add_item(
            ui.TextInput(
                field.label,
                style=_STYLES[field.style],
                custom_id=field.key,
                required=field.required,
                max_length=field.max_length,
                placeholder=field.placeholder,
                default_value=default,
            )
        )
    return modal


def email_modal(custom_id: str, current: str) -> FormModal:
    """Return the one-field form that corrects the confirmation address."""
    modal = FormModal(
        messages.EMAIL_MODAL_TITLE, custom_id=custom_id, timeout=None, auto_defer=False
    )
    modal.add_item(
        ui.TextInput(
            messages.EMAIL_FIELD_LABEL,
            custom_id="email",
            required=True,
            max_length=MAX_EMAIL_LENGTH,
            placeholder=messages.EMAIL_FIELD_PLACEHOLDER,
            default_value=current or None,
        )
    )
    return modal


def submitted_values(data: Mapping[str, object]) -> dict[str, str]:
    """Return {input custom_id: value} from a modal submit's data, however it is nested.

    Discord wraps text inputs in action rows, and newer clients in label components;
    walking the tree reads both.
    """
    found: dict[str, str] = {}
    stack: list[object] = [data.get("components", [])]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if "custom_id" in item and isinstance(item.get("value"), str):
                found[str(item["custom_id"])] = item["value"]
            for key in ("components", "component"):
                if key in item:
                    stack.append(item[key])
    return found
