"""Message flows with dpytest over the real answer service (Chroma + the packaged model)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest

from bot.answering.service import build_service
from bot.frontends.discord_bot.formatting import PLACEHOLDER
from index.build import build_index
from index.embedding import Embedder
from tests.conftest import SEED_FILE, make_settings
from tests.test_discord_harness import Server, server, start_server

__all__ = ["server"]  # the fixture, imported for pytest

QUESTION = "Why did Sheinbaum reject Trump's offer to send troops?"
NO_PINGS = {"parse": []}


def mention(server: Server, text: str) -> str:
    assert server.bot.user is not None
    return f"<@{server.bot.user.id}> {text}"


def assert_no_pings(server: Server) -> None:
    assert server.payloads, "the bot sent nothing"
    for payload in server.payloads:
        allowed = payload.get("allowed_mentions")
        assert allowed is not None and allowed["parse"] == [], payload
        assert not allowed.get("replied_user") and not allowed.get("users"), payload
        assert not allowed.get("roles"), payload


@pytest.mark.asyncio
async def test_mention_opens_a_thread_with_a_cited_answer(server: Server) -> None:
    question = await dpytest.message(mention(server, QUESTION), server.news, server.alice)

    assert len(server.threads_opened) == 1
    thread = server.threads_opened[0]
    assert thread.id == question.id and thread.parent_id == server.news.id
    assert thread.name.startswith("Why did Sheinbaum reject")
    assert server.bot_messages(server.news) == []  # nothing but the thread in the channel

    (answer,) = server.bot_messages(thread)
    assert answer["content"] != PLACEHOLDER
    assert "sovereignty" in answer["content"].lower() and "[1]" in answer["content"]
    (embed,) = answer["embeds"]
    assert embed["title"] == "Sources"
    first = embed["fields"][0]
    assert first["name"].startswith("[1] Sheinbaum REJECTS")
    assert "> “" in first["value"]
    assert "answered by: extractive" in embed["footer"]["text"]
    assert server.reactions == [(answer["id"], "👍"), (answer["id"], "👎")]
    assert_no_pings(server)

    (stored,) = server.feedback.answers(thread.id)
    assert stored.question == QUESTION and stored.found and stored.sources


@pytest.mark.asyncio
async def test_follow_up_in_the_thread_continues_the_conversation(server: Server) -> None:
    await dpytest.message(mention(server, QUESTION), server.news, server.alice)
    thread = server.threads_opened[0]

    await dpytest.message("What is her security strategy?", thread, server.bob)

    assert len(server.threads_opened) == 1  # no new thread for a follow-up
    _, second = server.feedback.answers(thread.id)
    assert second.question == "What is her security strategy?"
    # "her" leans on the conversation: it was searched together with the earlier question
    assert second.query is not None and "Sheinbaum" in second.query
    assert second.found and "security strategy" in second.answer
    assert len(server.bot_messages(thread)) == 2

    await dpytest.message("", thread, server.bob)  # an image or sticker is not a question
    assert len(server.bot_messages(thread)) == 2


@pytest.mark.asyncio
async def test_chatter_in_a_thread_the_bot_did_not_open_needs_a_mention(server: Server) -> None:
    message = await dpytest.message("let's discuss", server.news, server.alice)
    thread = server.open_thread_as(server.alice, message, "people talking")
    await dpytest.message("What is her security strategy?", thread, server.bob)
    assert server.bot_messages(thread) == []

    await dpytest.message(mention(server, QUESTION), thread, server.bob)  # a mention works there
    (answer,) = server.bot_messages(thread)
    assert "[1]" in answer["content"]
    assert server.threads_opened == []  # answered in the existing thread


@pytest.mark.asyncio
async def test_ignores_other_channels_bots_and_everyone_pings(server: Server) -> None:
    await dpytest.message(mention(server, QUESTION), server.offtopic, server.alice)
    other_bot = server.make_bot_user()
    await dpytest.message(mention(server, QUESTION), server.news, other_bot)
    await dpytest.message(f"@everyone {QUESTION}", server.news, server.alice)
    await dpytest.message(QUESTION, server.news, server.alice)  # no mention at all

    assert server.payloads == []
    assert server.threads_opened == []
    assert dpytest.verify().message().nothing()


@pytest.mark.asyncio
async def test_a_bare_mention_gets_a_hint(server: Server) -> None:
    await dpytest.message(mention(server, "  "), server.news, server.alice)
    assert dpytest.verify().message().contains().content("Ask me a question after the mention")
    assert server.threads_opened == []


@pytest.mark.asyncio
async def test_cooldown_turns_away_a_quick_second_question(
    seed_service: Any, tmp_path: Path
) -> None:
    server = await start_server(seed_service, tmp_path, discord_cooldown_seconds=60)
    try:
        await dpytest.message(mention(server, QUESTION), server.news, server.alice)
        await dpytest.empty_queue()
        await dpytest.message(mention(server, "Who is Ronald Johnson?"), server.news, server.alice)
        reply = dpytest.get_message()
        assert "try again in" in reply.content and "60 s" in reply.content
        assert len(server.threads_opened) == 1  # the second question was not answered

        await dpytest.message(mention(server, "Who is Ronald Johnson?"), server.news, server.bob)
        assert len(server.threads_opened) == 2  # the cooldown is per user
        assert_no_pings(server)
    finally:
        await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_concurrency_limit_asks_the_next_user_to_wait(
    seed_service: Any, tmp_path: Path
) -> None:
    server = await start_server(seed_service, tmp_path, discord_max_concurrent=1)
    try:
        await asyncio.gather(
            dpytest.message(mention(server, QUESTION), server.news, server.alice),
            dpytest.message(mention(server, "Who is Ronald Johnson?"), server.news, server.bob),
        )
        assert len(server.threads_opened) == 1
        busy = [m for m in server.bot_messages(server.news) if "right now" in m["content"]]
        assert len(busy) == 1 and "ask again in a moment" in busy[0]["content"]
        assert server.bot.limit.active == 0  # released after the answer
    finally:
        await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_unanswerable_question_shows_the_closest_passages(server: Server) -> None:
    await dpytest.message(mention(server, "Who won the 2022 World Cup?"), server.news, server.bob)
    (answer,) = server.bot_messages(server.threads_opened[0])
    assert "do not cover" in answer["content"]
    assert answer["embeds"][0]["title"] == "Closest passages"


@pytest.mark.asyncio
async def test_ratings_are_recorded_and_withdrawn(server: Server) -> None:
    await dpytest.message(mention(server, QUESTION), server.news, server.alice)
    thread = server.threads_opened[0]
    answer = await thread.fetch_message(server.bot_messages(thread)[0]["id"])
    assert server.feedback.feedback(include_up=True) == []  # the bot's own reactions don't count

    await dpytest.add_reaction(server.bob, answer, "👎")
    await dpytest.add_reaction(server.alice, answer, "👍")
    await dpytest.add_reaction(server.alice, answer, "🎉")  # not a rating
    (row,) = server.feedback.feedback()
    assert (row.up, row.down) == (1, 1)
    assert row.answer.question == QUESTION and row.answer.model == "extractive"
    assert row.answer.sources[0].title.startswith("Sheinbaum REJECTS")

    await dpytest.remove_reaction(server.bob, answer, "👎")
    assert server.feedback.feedback() == []  # no 👎 left
    assert len(server.feedback.feedback(include_up=True)) == 1


@pytest.mark.asyncio
async def test_direct_messages_are_off_unless_enabled(seed_service: Any, tmp_path: Path) -> None:
    for allow in (False, True):
        server = await start_server(seed_service, tmp_path / str(allow), discord_allow_dms=allow)
        try:
            dm = await server.alice.create_dm()
            await dpytest.message(QUESTION, dm, server.alice)
            sent = server.bot_messages(dm)
            if allow:
                assert len(sent) == 1 and "[1]" in sent[0]["content"]
                assert server.threads_opened == []
            else:
                assert sent == [] and server.payloads == []
        finally:
            await dpytest.empty_queue()


@pytest.mark.asyncio
async def test_an_empty_index_gets_a_friendly_reply(embedder: Embedder, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "empty")
    server = await start_server(build_service(settings, embedder=embedder), tmp_path)
    try:
        await dpytest.message(mention(server, QUESTION), server.news, server.alice)
        (reply,) = server.bot_messages(server.threads_opened[0])
        assert "Nothing is indexed yet" in reply["content"] and "/reindex" in reply["content"]
        assert reply["embeds"] == []
    finally:
        await dpytest.empty_queue()


ARTICLE = (
    (
        "Bridge Reopening Announced\n"
        "The mayor told @everyone at the rally that the Old Harbor bridge reopens on Monday after "
        "repairs, and thanked <@&123456789012345678> and <@234567890123456789> for their patience "
        "with the detour.\n"
    )
    + """Officials said **the detour** will end once inspectors sign off on the _new_ steel supports.
