"""Component and modal custom_ids: a prefix, the action and the session they belong to.

Every button and modal the bot sends names its own route, so one dispatcher can
act on it without any View or Modal object kept in memory: it survives gateway
resumes, re-IDENTIFYs (which wipe nextcord's modal store) and restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from orderbot.fsm.order import REFERENCE_PREFIX

PREFIX = "ob"
SEPARATOR = ":"
# Discord allows custom_ids of 1 to 100 characters.
MAX_CUSTOM_ID_LENGTH = 100


class Action(Enum):
    """What a button or modal asks the bot to do."""

    STEP_MODAL = "m"
    EMAIL_MODAL = "em"
    CONTINUE = "c"
    FIX = "f"
    RESUME = "r"
    RESTART = "rs"
    SUBMIT = "s"
    EDIT = "e"
    CANCEL = "x"
    RETRY = "rt"
    CHANGE_EMAIL = "ce"


_ACTIONS = {a.value: a for a in Action}


@dataclass(frozen=True, slots=True)
class Route:
    """A decoded custom_id."""

    action: Action
    server_id: int
    user_id: int
    reference: str
    step: int = 0

    @property
    def key(self) -> tuple[int, int]:
        """Return the session key the route belongs to."""
        return (self.server_id, self.user_id)


def encode(action: Action, server_id: int, user_id: int, reference: str, step: int = 0) -> str:
    """Return the custom_id for an action on one customer's order."""
    short_ref = reference.removeprefix(REFERENCE_PREFIX)
    custom_id = SEPARATOR.join(
        (PREFIX, action.value, str(server_id), str(user_id), short_ref, str(step))
    )
    if len(custom_id) > MAX_CUSTOM_ID_LENGTH:
        raise ValueError(f"custom_id of {len(custom_id)} characters is over Discord's limit")
    return custom_id


def decode(custom_id: str) -> Route | None:
    """Return the route a custom_id names, or None if it is not one of ours."""
    parts = custom_id.split(SEPARATOR)
    if len(parts) != 6 or parts[0] != PREFIX:
        return None
    action = _ACTIONS.get(parts[1])
    if action is None or not (parts[2].isdigit() and parts[3].isdigit() and parts[5].isdigit()):
        return None
    return Route(action, int(parts[2]), int(parts[3]), REFERENCE_PREFIX + parts[4], int(parts[5]))
