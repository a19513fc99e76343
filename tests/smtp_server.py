"""A real SMTP server on 127.0.0.1 for tests and benchmarks: TLS, AUTH, recording and faults.

Importable without pytest. Typical use::

    with SmtpTestServer(security="starttls") as server:
        ...  # point the mailer at server.host, server.port, server.ca_file
        messages = server.wait_for_messages_sync(1)

Faults are small named behaviours that apply to the next N times a stage is
reached, so a test can say "the first RCPT gets 451, then everything works"::

    server.inject(Fault.reply("rcpt", 451), times=1)
"""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import json
import logging
import multiprocessing
import multiprocessing.connection
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, cast

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USERNAME = "shop@example.com"
PASSWORD = "correct horse battery staple"
HOST = "127.0.0.1"

Security = Literal["none", "starttls", "tls"]
Stage = Literal["connect", "ehlo", "mail", "rcpt", "data"]
Action = Literal["reply", "drop", "delay", "close_after_reply"]

_DEFAULT_TEXT = {
    421: "4.3.2 Service not available, closing channel",
    450: "4.2.1 Mailbox busy, try again later",
    451: "4.3.0 Temporary local problem, try again later",
    452: "4.5.3 Too many recipients",
    454: "4.7.0 Temporary authentication failure",
    550: "5.1.1 Mailbox unavailable",
    552: "5.3.4 Message too big",
    553: "5.1.8 Sender address rejected",
    554: "5.6.0 Transaction failed",
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One way for the server to misbehave at one stage of a session."""

    stage: Stage
    action: Action
    code: int = 0
    text: str = ""
    seconds: float = 0.0

    @classmethod
    def reply(cls, stage: Stage, code: int, text: str | None = None) -> Fault:
        """Answer the stage with this code instead of going on (421 also hangs up)."""
        return cls(stage, "reply", code, text or _DEFAULT_TEXT.get(code, "Refused"))

    @classmethod
    def drop(cls, stage: Stage) -> Fault:
        """Close the connection at this stage without answering."""
        return cls(stage, "drop")

    @classmethod
    def delay(cls, stage: Stage, seconds: float) -> Fault:
        """Answer the stage normally, but only after this many seconds."""
        return cls(stage, "delay", seconds=seconds)

    @classmethod
    def idle_close(cls) -> Fault:
        """Accept the message, then close the connection as a server's idle timeout does."""
        return cls("data", "close_after_reply")


@dataclass(slots=True)
class ReceivedMessage:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    connection: int
    tls: bool
    authenticated_as: str | None


@dataclass(slots=True)
class ServerStats:
    """What the server has seen since it started (or since reset())."""

    connections: int = 0
    ehlos: int = 0
    starttls: int = 0
    auth_commands: int = 0
    logins: int = 0
    failed_logins: int = 0
    auth_mechanisms: list[str] = field(default_factory=list)
    transactions: int = 0
    accepted: int = 0
    disconnects: int = 0
    faults_played: int = 0


class _Recorder:
    """State shared between the server thread and the test, behind one lock."""

    def __init__(self, username: str, password: str, require_auth: bool) -> None:
        self.username = username
        self.password = password
        self.require_auth = require_auth
        self.keep_messages = True
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.stats = ServerStats()
        self.generation = 0
        self.messages: list[ReceivedMessage] = []
        self.faults: list[list[Any]] = []
        self.waiters: list[_Waiter] = []
        self.live: set[_RecordingSMTP] = set()

    def take(self, stage: Stage) -> Fault | None:
        with self.changed:
            for entry in self.faults:
                fault, left = entry
                if fault.stage == stage and left > 0:
                    entry[1] = left - 1
                    self.stats.faults_played += 1
                    self._notify()
                    return cast(Fault, fault)
        return None

    def count(self, name: str, mechanism: str | None = None) -> int:
        with self.changed:
            value = getattr(self.stats, name) + 1
            setattr(self.stats, name, value)
            if mechanism is not None:
                self.stats.auth_mechanisms.append(mechanism)
            self._notify()
            return cast(int, value)

    def add_message(self, received: ReceivedMessage) -> None:
        with self.changed:
            self.messages.append(received)
            self.stats.accepted += 1
            self._notify()

    def _notify(self) -> None:
        """Wake blocked and async waiters; called with the lock held."""
        self.changed.notify_all()
        for waiter in self.waiters:
            if waiter.predicate(self.stats, self.messages):
                waiter.loop.call_soon_threadsafe(_resolve, waiter.future)

    def authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        self.count("logins" if ok else "failed_logins", mechanism)
        return AuthResult(success=ok, handled=False, auth_data=self.username if ok else None)


@dataclass(frozen=True, slots=True)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    predicate: Callable[[ServerStats, list[ReceivedMessage]], bool]


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class _Handler:
    """aiosmtpd handler hooks: record envelopes and play the injected faults."""

    def __init__(self, recorder: _Recorder) -> None:
        self.recorder = recorder

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.recorder.count("ehlos")
        session.host_name = hostname
        fault = self.recorder.take("ehlo")
        if fault is not None:
            return [await _play(server, fault, "250 HELP")]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.recorder.count("transactions")
        if self.recorder.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return await _play(server, self.recorder.take("mail"), "250 OK")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        status = await _play(server, self.recorder.take("rcpt"), "250 OK")
        if status.startswith("250"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return status

    async def handle_DATA(self, server, session, envelope):
        fault = self.recorder.take("data")
        status = await _play(server, fault, "250 Message accepted for delivery")
        if not status.startswith("250"):
            return status
        raw = cast(bytes, envelope.original_content or envelope.content or b"")
        if not self.recorder.keep_messages:
            self.recorder.count("accepted")
            return status
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.recorder.add_message(
            ReceivedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                raw=raw,
                connection=server.connection_number,
                tls=session.ssl is not None or server.implicit_tls,
                authenticated_as=session.auth_data if session.authenticated else None,
            )
        )
        return status


async def _play(server: _RecordingSMTP, fault: Fault | None, normal: str) -> str:
    if fault is None:
        return normal
    if fault.action == "delay":
        await asyncio.sleep(fault.seconds)
        return normal
    if fault.action == "drop":
        server.hang_up()
        # Wait to be cancelled by connection_lost: the client never gets an answer.
        await asyncio.Event().wait()
    if fault.action == "close_after_reply":
        server.close_after_reply = True
        return normal
    if fault.code == 421:
        server.close_after_reply = True
    return f"{fault.code} {fault.text}"


class _RecordingSMTP(SMTP):
    """aiosmtpd's SMTP with connection counting, connect-time faults and AUTH counting."""

    def __init__(
        self,
        handler: _Handler,
        *,
        recorder: _Recorder,
        implicit_tls: bool,
        reply_delay: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self.recorder = recorder
        self.reply_delay = reply_delay
        self.implicit_tls = implicit_tls
        self.connection_number = 0
        self.generation = -1
        self.close_after_reply = False

    def hang_up(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Cut the connection at once, as a server being shut down does."""
        for transport in (self.transport, self._original_transport):
            if transport is not None:
                cast(asyncio.Transport, transport).abort()

    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else str(status)
        # A network delays a whole reply once: the last line of a multi-line reply
        # ("250 HELP" after "250-SIZE" and the rest) is the one the client waits for.
        if self.reply_delay and text[3:4] != "-":
            await asyncio.sleep(self.reply_delay)
        await super().push(status)
        if self.close_after_reply:
            self.close_after_reply = False
            self.hang_up()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.recorder.live.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self.recorder.live.discard(self)
        # Connections from before the last reset() are not counted twice.
        if self.generation == self.recorder.generation:
            self.recorder.count("disconnects")
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        self.generation = self.recorder.generation
        self.connection_number = self.recorder.count("connections")
        if self.reply_delay:
            # The TCP handshake costs a round trip before the greeting, and implicit
            # TLS one more (TLS 1.3); the greeting itself is delayed in push().
            await asyncio.sleep(self.reply_delay * (2 if self.implicit_tls else 1))
        fault = self.recorder.take("connect")
        if fault is not None and fault.action == "delay":
            await asyncio.sleep(fault.seconds)
        elif fault is not None and fault.action == "drop":
            self.hang_up()
            return
        elif fault is not None:
            await self.push(f"{fault.code} {fault.text}")
            self.hang_up()
            return
        await super()._handle_client()

    async def smtp_STARTTLS(self, arg: str) -> None:
        self.recorder.count("starttls")
        await super().smtp_STARTTLS(arg)
        if self.reply_delay:
            # The TLS 1.3 handshake costs one round trip.
            await asyncio.sleep(self.reply_delay)

    async def smtp_AUTH(self, arg: str) -> None:
        self.recorder.count("auth_commands")
        await super().smtp_AUTH(arg)


class _Controller(Controller):
    """aiosmtpd's threaded controller on an ephemeral port, building our SMTP class."""

    def __init__(self, handler: _Handler, *, factory_kwargs: dict[str, Any], **kwargs: Any):
        super().__init__(handler, hostname=HOST, port=0, **kwargs)
        self.factory_kwargs = factory_kwargs

    def factory(self) -> _RecordingSMTP:
        return _RecordingSMTP(self.handler, **self.factory_kwargs, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        # The port is only known once the listening socket exists.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpTestServer:
    """An aiosmtpd server in a background thread of this process.

    Args:
        security: "none" (plain, no STARTTLS offered), "starttls" or "tls" (implicit).
        auth: offer AUTH PLAIN and LOGIN, checking USERNAME and PASSWORD.
        auth_mechanisms: which of PLAIN and LOGIN to offer.
        auth_require_tls: offer AUTH only over TLS (default: when the server has TLS).
        require_auth: refuse MAIL FROM before a successful login (default: when auth).
        idle_timeout_seconds: close connections idle this long, as real servers do.
        reply_delay_seconds: one network round trip to stand in for a real provider
            (benchmarks): every reply waits this long, and so do the TCP handshake and
            the TLS handshake.
        keep_messages: parse and keep accepted messages; benchmarks only count them.
    """

    def __init__(
        self,
        *,
        security: Security = "none",
        auth: bool = True,
        username: str = USERNAME,
        password: str = PASSWORD,
        auth_mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN"),
        auth_require_tls: bool | None = None,
        require_auth: bool | None = None,
        idle_timeout_seconds: float = 300.0,
        reply_delay_seconds: float = 0.0,
        keep_messages: bool = True,
    ) -> None:
        self.security = security
        self.host = HOST
        self.port = 0
        self.username = username
        self.password = password
        self._workdir = Path(tempfile.mkdtemp(prefix="smtp-test-"))
        self.ca_file: Path | None = None
        self._server_tls: ssl.SSLContext | None = None
        if security != "none":
            self._server_tls = self._make_certificates()
        self._recorder = _Recorder(
            username, password, auth if require_auth is None else require_auth
        )
        self._recorder.keep_messages = keep_messages
        excluded = [m for m in ("PLAIN", "LOGIN") if m not in auth_mechanisms or not auth]
        smtp_kwargs: dict[str, Any] = {
            "server_hostname": "smtp.test",
            "auth_exclude_mechanism": excluded,
            # Implicit TLS is invisible to aiosmtpd's check, so only STARTTLS needs it.
            "auth_require_tls": (
                security == "starttls" if auth_require_tls is None else auth_require_tls
            ),
            "authenticator": self._recorder.authenticate,
            "timeout": idle_timeout_seconds,
            "enable_SMTPUTF8": False,
        }
        if security == "starttls":
            smtp_kwargs["tls_context"] = self._server_tls
        self._controller = _Controller(
            _Handler(self._recorder),
            factory_kwargs={
                "recorder": self._recorder,
                "implicit_tls": security == "tls",
                "reply_delay": reply_delay_seconds,
            },
            ssl_context=self._server_tls if security == "tls" else None,
            **smtp_kwargs,
        )
        self._started = False

    @property
    def options_security(self) -> Security:
        """Return which transport the server speaks."""
        return self.security

    def _make_certificates(self) -> ssl.SSLContext:
        ca = trustme.CA()
        cert = ca.issue_cert(HOST, "localhost")
        self.ca_file = self._workdir / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        return context

    def client_tls_context(self) -> ssl.SSLContext:
        """Return a client SSL context that trusts this server's throw-away CA."""
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def start(self) -> SmtpTestServer:
        """Start listening; returns self so it can be chained."""
        # aiosmtpd logs every command at INFO and a deprecation notice per login.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        self._controller.start()
        self.port = self._controller.port
        self._started = True
        # The controller opens one connection of its own to check the server is up.
        self.reset()
        return self

    def stop(self) -> None:
        """Stop the server and remove its certificates."""
        if self._started:
            # Since Python 3.12 the listening server waits for every open connection to
            # close before it stops, and a test may leave its client connected.
            self._controller.loop.call_soon_threadsafe(self._abort_connections)
            self._controller.stop()
            self._started = False
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _abort_connections(self) -> None:
        for connection in list(self._recorder.live):
            connection.abort()

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Play this fault the next `times` times its stage is reached."""
        with self._recorder.lock:
            self._recorder.faults.append([fault, times])

    def clear_faults(self) -> None:
        """Forget every fault not yet played."""
        with self._recorder.lock:
            self._recorder.faults.clear()

    def reset(self) -> None:
        """Forget messages, counters and faults."""
        with self._recorder.lock:
            self._recorder.stats = ServerStats()
            self._recorder.generation += 1
            self._recorder.messages.clear()
            self._recorder.faults.clear()

    @property
    def stats(self) -> ServerStats:
        """Return a copy of the counters."""
        with self._recorder.lock:
            s = self._recorder.stats
            return dataclasses.replace(s, auth_mechanisms=list(s.auth_mechanisms))

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Return the messages accepted so far, oldest first."""
        with self._recorder.lock:
            return list(self._recorder.messages)

    def wait_for_messages_sync(self, n: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Block until at least n messages arrived; raise TimeoutError otherwise."""
        with self._recorder.changed:
            if not self._recorder.changed.wait_for(
                lambda: len(self._recorder.messages) >= n, timeout
            ):
                raise TimeoutError(f"{len(self._recorder.messages)} of {n} messages arrived")
            return list(self._recorder.messages)

    def wait_for_stat_sync(self, name: str, value: int, timeout: float = 5.0) -> None:
        """Block until the counter `name` reaches value; raise TimeoutError otherwise."""
        with self._recorder.changed:
            if not self._recorder.changed.wait_for(
                lambda: getattr(self._recorder.stats, name) >= value, timeout
            ):
                raise TimeoutError(f"{name} did not reach {value}")

    async def wait_until(
        self,
        predicate: Callable[[ServerStats, list[ReceivedMessage]], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors the blocking waits below
    ) -> None:
        """Wait, without blocking the event loop, until predicate(stats, messages) holds.

        Tests must not block their own loop while the server waits for their client
        (a TLS goodbye, say), so these are the waits to use from async code.
        """
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop, loop.create_future(), predicate)
        with self._recorder.lock:
            if predicate(self._recorder.stats, self._recorder.messages):
                return
            self._recorder.waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter.future
        finally:
            with self._recorder.lock:
                self._recorder.waiters.remove(waiter)

    async def wait_for_messages(
        self,
        n: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[ReceivedMessage]:
        """Wait, without blocking the event loop, until at least n messages arrived."""
        try:
            await self.wait_until(lambda _, messages: len(messages) >= n, timeout)
        except TimeoutError:
            raise TimeoutError(f"{len(self.messages)} of {n} messages arrived") from None
        return self.messages

    async def wait_for_stat(
        self,
        name: str,
        value: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait, without blocking the event loop, until the counter `name` reaches value."""
        try:
            await self.wait_until(lambda stats, _: getattr(stats, name) >= value, timeout)
        except TimeoutError:
            raise TimeoutError(f"{name} did not reach {value}") from None


# A server in its own process, for benchmarks: client and server must not share
# one event loop (or one GIL) or the numbers measure the wrong thing.


def _serve(options: dict[str, Any], conn: multiprocessing.connection.Connection) -> None:
    with SmtpTestServer(**options) as server:
        conn.send((server.host, server.port, str(server.ca_file) if server.ca_file else None))
        while True:
            command = conn.recv()
            if command == "stats":
                conn.send(server.stats)
            elif command == "reset":
                server.reset()
                conn.send(True)
            else:
                conn.send(True)
                return


class SmtpServerProcess:
    """An SmtpTestServer running in a child process; the same options as SmtpTestServer."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.host = HOST
        self.port = 0
        self.ca_file: Path | None = None
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(options, child), daemon=True)

    @property
    def options_security(self) -> Security:
        """Return which transport the server speaks."""
        return cast(Security, self.options.get("security", "none"))

    def start(self) -> SmtpServerProcess:
        """Start the child and wait until its server listens."""
        self._process.start()
        if not self._conn.poll(30):
            self._process.kill()
            raise TimeoutError("the SMTP server process did not start")
        self.host, self.port, ca = self._conn.recv()
        self.ca_file = Path(ca) if ca else None
        return self

    def stats(self) -> ServerStats:
        """Return the child server's counters."""
        self._conn.send("stats")
        return cast(ServerStats, self._conn.recv())

    def reset(self) -> None:
        """Reset the child server's counters and messages."""
        self._conn.send("reset")
        self._conn.recv()

    def stop(self) -> None:
        """Stop the child server and wait for the process to end."""
        if self._process.is_alive():
            self._conn.send("stop")
            self._conn.recv()
            self._process.join(10)
        if self._process.is_alive():
            self._process.kill()

    def __enter__(self) -> SmtpServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def write_config(
    server: SmtpTestServer | SmtpServerProcess,
    folder: Path,
    *,
    template: Path | None = None,
    **config: Any,
) -> Path:
    """Write config.json (pointing at the server) and email_template.json into folder.

    Args:
        template: the template file to copy; the shipped config/email_template.json
            by default.
        config: more config.json keys, which win over the defaults written here.
    """
    values: dict[str, Any] = {
        "smtp_server": server.host,
        "smtp_port": server.port,
        "smtp_security": server.options_security,
        "smtp_timeout_seconds": 5,
        "smtp_ca_file": str(server.ca_file) if server.ca_file else None,
        "shop_name": "Test Shop",
        "outbox_dir": str(folder / "outbox"),
    }
    values.update(config)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(values), encoding="utf-8")
    source = template or Path(__file__).resolve().parent.parent / "config" / "email_template.json"
    shutil.copyfile(source, folder / "email_template.json")
    return folder


def settings_for(
    server: SmtpTestServer | SmtpServerProcess,
    folder: Path,
    *,
    username: str | None = USERNAME,
    password: str | None = PASSWORD,
    **config: Any,
) -> Any:
    """Return orderbot Settings that send through this server (an outbox if no login)."""
    from orderbot.config import load_settings

    write_config(server, folder, **config)
    environ = {"DISCORD_BOT_TOKEN": "test-token"}
    if username is not None:
        environ["SENDER_EMAIL"] = username
    if password is not None:
        environ["SENDER_PASSWORD"] = password
    return load_settings(folder, env_file=folder / "absent.env", environ=environ)
