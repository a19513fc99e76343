"""Where the bot's CPU goes per order: py-spy samples of orderbot and of the floor.

Run from the repository root (py-spy is a profiling tool, not a dependency: install it
into the venv by hand with `.venv/bin/pip install py-spy`):

    .venv/bin/python -m bench.profile [--quick] [--customers 300] [--in-flight 1]

Each bot runs as in bench.latency (its own stand-in, a child process, orderbot with its
outbox), is warmed up, and is then sampled by `py-spy record --pid` while customers walk
the whole order flow. Idle time is not sampled, so the samples are the bot's CPU. The
report gives, per bot, CPU ms per order by package and the top functions by own
(leaf) and inclusive time; the raw stacks are kept in bench/results/profile-<bot>.txt
and the figures in bench/results/profile.json.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import shutil
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.harness import RESULTS_DIR, drive, table, write_results
from bench.latency import Target, settle, start_target

log = logging.getLogger(__name__)

RATE_HZ = 1000
TOP = 20
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")
# py-spy names files relative to their sys.path entry, so the first part is the package.
_PACKAGE_NAMES = {"email": "email (stdlib)", "bench": "bench (the floor)"}


# Each sample is charged to the first of these found in its stack (root first), so the
# background work orderbot starts after answering Submit Order is told apart from the
# handlers; the floor has only the last three.
_WORK = (
    ("OrderMachine._run_delivery", "email: compose and write (background task)"),
    ("OrderFlow._report", "email follow-up message (background task)"),
    ("OrderFlow._post_summaries", "public summary post (after the reply)"),
    ("OrderFlow.order_form", "handler: /order_form"),
    ("OrderFlow._step_submitted", "handler: modal submit"),
    ("OrderFlow._open_step", "handler: Continue button"),
    ("OrderFlow._submit", "handler: Submit Order"),
    ("build.<locals>.order_form", "handler: /order_form"),
    ("FloorBot._submitted", "handler: modal submit"),
    ("FloorBot._clicked", "handler: buttons (Continue, Submit Order)"),
    ("Client._run_event", "event dispatch outside the handlers"),
    ("DiscordWebSocket.received_message", "gateway frame: parse, build Interaction"),
)
_OTHER_WORK = "event loop, sockets, HTTP responses, other"


def work_of(frames: list[str]) -> str:
    """Return which piece of work a sampled stack belongs to."""
    names = [f.split(" (", 1)[0] for f in frames]
    for marker, label in _WORK:
        if marker in names:
            return label
    return _OTHER_WORK


# Frames under every sample (start-up and the event loop's own dispatch): not worth listing.
_PLUMBING_FILES = (
    "(<frozen runpy>)",
    "(asyncio/runners.py)",
    "(asyncio/base_events.py)",
    "(asyncio/events.py)",
    "(orderbot/__main__.py)",
    "(orderbot/cli.py)",
    "(orderbot/app.py)",
)
_PLUMBING_FUNCTIONS = ("main (bench/floor_bot.py)", "<module> (bench/floor_bot.py)")


def _plumbing(function: str) -> bool:
    """Tell whether a frame is plumbing that sits under (nearly) every sample."""
    return function.endswith(_PLUMBING_FILES) or function in _PLUMBING_FUNCTIONS


def py_spy() -> str:
    """Return the py-spy executable next to this interpreter, or on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    found = str(local) if local.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


def package_of(frame: str) -> str:
    """Return the package (or stdlib module) a py-spy frame's code belongs to."""
    match = _FRAME.match(frame)
    path = match.group("file") if match else frame
    top = path.split("/", 1)[0].removesuffix(".py")
    return _PACKAGE_NAMES.get(top, top)


