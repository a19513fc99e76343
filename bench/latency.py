"""Interaction latency and CPU per order: orderbot against a bare nextcord floor.

Run from the repository root:

    .venv/bin/python -m bench.latency [--quick] [--levels 1,1s,50,200]

Two Discord stand-ins run in this process, one for each bot; orderbot (`python -m
orderbot`, confirmations to its outbox) and the floor (`python -m bench.floor_bot`) each
run in a child process. For every level of customers in flight, customers walk the
seven interactions of an order (slash command, three modal submits, three buttons) in
alternating orderbot/floor rounds (ABBA), so drift and noise hit both bots alike.
Level "1s" is one customer at a time with a pause: the next customer starts only once
the previous order's email, follow-up and summary are done and 50 ms have passed (for
both bots), so no background work of an earlier order overlaps the interactions measured.
Latency is the stand-in's dispatch of INTERACTION_CREATE to the arrival of the bot's
callback; CPU is the bot process's user + system time over a round, including the work
orderbot does after answering Submit Order (the public summary post, the outbox email
and the follow-up). A table goes to stdout and the figures to bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import (
    STEP_TITLES,
    STEPS,
    BotProcess,
    ChannelPosts,
    Crowd,
    Samples,
    drive,
    followed_up,
    ratio,
    start_bot,
    summary_ms,
    table,
    wait_until,
    write_outbox_config,
    write_results,
)
from tests.standin import DiscordStandIn

log = logging.getLogger(__name__)

LEVELS = ("1", "1s", "50", "200")
# Customers per bot at each level (split over the rounds), and rounds per bot.
CUSTOMERS = {"1": 320, "1s": 320, "50": 400, "200": 800}
QUICK_CUSTOMERS = {"1": 40, "1s": 40, "50": 100, "200": 200}
WARMUP_CUSTOMERS = 120
# The gap between customers at level "1s", the same for both bots: an idle process is
# slower to answer (cold caches), so only an equal gap keeps the comparison fair.
PAUSE_S = 0.05
TARGET_P50_RATIO_ONE = 1.15
TARGET_P99_RATIO_ONE = 1.5
TARGET_CPU_RATIO_MANY = 1.4
TARGET_P99_MS_200 = 1000.0


@dataclass
class Target:
    """One bot under test, with its own stand-in and customers."""

    name: str
    standin: DiscordStandIn
    bot: BotProcess
    posts: bool
    crowd: Crowd
    channel_posts: ChannelPosts
    next_customer: int = 0
    expected_posts: int = 0

    def numbers(self, count: int) -> range:
        """Return the numbers of `count` customers who have not ordered yet."""
        numbers = range(self.next_customer, self.next_customer + count)
        self.next_customer += count
        return numbers


@dataclass
class LevelResult:
    """Everything measured for one bot at one level."""

    samples: Samples = field(default_factory=Samples)
    cpu_seconds: float = 0.0
    answer_seconds: float = 0.0
    settle_seconds: float = 0.0
    unsettled: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the figures for the JSON file."""
        orders = self.samples.completed
        return {
            "orders": orders,
            "errors": dict(self.samples.errors),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "cpu_ms_per_order": round(ratio(self.cpu_seconds * 1000, orders), 3),
            "answer_seconds": round(self.answer_seconds, 3),
            "orders_per_second": round(ratio(orders, self.answer_seconds), 1),
            "settle_seconds": round(self.settle_seconds, 3),
            "unsettled": self.unsettled,
            "latency_ms": {step: summary_ms(v) for step, v in self.samples.latency_ns.items()},
            "latency_ms_all_steps": summary_ms(self.samples.all_ns()),
        }


async def run_round(
    target: Target, count: int, in_flight: int, result: LevelResult, *, pause: bool = False
) -> None:
    """Run one round of customers against a bot and add its figures to `result`.

    With pause, customers go one at a time, each after the previous order settled.
    """
    cpu_before = target.bot.cpu_seconds()
    started = time.perf_counter()
    if pause:
        samples = Samples()
        for n in target.numbers(count):
            one = await drive(target.standin, target.crowd, range(n, n + 1), 1)
            await settle(target, one)
            samples.merge(one)
            await asyncio.sleep(PAUSE_S)
    else:
        samples = await drive(target.standin, target.crowd, target.numbers(count), in_flight)
    answered = time.perf_counter()
    if not pause:
        await settle(target, samples)
    result.settle_seconds += time.perf_counter() - answered
    result.cpu_seconds += target.bot.cpu_seconds() - cpu_before
    result.answer_seconds += answered - started
    result.samples.merge(samples)


