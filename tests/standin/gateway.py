"""The stand-in's gateway: HELLO, IDENTIFY/READY, RESUME, heartbeats, sharding and dispatch."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .payloads import current_user_payload, guild_create_payload, member_payload
from .waiting import Notifier

if TYPE_CHECKING:
    from .interactions import InteractionHandle
    from .world import World

__all__ = ["Gateway", "GatewayConnection", "GatewaySession", "NoGatewaySession"]

log = logging.getLogger(__name__)

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

CLOSE_UNKNOWN_ERROR = 4000
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SHARD = 4010
CLOSE_DISALLOWED_INTENTS = 4014

INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

CLOSE_HANDSHAKE_TIMEOUT_S = 0.5
"""How long a server-side close waits for the client's close frame before dropping TCP.

nextcord opens its socket with autoclose=False and never answers a close frame it receives,
so without a short timeout every dropped connection would linger for aiohttp's 10 s.
"""

_HEARTBEAT_ACK = '{"op":11,"s":null,"t":null,"d":null}'
_RECONNECT = '{"op":7,"s":null,"t":null,"d":null}'

_dumps = json.JSONEncoder(separators=(",", ":")).encode


class NoGatewaySession(RuntimeError):
    """No gateway session owns the guild an event is for (is the bot connected?)."""


@dataclass(slots=True, eq=False)
class GatewaySession:
    """A gateway session: it survives reconnects (RESUME) until invalidated."""

    id: str
    shard_id: int | None
    shard_count: int | None
    intents: int
    identified_ns: int
    seq: int = 0
    connection: GatewayConnection | None = None
    closed: bool = False
    """True once the session can no longer be resumed."""
    resumes: int = 0
    ready: bool = False
    """True once READY and the GUILD_CREATEs have been written."""
    buffer: deque[tuple[int, str, InteractionHandle | None]] = field(default_factory=deque)
    """Recent dispatch frames, replayed on RESUME."""
    guild_ids: list[int] = field(default_factory=list)
    """The guilds READY announced."""

    @property
    def shard(self) -> tuple[int, int] | None:
        """Return ``(shard_id, shard_count)`` as sent in IDENTIFY, or None."""
        if self.shard_id is None or self.shard_count is None:
            return None
        return self.shard_id, self.shard_count

    @property
    def connected(self) -> bool:
        """Return whether a live socket is attached."""
        return self.connection is not None

    def owns(self, guild_id: int | None) -> bool:
        """Return whether events for this guild (None: DMs) go to this session."""
        if self.shard_count is None or self.shard_id is None:
            return True
        if guild_id is None:
            # Discord sends DM events to shard 0 only.
            return self.shard_id == 0
        return (guild_id >> 22) % self.shard_count == self.shard_id


class GatewayConnection:
    """One websocket from the bot."""

    __slots__ = ("compressor", "heartbeats", "opened_ns", "path", "query", "session", "ws")

    def __init__(
        self, ws: web.WebSocketResponse, path: str, query: dict[str, str], zlib_stream: bool
    ):
        self.ws = ws
        self.path = path
        self.query = query
        self.session: GatewaySession | None = None
        self.heartbeats = 0
        self.opened_ns = time.perf_counter_ns()
        self.compressor = zlib.compressobj() if zlib_stream else None

    async def send(self, frame: str) -> None:
        """Write one frame; the write happens before the first suspension point."""
        compressor = self.compressor
        if compressor is None:
            await self.ws.send_str(frame)
        else:
            data = compressor.compress(frame.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
            await self.ws.send_bytes(data)


@dataclass(slots=True, frozen=True)
class GatewayEvent:
    """A lifecycle event on the gateway, for assertions: identify, ready, resume and so on."""

    kind: str
    session_id: str | None
    shard: tuple[int, int] | None
    at_ns: int
    detail: str = ""


class Gateway:
    """Serve the gateway websocket and route dispatches to the sessions that own a guild."""

    def __init__(
        self,
        world: World,
        *,
        heartbeat_interval_ms: int,
        resume_buffer: int,
        zlib_stream: bool,
        privileged_intents: int,
    ) -> None:
        self.world = world
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: set[GatewayConnection] = set()
        self.events: list[GatewayEvent] = []
        self.unexpected: list[str] = []
        self.identifies = 0
        self.resumes = 0
        self.changed = Notifier()
        self.resume_url = ""
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._resume_buffer = resume_buffer
        self._zlib_stream = zlib_stream
        self._privileged_intents = privileged_intents
        self._routes: dict[int | None, list[GatewaySession]] = {}
        self._closing: set[asyncio.Task[Any]] = set()

    # Sessions.

    def live_sessions(self) -> list[GatewaySession]:
        """Return the sessions not yet invalidated: connected, or waiting to resume."""
        return [session for session in self.sessions.values() if not session.closed]

    def sessions_for(self, guild_id: int | None) -> list[GatewaySession]:
        """Return the live sessions that receive events for a guild (None: DMs)."""
        routed = self._routes.get(guild_id)
        if routed is None:
            routed = [s for s in self.sessions.values() if not s.closed and s.owns(guild_id)]
            self._routes[guild_id] = routed
        return routed

    def _sessions_changed(self) -> None:
        self._routes.clear()
        self.changed.notify()

    def _end(self, session: GatewaySession) -> None:
        """Make a session unresumable and free its replay buffer."""
        session.closed = True
        session.buffer.clear()
        self._sessions_changed()

    def _event(self, kind: str, session: GatewaySession | None, detail: str = "") -> None:
        self.events.append(
            GatewayEvent(
                kind=kind,
                session_id=session.id if session else None,
                shard=session.shard if session else None,
                at_ns=time.perf_counter_ns(),
                detail=detail,
            )
        )
        log.debug("Gateway %s (session %s) %s", kind, session.id if session else "-", detail)

    # Dispatch.

    async def dispatch(
        self,
        event: str,
        data: Any,
        *,
        guild_id: int | None,
        handle: InteractionHandle | None = None,
    ) -> int:
        """Send an event to every session owning the guild; return how many got it.

        The data is serialised once. A session whose socket is gone (before a RESUME) keeps
        the frame in its buffer and receives it on resume.
        """
        sessions = self.sessions_for(guild_id)
        if not sessions:
            raise NoGatewaySession(f"no gateway session receives events for guild {guild_id}")
        data_json = _dumps(data)
        for session in sessions:
            await self._send_dispatch(session, event, data_json, handle)
        return len(sessions)

    async def dispatch_to(
        self,
        session: GatewaySession,
        event: str,
        data: Any,
        handle: InteractionHandle | None = None,
    ) -> None:
        """Send an event to one session."""
        await self._send_dispatch(session, event, _dumps(data), handle)

    async def _send_dispatch(
        self,
        session: GatewaySession,
        event: str,
        data_json: str,
        handle: InteractionHandle | None,
    ) -> None:
        # The sequence number is assigned and the frame written with no suspension in between,
        # so concurrent dispatches reach the socket in sequence order.
        session.seq += 1
        frame = f'{{"op":0,"s":{session.seq},"t":"{event}","d":{data_json}}}'
        buffer = session.buffer
        buffer.append((session.seq, frame, handle))
        if len(buffer) > self._resume_buffer:
            buffer.popleft()
        connection = session.connection
        if connection is None:
            return
        try:
            await connection.send(frame)
        except (ConnectionError, RuntimeError):
            log.debug("Session %s lost its socket while sending %s", session.id, event)
            self._detach(connection)
            return
        if handle is not None and handle.dispatched_at is None:
            handle.dispatched_at = time.perf_counter_ns()

    # Controls for tests.

    async def drop(self, session: GatewaySession, code: int = CLOSE_UNKNOWN_ERROR) -> None:
        """Close the session's socket with a resumable code; the session stays resumable."""
        connection = session.connection
        if connection is None:
            raise RuntimeError(f"session {session.id} has no socket to drop")
        self._detach(connection)
        self._event("dropped", session, f"code {code}")
        self._close_soon(connection, code)

    async def invalidate(self, session: GatewaySession, *, resumable: bool = False) -> None:
        """Send INVALID_SESSION; with resumable=False the bot must IDENTIFY afresh."""
        if not resumable:
            self._end(session)
        self._event("invalidated", session, f"resumable={resumable}")
        connection = session.connection
        if connection is not None:
            frame = f'{{"op":9,"s":null,"t":null,"d":{"true" if resumable else "false"}}}'
            await connection.send(frame)

    async def reconnect(self, session: GatewaySession) -> None:
        """Send RECONNECT (op 7); the bot closes the socket and resumes."""
        connection = session.connection
        if connection is None:
            raise RuntimeError(f"session {session.id} has no socket")
        self._event("reconnect_requested", session)
        await connection.send(_RECONNECT)

    async def close(self) -> None:
        """Close every socket and wait for the close handshakes to finish."""
        for connection in list(self.connections):
            if not connection.ws.closed:
                self._close_soon(connection, 1001)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def _close_soon(self, connection: GatewayConnection, code: int) -> None:
        task = asyncio.get_running_loop().create_task(connection.ws.close(code=code))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _detach(self, connection: GatewayConnection) -> None:
        session = connection.session
        connection.session = None
        if session is not None and session.connection is connection:
            session.connection = None
            self.changed.notify()

    # The websocket.

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one gateway websocket (``/`` for IDENTIFY, ``/resume`` for resume URLs)."""
        ws = web.WebSocketResponse(timeout=CLOSE_HANDSHAKE_TIMEOUT_S, max_msg_size=0)
        await ws.prepare(request)
        query = dict(request.query)
        zlib_stream = self._zlib_stream and query.get("compress") == "zlib-stream"
        connection = GatewayConnection(ws, request.path, query, zlib_stream)
        self.connections.add(connection)
        hello = {"heartbeat_interval": self._heartbeat_interval_ms, "_trace": ["discord-stand-in"]}
        await connection.send(_dumps({"op": OP_HELLO, "s": None, "t": None, "d": hello}))
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._receive(connection, message.data)
                else:
                    self._unexpected(connection, f"websocket message of type {message.type!r}")
        finally:
            self.connections.discard(connection)
            self._closed(connection, ws.close_code)
        return ws

    def _closed(self, connection: GatewayConnection, code: int | None) -> None:
        session = connection.session
        if session is None:
            return
        self._detach(connection)
        if code in (1000, 1001):
            # Discord ends a session the client closes with 1000 or 1001.
            self._end(session)
        self._event("disconnected", session, f"code {code}")

    async def _receive(self, connection: GatewayConnection, text: str) -> None:
        try:
            payload = json.loads(text)
            op = payload["op"]
            data = payload.get("d")
        except (ValueError, KeyError, TypeError):
            self._unexpected(connection, f"undecodable frame {text[:80]!r}")
            await connection.ws.close(code=CLOSE_DECODE_ERROR)
            return
        if op == OP_HEARTBEAT:
            connection.heartbeats += 1
            await connection.send(_HEARTBEAT_ACK)
        elif op == OP_IDENTIFY:
            await self._identify(connection, data)
        elif op == OP_RESUME:
            await self._resume(connection, data)
        elif connection.session is None:
            await connection.ws.close(code=CLOSE_NOT_AUTHENTICATED)
        elif op == OP_PRESENCE_UPDATE:
            self._event("presence_update", connection.session, _dumps(data)[:200])
        elif op == OP_REQUEST_GUILD_MEMBERS:
            await self._request_members(connection.session, data)
        else:
            self._unexpected(connection, f"opcode {op}")
            await connection.ws.close(code=CLOSE_UNKNOWN_OPCODE)

    def _unexpected(self, connection: GatewayConnection, what: str) -> None:
        session = connection.session
        self.unexpected.append(f"{what} (session {session.id if session else '-'})")
        log.warning("Unexpected gateway traffic: %s", what)

    async def _identify(self, connection: GatewayConnection, data: Any) -> None:
        world = self.world
        if connection.session is not None:
            await connection.ws.close(code=CLOSE_ALREADY_AUTHENTICATED)
            return
        if not isinstance(data, dict) or data.get("token") != world.token:
            self._event("identify_refused", None, "bad token")
            await connection.ws.close(code=CLOSE_AUTHENTICATION_FAILED)
            return
        shard = data.get("shard")
        shard_id = shard_count = None
        if shard is not None:
            valid = isinstance(shard, list) and len(shard) == 2 and 0 <= shard[0] < shard[1]
            if not valid:
                await connection.ws.close(code=CLOSE_INVALID_SHARD)
                return
            shard_id, shard_count = int(shard[0]), int(shard[1])
        intents = int(data.get("intents") or 0)
        if intents & PRIVILEGED_INTENTS & ~self._privileged_intents:
            await connection.ws.close(code=CLOSE_DISALLOWED_INTENTS)
            return
        session = GatewaySession(
            id=secrets.token_hex(16),
            shard_id=shard_id,
            shard_count=shard_count,
            intents=intents,
            identified_ns=time.perf_counter_ns(),
        )
        session.guild_ids = [guild_id for guild_id in world.guilds if session.owns(guild_id)]
        self.sessions[session.id] = session
        session.connection = connection
        connection.session = session
        self.identifies += 1
        self._event("identify", session, connection.path)
        await self._send_ready(session)
        session.ready = True
        self._sessions_changed()

    async def _send_ready(self, session: GatewaySession) -> None:
        world = self.world
        ready: dict[str, Any] = {
            "v": 10,
            "user": current_user_payload(world.bot),
            "guilds": [
                {"id": str(guild_id), "unavailable": True} for guild_id in session.guild_ids
            ],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "application": {"id": str(world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["discord-stand-in"],
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        await self.dispatch_to(session, "READY", ready)
        self._event("ready", session, f"{len(session.guild_ids)} guild(s)")
        for guild_id in session.guild_ids:
            guild = world.guilds[guild_id]
            await self.dispatch_to(
                session, "GUILD_CREATE", guild_create_payload(guild, bot=world.bot)
            )

    async def _resume(self, connection: GatewayConnection, data: Any) -> None:
        if not isinstance(data, dict) or data.get("token") != self.world.token:
            await connection.ws.close(code=CLOSE_AUTHENTICATION_FAILED)
            return
        session = self.sessions.get(str(data.get("session_id")))
        last_seq = data.get("seq")
        replay = None
        if session is not None and not session.closed and isinstance(last_seq, int):
            replay = _frames_after(session, last_seq)
        if session is None or replay is None:
            # Discord answers an unknown or expired session with INVALID_SESSION (d=false);
            # nextcord then closes with 1000 and identifies afresh.
            self._event("resume_refused", session, f"seq {last_seq}")
            await connection.send('{"op":9,"s":null,"t":null,"d":false}')
            return
        old = session.connection
        if old is not None:
            self._detach(old)
            self._close_soon(old, CLOSE_UNKNOWN_ERROR)
        session.connection = connection
        connection.session = session
        session.resumes += 1
        self.resumes += 1
        self._event("resume", session, f"{connection.path}, replaying {len(replay)} frame(s)")
        for _seq, frame, handle in replay:
            await connection.send(frame)
            if handle is not None and handle.dispatched_at is None:
                handle.dispatched_at = time.perf_counter_ns()
        await self.dispatch_to(session, "RESUMED", {"_trace": ["discord-stand-in"]})
        self._sessions_changed()

    async def _request_members(self, session: GatewaySession, data: Any) -> None:
        """Answer REQUEST_GUILD_MEMBERS with one GUILD_MEMBERS_CHUNK per guild."""
        if not isinstance(data, dict):
            return
        raw = data.get("guild_id")
        guild_ids: Iterable[Any] = raw if isinstance(raw, list) else [raw]
        wanted = {int(user_id) for user_id in data.get("user_ids") or ()}
        query = str(data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        for raw_id in guild_ids:
            guild = self.world.guilds.get(int(raw_id))
            if guild is None:
                continue
            members = [
                member
                for member in guild.members.values()
                if (
                    member.user.id in wanted
                    if wanted
                    else member.user.name.lower().startswith(query)
                )
            ]
            if limit:
                members = members[:limit]
            chunk: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [member_payload(member) for member in members],
                "chunk_index": 0,
                "chunk_count": 1,
            }
            if wanted:
                chunk["not_found"] = [str(u) for u in wanted - {m.user.id for m in members}]
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            await self.dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)


def _frames_after(
    session: GatewaySession, last_seq: int
) -> list[tuple[int, str, InteractionHandle | None]] | None:
    """Return the buffered frames after ``last_seq``, or None if some were already dropped."""
    missing = session.seq - last_seq
    buffer = session.buffer
    if missing < 0 or missing > len(buffer):
        return None
    # Sequence numbers are consecutive, so the first missed frame's position is known.
    return list(islice(buffer, len(buffer) - missing, None))
