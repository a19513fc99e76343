"""The keys config.json may hold: what each expects, and the check that converts it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from orderbot.form import FORM_KEYS, parse_email_address

SmtpSecurity = Literal["starttls", "tls", "none"]
SMTP_SECURITY_MODES: tuple[SmtpSecurity, ...] = ("starttls", "tls", "none")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# A Discord snowflake is a positive 64-bit integer.
_SNOWFLAKE_MAX = 2**64 - 1
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class KeySpec:
    """How one key of config.json is checked and converted."""

    expected: str
    convert: Callable[[Any], Any]


class InvalidValue(ValueError):
    """Raised by a converter when a value does not fit its key."""


def _integer(low: int, high: int | None = None) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue
        if value < low or (high is not None and value > high):
            raise InvalidValue
        return value

    return convert


def _number(low: float, high: float) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue
        if not low <= value <= high:
            raise InvalidValue
        return float(value)

    return convert


def _optional(inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return None if value is None else inner(value)

    return convert


def _text(max_length: int) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            raise InvalidValue
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise InvalidValue
        return value.strip()

    return convert


def _hostname(value: Any) -> str:
    if not isinstance(value, str) or not _HOSTNAME_RE.match(value):
        raise InvalidValue
    return value


def _choice(*options: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in options:
            raise InvalidValue
        return cast(str, value)

    return convert


def _path(value: Any) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue
    return Path(value)


def _snowflake(value: Any) -> int:
    # Discord ids are often copied as strings; both spellings are accepted.
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return _integer(1, _SNOWFLAKE_MAX)(value)


def _email(value: Any) -> str:
    if not isinstance(value, str) or parse_email_address(value) is None:
        raise InvalidValue
    return value


def _hidden_fields(value: Any) -> tuple[str, ...]:
    allowed = set(FORM_KEYS) | {"email"}
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidValue
    if not set(value) <= allowed:
        raise InvalidValue
    return tuple(value)


def _shard_ids(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidValue
    return tuple(_integer(0)(v) for v in value)


CONFIG_KEYS: dict[str, KeySpec] = {
    "smtp_server": KeySpec("a host name such as smtp.gmail.com", _hostname),
    "smtp_port": KeySpec("a whole number from 1 to 65535, such as 587", _integer(1, 65535)),
    "smtp_security": KeySpec(
        "one of " + ", ".join(f'"{m}"' for m in SMTP_SECURITY_MODES),
        _choice(*SMTP_SECURITY_MODES),
    ),
    "smtp_timeout_seconds": KeySpec("a number of seconds from 1 to 120", _number(1, 120)),
    "smtp_retry_budget_seconds": KeySpec("a number of seconds from 0 to 600", _number(0, 600)),
    "smtp_ca_file": KeySpec("null or the path of a PEM file", _optional(_path)),
    "reply_to": KeySpec("null or one email address", _optional(_email)),
    "shop_name": KeySpec("a shop name of 1 to 100 characters on one line", _text(100)),
    "session_timeout_seconds": KeySpec(
        "a whole number of seconds from 1 to 86400, such as 900",
        _integer(1, 86_400),
    ),
    "session_reap_interval_seconds": KeySpec(
        "a number of seconds from 0.1 to 3600",
        _number(0.1, 3600),
    ),
    "max_live_orders": KeySpec("a whole number from 1 to 1000000", _integer(1, 1_000_000)),
    "order_cooldown_seconds": KeySpec(
        "a whole number of seconds from 0 (off) to 86400",
        _integer(0, 86_400),
    ),
    "max_emails_per_user_per_day": KeySpec("a whole number from 1 to 1000", _integer(1, 1000)),
    "max_emails_per_address_per_day": KeySpec(
        "a whole number from 1 to 1000",
        _integer(1, 1000),
    ),
    "public_summary_hidden_fields": KeySpec(
        'a list of form keys, such as ["shipping_address", "email", "notes"]',
        _hidden_fields,
    ),
    "summary_channel_id": KeySpec("null or a Discord channel id", _optional(_snowflake)),
    "staff_channel_id": KeySpec("null or a Discord channel id", _optional(_snowflake)),
    "dev_guild_id": KeySpec("null or a Discord server id", _optional(_snowflake)),
    "shard_count": KeySpec("null or a whole number from 1 up", _optional(_integer(1))),
    "shard_ids": KeySpec("null or a list of shard numbers, such as [0, 1]", _optional(_shard_ids)),
    "outbox_dir": KeySpec("the path of a folder", _path),
    "shutdown_grace_seconds": KeySpec("a number of seconds from 0 to 300", _number(0, 300)),
    "log_level": KeySpec("one of " + ", ".join(LOG_LEVELS), _choice(*LOG_LEVELS)),
}
