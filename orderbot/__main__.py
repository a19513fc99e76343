"""Entry point: `python -m orderbot [COMMAND]` wires logging, configuration and the command."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from orderbot.cli import COMMANDS, parse
from orderbot.errors import ConfigError, MissingTokenError
from orderbot.logs import setup_logging

log = logging.getLogger("orderbot")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return the process exit code."""
    args = parse(argv)
    redactor = setup_logging("INFO")
    try:
        return COMMANDS[args.command](args, redactor)
    except MissingTokenError:
        log.critical(
            "DISCORD_BOT_TOKEN is not set: put it in .env (see .env.example) or the environment"
        )
        return 1
    except ConfigError as exc:
        for problem in exc.problems:
            log.error("Configuration problem: %s", problem)
        log.critical("The configuration has %d problem(s); nothing was started", len(exc.problems))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
