"""The ``newsbot`` command line. Commands are thin: they build services and call the library."""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from bot.errors import ConfigError, InvalidInput, NewsbotError, user_message
from bot.text import plural

if TYPE_CHECKING:
    from bot.settings import Settings

app = typer.Typer(
    help="Ask questions about news articles and get answers with checked citations.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
# Article text is printed as it is: no emoji codes (":x:" stays ":x:"); markup is escaped.
out = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, emoji=False)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
LlmOption = Annotated[
    str | None,
    typer.Option(
        "--llm",
        help="Answer with a language model: extractive (no model), smollm2, "
        "llamacpp:PATH.gguf or provider:model such as openai:gpt-4o-mini (default: NEWSBOT_LLM).",
    ),
]


def _settings(**updates: Any) -> Settings:
    from bot.logs import configure
    from bot.settings import get_settings

    with _user_errors():
        settings = get_settings()
    configure(settings.log_level)
    clean = {k: v for k, v in updates.items() if v is not None}
    return settings.model_copy(update=clean) if clean else settings


@contextmanager
def _streaming(enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """Show a generated answer as it is written when printing to a terminal."""
    if not enabled or not out.is_terminal:
        yield None
        return
    from bot.frontends.render import StreamView

    with StreamView(out) as view:
        yield view.push


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn domain errors into a clean message and exit code instead of a traceback."""
    try:
        yield
    except NewsbotError as error:
        text, code = user_message(error)
        # what lay behind the message, for NEWSBOT_LOG_LEVEL=DEBUG and a bug report
        logging.getLogger("newsbot").debug("the error behind this message", exc_info=error)
        err.print(text, highlight=False)
        raise typer.Exit(code) from None
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
        list[Path] | None,
        typer.Argument(
            help="Article folders to index in place of NEWSBOT_ARTICLE_DIRS, for this run "
            "(fetched articles always count)."
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Re-embed everything, even unchanged articles.")
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Remove missing articles even when they are more than NEWSBOT_PRUNE_MAX_SHARE "
            "of the index, or a whole folder's worth.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Index new and changed articles, prune removed ones (incremental, by content hash).

    Exit code 1 when articles that are no longer in the folders were kept because removing
    them needs --prune; 2 when a folder is missing, unreadable or empty (nothing is changed)."""
    from bot.frontends.render import print_report
    from index.build import build_index

    settings = _settings()
    given = bool(paths)
    if paths:  # articles fetched with `newsbot add` stay indexed, whichever folders are given
        paths = settings.model_copy(update={"article_dirs": paths}).article_folders
    bar, progress = _progress_bar(not as_json and err.is_terminal)
    with _user_errors():
        try:
            report = build_index(settings, paths or None, full=full, prune=prune, progress=progress)
        finally:
            if bar is not None:
                bar.stop()
    if as_json:
        out.print(json.dumps(report.as_dict(), ensure_ascii=False), highlight=False, markup=False)
    else:
        print_report(out, report)
    if report.held_back:
        if as_json:
            err.print(f"warning: {report.held_back_note('run `newsbot index --prune`')}")
        if given:
            err.print(
                "The folders given replace NEWSBOT_ARTICLE_DIRS for this run, so the articles of "
                "the other folders count as missing. To index a folder as well, add it to "
                "NEWSBOT_ARTICLE_DIRS, or give every folder: newsbot index FOLDER FOLDER…",
                highlight=False,
            )
        raise typer.Exit(1)


@app.command()
def restore(as_json: JsonFlag = False) -> None:
    """Undo the last update that removed articles: index them again (no files are needed).

    Removed articles are kept for NEWSBOT_REMOVED_RETENTION_DAYS; each call undoes one more."""
    from bot.frontends.render import print_restore
    from index.build import restore_last

    settings = _settings()
    with _user_errors():
        report = restore_last(settings)
    if as_json:
        out.print(json.dumps(report.as_dict(), ensure_ascii=False), highlight=False, markup=False)
    else:
        print_restore(out, report, settings.removed_retention_days)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    k: Annotated[
        int | None, typer.Option("-k", min=1, help="How many passages to retrieve.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only articles published on or after this date (YYYY-MM-DD)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Only articles published on or before this date (YYYY-MM-DD)."
        ),
    ] = None,
    llm: LlmOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer one question from the indexed articles, with numbered citations."""
    _one_shot()
    from bot.answering.recency import parse_day
    from index.store import Store

    settings = _settings(llm=llm)
    with _user_errors():
        first, last = parse_day(since, "--since"), parse_day(until, "--until")
        store = Store.open(settings)
        meta = store.meta()
        # Chroma's vector index loads beside the imports below and the model's loading; nothing
        # else uses the store until it is done (Store.load_vectors_later)
        loading = store.load_vectors_later(meta)
        from bot.answering.service import build_embedder, build_service
        from bot.frontends.render import print_answer

        embedder = build_embedder(settings, meta=meta)
        embedder.encode(["warm-up"])  # loads the model now, beside the vector index
        loading.join()
        service = build_service(settings, store=store, embedder=embedder)
        with _streaming(service.answerer.streams and not as_json) as on_text:
            answer = service.ask(question, k, since=first, until=last, on_text=on_text)
    if as_json:
        out.print(json.dumps(answer.as_dict(), ensure_ascii=False), highlight=False, markup=False)
    else:
        print_answer(out, answer)
    _leave_now()


@app.command()
def add(
    urls: Annotated[
        list[str] | None, typer.Argument(help="Addresses of web pages with news articles.")
    ] = None,
    feed: Annotated[
        list[str] | None,
        typer.Option("--feed", help="An RSS or Atom feed: fetch every article in it (repeatable)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Fetch articles from the web or from feeds, store them and index them at once."""
    from bot.frontends.render import print_intake
    from index.arrivals import add as add_articles

    settings = _settings()
    with _user_errors():
        if not urls and not feed:
            raise InvalidInput(
                "nothing to add. Give web addresses (newsbot add https://…) "
                "or a feed (newsbot add --feed https://…/rss)."
            )
        report = add_articles(settings, urls or [], feed or [])
    if as_json:
        out.print(json.dumps(report.as_dict(), ensure_ascii=False), highlight=False, markup=False)
    else:
        print_intake(out, report)
    if report.failures:
        raise typer.Exit(1)


@app.command()
def watch(
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval", min=1, help="Seconds between checks (default: NEWSBOT_WATCH_INTERVAL)."
        ),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Check once and exit.")] = False,
) -> None:
    """Keep the index fresh: poll NEWSBOT_FEEDS and the article folders until Ctrl-C."""
    from bot.answering.service import build_embedder, build_store
    from index.watch import Watcher
    from index.watch import watch as watch_loop

    settings = _settings()
    seconds = interval or settings.watch_interval
    with _user_errors():
        watcher = Watcher(settings, build_store(settings), build_embedder(settings))
        feeds = len(settings.feeds)
        err.print(
            f"Watching {plural(feeds, 'feed')} and {plural(len(settings.article_folders), 'folder')} "
            f"every {seconds:g} s. Ctrl-C stops.",
            highlight=False,
        )
        watch_loop(
            watcher,
            seconds,
            lambda cycle: out.print(cycle.summary(), highlight=False),
            max_cycles=1 if once else None,
        )
    err.print("Stopped.")


