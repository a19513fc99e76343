"""The floor: a bare nextcord bot that answers orderbot's interactions with canned replies.

Run as `python -m bench.floor_bot` with DISCORD_BOT_TOKEN and DISCORD_API_BASE_URL set,
exactly like `python -m orderbot`. It registers the same command names and walks a
customer through the same seven interactions with no logic at all:

- /order_form opens a canned five-field modal (the shape of orderbot's step 1);
- a modal submit gets a canned ephemeral message with one button;
- Continue to Step 2 / Continue to Final Step open the canned modal of that step;
- Submit Order gets a canned ephemeral message.

Replies are built once and reused, views go out untracked (prevent_update=False) and
modals are stopped, so nextcord keeps no per-customer state. The client is built with
orderbot's own options (guilds intent only, no mentions, no chunking), so what is left is
the library's own cost of parsing, dispatching and answering an interaction: the floor
orderbot's latency and CPU are compared against.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping
from typing import Any

import nextcord
from nextcord import Interaction, InteractionType, SlashOption, ui

# Only data: the form's titles, labels and limits, so the canned modals weigh what
# orderbot's do on the wire and accept the same submitted field ids.
from orderbot.form import FORM, Style

log = logging.getLogger("bench.floor_bot")

CONTINUE_LABELS = {1: "Continue to Step 2", 2: "Continue to Final Step"}
SUBMIT_LABEL = "Submit Order"
MODAL_ID = "floor:modal:{step}"
CONTINUE_ID = "floor:continue:{step}"
SUBMIT_ID = "floor:submit"
STEP_SAVED = "Step {step} of 3 saved. Step {following} of 3 is next."
REVIEW = "Review your order, then press Submit Order."
SUBMITTED = "Order submitted. Your confirmation email is on its way."
_STYLES = {
    Style.SHORT: nextcord.TextInputStyle.short,
    Style.PARAGRAPH: nextcord.TextInputStyle.paragraph,
}


class _Canned:
    """The replies, built once inside the running loop (modals need one) and reused."""

    def __init__(self) -> None:
        self.modals = {spec.number: _modal(spec.number) for spec in FORM}
        self.after_submit: dict[int, tuple[str, ui.View]] = {
            1: (STEP_SAVED.format(step=1, following=2), _one_button(CONTINUE_LABELS[1], 2)),
            2: (STEP_SAVED.format(step=2, following=3), _one_button(CONTINUE_LABELS[2], 3)),
            3: (REVIEW, _one_button(SUBMIT_LABEL, 0)),
        }
        self.by_custom_id: dict[str, int] = {}
        for number in self.modals:
            self.by_custom_id[MODAL_ID.format(step=number)] = number


def _modal(step: int) -> ui.Modal:
    spec = FORM[step - 1]
    modal = ui.Modal(spec.title, custom_id=MODAL_ID.format(step=step), timeout=None)
    for field in spec.fields:
        modal.add_item(
            ui.TextInput(
                field.label,
                style=_STYLES[field.style],
                custom_id=field.key,
                required=field.required,
                max_length=field.max_length,
                placeholder=field.placeholder,
            )
        )
    # A stopped modal is never dispatched to, so the submit reaches on_interaction.
    modal.stop()
    return modal


def _one_button(label: str, step: int) -> ui.View:
    custom_id = CONTINUE_ID.format(step=step) if step else SUBMIT_ID
    view = ui.View(timeout=None, prevent_update=False)
    view.add_item(ui.Button(label=label, custom_id=custom_id, style=nextcord.ButtonStyle.primary))
    return view


class FloorBot(nextcord.Client):
    """Answer orderbot's commands, forms and buttons with canned replies."""

    def __init__(self) -> None:
        super().__init__(
            intents=nextcord.Intents(guilds=True),
            allowed_mentions=nextcord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
        )
        self.canned: _Canned | None = None

    def replies(self) -> _Canned:
        """Return the canned replies, building them on first use."""
        if self.canned is None:
            self.canned = _Canned()
        return self.canned

    async def on_interaction(self, interaction: Interaction[Any]) -> None:
        """Answer buttons and forms here; leave slash commands to nextcord, as orderbot does."""
        if interaction.type is InteractionType.modal_submit:
            await self._submitted(interaction)
        elif interaction.type is InteractionType.component:
            await self._clicked(interaction)
        else:
            await super().on_interaction(interaction)

    async def _submitted(self, interaction: Interaction[Any]) -> None:
        canned = self.replies()
        data: Mapping[str, object] = interaction.data or {}
        step = canned.by_custom_id.get(str(data.get("custom_id")), 3)
        content, view = canned.after_submit[step]
        await interaction.response.send_message(content, ephemeral=True, view=view)

    async def _clicked(self, interaction: Interaction[Any]) -> None:
        data: Mapping[str, object] = interaction.data or {}
        custom_id = str(data.get("custom_id"))
        if custom_id == SUBMIT_ID:
            await interaction.response.send_message(SUBMITTED, ephemeral=True)
            return
        step = int(custom_id.rsplit(":", 1)[1])
        await interaction.response.send_modal(self.replies().modals[step])


def build() -> FloorBot:
    """Return the floor client with orderbot's command names registered."""
    bot = FloorBot()

    async def order_form(
        interaction: Interaction[Any],
        email: str = SlashOption(description="Your email", required=True, max_length=254),
    ) -> None:
        await interaction.response.send_modal(bot.replies().modals[1])

    async def order_status(interaction: Interaction[Any]) -> None:
        await interaction.response.send_message("No live order.", ephemeral=True)

    async def ping(interaction: Interaction[Any]) -> None:
        await interaction.response.send_message("Pong!", ephemeral=True)

    async def run_diagnostics(interaction: Interaction[Any]) -> None:
        await interaction.response.send_message("All good.", ephemeral=True)

    # Applied as calls: nextcord's decorators are untyped.
    bot.slash_command(name="order_form", description="Start an order")(order_form)
    bot.slash_command(name="order_status", description="Where is my order")(order_status)
    bot.slash_command(name="ping", description="Check the bot")(ping)
    bot.slash_command(name="run_diagnostics", description="Health report")(run_diagnostics)
    return bot


async def serve(token: str) -> int:
    """Run the floor until SIGTERM or SIGINT; return the exit code."""
    bot = build()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    client = asyncio.create_task(bot.start(token))
    stopper = asyncio.create_task(stopping.wait())
    await asyncio.wait({client, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    await bot.close()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await client
    return 0


def main() -> int:
    """Read the same environment variables as orderbot and run the floor."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s | %(levelname)s | %(name)s | %(message)s"
    )
    nextcord.http.Route.BASE = os.environ.get("DISCORD_API_BASE_URL", nextcord.http.Route.BASE)
    return asyncio.run(serve(os.environ["DISCORD_BOT_TOKEN"]))


if __name__ == "__main__":
    sys.exit(main())
