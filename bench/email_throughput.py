"""Email delivery speed: one reused SMTP connection against a new connection per message.

Run from the repository root:

    .venv/bin/python -m bench.email_throughput [--messages 100] [--latency-runs 200]

The SMTP server (aiosmtpd, requiring AUTH like a real provider) runs in a child
process, so client and server do not share an event loop or a GIL. Plain and
STARTTLS are measured; each strategy sends the same pre-composed messages through
SmtpMailer, the code the bot uses. A table goes to stdout and the figures to
bench/results/email_throughput.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orderbot.config import Settings
from orderbot.email.message import compose_confirmation
from orderbot.email.smtp import SmtpMailer
from tests.samples import ANSWERS
from tests.smtp_server import SmtpServerProcess, settings_for

RESULTS = Path(__file__).resolve().parent / "results" / "email_throughput.json"
RECIPIENT = "customer@example.com"


def messages(settings: Settings, count: int) -> list[Any]:
    """Compose the messages up front: the benchmark measures delivery, not rendering."""
    return [
        compose_confirmation(
            settings,
            answers=ANSWERS,
            email=RECIPIENT,
            reference=f"REF-{n:08d}",
            customer="bench_user",
            server_name="Bench Server",
            submitted_at=datetime.now(UTC),
        )
        for n in range(count)
    ]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def reused(settings: Settings, batch: list[Any]) -> tuple[float, list[float]]:
    """Send the batch over one SmtpMailer; return (seconds, per-message latencies)."""
    mailer = SmtpMailer(settings)
    await mailer.send(batch[0], recipient=RECIPIENT, reference="REF-WARMUP")
    latencies = []
    started = time.perf_counter()
    for message in batch:
        t0 = time.perf_counter()
        await mailer.send(message, recipient=RECIPIENT, reference=message["X-Order-Reference"])
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    await mailer.close()
    return elapsed, latencies


async def per_message(settings: Settings, batch: list[Any]) -> tuple[float, list[float]]:
    """Send each message on a fresh connection (connect, TLS, login, send, QUIT).

    The same SmtpMailer is closed after every message, so only the connection differs
    from the reused case: the TLS context and everything else are built once.
    """
    mailer = SmtpMailer(settings)
    latencies = []
    started = time.perf_counter()
    for message in batch:
        t0 = time.perf_counter()
        await mailer.send(message, recipient=RECIPIENT, reference=message["X-Order-Reference"])
        latencies.append(time.perf_counter() - t0)
        await mailer.close()
    return time.perf_counter() - started, latencies


def run_transport(
    security: str,
    rtt_ms: float,
    count: int,
    latency_runs: int,
    folder: Path,
) -> dict[str, Any]:
    options: dict[str, Any] = {
        "security": security,
        "keep_messages": False,
        "reply_delay_seconds": rtt_ms / 1000,
    }
    if security == "none":
        options["auth_require_tls"] = False
    with SmtpServerProcess(**options) as server:
        settings = settings_for(
            server, folder / f"{security}-{rtt_ms}", smtp_retry_budget_seconds=0
        )
        batch = messages(settings, max(count, latency_runs))
        result: dict[str, Any] = {
            "transport": "plain" if security == "none" else security,
            "reply_delay_ms": rtt_ms,
        }
        for name, strategy in (("reuse", reused), ("per_message", per_message)):
            server.reset()
            elapsed, latencies = asyncio.run(strategy(settings, batch[:count]))
            stats = server.stats()
            result[name] = {
                "messages": count,
                "seconds": round(elapsed, 3),
                "messages_per_second": round(count / elapsed, 1),
                "ms_per_message": round(elapsed / count * 1000, 2),
                "server_connections": stats.connections,
                "server_logins": stats.logins,
                "server_accepted": stats.accepted,
                "latency_ms": latency_summary(latencies),
            }
        server.reset()
        _, warm = asyncio.run(reused(settings, batch[:latency_runs]))
        result["send_to_accepted_ms"] = {
            "warm_connection": latency_summary(warm),
            "new_connection": result["per_message"]["latency_ms"],
        }
        result["ratio"] = round(
            result["reuse"]["messages_per_second"] / result["per_message"]["messages_per_second"],
            2,
        )
    return result


def latency_summary(latencies: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in latencies]
    return {
        "runs": len(ms),
        "p50": round(statistics.median(ms), 2),
        "p99": round(percentile(ms, 0.99), 2),
        "max": round(max(ms), 2),
    }


def print_table(results: list[dict[str, Any]]) -> None:
    header = (
        f"{'transport':<9} {'reply delay':>11} {'strategy':<12} {'msgs':>5} {'s':>7} "
        f"{'msg/s':>8} {'ms/msg':>7} {'conns':>6} {'logins':>6}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        delay = f"{result['reply_delay_ms']:g} ms"
        for name in ("reuse", "per_message"):
            r = result[name]
            print(
                f"{result['transport']:<9} {delay:>11} {name:<12} {r['messages']:>5} "
                f"{r['seconds']:>7.2f} {r['messages_per_second']:>8.1f} "
                f"{r['ms_per_message']:>7.2f} {r['server_connections']:>6} "
                f"{r['server_logins']:>6}"
            )
        print(f"{'':<9} {'':>11} {'ratio':<12} {result['ratio']:>5}x (reuse / per message)")
    print()
    print(f"{'send -> accepted (ms)':<38} {'p50':>7} {'p99':>8} {'max':>8} {'runs':>6}")
    for result in results:
        for kind, s in result["send_to_accepted_ms"].items():
            label = (
                f"{result['transport']}, {result['reply_delay_ms']:g} ms delay, "
                f"{kind.replace('_', ' ')}"
            )
            figures = f"{s['p50']:>7.2f}  {s['p99']:>7.2f}  {s['max']:>7.2f}  {s['runs']:>5}"
            print(f"{label:<38} {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100, help="messages per strategy")
    parser.add_argument("--latency-runs", type=int, default=200, help="warm sends timed")
    parser.add_argument(
        "--reply-delay-ms",
        type=float,
        nargs="+",
        default=[0.0, 10.0, 40.0],
        help="server reply delays to run, standing in for network round trips",
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write results")
    args = parser.parse_args()
    # The mailer logs one INFO line per message; the benchmark does not print them.
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="email-bench-") as tmp:
        results = [
            run_transport(security, delay, args.messages, args.latency_runs, Path(tmp))
            for delay in args.reply_delay_ms
            for security in ("none", "starttls")
        ]
    print_table(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "server": "aiosmtpd in a child process on 127.0.0.1, AUTH required, messages counted",
        "results": results,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