@app.command()
def repl(llm: LlmOption = None, as_json: JsonFlag = False) -> None:
    """Ask questions interactively (:sources, :help, :quit); reads one question per line from a pipe."""
    from bot.answering.service import build_service
    from bot.frontends import repl as repl_module

    settings = _settings(llm=llm)
    with _user_errors():
        service = build_service(settings)
        repl_module.run(service, out, settings.data_dir / "repl_history", sys.stdin, as_json)


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Show what is indexed: articles, chunks, embedding model, store location."""
    from bot.answering.service import build_store, status_of
    from bot.frontends.render import print_status

    settings = _settings()
    with _user_errors():
        info = status_of(settings, build_store(settings))
    if as_json:
        out.print(json.dumps(info), highlight=False, markup=False)
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
    weeks: Annotated[
        str | None,
        typer.Option("--weeks", help="Only these weekly releases, e.g. 20250110,20250307."),
    ] = None,
    llm: LlmOption = None,
) -> None:
    """Measure retrieval and answer quality on real news questions, against dense and BM25 baselines."""
    from bot.evaluation.dataset import week_names
    from bot.evaluation.run import render_table, run_eval

    settings = _settings()
    with _user_errors():
        if not dataset_dir.is_dir():
            raise InvalidInput(f"{dataset_dir} is not a folder. Point it at a RealTime QA split.")
        chosen = [w.strip() for w in weeks.split(",") if w.strip()] if weeks else None
        known = week_names(dataset_dir)
        unknown = [w for w in chosen or [] if w not in known]
        if unknown:
            example = known[0] if known else "YYYYMMDD"
            raise InvalidInput(
                f"no week {', '.join(unknown)} in {dataset_dir}; "
                f"--weeks takes names of its *_qa.jsonl files, e.g. {example}."
            )
        result = run_eval(
            dataset_dir,
            settings=settings,
            distractors=distractors,
            limit=limit,
            llm=llm,
            weeks=chosen,
        )
    render_table(result, out)
    if json_out:
        json_out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
        out.print(f"wrote {json_out}")


@app.command()
def digest(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Arrivals since this date or time (YYYY-MM-DD[THH:MM], UTC)."),
    ] = None,
    hours: Annotated[
        float | None,
        typer.Option(
            "--hours", help="Arrivals in the last N hours (default: NEWSBOT_DIGEST_HOURS)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The stories that arrived in the index, one entry per story, each quoted and cited."""
    from bot.answering.service import build_store
    from bot.frontends.news_render import print_digest
    from bot.news.digest import build_digest, window

    settings = _settings()
    with _user_errors():
        start, end = window(since, hours, settings.digest_hours)
        result = build_digest(build_store(settings), settings, start, end)
    if as_json:
        out.print(json.dumps(result.as_dict(), ensure_ascii=False), highlight=False, markup=False)
    else:
        print_digest(out, result)


