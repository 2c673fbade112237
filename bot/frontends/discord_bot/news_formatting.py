"""Discord messages for the digest, /compare, followed topics: text only, split under the limits.

Article text is escaped (no markdown, no pings); addresses go in ``<…>`` so Discord shows no
previews. Every message is cut by :func:`split_text`, which never breaks a citation or a link.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.frontends.discord_bot.formatting import clip, escape
from bot.frontends.discord_bot.splitter import MESSAGE_LIMIT, split_text
from bot.text import plural

if TYPE_CHECKING:
    from bot.answering.answer import Citation
    from bot.news.compare import Comparison
    from bot.news.digest import Digest
    from bot.news.follow import Delivery, Follow

QUOTE_LIMIT = 400


def _address(url: str | None) -> str:
    if not url or not url.startswith(("http://", "https://")):
        return ""
    return f"<{url.replace('>', '%3E').replace(' ', '%20')}>"


def _source(c: Citation, outlet: str = "") -> str:
    parts = [p for p in (escape(outlet), escape(c.published or ""), _address(c.url)) if p]
    return f"[{c.n}] " + " · ".join(parts)


def pieces(text: str) -> list[str]:
    return split_text(text.strip(), MESSAGE_LIMIT) or [text[:MESSAGE_LIMIT]]


def digest_messages(digest: Digest, title: str = "📰 Digest") -> list[str]:
    if not digest.entries:
        return [f"📭 {escape(digest.empty_text())}"]
    stories = len(digest.entries) + digest.left_out
    lines = [
        f"**{title}** · {escape(digest.window_text())} · "
        f"{plural(stories, 'story', 'stories')} from {plural(digest.articles, 'article')}"
    ]
    for number, entry in enumerate(digest.entries, 1):
        outlets = len(entry.outlets)
        lines.append("")
        lines.append(f"**{number}. {clip(entry.headline, 200)}** — {plural(outlets, 'outlet')}")
        for c in entry.quotes:
            lines.append(f"> “{clip(c.quote, QUOTE_LIMIT)}” [{c.n}]")
        if entry.quotes:
            lines.append(_source(entry.quotes[0], entry.coverage[0].outlet))
        if entry.also:
            also = ", ".join(
                " ".join(p for p in (escape(a.outlet), _address(a.url)) if p) for a in entry.also
            )
            lines.append(f"Also covered by: {also}")
    if digest.left_out:
        lines.append(f"\n… and {digest.left_out} more stories.")
    return pieces("\n".join(lines))


def comparison_messages(comparison: Comparison) -> list[str]:
    lines = [f"**🔎 {clip(comparison.headline(), 250)}**"]
    if comparison.note:
        lines.append(escape(comparison.note))
    if comparison.shared:
        lines.append("")
        lines.append("**What they all state**")
        for claim in comparison.shared:
            refs = " ".join(f"[{c.n}]" for c in claim.quotes)
            lines.append(f"• “{clip(claim.quotes[0].quote, QUOTE_LIMIT)}” {refs}")
    if comparison.differences:
        lines.append("")
        lines.append("**Where they differ**")
        for difference in comparison.differences:
            lines.append(f"• {escape(difference.label())}")
            for side in difference.sides:
                when = f", {side.citation.published}" if side.citation.published else ""
                lines.append(
                    f"  – {escape(side.outlet)}{escape(when)}: **{escape(side.value)}** — "
                    f"“{clip(side.citation.quote, QUOTE_LIMIT)}” [{side.citation.n}]"
                )
    elif len(comparison.outlets) > 1:
        lines.append("")
        lines.append("No differing figures, dates, sources or names found.")
    if comparison.citations:
        lines.append("")
        outlets = {c.n: a.outlets[0] for a in comparison.articles for c in comparison.citations
                   if c.article_id == a.id}  # fmt: skip
        lines.extend(_source(c, outlets.get(c.n, "")) for c in comparison.citations)
    return pieces("\n".join(lines))


def follow_messages(delivery: Delivery) -> list[str]:
    topic = escape(delivery.follow.topic)
    if delivery.merged:
        lines = [f"🔔 **{len(delivery.matches)} new stories on “{topic}”**"]
    else:
        lines = [f"🔔 **New on “{topic}”**"]
    for match in delivery.matches:
        lines.append("")
        lines.append(f"**{clip(match.article.title, 200)}**")
        lines.append(f"> “{clip(match.quote.quote, QUOTE_LIMIT)}”")
        where = [_address(match.article.url) or escape(match.outlets[0])]
        if match.article.published:
            where.insert(0, escape(match.article.published))
        others = [o for o in match.outlets if o != match.outlets[0]]
        if others:
            where.append("also " + ", ".join(escape(o) for o in others))
        lines.append(" · ".join(where))
    return pieces("\n".join(lines))


def following_text(follows: Sequence[Follow]) -> str:
    if not follows:
        return "No topics are followed in this server. Start with /follow TOPIC."
    lines = ["**Followed topics here**"]
    for f in follows:
        lines.append(f"#{f.id} “{escape(f.topic)}” in <#{f.channel_id}> · by <@{f.user_id}>")
    return pieces("\n".join(lines))[0]
