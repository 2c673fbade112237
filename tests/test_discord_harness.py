"""A Discord server for the bot to live in during tests, with no network.

dpytest stands in for Discord's gateway and REST API (guilds, channels, members, messages,
reactions). Two things it lacks are added here the way Discord does them: opening a thread on a
message (the REST call, then the THREAD_CREATE event), and a record of every message payload the
bot sends or edits, so tests can check ``allowed_mentions`` on each one. Slash-command
interactions are real ``discord.Interaction`` objects whose responses go through a recording
``AsyncWebhookAdapter`` that turns them into messages in the same fake server.

Everything underneath the bot is real: the answer service over Chroma and the packaged
embedding model, and the SQLite feedback store.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
import pytest_asyncio
from discord.ext.test import backend, factories
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from bot.answering.service import AnswerService
from bot.frontends.discord_bot.access import Access
from bot.frontends.discord_bot.client import NewsBot
from bot.frontends.feedback import FeedbackStore
from tests.conftest import make_settings

_ids = itertools.count(1)


@dataclass
class Server:
    bot: NewsBot
    guild: discord.Guild
    news: discord.TextChannel  # the channel the bot answers in
    offtopic: discord.TextChannel  # a channel it must ignore
    alice: discord.Member
    bob: discord.Member
    payloads: list[dict[str, Any]]  # every message payload the bot sent or edited
    feedback: FeedbackStore
    threads_opened: list[discord.Thread] = field(default_factory=list)
    reactions: list[tuple[int, str]] = field(default_factory=list)  # the bot's own reactions

    def messages(self, channel: Any) -> list[dict[str, Any]]:
        """The messages in a channel or thread as Discord holds them now (after edits)."""
        assert backend._cur_config is not None
        return list(backend._cur_config.messages.get(channel.id, []))

    def bot_messages(self, channel: Any) -> list[dict[str, Any]]:
        me = self.bot.user
        assert me is not None
        return [m for m in self.messages(channel) if int(m["author"]["id"]) == me.id]

    def thread(self, thread_id: int) -> discord.Thread:
        thread = self.guild.get_thread(thread_id)
        assert thread is not None, "the bot did not open that thread"
        return thread

    def open_thread_as(
        self, member: discord.Member, message: discord.Message, name: str
    ) -> discord.Thread:
        """A thread a person opened on a message (not the bot)."""
        data = _thread_payload(self.bot, message.channel, message.id, name, 1440)
        data["owner_id"] = member.id
        self.bot._connection.parse_thread_create(data)
        return self.thread(message.id)

    def make_bot_user(self, name: str = "OtherBot") -> discord.Member:
        state = backend.get_state()
        user = state.store_user(factories.make_user_dict(name, "0007", None, bot=True))
        return backend.make_member(user, self.guild)


def bot_settings(tmp_path: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "discord_cooldown_seconds": 0,
        "discord_max_concurrent": 2,
        "discord_sync_commands": False,
        "follow_poll_seconds": 0,  # tests call bot.poster.check() themselves
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


def _record_payloads(http: Any) -> list[dict[str, Any]]:
    """Wrap the fake HTTP client's send and edit so each payload is kept. dpytest reads the
    channel (or message) from its caller's local variables, so the wrappers hold them too."""
    payloads: list[dict[str, Any]] = []
    send_message, edit_message = http.send_message, http.edit_message

    async def send(channel_id: int, *, params: Any) -> Any:
        channel = sys._getframe(1).f_locals.get("channel")  # noqa: F841 (read by dpytest)
        payloads.append(dict(params.payload or {}))
        return await send_message(channel_id, params=params)

    async def edit(channel_id: int, message_id: int, **fields: Any) -> Any:
        self = sys._getframe(1).f_locals.get("self")  # noqa: F841 (read by dpytest)
        payloads.append(dict(fields["params"].payload or {}))
        return await edit_message(channel_id, message_id, **fields)

    http.send_message, http.edit_message = send, edit
    return payloads


def _record_reactions(http: Any, reactions: list[tuple[int, str]]) -> None:
    add_reaction = http.add_reaction

    async def add(channel_id: int, message_id: int, emoji: str) -> Any:
        self = sys._getframe(1).f_locals.get("self")  # noqa: F841 (read by dpytest)
        reactions.append((message_id, emoji))
        return await add_reaction(channel_id, message_id, emoji)

    http.add_reaction = add


def _thread_payload(bot: NewsBot, channel: Any, message_id: int, name: str, minutes: int) -> Any:
    assert bot.user is not None
    return {
        "id": message_id,  # Discord gives a thread opened on a message the message's id
        "guild_id": channel.guild.id,
        "parent_id": channel.id,
        "owner_id": bot.user.id,
        "name": name,
        "type": discord.ChannelType.public_thread.value,
        "message_count": 0,
        "member_count": 1,
        "rate_limit_per_user": 0,
        "newly_created": True,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": minutes,
            "archive_timestamp": datetime.now(UTC).isoformat(),
            "locked": False,
        },
    }


