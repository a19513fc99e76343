"""The stand-in's REST API v10: the routes nextcord calls, with Discord's answers and headers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .components import modal_from_data
from .faults import FaultTable
from .interactions import (
    ALLOWED_CALLBACKS,
    CALLBACK_DEFERRED_MESSAGE,
    CALLBACK_DEFERRED_UPDATE,
    CALLBACK_MESSAGE,
    CALLBACK_MODAL,
    CALLBACK_UPDATE_MESSAGE,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_MESSAGE_COMPONENT,
    INTERACTION_MODAL_SUBMIT,
    InteractionCallback,
    InteractionHandle,
)
from .model import (
    MESSAGE_FLAG_EPHEMERAL,
    MESSAGE_FLAG_LOADING,
    ChannelState,
    CommandRecord,
    MessageRecord,
    UploadedFile,
)
from .payloads import (
    application_payload,
    channel_payload,
    current_user_payload,
    guild_payload,
    member_payload,
    message_payload,
    role_payload,
    user_payload,
)
from .permissions import Permission
from .validation import FormErrors, check_command, check_message, check_modal, is_empty_message
from .waiting import Notifier
from .world import World

__all__ = ["ApiError", "RequestRecord", "RestApi"]

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json"
INTERACTION_TOKEN_TTL_NS = 15 * 60 * 1_000_000_000
"""Discord: interaction tokens are valid for 15 minutes."""
COMMANDS_PER_SCOPE_MAX = 100
HISTORY_LIMIT_MAX = 100
MESSAGE_TYPE_CHAT_INPUT_COMMAND = 20
CHANNEL_MESSAGE_FLAGS = 1 << 2 | 1 << 12 | 1 << 15
"""Flags a channel post may set: suppress embeds, suppress notifications, components V2."""

_dumps = json.JSONEncoder(separators=(",", ":")).encode


@dataclass(slots=True, eq=False)
class RequestRecord:
    """One REST request the bot made."""

    method: str
    path: str
    """The request path, e.g. ``/api/v10/channels/123/messages``."""
    route: str | None
    """The modelled route template, e.g. ``POST /channels/{channel_id}/messages``, or None."""
    query: dict[str, str]
    json: Any
    at_ns: int
    """time.perf_counter_ns() when the request arrived."""
    match: dict[str, str] = field(default_factory=dict)
    files: int = 0
    status: int = 0


class ApiError(Exception):
    """An error answer in Discord's shape: ``{"message": ..., "code": ...}``."""

    def __init__(self, status: int, code: int, message: str, body: dict[str, Any] | None = None):
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body = body if body is not None else {"message": message, "code": code}


