"""The command line: run the bot, check the configuration, draw the diagram, try the email."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from orderbot import __version__
from orderbot.config import Settings, load_settings, resolve_config_dir
from orderbot.fsm.diagram import FORMATS, render
from orderbot.fsm.machine import OrderMachine
from orderbot.fsm.states import OrderState
from orderbot.logs import RedactSecrets

log = logging.getLogger(__name__)

DEFAULT_PREVIEW_FILE = Path("preview/email-preview.html")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for `python -m orderbot` and its sub-commands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="folder with config.json and email_template.json "
        "(default: $ORDERBOT_CONFIG_DIR, else ./config)",
    )
    common.add_argument(
        "--env-file",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="file with DISCORD_BOT_TOKEN, SENDER_EMAIL and SENDER_PASSWORD (default: ./.env)",
    )
    parser = argparse.ArgumentParser(
        prog="python -m orderbot",
        description="Run orderbot, the Discord order desk, or one of its tools.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"orderbot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "run",
        parents=[common],
        help="run the bot (the default when no command is given)",
        description="Connect to Discord and take orders until stopped with Ctrl+C or SIGTERM.",
    )
    commands.add_parser(
        "check",
        parents=[common],
        help="validate the configuration and show it with secrets masked",
        description="Validate .env, config.json and email_template.json; "
        "exit 0 if usable, 1 if not.",
    )
    diagram = commands.add_parser(
        "diagram",
        parents=[common],
        help="draw the order state diagram",
        description="Draw the order state diagram from the state machine's own definition.",
    )
    diagram.add_argument("--format", choices=FORMATS, default="mermaid", help="default: mermaid")
    diagram.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    preview = commands.add_parser(
        "preview-email",
        parents=[common],
        help="render the confirmation email for a sample order to an HTML file",
        description="Render the configured email template with a realistic sample order.",
    )
    preview.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default=str(DEFAULT_PREVIEW_FILE),
        help=f"HTML file to write (default: {DEFAULT_PREVIEW_FILE})",
    )
    test_email = commands.add_parser(
        "send-test-email",
        parents=[common],
        help="send one test email through the configured SMTP server",
        description="Send one test message and say which step failed if it does not arrive.",
    )
    test_email.add_argument("address", help="where to send the test message")
    return parser


def load(args: argparse.Namespace, *, require_token: bool) -> Settings:
    """Load the settings the command line points at."""
    config_dir = resolve_config_dir(getattr(args, "config_dir", None), os.environ)
    env_file = Path(getattr(args, "env_file", ".env"))
    return load_settings(config_dir, env_file=env_file, require_token=require_token)


def command_check(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Validate the configuration and print it with every secret masked."""
    settings = load(args, require_token=True)
    redactor.update(settings.secrets())
    print(f"Configuration OK ({settings.config_dir})")
    rows = settings.summary()
    width = max(len(name) for name in rows)
    for name, value in rows.items():
        print(f"  {name:<{width}}  {value}")
    return 0


def command_diagram(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Print or write the state diagram."""
    text = render(_diagram_machine(), args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(args.output)
    else:
        sys.stdout.write(text)
    return 0


def _diagram_machine() -> OrderMachine:
    async def never_sends(order: object) -> None:
        raise AssertionError("the diagram machine never sends email")

    def never_spawns(coro: Coroutine[Any, Any, OrderState]) -> asyncio.Task[OrderState]:
        raise AssertionError("the diagram machine never starts tasks")

    return OrderMachine(deliver=never_sends, spawn=never_spawns)


# The commands below import their heavy dependencies (nextcord, aiosmtplib) when they
# run, so `check` and `diagram` start in a fraction of the time nextcord takes to import.


def command_preview_email(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Render the template with a sample order and print the file's path."""
    from orderbot.email.tools import preview_email

    settings = load(args, require_token=False)
    path = preview_email(settings, Path(args.output))
    print(path.resolve())
    return 0


def command_send_test_email(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Send one test message and explain the failing step if it does not go through."""
    from orderbot.email.tools import send_test_email

    settings = load(args, require_token=False)
    redactor.update(settings.secrets())
    report = asyncio.run(send_test_email(settings, args.address))
    if report.ok:
        print(report.explanation)
        return 0
    print(f"Failed at: {report.step}", file=sys.stderr)
    print(report.explanation, file=sys.stderr)
    return 1


def command_run(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Run the bot until it is stopped."""
    settings = load(args, require_token=True)
    redactor.update(settings.secrets())
    from orderbot.app import run

    return run(settings, args=args, redactor=redactor)


COMMANDS: dict[str, Callable[[argparse.Namespace, RedactSecrets], int]] = {
    "run": command_run,
    "check": command_check,
    "diagram": command_diagram,
    "preview-email": command_preview_email,
    "send-test-email": command_send_test_email,
}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; no command means `run`."""
    args = build_parser().parse_args(argv)
    args.command = args.command or "run"
    return args
