"""Answers as Discord messages, load limits, live edits, the error handler and secret redaction."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import replace

import discord
import pytest
from discord import app_commands
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answering.answer import Answer, Citation, SourcePassage
from bot.errors import IndexBusy, IndexEmpty, InvalidQuestion
from bot.frontends.discord_bot import startup_problem
from bot.frontends.discord_bot.access import Access
from bot.frontends.discord_bot.errors import (
    UNEXPECTED,
    NotAllowed,
    RedactSecrets,
    friendly_message,
)
from bot.frontends.discord_bot.formatting import (
    answer_replies,
    escape,
    report_text,
    sources_replies,
    thread_name,
)
from bot.frontends.discord_bot.limits import ConcurrencyLimit, Cooldown
from bot.frontends.discord_bot.splitter import units
from bot.frontends.discord_bot.streaming import LiveEdit
from index.build import BuildReport
from tests.conftest import make_settings

NASTY = st.lists(
    st.sampled_from([*"ab *_`~|>#-[]()@\n😀", "word ", "@everyone", "<@&1234567890123>"]),
    max_size=500,
).map("".join)


def citation(
    n: int, title: str, quote: str, url: str | None = "https://news.example/a"
) -> Citation:
    return Citation(n, "a", title, url, "2025-03-14", "At a Glance", quote, 0, len(quote))


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    count = draw(st.integers(0, 12))
    found = draw(st.booleans())
    cites = [citation(i + 1, draw(NASTY), draw(NASTY)) for i in range(count)]
    text = draw(NASTY) + " " + " ".join(f"[{c.n}]" for c in cites)
    return Answer(
        "q", text, found, citations=cites if found else [], passages=[] if found else cites
    )


def check_message(content: str | None, embeds: list[discord.Embed]) -> None:
    assert content is None or 0 < units(content) <= 2000
    assert len(embeds) <= 10
    assert sum(len(e) for e in embeds) <= 6000
    for embed in embeds:
        assert units(embed.title or "") <= 256
        assert units(embed.description or "") <= 4096
        assert len(embed.fields) <= 25
        for f in embed.fields:
            assert 0 < units(f.name or "") <= 256 and 0 < units(f.value or "") <= 1024


@settings(max_examples=60, deadline=None)
@given(answers())
def test_every_answer_message_is_within_discords_limits(answer: Answer) -> None:
    replies = answer_replies(answer)
    assert replies and replies[0].content
    for reply in replies:
        check_message(reply.content, reply.embeds)
    shown = answer.citations if answer.found else answer.passages
    fields = [f for r in replies for e in r.embeds for f in e.fields]
    assert len(fields) == len(shown)
    for reply in replies:
        for text in [reply.content or ""] + [f.value or "" for e in reply.embeds for f in e.fields]:
            assert "@everyone" not in text and "<@&" not in text


@settings(max_examples=30, deadline=None)
@given(st.lists(NASTY, min_size=1, max_size=6))
def test_sources_messages_are_within_discords_limits(quotes: list[str]) -> None:
    cites = [citation(i + 1, "T" * 300, q * 4) for i, q in enumerate(quotes)]
    replies = sources_replies("why?", [SourcePassage.of(c, None) for c in cites], True)
    for reply in replies:
        check_message(reply.content, reply.embeds)
    described = "".join(e.description or "" for r in replies for e in r.embeds)
    assert len(described) >= sum(len(escape(q * 4).strip()) for q in quotes) - 10 * len(quotes)


@settings(max_examples=30, deadline=None)
@given(NASTY, NASTY, NASTY)
def test_a_source_shows_its_whole_passage_with_the_quote_in_bold(
    before: str, quote: str, after: str
) -> None:
    quote = f"Sheinbaum rejected it {quote}".strip()
    passage = f"{before} {quote} {after}"
    start = 100 + len(before) + 1  # the passage starts at article offset 100
    cited = Citation(1, "a", "T", None, None, "", quote, start, start + len(quote))
    source = SourcePassage.of(cited, passage, 100)
    assert (source.text, passage[source.quote_start : source.quote_end]) == (passage, quote)
    (reply,) = sources_replies("why?", [source], True)
    check_message(reply.content, reply.embeds)
    described = "".join(e.description or "" for e in reply.embeds)
    if units(escape(passage)) < 4000:
        assert f"**{escape(quote)}**" in described
        words = "".join(ch for ch in described if ch.isalnum())
        assert "".join(ch for ch in after if ch.isalnum()) in words  # the passage after it


def test_a_second_quote_of_one_passage_shows_the_quote_and_points_to_the_first() -> None:
    passage = "Sheinbaum rejected the offer. She cited sovereignty. Talks go on."
    first = Citation(1, "a", "T", None, None, "", "Sheinbaum rejected the offer.", 0, 29)
    second = Citation(2, "a", "T", None, None, "", "She cited sovereignty.", 30, 52)
    sources = [
        SourcePassage.of(first, passage),
        replace(SourcePassage.of(second, passage), same_as=1),
    ]
    (reply,) = sources_replies("why?", sources, True)
    one, two = reply.embeds
    assert "Talks go on." in (one.description or "")
    assert two.description == "**She cited sovereignty.**"
    assert two.footer.text is not None and "in the passage of [1]" in two.footer.text


def test_a_source_whose_passage_was_replaced_shows_its_quote() -> None:
    cited = citation(1, "T", "Sheinbaum rejected the offer.")
    assert SourcePassage.of(cited, "A newer version of the story.", 0).text == cited.quote
    assert SourcePassage.of(cited, None).text == cited.quote


def test_answer_with_sources_looks_right() -> None:
    quote = "Sheinbaum emphatically rejected the offer, citing Mexico’s sovereignty " * 6
    answer = Answer(
        "Why?",
        "She rejected it, citing **sovereignty** [1]",
        True,
        citations=[citation(1, "Sheinbaum REJECTS Trump’s Proposal", quote)],
        as_of="2025-03-14",
    )
    (reply,) = answer_replies(answer)
    assert reply.content == r"She rejected it, citing \*\*sovereignty\*\* [1]"
    (embed,) = reply.embeds
    field = embed.fields[0]
    assert field.name == "[1] Sheinbaum REJECTS Trump’s Proposal"
    assert field.value is not None
    meta, quoted = field.value.split("\n")
    assert meta == "2025-03-14 · At a Glance · [link](https://news.example/a)"
    assert quoted.startswith("> “Sheinbaum") and quoted.endswith("…”") and len(quoted) < 320
    assert embed.footer.text is not None and "newest source: 2025-03-14" in embed.footer.text


def test_links_cannot_break_out_of_the_source_line() -> None:
    c = citation(1, "T", "q", url="https://evil.example/a) [click](https://x")
    answer = Answer("q", "a [1]", True, citations=[c])
    value = answer_replies(answer)[0].embeds[0].fields[0].value or ""
    assert "[link](https://evil.example/a%29%20%5Bclick%5D%28https://x)" in value
    c = citation(1, "T", "q", url="javascript:alert(1)")
    value = answer_replies(Answer("q", "a", True, citations=[c]))[0].embeds[0].fields[0].value
    assert value is not None and "javascript" not in value


def test_escape_neutralises_mentions_and_markdown() -> None:
    text = escape("@everyone @here <@123456789012345678> <@&123456789012345678> <#123> # H")
    assert "@everyone" not in text and "@here" not in text
    assert "<@1" not in text and "<@&1" not in text and "<#1" not in text
    assert escape("# Heading").startswith("\\#")
    assert escape("[x](https://a.b)").startswith("\\[")


def test_report_and_thread_name() -> None:
    report = BuildReport(added=2, updated=1, removed=0, unchanged=5, articles=8, seconds=1.25)
    assert report_text(report) == (
        "Index updated: 2 added, 1 updated, 0 removed, 5 unchanged; 0 passages embedded; "
        "8 articles in the index (1.2 s)."
    )
    name = thread_name("Why " * 60)
    assert len(name) <= 100 and name.endswith("…")


def test_cooldown_is_per_user_and_expires() -> None:
    now = [100.0]
    cooldown = Cooldown(10, clock=lambda: now[0])
    assert cooldown.retry_after(1) == 0
    cooldown.start(1)
    now[0] += 4
    assert cooldown.retry_after(1) == pytest.approx(6) and cooldown.retry_after(2) == 0
    now[0] += 6
    assert cooldown.retry_after(1) == 0
    assert Cooldown(0).retry_after(1) == 0


def test_concurrency_limit() -> None:
    limit = ConcurrencyLimit(2)
    assert limit.try_enter() and limit.try_enter() and not limit.try_enter()
    limit.leave()
    assert limit.try_enter()
    with pytest.raises(ValueError):
        ConcurrencyLimit(0)


@pytest.mark.asyncio
async def test_live_edit_shows_the_latest_text_at_most_once_per_interval() -> None:
    shown: list[tuple[float, str]] = []

    async def edit(text: str) -> None:
        shown.append((time.monotonic(), text))

    loop = asyncio.get_running_loop()
    live = LiveEdit(edit, loop, interval=0.2)

    def stream() -> None:  # the answer service, writing from its worker thread
        text = ""
        for word in range(60):
            text += f"w{word} "
            live.push(text)
            time.sleep(0.01)

    await asyncio.to_thread(stream)
    await asyncio.sleep(0.45)
    await live.close()
    assert 2 <= len(shown) <= 6
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(shown)]
    assert all(gap >= 0.18 for gap in gaps)
    assert shown[-1][1].endswith("w59 ")  # the last text pushed was shown
    live.push("late")  # after close nothing is edited
    await asyncio.sleep(0.3)
    assert shown[-1][1].endswith("w59 ")


@pytest.mark.asyncio
async def test_live_edit_waits_out_the_interval_after_the_placeholder() -> None:
    shown: list[str] = []

    async def edit(text: str) -> None:
        shown.append(text)

    live = LiveEdit(edit, asyncio.get_running_loop(), interval=5)
    live.push("the whole answer")  # a quick answerer: done before an edit is due
    await asyncio.sleep(0.05)
    await live.close()
    assert shown == []  # the final answer replaces the placeholder in one edit


def test_friendly_messages(caplog: pytest.LogCaptureFixture) -> None:
    assert "too long" in friendly_message(InvalidQuestion("too long"))
    assert "/reindex" in friendly_message(IndexEmpty("x"))
    assert "another process" in friendly_message(IndexBusy("x"))
    assert friendly_message(NotAllowed("Only admins.")) == "🚫 Only admins."

    async def callback(interaction: discord.Interaction) -> None:
        pass

    command = app_commands.Command(name="x", description="x", callback=callback)
    wrapped = app_commands.CommandInvokeError(command, IndexBusy("x"))
    assert "another process" in friendly_message(wrapped)
    assert not caplog.records
    with caplog.at_level(logging.ERROR):
        assert friendly_message(KeyError("secret detail")) == UNEXPECTED
    assert caplog.records[0].exc_info is not None


def test_secrets_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    token = "MTIz.NDU2.Nzg5-secret-token"
    logger = logging.getLogger("test.redaction")
    caplog.handler.addFilter(RedactSecrets([token, ""]))
    try:
        raise RuntimeError(f"login failed for {token}")
    except RuntimeError:
        logger.exception("could not connect with %s", token)
    assert token not in caplog.text
    assert "[redacted]" in caplog.text


def test_startup_needs_a_token_and_a_place_to_answer(tmp_path: object) -> None:
    settings = make_settings(tmp_path)  # type: ignore[arg-type]
    problem = startup_problem(settings)
    assert problem and "DISCORD_TOKEN" in problem and "developers/applications" in problem
    settings = make_settings(tmp_path, discord_token="abc.def.ghi")  # type: ignore[arg-type]
    problem = startup_problem(settings)
    assert problem and "NEWSBOT_DISCORD_GUILD_IDS" in problem
    settings = make_settings(tmp_path, discord_token="abc", discord_guild_ids=[1])  # type: ignore[arg-type]
    assert startup_problem(settings) is None


def test_access_rules() -> None:
    access = Access(frozenset({1}), frozenset({10}), False, "Editors")
    assert access.where().startswith("in the channels")
    permissions = discord.Permissions(manage_guild=True)
    assert access.may_reindex(None, permissions)
    assert not access.may_reindex(None, discord.Permissions.none())
