"""Interactions the stand-in sends to the bot, and what the bot answered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .components import ButtonSpec, ModalSpec, buttons_in, modal_from_data
from .model import MESSAGE_FLAG_EPHEMERAL, MessageRecord, UploadedFile
from .waiting import Notifier

if TYPE_CHECKING:
    from .model import CommandRecord, FakeUser

__all__ = [
    "CALLBACK_DEFERRED_MESSAGE",
    "CALLBACK_DEFERRED_UPDATE",
    "CALLBACK_MESSAGE",
    "CALLBACK_MODAL",
    "CALLBACK_UPDATE_MESSAGE",
    "INTERACTION_APPLICATION_COMMAND",
    "INTERACTION_MESSAGE_COMPONENT",
    "INTERACTION_MODAL_SUBMIT",
    "InteractionCallback",
    "InteractionHandle",
]

INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5

CALLBACK_PONG = 1
CALLBACK_MESSAGE = 4
CALLBACK_DEFERRED_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9

ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    INTERACTION_PING: frozenset({CALLBACK_PONG}),
    INTERACTION_APPLICATION_COMMAND: frozenset(
        {CALLBACK_MESSAGE, CALLBACK_DEFERRED_MESSAGE, CALLBACK_MODAL}
    ),
    INTERACTION_MESSAGE_COMPONENT: frozenset(
        {
            CALLBACK_MESSAGE,
            CALLBACK_DEFERRED_MESSAGE,
            CALLBACK_DEFERRED_UPDATE,
            CALLBACK_UPDATE_MESSAGE,
            CALLBACK_MODAL,
        }
    ),
    INTERACTION_AUTOCOMPLETE: frozenset({CALLBACK_AUTOCOMPLETE_RESULT}),
    # Discord: a modal cannot be answered with another modal.
    INTERACTION_MODAL_SUBMIT: frozenset(
        {
            CALLBACK_MESSAGE,
            CALLBACK_DEFERRED_MESSAGE,
            CALLBACK_DEFERRED_UPDATE,
            CALLBACK_UPDATE_MESSAGE,
        }
    ),
}
"""Which callback types Discord accepts for each interaction type."""


@dataclass(slots=True)
class InteractionCallback:
    """The bot's answer to ``POST /interactions/{id}/{token}/callback``."""

    type: int
    data: dict[str, Any] | None
    received_ns: int
    """time.perf_counter_ns() when the request arrived."""
    files: list[UploadedFile] = field(default_factory=list, repr=False)

    @property
    def flags(self) -> int:
        """Return the message flags the callback asked for."""
        return int((self.data or {}).get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Return whether the callback asked for an ephemeral message (flag 64)."""
        return bool(self.flags & MESSAGE_FLAG_EPHEMERAL)

    @property
    def content(self) -> str | None:
        """Return the message content, if the callback carried one."""
        return (self.data or {}).get("content")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """Return the callback's embeds."""
        return list((self.data or {}).get("embeds") or ())

    @property
    def components(self) -> list[dict[str, Any]]:
        """Return the callback's top-level components."""
        return list((self.data or {}).get("components") or ())

    @property
    def is_modal(self) -> bool:
        """Return whether the bot opened a modal (type 9)."""
        return self.type == CALLBACK_MODAL

    def buttons(self) -> list[ButtonSpec]:
        """Return the buttons in the callback's message, in display order."""
        return buttons_in(self.components)

    def modal(self) -> ModalSpec:
        """Return the modal the bot opened; fails unless this is a type 9 callback."""
        if self.type != CALLBACK_MODAL or self.data is None:
            raise AssertionError(f"callback type {self.type} is not a modal (type 9)")
        return modal_from_data(self.data)


class InteractionHandle:
    """One interaction sent to the bot: the payload, its timing and everything answered.

    ``dispatched_at`` is taken when the INTERACTION_CREATE frame was written to the gateway
    socket and ``responded_at`` when the first callback request arrived, both with
    time.perf_counter_ns(), so ``latency_ns`` is the bot's reaction time seen from Discord.
    """

    __slots__ = (
        "callback",
        "changed",
        "channel_id",
        "command",
        "created_ns",
        "dispatched_at",
        "followups",
        "guild_id",
        "id",
        "message",
        "original",
        "original_edits",
        "payload",
        "rejected",
        "responded_at",
        "source",
        "token",
        "type",
        "user",
    )

    def __init__(
        self,
        *,
        interaction_id: int,
        token: str,
        interaction_type: int,
        payload: dict[str, Any],
        user: FakeUser,
        guild_id: int | None,
        channel_id: int,
        created_ns: int,
        command: CommandRecord | None = None,
        message: MessageRecord | None = None,
        source: InteractionHandle | None = None,
    ) -> None:
        self.id = interaction_id
        self.token = token
        self.type = interaction_type
        self.payload = payload
        """The INTERACTION_CREATE ``d`` object as sent."""
        self.user = user
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.created_ns = created_ns
        self.command = command
        self.message = message
        """The message a component sat on (clicks, and modals opened from a click)."""
        self.source = source
        """For a modal submit: the interaction whose callback opened the modal."""
        self.dispatched_at: int | None = None
        self.responded_at: int | None = None
        self.callback: InteractionCallback | None = None
        self.rejected: list[tuple[int, dict[str, Any]]] = []
        """Callbacks refused after the first, as (HTTP status, error body)."""
        self.original: MessageRecord | None = None
        """The message ``@original`` refers to, once there is one."""
        self.followups: list[MessageRecord] = []
        self.original_edits: list[dict[str, Any]] = []
        self.changed = Notifier()

    def __repr__(self) -> str:
        return f"<InteractionHandle id={self.id} type={self.type} user={self.user.name!r}>"

    @property
    def data(self) -> dict[str, Any]:
        """Return the interaction's ``data`` object."""
        data: dict[str, Any] = self.payload["data"]
        return data

    @property
    def latency_ns(self) -> int | None:
        """Return nanoseconds from dispatch to the first callback, or None before both."""
        if self.dispatched_at is None or self.responded_at is None:
            return None
        return self.responded_at - self.dispatched_at

    @property
    def ephemeral(self) -> bool:
        """Return whether the first callback asked for an ephemeral message."""
        return self.callback is not None and self.callback.ephemeral

    @property
    def modal(self) -> ModalSpec:
        """Return the modal the bot opened in answer to this interaction."""
        if self.callback is None:
            raise AssertionError(f"interaction {self.id} has not been answered yet")
        return self.callback.modal()

    async def response(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> InteractionCallback:
        """Wait for the bot's first callback and return it."""
        return await self.changed.wait(
            lambda: self.callback, timeout, f"a callback to {self.describe()}"
        )

    async def refusal(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> tuple[int, dict[str, Any]]:
        """Wait until a callback was refused (late or repeated) and return (status, body)."""
        return await self.changed.wait(
            lambda: self.rejected[0] if self.rejected else None,
            timeout,
            f"a refused callback to {self.describe()}",
        )

    async def followup(
        self,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> list[MessageRecord]:
        """Wait until the bot has sent ``n`` follow-ups and return the first ``n``."""
        return await self.changed.wait(
            lambda: self.followups[:n] if len(self.followups) >= n else None,
            timeout,
            f"{n} follow-up(s) to {self.describe()}",
        )

    async def original_edit(
        self,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> MessageRecord:
        """Wait until ``@original`` has been edited ``n`` times and return the message."""
        return await self.changed.wait(
            lambda: self.original if len(self.original_edits) >= n else None,
            timeout,
            f"{n} edit(s) of @original of {self.describe()}",
        )

    async def wait_original(
        self,
        predicate: Callable[[MessageRecord], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> MessageRecord:
        """Wait until ``@original`` exists and satisfies ``predicate``, and return it."""

        def check() -> MessageRecord | None:
            original = self.original
            return original if original is not None and predicate(original) else None

        return await self.changed.wait(check, timeout, f"@original of {self.describe()}")

    def describe(self) -> str:
        """Return a short description for error messages."""
        if self.command is not None:
            what = f"/{self.command.name}"
        else:
            what = str(self.data.get("custom_id", "?"))
        return f"interaction {self.id} ({what}, type {self.type}) from {self.user.name}"
