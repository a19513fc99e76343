"""Discord's documented limits on messages, components, modals and commands.

nextcord checks almost none of these before sending, so the stand-in answers a breach the way
Discord does, with 400 code 50035 "Invalid Form Body" and an ``errors`` tree naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .components import COMPONENT_ACTION_ROW, COMPONENT_BUTTON, COMPONENT_TEXT_INPUT

__all__ = [
    "MESSAGE_FLAG_COMPONENTS_V2",
    "FormErrors",
    "check_command",
    "check_message",
    "check_modal",
    "is_empty_message",
]

MESSAGE_FLAG_COMPONENTS_V2 = 1 << 15

MESSAGE_CONTENT_MAX_CHARS = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX_CHARS = 6000
EMBED_FIELD_LIMITS = {"title": 256, "description": 4096}
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX_CHARS = 256
EMBED_FIELD_VALUE_MAX_CHARS = 1024
EMBED_FOOTER_MAX_CHARS = 2048
EMBED_AUTHOR_MAX_CHARS = 256
ACTION_ROWS_MAX = 5
BUTTONS_PER_ROW_MAX = 5
BUTTON_LABEL_MAX_CHARS = 80
CUSTOM_ID_MAX_CHARS = 100
MODAL_TITLE_MAX_CHARS = 45
MODAL_COMPONENTS_MAX = 5
TEXT_INPUT_LABEL_MAX_CHARS = 45
TEXT_INPUT_PLACEHOLDER_MAX_CHARS = 100
TEXT_INPUT_VALUE_MAX_CHARS = 4000
COMMAND_NAME_PATTERN = re.compile(r"^[-_'\w]{1,32}$")
COMMAND_DESCRIPTION_MAX_CHARS = 100
COMMAND_OPTIONS_MAX = 25

Path = tuple[str | int, ...]


class FormErrors:
    """Collect field errors and render them like Discord's 50035 response body."""

    __slots__ = ("_errors",)

    def __init__(self) -> None:
        self._errors: list[tuple[Path, str, str]] = []

    def __bool__(self) -> bool:
        return bool(self._errors)

    def add(self, path: Path, code: str, message: str) -> None:
        """Record one error for the field at ``path``."""
        self._errors.append((path, code, message))

    def max_length(self, path: Path, value: object, limit: int) -> None:
        """Record an error if a string is longer than ``limit``."""
        if isinstance(value, str) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def length_between(self, path: Path, value: object, low: int, high: int) -> None:
        """Record an error unless a string's length is within ``low``..``high``."""
        if not isinstance(value, str) or not low <= len(value) <= high:
            self.add(
                path,
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between {low} and {high} in length.",
            )

    def count_between(self, path: Path, count: int, low: int, high: int) -> None:
        """Record an error unless a list's size is within ``low``..``high``."""
        if not low <= count <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def body(self) -> dict[str, Any]:
        """Return the JSON error body."""
        tree: dict[str, Any] = {}
        for path, code, message in self._errors:
            node = tree
            for part in path:
                node = node.setdefault(str(part), {})
            node.setdefault("_errors", []).append({"code": code, "message": message})
        return {"code": 50035, "message": "Invalid Form Body", "errors": tree}


def is_empty_message(body: Mapping[str, Any], files: int = 0) -> bool:
    """Return whether a message body has nothing to show (Discord answers 50006)."""
    return not (
        body.get("content")
        or body.get("embeds")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("attachments")
        or body.get("poll")
        or files
    )


def check_message(body: Mapping[str, Any], errors: FormErrors, prefix: Path = ()) -> None:
    """Check a message create or edit body against Discord's limits."""
    errors.max_length((*prefix, "content"), body.get("content"), MESSAGE_CONTENT_MAX_CHARS)
    embeds = body.get("embeds") or ()
    if len(embeds) > EMBEDS_MAX:
        errors.add((*prefix, "embeds"), "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_MAX} or fewer.")
    total = 0
    for index, embed in enumerate(embeds):
        total += _check_embed(embed, errors, (*prefix, "embeds", index))
    if total > EMBED_TOTAL_MAX_CHARS:
        errors.add(
            (*prefix, "embeds"),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX_CHARS}",
        )
    if int(body.get("flags") or 0) & MESSAGE_FLAG_COMPONENTS_V2:
        # Components V2 layouts are not modelled; only their presence is recorded.
        return
    _check_action_rows(body.get("components") or (), errors, (*prefix, "components"))


def _check_embed(embed: Mapping[str, Any], errors: FormErrors, path: Path) -> int:
    """Check one embed and return how many characters count towards the 6000 total."""
    total = 0
    for key, limit in EMBED_FIELD_LIMITS.items():
        value = embed.get(key)
        errors.max_length((*path, key), value, limit)
        total += len(value) if isinstance(value, str) else 0
    fields = embed.get("fields") or ()
    if len(fields) > EMBED_FIELDS_MAX:
        errors.add(
            (*path, "fields"), "BASE_TYPE_MAX_LENGTH", f"Must be {EMBED_FIELDS_MAX} or fewer."
        )
    for index, item in enumerate(fields):
        name, value = item.get("name"), item.get("value")
        errors.max_length((*path, "fields", index, "name"), name, EMBED_FIELD_NAME_MAX_CHARS)
        errors.max_length((*path, "fields", index, "value"), value, EMBED_FIELD_VALUE_MAX_CHARS)
        total += len(name or "") + len(value or "")
    footer = (embed.get("footer") or {}).get("text")
    errors.max_length((*path, "footer", "text"), footer, EMBED_FOOTER_MAX_CHARS)
    author = (embed.get("author") or {}).get("name")
    errors.max_length((*path, "author", "name"), author, EMBED_AUTHOR_MAX_CHARS)
    return total + len(footer or "") + len(author or "")


