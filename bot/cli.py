"""The ``newsbot`` command line. Commands are thin: they build services and call the library."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bot.errors import NewsbotError

app = typer.Typer(
    help="Ask questions about news articles and get answers with checked citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]


def _settings(**updates: Any) -> Any:
    from bot.logs import configure
    from bot.settings import get_settings

    settings = get_settings()
    configure(settings.log_level)
    clean = {k: v for k, v in updates.items() if v is not None}
    return settings.model_copy(update=clean) if clean else settings


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn domain errors into a clean message and exit code instead of a traceback."""
    try:
        yield
    except NewsbotError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


def _progress_bar(enabled: bool) -> tuple[Any, Callable[[int, int], None] | None]:
    if not enabled:
        return None, None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("embedding chunks"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("embed", total=None)

    def update(done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    return bar, update


@app.command()
def index(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Article folders (default: NEWSBOT_ARTICLE_DIRS).")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Re-embed everything, even unchanged articles.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Index new and changed articles, prune removed ones (incremental, by content hash)."""
    from bot.render import print_report
    from index.build import build_index

    settings = _settings()
    bar, progress = _progress_bar(not as_json and err.is_terminal)
    with _user_errors():
        try:
            report = build_index(settings, paths or None, full=full, progress=progress)
        finally:
            if bar is not None:
                bar.stop()
    if as_json:
        out.print(json.dumps(report.as_dict(), ensure_ascii=False), highlight=False)
    else:
        print_report(out, report)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    k: Annotated[int | None, typer.Option("-k", help="How many passages to retrieve.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer one question from the indexed articles, with numbered citations."""
    from bot.render import print_answer
    from bot.service import build_service

    settings = _settings()
    with _user_errors():
        answer = build_service(settings).ask(question, k)
    if as_json:
        out.print(json.dumps(answer.as_dict(), ensure_ascii=False), highlight=False)
    else:
        print_answer(out, answer)


@app.command()
def repl(as_json: JsonFlag = False) -> None:
    """Ask questions interactively (:sources, :help, :quit); reads one question per line from a pipe."""
    from bot import repl as repl_module
    from bot.service import build_service

    settings = _settings()
    with _user_errors():
        service = build_service(settings)
        repl_module.run(service, out, settings.data_dir / "repl_history", sys.stdin, as_json)


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Show what is indexed: articles, chunks, embedding model, store location."""
    from bot.render import print_status
    from bot.service import build_store, status_of

    settings = _settings()
    with _user_errors():
        info = status_of(settings, build_store(settings))
    if as_json:
        out.print(json.dumps(info), highlight=False)
    else:
        print_status(out, info)


@app.command("eval")
def evaluate(
    dataset_dir: Annotated[
        Path, typer.Argument(help="A RealTime QA folder (*_qa.jsonl, *_gold.jsonl, *_gcs.jsonl).")
    ],
    distractors: Annotated[
        bool, typer.Option("--distractors", help="Also index the search-result pages.")
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write every figure and per-question rows here.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Only the first N answerable questions.")
    ] = None,
) -> None:
    """Measure retrieval and answer quality on real news questions, against dense and BM25 baselines."""
    from bot.evaluation.run import render_table, run_eval

    settings = _settings()
    if not dataset_dir.is_dir():
        err.print(
            f"[red]error:[/red] {dataset_dir} is not a folder. Point it at a RealTime QA split."
        )
        raise typer.Exit(2)
    with _user_errors():
        result = run_eval(dataset_dir, settings=settings, distractors=distractors, limit=limit)
    render_table(result, out)
    if json_out:
        json_out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
        out.print(f"wrote {json_out}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
