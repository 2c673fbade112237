"""Showing the digest, a comparison of outlets and followed topics in a terminal (rich)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from bot.frontends.render import source_line
from bot.text import plural

if TYPE_CHECKING:
    from bot.news.compare import Comparison
    from bot.news.digest import Digest
    from bot.news.follow import Follow


def print_digest(console: Console, digest: Digest) -> None:
    if not digest.entries:
        console.print(escape(digest.empty_text()), highlight=False)
        return
    stories = len(digest.entries) + digest.left_out
    console.print(
        f"[bold]Digest[/bold] {escape(digest.window_text())}: "
        f"{plural(stories, 'story', 'stories')} from {plural(digest.articles, 'article')}",
        highlight=False,
    )
    for number, entry in enumerate(digest.entries, 1):
        console.print()
        outlets = len(entry.outlets)
        console.print(
            f"[bold]{number}. {escape(entry.headline)}[/bold] ({plural(outlets, 'outlet')})",
            highlight=False,
        )
        for c in entry.quotes:
            console.print(f"   “{escape(c.quote)}” [{c.n}]", highlight=False)
        for c in entry.quotes[:1]:
            console.print(f"   [{c.n}] {escape(source_line(c))}", style="cyan", highlight=False)
        if entry.also:
            also = "; ".join(
                " · ".join(p for p in (a.outlet, a.published or "", a.url or "") if p)
                for a in entry.also
            )
            console.print(f"   also covered by: {escape(also)}", highlight=False)
    if digest.left_out:
        console.print(
            f"\n… and {digest.left_out} more (NEWSBOT_DIGEST_MAX_STORIES).", highlight=False
        )


def print_comparison(console: Console, comparison: Comparison) -> None:
    console.print(f"[bold]{escape(comparison.headline())}[/bold]", highlight=False)
    if comparison.note:
        console.print(escape(comparison.note), highlight=False)
    if comparison.shared:
        console.print("\n[bold]What they all state[/bold]")
        for claim in comparison.shared:
            refs = " ".join(f"[{c.n}]" for c in claim.quotes)
            console.print(f" • “{escape(claim.quotes[0].quote)}” {refs}", highlight=False)
            console.print(f"   in {escape(', '.join(claim.outlets))}", style="dim", highlight=False)
    if comparison.differences:
        console.print("\n[bold]Where they differ[/bold]")
        for difference in comparison.differences:
            console.print(f" • {escape(difference.label())}", highlight=False)
            for side in difference.sides:
                when = f", {side.citation.published}" if side.citation.published else ""
                console.print(
                    f"   {escape(side.outlet)}{escape(when)}: “{escape(side.value)}” — "
                    f"“{escape(side.citation.quote)}” [{side.citation.n}]",
                    highlight=False,
                )
    elif comparison.articles and len(comparison.outlets) > 1:
        console.print("\nNo differing figures, dates, sources or names found.")
    if comparison.citations:
        console.print("\n[bold]Sources[/bold]")
        for c in comparison.citations:
            console.print(f"[{c.n}] {escape(source_line(c))}", style="cyan", highlight=False)


def print_follows(console: Console, follows: list[Follow]) -> None:
    if not follows:
        console.print("No topics are followed.")
        return
    for f in follows:
        console.print(
            f"#{f.id} “{escape(f.topic)}” · server {f.guild_id} · channel {f.channel_id} · "
            f"by {f.user_id} · since {f.created}",
            highlight=False,
        )
