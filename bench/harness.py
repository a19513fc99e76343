"""Shared plumbing of the benchmarks: the bot in a child process, customers, and the figures.

The layout every benchmark uses: the wire-level Discord stand-in and the load generator
(customers pressing buttons) run in the benchmark's own process; the bot under test runs
as `python -m orderbot` (or `python -m bench.floor_bot`) in a child process pointed at the
stand-in, so its CPU time and memory can be read from /proc/<pid>/ on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.standin import DiscordStandIn, FakeUser, InteractionCallback, InteractionHandle
from tests.standin.model import ChannelState, MessageRecord

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
SHIPPED_TEMPLATE = REPO / "config" / "email_template.json"
ORDER_COMMANDS = ("order_form", "order_status", "ping", "run_diagnostics")
CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
GENERIC_ERROR_TEXT = "Something went wrong"

# The seven interactions of one order, in the order a customer makes them.
STEPS = (
    "order_form",
    "submit_step1",
    "continue_step2",
    "submit_step2",
    "continue_step3",
    "submit_step3",
    "submit_order",
)
STEP_TITLES = {
    "order_form": "/order_form -> step 1 modal",
    "submit_step1": "submit step 1 -> message",
    "continue_step2": "Continue to Step 2 -> modal",
    "submit_step2": "submit step 2 -> message",
    "continue_step3": "Continue to Final Step -> modal",
    "submit_step3": "submit step 3 -> review",
    "submit_order": "Submit Order -> message",
}
CONTINUE_LABELS = {1: "Continue to Step 2", 2: "Continue to Final Step"}
SUBMIT_LABEL = "Submit Order"
CALLBACK_MESSAGE = 4
CALLBACK_MODAL = 9

# Every value a customer types carries the customer's number, so an email (or a post)
# can be checked to hold exactly its own customer's data.
TOKEN = re.compile(r"(?:ORD-|STY-|PN|CL|SHIP|NOTE)(\d{6})")


# Figures and output.


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile (fraction 0.99 for p99) of the values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary_ms(samples_ns: Sequence[int]) -> dict[str, float]:
    """Return count, p50, p90, p99, max and mean in milliseconds of nanosecond samples."""
    ms = [s / 1e6 for s in samples_ns]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 0.50), 3),
        "p90": round(percentile(ms, 0.90), 3),
        "p99": round(percentile(ms, 0.99), 3),
        "max": round(max(ms), 3),
        "mean": round(statistics.fmean(ms), 3),
    }


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Return a plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [
            value.ljust(widths[i]) if i == 0 else value.rjust(widths[i])
            for i, value in enumerate(row)
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def ratio(a: float, b: float) -> float:
    """Return a / b, or NaN when b is zero."""
    return a / b if b else math.nan


def machine() -> dict[str, Any]:
    """Describe where the figures were taken."""
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        # Other work on the machine skews every figure; this says how busy it was.
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def code_version() -> dict[str, Any]:
    """Return the commit measured, and whether orderbot/ had uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "orderbot_uncommitted_changes": bool(git("status", "--porcelain", "orderbot")),
    }


def write_results(name: str, payload: Mapping[str, Any]) -> Path:
    """Write a benchmark's figures to bench/results/<name>.json and return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    body = {"benchmark": name, "machine": machine(), "code": code_version(), **payload}
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return path


# The bot's process.


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time a process has used, from /proc/<pid>/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces; the fields after it are fixed.
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_SECOND


def rss_kb(pid: int) -> int:
    """Return a process's resident memory in KiB, from /proc/<pid>/status (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def write_outbox_config(folder: Path, **config: Any) -> Path:
    """Write a config folder for a bot with no SMTP login: confirmations go to an outbox."""
    values: dict[str, Any] = {
        "shop_name": "Bench Shop",
        "outbox_dir": str(folder / "outbox"),
        **BENCH_LIMITS,
        **config,
    }
    return _write_config(folder, values)


def write_smtp_config(folder: Path, host: str, port: int, **config: Any) -> Path:
    """Write a config folder for a bot sending through a plain local SMTP server."""
    values: dict[str, Any] = {
        "shop_name": "Bench Shop",
        "smtp_server": host,
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_timeout_seconds": 15,
        "outbox_dir": str(folder / "outbox"),
        **BENCH_LIMITS,
        **config,
    }
    return _write_config(folder, values)


# Limits that would refuse a benchmark's customers; everything else keeps its default.
BENCH_LIMITS: dict[str, Any] = {
    "order_cooldown_seconds": 0,
    "max_live_orders": 100_000,
    "max_emails_per_user_per_day": 1000,
    "max_emails_per_address_per_day": 1000,
}