def _support_threads(bot: NewsBot, opened: list[discord.Thread]) -> None:
    async def start_thread_with_message(
        channel_id: int, message_id: int, *, name: str, auto_archive_duration: int, **_: Any
    ) -> Any:
        channel = bot.get_channel(channel_id)
        if len(name) > 100:
            raise AssertionError(f"Discord rejects thread names over 100 characters: {name!r}")
        data = _thread_payload(bot, channel, message_id, name, auto_archive_duration)
        bot._connection.parse_thread_create(data)  # the THREAD_CREATE event that follows
        opened.append(channel.guild.get_thread(message_id))  # type: ignore[union-attr]
        return data

    bot.http.start_thread_with_message = start_thread_with_message  # type: ignore[method-assign]


def _complete_reaction_events(bot: NewsBot) -> None:
    """dpytest 0.7 builds reaction events without the ``type`` and ``burst`` fields that
    Discord sends and discord.py 2.7 reads; add them as Discord does (a normal reaction)."""
    state = bot._connection

    for name in ("parse_message_reaction_add", "parse_message_reaction_remove"):
        original = getattr(state, name)

        def parse(data: dict[str, Any], original: Any = original) -> None:
            data.setdefault("type", 0)
            data.setdefault("burst", False)
            original(data)

        setattr(state, name, parse)


async def start_server(
    service: AnswerService, tmp_path: Path, admin_role: str | None = None, **overrides: Any
) -> Server:
    settings = bot_settings(tmp_path, **overrides)
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    bot = NewsBot(settings, lambda: service, feedback=feedback, edit_interval=0.05)
    # dpytest keeps its members in the member cache, which needs the members intent; the bot
    # itself does not (a message carries its author).
    intents = bot.intents
    intents.members = True
    bot._connection._intents = intents
    bot._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(intents)
    await bot._async_setup_hook()  # before configure, or dpytest cannot reach the loop
    dpytest.configure(
        bot, guilds=["Newsroom"], text_channels=["news", "offtopic"], voice_channels=0,
        members=["alice", "bob"],
    )  # fmt: skip
    await bot.setup_hook()
    config = dpytest.get_config()
    guild = config.guilds[0]
    news, offtopic = config.channels
    bot.access = Access(
        frozenset({guild.id}),
        frozenset({news.id}),
        bool(overrides.get("discord_allow_dms", False)),
        admin_role,
    )
    opened: list[discord.Thread] = []
    _support_threads(bot, opened)
    _complete_reaction_events(bot)
    payloads = _record_payloads(bot.http)
    alice, bob = config.members
    server = Server(bot, guild, news, offtopic, alice, bob, payloads, feedback, opened)
    _record_reactions(bot.http, server.reactions)
    return server


@pytest_asyncio.fixture
async def server(seed_service: AnswerService, tmp_path: Path) -> AsyncIterator[Server]:
    """The bot in a server with #news (allowed) and #offtopic, over the seed article's index."""
    yield await start_server(seed_service, tmp_path)
    await dpytest.empty_queue()


