"""DiscordStandIn: start the fake Discord, and act as its users from tests and benchmarks."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, cast

from aiohttp import web

from .components import COMPONENT_LABEL, COMPONENT_TEXT_INPUT, ModalSpec, find_component
from .faults import Fault
from .gateway import Gateway, GatewayEvent, GatewaySession, NoGatewaySession
from .interactions import (
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_MESSAGE_COMPONENT,
    INTERACTION_MODAL_SUBMIT,
    InteractionHandle,
)
from .model import (
    ChannelState,
    CommandRecord,
    FakeUser,
    GuildState,
    MessageRecord,
    RoleState,
)
from .payloads import (
    ATTACHMENT_SIZE_LIMIT_BYTES,
    channel_payload,
    guild_create_payload,
    member_payload,
    message_payload,
    role_payload,
    user_payload,
)
from .permissions import OVERWRITE_MEMBER, OVERWRITE_ROLE, Overwrite, Permission
from .server import RequestRecord, RestApi
from .world import World

__all__ = ["DiscordStandIn"]

log = logging.getLogger(__name__)

API_PATH = "/api/v10"
RESUME_PATH = "/resume"
PRIVILEGED_INTENTS_ALL = (1 << 1) | (1 << 8) | (1 << 15)

OPTION_SUB_COMMAND = 1
OPTION_SUB_COMMAND_GROUP = 2
OPTION_STRING = 3
OPTION_INTEGER = 4
OPTION_BOOLEAN = 5
OPTION_USER = 6
OPTION_CHANNEL = 7
OPTION_ROLE = 8
OPTION_MENTIONABLE = 9
OPTION_NUMBER = 10

CONTEXT_GUILD = 0
CONTEXT_BOT_DM = 1


class DiscordStandIn:
    """A fake Discord (REST v10 and gateway) on 127.0.0.1 that a real nextcord bot connects to.

    The stand-in starts with one guild holding the bot, its owner, a ``customer`` user and two
    channels: ``general``, where the bot can post, and ``locked``, where @everyone is denied
    SEND_MESSAGES so the bot's posts fail with 403 code 50013. Tests call :meth:`slash`,
    :meth:`click` and :meth:`submit_modal` to act as users, then read the bot's answers from
    the returned :class:`InteractionHandle`.

    Args:
        token: the bot token to accept (random when omitted).
        ack_deadline_s: callbacks arriving later than this after dispatch get 404 10062, as
            past Discord's 3 s deadline; None turns the check off.
        zlib_stream: compress gateway frames when the client asks for ``zlib-stream``;
            plain text frames (the default) are cheaper and nextcord accepts both.
        keep_requests: keep every request in :attr:`requests` (turn off for huge benchmarks).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        bot_name: str = "orderbot",
        guild_name: str = "Stand-in Guild",
        heartbeat_interval_ms: int = 41_250,
        ack_deadline_s: float | None = 3.0,
        zlib_stream: bool = False,
        resume_buffer: int = 20_000,
        recommended_shards: int = 1,
        privileged_intents: int = PRIVILEGED_INTENTS_ALL,
        keep_requests: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.world = World(
            token=token or f"standin.{secrets.token_urlsafe(24)}",
            bot_name=bot_name,
            guild_name=guild_name,
        )
        self.gateway = Gateway(
            self.world,
            heartbeat_interval_ms=heartbeat_interval_ms,
            resume_buffer=resume_buffer,
            zlib_stream=zlib_stream,
            privileged_intents=privileged_intents,
        )
        self.rest = RestApi(
            self.world,
            gateway_url=lambda: self.gateway_url,
            session_starts_used=lambda: self.gateway.identifies,
            ack_deadline_s=ack_deadline_s,
            recommended_shards=recommended_shards,
            keep_requests=keep_requests,
        )
        self.general = self.world.default_guild.channel("general")
        self.locked = self.world.add_channel(
            self.world.default_guild,
            "locked",
            overwrites=[
                Overwrite(
                    self.world.default_guild.id,
                    OVERWRITE_ROLE,
                    deny=int(Permission.SEND_MESSAGES),
                )
            ],
        )
        self.customer = self.make_user("customer")
        self._runner: web.AppRunner | None = None
        self._pending: list[tuple[int, str, dict[str, Any]]] = []

    # Lifecycle.

    async def start(self) -> DiscordStandIn:
        """Start serving on ``host:port`` (an ephemeral port when 0)."""
        app = web.Application()
        app.router.add_route("GET", "/", self.gateway.handle)
        app.router.add_route("GET", RESUME_PATH, self.gateway.handle)
        self.rest.install(app, API_PATH)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        # aiohttp exposes the bound (ephemeral) port only through the server's sockets.
        server = cast(asyncio.Server, site._server)
        self.port = server.sockets[0].getsockname()[1]
        self.gateway.resume_url = f"ws://{self.host}:{self.port}{RESUME_PATH}"
        log.info("Discord stand-in listening on %s", self.base_url)
        return self

    async def stop(self) -> None:
        """Close the gateway sockets and stop the server."""
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordStandIn:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # Identity.

    @property
    def base_url(self) -> str:
        """Return the REST base, to put in ``nextcord.http.Route.BASE``."""
        return f"http://{self.host}:{self.port}{API_PATH}"

    @property
    def gateway_url(self) -> str:
        """Return the gateway URL that ``GET /gateway`` hands out."""
        return f"ws://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        """Return the bot token the stand-in accepts."""
        return self.world.token

    @property
    def application_id(self) -> int:
        """Return the application id (equal to the bot user's id)."""
        return self.world.application_id

    @property
    def bot_user(self) -> FakeUser:
        """Return the bot's user."""
        return self.world.bot

    @property
    def owner(self) -> FakeUser:
        """Return the guilds' owner, who is also the application's owner."""
        return self.world.owner

    @property
    def guild(self) -> GuildState:
        """Return the default guild."""
        return self.world.default_guild

    @property
    def guilds(self) -> list[GuildState]:
        """Return every guild the bot is in."""
        return list(self.world.guilds.values())

    # Users, guilds, channels and permissions.

    def make_user(
        self,
        name: str,
        *,
        permissions: int | None = None,
        roles: Iterable[RoleState | int] = (),
        guild: GuildState | None = None,
        global_name: str | None = None,
        accepts_dms: bool = True,
        locale: str = "en-US",
    ) -> FakeUser:
        """Create a user with a deterministic id and make it a member of a guild.

        ``permissions`` gives the member a role granting exactly those bits on top of
        @everyone: ``Permission.ADMINISTRATOR`` picks the Admin role, ``MANAGE_GUILD`` the
        Manager role. Without it the user is a plain member.
        """
        world = self.world
        guild = guild or world.default_guild
        user = world.add_user(
            FakeUser(
                id=world.ids.static(),
                name=name,
                global_name=global_name or name.title(),
                accepts_dms=accepts_dms,
                locale=locale,
            )
        )
        role_ids = [role.id if isinstance(role, RoleState) else int(role) for role in roles]
        if permissions is not None:
            role, created = world.role_with_permissions(guild, int(permissions))
            if created:
                self._queue_guild_event(guild.id, "GUILD_ROLE_CREATE", _role_event(guild, role))
            role_ids.append(role.id)
        world.add_member(guild, user, role_ids=role_ids)
        return user

    async def add_guild(self, name: str, *, channels: Iterable[str] = ("general",)) -> GuildState:
        """Add a guild; connected sessions that own it receive GUILD_CREATE."""
        guild = self.world.add_guild(name, channels=channels)
        payload = guild_create_payload(guild, bot=self.world.bot)
        for session in self.gateway.sessions_for(guild.id):
            session.guild_ids.append(guild.id)
            await self.gateway.dispatch_to(session, "GUILD_CREATE", payload)
        return guild

    async def add_channel(
        self,
        name: str,
        *,
        guild: GuildState | None = None,
        bot_can_post: bool = True,
        bot_can_view: bool = True,
        topic: str | None = None,
    ) -> ChannelState:
        """Add a text channel; with bot_can_post=False the bot's role is denied SEND_MESSAGES."""
        guild = guild or self.world.default_guild
        deny = 0 if bot_can_post else int(Permission.SEND_MESSAGES)
        deny |= 0 if bot_can_view else int(Permission.VIEW_CHANNEL)
        overwrites = [Overwrite(guild.bot_role_id, OVERWRITE_ROLE, deny=deny)] if deny else []
        channel = self.world.add_channel(guild, name, overwrites=overwrites, topic=topic)
        await self._dispatch_guild_event(guild.id, "CHANNEL_CREATE", channel_payload(channel))
        return channel

    async def set_overwrite(
        self,
        channel: ChannelState,
        target: FakeUser | RoleState,
        *,
        allow: int = 0,
        deny: int = 0,
    ) -> None:
        """Set a channel permission overwrite for a role or a member; sends CHANNEL_UPDATE."""
        kind = OVERWRITE_MEMBER if isinstance(target, FakeUser) else OVERWRITE_ROLE
        self.world.set_overwrite(channel, Overwrite(target.id, kind, int(allow), int(deny)))
        if channel.guild_id is not None:
            await self._dispatch_guild_event(
                channel.guild_id, "CHANNEL_UPDATE", channel_payload(channel)
            )

    async def set_role_permissions(self, role: RoleState, permissions: int) -> None:
        """Change a role's permissions (the bot's role is ``guild.roles[guild.bot_role_id]``)."""
        role.permissions = int(permissions)
        self.world.permissions_changed()
        guild = next(g for g in self.world.guilds.values() if role.id in g.roles)
        await self._dispatch_guild_event(guild.id, "GUILD_ROLE_UPDATE", _role_event(guild, role))

    def bot_role(self, guild: GuildState | None = None) -> RoleState:
        """Return the bot's managed role in a guild."""
        guild = guild or self.world.default_guild
        return guild.roles[guild.bot_role_id]

    def channel(self, name: str, guild: GuildState | None = None) -> ChannelState:
        """Return a channel by name, in the default guild unless another is given."""
        return self.world.channel_by_name(name, guild)

    def permissions_in(self, user: FakeUser, channel: ChannelState) -> int:
        """Return a user's computed permissions in a channel."""
        return self.world.permissions_in(user, channel)

    def _queue_guild_event(self, guild_id: int, event: str, data: dict[str, Any]) -> None:
        # make_user is synchronous; its events go out before the next dispatch, in order.
        if self.gateway.sessions_for(guild_id):
            self._pending.append((guild_id, event, data))

    async def _flush_pending(self) -> None:
        while self._pending:
            guild_id, event, data = self._pending.pop(0)
            await self.gateway.dispatch(event, data, guild_id=guild_id)

    async def _dispatch_guild_event(self, guild_id: int, event: str, data: dict[str, Any]) -> None:
        await self._flush_pending()
        if self.gateway.sessions_for(guild_id):
            await self.gateway.dispatch(event, data, guild_id=guild_id)

    # Application commands.

    def commands(self, guild: GuildState | int | None = None) -> dict[str, CommandRecord]:
        """Return the registered commands by name: global, or of one guild."""
        guild_id = guild.id if isinstance(guild, GuildState) else guild
        scope = self.world.command_scope(guild_id) if guild_id else self.world.global_commands
        return {record.name: record for record in scope.values()}

    def command(self, name: str, guild: GuildState | int | None = None) -> CommandRecord:
        """Return one registered command (global unless a guild is given)."""
        found = self.commands(guild).get(name)
        if found is None:
            raise LookupError(f"command {name!r} is not registered in that scope")
        return found

    async def wait_commands_synced(
        self,
        names: Iterable[str],
        *,
        guild: GuildState | int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> list[CommandRecord]:
        """Wait until every named command is registered in the scope, and return them."""
        wanted = list(names)

        def check() -> list[CommandRecord] | None:
            registered = self.commands(guild)
            if all(name in registered for name in wanted):
                return [registered[name] for name in wanted]
            return None

        return await self.world.commands_changed.wait(check, timeout, f"commands {wanted}")

    def command_requests(
        self, method: str | None = None, *, guild: GuildState | int | bool | None = False
    ) -> list[RequestRecord]:
        """Return the requests to the command routes; filter by method and scope.

        ``guild=False`` (the default) keeps every scope, None keeps global requests, and a
        guild keeps that guild's.
        """
        found = self.rest.command_requests
        if method is not None:
            found = [record for record in found if record.method == method]
        if guild is not False:
            guild_id = guild.id if isinstance(guild, GuildState) else guild
            wanted = None if guild_id is None else str(guild_id)
            found = [record for record in found if record.match.get("guild_id") == wanted]
        return found

    @property
    def registration_count(self) -> int:
        """Return how many command-changing requests (POST, PUT, PATCH, DELETE) were made."""
        return sum(1 for record in self.rest.command_requests if record.method != "GET")

    # Gateway.

    @property
    def sessions(self) -> list[GatewaySession]:
        """Return the gateway sessions that are not invalidated."""
        return self.gateway.live_sessions()

    @property
    def gateway_events(self) -> list[GatewayEvent]:
        """Return the gateway's lifecycle events (identify, ready, resume, ...) in order."""
        return self.gateway.events

    @property
    def identify_count(self) -> int:
        """Return how many IDENTIFYs succeeded (each one sent a READY)."""
        return self.gateway.identifies

    @property
    def resume_count(self) -> int:
        """Return how many RESUMEs succeeded."""
        return self.gateway.resumes

    async def wait_ready(
        self,
        shards: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> list[GatewaySession]:
        """Wait until ``shards`` sessions are connected and have received READY."""

        def check() -> list[GatewaySession] | None:
            ready = [s for s in self.gateway.live_sessions() if s.connected and s.ready]
            return ready if len(ready) >= shards else None

        return await self.gateway.changed.wait(check, timeout, f"{shards} ready session(s)")

    async def wait_identified(
        self,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> None:
        """Wait until ``count`` IDENTIFYs in total have been answered with READY."""
        await self.gateway.changed.wait(
            lambda: True if self.gateway.identifies >= count else None, timeout, f"{count} READY"
        )

    async def wait_resumed(
        self,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> None:
        """Wait until ``count`` RESUMEs in total have succeeded."""
        await self.gateway.changed.wait(
            lambda: True if self.gateway.resumes >= count else None, timeout, f"{count} RESUME"
        )

    def _session(self, session: GatewaySession | None) -> GatewaySession:
        if session is not None:
            return session
        live = [s for s in self.gateway.live_sessions() if s.connected]
        if len(live) != 1:
            raise RuntimeError(f"pass a session: {len(live)} are connected")
        return live[0]

    async def drop_connection(
        self, session: GatewaySession | None = None, code: int = 4000
    ) -> None:
        """Close the bot's socket with a resumable code; nextcord should RESUME."""
        await self.gateway.drop(self._session(session), code)

    async def invalidate_session(self, session: GatewaySession | None = None) -> None:
        """Send INVALID_SESSION (d=false); nextcord must IDENTIFY again and gets a new READY."""
        await self.gateway.invalidate(self._session(session), resumable=False)

    async def request_reconnect(self, session: GatewaySession | None = None) -> None:
        """Send RECONNECT (op 7); nextcord closes and RESUMEs."""
        await self.gateway.reconnect(self._session(session))

    @staticmethod
    def shard_of(guild: GuildState | int, shard_count: int) -> int:
        """Return which shard receives a guild's events."""
        guild_id = guild.id if isinstance(guild, GuildState) else guild
        return (guild_id >> 22) % shard_count

    # Acting as users.

    async def slash(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: FakeUser | None = None,
        guild: GuildState | None = None,
        channel: ChannelState | None = None,
        in_dm: bool = False,
        validate: bool = True,
    ) -> InteractionHandle:
        """Invoke a registered slash command as a user and return the interaction's handle.

        ``name`` may name a subcommand as ``"parent sub"`` or ``"parent group sub"``. Option
        values are converted by the registered option types; users, roles and channels may be
        passed as objects. With validate=True the stand-in refuses what the Discord client
        would not let a user send: unknown or missing required options, values outside their
        choices or limits.
        """
        user = user or self.customer
        if in_dm:
            guild_state = None
            target = self.world.dm_channel(user)
        else:
            guild_state = guild or self._guild_of(channel)
            target = channel or guild_state.channel("general")
            if target.guild_id != guild_state.id:
                raise ValueError(f"channel {target.name!r} is not in guild {guild_state.name!r}")
        head, *path = name.split()
        command = self.world.find_command(head, guild_state.id if guild_state else None)
        resolved: dict[str, dict[str, Any]] = {}
        built = _build_options(command.options, path, dict(options or {}), validate, resolved, self)
        data: dict[str, Any] = {"id": str(command.id), "name": command.name, "type": command.type}
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return await self._interact(
            INTERACTION_APPLICATION_COMMAND, data, user, guild_state, target, command=command
        )

    async def click(
        self,
        custom_id: str,
        *,
        message: MessageRecord | None = None,
        user: FakeUser | None = None,
        values: Sequence[str] | None = None,
        forged: bool = False,
    ) -> InteractionHandle:
        """Click a button (or pick select values) on a message the bot sent.

        Without ``message`` the newest message carrying ``custom_id`` that the user can see
        is used. Clicking a disabled or absent component raises, as a user could not.
        With ``forged`` the user presses a button on someone else's ephemeral message, as
        only a modified client or a replayed request could: the bot must still refuse it.
        """
        user = user or self.customer
        if message is None:
            owner = None if forged else user.id
            message = self.world.find_component_message(custom_id, owner)
            if message is None:
                raise LookupError(f"no message visible to {user.name} has component {custom_id!r}")
        component = find_component(message.components, custom_id)
        if component is None:
            raise LookupError(f"message {message.id} has no component {custom_id!r}")
        if not forged and message.visible_to is not None and message.visible_to != user.id:
            raise PermissionError(f"message {message.id} is ephemeral for another user")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component.get("type")}
        if values is not None:
            data["values"] = list(values)
        channel = self.world.channels[message.channel_id]
        guild = self.world.guilds.get(message.guild_id) if message.guild_id is not None else None
        return await self._interact(
            INTERACTION_MESSAGE_COMPONENT, data, user, guild, channel, message=message
        )

    async def submit_modal(
        self,
        custom_id: str,
        values: Mapping[str, str] | None = None,
        *,
        user: FakeUser | None = None,
        require_open: bool = True,
    ) -> InteractionHandle:
        """Submit a modal the bot opened for this user, typing ``values`` by field custom_id.

        Fields left out keep their pre-filled value. The Discord client's rules are enforced:
        required fields must be filled and lengths must respect min_length/max_length.
        With require_open=False a modal nobody opened (say, a persistent one after a bot
        restart) can be submitted; its fields are then exactly ``values``.
        """
        user = user or self.customer
        values = dict(values or {})
        opened = self.world.open_modals.get((user.id, custom_id))
        source: InteractionHandle | None = None
        if opened is not None:
            spec, source = opened
            # A value the client would refuse leaves the modal open, as in Discord.
            components = _fill_modal(spec, values)
            del self.world.open_modals[(user.id, custom_id)]
            channel = self.world.channels[source.channel_id]
            guild = self.world.guilds.get(source.guild_id) if source.guild_id is not None else None
            message = source.message
        elif require_open:
            raise LookupError(f"no modal {custom_id!r} is open for {user.name}")
        else:
            components = [
                {
                    "type": 1,
                    "components": [{"type": COMPONENT_TEXT_INPUT, "custom_id": k, "value": v}],
                }
                for k, v in values.items()
            ]
            guild, channel, message = self.world.default_guild, self.general, None
        data = {"custom_id": custom_id, "components": components}
        return await self._interact(
            INTERACTION_MODAL_SUBMIT, data, user, guild, channel, message=message, source=source
        )

    def _guild_of(self, channel: ChannelState | None) -> GuildState:
        if channel is None or channel.guild_id is None:
            return self.world.default_guild
        return self.world.guilds[channel.guild_id]

    async def _interact(
        self,
        interaction_type: int,
        data: dict[str, Any],
        user: FakeUser,
        guild: GuildState | None,
        channel: ChannelState,
        *,
        command: CommandRecord | None = None,
        message: MessageRecord | None = None,
        source: InteractionHandle | None = None,
    ) -> InteractionHandle:
        await self._flush_pending()
        world = self.world
        interaction_id = world.ids.now()
        token = secrets.token_urlsafe(64)
        payload = self._interaction_payload(
            interaction_id, interaction_type, token, data, user, guild, channel, message
        )
        handle = InteractionHandle(
            interaction_id=interaction_id,
            token=token,
            interaction_type=interaction_type,
            payload=payload,
            user=user,
            guild_id=guild.id if guild else None,
            channel_id=channel.id,
            created_ns=time.perf_counter_ns(),
            command=command,
            message=message,
            source=source,
        )
        # Registered before the frame goes out, so an instant callback finds the interaction.
        world.register_interaction(handle)
        try:
            await self.gateway.dispatch(
                "INTERACTION_CREATE", payload, guild_id=handle.guild_id, handle=handle
            )
        except NoGatewaySession:
            world.forget_interaction(handle)
            raise
        return handle

    def _interaction_payload(
        self,
        interaction_id: int,
        interaction_type: int,
        token: str,
        data: dict[str, Any],
        user: FakeUser,
        guild: GuildState | None,
        channel: ChannelState,
        message: MessageRecord | None,
    ) -> dict[str, Any]:
        world = self.world
        # A user who was never added to the guild joins it on first use.
        member = None
        if guild is not None:
            member = guild.members.get(user.id) or world.add_member(guild, user)
        user_permissions = world.permissions_in(user, channel)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(world.application_id),
            "type": interaction_type,
            "token": token,
            "version": 1,
            "data": data,
            "channel_id": str(channel.id),
            "channel": _partial_channel(channel, user_permissions),
            "app_permissions": str(world.permissions_in(world.bot, channel)),
            "locale": user.locale,
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT_BYTES,
        }
        if guild is not None and member is not None:
            payload["guild_id"] = str(guild.id)
            payload["guild_locale"] = guild.preferred_locale
            payload["guild"] = {
                "id": str(guild.id),
                "locale": guild.preferred_locale,
                "features": [],
            }
            payload["member"] = member_payload(member, permissions=user_permissions)
            payload["authorizing_integration_owners"] = {"0": str(guild.id)}
            payload["context"] = CONTEXT_GUILD
        else:
            payload["user"] = user_payload(user)
            # Discord uses "0" as the guild-install owner of an interaction in the bot's DM.
            payload["authorizing_integration_owners"] = {"0": "0"}
            payload["context"] = CONTEXT_BOT_DM
        if message is not None:
            payload["message"] = message_payload(message)
        return payload

    # Messages and requests.

    def messages(self, channel: ChannelState) -> list[MessageRecord]:
        """Return the visible messages posted in a channel, oldest first."""
        return list(channel.messages)

    def dms(self, user: FakeUser) -> list[MessageRecord]:
        """Return the DMs the bot sent a user, oldest first."""
        channel = self.world.dm_channels.get(user.id)
        return list(channel.messages) if channel is not None else []

    async def wait_for_message(
        self,
        channel: ChannelState,
        predicate: Callable[[MessageRecord], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> MessageRecord:
        """Return the first visible message in a channel matching ``predicate``.

        Messages already posted count; otherwise this waits for new ones.
        """
        messages = channel.messages
        position = 0

        def check() -> MessageRecord | None:
            nonlocal position
            while position < len(messages):
                message = messages[position]
                position += 1
                if predicate is None or predicate(message):
                    return message
            return None

        notifier = self.world.channel_notifier(channel.id)
        return await notifier.wait(check, timeout, f"a message in #{channel.name or channel.id}")

    async def wait_for_dm(
        self,
        user: FakeUser,
        predicate: Callable[[MessageRecord], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - see Notifier.wait
    ) -> MessageRecord:
        """Return the first DM to ``user`` matching ``predicate``, waiting if needed."""
        return await self.wait_for_message(self.world.dm_channel(user), predicate, timeout)

    @property
    def requests(self) -> list[RequestRecord]:
        """Return every REST request, in arrival order."""
        return self.rest.requests

    def route_count(self, route: str) -> int:
        """Return how many requests hit a route key, e.g. ``GET /users/@me``."""
        return self.rest.route_counts[route]

    async def wait_for_request(
        self,
        predicate: Callable[[RequestRecord], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - see Notifier.wait
        *,
        after: int = 0,
    ) -> RequestRecord:
        """Return the first request from index ``after`` on that matches ``predicate``."""
        requests = self.rest.requests
        position = after

        def check() -> RequestRecord | None:
            nonlocal position
            while position < len(requests):
                record = requests[position]
                position += 1
                if predicate(record):
                    return record
            return None

        return await self.rest.request_notifier.wait(check, timeout, "a matching request")

    # Faults and unexpected traffic.

    def inject_fault(
        self,
        route: str,
        *,
        status: int | None = None,
        code: int = 0,
        message: str | None = None,
        delay_s: float = 0.0,
        times: int | None = 1,
        when: Callable[[RequestRecord], bool] | None = None,
    ) -> Fault:
        """Make the next ``times`` requests to ``route`` fail with ``status`` or be delayed.

        ``route`` is a key of :attr:`routes`, e.g. ``"POST /channels/{channel_id}/messages"``.
        """
        if route not in self.rest.routes:
            raise KeyError(f"unknown route {route!r}; see DiscordStandIn.routes")
        fault = Fault(
            route=route,
            status=status,
            code=code,
            message=message,
            delay_s=delay_s,
            times=times,
            when=when,
        )
        return self.rest.faults.add(fault)

    def clear_faults(self) -> None:
        """Disarm every injected fault."""
        self.rest.faults.clear()

    @property
    def routes(self) -> list[str]:
        """Return the modelled REST route keys."""
        return self.rest.routes

    @property
    def unexpected_routes(self) -> list[RequestRecord]:
        """Return the requests to routes the stand-in does not model."""
        return self.rest.unexpected

    @property
    def unexpected_gateway(self) -> list[str]:
        """Return gateway traffic the stand-in does not model (opcodes, binary frames)."""
        return self.gateway.unexpected

    def unexpected_report(self) -> str:
        """Describe unmodelled traffic, one line each; empty when there was none."""
        lines = [f"{record.method} {record.path}" for record in self.rest.unexpected]
        lines += [f"gateway: {item}" for item in self.gateway.unexpected]
        lines += [f"stand-in error: {item}" for item in self.rest.errors]
        return "\n".join(lines)

    def clear_unexpected(self) -> None:
        """Forget unmodelled traffic seen so far (after a test asserted on it)."""
        self.rest.unexpected.clear()
        self.gateway.unexpected.clear()
        self.rest.errors.clear()


def _role_event(guild: GuildState, role: RoleState) -> dict[str, Any]:
    return {"guild_id": str(guild.id), "role": role_payload(role)}


def _partial_channel(channel: ChannelState, permissions: int) -> dict[str, Any]:
    """Return the partial channel interactions carry, with the user's permissions."""
    partial: dict[str, Any] = {
        "id": str(channel.id),
        "type": channel.type,
        "flags": 0,
        "permissions": str(permissions),
        "last_message_id": str(channel.messages[-1].id) if channel.messages else None,
    }
    if channel.guild_id is not None:
        partial.update(
            guild_id=str(channel.guild_id),
            name=channel.name,
            position=channel.position,
            parent_id=str(channel.parent_id) if channel.parent_id is not None else None,
            topic=channel.topic,
            nsfw=False,
            rate_limit_per_user=0,
        )
    elif channel.recipient is not None:
        partial["recipients"] = [user_payload(channel.recipient)]
    return partial


def _fill_modal(spec: ModalSpec, values: dict[str, str]) -> list[dict[str, Any]]:
    """Build a modal submit's components from what the user typed, checking the limits."""
    unknown = set(values) - set(spec.custom_ids)
    if unknown:
        raise ValueError(f"modal {spec.custom_id!r} has no field(s) {sorted(unknown)}")
    submitted: list[dict[str, Any]] = []
    for field_spec, row in zip(spec.fields, spec.raw.get("components") or (), strict=False):
        value = values.get(field_spec.custom_id, field_spec.value or "")
        _check_typed(spec.custom_id, field_spec.custom_id, value, field_spec)
        item = {"type": COMPONENT_TEXT_INPUT, "custom_id": field_spec.custom_id, "value": value}
        if row.get("type") == COMPONENT_LABEL:
            submitted.append({"type": COMPONENT_LABEL, "component": item})
        else:
            submitted.append({"type": 1, "components": [item]})
    return submitted


def _check_typed(modal_id: str, field_id: str, value: str, spec: Any) -> None:
    where = f"field {field_id!r} of modal {modal_id!r}"
    if spec.required and not value:
        raise ValueError(f"{where} is required")
    if spec.max_length is not None and len(value) > spec.max_length:
        raise ValueError(f"{where} takes at most {spec.max_length} characters, got {len(value)}")
    if value and spec.min_length is not None and len(value) < spec.min_length:
        raise ValueError(f"{where} needs at least {spec.min_length} characters, got {len(value)}")


def _build_options(
    definitions: list[dict[str, Any]],
    path: list[str],
    values: dict[str, Any],
    validate: bool,
    resolved: dict[str, dict[str, Any]],
    standin: DiscordStandIn,
) -> list[dict[str, Any]]:
    """Turn ``{name: value}`` into interaction options, following the registered definitions."""
    by_name = {definition["name"]: definition for definition in definitions}
    if path:
        sub = by_name.get(path[0])
        if sub is None or sub.get("type") not in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP):
            raise LookupError(f"no subcommand {path[0]!r}; options are {sorted(by_name)}")
        inner = _build_options(
            sub.get("options") or [], path[1:], values, validate, resolved, standin
        )
        return [{"type": sub["type"], "name": sub["name"], "options": inner}]
    built: list[dict[str, Any]] = []
    for name, value in values.items():
        definition = by_name.get(name)
        if definition is None:
            if validate:
                raise ValueError(f"no option {name!r}; options are {sorted(by_name)}")
            built.append({"name": name, "type": OPTION_STRING, "value": value})
            continue
        option_type = int(definition.get("type", OPTION_STRING))
        converted = _convert_option(option_type, value, resolved, standin)
        if validate:
            _check_option(definition, converted)
        built.append({"name": name, "type": option_type, "value": converted})
    if validate:
        missing = [d["name"] for d in definitions if d.get("required") and d["name"] not in values]
        if missing:
            raise ValueError(f"required option(s) missing: {missing}")
    return built


def _convert_option(
    option_type: int, value: Any, resolved: dict[str, dict[str, Any]], standin: DiscordStandIn
) -> Any:
    """Convert a test's value to the wire type, filling ``resolved`` for snowflake options."""
    if option_type == OPTION_INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"integer option needs an int, got {value!r}")
        return value
    if option_type == OPTION_NUMBER:
        return float(value)
    if option_type == OPTION_BOOLEAN:
        return bool(value)
    if option_type in (OPTION_USER, OPTION_MENTIONABLE) and isinstance(value, FakeUser):
        resolved.setdefault("users", {})[str(value.id)] = user_payload(value)
        member = value.memberships.get(standin.guild.id)
        if member is not None:
            partial = member_payload(
                member, permissions=standin.permissions_in(value, standin.general)
            )
            partial.pop("user")
            resolved.setdefault("members", {})[str(value.id)] = partial
        return str(value.id)
    if option_type in (OPTION_ROLE, OPTION_MENTIONABLE) and isinstance(value, RoleState):
        resolved.setdefault("roles", {})[str(value.id)] = role_payload(value)
        return str(value.id)
    if option_type == OPTION_CHANNEL and isinstance(value, ChannelState):
        resolved.setdefault("channels", {})[str(value.id)] = _partial_channel(
            value, standin.permissions_in(standin.customer, value)
        )
        return str(value.id)
    if option_type in (OPTION_USER, OPTION_CHANNEL, OPTION_ROLE, OPTION_MENTIONABLE):
        return str(value)
    if option_type == OPTION_STRING:
        return str(value)
    raise NotImplementedError(f"option type {option_type} is not modelled")


def _check_option(definition: Mapping[str, Any], value: Any) -> None:
    """Refuse a value the Discord client would not accept for this option."""
    name = definition["name"]
    choices = definition.get("choices")
    if choices and value not in [choice["value"] for choice in choices]:
        raise ValueError(f"option {name!r} must be one of its choices, got {value!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = definition.get("min_value"), definition.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"option {name!r} must be within [{low}, {high}], got {value!r}")
    if isinstance(value, str) and int(definition.get("type", 3)) == OPTION_STRING:
        low, high = definition.get("min_length"), definition.get("max_length")
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            raise ValueError(f"option {name!r} length must be within [{low}, {high}]")
