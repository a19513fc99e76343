"""The running service: builds every part, runs the bot, reloads on SIGHUP, stops cleanly."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable

import nextcord

from orderbot.bot import OrderBot
from orderbot.cli import load
from orderbot.config import Settings
from orderbot.confirmations import Confirmations
from orderbot.diagnostics import Diagnostics
from orderbot.email.mailer import build_mailer
from orderbot.errors import ConfigError
from orderbot.fsm.states import OrderState
from orderbot.logs import RedactSecrets
from orderbot.orders import OrderService
from orderbot.tasks import BackgroundTasks

log = logging.getLogger(__name__)

# Settings read once at start-up; a reload that changes them only logs a warning.
RESTART_ONLY = (
    "discord_token",
    "api_base_url",
    "session_timeout_seconds",
    "max_live_orders",
    "dev_guild_id",
    "shard_count",
    "shard_ids",
)


class Service:
    """Everything orderbot runs, wired together once, with a clean start and stop.

    Args:
        settings: the validated configuration.
        reload_settings: reads the configuration again (for SIGHUP).
        redactor: the log filter, told about new secrets on reload.
        timer: the monotonic clock of idle times and limits, injectable for tests.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        reload_settings: Callable[[], Settings] | None = None,
        redactor: RedactSecrets | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._reload_settings = reload_settings
        self._redactor = redactor
        self.tasks = BackgroundTasks()
        self.confirmations = Confirmations(settings=settings, mailer=build_mailer(settings))
        self.orders = OrderService(
            settings=settings,
            deliver=self.confirmations.deliver,
            tasks=self.tasks,
            timer=timer,
        )
        self.diagnostics = Diagnostics(
            service=self.orders,
            emails=self.confirmations,
            probe_login=None if settings.uses_outbox else self._probe_login,
        )
        # nextcord reads its REST base when each request is built: this points every
        # call, interaction callbacks included, at Discord or at the configured proxy.
        nextcord.http.Route.BASE = settings.api_base_url
        self.bot = OrderBot(
            settings=settings,
            service=self.orders,
            diagnostics=self.diagnostics,
            tasks=self.tasks,
        )
        self._stopping = asyncio.Event()
        self._reaper: asyncio.Task[None] | None = None

    async def _probe_login(self) -> str:
        return (await self.confirmations.mailer.check_login()).reason

    def stop(self) -> None:
        """Ask the service to shut down (from a signal handler or a test)."""
        if not self._stopping.is_set():
            log.info("Shutting down: no new interactions, waiting for emails in flight")
        self._stopping.set()

    def reload(self) -> None:
        """Read the configuration again; keep the running one if the new one is invalid."""
        if self._reload_settings is None:
            return
        try:
            new = self._reload_settings()
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("Reload refused: %s", problem)
            log.error("The configuration was not reloaded; still running with the previous one")
            return
        self._apply(new)

    def _apply(self, new: Settings) -> None:
        changed = [
            name for name in RESTART_ONLY if getattr(new, name) != getattr(self.settings, name)
        ]
        if changed:
            log.warning("These settings take effect after a restart: %s", ", ".join(changed))
        if self._redactor is not None:
            self._redactor.update(self.settings.secrets() + new.secrets())
        logging.getLogger().setLevel(new.log_level)
        old_mailer = self.confirmations.mailer
        self.confirmations.use(settings=new, mailer=build_mailer(new))
        self.diagnostics.probe_login = None if new.uses_outbox else self._probe_login
        self.orders.apply_settings(new)
        self.settings = new
        self.tasks.spawn(old_mailer.close(), name="close-old-mailer")
        log.info("Configuration reloaded")

    async def serve(self, *, handle_signals: bool = True) -> int:
        """Run until stopped or until Discord refuses us; return the exit code."""
        if handle_signals:
            self._install_signal_handlers()
        self._reaper = self.tasks.spawn(
            self.orders.sessions.run_reaper(self.settings.session_reap_interval_seconds),
            name="session-reaper",
        )
        client = asyncio.create_task(self.bot.start(self.settings.discord_token.reveal()))
        stopping = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({client, stopping}, return_when=asyncio.FIRST_COMPLETED)
        code = 0
        if client.done():
            code = self._client_outcome(client)
        stopping.cancel()
        await self.shutdown()
        client.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await client
        return code

    def _client_outcome(self, client: asyncio.Task[None]) -> int:
        error = client.exception()
        if isinstance(error, nextcord.LoginFailure):
            log.critical("Discord refused DISCORD_BOT_TOKEN: check the token in .env")
        elif error is not None:
            log.critical("The Discord connection failed for good", exc_info=error)
        else:
            log.error("The Discord connection closed")
        return 1

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, self.stop)
            loop.add_signal_handler(signal.SIGINT, self.stop)
            loop.add_signal_handler(signal.SIGHUP, self.reload)

    async def shutdown(self) -> None:
        """Stop taking interactions, let emails in flight finish, then close everything."""
        self.bot.accepting = False
        if self._reaper is not None:
            self._reaper.cancel()
        left = await self.tasks.drain(self.settings.shutdown_grace_seconds)
        if left:
            unfinished = self._emailing()
            log.error(
                "Stopped with %d task(s) unfinished; emails not confirmed for: %s",
                left,
                ", ".join(unfinished) or "none",
            )
        await self.tasks.cancel_all()
        await self.bot.close()
        await self.confirmations.mailer.close()
        log.info("Stopped")

    def _emailing(self) -> list[str]:
        orders = self.orders.machine.orders()
        return [o.reference for o in orders if o.state is OrderState.EMAILING]


def run(settings: Settings, *, args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Run the bot from the command line until it is stopped; return the exit code."""
    logging.getLogger().setLevel(settings.log_level)

    async def main() -> int:
        # The client must be built inside the running loop: a sharded nextcord client
        # built outside it schedules its shards on another loop and hangs.
        service = Service(
            settings,
            reload_settings=lambda: load(args, require_token=True),
            redactor=redactor,
        )
        return await service.serve()

    return asyncio.run(main())