def _check_action_rows(rows: Sequence[Mapping[str, Any]], errors: FormErrors, path: Path) -> None:
    """Check classic (non-V2) message components: up to 5 rows of up to 5 buttons."""
    if len(rows) > ACTION_ROWS_MAX:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {ACTION_ROWS_MAX} or fewer in length.")
    seen: set[str] = set()
    for row_index, row in enumerate(rows):
        if row.get("type") != COMPONENT_ACTION_ROW:
            errors.add(
                (*path, row_index, "type"), "UNION_TYPE_CHOICES", "Value must be an action row."
            )
            continue
        children = row.get("components") or ()
        errors.count_between(
            (*path, row_index, "components"), len(children), 1, BUTTONS_PER_ROW_MAX
        )
        for index, child in enumerate(children):
            child_path = (*path, row_index, "components", index)
            if child.get("type") == COMPONENT_BUTTON:
                errors.max_length(
                    (*child_path, "label"), child.get("label"), BUTTON_LABEL_MAX_CHARS
                )
            custom_id = child.get("custom_id")
            if custom_id is None:
                continue
            errors.length_between((*child_path, "custom_id"), custom_id, 1, CUSTOM_ID_MAX_CHARS)
            if custom_id in seen:
                errors.add(
                    (*child_path, "custom_id"),
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            seen.add(custom_id)


def check_modal(data: Mapping[str, Any], errors: FormErrors, prefix: Path = ("data",)) -> None:
    """Check a modal (callback type 9) against Discord's limits."""
    errors.length_between((*prefix, "custom_id"), data.get("custom_id"), 1, CUSTOM_ID_MAX_CHARS)
    errors.length_between((*prefix, "title"), data.get("title"), 1, MODAL_TITLE_MAX_CHARS)
    rows = data.get("components") or ()
    errors.count_between((*prefix, "components"), len(rows), 1, MODAL_COMPONENTS_MAX)
    for row_index, row in enumerate(rows):
        inner = row.get("components")
        children = inner if inner is not None else [row.get("component") or {}]
        for index, item in enumerate(children):
            path = (*prefix, "components", row_index, "components", index)
            if item.get("type") != COMPONENT_TEXT_INPUT:
                continue
            errors.length_between(
                (*path, "custom_id"), item.get("custom_id"), 1, CUSTOM_ID_MAX_CHARS
            )
            label = item.get("label", row.get("label"))
            errors.max_length((*path, "label"), label, TEXT_INPUT_LABEL_MAX_CHARS)
            errors.max_length(
                (*path, "placeholder"), item.get("placeholder"), TEXT_INPUT_PLACEHOLDER_MAX_CHARS
            )
            errors.max_length((*path, "value"), item.get("value"), TEXT_INPUT_VALUE_MAX_CHARS)
            for key, low in (("min_length", 0), ("max_length", 1)):
                limit = item.get(key)
                if limit is not None and not low <= int(limit) <= TEXT_INPUT_VALUE_MAX_CHARS:
                    errors.add(
                        (*path, key),
                        "NUMBER_TYPE_MAX" if int(limit) > low else "NUMBER_TYPE_MIN",
                        f"Must be between {low} and {TEXT_INPUT_VALUE_MAX_CHARS}.",
                    )


def check_command(payload: Mapping[str, Any], errors: FormErrors, prefix: Path = ()) -> None:
    """Check an application command create/edit body: names, descriptions, option counts."""
    command_type = int(payload.get("type", 1))
    name = payload.get("name")
    # Chat input command names must also be lower case; user and message commands need not.
    valid = isinstance(name, str) and COMMAND_NAME_PATTERN.match(name) is not None
    if not valid or (command_type == 1 and name != str(name).lower()):
        errors.add((*prefix, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if command_type == 1:
        errors.length_between(
            (*prefix, "description"), payload.get("description"), 1, COMMAND_DESCRIPTION_MAX_CHARS
        )
    _check_options(payload.get("options") or (), errors, (*prefix, "options"))


def _check_options(options: Sequence[Mapping[str, Any]], errors: FormErrors, path: Path) -> None:
    """Check a list of command options, recursing into subcommands."""
    if len(options) > COMMAND_OPTIONS_MAX:
        errors.add(
            path, "BASE_TYPE_MAX_LENGTH", f"Must be {COMMAND_OPTIONS_MAX} or fewer in length."
        )
    optional_seen = False
    for index, option in enumerate(options):
        name = option.get("name")
        if (
            not isinstance(name, str)
            or not COMMAND_NAME_PATTERN.match(name)
            or name != name.lower()
        ):
            errors.add(
                (*path, index, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Name is invalid"
            )
        errors.length_between(
            (*path, index, "description"),
            option.get("description"),
            1,
            COMMAND_DESCRIPTION_MAX_CHARS,
        )
        if int(option.get("type", 3)) in (1, 2):
            _check_options(option.get("options") or (), errors, (*path, index, "options"))
            continue
        if option.get("required"):
            if optional_seen:
                errors.add(
                    (*path, index, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
