"""Configuration loading: defaults, sources, and every kind of bad value."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from orderbot.config import (
    DEFAULT_API_BASE_URL,
    load_settings,
    read_environment,
    resolve_config_dir,
)
from orderbot.errors import ConfigError, MissingTokenError
from tests.conftest import TEST_TOKEN


def _write_config(config_dir: Path, **changes: Any) -> None:
    path = config_dir / "config.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _load(config_dir: Path, tmp_path: Path, environ: dict[str, str] | None = None):
    env = {"DISCORD_BOT_TOKEN": TEST_TOKEN} if environ is None else environ
    return load_settings(config_dir, env_file=tmp_path / "absent.env", environ=env)


def _problems(config_dir: Path, tmp_path: Path) -> list[Any]:
    with pytest.raises(ConfigError) as caught:
        _load(config_dir, tmp_path)
    return caught.value.problems


def test_load_settings_shipped_defaults(config_dir: Path, tmp_path: Path) -> None:
    settings = _load(config_dir, tmp_path)

    assert settings.smtp_server == "smtp.gmail.com"
    assert settings.smtp_port == 587
    assert settings.smtp_security == "starttls"
    assert settings.session_timeout_seconds == 900
    assert settings.order_cooldown_seconds == 30
    assert settings.max_emails_per_user_per_day == 10
    assert settings.public_summary_hidden_fields == ("shipping_address", "email", "notes")
    assert settings.api_base_url == DEFAULT_API_BASE_URL
    assert settings.uses_outbox


def test_load_settings_empty_config_uses_defaults(config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "config.json").write_text("{}")

    settings = _load(config_dir, tmp_path)

    assert settings.smtp_port == 587
    assert settings.shop_name == "My Shop"


def test_load_settings_missing_token_raises_named_error(config_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(MissingTokenError) as caught:
        _load(config_dir, tmp_path, environ={})

    assert caught.value.problems[0].key == "DISCORD_BOT_TOKEN"


def test_load_settings_token_not_required_for_tools(config_dir: Path, tmp_path: Path) -> None:
    settings = load_settings(
        config_dir,
        env_file=tmp_path / "absent.env",
        environ={},
        require_token=False,
    )

    assert settings.discord_token.reveal() == ""


def test_read_environment_real_environment_wins_over_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('SENDER_EMAIL=file@example.com\nSENDER_PASSWORD="pa$HOME ss"\n')

    merged = read_environment(env_file, {"SENDER_EMAIL": "env@example.com"})

    assert merged["SENDER_EMAIL"] == "env@example.com"
    assert merged["SENDER_PASSWORD"] == "pa$HOME ss"


def test_load_settings_reads_credentials_from_dotenv(config_dir: Path, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"DISCORD_BOT_TOKEN={TEST_TOKEN}\nSENDER_EMAIL=shop@example.com\nSENDER_PASSWORD=s3cret-pw\n"
    )

    settings = load_settings(config_dir, env_file=env_file, environ={})

    assert settings.sender_email == "shop@example.com"
    assert settings.sender_password is not None
    assert settings.sender_password.reveal() == "s3cret-pw"
    assert not settings.uses_outbox


def test_load_settings_missing_credentials_warns(
    config_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        _load(config_dir, tmp_path)

    assert "SENDER_EMAIL and SENDER_PASSWORD not set" in caplog.text
    assert "outbox" in caplog.text


def test_resolve_config_dir_prefers_cli_then_environment() -> None:
    env = {"ORDERBOT_CONFIG_DIR": "/etc/orderbot"}

    assert resolve_config_dir("/srv/cfg", env) == Path("/srv/cfg")
    assert resolve_config_dir(None, env) == Path("/etc/orderbot")
    assert resolve_config_dir(None, {}) == Path("config")


def test_load_settings_malformed_json_names_file_and_position(
    config_dir: Path, tmp_path: Path
) -> None:
    (config_dir / "config.json").write_text('{"smtp_port": 587,,}')

    [problem] = _problems(config_dir, tmp_path)

    assert problem.source.endswith("config.json")
    assert "invalid JSON at line 1" in problem.value


def test_load_settings_unknown_key_is_an_error(config_dir: Path, tmp_path: Path) -> None:
    _write_config(config_dir, smtp_prot=587)

    [problem] = _problems(config_dir, tmp_path)

    assert problem.key == "smtp_prot"
    assert problem.value == "unknown key"
    assert "smtp_port" in problem.expected


@pytest.mark.parametrize(
    ("key", "value", "expected_fragment"),
    [
        ("smtp_port", 70000, "1 to 65535"),
        ("smtp_port", "587", "1 to 65535"),
        ("smtp_port", True, "1 to 65535"),
        ("smtp_port", 0, "1 to 65535"),
        ("smtp_security", "ssl", '"starttls"'),
        ("smtp_server", "smtp gmail com", "host name"),
        ("session_timeout_seconds", -5, "seconds"),
        ("session_timeout_seconds", 12.5, "whole number"),
        ("order_cooldown_seconds", "30", "seconds"),
        ("max_emails_per_user_per_day", 0, "1 to 1000"),
        ("shop_name", "", "shop name"),
        ("shop_name", "Evil\r\nBcc: x@example.com", "one line"),
        ("public_summary_hidden_fields", ["shipping_adress"], "form keys"),
        ("public_summary_hidden_fields", "notes", "form keys"),
        ("staff_channel_id", -1, "channel id"),
        ("staff_channel_id", "abc", "channel id"),
        ("reply_to", "not an address", "email address"),
        ("log_level", "LOUD", "DEBUG"),
        ("shard_ids", [], "shard numbers"),
    ],
)
def test_load_settings_bad_value_names_key_value_and_expectation(
    config_dir: Path, tmp_path: Path, key: str, value: Any, expected_fragment: str
) -> None:
    _write_config(config_dir, **{key: value})

    [problem] = _problems(config_dir, tmp_path)

    assert problem.key == key
    assert problem.source.endswith("config.json")
    assert expected_fragment in problem.expected
    assert problem.value


def test_load_settings_reports_every_problem_at_once(config_dir: Path, tmp_path: Path) -> None:
    _write_config(config_dir, smtp_port=-1, smtp_security="tls1.3", colour="red")

    problems = _problems(config_dir, tmp_path)

    assert sorted(p.key for p in problems) == ["colour", "smtp_port", "smtp_security"]


def test_load_settings_channel_id_accepts_string_snowflake(
    config_dir: Path, tmp_path: Path
) -> None:
    _write_config(config_dir, staff_channel_id="1234567890123456789")

    assert _load(config_dir, tmp_path).staff_channel_id == 1234567890123456789


def test_load_settings_shard_ids_must_fit_shard_count(config_dir: Path, tmp_path: Path) -> None:
    _write_config(config_dir, shard_count=2, shard_ids=[0, 2])

    [problem] = _problems(config_dir, tmp_path)

    assert problem.key == "shard_ids"
    assert "below shard_count" in problem.expected


def test_load_settings_missing_ca_file_is_an_error(config_dir: Path, tmp_path: Path) -> None:
    _write_config(config_dir, smtp_ca_file=str(tmp_path / "nope.pem"))

    [problem] = _problems(config_dir, tmp_path)

    assert problem.key == "smtp_ca_file"


def test_load_settings_bad_sender_email_never_shows_password(
    config_dir: Path, tmp_path: Path
) -> None:
    env = {
        "DISCORD_BOT_TOKEN": TEST_TOKEN,
        "SENDER_EMAIL": "shop at example",
        "SENDER_PASSWORD": "hunter2-secret",
    }
    with pytest.raises(ConfigError) as caught:
        _load(config_dir, tmp_path, environ=env)

    assert caught.value.problems[0].key == "SENDER_EMAIL"
    assert "hunter2-secret" not in str(caught.value)


def test_load_settings_bad_api_base_url(config_dir: Path, tmp_path: Path) -> None:
    env = {"DISCORD_BOT_TOKEN": TEST_TOKEN, "DISCORD_API_BASE_URL": "discord.com/api"}
    with pytest.raises(ConfigError) as caught:
        _load(config_dir, tmp_path, environ=env)

    assert caught.value.problems[0].key == "DISCORD_API_BASE_URL"


def test_load_settings_api_base_url_trailing_slash_removed(
    config_dir: Path, tmp_path: Path
) -> None:
    env = {
        "DISCORD_BOT_TOKEN": TEST_TOKEN,
        "DISCORD_API_BASE_URL": "http://127.0.0.1:8080/api/v10/",
    }

    assert _load(config_dir, tmp_path, environ=env).api_base_url == "http://127.0.0.1:8080/api/v10"


def test_load_settings_template_unknown_placeholder(config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "email_template.json").write_text(
        json.dumps({"subject": "Order {{reference}}", "html_body": "<p>{{prodcut_name}}</p>"})
    )

    [problem] = _problems(config_dir, tmp_path)

    assert problem.source.endswith("email_template.json")
    assert problem.key == "html_body"
    assert problem.value == "{{prodcut_name}}"


def test_load_settings_template_body_as_list_of_lines(config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "email_template.json").write_text(
        json.dumps(
            {"subject": "Order {{reference}}", "html_body": ["<p>", "{{product_name}}", "</p>"]}
        )
    )

    assert _load(config_dir, tmp_path).template.html_body == "<p>\n{{product_name}}\n</p>"


@pytest.mark.parametrize(
    "template",
    [
        {"subject": "x"},
        {"subject": "x", "html_body": "y", "footer": "z"},
        {"subject": 3, "html_body": "y"},
    ],
)
def test_load_settings_template_shape_errors(
    config_dir: Path, tmp_path: Path, template: dict[str, Any]
) -> None:
    (config_dir / "email_template.json").write_text(json.dumps(template))

    problems = _problems(config_dir, tmp_path)

    assert problems
    assert all(p.source.endswith("email_template.json") for p in problems)


def test_load_settings_missing_template_file(config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "email_template.json").unlink()

    [problem] = _problems(config_dir, tmp_path)

    assert problem.value == "missing"


def test_settings_summary_masks_secrets(config_dir: Path, tmp_path: Path) -> None:
    env = {
        "DISCORD_BOT_TOKEN": TEST_TOKEN,
        "SENDER_EMAIL": "shop@example.com",
        "SENDER_PASSWORD": "hunter2-secret",
    }
    settings = _load(config_dir, tmp_path, environ=env)

    shown = "\n".join(settings.summary().values()) + repr(settings)

    assert TEST_TOKEN not in shown
    assert "hunter2-secret" not in shown
    assert "hidden" in settings.summary()["SENDER_PASSWORD"]