def _write_config(folder: Path, values: Mapping[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(values), encoding="utf-8")
    shutil.copyfile(SHIPPED_TEMPLATE, folder / "email_template.json")
    return folder


def bot_environment(
    standin: DiscordStandIn, config_dir: Path | None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return the environment of a bot process pointed at the stand-in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENDER_", "DISCORD_"))}
    env |= {
        "PYTHONPATH": str(REPO),
        "DISCORD_BOT_TOKEN": standin.token,
        "DISCORD_API_BASE_URL": standin.base_url,
    }
    if config_dir is not None:
        env["ORDERBOT_CONFIG_DIR"] = str(config_dir)
    env |= dict(extra or {})
    return env


BOT_MODULES = {"orderbot": "orderbot", "floor": "bench.floor_bot"}


@dataclass
class BotProcess:
    """A bot under test in its own process, its stderr going to a log file."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path
    launched_at: float

    @property
    def pid(self) -> int:
        """Return the process id."""
        return self.process.pid

    def cpu_seconds(self) -> float:
        """Return the CPU time (user + system) the bot has used so far."""
        return cpu_seconds(self.pid)

    def rss_kb(self) -> int:
        """Return the bot's resident memory in KiB."""
        return rss_kb(self.pid)

    def log_tail(self, lines: int = 15) -> str:
        """Return the end of the bot's log, for error reports."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def errors_logged(self) -> list[str]:
        """Return the ERROR and CRITICAL lines of the bot's log."""
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if "| ERROR |" in line or "| CRITICAL |" in line]

    async def stop(self) -> int:
        """Stop the bot with SIGTERM (killing it after 30 s) and return its exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode or 0


async def launch_bot(
    name: str,
    standin: DiscordStandIn,
    workdir: Path,
    *,
    config_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> BotProcess:
    """Start `python -m <bot>` in workdir, pointed at the stand-in; do not wait for it."""
    log_path = workdir / f"{name}.log"
    log_file = _open_log(log_path)
    launched = time.perf_counter()
    with log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            BOT_MODULES[name],
            *args,
            cwd=workdir,
            env=bot_environment(standin, config_dir, env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file,
        )
    return BotProcess(name, process, log_path, launched)


def _open_log(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


async def wait_serving(bot: BotProcess, standin: DiscordStandIn, timeout: float = 30) -> None:  # noqa: ASYNC109
    """Wait until the bot got READY and its commands are registered; fail if it exits first."""

    async def ready() -> None:
        await standin.wait_ready(timeout=timeout)
        await standin.wait_commands_synced(ORDER_COMMANDS, timeout=timeout)

    waiter = asyncio.ensure_future(ready())
    exited = asyncio.ensure_future(bot.process.wait())
    done, _ = await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
    if waiter in done:
        exited.cancel()
        waiter.result()
        return
    waiter.cancel()
    raise RuntimeError(f"{bot.name} exited with {bot.process.returncode}:\n{bot.log_tail()}")


async def start_bot(
    name: str,
    standin: DiscordStandIn,
    workdir: Path,
    *,
    config_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> BotProcess:
    """Start a bot process and return it once it serves the stand-in."""
    bot = await launch_bot(name, standin, workdir, config_dir=config_dir, env=env)
    try:
        await wait_serving(bot, standin)
    except BaseException:
        await bot.stop()
        raise
    return bot


# Customers.


def answers_for(n: int) -> dict[int, dict[str, str]]:
    """Return valid answers for the three steps, unique to customer number n."""
    tag = f"{n:06d}"
    return {
        1: {
            "order_number": f"ORD-{tag}",
            "estimated_arrival_start_date": "2026-12-24",
            "estimated_arrival_end_date": "2026-12-31",
            "product_image_url": f"https://example.com/p/{tag}.jpg",
            "product_name": f"Boots PN{tag}",
        },
        2: {
            "style_id": f"STY-{tag}",
            "product_size": "10",
            "product_condition": "New",
            "purchase_price": "$150.00",
            "color": f"Black CL{tag}",
        },
        3: {
            "shipping_address": f"{n} Main St, Springfield SHIP{tag}",
            "notes": f"Leave at the desk NOTE{tag}",
        },
    }


def email_for(n: int) -> str:
    """Return customer number n's own email address."""
    return f"customer{n:06d}@example.com"


class FlowError(Exception):
    """Raised when the bot answered an interaction with something other than expected."""

    def __init__(self, step: str, kind: str, detail: str = "") -> None:
        super().__init__(f"{step}: {kind} {detail}".rstrip())
        self.step = step
        self.kind = kind


@dataclass
class Samples:
    """Latencies per step, and what went wrong, for one set of customers."""

    latency_ns: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in STEPS})
    errors: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    completed: int = 0
    submits: list[InteractionHandle] = field(default_factory=list)

    def add(self, step: str, handle: InteractionHandle) -> None:
        """Record one answered interaction's latency."""
        latency = handle.latency_ns
        if latency is not None:
            self.latency_ns[step].append(latency)
        self.answered += 1

    def merge(self, other: Samples) -> None:
        """Add another set's samples to this one."""
        for step, values in other.latency_ns.items():
            self.latency_ns[step].extend(values)
        self.errors.update(other.errors)
        self.answered += other.answered
        self.completed += other.completed
        self.submits.extend(other.submits)

    def all_ns(self) -> list[int]:
        """Return every step's samples together."""
        return [v for values in self.latency_ns.values() for v in values]


