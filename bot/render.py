"""Showing answers, build reports and status to a person (rich) or a script (JSON)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.answer import Answer, Citation
from index.build import BuildReport


def source_line(c: Citation) -> str:
    parts = [c.title or "(untitled)"]
    if c.section:
        parts.append(c.section)
    if c.published:
        parts.append(c.published)
    if c.url:
        parts.append(c.url)
    return " · ".join(parts)


def shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def print_answer(console: Console, answer: Answer, full_quotes: bool = False) -> None:
    console.print(escape(answer.answer))
    shown = answer.citations if answer.found else answer.passages
    if not shown:
        return
    console.print()
    console.print("[bold]Sources[/bold]" if answer.found else "[bold]Closest passages[/bold]")
    for c in shown:
        quote = c.quote if full_quotes else shorten(c.quote)
        console.print(f"[{c.n}] {escape(source_line(c))}", style="cyan", highlight=False)
        console.print(f"    “{escape(quote)}”", highlight=False)


def print_json(console: Console, data: Any) -> None:
    console.print_json(json.dumps(data, ensure_ascii=False))


def print_report(console: Console, report: BuildReport) -> None:
    for problem in report.problems:
        console.print(f"[yellow]warning:[/yellow] {escape(str(problem))}", highlight=False)
    kind = "full rebuild" if report.full else "incremental"
    console.print(
        f"Indexed ({kind}): {report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; {report.chunks_written} chunks written; "
        f"{report.articles} articles in the index; {report.seconds:.2f} s"
    )


def print_status(console: Console, status: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    for key, value in status.items():
        table.add_row(key.replace("_", " "), escape(str(value)))
    console.print(table)
