"""Slash commands, invoked through the bot's command tree with real discord.Interaction objects."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend

from bot.answering.service import build_service
from bot.frontends.discord_bot.formatting import escape
from index.build import writer_lock
from index.embedding import Embedder
from tests.conftest import SEED_FILE, make_settings
from tests.test_discord_harness import (
    Server,
    command,
    interaction,
    invoke,
    server,
    start_server,
    use_adapter,
)

__all__ = ["server"]

QUESTION = "Why did Sheinbaum reject Trump's offer to send troops?"
DEFERRED = discord.InteractionResponseType.deferred_channel_message.value
MESSAGE = discord.InteractionResponseType.channel_message.value


async def ask(server: Server, channel: Any, member: discord.Member, question: str) -> Any:
    adapter = use_adapter(server, channel)
    adapter.started = time.monotonic()
    await invoke(
        server, interaction(server, command(server, "ask"), channel, member, question=question)
    )
    return adapter


@pytest.mark.asyncio
async def test_ask_defers_at_once_then_edits_in_the_answer(server: Server) -> None:
    adapter = await ask(server, server.news, server.alice, QUESTION)

    (_, path, payload) = adapter.calls[0]
    assert path.endswith("/callback") and payload["type"] == DEFERRED  # defer comes first,
    assert adapter.times[0] - adapter.started < 2.5  # within Discord's 3 seconds
    edits = [p for m, path, p in adapter.calls if m == "PATCH"]
    assert edits, "the answer was never edited in"
    final = edits[-1]
    assert "[1]" in final["content"] and "sovereignty" in final["content"].lower()
    assert final["embeds"][0]["title"] == "Sources"
    assert all(p["allowed_mentions"] == {"parse": []} for p in edits)

    assert adapter.original is not None
    (shown,) = server.bot_messages(server.news)
    assert shown["content"] == final["content"]  # the response message now shows the answer

    (thread,) = server.threads_opened  # follow-ups go on in a thread on the answer
    assert thread.id == adapter.original.id and thread.parent_id == server.news.id
    (stored,) = server.feedback.answers(thread.id)
    assert stored.question == QUESTION
    assert server.reactions == [(shown["id"], "👍"), (shown["id"], "👎")]


@pytest.mark.asyncio
async def test_ask_in_the_thread_is_a_follow_up(server: Server) -> None:
    await ask(server, server.news, server.alice, QUESTION)
    (thread,) = server.threads_opened

    adapter = await ask(server, thread, server.bob, "What is her security strategy?")

    assert adapter.calls[0][2]["type"] == DEFERRED
    assert len(server.threads_opened) == 1
    _, second = server.feedback.answers(thread.id)
    assert second.query is not None and "Sheinbaum" in second.query
    assert "security strategy" in second.answer


@pytest.mark.asyncio
async def test_commands_refuse_other_channels_with_a_private_note(server: Server) -> None:
    adapter = await ask(server, server.offtopic, server.alice, QUESTION)
    ((_, _, payload),) = adapter.calls
    assert payload["type"] == MESSAGE
    assert payload["data"]["flags"] & 64  # ephemeral: only the asker sees it
    assert "only answer in the channels" in payload["data"]["content"]
    assert server.threads_opened == [] and server.feedback.answers(server.offtopic.id) == []


@pytest.mark.asyncio
async def test_ask_cooldown_is_a_private_note(seed_service: Any, tmp_path: Path) -> None:
    server = await start_server(seed_service, tmp_path, discord_cooldown_seconds=30)
    try:
        await ask(server, server.news, server.alice, QUESTION)
        adapter = await ask(server, server.news, server.alice, "Who is Ronald Johnson?")
        ((_, _, payload),) = adapter.calls
        assert payload["data"]["flags"] & 64 and "try again in" in payload["data"]["content"]
    finally:
        await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_sources_shows_the_full_passages_of_the_last_answer(server: Server) -> None:
    adapter = use_adapter(server, server.news)
    await invoke(server, interaction(server, command(server, "sources"), server.news, server.bob))
    assert "haven't answered anything here yet" in adapter.calls[0][2]["data"]["content"]

    await ask(server, server.news, server.alice, QUESTION)
    stored = server.feedback.last_answer(server.news.id)
    assert stored is not None

    for channel in (server.news, server.threads_opened[0]):  # from the channel or the thread
        adapter = use_adapter(server, channel)
        await invoke(server, interaction(server, command(server, "sources"), channel, server.bob))
        data = adapter.calls[0][2]["data"]
        assert data["flags"] & 64
        assert data["content"].startswith("Passages behind the last answer")
        embeds = data["embeds"]
        assert embeds[0]["title"].startswith("[1] Sheinbaum REJECTS")
        (source, *_) = server.bot.service.sources(stored.sources)
        whole = source.text.strip()  # the passage the quote stands in, not the quote alone
        assert len(embeds[0]["description"]) >= len(whole) - 5  # the full passage, not shortened
        assert f"**{escape(source.citation.quote)}**" in embeds[0]["description"]
        assert sum(len(discord.Embed.from_dict(e)) for e in embeds) <= 6000


@pytest.mark.asyncio
async def test_stats_reports_what_is_indexed(server: Server) -> None:
    adapter = use_adapter(server, server.news)
    await invoke(server, interaction(server, command(server, "stats"), server.news, server.bob))
    assert adapter.calls[0][2]["type"] == DEFERRED
    (embed,) = adapter.calls[-1][2]["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Articles"] == "1" and int(fields["Passages"]) > 1
    assert fields["Answers by"] == "extractive"
    assert "MiniLM" in fields["Embedding model"]


async def reindex(
    server: Server, member: discord.Member, perms: discord.Permissions, **options: bool
) -> Any:
    adapter = use_adapter(server, server.news)
    await invoke(
        server,
        interaction(server, command(server, "reindex"), server.news, member, perms, **options),
    )
    return adapter


@pytest.mark.asyncio
async def test_reindex_is_refused_without_the_role_or_manage_server(server: Server) -> None:
    adapter = await reindex(server, server.alice, discord.Permissions(send_messages=True))
    ((_, _, payload),) = adapter.calls
    assert payload["data"]["flags"] & 64
    assert "Only members with the Manage Server permission" in payload["data"]["content"]


@pytest.fixture
def fresh_articles(tmp_path: Path) -> Path:
    folder = tmp_path / "index" / "articles"
    folder.mkdir(parents=True)
    shutil.copy(SEED_FILE, folder / SEED_FILE.name)
    return folder


@pytest.mark.slow
@pytest.mark.asyncio
async def test_reindex_by_role_or_manage_server_reports_the_changes(
    embedder: Embedder, tmp_path: Path, fresh_articles: Path
) -> None:
    settings = make_settings(tmp_path / "index")
    service = build_service(settings, embedder=embedder)
    server = await start_server(service, tmp_path, admin_role="Editors")
    try:
        editors = backend.make_role("Editors", server.guild)
        await dpytest.add_role(server.alice, editors)
        adapter = await reindex(server, server.alice, discord.Permissions(send_messages=True))
        assert adapter.calls[0][2]["type"] == DEFERRED
        report = adapter.calls[-1][2]["content"]
        assert "1 added, 0 updated, 0 removed, 0 unchanged" in report  # the first build is full
        assert "1 article in the index" in report

        (fresh_articles / "second.txt").write_text(
            "Harbor Bridge Reopens\nThe Old Harbor bridge reopens on Monday after repairs.\n"
        )
        adapter = await reindex(server, server.bob, discord.Permissions(manage_guild=True))
        report = adapter.calls[-1][2]["content"]
        assert "1 added, 0 updated, 0 removed, 1 unchanged" in report
        assert "2 articles in the index" in report

        adapter = await ask(
            server, server.news, server.bob, "When does the Old Harbor bridge reopen?"
        )
        assert "Monday" in adapter.calls[-1][2]["content"]  # answers see the new article at once

        # Half the index gone at once: nothing removed without the admin's prune:true.
        (fresh_articles / "second.txt").unlink()
        adapter = await reindex(server, server.bob, discord.Permissions(manage_guild=True))
        report = adapter.calls[-1][2]["content"]
        assert "0 added, 0 updated, 0 removed, 1 unchanged" in report
        assert "⚠️ 1 of the 2 articles in the index (50%) is no longer in the article " in report
        assert "if it was deleted on purpose, run /reindex prune:true." in report
        adapter = await reindex(
            server, server.bob, discord.Permissions(manage_guild=True), prune=True
        )
        report = adapter.calls[-1][2]["content"]
        assert "0 added, 0 updated, 1 removed, 1 unchanged" in report
        assert "1 article in the index" in report and "⚠️" not in report
    finally:
        await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_reindex_while_another_writer_runs_is_a_friendly_reply(
    embedder: Embedder, tmp_path: Path, fresh_articles: Path
) -> None:
    settings = make_settings(tmp_path / "index")
    server = await start_server(build_service(settings, embedder=embedder), tmp_path)
    try:
        with writer_lock(settings):  # another `newsbot index` holds the lock
            adapter = await reindex(server, server.bob, discord.Permissions(manage_guild=True))
        content = adapter.calls[-1][2]["content"]
        assert "being updated by another process" in content
    finally:
        await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_an_unexpected_error_is_logged_and_answered_politely(
    server: Server, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(server.bot.service, "ask", broken)
    adapter = await ask(server, server.news, server.alice, QUESTION)
    content = adapter.calls[-1][2]["content"]
    assert content.startswith("⚠️ Something went wrong on my side")
    assert "disk on fire" not in content
    (record,) = [r for r in caplog.records if r.name == "bot.frontends.discord_bot.errors"]
    assert record.exc_info is not None and "disk on fire" in str(record.exc_info[1])
    assert server.bot.limit.active == 0