def _button(callback: InteractionCallback, label: str, step: str) -> str:
    for button in callback.buttons():
        if button.label == label:
            return str(button.custom_id)
    raise FlowError(step, "missing button", repr(label))


async def _answer(
    handle: InteractionHandle,
    step: str,
    expected_type: int,
    timeout: float,  # noqa: ASYNC109
) -> InteractionCallback:
    """Wait for the bot's callback and check it is the kind of reply this step expects."""
    try:
        callback = await handle.response(timeout)
    except TimeoutError:
        kind = "refused callback" if handle.rejected else "no answer"
        raise FlowError(step, kind) from None
    if handle.rejected:
        raise FlowError(step, "refused callback", str(handle.rejected[0]))
    if GENERIC_ERROR_TEXT in (callback.content or ""):
        raise FlowError(step, "generic error")
    if callback.type != expected_type:
        raise FlowError(step, "wrong reply", f"type {callback.type}: {callback.content!r:.80}")
    if expected_type == CALLBACK_MESSAGE and not callback.ephemeral:
        raise FlowError(step, "not ephemeral")
    return callback


async def order_flow(
    standin: DiscordStandIn,
    user: FakeUser,
    n: int,
    samples: Samples,
    *,
    last_step: str = "submit_order",
    timeout: float = 30.0,  # noqa: ASYNC109
) -> None:
    """Walk one customer from /order_form up to `last_step`, recording each step's latency.

    Raises FlowError at the first reply that is missing, refused or of the wrong kind.
    """
    answers = answers_for(n)
    handle = await standin.slash("order_form", {"email": email_for(n)}, user=user)
    callback = await _answer(handle, "order_form", CALLBACK_MODAL, timeout)
    samples.add("order_form", handle)
    for step in (1, 2, 3):
        if last_step == "order_form":
            break
        name = f"submit_step{step}"
        handle = await standin.submit_modal(callback.modal().custom_id, answers[step], user=user)
        callback = await _answer(handle, name, CALLBACK_MESSAGE, timeout)
        samples.add(name, handle)
        custom_id = _button(callback, CONTINUE_LABELS.get(step, SUBMIT_LABEL), name)
        if last_step == name:
            break
        name = f"continue_step{step + 1}" if step < 3 else "submit_order"
        handle = await standin.click(custom_id, message=handle.original, user=user)
        expected = CALLBACK_MODAL if step < 3 else CALLBACK_MESSAGE
        callback = await _answer(handle, name, expected, timeout)
        samples.add(name, handle)
        if last_step == name:
            break
    if last_step == "submit_order":
        samples.submits.append(handle)
    samples.completed += 1


async def run_customers(
    count: int,
    in_flight: int,
    customer: Callable[[int], Awaitable[None]],
) -> None:
    """Run `count` customers (0..count-1), `in_flight` of them progressing at any time."""
    numbers = iter(range(count))

    async def worker() -> None:
        for n in numbers:
            await customer(n)

    await asyncio.gather(*(worker() for _ in range(min(in_flight, count))))


@dataclass
class Crowd:
    """Distinct customers of one stand-in, numbered, created as they are first needed."""

    standin: DiscordStandIn
    users: list[FakeUser] = field(default_factory=list)

    def user(self, n: int) -> FakeUser:
        """Return customer number n, creating customers up to n."""
        while len(self.users) <= n:
            self.users.append(self.standin.make_user(f"customer{len(self.users)}"))
        return self.users[n]


async def drive(
    standin: DiscordStandIn,
    crowd: Crowd,
    numbers: range,
    in_flight: int,
    *,
    last_step: str = "submit_order",
    timeout: float = 30.0,  # noqa: ASYNC109
) -> Samples:
    """Walk the customers numbered `numbers` through the flow; collect samples and errors."""
    samples = Samples()
    start = numbers.start

    async def customer(i: int) -> None:
        n = start + i
        try:
            await order_flow(
                standin, crowd.user(n), n, samples, last_step=last_step, timeout=timeout
            )
        except FlowError as error:
            samples.errors[f"{error.step}: {error.kind}"] += 1

    for n in numbers:
        crowd.user(n)
    await run_customers(len(numbers), in_flight, customer)
    return samples


