"""The command line, run as an operator runs it: `python -m orderbot ...` in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from orderbot.fsm.states import TRANSITIONS, OrderState
from tests.conftest import REPO, TEST_TOKEN
from tests.smtp_server import PASSWORD, USERNAME, SmtpTestServer, write_config


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISCORD_BOT_TOKEN", "SENDER_EMAIL", "SENDER_PASSWORD", "ORDERBOT_CONFIG_DIR")
    }
    base["PYTHONPATH"] = str(REPO)
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "orderbot", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def workdir(tmp_path: Path, config_dir: Path) -> Path:
    """A working folder holding config/ and nothing else (no .env)."""
    assert config_dir.parent == tmp_path
    return tmp_path


def _edit_config(workdir: Path, **changes: object) -> None:
    path = workdir / "config" / "config.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_check_good_configuration_exits_0_with_masked_summary(workdir: Path) -> None:
    env = {
        "DISCORD_BOT_TOKEN": TEST_TOKEN,
        "SENDER_EMAIL": "s@example.com",
        "SENDER_PASSWORD": "app-password-1234",
    }

    result = run_cli("check", cwd=workdir, env=env)

    assert result.returncode == 0, result.stderr
    assert "Configuration OK" in result.stdout
    assert "smtp_port" in result.stdout and "587" in result.stdout
    assert "hidden" in result.stdout
    assert TEST_TOKEN not in result.stdout + result.stderr
    assert "app-password-1234" not in result.stdout + result.stderr


def test_check_missing_token_one_critical_line_exit_1(workdir: Path) -> None:
    result = run_cli("check", cwd=workdir)

    assert result.returncode == 1
    critical = [line for line in result.stderr.splitlines() if "| CRITICAL |" in line]
    assert len(critical) == 1
    assert "DISCORD_BOT_TOKEN" in critical[0]


def test_run_missing_token_one_critical_line_exit_1(workdir: Path) -> None:
    result = run_cli(cwd=workdir)

    assert result.returncode == 1
    assert re.search(r"\| CRITICAL \| .*DISCORD_BOT_TOKEN", result.stderr)
    assert "Traceback" not in result.stderr


def test_check_reads_token_from_dotenv_in_working_folder(workdir: Path) -> None:
    (workdir / ".env").write_text(f"DISCORD_BOT_TOKEN={TEST_TOKEN}\n")

    result = run_cli("check", cwd=workdir)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ('{"smtp_port": 587,', ["config.json", "invalid JSON"]),
        ('{"smpt_server": "x"}', ["config.json", "smpt_server", "unknown key"]),
        ('{"smtp_port": "587"}', ["config.json", "smtp_port", "'587'", "whole number"]),
        ('{"smtp_port": 99999}', ["config.json", "smtp_port", "99999", "1 to 65535"]),
    ],
    ids=["malformed-json", "unknown-key", "wrong-type", "bad-port"],
)
def test_check_bad_configuration_exits_1_naming_the_problem(
    workdir: Path, content: str, fragments: list[str]
) -> None:
    (workdir / "config" / "config.json").write_text(content)

    result = run_cli("check", cwd=workdir, env={"DISCORD_BOT_TOKEN": TEST_TOKEN})

    assert result.returncode == 1
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_dir_option_and_environment(workdir: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    (workdir / "config").rename(other)
    env = {"DISCORD_BOT_TOKEN": TEST_TOKEN}

    by_option = run_cli("check", "--config-dir", str(other), cwd=workdir, env=env)
    by_env = run_cli("check", cwd=workdir, env={**env, "ORDERBOT_CONFIG_DIR": str(other)})

    assert by_option.returncode == 0, by_option.stderr
    assert by_env.returncode == 0, by_env.stderr
    assert str(other) in by_env.stdout


def test_diagram_prints_every_state_and_transition(workdir: Path) -> None:
    result = run_cli("diagram", cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("stateDiagram-v2")
    for state in OrderState:
        assert state.value in result.stdout
    for move in TRANSITIONS:
        for source in move.sources:
            assert f"{source.value} --> {move.dest.value}: {move.trigger.value}" in result.stdout


def test_diagram_dot_to_file(workdir: Path) -> None:
    target = workdir / "fsm.dot"

    result = run_cli("diagram", "--format", "dot", "-o", str(target), cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert target.read_text().startswith("digraph order {")
    assert 'review -> emailing [label="submit"];' in target.read_text()


def test_docs_fsm_matches_the_machine(workdir: Path) -> None:
    result = run_cli("diagram", cwd=workdir)
    page = (REPO / "docs" / "fsm.md").read_text()

    block = page.split("```mermaid\n", 1)[1].split("```", 1)[0]

    assert block == result.stdout, (
        "docs/fsm.md is stale: regenerate it with `python -m orderbot diagram`"
    )


@pytest.mark.parametrize(
    "command", [[], ["run"], ["check"], ["diagram"], ["preview-email"], ["send-test-email"]]
)
def test_help_for_every_command(workdir: Path, command: list[str]) -> None:
    result = run_cli(*command, "--help", cwd=workdir)

    assert result.returncode == 0
    assert "usage: python -m orderbot" in result.stdout


def test_preview_email_writes_an_html_page(workdir: Path) -> None:
    target = workdir / "preview.html"

    result = run_cli("preview-email", "-o", str(target), cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(target.resolve())
    page = target.read_text()
    assert "<table" in page and "REF-" in page


def _smtp_workdir(workdir: Path, server: SmtpTestServer) -> dict[str, str]:
    write_config(server, workdir / "config")
    return {"SENDER_EMAIL": USERNAME, "SENDER_PASSWORD": PASSWORD}


def test_send_test_email_delivers_through_the_configured_server(
    workdir: Path, smtp_server_factory: Callable[..., SmtpTestServer]
) -> None:
    server = smtp_server_factory(security="starttls")
    env = _smtp_workdir(workdir, server)

    result = run_cli("send-test-email", "owner@example.com", cwd=workdir, env=env)

    assert result.returncode == 0, result.stderr
    [received] = server.messages
    assert received.rcpt_tos == ["owner@example.com"] and received.tls
    assert PASSWORD not in result.stdout + result.stderr


def test_send_test_email_wrong_password_names_authentication(
    workdir: Path, smtp_server_factory: Callable[..., SmtpTestServer]
) -> None:
    server = smtp_server_factory(security="starttls")
    env = {**_smtp_workdir(workdir, server), "SENDER_PASSWORD": "not-the-password"}

    result = run_cli("send-test-email", "owner@example.com", cwd=workdir, env=env)

    assert result.returncode == 1
    assert "Failed at: authentication" in result.stderr
    assert "app password" in result.stderr
    assert "not-the-password" not in result.stdout + result.stderr


def test_send_test_email_refuses_a_server_without_starttls(
    workdir: Path, smtp_server_factory: Callable[..., SmtpTestServer]
) -> None:
    server = smtp_server_factory(security="none", auth_require_tls=False)
    env = _smtp_workdir(workdir, server)
    config = workdir / "config" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "smtp_security": "starttls"}))

    result = run_cli("send-test-email", "owner@example.com", cwd=workdir, env=env)

    assert result.returncode == 1
    assert "Failed at: tls" in result.stderr
    assert "STARTTLS" in result.stderr
    assert server.stats.auth_commands == 0, "no credentials may be sent in the clear"
