"""Answers, sources, status and build reports as Discord messages and embeds.

Everything that comes from an article or a user passes through :func:`escape`, so article text
cannot change the layout or mention anyone; every length is kept under Discord's limits
(see :mod:`bot.frontends.discord_bot.splitter`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import discord

from bot.answering.answer import Answer, Citation, SourcePassage
from bot.frontends.discord_bot.splitter import (
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_LIMIT,
    EMBED_TOTAL_LIMIT,
    MESSAGE_LIMIT,
    split_text,
    units,
)
from bot.text import plural, shorten
from index.build import BuildReport
from index.clean import remove_invisible

PLACEHOLDER = "🔎 Looking through the articles…"
QUOTE_CHARS = 300  # a source's quoted passage under an answer
EMBED_TITLE_LIMIT = 256
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FOOTER_LIMIT = 2048
MAX_FIELDS = 25
MAX_EMBEDS = 10
COLOUR = discord.Colour.blurple()
NO_MENTIONS = discord.AllowedMentions.none()
_MENTION = re.compile(r"@(everyone|here|[!&]?\d+)")  # like discord.utils.escape_mentions, any id


@dataclass
class Reply:
    """One message to send: text, embeds, or both."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)


def escape(text: str) -> str:
    """Neutralise Discord markdown and mentions (@everyone, @here, roles, users) in ``text``, and
    drop invisible and direction-changing characters, which could reverse what readers see."""
    text = discord.utils.escape_markdown(remove_invisible(text))
    text = _MENTION.sub("@\u200b\\1", text)  # a zero-width space keeps it from pinging
    return re.sub(r"<#(\d)", "<#\u200b\\1", text)  # channel links