async def settle(target: Target, samples: Samples) -> None:
    """Wait until the bot finished what Submit Order started: the post and the follow-up.

    nextcord sends channel posts at most 50 a second, so after a big round this takes
    a while; the CPU it costs belongs to the orders, so the round's CPU reading waits.
    """
    if not target.posts:
        return
    target.expected_posts += samples.completed
    seconds = 60 + samples.completed / 20
    await wait_until(
        lambda: target.channel_posts.update() >= target.expected_posts,
        seconds,
        f"{target.expected_posts} summary posts",
    )
    submits = samples.submits
    await wait_until(lambda: followed_up(submits) == len(submits), seconds, "follow-ups")
    missing_posts = target.expected_posts - target.channel_posts.update()
    if missing_posts > 0:
        samples.errors["summary post missing"] += missing_posts
    missing_followups = len(submits) - followed_up(submits)
    if missing_followups > 0:
        samples.errors["email follow-up missing"] += missing_followups


async def start_target(name: str, folder: Path, **config_values: Any) -> Target:
    """Start a stand-in and a bot process serving it (orderbot with these config.json keys)."""
    standin = await DiscordStandIn(keep_requests=False, ack_deadline_s=None).start()
    config = None
    if name == "orderbot":
        config = write_outbox_config(folder / name / "config", **config_values)
    bot = await start_bot(name, standin, folder / name, config_dir=config)
    return Target(
        name=name,
        standin=standin,
        bot=bot,
        posts=name == "orderbot",
        crowd=Crowd(standin),
        channel_posts=ChannelPosts(standin.general),
    )


