"""Load: 1,000 customers complete orders at once, through to a real SMTP server.

Run from the repository root:

    .venv/bin/python -m bench.load [--quick] [--customers 1000]

Three processes: this one (the Discord stand-in and the customers), the bot
(`python -m orderbot`, sending through SMTP with a login) and an aiosmtpd server
(plain, AUTH required). After a warm-up, every customer starts at the same moment and
walks the whole flow with their own unique answers and address, each interaction
waiting for the bot's answer and checking it is the expected kind (a modal, or an
ephemeral message with the next button; never the generic error). The stand-in holds
the bot to Discord's 3 s deadline. Then every email the server received is checked to
go to exactly one customer and carry that customer's data and no one else's, and the
public summaries (which nextcord posts at most 50 a second) are counted. A table goes
to stdout and the figures to bench/results/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import (
    STEP_TITLES,
    STEPS,
    TOKEN,
    ChannelPosts,
    Crowd,
    Mailbox,
    check_emails,
    cpu_seconds,
    drive,
    followed_up,
    start_bot,
    summary_ms,
    table,
    wait_until,
    write_results,
    write_smtp_config,
)
from tests.smtp_server import PASSWORD, USERNAME
from tests.standin import DiscordStandIn

log = logging.getLogger(__name__)

CUSTOMERS = 1_000
QUICK_CUSTOMERS = 100
WARMUP_CUSTOMERS = 30
ACK_DEADLINE_S = 3.0
FLOW_TIMEOUT_S = 30.0
TARGET_P99_MS = 3000.0


async def run(customers: int, folder: Path) -> dict[str, Any]:
    """Run the warm-up and the load, and return every figure."""
    with Mailbox() as mailbox:
        async with DiscordStandIn(keep_requests=False, ack_deadline_s=ACK_DEADLINE_S) as standin:
            config = write_smtp_config(folder / "config", mailbox.host, mailbox.port)
            login = {"SENDER_EMAIL": USERNAME, "SENDER_PASSWORD": PASSWORD}
            bot = await start_bot("orderbot", standin, folder, config_dir=config, env=login)
            try:
                return await load(standin, bot, mailbox, customers)
            finally:
                await bot.stop()


async def load(
    standin: DiscordStandIn, bot: Any, mailbox: Mailbox, customers: int
) -> dict[str, Any]:
    """Warm up, then run every customer at once and wait for the emails and posts."""
    crowd = Crowd(standin)
    posts = ChannelPosts(standin.general)
    warm = await drive(standin, crowd, range(WARMUP_CUSTOMERS), 10)
    await wait_until(lambda: posts.update() >= WARMUP_CUSTOMERS, 30, "warm-up posts")
    await wait_until(lambda: mailbox.count() >= WARMUP_CUSTOMERS, 30, "warm-up emails")
    if warm.errors:
        raise RuntimeError(f"warm-up failed: {dict(warm.errors)}\n{bot.log_tail()}")
    mailbox.reset()
    first_post = posts.update()
    numbers = range(WARMUP_CUSTOMERS, WARMUP_CUSTOMERS + customers)
    for n in numbers:
        crowd.user(n)

    cpu_before, smtp_cpu_before = bot.cpu_seconds(), cpu_seconds(mailbox.pid)
    started = time.perf_counter()
    samples = await drive(standin, crowd, numbers, customers, timeout=FLOW_TIMEOUT_S)
    answered = time.perf_counter()
    completed = samples.completed
    emails_in = await _wait(lambda: mailbox.count() >= completed, 120, "emails", started)
    summaries_in = await _wait(
        lambda: posts.update() - first_post >= completed, 60 + completed / 20, "posts", started
    )
    submits = samples.submits
    followups_in = await _wait(
        lambda: followed_up(submits) == len(submits), 60, "follow-ups", started
    )
    finished = time.perf_counter()
    cpu = bot.cpu_seconds() - cpu_before
    smtp_cpu = cpu_seconds(mailbox.pid) - smtp_cpu_before

    emails = check_emails(mailbox.digest(), numbers)
    summaries = posts.posts[first_post:]
    return {
        "customers": customers,
        "completed_orders": completed,
        "interactions_answered": samples.answered,
        "errors": dict(samples.errors),
        "generic_error_replies": sum(
            count for kind, count in samples.errors.items() if "generic error" in kind
        ),
        "emails": emails,
        "summaries": _summary_check(summaries, numbers),
        "followups": followed_up(submits),
        "wall_s": {
            "all_interactions_answered": round(answered - started, 3),
            "all_emails_accepted": emails_in,
            "all_summaries_posted": summaries_in,
            "all_followups_sent": followups_in,
            "everything": round(finished - started, 3),
        },
        "summary_posts_per_second": _post_rate(summaries),
        "bot_cpu_s": round(cpu, 3),
        "bot_cpu_ms_per_order": round(cpu * 1000 / max(1, completed), 3),
        "smtp_server_cpu_s": round(smtp_cpu, 3),
        "bot_peak_rss_kb": _peak_rss(bot.pid),
        "latency_ms": {step: summary_ms(v) for step, v in samples.latency_ns.items()},
        "latency_ms_all_steps": summary_ms(samples.all_ns()),
        "late_over_3s": sum(1 for v in samples.all_ns() if v > ACK_DEADLINE_S * 1e9),
        "errors_logged": bot.errors_logged()[:20],
    }


async def _wait(check: Any, seconds: float, what: str, started: float) -> float | None:
    """Wait for check(); return seconds since `started`, or None if it never held."""
    ok = await wait_until(check, seconds, what, interval=0.1)
    return round(time.perf_counter() - started, 3) if ok else None


def _summary_check(summaries: list[Any], numbers: range) -> dict[str, int]:
    """Count the public summaries, and those naming anyone but one customer."""
    owners = [set(TOKEN.findall(message.content)) for message in summaries]
    mixed = sum(1 for tokens in owners if len(tokens) != 1)
    distinct = {next(iter(t)) for t in owners if len(t) == 1}
    return {"posted": len(summaries), "distinct_customers": len(distinct), "mixed": mixed}


def _post_rate(summaries: list[Any]) -> float | None:
    if len(summaries) < 2:
        return None
    span = (summaries[-1].created_ns - summaries[0].created_ns) / 1e9
    return round((len(summaries) - 1) / span, 1) if span > 0 else None


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def report(figures: dict[str, Any]) -> str:
    """Return the latency table and the outcome table."""
    rows = [
        [STEP_TITLES[step], s["n"], s["p50"], s["p90"], s["p99"], s["max"]]
        for step in STEPS
        if (s := figures["latency_ms"][step]).get("n")
    ]
    a = figures["latency_ms_all_steps"]
    if a.get("n"):
        rows.append(["all steps", a["n"], a["p50"], a["p90"], a["p99"], a["max"]])
    latency = table(["step (ms)", "n", "p50", "p90", "p99", "max"], rows)
    emails, wall = figures["emails"], figures["wall_s"]
    outcome = table(
        ["outcome", "value"],
        [
            ["customers", figures["customers"]],
            ["orders completed", figures["completed_orders"]],
            ["interactions answered", figures["interactions_answered"]],
            ["errors (any kind)", sum(figures["errors"].values())],
            ["replies with the generic error", figures["generic_error_replies"]],
            ["answers later than 3 s", figures["late_over_3s"]],
            ["emails received", emails["received"]],
            ["customers with exactly their own email", _own_email(emails)],
            ["emails with wrong or mixed data", emails["bad"]],
            ["public summaries posted", figures["summaries"]["posted"]],
            ["email follow-ups sent", figures["followups"]],
            ["wall s: all interactions answered", wall["all_interactions_answered"]],
            ["wall s: all emails accepted", wall["all_emails_accepted"]],
            ["wall s: all summaries posted", wall["all_summaries_posted"]],
            ["summary posts per second", figures["summary_posts_per_second"]],
            ["bot CPU s", figures["bot_cpu_s"]],
            ["bot CPU ms per order", figures["bot_cpu_ms_per_order"]],
            ["bot peak RSS KiB", figures["bot_peak_rss_kb"]],
        ],
    )
    return latency + "\n\n" + outcome


def _own_email(emails: dict[str, int]) -> int:
    return emails["customers_with_email"] - emails["duplicates"] - emails["bad"]


def verdicts(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare with the targets: no errors, every email its customer's own."""
    customers = figures["customers"]
    emails = figures["emails"]
    errors = sum(figures["errors"].values())
    good = _own_email(emails) if emails["missing"] == 0 else 0
    return [
        {"target": "errors", "value": errors, "limit": 0, "met": errors == 0},
        {
            "target": "emails delivered, each with its own customer's data",
            "value": good,
            "limit": customers,
            "met": good == customers and emails["received"] == customers,
        },
        {
            "target": "every answer within Discord's 3 s",
            "value": figures["late_over_3s"],
            "limit": 0,
            "met": figures["late_over_3s"] == 0,
        },
    ]


def main() -> None:
    """Parse the options, run the load, print the tables and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--customers", type=int, default=CUSTOMERS, help="customers at once")
    args = parser.parse_args()
    if args.quick:
        args.customers = min(args.customers, QUICK_CUSTOMERS)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        figures = asyncio.run(run(args.customers, Path(tmp)))
    figures["verdicts"] = verdicts(figures)
    figures["quick"] = args.quick
    print(report(figures))
    print()
    for verdict in figures["verdicts"]:
        mark = "met" if verdict["met"] else "MISSED"
        print(f"{mark:>6}  {verdict['target']}: {verdict['value']} (limit {verdict['limit']})")
    if figures["errors"]:
        print(f"errors: {figures['errors']}")
    print(f"\nwritten to {write_results('load', figures)}")


if __name__ == "__main__":
    main()
