"""What the bot posts unasked: matches of followed topics, and the scheduled digest.

Every NEWSBOT_FOLLOW_POLL_SECONDS the bot reads the index's revision (one small read). When it
changed (any process indexed: ``newsbot index``, ``add``, ``watch``, /reindex; embedded store or
server), or stories are waiting for the next hour's posts, the followed topics are checked
(:meth:`bot.news.follow.FollowStore.check`) and the matches posted where each follow was made.
When NEWSBOT_DIGEST_AT has passed and NEWSBOT_DISCORD_DIGEST_CHANNEL is set, the window's digest is
posted there once (recorded before it is sent).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.frontends.discord_bot.formatting import NO_MENTIONS
from bot.frontends.discord_bot.news_formatting import digest_messages, follow_messages
from bot.news.follow import Delivery

if TYPE_CHECKING:
    from bot.frontends.discord_bot.client import NewsBot

log = logging.getLogger(__name__)


class NewsPoster:
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.revision: tuple[int, int] | None = None

    async def run(self) -> None:
        seconds = self.bot.settings.follow_poll_seconds
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.check()
            except Exception as error:  # the store may be down for a while: try again later
                log.warning("could not check followed topics: %s", error)

    async def check(self, now: datetime | None = None) -> int:
        """Post what is due now; returns how many posts were made."""
        posted = await self.check_follows(now)
        posted += await self.post_digest(now)
        return posted

    async def check_follows(self, now: datetime | None = None) -> int:
        bot = self.bot
        store = bot.service.searcher.store
        meta = await asyncio.to_thread(store.meta)
        revision = (meta.generation, meta.revision) if meta is not None else None
        changed = revision != self.revision
        if not changed and not await asyncio.to_thread(bot.follows.waiting):
            return 0
        if changed and meta is not None:
            await asyncio.to_thread(store.catch_up, meta.revision)
        self.revision = revision
        embed = bot.service.searcher.embedder.encode
        deliveries = await asyncio.to_thread(bot.follows.check, store, embed, bot.settings, now)
        sent = 0
        for delivery in deliveries:
            sent += await self._post(delivery)
        return sent

    async def _post(self, delivery: Delivery) -> int:
        try:
            channel = await self._channel(delivery.follow.channel_id)
            for text in follow_messages(delivery):
                await channel.send(text, allowed_mentions=NO_MENTIONS)
        except (discord.HTTPException, LookupError) as error:
            log.warning("could not post to channel %s: %s", delivery.follow.channel_id, error)
            await asyncio.to_thread(self.bot.follows.release, delivery)
            return 0
        return 1

    async def _channel(self, channel_id: int) -> Any:
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            channel = await self.bot.fetch_channel(channel_id)
        if not hasattr(channel, "send"):
            raise LookupError(f"channel {channel_id} takes no messages")
        return channel

    async def post_digest(self, now: datetime | None = None) -> int:
        from bot.news.digest import build_digest
        from bot.news.schedule import due_window

        settings = self.bot.settings
        channel_id = settings.discord_digest_channel
        if not settings.digest_at or channel_id is None:
            return 0
        window = due_window(settings.digest_at, now or datetime.now(UTC))
        follows = self.bot.follows
        if window is None or not await asyncio.to_thread(
            follows.claim_digest, window.key, channel_id, now
        ):
            return 0
        try:
            store = self.bot.service.searcher.store
            digest = await asyncio.to_thread(
                build_digest, store, settings, window.since, window.until
            )
            channel = await self._channel(channel_id)
            for text in digest_messages(digest, "📰 Daily digest"):
                await channel.send(text, allowed_mentions=NO_MENTIONS)
        except Exception:
            await asyncio.to_thread(follows.release_digest, window.key)
            raise
        log.info("posted the digest of %s in channel %s", window.key, channel_id)
        return 1
