"""Memory and creation time per live order, in-process, for the state machine design.

Run from the repository root:

    .venv/bin/python -m bench.orders [--orders 10000]

Each live order is opened the way /order_form opens it (OrderService.start, then the
move to step 1). The same count is then attached, for comparison, to the two layouts
transitions offers out of the box: one stock AsyncMachine per order, and one shared
stock AsyncMachine with add_model. Memory is the tracemalloc-traced heap after a full
collection; time is measured in a separate pass without tracemalloc.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import logging
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transitions.extensions.asyncio import AsyncMachine

from bench.harness import table, write_results
from orderbot.config import load_settings
from orderbot.fsm.order import Order
from orderbot.fsm.states import TRANSITIONS, OrderState
from orderbot.orders import OrderService
from orderbot.tasks import BackgroundTasks

REPO = Path(__file__).resolve().parent.parent


def _service(count: int) -> OrderService:
    settings = load_settings(
        REPO / "config",
        env_file=REPO / "no-such.env",
        environ={"DISCORD_BOT_TOKEN": "bench"},
    )
    settings = dataclasses.replace(settings, max_live_orders=count * 2, order_cooldown_seconds=0)

    async def deliver(order: Order) -> None:
        return None

    return OrderService(settings=settings, deliver=deliver, tasks=BackgroundTasks())


async def _open_orders(count: int) -> list[Order]:
    service = _service(count)
    orders = []
    for user in range(count):
        order = service.start(
            server_id=1,
            user_id=user,
            email=f"customer{user}@example.com",
            customer=f"customer{user}",
            server_name="Shop",
            channel_id=2,
        )
        await service.begin(order)
        orders.append(order)
    return orders


def _stock_transitions() -> list[dict[str, Any]]:
    return [
        {"trigger": m.trigger.value, "source": list(m.sources), "dest": m.dest} for m in TRANSITIONS
    ]


async def _machine_per_order(count: int) -> list[Any]:
    orders = []
    for user in range(count):
        order = Order(server_id=1, user_id=user, email=f"customer{user}@example.com")
        machine = AsyncMachine(
            model=_Plain(order),
            states=OrderState,
            transitions=_stock_transitions(),
            initial=OrderState.IDLE,
            auto_transitions=False,
        )
        orders.append(machine)
    return orders


class _Plain:
    """A model with a __dict__, as stock transitions needs to bind its methods."""

    def __init__(self, order: Order) -> None:
        self.order = order


async def _shared_stock_machine(count: int) -> list[Any]:
    machine = AsyncMachine(
        model=None,
        states=OrderState,
        transitions=_stock_transitions(),
        initial=OrderState.IDLE,
        auto_transitions=False,
    )
    models = []
    for user in range(count):
        model = _Plain(Order(server_id=1, user_id=user, email=f"c{user}@example.com"))
        machine.add_model(model)
        models.append(model)
    return [machine, models]


def _measure(build: Callable[[int], Any], count: int) -> dict[str, float]:
    gc.collect()
    started = time.perf_counter()
    kept = asyncio.run(build(count))
    elapsed = time.perf_counter() - started
    del kept
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = asyncio.run(build(count))
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return {
        "bytes_per_order": round((after - before) / count),
        "creation_us_per_order": round(elapsed / count * 1e6, 1),
    }


def main() -> None:
    """Measure each layout and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000, help="live orders (10000)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    layouts: dict[str, Callable[[int], Any]] = {
        "orderbot (OrderService, shared tuned machine)": _open_orders,
        "stock AsyncMachine per order": _machine_per_order,
        "stock shared AsyncMachine, add_model": _shared_stock_machine,
    }
    results = {name: _measure(build, args.orders) for name, build in layouts.items()}
    rows = [
        [name, str(args.orders), str(r["bytes_per_order"]), str(r["creation_us_per_order"])]
        for name, r in results.items()
    ]
    print(table(["layout", "orders", "bytes/order", "µs/order to create"], rows))
    write_results("orders", {"orders": args.orders, "layouts": results})


if __name__ == "__main__":
    main()
