"""Start-up time: `python -m orderbot check` against importing nextcord, and time to serving.

Run from the repository root:

    .venv/bin/python -m bench.startup [--quick] [--runs 20] [--serve-runs 5]

Part one times whole processes, launch to exit, alternating
`python -m orderbot check` (loads and validates the configuration and the template,
prints them masked) with `python -c "import nextcord"`, the least any nextcord bot
pays; `python -c pass` is shown for the interpreter's own share. Part two launches
`python -m orderbot` against a fresh Discord stand-in each time and takes the time
to its READY and to its four commands being registered at the stand-in.
A table goes to stdout and the figures to bench/results/startup.json.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import (
    ORDER_COMMANDS,
    REPO,
    launch_bot,
    percentile,
    ratio,
    table,
    write_outbox_config,
    write_results,
)
from tests.standin import DiscordStandIn

log = logging.getLogger(__name__)

TARGET_RATIO = 1.3
COMMANDS: dict[str, list[str]] = {
    "python -m orderbot check": ["-m", "orderbot", "check"],
    'python -c "import nextcord"': ["-c", "import nextcord"],
    "python -c pass": ["-c", "pass"],
}
CHECK, NEXTCORD, BARE = COMMANDS


def time_process(args: list[str], env: dict[str, str], cwd: Path) -> float:
    """Run one interpreter process to completion and return its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{args} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def time_commands(runs: int, folder: Path) -> dict[str, list[float]]:
    """Time every command `runs` times, interleaved, after one untimed run of each."""
    config = write_outbox_config(folder / "config")
    # A deployed bot starts from cached bytecode; a sandbox that sets
    # PYTHONDONTWRITEBYTECODE would make every run compile orderbot from source.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SENDER_", "DISCORD_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env |= {
        "PYTHONPATH": str(REPO),
        "ORDERBOT_CONFIG_DIR": str(config),
        "DISCORD_BOT_TOKEN": "bench.startup.token",
    }
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    # The first run of each fills the page cache and writes the .pyc files.
    for args in COMMANDS.values():
        time_process(args, env, folder)
    for _ in range(runs):
        for name, args in COMMANDS.items():
            times[name].append(time_process(args, env, folder))
    return times


async def time_to_serving(runs: int, folder: Path) -> list[dict[str, float]]:
    """Launch `python -m orderbot` against a fresh stand-in; time READY and command sync."""
    config = write_outbox_config(folder / "serve-config")
    results = []
    for n in range(runs):
        async with DiscordStandIn(keep_requests=False) as standin:
            bot = await launch_bot("orderbot", standin, folder / f"serve-{n}", config_dir=config)
            try:
                await standin.wait_ready(timeout=30)
                ready = time.perf_counter()
                await standin.wait_commands_synced(ORDER_COMMANDS, timeout=30)
                synced = time.perf_counter()
            finally:
                await bot.stop()
        results.append(
            {"ready_s": ready - bot.launched_at, "commands_synced_s": synced - bot.launched_at}
        )
    return results


def stats(values: list[float]) -> dict[str, float]:
    """Return median, p90, min and max in milliseconds."""
    ms = [v * 1000 for v in values]
    return {
        "runs": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(percentile(ms, 0.9), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
    }


def main() -> None:
    """Parse the options, run both parts, print the tables and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each command")
    parser.add_argument("--serve-runs", type=int, default=5, help="launches to serving")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.serve_runs = 3, 1
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        times = time_commands(args.runs, Path(tmp))
        serving = asyncio.run(time_to_serving(args.serve_runs, Path(tmp)))
    commands = {name: stats(values) for name, values in times.items()}
    check, bare_import = commands[CHECK], commands[NEXTCORD]
    median_ratio = ratio(check["median_ms"], bare_import["median_ms"])
    serve = {
        "runs": len(serving),
        "ready_median_s": round(statistics.median(r["ready_s"] for r in serving), 3),
        "commands_synced_median_s": round(
            statistics.median(r["commands_synced_s"] for r in serving), 3
        ),
        "each": serving,
    }
    rows = [
        [name, s["runs"], s["median_ms"], s["p90_ms"], s["min_ms"], s["max_ms"]]
        for name, s in commands.items()
    ]
    print(table(["process, launch to exit", "runs", "median ms", "p90 ms", "min", "max"], rows))
    print(f"\ncheck / import nextcord (median): {median_ratio:.2f}x (target <= {TARGET_RATIO}x)")
    print(
        f"\npython -m orderbot to READY: {serve['ready_median_s']:.3f} s, to commands synced: "
        f"{serve['commands_synced_median_s']:.3f} s (median of {serve['runs']})"
    )
    verdict = {
        "target": "check / import nextcord, median",
        "value": round(median_ratio, 3),
        "limit": TARGET_RATIO,
        "met": median_ratio <= TARGET_RATIO,
    }
    payload = {
        "commands": commands,
        "check_over_import_nextcord": round(median_ratio, 3),
        "p90_ratio": round(ratio(check["p90_ms"], bare_import["p90_ms"]), 3),
        "serving": serve,
        "verdicts": [verdict],
        "quick": args.quick,
    }
    print(f"\nwritten to {write_results('startup', payload)}")


if __name__ == "__main__":
    main()