def function_of(frame: str) -> str:
    """Return 'function (file)' for a frame, without the line number."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{match.group('func')} ({match.group('file')})"


def analyse(raw: str, orders: int, cpu_seconds: float) -> dict[str, Any]:
    """Sum py-spy's raw stacks into per-package and per-function CPU per order.

    Samples give the shares; the bot's CPU time read from /proc over the same run gives
    the milliseconds, because a non-blocking sampler does not keep its nominal rate.
    """
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    work: Counter[str] = Counter()
    total = complete = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[function_of(frames[-1])] += count
        packages[package_of(frames[-1])] += count
        # A non-blocking sample may catch the stack mid-change and keep only its top;
        # such a sample still names its leaf, but only whole stacks say who called.
        if not frames[0].startswith("_run_module_as_main"):
            continue
        complete += count
        work[work_of(frames)] += count
        for name in {function_of(f) for f in frames}:
            inclusive[name] += count
    cpu_ms_per_order = cpu_seconds * 1000 / max(1, orders)

    def top(counter: Counter[str], n: int = TOP, whole: int = total) -> list[dict[str, Any]]:
        return [
            {
                "function": name,
                "ms_per_order": round(count / max(1, whole) * cpu_ms_per_order, 3),
                "share": round(count / max(1, whole), 3),
            }
            for name, count in counter.most_common(n)
        ]

    return {
        "samples": total,
        "orders": orders,
        "cpu_ms_per_order": round(cpu_ms_per_order, 3),
        "sampled_ms_per_order": round(total * 1000 / RATE_HZ / max(1, orders), 3),
        "whole_stacks": round(complete / max(1, total), 3),
        "work": top(work, 50, complete),
        "packages": top(packages, 50),
        "own": top(own),
        "inclusive": top(
            Counter({k: v for k, v in inclusive.items() if not _plumbing(k)}), 30, complete
        ),
    }


async def profile(target: Target, customers: int, in_flight: int) -> tuple[str, float]:
    """Sample the bot while `customers` complete orders; return the stacks and CPU seconds."""
    out = RESULTS_DIR / f"profile-{target.name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    spy = await asyncio.create_subprocess_exec(
        py_spy(),
        "record",
        "--pid",
        str(target.bot.pid),
        "--rate",
        str(RATE_HZ),
        "--format",
        "raw",
        # Only samples holding the GIL: a waiting thread (the gateway keep-alive, an idle
        # executor) is not CPU, and py-spy cannot always tell it is idle.
        "--gil",
        # Pausing the bot for every sample would slow it down 2x at this rate.
        "--nonblocking",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    # py-spy needs a moment to attach; samples before the load are idle and not kept.
    await asyncio.sleep(1.0)
    cpu_before = target.bot.cpu_seconds()
    samples = await drive(target.standin, target.crowd, target.numbers(customers), in_flight)
    await settle(target, samples)
    cpu = target.bot.cpu_seconds() - cpu_before
    spy.send_signal(signal.SIGINT)
    await asyncio.wait_for(spy.wait(), 30)
    if samples.errors:
        log.warning("%s: errors while profiling: %s", target.name, dict(samples.errors))
    return out.read_text(), cpu


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Profile orderbot and the floor under the same load."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        for name in ("orderbot", "floor"):
            target = await start_target(name, Path(tmp))
            try:
                warm = await drive(target.standin, target.crowd, target.numbers(60), 10)
                await settle(target, warm)
                raw, cpu = await profile(target, args.customers, args.in_flight)
            finally:
                await target.bot.stop()
                await target.standin.stop()
            results[name] = analyse(raw, args.customers, cpu)
    return results


def report(results: dict[str, Any]) -> str:
    """Return the tables: packages side by side, then each bot's top functions."""
    ob, fl = results["orderbot"], results["floor"]
    parts = []
    for kind, title in (("work", "CPU by piece of work"), ("packages", "leaf time by package")):
        floor = {p["function"]: p["ms_per_order"] for p in fl[kind]}
        names = [p["function"] for p in ob[kind]]
        names += [name for name in floor if name not in names]
        mine = {p["function"]: p["ms_per_order"] for p in ob[kind]}
        rows: list[list[object]] = [
            [name, mine.get(name, 0.0), floor.get(name, 0.0)]
            for name in names
            if mine.get(name, 0.0) >= 0.02 or floor.get(name, 0.0) >= 0.02
        ]
        rows.append(["total", ob["cpu_ms_per_order"], fl["cpu_ms_per_order"]])
        parts.append(table([title, "orderbot ms/order", "floor ms/order"], rows))
    for name, figures in results.items():
        for kind in ("own", "inclusive"):
            rows = [[f["function"][:95], f["ms_per_order"], f["share"]] for f in figures[kind]]
            parts.append(table([f"{name}: top {kind} time", "ms/order", "share"], rows))
    return "\n\n".join(parts)


def main() -> None:
    """Parse the options, profile both bots, print the tables and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--customers", type=int, default=300, help="orders sampled per bot")
    parser.add_argument("--in-flight", type=int, default=1, help="customers at a time")
    args = parser.parse_args()
    if args.quick:
        args.customers = min(args.customers, 40)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    results = asyncio.run(measure(args))
    print(report(results))
    payload = {"customers": args.customers, "in_flight": args.in_flight, "rate_hz": RATE_HZ}
    print(f"\nwritten to {write_results('profile', {**payload, 'bots': results})}")


if __name__ == "__main__":
    main()
