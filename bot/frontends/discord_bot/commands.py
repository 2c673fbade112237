"""Slash commands: /ask, /sources, /stats and /reindex.

Each answers within Discord's 3-second deadline: quick ones reply at once, slow ones defer first
and edit the answer in. Errors go to the bot's one handler (``NewsBot.on_app_command_error``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.answering.followup import HISTORY_TURNS
from bot.frontends.discord_bot.answering import message_kwargs, open_thread, produce_answer, respond
from bot.frontends.discord_bot.errors import NotAllowed
from bot.frontends.discord_bot.formatting import (
    NO_MENTIONS,
    Reply,
    report_text,
    sources_replies,
    stats_embed,
)
from bot.frontends.discord_bot.limits import admit, cooldown_message

if TYPE_CHECKING:
    from bot.frontends.discord_bot.client import NewsBot

log = logging.getLogger(__name__)


def _can_reindex(interaction: discord.Interaction) -> bool:
    bot: NewsBot = interaction.client  # type: ignore[assignment]
    if bot.access.may_reindex(interaction.user, interaction.permissions):
        return True
    role = f" or the “{bot.access.admin_role}” role" if bot.access.admin_role else ""
    raise NotAllowed(f"Only members with the Manage Server permission{role} can rebuild the index.")


class NewsCommands(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Every command: only in the configured servers and channels (and DMs if enabled)."""
        self.bot.access.check(interaction.channel)
        return True

    @app_commands.command(name="ask", description="Ask a question about the news articles.")
    @app_commands.describe(question="Your question, e.g. Why did Mexico reject the U.S. troops?")
    async def ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 2000]
    ) -> None:
        bot = self.bot
        refusal = admit(bot.cooldown, bot.limit, interaction.user.id)
        if refusal is not None:
            await respond(interaction, refusal)
            return
        try:
            await interaction.response.defer(thinking=True)
            await self._answer(interaction, question)
        finally:
            bot.limit.leave()

    async def _answer(self, interaction: discord.Interaction, question: str) -> None:
        channel = interaction.channel
        in_thread = isinstance(channel, discord.Thread)
        keeps_history = channel is not None and (in_thread or interaction.guild is None)
        history = (
            await asyncio.to_thread(self.bot.feedback.turns, channel.id, HISTORY_TURNS)
            if keeps_history and channel is not None
            else []
        )

        async def show(reply: Reply) -> Any:
            return await interaction.edit_original_response(**message_kwargs(reply))

        async def send(reply: Reply) -> Any:
            return await interaction.followup.send(wait=True, **message_kwargs(reply))

        answer, shown = await produce_answer(
            self.bot.service, question, history, show, send, self.bot.edit_interval
        )
        conversation_id = channel.id if channel is not None else interaction.id
        parent_id = None
        if interaction.guild is not None and not in_thread and channel is not None:
            thread = await open_thread(shown[0], question)
            if thread is not None:
                conversation_id, parent_id = thread.id, channel.id
        await self.bot.remember(answer, shown, conversation_id, parent_id, interaction.guild)

    @app_commands.command(
        name="sources", description="Show the full passages behind the last answer here."
    )
    async def sources(self, interaction: discord.Interaction) -> None:
        channel_id = interaction.channel_id or 0
        stored = await asyncio.to_thread(self.bot.feedback.last_answer, channel_id)
        if stored is None:
            await respond(interaction, "I haven't answered anything here yet. Ask with /ask.")
            return
        sources = await asyncio.to_thread(self.bot.service.sources, stored.sources)
        replies = sources_replies(stored.question, sources, stored.found)
        first, rest = replies[0], replies[1:]
        await interaction.response.send_message(ephemeral=True, **message_kwargs(first))
        for reply in rest:
            await interaction.followup.send(ephemeral=True, **message_kwargs(reply))

    @app_commands.command(name="stats", description="Show what is indexed: articles, dates, model.")
    async def stats(self, interaction: discord.Interaction) -> None:
        wait = self.bot.stats_cooldown.retry_after(interaction.user.id)
        if wait > 0:
            await respond(interaction, cooldown_message(wait))
            return
        self.bot.stats_cooldown.start(interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        service = self.bot.service
        status = await asyncio.to_thread(service.status)
        embed = stats_embed(status, service.answerer.name)
        await interaction.edit_original_response(embed=embed, allowed_mentions=NO_MENTIONS)

    @app_commands.command(
        name="reindex", description="Index new and changed articles (admins only)."
    )
    @app_commands.describe(
        prune="Also remove missing articles when they are a large share of the index."
    )
    @app_commands.guild_only()
    @app_commands.check(_can_reindex)
    async def reindex(self, interaction: discord.Interaction, prune: bool = False) -> None:
        from index.build import build_index

        await interaction.response.defer(ephemeral=True, thinking=True)
        service = self.bot.service
        log.warning("reindex (prune=%s) requested by user %s", prune, interaction.user.id)
        report = await asyncio.to_thread(
            build_index,
            service.settings,
            prune=prune,
            store=service.searcher.store,
            embedder=service.searcher.embedder,
        )
        await interaction.edit_original_response(
            content=report_text(report), allowed_mentions=NO_MENTIONS
        )
