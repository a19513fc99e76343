"""Load and validate orderbot's configuration from .env, the environment and config/."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from orderbot.config_keys import CONFIG_KEYS, InvalidValue, SmtpSecurity
from orderbot.email.template import EmailTemplate, unknown_placeholders
from orderbot.errors import ConfigError, ConfigProblem, MissingTokenError
from orderbot.form import FORM, FormDefinitionError, check_form, parse_email_address

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
TEMPLATE_FILE = "email_template.json"
DEFAULT_CONFIG_DIR = "config"
DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
ENV_CONFIG_DIR = "ORDERBOT_CONFIG_DIR"


class Secret:
    """A string that never shows its value in repr(), str() or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the real value, for the one call that needs it."""
        return self._value

    def masked(self) -> str:
        """Return a mask that shows only that a value is set and how long it is."""
        return f"set ({len(self._value)} characters, hidden)"

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting orderbot runs with, validated."""

    discord_token: Secret
    api_base_url: str
    sender_email: str | None
    sender_password: Secret | None
    config_dir: Path
    template: EmailTemplate
    smtp_server: str = "smtp.gmail.com"
    smtp_port: int = 587
    smtp_security: SmtpSecurity = "starttls"
    smtp_timeout_seconds: float = 15.0
    smtp_retry_budget_seconds: float = 60.0
    smtp_ca_file: Path | None = None
    reply_to: str | None = None
    shop_name: str = "My Shop"
    session_timeout_seconds: int = 900
    session_reap_interval_seconds: float = 30.0
    max_live_orders: int = 10_000
    order_cooldown_seconds: int = 30
    max_emails_per_user_per_day: int = 10
    max_emails_per_address_per_day: int = 10
    public_summary_hidden_fields: tuple[str, ...] = ("shipping_address", "email", "notes")
    summary_channel_id: int | None = None
    staff_channel_id: int | None = None
    dev_guild_id: int | None = None
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    outbox_dir: Path = field(default_factory=lambda: Path("outbox"))
    shutdown_grace_seconds: float = 20.0
    log_level: str = "INFO"

    @property
    def uses_outbox(self) -> bool:
        """Whether emails go to the outbox folder because no SMTP login is configured."""
        return self.sender_email is None or self.sender_password is None

    def secrets(self) -> list[str]:
        """Return every secret value, for the log filter that scrubs them."""
        values = [self.discord_token.reveal()]
        if self.sender_password is not None:
            values.append(self.sender_password.reveal())
        return [v for v in values if v]

    def summary(self) -> dict[str, str]:
        """Describe the settings for `check`, with every secret masked."""
        rows = {
            "config folder": str(self.config_dir),
            "DISCORD_BOT_TOKEN": self.discord_token.masked(),
            "DISCORD_API_BASE_URL": self.api_base_url,
            "SENDER_EMAIL": self.sender_email or "not set (emails go to the outbox)",
            "SENDER_PASSWORD": (
                self.sender_password.masked() if self.sender_password else "not set"
            ),
        }
        for name in CONFIG_KEYS:
            rows[name] = _show(getattr(self, name))
        rows["email template"] = f"subject {self.template.subject!r}"
        return rows


def _show(value: object) -> str:
    if value is None:
        return "not set"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


TEMPLATE_KEYS = ("subject", "html_body")


def resolve_config_dir(cli_value: str | None, environ: Mapping[str, str]) -> Path:
    """Pick the configuration folder: --config-dir, then ORDERBOT_CONFIG_DIR, then config/."""
    return Path(cli_value or environ.get(ENV_CONFIG_DIR) or DEFAULT_CONFIG_DIR)