def clip(raw: str, limit: int) -> str:
    """``raw`` escaped and shortened so the escaped text fits in ``limit`` units."""
    escaped = escape(" ".join(raw.split()))
    if units(escaped) <= limit:
        return escaped
    low, high = 0, len(raw)
    best = ""
    while low <= high:
        middle = (low + high) // 2
        candidate = escape(shorten(raw, middle))
        if units(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def preview(text: str) -> str:
    """The first message's worth of an answer that is still being written."""
    pieces = split_text(escape(text), MESSAGE_LIMIT - 2)
    if not pieces:
        return PLACEHOLDER
    return pieces[0] + (" …" if len(pieces) > 1 else "")


def _link(url: str | None) -> str:
    if not url or not re.match(r"https?://", url):
        return ""
    safe = quote(url, safe=":/?#@!$&'*+,;=%~-._")
    return f"[link]({safe.replace('(', '%28').replace(')', '%29')})"


def _meta_line(c: Citation) -> str:
    parts = [escape(p) for p in (c.published or "", c.section) if p]
    link = _link(c.url)
    if link:
        parts.append(link)
    also = [link for link in map(_link, c.other_urls) if link]
    if also:
        parts.append("also at " + " ".join(also))
    return " · ".join(parts)


def source_field(c: Citation) -> tuple[str, str]:
    """A citation as an embed field: "[n] title", then date · section · link and the quote."""
    name = f"[{c.n}] " + clip(c.title or "(untitled)", EMBED_FIELD_NAME_LIMIT - 8)
    meta = _meta_line(c)
    budget = EMBED_FIELD_LIMIT - units(meta) - 6
    quote_text = clip(c.quote, min(QUOTE_CHARS, budget))
    value = "\n".join(part for part in (meta, f"> “{quote_text}”") if part)
    return name, value


def _embeds_of_fields(
    title: str, fields: Sequence[tuple[str, str]], footer: str = ""
) -> list[discord.Embed]:
    embeds: list[discord.Embed] = []
    current: discord.Embed | None = None
    for name, value in fields:
        size = units(name) + units(value)
        if (
            current is None
            or len(current.fields) >= MAX_FIELDS
            or len(current) + size > EMBED_TOTAL_LIMIT - units(footer)
        ):
            current = discord.Embed(title=title if not embeds else None, colour=COLOUR)
            embeds.append(current)
        current.add_field(name=name, value=value, inline=False)
    if embeds and footer:
        embeds[-1].set_footer(text=footer)
    return embeds


def pack(embeds: Iterable[discord.Embed]) -> list[list[discord.Embed]]:
    """Group embeds into messages: at most 10 embeds and 6,000 characters in each."""
    groups: list[list[discord.Embed]] = []
    total = 0
    for embed in embeds:
        if not groups or len(groups[-1]) >= MAX_EMBEDS or total + len(embed) > EMBED_TOTAL_LIMIT:
            groups.append([])
            total = 0
        groups[-1].append(embed)
        total += len(embed)
    return groups


def _footer(answer: Answer) -> str:
    parts = [f"answered by: {answer.answerer}"]
    if answer.as_of:
        parts.append(f"newest source: {answer.as_of}")
    parts.append("react 👍 or 👎 to rate this answer")
    return clip(" · ".join(parts), EMBED_FOOTER_LIMIT)


def _attach(texts: list[str], embed_groups: list[list[discord.Embed]]) -> list[Reply]:
    replies = [Reply(content=t) for t in texts]
    for group in embed_groups:
        if replies and not replies[-1].embeds:
            replies[-1].embeds = group
        else:
            replies.append(Reply(embeds=group))
    return replies


def _answer_text(answer: Answer) -> str:
    """The answer as Discord markdown: the short answer, when there is one, in bold on the
    first line."""
    short = answer.short_answer
    if short is None or not answer.answer.startswith(short.text):
        return escape(answer.answer)
    return f"**{escape(short.text)}**{escape(answer.answer[len(short.text) :])}"


def answer_replies(answer: Answer) -> list[Reply]:
    """The answer text, split under the message limit, then its sources as embeds."""
    texts = split_text(_answer_text(answer), MESSAGE_LIMIT) or ["(no answer)"]
    shown = answer.citations if answer.found else answer.passages
    title = "Sources" if answer.found else "Closest passages"
    fields = [source_field(c) for c in shown]
    embeds = _embeds_of_fields(title, fields, _footer(answer)) if fields else []
    return _attach(texts, pack(embeds))


def passage_embeds(source: SourcePassage) -> list[discord.Embed]:
    """A citation's whole passage, its quote in bold: one embed, or several (without the bold)
    when it is longer than 4,096."""
    c, (before, quote, after) = source.citation, source.parts
    text = before + quote + after
    title = f"[{c.n}] " + clip(c.title or "(untitled)", EMBED_TITLE_LIMIT - 20)
    link = c.url if c.url and re.match(r"https?://", c.url) else None
    about = [c.published or "", c.section]
    if source.same_as is not None:  # the passage is shown with that citation: the quote alone
        about.insert(0, f"in the passage of [{source.same_as}]")
    footer = clip(" · ".join(p for p in about if p), 200)
    marked = f"{escape(before)}**{escape(quote)}**{escape(after)}".strip() if quote.strip() else ""
    if marked and units(marked) <= EMBED_DESCRIPTION_LIMIT:
        pieces = [marked]
    else:
        pieces = split_text(escape(text.strip()), EMBED_DESCRIPTION_LIMIT) or ["(empty)"]
    embeds = []
    for i, piece in enumerate(pieces):
        embed = discord.Embed(
            title=title if i == 0 else f"{title} (continued)",
            url=link,
            description=piece,
            colour=COLOUR,
        )
        if footer:
            embed.set_footer(text=footer)
        embeds.append(embed)
    return embeds


def sources_replies(question: str, sources: Sequence[SourcePassage], found: bool) -> list[Reply]:
    """``/sources``: the full passages behind an answer."""
    kind = "Passages behind" if found else "Closest passages to"
    intro = f"{kind} the last answer, to “{clip(question, 300)}”:"
    embeds = [e for s in sources for e in passage_embeds(s)]
    return _attach([intro], pack(embeds))


def stats_embed(status: dict[str, Any], answerer: str) -> discord.Embed:
    embed = discord.Embed(title="What I know", colour=COLOUR)
    embed.add_field(name="Articles", value=f"{status.get('articles', 0):,}")
    embed.add_field(name="Passages", value=f"{status.get('chunks', 0):,}")
    embed.add_field(name="Newest article", value=escape(str(status.get("newest_article") or "—")))
    embed.add_field(name="Embedding model", value=clip(str(status.get("embedding_model")), 200))
    embed.add_field(name="Answers by", value=clip(answerer, 200))
    return embed


def report_text(report: BuildReport) -> str:
    kind = "Full rebuild" if report.full else "Index updated"
    text = (
        f"{kind}: {report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; {plural(report.chunks_written, 'passage')} embedded; "
        f"{plural(report.articles, 'article')} in the index "
        f"({report.seconds:.1f} s)."
    )
    if report.problems:
        shown = "\n".join(f"• {clip(str(p), 300)}" for p in report.problems[:5])
        more = len(report.problems) - 5
        text += f"\n{len(report.problems)} file(s) skipped:\n{shown}"
        if more > 0:
            text += f"\n…and {more} more (see `newsbot index` on the server)."
    if report.held_back:
        text += "\n⚠️ " + report.held_back_note("run /reindex prune:true")
    return split_text(text, MESSAGE_LIMIT)[0]


def thread_name(question: str) -> str:
    """A thread title from the question (threads allow 100 characters, no markdown)."""
    return shorten(remove_invisible(question), 95) or "Question"