# -- slash-command interactions ----------------------------------------------------------------
class RecordingAdapter(AsyncWebhookAdapter):
    """Answers discord.py's interaction and webhook requests the way Discord does, and turns
    them into messages in the fake server, so a thread can be opened on an answer."""

    def __init__(self, server: Server, channel: Any) -> None:
        super().__init__()
        self.server = server
        self.channel = channel
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.times: list[float] = []  # when each request was made (time.monotonic)
        self.started = time.monotonic()  # when the test sent the interaction
        self.original: discord.Message | None = None
        self.ephemeral: list[dict[str, Any]] = []

    async def request(self, route: Any, session: Any = None, **kwargs: Any) -> Any:
        payload = dict(kwargs.get("payload") or {})
        path = route.path
        self.calls.append((route.method, path, payload))
        self.times.append(time.monotonic())
        if path.endswith("/callback"):
            return self._callback(payload)
        if path.endswith("/messages/@original") and route.method == "PATCH":
            return self._edit_original(payload)
        if path == "/webhooks/{webhook_id}/{webhook_token}" and route.method == "POST":
            return self._followup(payload)
        raise AssertionError(f"unexpected request {route.method} {path}")

    def _callback(self, payload: dict[str, Any]) -> Any:
        kind = payload["type"]
        data = payload.get("data") or {}
        response: dict[str, Any] = {"id": str(next(_ids)), "type": kind}
        ephemeral = bool(data.get("flags", 0) & 64)
        if kind == discord.InteractionResponseType.deferred_channel_message.value and not ephemeral:
            self.original = self._post("")  # the "thinking…" message
            response["response_message_id"] = str(self.original.id)
            response["response_message_loading"] = True
        elif kind == discord.InteractionResponseType.channel_message.value:
            if ephemeral:
                self.ephemeral.append(data)
            else:
                self.original = self._post(data.get("content") or "", data.get("embeds"))
        elif ephemeral:
            self.ephemeral.append({"deferred": True})
        return {"interaction": response}

    def _post(self, content: str, embeds: list[dict[str, Any]] | None = None) -> discord.Message:
        me = self.server.guild.me
        objects = [discord.Embed.from_dict(e) for e in embeds or []]
        return backend.make_message(content, me, self.channel, embeds=objects)

    def _edit_original(self, payload: dict[str, Any]) -> Any:
        if self.original is None:  # an ephemeral response: Discord keeps it out of the channel
            self.ephemeral.append(payload)
            return self._message_payload(next(_ids), payload)
        stored = self._stored(self.original.id)
        stored.update({k: v for k, v in payload.items() if k in ("content", "embeds")})
        return dict(stored)

    def _followup(self, payload: dict[str, Any]) -> Any:
        if payload.get("flags", 0) & 64:
            self.ephemeral.append(payload)
            return self._message_payload(next(_ids), payload)
        message = self._post(payload.get("content") or "", payload.get("embeds"))
        return dict(self._stored(message.id))

    def _stored(self, message_id: int) -> dict[str, Any]:
        assert backend._cur_config is not None
        for data in backend._cur_config.messages[self.channel.id]:
            if data["id"] == message_id:
                return data
        raise AssertionError("no such message")

    def _message_payload(self, message_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        me = self.server.guild.me
        return factories.make_message_dict(
            self.channel, me, message_id, content=payload.get("content") or "",
            guild_id=self.server.guild.id,
        )  # fmt: skip

    def payloads(self) -> list[dict[str, Any]]:
        return [p for _, _, p in self.calls]


def interaction(
    server: Server,
    command: discord.app_commands.Command[Any, ..., Any],
    channel: Any,
    member: discord.Member,
    permissions: discord.Permissions | None = None,
    **options: str | bool | int,
) -> discord.Interaction:
    """A slash-command interaction as Discord sends it (see discord.py's own
    tests/test_app_commands_invoke.py)."""
    member_data = factories.dict_from_member(member)
    member_data["permissions"] = str((permissions or discord.Permissions.none()).value)
    member_data["joined_at"] = datetime.now(UTC).isoformat()
    channel_type = channel.type.value
    data: Any = {
        "id": next(_ids),
        "application_id": 1,
        "token": "interaction-token",
        "version": 1,
        "type": discord.InteractionType.application_command.value,
        "guild_id": server.guild.id,
        "channel_id": channel.id,
        "channel": {"id": channel.id, "type": channel_type},
        "member": member_data,
        "app_permissions": str(discord.Permissions.all().value),
        "attachment_size_limit": 8_000_000,
        "data": {
            "id": 1,
            "type": discord.AppCommandType.chat_input.value,
            "name": command.name,
            "options": [
                {"type": _option_type(v).value, "name": k, "value": v} for k, v in options.items()
            ],
        },
    }
    return discord.Interaction(data=data, state=server.bot._connection)


def _option_type(value: str | bool | int) -> discord.AppCommandOptionType:
    if isinstance(value, bool):
        return discord.AppCommandOptionType.boolean
    if isinstance(value, int):
        return discord.AppCommandOptionType.integer
    return discord.AppCommandOptionType.string


async def invoke(server: Server, interaction: discord.Interaction) -> None:
    """What discord.py does when an interaction arrives (``CommandTree._from_interaction``),
    awaited here instead of run as a separate task."""
    tree = server.bot.tree
    try:
        await tree._call(interaction)
    except discord.app_commands.AppCommandError as error:
        await tree._dispatch_error(interaction, error)


def use_adapter(server: Server, channel: Any) -> RecordingAdapter:
    adapter = RecordingAdapter(server, channel)
    async_context.set(adapter)
    return adapter


def command(server: Server, name: str) -> Any:
    found = server.bot.tree.get_command(name)
    assert found is not None, f"/{name} is not registered"
    return found


# -- checks on the harness itself --------------------------------------------------------------
@pytest.mark.asyncio
async def test_the_fake_server_opens_threads_and_records_payloads(server: Server) -> None:
    message = await dpytest.message("hello", channel=server.offtopic, member=server.alice)
    thread = await message.create_thread(name="a thread")
    assert server.guild.get_thread(thread.id) is thread or server.thread(thread.id).id == thread.id
    await thread.send("inside", allowed_mentions=discord.AllowedMentions.none())
    assert server.payloads[-1]["content"] == "inside"
    assert server.bot_messages(thread)[-1]["content"] == "inside"
