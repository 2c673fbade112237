"""The Discord bot: events, the answer flow for mentions and thread follow-ups, and start-up.

The bot receives a factory for the :class:`~bot.answering.service.AnswerService` (built once, in
``setup_hook``, off the event loop) and never builds one itself. Slash commands live in
:mod:`bot.frontends.discord_bot.commands`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.answering.followup import HISTORY_TURNS
from bot.answering.service import AnswerService
from bot.errors import ConfigError
from bot.frontends.discord_bot.access import Access
from bot.frontends.discord_bot.answering import (
    add_vote_reactions,
    message_kwargs,
    open_thread,
    produce_answer,
    respond,
)
from bot.frontends.discord_bot.errors import friendly_message, install_redaction, secret_values
from bot.frontends.discord_bot.formatting import NO_MENTIONS, PLACEHOLDER, Reply
from bot.frontends.discord_bot.limits import ConcurrencyLimit, Cooldown, admit
from bot.frontends.discord_bot.posting import NewsPoster
from bot.frontends.feedback import VOTES, FeedbackStore
from bot.news.follow import FollowStore
from bot.settings import Settings

log = logging.getLogger(__name__)

EMPTY_QUESTION = (
    "👋 Ask me a question after the mention, for example: "
    "“@newsbot Why did Sheinbaum reject the offer of U.S. troops?”"
)


class NewsBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        service_factory: Callable[[], AnswerService],
        feedback: FeedbackStore | None = None,
        edit_interval: float = 1.0,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # follow-ups in a thread are read without a mention
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=NO_MENTIONS,
        )
        self.settings = settings
        self._service_factory = service_factory
        self._service: AnswerService | None = None
        self.warming: asyncio.Task[bool] | None = None
        self.feedback = feedback or FeedbackStore.in_data_dir(settings.data_dir)
        self.follows = FollowStore.in_data_dir(settings.data_dir)
        self.poster = NewsPoster(self)
        self.posting: asyncio.Task[None] | None = None
        self.access = Access.from_settings(settings)
        self.cooldown = Cooldown(settings.discord_cooldown_seconds)
        self.stats_cooldown = Cooldown(settings.discord_cooldown_seconds)  # /stats, per user
        self.limit = ConcurrencyLimit(settings.discord_max_concurrent)
        self.edit_interval = edit_interval
        self.tree.error(self.on_app_command_error)

    @property
    def service(self) -> AnswerService:
        if self._service is None:
            raise RuntimeError("setup_hook has not run: the answer service is not built yet")
        return self._service

    async def setup_hook(self) -> None:
        from bot.frontends.discord_bot.commands import NewsCommands
        from bot.frontends.discord_bot.news import NewsFeatures

        if self._service is None:
            self._service = await asyncio.to_thread(self._service_factory)
        # load the model and the index in the background: the first question need not wait
        self.warming = asyncio.create_task(asyncio.to_thread(self._service.warm_up))
        await self.add_cog(NewsCommands(self))
        await self.add_cog(NewsFeatures(self))
        if self.settings.follow_poll_seconds > 0 and self.posting is None:
            self.posting = asyncio.create_task(self.poster.run())
        if self.settings.discord_sync_commands:
            await self.sync_commands()

    async def sync_commands(self) -> None:
        """Register the slash commands: per server (visible at once), or globally for DMs."""
        try:
            if self.access.allow_dms:
                await self.tree.sync()
                log.info("slash commands synced globally (may take a while to appear)")
            for guild_id in self.access.guild_ids:
                guild = discord.Object(id=guild_id)
                if not self.access.allow_dms:
                    self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
                log.info("slash commands synced to server %s", guild_id)
        except discord.Forbidden:
            log.warning(
                "Discord refused to register the slash commands. Invite the bot with the "
                "applications.commands scope (see the README), then restart it."
            )
        except discord.HTTPException as error:
            log.warning("could not register the slash commands (mentions still work): %s", error)

    async def on_ready(self) -> None:
        joined = {g.id for g in self.guilds}
        log.warning("connected as %s; answering in %d server(s)", self.user, len(joined))
        for guild_id in sorted(self.access.guild_ids - joined):
            log.warning("configured server %s has not invited the bot", guild_id)

    # -- mentions and follow-ups ----------------------------------------------------------------
    def is_addressed(self, message: discord.Message) -> bool:
        """Is ``message`` a question for the bot, somewhere it may answer?"""
        me = self.user
        if me is None or message.author.bot or message.author.id == me.id:
            return False
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return False
        if not self.access.allows(message.channel):
            return False
        if message.guild is None:
            return True  # a direct message (allowed above only when DMs are on)
        if self.mentions_me(message):
            return True
        channel = message.channel
        follow_up = isinstance(channel, discord.Thread) and channel.owner_id == me.id
        return follow_up and not (message.raw_mentions or message.raw_role_mentions)

    def mentions_me(self, message: discord.Message) -> bool:
        me = self.user
        if me is None:
            return False
        own_role = message.guild.self_role if message.guild else None
        return me.id in message.raw_mentions or (
            own_role is not None and own_role.id in message.raw_role_mentions
        )

    def question_of(self, message: discord.Message) -> str:
        """The message text without the mention of the bot."""
        me = self.user
        tokens = [rf"<@!?{me.id}>"] if me else []
        own_role = message.guild.self_role if message.guild else None
        if own_role is not None:
            tokens.append(rf"<@&{own_role.id}>")
        text = re.sub("|".join(tokens), " ", message.content) if tokens else message.content
        return " ".join(text.split())

    async def on_message(self, message: discord.Message) -> None:
        if not self.is_addressed(message):
            return
        question = self.question_of(message)
        if not question:  # a bare mention gets a hint; an image in a thread is not a question
            if message.guild is None or self.mentions_me(message):
                await self._reply(message, EMPTY_QUESTION)
            return
        refusal = admit(self.cooldown, self.limit, message.author.id)
        if refusal is not None:
            await self._reply(message, refusal)
            return
        try:
            await self.answer_message(message, question)
        finally:
            self.limit.leave()

    async def answer_message(self, message: discord.Message, question: str) -> None:
        placeholder: discord.Message | None = None
        try:
            target, parent_id = await self.conversation_for(message, question)
            placeholder = await target.send(PLACEHOLDER, allowed_mentions=NO_MENTIONS)
            history = await asyncio.to_thread(self.feedback.turns, target.id, HISTORY_TURNS)

            async def show(reply: Reply) -> Any:
                assert placeholder is not None
                return await placeholder.edit(**message_kwargs(reply))

            async def send(reply: Reply) -> Any:
                return await target.send(**message_kwargs(reply))

            answer, shown = await produce_answer(
                self.service, question, history, show, send, self.edit_interval
            )
        except Exception as error:  # the one handler: a friendly reply, unexpected ones logged
            text = friendly_message(error)
            if placeholder is None:
                await self._reply(message, text)
                return
            try:
                await placeholder.edit(content=text, embeds=[], allowed_mentions=NO_MENTIONS)
            except discord.HTTPException as failed:
                log.warning("could not tell the user about an error: %s", failed)
            return
        await self.remember(answer, shown, target.id, parent_id, message.guild)

    async def conversation_for(
        self, message: discord.Message, question: str
    ) -> tuple[Any, int | None]:
        """Where the answer goes: the thread (existing, or opened on the question) or the DM."""
        channel = message.channel
        if isinstance(channel, discord.Thread):
            return channel, channel.parent_id
        if message.guild is None:
            return channel, None
        thread = await open_thread(message, question)
        return (channel, None) if thread is None else (thread, channel.id)

    async def remember(
        self,
        answer: Any,
        shown: list[Any],
        channel_id: int,
        parent_id: int | None,
        guild: discord.Guild | None,
    ) -> None:
        """Store the answer (for follow-ups, /sources and ratings) and offer 👍 / 👎.

        The answer is already shown: a failure here is logged and never replaces it."""
        try:
            await asyncio.to_thread(
                self.feedback.record_answer,
                answer,
                channel_id=channel_id,
                message_ids=[m.id for m in shown],
                guild_id=guild.id if guild else None,
                parent_id=parent_id,
            )
            await add_vote_reactions(shown[0])
        except Exception:
            log.exception("could not record the answer in %s", self.feedback.path)

    async def _reply(self, message: discord.Message, text: str) -> None:
        try:
            await message.reply(text, allowed_mentions=NO_MENTIONS, mention_author=False)
        except discord.HTTPException as error:
            log.warning("could not reply in channel %s: %s", message.channel.id, error)

    # -- ratings --------------------------------------------------------------------------------
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._record_vote(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._record_vote(payload, added=False)

    async def _record_vote(self, payload: discord.RawReactionActionEvent, added: bool) -> None:
        vote = VOTES.get(str(payload.emoji))
        me = self.user
        if vote is None or me is None or payload.user_id == me.id:
            return
        if payload.member is not None and payload.member.bot:
            return
        action = self.feedback.vote if added else self.feedback.unvote
        try:
            recorded = await asyncio.to_thread(action, payload.message_id, payload.user_id, vote)
        except Exception:
            log.exception("could not record a rating in %s", self.feedback.path)
            return
        if recorded:
            log.info("rating %+d on message %s recorded", vote, payload.message_id)

    # -- slash command errors -------------------------------------------------------------------
    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await respond(interaction, friendly_message(error))


def run(settings: Settings, service_factory: Callable[[], AnswerService]) -> None:
    """Start the bot and block until it stops. Errors name the fix (token, intents)."""
    if settings.discord_token is None:  # `newsbot discord` checks startup_problem first
        raise ConfigError("DISCORD_TOKEN is not set; see the README's Discord section.")
    token = settings.discord_token.get_secret_value().strip()
    install_redaction(secret_values(settings))  # the token, CHROMA_API_KEY, OPENAI_API_KEY, ...
    bot = NewsBot(settings, service_factory)
    try:
        bot.run(token, log_handler=None)
    except discord.LoginFailure:
        raise ConfigError(
            "Discord did not accept DISCORD_TOKEN. In the Developer Portal open your "
            "application → Bot → Reset Token, and put the new token in DISCORD_TOKEN."
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            "The bot needs the Message Content intent. In the Developer Portal open your "
            "application → Bot → Privileged Gateway Intents, turn on Message Content Intent, "
            "save, and start it again."
        ) from None
