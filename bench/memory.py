"""Memory per live order: the bot's RSS with 1,000 and 10,000 customers holding an order.

Run from the repository root:

    .venv/bin/python -m bench.memory [--quick] [--counts 1000,10000]

The stand-in runs in this process and the bot in a child process (`python -m orderbot`,
or the floor `python -m bench.floor_bot` for comparison). After a warm-up of complete
orders, distinct customers each run /order_form and get the step-1 modal (variant
"modal"), or also submit step 1 and get the Continue message (variant "step1"), and keep
their order open. VmRSS of the bot is read from /proc/<pid>/status before and after
each count; every callback is counted, and any missing or refused one is reported.
A second part measures in this process, with tracemalloc, the Python heap that
orderbot's own structures take per live order (Order, session store, machine).
A table goes to stdout and the figures to bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

from bench.harness import (
    ChannelPosts,
    Crowd,
    answers_for,
    drive,
    email_for,
    start_bot,
    table,
    wait_until,
    write_outbox_config,
    write_results,
)
from tests.standin import DiscordStandIn

log = logging.getLogger(__name__)

COUNTS = (1_000, 10_000)
QUICK_COUNTS = (200, 1_000)
VARIANTS = {"modal": "order_form", "step1": "submit_step1"}
WARMUP_ORDERS = 50
IN_FLIGHT = 100
SETTLE_SECONDS = 1.0
TARGET_KB_PER_ORDER = 2.0
NAIVE_KB_PER_ORDER = 7.5


async def rss_run(name: str, variant: str, counts: tuple[int, ...], folder: Path) -> dict[str, Any]:
    """Hold live orders for growing numbers of customers; return RSS after each count."""
    standin = await DiscordStandIn(keep_requests=False, ack_deadline_s=None).start()
    config = write_outbox_config(folder / "config") if name == "orderbot" else None
    bot = await start_bot(name, standin, folder, config_dir=config)
    try:
        crowd = Crowd(standin)
        warm = await drive(standin, crowd, range(WARMUP_ORDERS), 10)
        if name == "orderbot":
            posts = ChannelPosts(standin.general)
            await wait_until(lambda: posts.update() >= WARMUP_ORDERS, 30, "warm-up posts")
        await asyncio.sleep(SETTLE_SECONDS)
        baseline = bot.rss_kb()
        rows: list[dict[str, Any]] = []
        held = 0
        for count in counts:
            numbers = range(WARMUP_ORDERS + held, WARMUP_ORDERS + count)
            samples = await drive(standin, crowd, numbers, IN_FLIGHT, last_step=VARIANTS[variant])
            await asyncio.sleep(SETTLE_SECONDS)
            rss = bot.rss_kb()
            # The first count also pays for buffers sized by the peak of customers in
            # flight; the slope between counts is what one more live order costs.
            previous = rows[-1]["rss_kb"] if rows else baseline
            marginal = (rss - previous) / (count - held)
            held = count
            per_customer = 1 if variant == "modal" else 2
            rows.append(
                {
                    "live_orders": count,
                    "rss_kb": rss,
                    "growth_kb": rss - baseline,
                    "kb_per_order": round((rss - baseline) / count, 3),
                    "marginal_kb_per_order": round(marginal, 3),
                    "interactions": len(numbers) * per_customer,
                    "answered": samples.answered,
                    "unanswered_or_wrong": sum(samples.errors.values()),
                    "errors": dict(samples.errors),
                }
            )
        errors_logged = bot.errors_logged()
    finally:
        await bot.stop()
        await standin.stop()
    return {
        "bot": name,
        "variant": variant,
        "baseline_rss_kb": baseline,
        "warmup_errors": dict(warm.errors),
        "steps": rows,
        "errors_logged": errors_logged,
    }


async def traced_heap(count: int, variant: str, folder: Path) -> dict[str, Any]:
    """Return the traced Python heap per live order of orderbot's own structures."""
    from orderbot.config import load_settings
    from orderbot.fsm.order import Order
    from orderbot.orders import OrderService
    from orderbot.tasks import BackgroundTasks

    config = write_outbox_config(folder / "traced")
    # It warns that emails go to the outbox, which is the point here.
    logging.getLogger("orderbot.config").setLevel(logging.ERROR)
    settings = load_settings(
        config, env_file=config / "absent.env", environ={"DISCORD_BOT_TOKEN": "bench"}
    )

    async def deliver(order: Order) -> None:
        return None

    service = OrderService(settings=settings, deliver=deliver, tasks=BackgroundTasks())
    server_id, channel_id, first_user = 1_000_000_000_000_000, 1_000_000_000_000_001, 10**15

    async def open_orders(start: int, stop: int) -> list[Order]:
        orders = []
        for n in range(start, stop):
            order = service.start(
                server_id=server_id,
                user_id=first_user + n,
                email=email_for(n),
                customer=f"customer{n}",
                server_name="Bench Guild",
                channel_id=channel_id,
            )
            await service.begin(order)
            if variant == "step1":
                result = await service.submit_step(order, 1, answers_for(n)[1])
                assert result.accepted, result.problems
            orders.append(order)
        return orders

    # Caches filled on first use (email_validator, enum lookups) are not per order.
    await open_orders(count, count + 100)

    def bare_orders() -> list[Order]:
        orders = []
        for n in range(count):
            order = Order(
                server_id=server_id,
                user_id=first_user + n,
                email=email_for(n),
                customer=f"customer{n}",
                server_name="Bench Guild",
                channel_id=channel_id,
            )
            if variant == "step1":
                order.answers.update(answers_for(n)[1])
            orders.append(order)
        return orders

    bare = _traced(bare_orders)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    live = await open_orders(0, count)
    gc.collect()
    full = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(service.sessions) == count + 100 and len(live) == count
    return {
        "variant": variant,
        "orders": count,
        "order_object_bytes": round(bare / count),
        "live_order_bytes": round(full / count),
        "session_and_machine_bytes": round((full - bare) / count),
    }


