"""Exception types shared by every part of orderbot."""

from __future__ import annotations

from dataclasses import dataclass


class OrderBotError(Exception):
    """Base class of every error orderbot raises on purpose."""


class UserFacingError(OrderBotError):
    """An expected problem whose message is written for the customer and safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with the configuration, precise enough for an operator to fix it."""

    source: str
    key: str
    value: str
    expected: str

    def __str__(self) -> str:
        return f"{self.source}: {self.key} = {self.value}: expected {self.expected}"


class ConfigError(OrderBotError):
    """Raised when the configuration cannot be used; carries every problem found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class MissingTokenError(ConfigError):
    """Raised when DISCORD_BOT_TOKEN is not set anywhere."""