@app.command()
def compare(
    story: Annotated[str, typer.Argument(help="A headline or a question about the story.")],
    as_json: JsonFlag = False,
) -> None:
    """Where outlets differ on one story: what all of them state, and which figures, dates and
    sources they give differently, each with its outlet, date and quote."""
    from bot.answering.service import build_service, clean_question
    from bot.frontends.news_render import print_comparison
    from bot.news.compare import compare_story, find_story

    settings = _settings()
    with _user_errors():
        text = clean_question(story, settings.max_question_chars)
        service = build_service(settings)
        result = compare_story(text, find_story(service.searcher, settings, text))
    if as_json:
        out.print(json.dumps(result.as_dict(), ensure_ascii=False), highlight=False, markup=False)
    else:
        print_comparison(out, result)


follow_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Followed topics: the Discord bot posts new articles that match them.",
    no_args_is_help=True,
)
app.add_typer(follow_app, name="follow")


@follow_app.command("list")
def follow_list(
    guild: Annotated[int | None, typer.Option("--guild", help="Only this server's.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the followed topics (every server's, or one)."""
    from bot.frontends.news_render import print_follows
    from bot.news.follow import FollowStore

    settings = _settings()
    with _user_errors():
        follows = FollowStore.in_data_dir(settings.data_dir).follows(guild)
    if as_json:
        out.print(json.dumps([f.as_dict() for f in follows]), highlight=False, markup=False)
    else:
        print_follows(out, follows)


@follow_app.command("add")
def follow_add(
    topic: Annotated[str, typer.Argument(help="What to follow, e.g. “Westmarch storm”.")],
    guild: Annotated[int, typer.Option("--guild", help="The server's id.")],
    channel: Annotated[int, typer.Option("--channel", help="The channel or thread to post in.")],
    as_json: JsonFlag = False,
) -> None:
    """Follow a topic in a Discord channel (as the bot's operator)."""
    from bot.frontends.news_render import print_follows
    from bot.news.follow import FollowStore

    settings = _settings()
    with _user_errors():
        follow = FollowStore.in_data_dir(settings.data_dir).add(
            guild, channel, 0, topic, limit=settings.follow_max_per_guild
        )
    if as_json:
        out.print(json.dumps(follow.as_dict()), highlight=False, markup=False)
    else:
        print_follows(out, [follow])


@follow_app.command("remove")
def follow_remove(
    which: Annotated[str, typer.Argument(help="The follow's number (see `newsbot follow list`).")],
    guild: Annotated[int, typer.Option("--guild", help="The server's id.")],
) -> None:
    """Stop following a topic."""
    from bot.news.follow import FollowStore

    settings = _settings()
    with _user_errors():
        follows = FollowStore.in_data_dir(settings.data_dir)
        follow = follows.find(guild, which)
        follows.remove(follow, None, may_manage=True)
    out.print(f"No longer following “{follow.topic}”.", highlight=False, markup=False)


@app.command("discord")
def discord_bot() -> None:
    """Run the Discord bot (needs DISCORD_TOKEN and NEWSBOT_DISCORD_GUILD_IDS; see the README)."""
    from bot.frontends.discord_bot import startup_problem

    settings = _settings()
    with _user_errors():
        problem = startup_problem(settings)
        if problem:
            raise ConfigError(problem)
        from bot.answering.service import build_service
        from bot.frontends.discord_bot.client import run

        run(settings, lambda: build_service(settings))


@app.command()
def feedback(
    include_up: Annotated[
        bool, typer.Option("--all", help="Also list answers rated only 👍.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="Show at most N answers.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List answers people rated 👎 in Discord, newest first, with question, answer and sources."""
    from bot.frontends.feedback import FeedbackStore, print_feedback

    settings = _settings()
    with _user_errors():
        rows = FeedbackStore.in_data_dir(settings.data_dir).feedback(include_up, limit)
    if as_json:
        out.print(
            json.dumps([r.as_dict() for r in rows], ensure_ascii=False),
            highlight=False,
            markup=False,
        )
    else:
        print_feedback(out, rows)


# Set by main(), the console script: the process is newsbot's own, and a read-only command may
# end it at once (see _leave_now). Unset when the commands run inside another program (tests).
_OWN_PROCESS = False


def _one_shot() -> None:
    """A process that answers one question and ends (``ask``) does not collect garbage cycles:
    the collector ran some 200 times while it imported Chroma and the answering code (0.05 s
    at 118,000 chunks), and the cycles one question leaves are few."""
    if _OWN_PROCESS:
        gc.disable()


def _leave_now() -> None:
    """End the process of a read-only command (``ask``) as soon as its output is written.
    Tearing the interpreter down (freeing Chroma's vector index, ONNX Runtime and a thousand
    modules) took 0.2 s more at 118,000 chunks, and nothing waits for it: nothing is left to
    write (a catch-up of the keyword index in the background is stopped either way, as a crash
    would stop it: the keyword index takes that, index/keyword.py)."""
    if not _OWN_PROCESS:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(0)


def main() -> None:
    global _OWN_PROCESS
    _OWN_PROCESS = True
    # numpy's OpenBLAS starts a thread per core that spins after each product: on 2 cores that
    # took CPU from Chroma loading its vector index beside the start (docs/benchmarks.md, sixth
    # session). newsbot's products (a question against some thousand vectors) are as fast on
    # one thread, with the same bits. Set before anything imports numpy; a setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    app()


if __name__ == "__main__":
    main()