def _traced(build: Any) -> int:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    gc.collect()
    used = int(tracemalloc.get_traced_memory()[0] - before)
    tracemalloc.stop()
    del kept
    return used


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run every bot and variant, then the traced-heap part."""
    counts = QUICK_COUNTS if args.quick else args.counts
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        for variant in VARIANTS:
            for name in ("orderbot", "floor"):
                folder = Path(tmp) / f"{name}-{variant}"
                runs.append(await rss_run(name, variant, counts, folder))
                print(f"{name:<8} {variant:<5} done", flush=True)
        traced = [await traced_heap(max(counts), v, Path(tmp)) for v in VARIANTS]
    return {"counts": list(counts), "runs": runs, "traced": traced}


def report(figures: dict[str, Any]) -> str:
    """Return the RSS table and the traced-heap table."""
    rows = []
    for run in figures["runs"]:
        for step in run["steps"]:
            rows.append(
                [
                    run["bot"],
                    run["variant"],
                    step["live_orders"],
                    run["baseline_rss_kb"],
                    step["rss_kb"],
                    step["growth_kb"],
                    step["kb_per_order"],
                    step["marginal_kb_per_order"],
                    f"{step['answered']}/{step['interactions']}",
                    step["unanswered_or_wrong"],
                ]
            )
    headers = [
        "bot",
        "variant",
        "live orders",
        "RSS before KiB",
        "RSS after KiB",
        "growth KiB",
        "KiB/order",
        "marginal KiB/order",
        "answered (new)",
        "missing/wrong",
    ]
    traced_rows = [
        [
            t["variant"],
            t["orders"],
            t["order_object_bytes"],
            t["session_and_machine_bytes"],
            t["live_order_bytes"],
        ]
        for t in figures["traced"]
    ]
    traced_headers = [
        "tracemalloc (in-process)",
        "orders",
        "Order B",
        "session+machine B",
        "total B/order",
    ]
    return table(headers, rows) + "\n\n" + table(traced_headers, traced_rows)


def verdicts(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare orderbot's KiB per live order (at the largest count) with the target."""
    out = []
    for run in figures["runs"]:
        if run["bot"] != "orderbot":
            continue
        last = run["steps"][-1]
        out.append(
            {
                "target": f"{run['variant']}: KiB per live order at {last['live_orders']}",
                "value": last["kb_per_order"],
                "limit": TARGET_KB_PER_ORDER,
                "met": last["kb_per_order"] <= TARGET_KB_PER_ORDER * 1.25,
                "note": "about 2 KB (met within 25%); a naive View-per-customer bot: 7.5 KB",
            }
        )
        missing = sum(step["unanswered_or_wrong"] for step in run["steps"])
        out.append(
            {
                "target": f"{run['variant']}: every customer answered",
                "value": missing,
                "limit": 0,
                "met": missing == 0,
            }
        )
    return out


def main() -> None:
    """Parse the options, run the benchmark, print the tables and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--counts",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        default=COUNTS,
        help="live orders to measure at, comma-separated and growing (default 1000,10000)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    figures = asyncio.run(measure(args))
    figures["verdicts"] = verdicts(figures)
    figures["quick"] = args.quick
    print(report(figures))
    print()
    for verdict in figures["verdicts"]:
        mark = "met" if verdict["met"] else "MISSED"
        print(f"{mark:>6}  {verdict['target']}: {verdict['value']} (limit {verdict['limit']})")
    print(f"\nwritten to {write_results('memory', figures)}")


if __name__ == "__main__":
    main()
