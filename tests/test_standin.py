"""Tests of the Discord stand-in itself, driven by a bare nextcord bot defined here."""

# nextcord's command decorators are untyped; setup.cfg relaxes the same check for orderbot.cogs.
# mypy: disallow-untyped-decorators=False

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import nextcord
import pytest
from nextcord.ext import commands
from nextcord.http import Route

from tests.standin import DiscordStandIn, Permission

ConnectBot = Callable[..., Awaitable[Any]]

GLOBAL_COMMANDS = [
    "ping",
    "echo",
    "slow",
    "post",
    "twice",
    "dm",
    "upload",
    "bigmodal",
    "lookup",
    "whoami",
    "order",
]
TITLE_TOO_LONG = "An order form whose title is far longer than Discord allows"


class FormModal(nextcord.ui.Modal):
    """A two-field modal with fixed custom_ids."""

    def __init__(self) -> None:
        super().__init__("Order form", custom_id="test:form", timeout=None)
        self.name: nextcord.ui.TextInput = nextcord.ui.TextInput(
            label="Your name", custom_id="test:name", max_length=40
        )
        self.note: nextcord.ui.TextInput = nextcord.ui.TextInput(
            label="Note",
            custom_id="test:note",
            required=False,
            max_length=200,
            style=nextcord.TextInputStyle.paragraph,
        )
        self.add_item(self.name)
        self.add_item(self.note)

    async def callback(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message(
            f"thanks {self.name.value}", ephemeral=True, view=ContinueView()
        )
        self.stop()


class ContinueView(nextcord.ui.View):
    """A Continue button and a disabled one."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @nextcord.ui.button(label="Continue", custom_id="test:continue")
    async def proceed(self, button: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        await interaction.response.edit_message(content="continued", view=None)

    @nextcord.ui.button(label="Not yet", custom_id="test:disabled", disabled=True)
    async def later(self, button: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message("unreachable")


def add_commands(bot: commands.Bot | commands.AutoShardedBot, guild_id: int) -> None:
    """Register the test commands on a bot, as a cog so that the decorators are typed."""

    class StandInTestCog(commands.Cog):
        """The commands the stand-in tests invoke."""

        def __init__(self, client: commands.Bot | commands.AutoShardedBot) -> None:
            self.client = client

        @nextcord.slash_command(name="ping", description="Reply with pong.")
        async def ping(self, interaction: nextcord.Interaction) -> None:
            await interaction.response.send_message("pong")

        @nextcord.slash_command(name="echo", description="Repeat a text, ephemerally.")
        async def echo(
            self,
            interaction: nextcord.Interaction,
            text: str = nextcord.SlashOption(description="What to say", max_length=50),
            times: int = nextcord.SlashOption(
                description="How often", required=False, default=1, min_value=1, max_value=3
            ),
        ) -> None:
            await interaction.response.send_message(" ".join([text] * times), ephemeral=True)

        @nextcord.slash_command(name="form", description="Open the form.", guild_ids=[guild_id])
        async def form(self, interaction: nextcord.Interaction) -> None:
            await interaction.response.send_modal(FormModal())

        @nextcord.slash_command(name="slow", description="Defer, follow up twice, edit.")
        async def slow(self, interaction: nextcord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)
            await interaction.followup.send("first")
            second = await interaction.followup.send("second", wait=True)
            await second.edit(content="second, edited")
            await interaction.edit_original_message(content="final")

        @nextcord.slash_command(name="post", description="Post in a channel, then edit the post.")
        async def post(
            self,
            interaction: nextcord.Interaction,
            where: str = nextcord.SlashOption(description="Channel name"),
        ) -> None:
            assert interaction.guild is not None
            channel = nextcord.utils.get(interaction.guild.text_channels, name=where)
            assert channel is not None
            try:
                message = await channel.send(f"hello {where}")
            except nextcord.Forbidden as error:
                await interaction.response.send_message(f"forbidden {error.code}", ephemeral=True)
                return
            await message.edit(content=f"hello {where}, edited")
            await interaction.response.send_message("posted", ephemeral=True)

        @nextcord.slash_command(name="lookup", description="Fetch objects through REST.")
        async def lookup(self, interaction: nextcord.Interaction) -> None:
            assert interaction.guild_id is not None and interaction.user is not None
            await interaction.response.defer()
            guild = await self.client.fetch_guild(interaction.guild_id, with_counts=True)
            channel = await self.client.fetch_channel(interaction.channel_id or 0)
            member = await guild.fetch_member(interaction.user.id)
            user = await self.client.fetch_user(interaction.user.id)
            app = await self.client.application_info()
            assert isinstance(channel, nextcord.TextChannel)
            await interaction.followup.send(
                f"{guild.name}|{guild.approximate_member_count}|{channel.name}|"
                f"{member.display_name}|{user.name}|{app.owner.name}"
            )

        @nextcord.slash_command(name="whoami", description="Report what nextcord parsed.")
        async def whoami(self, interaction: nextcord.Interaction) -> None:
            perms, app = interaction.permissions, interaction.app_permissions
            await interaction.response.send_message(
                f"{perms.administrator} {perms.manage_guild} {app.send_messages} "
                f"{interaction.locale} {interaction.context} {interaction.is_expired()}"
            )

        @nextcord.slash_command(name="order", description="Orders.")
        async def order(self, interaction: nextcord.Interaction) -> None:
            """Parent of the order subcommands."""

        @order.subcommand(name="status", description="Show an order's status.")
        async def status(
            self,
            interaction: nextcord.Interaction,
            # nextcord reads option metadata from the parameter default.
            who: nextcord.Member = nextcord.SlashOption(  # noqa: B008
                description="Whose order", required=False
            ),
        ) -> None:
            name = who.display_name if who is not None else "me"
            await interaction.response.send_message(f"status of {name}")

        @nextcord.slash_command(name="twice", description="Acknowledge twice.")
        async def twice(self, interaction: nextcord.Interaction) -> None:
            await interaction.response.send_message("once")
            # Get past nextcord's own guard so that the second answer reaches "Discord".
            interaction.response._responded = False
            try:
                await interaction.response.send_message("twice")
            except nextcord.HTTPException as error:
                await interaction.followup.send(f"refused {error.status} {error.code}")

        @nextcord.slash_command(name="dm", description="Send me a DM.")
        async def dm(self, interaction: nextcord.Interaction) -> None:
            assert interaction.user is not None
            try:
                await interaction.user.send("hello in private")
            except nextcord.Forbidden as error:
                await interaction.response.send_message(f"forbidden {error.code}", ephemeral=True)
                return
            await interaction.response.send_message("sent", ephemeral=True)

        @nextcord.slash_command(name="upload", description="Answer with a file.")
        async def upload(self, interaction: nextcord.Interaction) -> None:
            file = nextcord.File(io.BytesIO(b"order 42"), filename="order.txt")
            await interaction.response.send_message("here", file=file)

        @nextcord.slash_command(name="bigmodal", description="Open a modal Discord refuses.")
        async def bigmodal(self, interaction: nextcord.Interaction) -> None:
            modal = FormModal()
            modal.title = TITLE_TOO_LONG
            try:
                await interaction.response.send_modal(modal)
            except nextcord.HTTPException as error:
                await interaction.response.send_message(f"rejected {error.code}", ephemeral=True)

    bot.add_cog(StandInTestCog(bot))


def build_bot(guild_id: int, **options: Any) -> commands.Bot:
    """Build the test bot; call it inside the running loop."""
    bot = commands.Bot(intents=nextcord.Intents.default(), guild_ready_timeout=0.01, **options)
    add_commands(bot, guild_id)
    return bot


@pytest.fixture
async def bot(standin: DiscordStandIn, connect_bot: ConnectBot) -> commands.Bot:
    """A connected test bot whose commands are registered."""
    client = build_bot(standin.guild.id)
    await connect_bot(client)
    await standin.wait_commands_synced(GLOBAL_COMMANDS)
    await standin.wait_commands_synced(["form"], guild=standin.guild)
    return client


async def test_standin_ready_shows_guild_and_channels(
    standin: DiscordStandIn, connect_bot: ConnectBot
) -> None:
    client = build_bot(standin.guild.id)
    await connect_bot(client, wait_client_ready=True)

    assert client.user is not None and client.user.id == standin.bot_user.id
    assert client.application_id == standin.application_id
    (guild,) = client.guilds
    assert guild.id == standin.guild.id
    assert {channel.name for channel in guild.text_channels} == {"general", "locked"}
    assert guild.me is not None
    assert standin.identify_count == 1
    assert standin.route_count("GET /users/@me") == 1
    assert standin.route_count("GET /gateway") == 1


async def test_standin_syncs_global_and_guild_commands(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    echo = standin.command("echo")
    form = standin.command("form", guild=standin.guild)

    assert set(standin.commands()) == set(GLOBAL_COMMANDS)
    assert echo.option_names() == ["text", "times"]
    assert [option["type"] for option in echo.options] == [3, 4]
    assert form.payload["guild_id"] == str(standin.guild.id)
    assert standin.registration_count == len(GLOBAL_COMMANDS) + 1
    assert len(standin.command_requests("POST", guild=standin.guild)) == 1


async def test_standin_slash_answered_with_message_and_timestamps(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    handle = await standin.slash("ping")
    callback = await handle.response()

    assert callback.type == 4
    assert callback.content == "pong"
    assert not callback.ephemeral
    assert handle.dispatched_at is not None and handle.responded_at is not None
    assert handle.latency_ns is not None and 0 < handle.latency_ns < 2_000_000_000
    assert handle.original is not None
    assert handle.original in standin.messages(standin.general)


async def test_standin_slash_options_and_ephemeral_reply(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    handle = await standin.slash("echo", {"text": "hi", "times": 2})
    callback = await handle.response()

    assert callback.content == "hi hi"
    assert handle.ephemeral
    assert handle.original is not None and handle.original.ephemeral
    assert handle.original not in standin.messages(standin.general)
    with pytest.raises(ValueError, match="within"):
        await standin.slash("echo", {"text": "hi", "times": 9})
    with pytest.raises(ValueError, match="required"):
        await standin.slash("echo", {"times": 1})


async def test_standin_modal_submit_and_button_click(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    opened = await standin.slash("form")
    modal = (await opened.response()).modal()

    assert modal.custom_id == "test:form"
    assert modal.custom_ids == ["test:name", "test:note"]
    assert modal.labels == ["Your name", "Note"]
    assert modal.max_lengths == {"test:name": 40, "test:note": 200}
    with pytest.raises(ValueError, match="at most 40"):
        await standin.submit_modal("test:form", {"test:name": "x" * 41})

    submitted = await standin.submit_modal("test:form", {"test:name": "Ada"})
    reply = await submitted.response()
    assert reply.type == 4 and reply.content == "thanks Ada" and reply.ephemeral
    assert [button.custom_id for button in reply.buttons()] == ["test:continue", "test:disabled"]
    assert [button.disabled for button in reply.buttons()] == [False, True]
    with pytest.raises(ValueError, match="disabled"):
        await standin.click("test:disabled")

    clicked = await standin.click("test:continue")
    update = await clicked.response()
    assert update.type == 7
    assert submitted.original is not None
    assert submitted.original.content == "continued"
    assert submitted.original.components == []


async def test_standin_followups_and_original_edit(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    handle = await standin.slash("slow")
    deferred = await handle.response()
    first, second = await handle.followup(2)
    original = await handle.original_edit()

    assert deferred.type == 5 and deferred.ephemeral
    # Discord: the first follow-up after a deferral edits the "thinking" message.
    assert first is original and first.ephemeral
    assert not second.ephemeral and second.content == "second, edited"
    assert original.content == "final" and not original.loading
    assert second.interaction_metadata is not None
    assert second.interaction_metadata["original_response_message_id"] == str(original.id)


async def test_standin_channel_post_and_locked_channel(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    posted = await standin.slash("post", {"where": "general"})
    refused = await standin.slash("post", {"where": "locked"})

    assert (await posted.response()).content == "posted"
    assert (await refused.response()).content == "forbidden 50013"
    message = await standin.wait_for_message(
        standin.general, lambda m: m.content.startswith("hello")
    )
    assert message.content == "hello general, edited"
    assert [edit["content"] for edit in message.edits] == ["hello general, edited"]
    assert standin.messages(standin.locked) == []
    posts = [
        r.status for r in standin.requests if r.route == "POST /channels/{channel_id}/messages"
    ]
    assert posts == [200, 403]


async def test_standin_new_channel_without_send_permission(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    staff = await standin.add_channel("staff", bot_can_post=False)
    refused = await (await standin.slash("post", {"where": "staff"})).response()
    await standin.set_overwrite(staff, standin.bot_role(), allow=Permission.SEND_MESSAGES)
    allowed = await (await standin.slash("post", {"where": "staff"})).response()

    assert refused.content == "forbidden 50013"
    assert allowed.content == "posted"
    assert [m.content for m in standin.messages(staff)] == ["hello staff, edited"]


async def test_standin_rest_lookups_parse_in_nextcord(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    handle = await standin.slash("lookup")
    (reply,) = await handle.followup()

    members = len(standin.guild.members)
    assert reply.content == f"Stand-in Guild|{members}|general|Customer|customer|owner"


async def test_standin_interaction_fields_parse_in_nextcord(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    admin = standin.make_user("root", permissions=Permission.ADMINISTRATOR, locale="de")
    plain = await standin.slash("whoami")
    boss = await standin.slash("whoami", user=admin)
    private = await standin.slash("whoami", in_dm=True)

    guild_context = "InteractionContextType.guild"
    assert (await plain.response()).content == f"False False True en-US {guild_context} False"
    assert (await boss.response()).content == f"True True True de {guild_context} False"
    reply = (await private.response()).content
    assert reply == "False False True en-US InteractionContextType.bot_dm False"
    assert "user" in private.payload and "member" not in private.payload


async def test_standin_subcommand_with_member_option(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    friend = standin.make_user("friend", global_name="Best Friend")
    mine = await standin.slash("order status")
    theirs = await standin.slash("order status", {"who": friend})

    assert (await mine.response()).content == "status of me"
    assert (await theirs.response()).content == "status of Best Friend"
    assert theirs.data["options"][0]["options"][0]["value"] == str(friend.id)


async def test_standin_refuses_double_and_unknown_acknowledgement(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    handle = await standin.slash("twice")
    (followup,) = await handle.followup()

    assert followup.content == "refused 400 40060"
    assert handle.rejected[0][1]["code"] == 40060
    async with aiohttp.ClientSession() as session:
        url = f"{standin.base_url}/interactions/{handle.id}/{handle.token}/callback"
        async with session.post(url, json={"type": 4, "data": {"content": "x"}}) as response:
            assert response.status == 400
            assert (await response.json())["code"] == 40060
        unknown = f"{standin.base_url}/interactions/1/nope/callback"
        async with session.post(unknown, json={"type": 4, "data": {"content": "x"}}) as response:
            assert response.status == 404
            assert await response.json() == {"message": "Unknown interaction", "code": 10062}


async def test_standin_records_and_reports_unmodelled_routes(standin: DiscordStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{standin.base_url}/guilds/{standin.guild.id}/bans"
        headers = {"Authorization": f"Bot {standin.token}"}
        async with session.get(url, headers=headers) as response:
            assert response.status == 404
            assert response.headers["Content-Type"] == "application/json"
            assert await response.json() == {"message": "404: Not Found", "code": 0}

    assert [record.path for record in standin.unexpected_routes] == [
        f"/api/v10/guilds/{standin.guild.id}/bans"
    ]
    assert "GET /api/v10/guilds/" in standin.unexpected_report()
    standin.clear_unexpected()


@pytest.mark.parametrize("how", ["drop", "reconnect"])
async def test_standin_resume_after_disconnect(
    standin: DiscordStandIn, bot: commands.Bot, how: str
) -> None:
    command_calls = len(standin.command_requests())
    if how == "drop":
        await standin.drop_connection()
        # The socket is gone: this dispatch is buffered and replayed on RESUME.
        handle = await standin.slash("ping")
    else:
        await standin.request_reconnect()
        handle = None
    await standin.wait_resumed()
    if handle is None:
        handle = await standin.slash("ping")

    assert (await handle.response()).content == "pong"
    assert standin.identify_count == 1
    assert len(standin.command_requests()) == command_calls
    (resume,) = [event for event in standin.gateway_events if event.kind == "resume"]
    assert resume.detail.startswith("/resume")


async def test_standin_invalidated_session_identifies_again(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    registrations = standin.registration_count
    mark = len(standin.requests)
    await standin.invalidate_session()
    await standin.wait_identified(2)
    await standin.wait_for_request(
        lambda r: r.route == "GET /applications/{application_id}/guilds/{guild_id}/commands",
        after=mark,
    )
    handle = await standin.slash("ping")

    assert (await handle.response()).content == "pong"
    assert len([event for event in standin.gateway_events if event.kind == "ready"]) == 2
    assert standin.registration_count == registrations
    assert len(standin.sessions) == 1


async def test_standin_two_shards_each_get_their_guilds(
    standin: DiscordStandIn, connect_bot: ConnectBot
) -> None:
    while len({standin.shard_of(guild, 2) for guild in standin.guilds}) < 2:
        await standin.add_guild(f"Guild {len(standin.guilds) + 1}")
    client = commands.AutoShardedBot(
        shard_count=2, intents=nextcord.Intents.default(), guild_ready_timeout=0.01
    )
    add_commands(client, standin.guild.id)
    await connect_bot(client, wait_client_ready=True)
    await standin.wait_commands_synced(["ping"])

    sessions = sorted(standin.sessions, key=lambda session: session.shard_id or 0)
    assert [session.shard for session in sessions] == [(0, 2), (1, 2)]
    for session in sessions:
        expected = {g.id for g in standin.guilds if standin.shard_of(g, 2) == session.shard_id}
        assert set(session.guild_ids) == expected
    assert {guild.id for guild in client.guilds} == {guild.id for guild in standin.guilds}
    for guild in standin.guilds:
        handle = await standin.slash("ping", guild=guild)
        assert (await handle.response()).content == "pong"
        receivers = [s for s in sessions if any(item[2] is handle for item in s.buffer)]
        assert [s.shard_id for s in receivers] == [standin.shard_of(guild, 2)]


async def test_standin_dm_and_closed_dms(standin: DiscordStandIn, bot: commands.Bot) -> None:
    private = standin.make_user("private", accepts_dms=False)
    sent = await standin.slash("dm")
    refused = await standin.slash("dm", user=private)

    assert (await sent.response()).content == "sent"
    assert (await refused.response()).content == "forbidden 50007"
    dm = await standin.wait_for_dm(standin.customer)
    assert dm.content == "hello in private"
    assert standin.dms(private) == []


async def test_standin_multipart_callback_keeps_files(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    handle = await standin.slash("upload")
    callback = await handle.response()

    assert callback.content == "here"
    assert [(f.filename, f.data) for f in callback.files] == [("order.txt", b"order 42")]
    assert handle.original is not None
    assert [a["filename"] for a in handle.original.attachments] == ["order.txt"]


async def test_standin_rejects_modal_breaking_discord_limits(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    handle = await standin.slash("bigmodal")

    assert (await handle.response()).content == "rejected 50035"
    ((status, body),) = handle.rejected
    assert status == 400
    assert body["errors"]["data"]["title"]["_errors"][0]["code"] == "BASE_TYPE_BAD_LENGTH"


async def test_standin_injected_fault_hits_once(standin: DiscordStandIn, bot: commands.Bot) -> None:
    fault = standin.inject_fault("POST /channels/{channel_id}/messages", status=403, code=50001)
    first = await standin.slash("post", {"where": "general"})
    second = await standin.slash("post", {"where": "general"})

    assert (await first.response()).content == "forbidden 50001"
    assert (await second.response()).content == "posted"
    assert len(fault.hits) == 1 and fault.exhausted


async def test_standin_member_permissions(standin: DiscordStandIn, bot: commands.Bot) -> None:
    admin = standin.make_user("admin", permissions=Permission.ADMINISTRATOR)
    manager = standin.make_user("manager", permissions=Permission.MANAGE_GUILD)
    handles = [
        await standin.slash("ping", user=user) for user in (standin.customer, admin, manager)
    ]
    for handle in handles:
        await handle.response()

    granted = [nextcord.Permissions(int(h.payload["member"]["permissions"])) for h in handles]
    assert [p.administrator for p in granted] == [False, True, False]
    assert [p.manage_guild for p in granted] == [False, True, True]
    assert handles[0].payload["member"]["user"]["discriminator"] == "0"


@pytest.mark.standin_options(ack_deadline_s=0.0)
async def test_standin_late_callback_is_unknown(
    standin: DiscordStandIn, connect_bot: ConnectBot
) -> None:
    await connect_bot(build_bot(standin.guild.id))
    await standin.wait_commands_synced(["ping"])
    handle = await standin.slash("ping")
    status, body = await handle.refusal()

    assert (status, body["code"]) == (404, 10062)
    assert handle.callback is None


@pytest.mark.standin_options(zlib_stream=True)
async def test_standin_zlib_stream_gateway(
    standin: DiscordStandIn, connect_bot: ConnectBot
) -> None:
    await connect_bot(build_bot(standin.guild.id))
    await standin.wait_commands_synced(["ping"])
    handle = await standin.slash("ping")

    assert (await handle.response()).content == "pong"
    assert all(c.compressor is not None for c in standin.gateway.connections)


async def test_standin_refuses_wrong_token(
    standin: DiscordStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Route, "BASE", standin.base_url)
    client = nextcord.Client()
    with pytest.raises(nextcord.LoginFailure):
        await client.login("not-the-token")
    await client.close()


async def test_standin_two_processes_on_one_token_both_get_interactions(
    standin: DiscordStandIn, connect_bot: ConnectBot
) -> None:
    first, second = build_bot(standin.guild.id), build_bot(standin.guild.id)
    await connect_bot(first)
    await connect_bot(second)
    await standin.wait_commands_synced(["ping"])
    handle = await standin.slash("ping")

    assert (await handle.response()).content == "pong"
    status, body = await handle.refusal()
    assert (status, body["code"]) == (400, 40060)
    assert len(standin.sessions) == 2


async def test_standin_answers_member_chunk_requests(
    standin: DiscordStandIn, connect_bot: ConnectBot
) -> None:
    for index in range(5):
        standin.make_user(f"member{index}")
    intents = nextcord.Intents.default()
    intents.members = True
    client = commands.Bot(intents=intents, guild_ready_timeout=0.01)
    await connect_bot(client, wait_client_ready=True)

    (guild,) = client.guilds
    assert {member.id for member in guild.members} == set(standin.guild.members)


async def test_standin_command_routes_follow_discord(standin: DiscordStandIn) -> None:
    base = f"{standin.base_url}/applications/{standin.application_id}/commands"
    headers = {"Authorization": f"Bot {standin.token}"}
    one = {"name": "one", "description": "First", "type": 1}
    two = {"name": "two", "description": "Second", "type": 1}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(base, json=one) as response:
            assert response.status == 201
            created = await response.json()
        async with session.put(base, json=[{**one, "description": "Changed"}, two]) as response:
            overwritten = {item["name"]: item for item in await response.json()}
        async with session.patch(f"{base}/{overwritten['two']['id']}", json=two) as response:
            edited = await response.json()
        async with session.delete(f"{base}/{created['id']}") as response:
            assert response.status == 204
        async with session.get(f"{base}/{created['id']}") as response:
            assert response.status == 404
            assert (await response.json())["code"] == 10063
        async with session.post(base, json={"name": "Bad Name", "description": "x"}) as response:
            assert response.status == 400
            assert (await response.json())["code"] == 50035

    assert overwritten["one"]["id"] == created["id"]
    assert overwritten["one"]["version"] != created["version"]
    assert edited["id"] == overwritten["two"]["id"]
    assert set(standin.commands()) == {"two"}
    assert standin.registration_count == 5


@pytest.mark.slow
async def test_standin_burst_of_2000_slash_commands(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    users = [standin.make_user(f"user{index}") for index in range(200)]
    handles = await asyncio.gather(
        *(standin.slash("ping", user=users[index % len(users)]) for index in range(2000))
    )
    callbacks = await asyncio.gather(*(handle.response(timeout=60) for handle in handles))

    assert {callback.content for callback in callbacks} == {"pong"}
    assert len({handle.id for handle in handles}) == 2000