def read_environment(env_file: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Merge the .env file under the real environment, which wins."""
    merged: dict[str, str] = {}
    if env_file.is_file():
        # interpolate=False keeps a "$" inside a password as typed.
        for key, value in dotenv_values(env_file, interpolate=False).items():
            if value is not None:
                merged[key] = value
    merged.update(environ)
    return merged


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _read_json(path: Path, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        problems.append(
            ConfigProblem(str(path), "(file)", exc.strerror or "unreadable", "a readable file")
        )
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        problems.append(
            ConfigProblem(
                str(path),
                "(file)",
                f"invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})",
                "a JSON object",
            )
        )
        return None
    if not isinstance(data, dict):
        problems.append(ConfigProblem(str(path), "(file)", _describe(data), "a JSON object"))
        return None
    return data


def _load_options(path: Path, problems: list[ConfigProblem]) -> dict[str, Any]:
    data = _read_json(path, problems)
    options: dict[str, Any] = {}
    for key, value in (data or {}).items():
        spec = CONFIG_KEYS.get(key)
        if spec is None:
            known = ", ".join(sorted(CONFIG_KEYS))
            problems.append(ConfigProblem(str(path), key, "unknown key", f"one of: {known}"))
            continue
        try:
            options[key] = spec.convert(value)
        except InvalidValue:
            problems.append(ConfigProblem(str(path), key, _describe(value), spec.expected))
    return options


def _load_template(path: Path, problems: list[ConfigProblem]) -> EmailTemplate | None:
    data = _read_json(path, problems)
    if data is None:
        return None
    if not path.is_file():
        problems.append(ConfigProblem(str(path), "(file)", "missing", "the email template file"))
        return None
    parts: dict[str, str] = {}
    for key, value in data.items():
        if key not in TEMPLATE_KEYS:
            problems.append(
                ConfigProblem(str(path), key, "unknown key", "one of: " + ", ".join(TEMPLATE_KEYS))
            )
            continue
        # The body may be written as a list of lines, which is far easier to edit in JSON.
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "\n".join(value)
        if not isinstance(value, str) or not value.strip():
            problems.append(
                ConfigProblem(
                    str(path), key, _describe(value), "a non-empty string or list of lines"
                )
            )
            continue
        parts[key] = value
    for key in TEMPLATE_KEYS:
        if key not in parts and not any(p.key == key for p in problems):
            problems.append(ConfigProblem(str(path), key, "missing", "a non-empty string"))
    if len(parts) != len(TEMPLATE_KEYS):
        return None
    return EmailTemplate(subject=parts["subject"], html_body=parts["html_body"])


def _check_api_base_url(value: str, problems: list[ConfigProblem]) -> str:
    url = value.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(
            ConfigProblem(
                "environment",
                "DISCORD_API_BASE_URL",
                _describe(value),
                "an http(s) URL such as https://discord.com/api/v10",
            )
        )
    return url


def _read_secrets(
    env: Mapping[str, str], problems: list[ConfigProblem]
) -> tuple[str | None, Secret | None]:
    sender = env.get("SENDER_EMAIL", "").strip() or None
    password = env.get("SENDER_PASSWORD", "") or None
    if sender is not None and parse_email_address(sender) is None:
        problems.append(
            ConfigProblem("environment", "SENDER_EMAIL", _describe(sender), "an email address")
        )
    if sender is None or password is None:
        missing = [n for n, v in (("SENDER_EMAIL", sender), ("SENDER_PASSWORD", password)) if not v]
        log.warning(
            "%s not set: confirmation emails will be written to the outbox folder, not sent",
            " and ".join(missing),
        )
    return sender, Secret(password) if password is not None else None


def load_settings(
    config_dir: Path,
    *,
    env_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    require_token: bool = True,
) -> Settings:
    """Read and validate every setting, raising ConfigError with all problems at once.

    Args:
        config_dir: folder holding config.json and email_template.json.
        env_file: the .env file; defaults to .env in the working folder.
        environ: the process environment; defaults to os.environ.
        require_token: False for tools that never log in to Discord.
    """
    env = read_environment(env_file or Path(".env"), os.environ if environ is None else environ)
    problems: list[ConfigProblem] = []
    token = env.get("DISCORD_BOT_TOKEN", "").strip()
    if require_token and not token:
        raise MissingTokenError(
            [ConfigProblem("environment", "DISCORD_BOT_TOKEN", "not set", "the bot's token")]
        )

    api_base_url = _check_api_base_url(
        env.get("DISCORD_API_BASE_URL", "").strip() or DEFAULT_API_BASE_URL,
        problems,
    )
    sender, password = _read_secrets(env, problems)
    options = _load_options(config_dir / CONFIG_FILE, problems)
    template = _load_template(config_dir / TEMPLATE_FILE, problems)
    _check_combinations(config_dir / CONFIG_FILE, options, problems)
    if template is not None:
        problems.extend(_template_problems(config_dir / TEMPLATE_FILE, template))
    problems.extend(_form_problems())
    if problems or template is None:
        raise ConfigError(problems)

    return Settings(
        discord_token=Secret(token),
        api_base_url=api_base_url,
        sender_email=sender,
        sender_password=password,
        config_dir=config_dir,
        template=template,
        **options,
    )


def _check_combinations(
    path: Path,
    options: dict[str, Any],
    problems: list[ConfigProblem],
) -> None:
    shard_count = options.get("shard_count")
    shard_ids = options.get("shard_ids")
    if shard_ids is not None and shard_count is None:
        problems.append(
            ConfigProblem(str(path), "shard_ids", _describe(list(shard_ids)), "shard_count set too")
        )
    if shard_ids is not None and shard_count is not None and max(shard_ids) >= shard_count:
        problems.append(
            ConfigProblem(
                str(path),
                "shard_ids",
                _describe(list(shard_ids)),
                f"shard numbers below shard_count ({shard_count})",
            )
        )
    ca_file = options.get("smtp_ca_file")
    if ca_file is not None and not ca_file.is_file():
        problems.append(
            ConfigProblem(
                str(path), "smtp_ca_file", _describe(str(ca_file)), "an existing PEM file"
            )
        )


def _form_problems() -> list[ConfigProblem]:
    # The form is code, but it is checked with the configuration so that `check` and
    # start-up report a form Discord would refuse, before any customer opens it.
    try:
        check_form(FORM)
    except FormDefinitionError as exc:
        return [ConfigProblem("orderbot/form.py", "FORM", str(exc), "Discord's modal limits")]
    return []


def _template_problems(path: Path, template: EmailTemplate) -> list[ConfigProblem]:
    return [
        ConfigProblem(str(path), key, "{{" + name + "}}", "a known placeholder")
        for key, name in unknown_placeholders(template)
    ]
