"""Slash commands for being told the news: /digest, /compare, /follow, /unfollow, /following.

The work is in :mod:`bot.news`; these commands defer when slow, call it off the event loop and
render the result. Errors go to the bot's one handler.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import InvalidInput
from bot.frontends.discord_bot.formatting import NO_MENTIONS
from bot.frontends.discord_bot.news_formatting import (
    comparison_messages,
    digest_messages,
    following_text,
)

if TYPE_CHECKING:
    from bot.frontends.discord_bot.client import NewsBot

log = logging.getLogger(__name__)


async def send_pieces(interaction: discord.Interaction, texts: list[str]) -> None:
    """The first piece replaces the deferred reply, the rest follow it."""
    await interaction.edit_original_response(content=texts[0], allowed_mentions=NO_MENTIONS)
    for text in texts[1:]:
        await interaction.followup.send(text, allowed_mentions=NO_MENTIONS, wait=True)


class NewsFeatures(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Every command: only in the configured servers and channels (and DMs if enabled)."""
        self.bot.access.check(interaction.channel)
        return True

    @app_commands.command(name="digest", description="The stories that arrived recently.")
    @app_commands.describe(hours="How many hours back (default: NEWSBOT_DIGEST_HOURS).")
    async def digest(
        self, interaction: discord.Interaction, hours: app_commands.Range[int, 1, 720] | None = None
    ) -> None:
        from bot.news.digest import build_digest, window

        await interaction.response.defer(thinking=True)
        settings = self.bot.settings
        start, end = window(None, hours, settings.digest_hours)
        store = self.bot.service.searcher.store
        result = await asyncio.to_thread(build_digest, store, settings, start, end)
        await send_pieces(interaction, digest_messages(result))

    @app_commands.command(
        name="compare", description="Where outlets differ on one story: figures, dates, sources."
    )
    @app_commands.describe(story="A headline or a question about the story.")
    async def compare(
        self, interaction: discord.Interaction, story: app_commands.Range[str, 1, 500]
    ) -> None:
        from bot.answering.service import clean_question
        from bot.news.compare import compare_story, find_story

        settings = self.bot.settings
        text = clean_question(story, settings.max_question_chars)
        await interaction.response.defer(thinking=True)
        searcher = self.bot.service.searcher
        found = await asyncio.to_thread(find_story, searcher, settings, text)
        await send_pieces(interaction, comparison_messages(compare_story(text, found)))

    @app_commands.command(name="follow", description="Post new articles on a topic here.")
    @app_commands.describe(topic="What to follow, e.g. Westmarch storm")
    @app_commands.guild_only()
    async def follow(
        self, interaction: discord.Interaction, topic: app_commands.Range[str, 1, 100]
    ) -> None:
        guild, channel = _where(interaction)
        follow = await asyncio.to_thread(
            self.bot.follows.add,
            guild,
            channel,
            interaction.user.id,
            topic,
            limit=self.bot.settings.follow_max_per_guild,
        )
        await interaction.response.send_message(
            f"🔔 Following “{follow.topic}” here (#{follow.id}): new matching articles will be "
            "posted in this channel. /unfollow stops it.",
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="unfollow", description="Stop following a topic.")
    @app_commands.describe(topic="The topic, or its number from /following")
    @app_commands.guild_only()
    async def unfollow(
        self, interaction: discord.Interaction, topic: app_commands.Range[str, 1, 100]
    ) -> None:
        guild, channel = _where(interaction)
        may_manage = bool(interaction.permissions.manage_guild)
        follows = self.bot.follows

        def remove() -> Any:
            found = follows.find(guild, topic, channel)
            follows.remove(found, interaction.user.id, may_manage)
            return found

        removed = await asyncio.to_thread(remove)
        await interaction.response.send_message(
            f"🔕 No longer following “{removed.topic}” (#{removed.id}).",
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="following", description="The topics followed in this server.")
    @app_commands.guild_only()
    async def following(self, interaction: discord.Interaction) -> None:
        guild, _ = _where(interaction)
        follows = await asyncio.to_thread(self.bot.follows.follows, guild)
        await interaction.response.send_message(
            following_text(follows), ephemeral=True, allowed_mentions=NO_MENTIONS
        )


def _where(interaction: discord.Interaction) -> tuple[int, int]:
    if interaction.guild_id is None or interaction.channel_id is None:
        raise InvalidInput("Topics are followed in a server's channel, not in direct messages.")
    return interaction.guild_id, interaction.channel_id
