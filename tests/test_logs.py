"""The log format and the filter that keeps secrets out of every line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from orderbot.logs import REDACTED, setup_logging
from tests.conftest import TEST_TOKEN


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    yield out
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_setup_logging_format_and_quiet_libraries(stream: io.StringIO) -> None:
    setup_logging("INFO", stream=stream)

    logging.getLogger("orderbot.test").info("Order %s moved to %s", "REF-X", "done")
    logging.getLogger("nextcord.gateway").info("chatty library line")

    [line] = stream.getvalue().splitlines()
    assert line.endswith(" | INFO | orderbot.test | Order REF-X moved to done")


def test_redaction_scrubs_secrets_in_messages_and_tracebacks(stream: io.StringIO) -> None:
    redactor = setup_logging("INFO", stream=stream)
    redactor.update(["hunter2-app-password"])
    log = logging.getLogger("orderbot.test")

    log.warning("login with %s", "hunter2-app-password")
    try:
        raise RuntimeError(f"token was {TEST_TOKEN}")
    except RuntimeError:
        log.exception("failed")

    output = stream.getvalue()
    assert "hunter2-app-password" not in output
    assert TEST_TOKEN not in output
    assert output.count(REDACTED) == 2


def test_redaction_catches_token_shaped_strings_from_libraries(stream: io.StringIO) -> None:
    setup_logging("WARNING", stream=stream)

    logging.getLogger("nextcord.http").warning("Authorization: Bot %s", TEST_TOKEN)

    assert TEST_TOKEN not in stream.getvalue()