def _unknown(what: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


def _snowflake(value: str, what: str, code: int) -> int:
    try:
        return int(value)
    except ValueError:
        raise _unknown(what, code) from None


class Call:
    """The parsed request a route handler works on."""

    __slots__ = ("files", "json", "match", "query", "record")

    def __init__(
        self,
        record: RequestRecord,
        match: Mapping[str, str],
        body: Any,
        files: list[UploadedFile],
        query: Mapping[str, str],
    ) -> None:
        self.record = record
        self.match = match
        self.json = body
        self.files = files
        self.query = query

    @property
    def arrived_ns(self) -> int:
        """Return when the request arrived (time.perf_counter_ns())."""
        return self.record.at_ns

    def object(self) -> dict[str, Any]:
        """Return the JSON body, which must be an object."""
        if not isinstance(self.json, dict):
            raise ApiError(400, 50109, "The request body contains invalid JSON.")
        return self.json


Reply = tuple[int, Any]
Handler = Callable[[Call], Reply]


@dataclass(slots=True, frozen=True)
class _Route:
    key: str
    """``METHOD /template``: the name faults, counters and records use."""
    handler: Handler
    auth: bool
    """Whether the route needs the bot token (webhook routes carry theirs in the URL)."""
    bucket: str
    commands: bool


class RestApi:
    """Serve Discord's REST routes over the shared world.

    Every answer is JSON with a Content-Type of exactly ``application/json`` (nextcord parses
    nothing else) and carries generous rate-limit headers so nextcord never waits.
    """

    def __init__(
        self,
        world: World,
        *,
        gateway_url: Callable[[], str],
        session_starts_used: Callable[[], int],
        ack_deadline_s: float | None,
        recommended_shards: int = 1,
        rate_limit: int = 1_000_000,
        rate_limit_window_s: float = 60.0,
        keep_requests: bool = True,
    ) -> None:
        self.world = world
        self.faults = FaultTable()
        self.requests: list[RequestRecord] = []
        """Every request, in arrival order (unless keep_requests is False)."""
        self.unexpected: list[RequestRecord] = []
        """Requests to routes the stand-in does not model."""
        self.errors: list[str] = []
        """Exceptions raised by the stand-in's own handlers (bugs in the stand-in)."""
        self.command_requests: list[RequestRecord] = []
        """Requests to the application command routes, GETs included."""
        self.route_counts: Counter[str] = Counter()
        self.request_notifier = Notifier()
        self.recommended_shards = recommended_shards
        self._gateway_url = gateway_url
        self._session_starts_used = session_starts_used
        self._ack_deadline_ns = None if ack_deadline_s is None else int(ack_deadline_s * 1e9)
        self._keep_requests = keep_requests
        self._auth = f"Bot {world.token}"
        self._app_id = str(world.application_id)
        self._limit = str(rate_limit)
        self._remaining = str(rate_limit - 1)
        self._window_s = rate_limit_window_s
        self._window = f"{rate_limit_window_s:.3f}"
        self._routes: list[_Route] = []

    # Wiring.

    def install(self, app: web.Application, base_path: str) -> None:
        """Register every modelled route under ``base_path``, then the catch-all."""
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/users/@me", self.get_current_user, True),
            ("GET", "/users/{user_id}", self.get_user, True),
            ("POST", "/users/@me/channels", self.create_dm, True),
            ("GET", "/gateway", self.get_gateway, True),
            ("GET", "/gateway/bot", self.get_gateway_bot, True),
            ("GET", "/oauth2/applications/@me", self.get_application, True),
            ("GET", "/channels/{channel_id}", self.get_channel, True),
            ("GET", "/channels/{channel_id}/messages", self.get_history, True),
            ("POST", "/channels/{channel_id}/messages", self.create_message, True),
            ("POST", "/channels/{channel_id}/typing", self.trigger_typing, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message, True),
            ("GET", "/guilds/{guild_id}", self.get_guild, True),
            ("GET", "/guilds/{guild_id}/channels", self.get_guild_channels, True),
            ("GET", "/guilds/{guild_id}/roles", self.get_guild_roles, True),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member, True),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self.callback, False),
            ("POST", "/webhooks/{application_id}/{token}", self.create_followup, False),
        ]
        for scope in (
            "/applications/{application_id}",
            "/applications/{application_id}/guilds/{guild_id}",
        ):
            base = f"{scope}/commands"
            table += [
                ("GET", base, self.list_commands, True),
                ("POST", base, self.create_command, True),
                ("PUT", base, self.overwrite_commands, True),
                ("GET", base + "/{command_id}", self.get_command, True),
                ("PATCH", base + "/{command_id}", self.edit_command, True),
                ("DELETE", base + "/{command_id}", self.delete_command, True),
            ]
        # "@original" is registered before "{message_id}" so the literal wins.
        for message in ("@original", "{message_id}"):
            path = "/webhooks/{application_id}/{token}/messages/" + message
            table += [
                ("GET", path, self.get_webhook_message, False),
                ("PATCH", path, self.edit_webhook_message, False),
                ("DELETE", path, self.delete_webhook_message, False),
            ]
        for method, template, handler, auth in table:
            route = _Route(
                key=f"{method} {template}",
                handler=handler,
                auth=auth,
                # Discord's bucket hash depends on the route, not on its major parameters.
                bucket=hashlib.blake2s(f"{method} {template}".encode(), digest_size=8).hexdigest(),
                commands=template.endswith(("/commands", "/{command_id}")),
            )
            self._routes.append(route)
            app.router.add_route(method, base_path + template, self._endpoint(route))
        app.router.add_route("*", "/{tail:.*}", self._serve_unexpected)

    def _endpoint(self, route: _Route) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def endpoint(request: web.Request) -> web.Response:
            return await self._serve(request, route)

        return endpoint

    @property
    def routes(self) -> list[str]:
        """Return the modelled route keys, e.g. ``POST /channels/{channel_id}/messages``."""
        return [route.key for route in self._routes]

    # Request handling.

    async def _serve(self, request: web.Request, route: _Route) -> web.Response:
        arrived = time.perf_counter_ns()
        if route.auth and request.headers.get("Authorization") != self._auth:
            record = self._record(request, route.key, None, arrived)
            return self._finish(
                record, 401, {"message": "401: Unauthorized", "code": 0}, route.bucket
            )
        try:
            body, files = await _read_body(request)
        except ValueError:
            record = self._record(request, route.key, None, arrived)
            error = {"message": "The request body contains invalid JSON.", "code": 50109}
            return self._finish(record, 400, error, route.bucket)
        record = self._record(request, route.key, body, arrived, len(files))
        if route.commands:
            self.command_requests.append(record)
        fault = self.faults.take(route.key, record) if self.faults else None
        if fault is not None:
            if fault.delay_s:
                # Injected latency is the point of this sleep.
                await asyncio.sleep(fault.delay_s)
            if fault.status is not None:
                log.debug("Injected %s on %s", fault.status, route.key)
                return self._finish(
                    record, fault.status, fault.body(), route.bucket, fault.headers()
                )
        call = Call(record, request.match_info, body, files, request.query)
        try:
            status, payload = route.handler(call)
        except ApiError as error:
            status, payload = error.status, error.body
        except Exception as error:
            # A bug in the stand-in must fail the test, not look like a Discord outage: a 5xx
            # would make nextcord sleep and retry, so answer 400 and report it at teardown.
            log.exception("Stand-in error on %s", route.key)
            self.errors.append(f"{route.key}: {error!r}")
            status, payload = 400, {"message": f"stand-in error: {error!r}", "code": 0}
        return self._finish(record, status, payload, route.bucket)

    def _record(
        self,
        request: web.Request,
        route: str | None,
        body: Any,
        arrived: int,
        files: int = 0,
    ) -> RequestRecord:
        record = RequestRecord(
            method=request.method,
            path=request.path,
            route=route,
            query=dict(request.query) if request.query_string else {},
            json=body,
            at_ns=arrived,
            match=dict(request.match_info),
            files=files,
        )
        if self._keep_requests:
            self.requests.append(record)
        if route is not None:
            self.route_counts[route] += 1
        return record

    def _finish(
        self,
        record: RequestRecord,
        status: int,
        payload: Any,
        bucket: str,
        extra_headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        record.status = status
        headers = {
            "X-RateLimit-Limit": self._limit,
            "X-RateLimit-Remaining": self._remaining,
            "X-RateLimit-Reset": f"{time.time() + self._window_s:.3f}",
            "X-RateLimit-Reset-After": self._window,
            "X-RateLimit-Bucket": bucket,
        }
        if extra_headers:
            headers.update(extra_headers)
        self.request_notifier.notify()
        if status == 204 or payload is None:
            return web.Response(status=status, headers=headers)
        # Exactly "application/json": nextcord compares the header verbatim before parsing.
        headers["Content-Type"] = JSON_CONTENT_TYPE
        return web.Response(status=status, body=_dumps(payload).encode(), headers=headers)

    async def _serve_unexpected(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter_ns()
        try:
            body, files = await _read_body(request)
        except ValueError:
            body, files = None, []
        record = self._record(request, None, body, arrived, len(files))
        self.unexpected.append(record)
        log.warning("Unmodelled route %s %s", request.method, request.path)
        return self._finish(record, 404, {"message": "404: Not Found", "code": 0}, "unmodelled")

    # Users, gateway and application.

    def get_current_user(self, call: Call) -> Reply:
        """Answer ``GET /users/@me`` with the bot user; nextcord logs in with it."""
        return 200, current_user_payload(self.world.bot)

    def get_user(self, call: Call) -> Reply:
        """Answer ``GET /users/{user_id}``."""
        user_id = _snowflake(call.match["user_id"], "User", 10013)
        user = self.world.users.get(user_id)
        if user is None:
            raise _unknown("User", 10013)
        return 200, user_payload(user)

    def create_dm(self, call: Call) -> Reply:
        """Open (or return) the DM channel with a user: ``POST /users/@me/channels``."""
        recipient = str(call.object().get("recipient_id"))
        user = self.world.users.get(int(recipient)) if recipient.isdigit() else None
        if user is None or user.bot:
            raise ApiError(400, 50033, "Invalid Recipient(s)")
        return 200, channel_payload(self.world.dm_channel(user))

    def get_gateway(self, call: Call) -> Reply:
        """Answer ``GET /gateway`` with the URL a plain Client connects to."""
        return 200, {"url": self._gateway_url()}

    def get_gateway_bot(self, call: Call) -> Reply:
        """Answer ``GET /gateway/bot``: the URL, shard count and session start limit."""
        used = self._session_starts_used()
        return 200, {
            "url": self._gateway_url(),
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": max(0, 1000 - used),
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    def get_application(self, call: Call) -> Reply:
        """Answer ``GET /oauth2/applications/@me``, which ``is_owner`` checks read."""
        world = self.world
        return 200, application_payload(world.application_id, world.bot, world.owner)

    # Channels and messages.

    def _channel(self, call: Call) -> ChannelState:
        channel_id = _snowflake(call.match["channel_id"], "Channel", 10003)
        channel = self.world.channels.get(channel_id)
        if channel is None:
            raise _unknown("Channel", 10003)
        if not channel.is_dm:
            granted = self.world.permissions_in(self.world.bot, channel)
            if not granted & Permission.VIEW_CHANNEL:
                raise ApiError(403, 50001, "Missing Access")
        return channel

    def _message(self, call: Call, channel: ChannelState) -> MessageRecord:
        message_id = _snowflake(call.match["message_id"], "Message", 10008)
        message = self.world.messages.get(message_id)
        if message is None or message.deleted or message.channel_id != channel.id:
            raise _unknown("Message", 10008)
        return message

    def get_channel(self, call: Call) -> Reply:
        """Answer ``GET /channels/{channel_id}``."""
        return 200, channel_payload(self._channel(call))

    def get_history(self, call: Call) -> Reply:
        """Answer channel history, newest first, honouring before/after/limit."""
        channel = self._channel(call)
        query = call.query
        limit = max(1, min(HISTORY_LIMIT_MAX, int(query.get("limit", 50))))
        before = int(query["before"]) if "before" in query else None
        after = int(query["after"]) if "after" in query else None
        found = self.world.history(channel, limit=limit, before=before, after=after)
        return 200, [message_payload(message) for message in found]

    def create_message(self, call: Call) -> Reply:
        """Post a message to a channel, refusing it without the permissions to post."""
        channel = self._channel(call)
        body = call.object()
        if channel.is_dm:
            assert channel.recipient is not None
            if not channel.recipient.accepts_dms:
                raise ApiError(403, 50007, "Cannot send messages to this user")
        else:
            granted = self.world.permissions_in(self.world.bot, channel)
            if not granted & Permission.SEND_MESSAGES:
                raise ApiError(403, 50013, "Missing Permissions")
        _check_new_message(body, len(call.files))
        # Only interaction responses can be ephemeral; Discord ignores the flag elsewhere.
        flags = int(body.get("flags") or 0) & CHANNEL_MESSAGE_FLAGS
        message = self.world.create_message(
            channel, body, arrived_ns=call.arrived_ns, files=call.files, flags=flags
        )
        return 200, message_payload(message)

    def trigger_typing(self, call: Call) -> Reply:
        """Accept a typing indicator."""
        self._channel(call)
        return 204, None

    def get_message(self, call: Call) -> Reply:
        """Answer ``GET`` of one channel message."""
        channel = self._channel(call)
        return 200, message_payload(self._message(call, channel))

    def edit_message(self, call: Call) -> Reply:
        """Edit one channel message; only the bot's own may be edited."""
        channel = self._channel(call)
        message = self._message(call, channel)
        if message.author is not self.world.bot:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = call.object()
        _check_edit(body)
        return 200, message_payload(self.world.edit_message(message, body, call.files))

    def delete_message(self, call: Call) -> Reply:
        """Delete one channel message."""
        channel = self._channel(call)
        self.world.delete_message(self._message(call, channel))
        return 204, None

    # Guilds.

    def _guild_id(self, call: Call) -> int:
        guild_id = _snowflake(call.match["guild_id"], "Guild", 10004)
        if guild_id not in self.world.guilds:
            raise _unknown("Guild", 10004)
        return guild_id

    def get_guild(self, call: Call) -> Reply:
        """Answer ``GET /guilds/{guild_id}``, with approximate counts when asked."""
        guild = self.world.guilds[self._guild_id(call)]
        with_counts = call.query.get("with_counts", "").lower() in ("1", "true")
        return 200, guild_payload(guild, with_counts=with_counts)

    def get_guild_channels(self, call: Call) -> Reply:
        """Answer ``GET /guilds/{guild_id}/channels``."""
        guild = self.world.guilds[self._guild_id(call)]
        return 200, [channel_payload(channel) for channel in guild.channels.values()]

    def get_guild_roles(self, call: Call) -> Reply:
        """Answer ``GET /guilds/{guild_id}/roles``."""
        guild = self.world.guilds[self._guild_id(call)]
        return 200, [role_payload(role) for role in guild.roles.values()]

    def get_member(self, call: Call) -> Reply:
        """Answer ``GET /guilds/{guild_id}/members/{user_id}``."""
        guild = self.world.guilds[self._guild_id(call)]
        member = guild.members.get(_snowflake(call.match["user_id"], "Member", 10007))
        if member is None:
            raise _unknown("Member", 10007)
        return 200, member_payload(member)

    # Application commands.

    def _scope(self, call: Call) -> tuple[int | None, dict[tuple[int, str], CommandRecord]]:
        if call.match["application_id"] != self._app_id:
            raise ApiError(403, 50001, "Missing Access")
        raw_guild = call.match.get("guild_id")
        if raw_guild is None:
            return None, self.world.global_commands
        guild_id = _snowflake(raw_guild, "Guild", 10004)
        if guild_id not in self.world.guilds:
            # Discord answers this when the bot is not in the guild (or lacks the scope).
            raise ApiError(403, 50001, "Missing Access")
        return guild_id, self.world.command_scope(guild_id)

    def _command(self, call: Call) -> CommandRecord:
        guild_id, _ = self._scope(call)
        command_id = _snowflake(call.match["command_id"], "application command", 10063)
        record = self.world.commands_by_id.get(command_id)
        if record is None or record.guild_id != guild_id:
            raise _unknown("application command", 10063)
        return record

    def _stored_payload(
        self, body: Mapping[str, Any], *, command_id: int, guild_id: int | None, version: int
    ) -> dict[str, Any]:
        """Return the command as Discord echoes it: the body plus ids and defaults."""
        payload = dict(body)
        payload.update(id=str(command_id), application_id=self._app_id, version=str(version))
        payload.setdefault("type", 1)
        payload.setdefault("description", "")
        payload.setdefault("default_member_permissions", None)
        payload.setdefault("nsfw", False)
        payload.setdefault("integration_types", [0])
        if guild_id is None:
            payload.pop("guild_id", None)
        else:
            payload["guild_id"] = str(guild_id)
        return payload

    def _store(
        self,
        scope: dict[tuple[int, str], CommandRecord],
        body: Mapping[str, Any],
        guild_id: int | None,
        existing: CommandRecord | None,
    ) -> CommandRecord:
        world = self.world
        command_id = existing.id if existing is not None else world.ids.now()
        version = world.ids.now()
        payload = self._stored_payload(
            body, command_id=command_id, guild_id=guild_id, version=version
        )
        record = CommandRecord(
            id=command_id,
            guild_id=guild_id,
            name=payload["name"],
            type=int(payload["type"]),
            version=version,
            payload=payload,
        )
        if existing is not None:
            scope.pop((existing.type, existing.name), None)
        scope[(record.type, record.name)] = record
        world.commands_by_id[command_id] = record
        return record

    def list_commands(self, call: Call) -> Reply:
        """List the registered commands of a scope."""
        _, scope = self._scope(call)
        return 200, [record.payload for record in scope.values()]

    def create_command(self, call: Call) -> Reply:
        """Create a command, or overwrite the one with the same name and type."""
        guild_id, scope = self._scope(call)
        body = call.object()
        _check_command_body(body)
        key = (int(body.get("type", 1)), str(body["name"]))
        existing = scope.get(key)
        if existing is None and sum(1 for k in scope if k[0] == key[0]) >= COMMANDS_PER_SCOPE_MAX:
            raise ApiError(400, 30032, "Maximum number of application commands reached (100)")
        record = self._store(scope, body, guild_id, existing)
        log.debug("Registered command /%s (guild %s)", record.name, guild_id)
        self.world.commands_changed.notify()
        return (200 if existing is not None else 201), record.payload

    def overwrite_commands(self, call: Call) -> Reply:
        """Replace a scope's commands (bulk overwrite), keeping ids of same-named ones."""
        guild_id, scope = self._scope(call)
        if not isinstance(call.json, list):
            raise ApiError(400, 50109, "The request body contains invalid JSON.")
        errors = FormErrors()
        keys: set[tuple[int, str]] = set()
        for index, item in enumerate(call.json):
            if not isinstance(item, dict):
                errors.add((index,), "MODEL_TYPE_CONVERT", "Only dictionaries may be used")
                continue
            check_command(item, errors, (index,))
            key = (int(item.get("type", 1)), str(item.get("name")))
            if key in keys:
                errors.add((index, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Duplicate")
            keys.add(key)
        if errors:
            raise ApiError(400, 50035, "Invalid Form Body", errors.body())
        old = dict(scope)
        scope.clear()
        for key, record in old.items():
            if key not in keys:
                self.world.commands_by_id.pop(record.id, None)
        stored = [
            self._store(scope, item, guild_id, old.get((int(item.get("type", 1)), item["name"])))
            for item in call.json
        ]
        self.world.commands_changed.notify()
        return 200, [record.payload for record in stored]

    def get_command(self, call: Call) -> Reply:
        """Answer ``GET`` of one command."""
        return 200, self._command(call).payload

    def edit_command(self, call: Call) -> Reply:
        """Edit one command: merge the given fields and bump the version."""
        record = self._command(call)
        _, scope = self._scope(call)
        merged = {k: v for k, v in record.payload.items() if k not in ("id", "version")}
        merged.update(call.object())
        _check_command_body(merged)
        clash = scope.get((int(merged.get("type", 1)), str(merged["name"])))
        if clash is not None and clash is not record:
            raise ApiError(400, 50035, "Invalid Form Body")
        updated = self._store(scope, merged, record.guild_id, record)
        self.world.commands_changed.notify()
        return 200, updated.payload

    def delete_command(self, call: Call) -> Reply:
        """Delete one command."""
        record = self._command(call)
        _, scope = self._scope(call)
        scope.pop((record.type, record.name), None)
        self.world.commands_by_id.pop(record.id, None)
        self.world.commands_changed.notify()
        return 204, None

    # Interaction callbacks.

    def callback(self, call: Call) -> Reply:
        """Take the bot's answer to an interaction; only the first one counts."""
        world = self.world
        handle = world.interactions.get(
            _snowflake(call.match["interaction_id"], "interaction", 10062)
        )
        if handle is None or handle.token != call.match["token"]:
            raise _unknown("interaction", 10062)
        body = call.object()
        if handle.callback is not None:
            refusal = ApiError(400, 40060, "Interaction has already been acknowledged.")
            handle.rejected.append((refusal.status, refusal.body))
            handle.changed.notify()
            raise refusal
        if (
            self._ack_deadline_ns is not None
            and handle.dispatched_at is not None
            and call.arrived_ns - handle.dispatched_at > self._ack_deadline_ns
        ):
            # Past Discord's 3 s deadline the token is invalidated.
            refusal = _unknown("interaction", 10062)
            handle.rejected.append((refusal.status, refusal.body))
            handle.changed.notify()
            raise refusal
        callback_type = body.get("type")
        data = body.get("data")
        try:
            _check_callback(handle, callback_type, data, len(call.files))
        except ApiError as error:
            handle.rejected.append((error.status, error.body))
            handle.changed.notify()
            raise
        assert isinstance(callback_type, int)
        handle.callback = InteractionCallback(
            type=callback_type, data=data, received_ns=call.arrived_ns, files=call.files
        )
        handle.responded_at = call.arrived_ns
        self._apply_callback(handle, callback_type, data or {}, call)
        handle.changed.notify()
        return 204, None

    def _apply_callback(
        self, handle: InteractionHandle, callback_type: int, data: dict[str, Any], call: Call
    ) -> None:
        world = self.world
        channel = world.channels[handle.channel_id]
        if callback_type == CALLBACK_MESSAGE:
            handle.original = world.create_message(
                channel,
                data,
                arrived_ns=call.arrived_ns,
                files=call.files,
                message_type=_response_type(handle),
                webhook_id=world.application_id,
                interaction_metadata=_metadata(handle),
                visible_to=handle.user.id,
            )
        elif callback_type == CALLBACK_DEFERRED_MESSAGE:
            flags = MESSAGE_FLAG_LOADING | (int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)
            handle.original = world.create_message(
                channel,
                {},
                arrived_ns=call.arrived_ns,
                flags=flags,
                message_type=_response_type(handle),
                webhook_id=world.application_id,
                interaction_metadata=_metadata(handle),
                visible_to=handle.user.id,
            )
        elif callback_type == CALLBACK_DEFERRED_UPDATE:
            handle.original = handle.message
        elif callback_type == CALLBACK_UPDATE_MESSAGE:
            assert handle.message is not None
            handle.original = world.edit_message(handle.message, data, call.files)
        elif callback_type == CALLBACK_MODAL:
            modal = modal_from_data(data)
            world.open_modals[(handle.user.id, modal.custom_id)] = (modal, handle)

    # Follow-ups and @original, through the webhook routes.

    def _webhook_handle(self, call: Call) -> InteractionHandle:
        handle = self.world.interactions_by_token.get(call.match["token"])
        if handle is None or call.match["application_id"] != self._app_id:
            raise _unknown("Webhook", 10015)
        if call.arrived_ns - handle.created_ns > INTERACTION_TOKEN_TTL_NS:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return handle

    def _webhook_message(self, call: Call, handle: InteractionHandle) -> MessageRecord:
        raw = call.match.get("message_id")
        if raw is None:
            message = handle.original
        else:
            message = self.world.messages.get(_snowflake(raw, "Message", 10008))
            if message is not handle.original and message not in handle.followups:
                message = None
        if message is None or message.deleted:
            raise _unknown("Message", 10008)
        return message

    def create_followup(self, call: Call) -> Reply:
        """Post a follow-up message through the interaction webhook."""
        handle = self._webhook_handle(call)
        if handle.callback is None:
            raise _unknown("Webhook", 10015)
        body = call.object()
        _check_new_message(body, len(call.files))
        original = handle.original
        if (
            handle.callback.type == CALLBACK_DEFERRED_MESSAGE
            and original is not None
            and original.loading
            and not handle.followups
        ):
            # Discord: the first follow-up after a deferred response edits the "thinking"
            # message, and keeps the ephemeral flag chosen at defer time.
            message = self.world.edit_message(original, body, call.files)
        else:
            message = self.world.create_message(
                self.world.channels[handle.channel_id],
                body,
                arrived_ns=call.arrived_ns,
                files=call.files,
                webhook_id=self.world.application_id,
                interaction_metadata=_metadata(handle, original),
                visible_to=handle.user.id,
            )
        handle.followups.append(message)
        handle.changed.notify()
        if call.query.get("wait", "").lower() in ("1", "true"):
            return 200, message_payload(message)
        return 204, None

    def get_webhook_message(self, call: Call) -> Reply:
        """Answer ``GET`` of ``@original`` or of a follow-up."""
        handle = self._webhook_handle(call)
        return 200, message_payload(self._webhook_message(call, handle))

    def edit_webhook_message(self, call: Call) -> Reply:
        """Edit ``@original`` or a follow-up."""
        handle = self._webhook_handle(call)
        message = self._webhook_message(call, handle)
        body = call.object()
        _check_edit(body)
        self.world.edit_message(message, body, call.files)
        if message is handle.original:
            handle.original_edits.append(body)
        handle.changed.notify()
        return 200, message_payload(message)

    def delete_webhook_message(self, call: Call) -> Reply:
        """Delete ``@original`` or a follow-up."""
        handle = self._webhook_handle(call)
        self.world.delete_message(self._webhook_message(call, handle))
        handle.changed.notify()
        return 204, None


async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    """Return the JSON body (from a JSON or multipart request) and any uploaded files."""
    if not request.body_exists:
        return None, []
    if request.content_type == "multipart/form-data":
        return await _read_multipart(request)
    raw = await request.read()
    return (json.loads(raw) if raw else None), []


async def _read_multipart(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    """Read nextcord's multipart form: ``payload_json`` plus ``files[n]`` parts."""
    body: Any = None
    files: list[UploadedFile] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, aiohttp.BodyPartReader):
            continue
        if part.name == "payload_json":
            body = json.loads(await part.text())
        else:
            files.append(
                UploadedFile(
                    field=part.name or "",
                    filename=part.filename or "",
                    content_type=part.headers.get("Content-Type"),
                    data=bytes(await part.read()),
                )
            )
    return body, files


def _check_new_message(body: Mapping[str, Any], files: int) -> None:
    """Refuse an empty or oversized new message, as Discord does."""
    if is_empty_message(body, files):
        raise ApiError(400, 50006, "Cannot send an empty message")
    _check_edit(body)


def _check_edit(body: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> None:
    errors = FormErrors()
    check_message(body, errors, prefix)
    if errors:
        raise ApiError(400, 50035, "Invalid Form Body", errors.body())


def _check_command_body(body: Mapping[str, Any]) -> None:
    errors = FormErrors()
    check_command(body, errors)
    if errors:
        raise ApiError(400, 50035, "Invalid Form Body", errors.body())


def _check_callback(handle: InteractionHandle, callback_type: Any, data: Any, files: int) -> None:
    """Refuse a callback type the interaction does not allow, or data Discord would reject."""
    errors = FormErrors()
    allowed = ALLOWED_CALLBACKS.get(handle.type, frozenset())
    if not isinstance(callback_type, int) or callback_type not in allowed:
        errors.add(
            ("type",),
            "INTERACTION_CALLBACK_TYPE_INVALID",
            f"Callback type {callback_type!r} is not valid for interaction type {handle.type}",
        )
    elif (
        callback_type in (CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE_MESSAGE)
        and handle.message is None
    ):
        errors.add(("type",), "INTERACTION_CALLBACK_TYPE_INVALID", "There is no message to update")
    elif callback_type == CALLBACK_MODAL:
        check_modal(data if isinstance(data, dict) else {}, errors)
    elif callback_type in (CALLBACK_MESSAGE, CALLBACK_UPDATE_MESSAGE):
        body = data if isinstance(data, dict) else {}
        if callback_type == CALLBACK_MESSAGE and is_empty_message(body, files):
            raise ApiError(400, 50006, "Cannot send an empty message")
        check_message(body, errors, ("data",))
    if errors:
        raise ApiError(400, 50035, "Invalid Form Body", errors.body())


def _response_type(handle: InteractionHandle) -> int:
    return MESSAGE_TYPE_CHAT_INPUT_COMMAND if handle.type == INTERACTION_APPLICATION_COMMAND else 0


def _metadata(handle: InteractionHandle, original: MessageRecord | None = None) -> dict[str, Any]:
    """Return the ``interaction_metadata`` of a message created by an interaction."""
    metadata: dict[str, Any] = {
        "id": str(handle.id),
        "type": handle.type,
        "user": handle.payload.get("member", {}).get("user") or handle.payload.get("user"),
        "authorizing_integration_owners": handle.payload["authorizing_integration_owners"],
    }
    if handle.command is not None:
        metadata["name"] = handle.command.name
    if handle.type == INTERACTION_MESSAGE_COMPONENT and handle.message is not None:
        metadata["interacted_message_id"] = str(handle.message.id)
    if handle.type == INTERACTION_MODAL_SUBMIT and handle.source is not None:
        metadata["triggering_interaction_metadata"] = _metadata(handle.source)
    if original is not None:
        metadata["original_response_message_id"] = str(original.id)
    return metadata