# Not a heading
> not a quote [phishing](https://evil.example/login) ~~gone~~ ||spoiler|| `code`
"""
)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_article_text_cannot_ping_or_break_the_layout(
    embedder: Embedder, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "idx")
    (tmp_path / "idx" / "articles").mkdir(parents=True)
    (tmp_path / "idx" / "articles" / "bridge.txt").write_text(ARTICLE)
    shutil.copy(SEED_FILE, tmp_path / "idx" / "articles" / SEED_FILE.name)
    build_index(settings, embedder=embedder)
    server = await start_server(build_service(settings, embedder=embedder), tmp_path)
    try:
        await dpytest.message(
            mention(server, "When does the Old Harbor bridge reopen after repairs?"),
            server.news,
            server.alice,
        )
        (answer,) = server.bot_messages(server.threads_opened[0])
        text = answer["content"]
        assert "reopens on Monday" in text
        assert "@everyone" not in text and "@\u200beveryone" in text
        assert "<@&123" not in text and "<@234" not in text
        sources = " ".join(f["value"] for f in answer["embeds"][0]["fields"])
        assert "@everyone" not in sources
        assert_no_pings(server)

        await dpytest.message(
            mention(server, "What will end once inspectors sign off on the steel supports?"),
            server.news,
            server.bob,
        )
        (answer,) = server.bot_messages(server.threads_opened[1])
        assert r"\*\*the detour\*\*" in answer["content"]
        assert r"\_new\_" in answer["content"]
        assert_no_pings(server)
    finally:
        await dpytest.empty_queue()


def test_every_message_the_bot_sends_disallows_mentions_by_default() -> None:
    from bot.frontends.discord_bot.client import NewsBot

    bot = NewsBot(make_settings(Path("/nonexistent")), lambda: None)  # type: ignore[arg-type,return-value]
    assert bot.allowed_mentions is not None
    assert bot.allowed_mentions.to_dict() == NO_PINGS
    assert bot.intents.message_content and not bot.intents.members
    assert isinstance(bot.allowed_mentions, discord.AllowedMentions)