# What orderbot does after Submit Order, outside the interaction's answer.


class ChannelPosts:
    """Counts the bot's own posts in a channel (not interaction replies), as they arrive."""

    def __init__(self, channel: ChannelState) -> None:
        self.channel = channel
        self._seen = 0
        self.posts: list[MessageRecord] = []

    def update(self) -> int:
        """Take in the messages posted since the last call; return the number of posts."""
        messages = self.channel.messages
        while self._seen < len(messages):
            message = messages[self._seen]
            self._seen += 1
            if message.webhook_id is None and message.interaction_metadata is None:
                self.posts.append(message)
        return len(self.posts)


async def wait_until(
    check: Callable[[], bool],
    seconds: float,
    what: str,
    interval: float = 0.05,
) -> bool:
    """Poll check() until it holds or `seconds` pass; log and return False if they pass."""
    deadline = time.perf_counter() + seconds
    while not check():
        if time.perf_counter() > deadline:
            log.warning("Gave up waiting for %s after %.0f s", what, seconds)
            return False
        await asyncio.sleep(interval)
    return True


def followed_up(handles: Sequence[InteractionHandle]) -> int:
    """Return how many of the interactions got at least one follow-up message."""
    return sum(1 for handle in handles if handle.followups)


# A real SMTP server in its own process that also reports what it received.


def _serve_mailbox(options: dict[str, Any], conn: multiprocessing.connection.Connection) -> None:
    from tests.smtp_server import SmtpTestServer

    with SmtpTestServer(**options) as server:
        conn.send((server.host, server.port))
        while True:
            command = conn.recv()
            if command == "count":
                conn.send(server.stats.accepted)
            elif command == "stats":
                conn.send(server.stats)
            elif command == "digest":
                conn.send([_digest(m.rcpt_tos, m.message) for m in server.messages])
            elif command == "reset":
                server.reset()
                conn.send(True)
            else:
                conn.send(True)
                return


def _digest(recipients: list[str], message: Any) -> tuple[list[str], str]:
    texts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            texts.append(str(part.get_content()))
    return list(recipients), "\n".join(texts)


class Mailbox:
    """An SMTP server (aiosmtpd, plain, AUTH required) in a child process.

    Unlike tests.smtp_server.SmtpServerProcess it also hands back, for every message
    it accepted, the recipients and the text of the message, so a benchmark can check
    each email carries its own customer's data.
    """

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        options = {"security": "none", "auth": True, "keep_messages": True}
        self._process = context.Process(target=_serve_mailbox, args=(options, child), daemon=True)

    def __enter__(self) -> Mailbox:
        self._process.start()
        if not self._conn.poll(30):
            self._process.kill()
            raise TimeoutError("the SMTP server process did not start")
        self.host, self.port = self._conn.recv()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process.is_alive():
            self._conn.send("stop")
            self._conn.recv()
            self._process.join(10)
        if self._process.is_alive():
            self._process.kill()

    @property
    def pid(self) -> int:
        """Return the server process's id."""
        assert self._process.pid is not None
        return self._process.pid

    def _ask(self, command: str) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def count(self) -> int:
        """Return how many messages the server accepted."""
        return int(self._ask("count"))

    def stats(self) -> Any:
        """Return the server's counters (tests.smtp_server.ServerStats)."""
        return self._ask("stats")

    def digest(self) -> list[tuple[list[str], str]]:
        """Return (recipients, text) of every accepted message."""
        return list(self._ask("digest"))

    def reset(self) -> None:
        """Forget the messages and counters so far."""
        self._ask("reset")


def check_emails(digest: Sequence[tuple[list[str], str]], numbers: Iterable[int]) -> dict[str, int]:
    """Check every customer got exactly one email, to their address, with only their data."""
    expected = {email_for(n): n for n in numbers}
    seen: Counter[int] = Counter()
    problems: Counter[str] = Counter()
    for recipients, text in digest:
        if len(recipients) != 1 or recipients[0] not in expected:
            problems["wrong or extra recipient"] += 1
            continue
        n = expected[recipients[0]]
        seen[n] += 1
        tokens = set(TOKEN.findall(text))
        if tokens != {f"{n:06d}"}:
            problems["carries another customer's data" if tokens else "no order data"] += 1
        elif f"ORD-{n:06d}" not in text:
            problems["order number missing"] += 1
    missing = sum(1 for n in expected.values() if seen[n] == 0)
    duplicates = sum(count - 1 for count in seen.values() if count > 1)
    return {
        "received": len(digest),
        "customers_with_email": len(seen),
        "missing": missing,
        "duplicates": duplicates,
        "bad": sum(problems.values()),
        **{f"bad: {kind}": count for kind, count in problems.items()},
    }