async def warm_up(target: Target, customers: int) -> None:
    """Run customers through the flow so both processes are warm before measuring."""
    throwaway = LevelResult()
    await run_round(target, customers, 20, throwaway)
    await run_round(target, 20, 1, throwaway)
    if throwaway.samples.errors:
        raise RuntimeError(f"{target.name} warm-up failed: {dict(throwaway.samples.errors)}")


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run every level against both bots and return the figures."""
    counts = QUICK_CUSTOMERS if args.quick else CUSTOMERS
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        targets = [
            await start_target(name, Path(tmp), **args.config) for name in ("orderbot", "floor")
        ]
        try:
            for target in targets:
                await warm_up(target, WARMUP_CUSTOMERS // (4 if args.quick else 1))
            levels: dict[str, dict[str, LevelResult]] = {}
            for level in args.levels:
                count = round(counts.get(level, 400) * args.scale)
                levels[level] = await measure_level(targets, level, count)
                print(level_table(level, levels[level]), flush=True)
            errors_logged = {t.name: t.bot.errors_logged() for t in targets}
        finally:
            for target in targets:
                await target.bot.stop()
                await target.standin.stop()
    return {
        "levels": {
            str(level): {name: r.as_dict() for name, r in results.items()}
            for level, results in levels.items()
        },
        "errors_logged": errors_logged,
    }


async def measure_level(targets: list[Target], level: str, count: int) -> dict[str, LevelResult]:
    """Alternate orderbot and floor rounds (ABBA) at one level of customers in flight."""
    pause = level.endswith("s")
    in_flight = int(level.removesuffix("s"))
    rounds = 4 if in_flight == 1 else 2
    results = {target.name: LevelResult() for target in targets}
    for n in range(rounds):
        order = targets if n % 2 == 0 else targets[::-1]
        for target in order:
            result = results[target.name]
            await run_round(target, count // rounds, in_flight, result, pause=pause)
    return results


def level_table(level: str, results: dict[str, LevelResult]) -> str:
    """Return the per-step latency table of one level."""
    ob, fl = results["orderbot"].samples, results["floor"].samples
    rows = []
    for step in (*STEPS, "all"):
        a = summary_ms(ob.all_ns() if step == "all" else ob.latency_ns[step])
        b = summary_ms(fl.all_ns() if step == "all" else fl.latency_ns[step])
        if not a.get("n") or not b.get("n"):
            continue
        rows.append(
            [
                STEP_TITLES.get(step, "all steps"),
                a["n"],
                a["p50"],
                a["p90"],
                a["p99"],
                b["p50"],
                b["p90"],
                b["p99"],
                ratio(a["p50"], b["p50"]),
                ratio(a["p99"], b["p99"]),
            ]
        )
    headers = [
        f"{_level_name(level)}: step (ms)",
        "n",
        "ob p50",
        "ob p90",
        "ob p99",
        "floor p50",
        "floor p90",
        "floor p99",
        "p50 x",
        "p99 x",
    ]
    return table(headers, rows) + "\n"


def _level_name(level: str) -> str:
    return "1 in flight, paused" if level.endswith("s") else f"{level} in flight"


def summary_table(figures: dict[str, Any]) -> str:
    """Return the per-level CPU, throughput and error summary."""
    rows = []
    for level, results in figures["levels"].items():
        ob, fl = results["orderbot"], results["floor"]
        rows.append(
            [
                _level_name(level),
                ob["orders"],
                ob["cpu_ms_per_order"],
                fl["cpu_ms_per_order"],
                ratio(ob["cpu_ms_per_order"], fl["cpu_ms_per_order"]),
                ob["orders_per_second"],
                fl["orders_per_second"],
                ob["latency_ms_all_steps"]["p99"],
                fl["latency_ms_all_steps"]["p99"],
                sum(ob["errors"].values()) + sum(fl["errors"].values()),
            ]
        )
    headers = [
        "in flight",
        "orders/bot",
        "ob CPU ms/order",
        "floor CPU ms/order",
        "CPU x",
        "ob orders/s",
        "floor orders/s",
        "ob p99 ms",
        "floor p99 ms",
        "errors",
    ]
    return table(headers, rows)


def verdicts(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare the figures with the targets of the issue."""
    out: list[dict[str, Any]] = []
    levels = figures["levels"]

    def add(what: str, value: float, target: float, unit: str = "x") -> None:
        out.append(
            {
                "target": what,
                "value": round(value, 3),
                "limit": target,
                "unit": unit,
                "met": value <= target,
            }
        )

    for level in ("1", "1s"):
        if level in levels:
            ob, fl = levels[level]["orderbot"], levels[level]["floor"]
            a, b = ob["latency_ms_all_steps"], fl["latency_ms_all_steps"]
            name = _level_name(level)
            add(f"{name}: p50 orderbot/floor", ratio(a["p50"], b["p50"]), TARGET_P50_RATIO_ONE)
            add(f"{name}: p99 orderbot/floor", ratio(a["p99"], b["p99"]), TARGET_P99_RATIO_ONE)
    for level in ("50", "200"):
        if level in levels:
            ob, fl = levels[level]["orderbot"], levels[level]["floor"]
            add(
                f"{level} in flight: CPU per order orderbot/floor",
                ratio(ob["cpu_ms_per_order"], fl["cpu_ms_per_order"]),
                TARGET_CPU_RATIO_MANY,
            )
    if "200" in levels:
        p99 = levels["200"]["orderbot"]["latency_ms_all_steps"]["p99"]
        add("200 in flight: orderbot p99", p99, TARGET_P99_MS_200, "ms")
    for level, results in levels.items():
        errors = sum(sum(r["errors"].values()) for r in results.values())
        add(f"{_level_name(level)}: errors", errors, 0, "")
    return out


def main() -> None:
    """Parse the options, run the benchmark, print the tables and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--levels",
        type=lambda s: tuple(s.split(",")),
        default=LEVELS,
        help="customers in flight, comma-separated; 1s: one at a time, paused",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the customers per level by this"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="an orderbot config.json value, e.g. --set log_level='\"WARNING\"'",
    )
    args = parser.parse_args()
    args.config = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    figures = asyncio.run(measure(args))
    figures["orderbot_config"] = args.config
    figures["verdicts"] = verdicts(figures)
    figures["quick"] = args.quick
    print(summary_table(figures))
    print()
    for verdict in figures["verdicts"]:
        mark = "met" if verdict["met"] else "MISSED"
        print(f"{mark:>6}  {verdict['target']}: {verdict['value']} (limit {verdict['limit']})")
    print(f"\nwritten to {write_results('latency', figures)}")


if __name__ == "__main__":
    main()
