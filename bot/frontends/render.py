"""Showing answers, build reports and status to a person (rich) or a script (JSON)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.answering.answer import Answer, Citation, SourcePassage
from bot.text import plural, shorten

if TYPE_CHECKING:  # the build's modules (ftfy, the readers) are not imported to print an answer
    from index.arrivals import IntakeReport
    from index.build import BuildReport, RestoreReport

_STATUS_STYLE = {
    "added": "green",
    "updated": "green",
    "duplicate": "yellow",
    "failed": "red",
    "read": "cyan",
}


def source_line(c: Citation) -> str:
    parts = [c.title or "(untitled)"]
    if c.section:
        parts.append(c.section)
    if c.published:
        parts.append(c.published)
    if c.url:
        parts.append(c.url)
    if c.other_urls:
        parts.append("also at " + ", ".join(c.other_urls))
    return " · ".join(parts)


def print_answer(console: Console, answer: Answer) -> None:
    short = answer.short_answer
    if short is not None and "\n" in answer.answer:  # the short answer is the first line
        first, rest = answer.answer.split("\n", 1)
        console.print(
            f"[bold]{escape(short.text)}[/bold]{escape(first[len(short.text) :])}", highlight=False
        )
        console.print(escape(rest))
    else:
        console.print(escape(answer.answer))
    if answer.note:  # language-model answers: fallback or verification note
        console.print(f"[yellow]{escape(answer.note)}[/yellow]", highlight=False)
    if answer.as_of:
        console.print(f"[dim]As of {answer.as_of} (the newest cited article).[/dim]")
    shown = answer.citations if answer.found else answer.passages
    if not shown:
        return
    console.print()
    console.print("[bold]Sources[/bold]" if answer.found else "[bold]Closest passages[/bold]")
    for c in shown:
        quote = shorten(c.quote)
        console.print(f"[{c.n}] {escape(source_line(c))}", style="cyan", highlight=False)
        console.print(f"    “{escape(quote)}”", highlight=False)


def print_sources(console: Console, answer: Answer, sources: list[SourcePassage]) -> None:
    """The whole passages behind an answer, each quote in bold where it stands in its passage."""
    kind = "Passages behind" if answer.found else "Closest passages to"
    console.print(f"[bold]{kind} the answer to “{escape(answer.question)}”[/bold]")
    for source in sources:
        c = source.citation
        console.print()
        console.print(f"[{c.n}] {escape(source_line(c))}", style="cyan", highlight=False)
        before, quote, after = source.parts
        if source.same_as is not None:
            before = f"(in the passage of [{source.same_as}]) "
        console.print(
            f"{escape(before)}[bold]{escape(quote)}[/bold]{escape(after)}", highlight=False
        )


class StreamView:
    """Shows a language model's answer as it is written, on a terminal; on exit the streamed
    text is cleared so the verified answer printed next replaces it. ``push`` may be called from
    a worker thread."""

    def __init__(self, console: Console) -> None:
        from rich.live import Live
        from rich.text import Text

        self._text = Text
        self._live = Live(console=console, transient=True, refresh_per_second=12)

    def __enter__(self) -> StreamView:
        self._live.start()
        return self

    def push(self, text: str) -> None:
        self._live.update(self._text(text, style="dim"))

    def __exit__(self, *exc: object) -> None:
        self._live.stop()


def print_json(console: Console, data: Any) -> None:
    console.print_json(json.dumps(data, ensure_ascii=False))


def print_report(console: Console, report: BuildReport) -> None:
    for problem in report.problems:
        console.print(f"[yellow]warning:[/yellow] {escape(str(problem))}", highlight=False)
    kind = "full rebuild" if report.full else "incremental"
    console.print(
        f"Indexed ({kind}): {report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; {plural(report.chunks_written, 'chunk')} written; "
        f"{plural(report.articles, 'article')} in the index; {report.seconds:.2f} s"
    )
    if report.held_back:
        note = report.held_back_note("run `newsbot index --prune`")
        console.print(f"[yellow]warning:[/yellow] {escape(note)}", highlight=False)
        for source in report.held_back[:10]:
            console.print(f"  not removed: {escape(source)}", highlight=False)
        if len(report.held_back) > 10:
            console.print(f"  …and {len(report.held_back) - 10} more", highlight=False)


def print_restore(console: Console, report: RestoreReport, retention_days: float) -> None:
    if report.removed_at is None:
        console.print(
            f"Nothing to restore: no update removed articles in the last {retention_days:g} days "
            "(NEWSBOT_REMOVED_RETENTION_DAYS)."
        )
        return
    when = datetime.fromtimestamp(report.removed_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    n = len(report.restored)
    console.print(
        f"Restored {plural(n, 'article')} removed on {when}"
        + (f" ({report.already} already back in the index)" if report.already else "")
        + f"; {plural(report.articles, 'article')} in the index; {report.seconds:.2f} s",
        highlight=False,
    )
    for title in report.restored[:10]:
        console.print(f"  {escape(title)}", highlight=False)
    if n:
        console.print(
            "Their files are not put back: fix the folder settings (or put the files back) "
            "before the next update, or it will want to remove them again.",
            highlight=False,
        )


def print_intake(console: Console, report: IntakeReport) -> None:
    """One line per feed and per article fetched, a total, then what the index did."""
    for item in [*report.feeds, *report.articles]:
        style = _STATUS_STYLE.get(item.status, "dim")
        label = "feed " if item in report.feeds else ""
        detail = f": {item.detail}" if item.detail else ""
        console.print(
            f"[{style}]{item.status:>9}[/{style}] {label}{escape(item.url)}{escape(detail)}",
            highlight=False,
        )
    counts = report.counts()
    total = sum(counts.values())
    console.print(
        f"{plural(total, 'address', 'addresses')}: {counts['added']} added, "
        f"{counts['updated']} updated, {counts['duplicate']} same story as one already stored, "
        f"{counts['known'] + counts['unchanged']} already indexed, {counts['failed']} failed; "
        f"{report.seconds:.2f} s"
    )
    if report.build is not None:
        print_report(console, report.build)


def print_status(console: Console, status: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    for key, value in status.items():
        table.add_row(key.replace("_", " "), escape("none yet" if value is None else str(value)))
    console.print(table)
