"""Read buttons, text inputs and modals out of Discord component trees."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COMPONENT_ACTION_ROW",
    "COMPONENT_BUTTON",
    "COMPONENT_LABEL",
    "COMPONENT_TEXT_INPUT",
    "ButtonSpec",
    "ModalSpec",
    "TextInputSpec",
    "buttons_in",
    "find_component",
    "iter_components",
    "modal_from_data",
]

COMPONENT_ACTION_ROW = 1
COMPONENT_BUTTON = 2
COMPONENT_TEXT_INPUT = 4
COMPONENT_LABEL = 18

BUTTON_STYLE_LINK = 5


@dataclass(slots=True, frozen=True)
class ButtonSpec:
    """A button as the user sees it."""

    custom_id: str | None
    label: str | None
    style: int
    disabled: bool
    url: str | None = None
    emoji: Mapping[str, Any] | None = None


@dataclass(slots=True, frozen=True)
class TextInputSpec:
    """A text input in a modal, with the limits the Discord client enforces while typing."""

    custom_id: str
    label: str | None
    style: int
    required: bool
    min_length: int | None
    max_length: int | None
    value: str | None
    placeholder: str | None


@dataclass(slots=True, frozen=True)
class ModalSpec:
    """A modal the bot opened (callback type 9)."""

    custom_id: str
    title: str
    fields: tuple[TextInputSpec, ...]
    raw: Mapping[str, Any]

    @property
    def custom_ids(self) -> list[str]:
        """Return the text inputs' custom_ids, in display order."""
        return [spec.custom_id for spec in self.fields]

    @property
    def labels(self) -> list[str | None]:
        """Return the text inputs' labels, in display order."""
        return [spec.label for spec in self.fields]

    @property
    def max_lengths(self) -> dict[str, int | None]:
        """Return each text input's max_length by custom_id."""
        return {spec.custom_id: spec.max_length for spec in self.fields}

    def field(self, custom_id: str) -> TextInputSpec:
        """Return the text input with this custom_id."""
        for spec in self.fields:
            if spec.custom_id == custom_id:
                return spec
        raise LookupError(f"modal {self.custom_id!r} has no field {custom_id!r}")


def iter_components(components: Sequence[Mapping[str, Any]] | None) -> Iterator[Mapping[str, Any]]:
    """Yield every interactive component in a tree: inside action rows, labels and containers."""
    for component in components or ():
        nested = component.get("components")
        if nested is not None:
            yield from iter_components(nested)
        child = component.get("component")
        if child is not None:
            yield from iter_components((child,))
        accessory = component.get("accessory")
        if accessory is not None:
            yield from iter_components((accessory,))
        if nested is None and child is None:
            yield component


def find_component(
    components: Sequence[Mapping[str, Any]] | None, custom_id: str
) -> Mapping[str, Any] | None:
    """Return the component with this custom_id, or None."""
    for component in iter_components(components):
        if component.get("custom_id") == custom_id:
            return component
    return None


def buttons_in(components: Sequence[Mapping[str, Any]] | None) -> list[ButtonSpec]:
    """Return the buttons in a component tree, in display order."""
    return [
        ButtonSpec(
            custom_id=component.get("custom_id"),
            label=component.get("label"),
            style=int(component.get("style", 1)),
            disabled=bool(component.get("disabled", False)),
            url=component.get("url"),
            emoji=component.get("emoji"),
        )
        for component in iter_components(components)
        if component.get("type") == COMPONENT_BUTTON
    ]


def modal_from_data(data: Mapping[str, Any]) -> ModalSpec:
    """Build a ModalSpec from the ``data`` of a type 9 interaction callback."""
    fields: list[TextInputSpec] = []
    for component in data.get("components") or ():
        # A legacy action row holds the input in "components"; a Label holds it in "component"
        # and carries the label itself.
        label = component.get("label") if component.get("type") == COMPONENT_LABEL else None
        for item in iter_components((component,)):
            if item.get("type") != COMPONENT_TEXT_INPUT:
                continue
            fields.append(
                TextInputSpec(
                    custom_id=item["custom_id"],
                    label=item.get("label", label),
                    style=int(item.get("style", 1)),
                    required=bool(item.get("required", True)),
                    min_length=item.get("min_length"),
                    max_length=item.get("max_length"),
                    value=item.get("value"),
                    placeholder=item.get("placeholder"),
                )
            )
    return ModalSpec(
        custom_id=data["custom_id"], title=data.get("title", ""), fields=tuple(fields), raw=data
    )
