"""/digest, /compare and followed topics in the fake Discord server (dpytest), over a real index
fed by three news sites on loopback (tests/test_news.py)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest

from bot.answering.service import build_service
from bot.frontends.discord_bot.splitter import MESSAGE_LIMIT, units
from bot.news.follow import FollowStore
from bot.settings import Settings
from index.arrivals import add
from index.embedding import Embedder
from tests.conftest import settings_for
from tests.newsserver import STORM_UPDATE, article_html
from tests.test_discord_harness import (
    Server,
    command,
    interaction,
    invoke,
    start_server,
    use_adapter,
)
from tests.test_news import (
    HOSTS,
    Sites,
    after_a_second,
    arrived,
    index_in_another_process,
    news_settings,
    sites,
    stored_without_indexing,
)

__all__ = ["arrived", "sites"]  # fixtures, imported for pytest


async def bot_over(settings: Settings, embedder: Embedder, tmp_path: Path, **extra: Any) -> Server:
    return await start_server(build_service(settings, embedder=embedder), tmp_path, **extra)


def contents(server: Server, channel: Any) -> list[str]:
    return [m["content"] for m in server.bot_messages(channel)]


@pytest.mark.asyncio
async def test_digest_command_lists_each_story_once_within_limits(
    arrived: tuple[Settings, datetime], embedder: Embedder, tmp_path: Path
) -> None:
    settings, _ = arrived
    server = await bot_over(settings, embedder, tmp_path)
    adapter = use_adapter(server, server.news)
    await invoke(server, interaction(server, command(server, "digest"), server.news, server.bob, hours=1))  # fmt: skip
    texts = [m["content"] for m in server.messages(server.news)]
    reply = "\n".join(texts)
    assert reply.count("**1. ") == 1 and "3 outlets" in reply and "Also covered by" in reply
    assert "Riverton approves bridge" in reply and "Café owners protest" in reply
    assert all(units(t) <= MESSAGE_LIMIT for t in texts)
    assert all(h in reply for h in HOSTS) and "[1]" in reply
    assert not adapter.ephemeral
    await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_digest_of_an_empty_window_says_so(
    embedder: Embedder, tmp_path: Path, sites: Sites
) -> None:
    settings = news_settings(tmp_path)
    add(settings, feeds=[sites.feed], embedder=embedder)  # the café story, long ago for the window
    after_a_second()
    server = await bot_over(settings, embedder, tmp_path, digest_hours=0.0001)
    use_adapter(server, server.news)
    await invoke(server, interaction(server, command(server, "digest"), server.news, server.bob))
    (text,) = [m["content"] for m in server.messages(server.news)]
    assert text.startswith("📭 No new articles arrived between")
    await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_news_commands_refuse_other_channels_with_a_private_note(
    embedder: Embedder, tmp_path: Path
) -> None:
    server = await bot_over(news_settings(tmp_path), embedder, tmp_path)
    for name in ("digest", "following"):
        adapter = use_adapter(server, server.offtopic)
        await invoke(server, interaction(server, command(server, name), server.offtopic, server.bob))  # fmt: skip
        ((_, _, payload),) = adapter.calls
        assert payload["data"]["flags"] & 64, name  # ephemeral: only the member sees it
        assert "only answer in the channels" in payload["data"]["content"], name
    assert server.bot_messages(server.offtopic) == []
    await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_compare_command_quotes_each_outlets_figure(
    arrived: tuple[Settings, datetime], embedder: Embedder, tmp_path: Path
) -> None:
    settings, _ = arrived
    server = await bot_over(settings, embedder, tmp_path)
    use_adapter(server, server.news)
    await invoke(
        server,
        interaction(
            server, command(server, "compare"), server.news, server.bob,
            story="How many people died in the Westmarch storm?",
        ),
    )  # fmt: skip
    reply = "\n".join(m["content"] for m in server.messages(server.news))
    assert "Where they differ" in reply and "What they all state" in reply
    assert "**14 people**" in reply and "**12 people**" in reply
    for host in HOSTS:
        assert f"– {host}, 2025-03-03: **" in reply
    assert "killed 14 people, the regional fire service said" in reply
    await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_a_follow_posts_once_after_another_process_indexes(
    sites: Sites, embedder: Embedder, tmp_path: Path, store_kind: str, request: Any
) -> None:
    """Embedded store and Chroma server: the bot notices the revision `newsbot index` made."""
    (tmp_path / "articles").mkdir()
    settings = settings_for(store_kind, tmp_path, request).model_copy(update={"fetch_timeout": 2.0})
    add(settings, feeds=[sites.feed], embedder=embedder)  # an index with the café story
    server = await bot_over(settings, embedder, tmp_path)
    use_adapter(server, server.news)
    follow = interaction(
        server, command(server, "follow"), server.news, server.alice, topic="Westmarch storm"
    )
    await invoke(server, follow)
    assert "Following “Westmarch storm”" in contents(server, server.news)[-1]
    before = len(contents(server, server.news))
    assert await server.bot.poster.check() == 0  # nothing new yet

    after_a_second()
    sites.publish_storm_and_bridge()
    stored_without_indexing(settings, sites.feed)
    index_in_another_process(settings)
    assert await server.bot.poster.check() == 1
    posts = contents(server, server.news)[before:]
    assert len(posts) == 1, posts
    (post,) = posts
    assert post.startswith("🔔 **New on “Westmarch storm”**")
    assert "Westmarch" in post and "Riverton" not in post and "Café" not in post
    assert "<http://127.0.0." in post and "also " in post  # the address, and the other outlets
    assert await server.bot.poster.check() == 0  # the same revision: nothing again
    await dpytest.empty_queue()

    # a fourth outlet's version of the story, indexed later, is not posted again
    d = sites.outlets[1]
    d.page("/late/storm", article_html("Westmarch death toll rises", STORM_UPDATE, published="2025-03-04"))  # fmt: skip
    assert add(settings, [d.url("/late/storm")], embedder=embedder).counts()["added"] == 1
    assert await server.bot.poster.check() == 0
    with closing(sqlite3.connect(server.bot.follows.path)) as db:
        states = dict(db.execute("SELECT state, count(*) FROM seen GROUP BY state").fetchall())
    assert states["posted"] == 4 and states["skipped"] >= 1  # four storm articles, one post
    assert len(contents(server, server.news)) == before + 1
    await dpytest.empty_queue()

    restarted = await bot_over(settings, embedder, tmp_path)  # the same data directory
    assert await restarted.bot.poster.check() == 0
    assert len(contents(restarted, restarted.news)) == 0
    await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_unfollow_needs_the_author_or_manage_server(
    seed_service: Any, tmp_path: Path
) -> None:
    server = await start_server(seed_service, tmp_path)
    use_adapter(server, server.news)
    topic = "Sheinbaum troops"
    follow, unfollow = command(server, "follow"), command(server, "unfollow")
    await invoke(server, interaction(server, follow, server.news, server.alice, topic=topic))
    adapter = use_adapter(server, server.news)
    await invoke(server, interaction(server, unfollow, server.news, server.bob, topic=topic))
    assert "Manage Server" in str(adapter.ephemeral[-1])
    assert [f.topic for f in server.bot.follows.follows(server.guild.id)] == ["Sheinbaum troops"]
    adapter = use_adapter(server, server.news)
    await invoke(server, interaction(server, command(server, "following"), server.news, server.bob))  # fmt: skip
    assert "Sheinbaum troops" in str(adapter.ephemeral[-1])
    manage = discord.Permissions(manage_guild=True)
    use_adapter(server, server.news)
    await invoke(server, interaction(server, unfollow, server.news, server.bob, manage, topic="#1"))
    assert server.bot.follows.follows(server.guild.id) == []
    await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_scheduled_digest_is_posted_once_per_window(
    arrived: tuple[Settings, datetime], embedder: Embedder, tmp_path: Path
) -> None:
    settings, _ = arrived
    # the digest is due at a moment after the arrivals; the bot looks a little later
    at = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%H:%M")
    now = datetime.now(UTC) + timedelta(minutes=10)
    server = await bot_over(settings, embedder, tmp_path, digest_at=f"{at} UTC")
    server.bot.settings = server.bot.settings.model_copy(
        update={"discord_digest_channel": server.news.id}
    )
    assert await server.bot.poster.post_digest(now) == 1
    (post,) = contents(server, server.news)
    assert post.startswith("**📰 Daily digest**") and "3 outlets" in post
    assert await server.bot.poster.post_digest(now) == 0
    await dpytest.empty_queue()
    restarted = await bot_over(settings, embedder, tmp_path, digest_at=f"{at} UTC")
    restarted.bot.settings = restarted.bot.settings.model_copy(
        update={"discord_digest_channel": restarted.news.id}
    )
    assert await restarted.bot.poster.post_digest(now + timedelta(minutes=1)) == 0
    assert contents(restarted, restarted.news) == []
    await dpytest.empty_queue()


def test_follows_are_per_server(tmp_path: Path) -> None:
    store = FollowStore(tmp_path / "follows.sqlite3")
    store.add(1, 10, 100, "Westmarch storm")
    assert store.add(1, 10, 101, "westmarch  STORM").id == 1  # the same follow
    assert store.follows(2) == []
    with pytest.raises(Exception, match="follows no topic"):
        store.find(2, "Westmarch storm")
    with pytest.raises(Exception, match="needs words"):
        store.add(1, 10, 100, "!!!")
