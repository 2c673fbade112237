"""The watch loop and freshness: new feed entries and files are indexed, removed files pruned, and a
running answer service sees the changes without a restart."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.answering.service import build_service, build_store
from bot.frontends.cli import app
from index.arrivals import add
from index.build import build_index
from index.embedding import Embedder
from index.watch import Cycle, Watcher, watch
from tests.conftest import SEED_FILE, make_settings
from tests.newsserver import BRIDGE, PLAIN, STORM, NewsServer, article_html, rss, serve


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with serve() as server:
        yield server


def titles(settings) -> set[str]:  # type: ignore[no-untyped-def]
    store = build_store(settings)
    meta = store.meta()
    return {r.title for r in store.manifest(meta.generation).values()} if meta else set()


def feed_of(news: NewsServer, paths: list[str]) -> bytes:
    items = [(p, news.url(p), "Tue, 04 Mar 2025 09:00:00 GMT") for p in paths]
    return rss("Daily", items).encode()


@pytest.mark.slow
def test_running_service_answers_from_an_article_added_after_it_started(
    news: NewsServer, tmp_path: Path, embedder: Embedder
) -> None:
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED_FILE, tmp_path / "articles" / "seed.txt")
    settings = make_settings(tmp_path, fetch_timeout=2.0)
    build_index(settings, embedder=embedder)
    service = build_service(settings, embedder=embedder)  # the REPL / bot, already running
    question = "How much will the Mill River bridge cost?"
    before = service.ask(question)
    assert not before.found
    revision = service.searcher.snapshot().meta.revision

    url = news.page(
        "/bridge",
        article_html("Council approves Mill River bridge", BRIDGE, published="2025-03-04"),
    )
    report = add(settings, [url], embedder=embedder)  # another process would do the same
    assert report.build is not None and report.build.added == 1

    after = service.ask(question)
    assert service.searcher.snapshot().meta.revision == revision + 1  # it noticed and reloaded
    assert after.found and after.citations[0].title == "Council approves Mill River bridge"
    assert "45 million dollars" in after.answer and after.as_of == "2025-03-04"


@pytest.mark.slow
def test_watch_cycles_pick_up_feed_entries_and_files_and_prune(
    news: NewsServer, tmp_path: Path, embedder: Embedder
) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    news.page("/storm", article_html("Storm kills 12 in Westmarch", STORM, published="2025-03-03"))
    news.page("/comet", article_html("Comet spotted", PLAIN, published="2025-03-05"))
    feed = news.raw("/rss.xml", feed_of(news, ["/storm", "/gone"]), "application/rss+xml")
    settings = make_settings(tmp_path, fetch_timeout=2.0, feeds=[feed])
    watcher = Watcher(settings, build_store(settings), embedder)
    try:
        first = watcher.cycle()
        assert titles(settings) == {"Storm kills 12 in Westmarch"}
        summary = first.summary()
        assert "cycle 1; feeds 1/1 read; articles 1 new, 0 changed" in summary
        assert "1 failed; index 1 added, 0 updated, 0 removed, 1 article;" in summary

        # A new entry in the feed and a new file in a folder both arrive in the next cycle;
        # the dead link is not fetched again.
        news.raw("/rss.xml", feed_of(news, ["/storm", "/gone", "/comet"]), "application/rss+xml")
        shutil.copy(SEED_FILE, articles / "seed.txt")
        second = watcher.cycle()
        assert titles(settings) == {
            "Storm kills 12 in Westmarch",
            "Comet spotted",
            "Sheinbaum REJECTS Trump’s Proposal – Wow!",
        }
        assert second.intake.counts()["added"] == 1 and second.build is not None
        assert (
            second.build.added == 2 and news.fetched("/gone") == 1 and news.fetched("/storm") == 1
        )

        # A removed file is pruned once it is a small share of the index (here, one of six,
        # with NEWSBOT_PRUNE_MAX_SHARE at 0.2); an unchanged cycle changes nothing.
        for name in ("a", "b", "c"):
            (articles / f"{name}.txt").write_text(f"Story {name}\n\nA short story {name}.\n")
        assert watcher.cycle().build.added == 3  # type: ignore[union-attr]
        (articles / "seed.txt").unlink()
        third = watcher.cycle()
        assert third.build is not None and third.build.removed == 1
        assert "Sheinbaum REJECTS Trump’s Proposal – Wow!" not in titles(settings)
        fourth = watcher.cycle()
        assert fourth.build is not None and not fourth.build.changed
        assert "articles 0 new, 0 changed, 0 duplicates, 2 already indexed" in fourth.summary()
        assert "index 0 added, 0 updated, 0 removed, 5 articles" in fourth.summary()
    finally:
        watcher.close()


def test_watch_loop_stops_when_asked(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "articles").mkdir()
    settings = make_settings(tmp_path)
    watcher = Watcher(settings, build_store(settings), embedder)
    seen: list[Cycle] = []

    def on_cycle(cycle: Cycle) -> None:
        seen.append(cycle)
        if len(seen) == 3:
            watcher.stop.set()

    started = time.monotonic()
    watch(watcher, 0.01, on_cycle)
    assert [c.number for c in seen] == [1, 2, 3] and time.monotonic() - started < 30
    assert all(c.error is None for c in seen)


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_watch_command_stops_cleanly_on_signals(
    news: NewsServer, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    (tmp_path / "articles").mkdir()
    feed = news.raw("/rss.xml", feed_of(news, []), "application/rss+xml")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "NEWSBOT_DATA_DIR": str(tmp_path / "data"),
        "NEWSBOT_ARTICLE_DIRS": str(tmp_path / "articles"),
        "NEWSBOT_FEEDS": feed,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.frontends.cli", "watch", "--interval", "60"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the first cycle's summary
        assert "cycle 1; feeds 1/1 read" in line
        process.send_signal(stop_signal)
        _, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    assert "Watching 1 feed and 1 folder every 60 s" in errors and "Stopped." in errors
    assert "Traceback" not in errors


def test_watch_once_from_the_cli(
    news: NewsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "articles").mkdir()
    feed = news.raw("/rss.xml", b"<html>not a feed</html>", "text/html")
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(tmp_path / "articles"))
    monkeypatch.setenv("NEWSBOT_FEEDS", feed)
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["watch", "--once"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "cycle 1; feeds 0/1 read" in result.output and "Stopped." in result.output


def test_watch_and_add_index_at_a_lower_cpu_priority_than_answering(
    news: NewsServer,
    tmp_path: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On 2 cores, an update embedding arrivals took the CPU a running bot answers with; the
    update's thread runs NEWSBOT_UPDATE_NICE levels lower (and answering's is left as it was)."""
    import threading

    from index import arrivals
    from index.priority import priority

    (tmp_path / "articles").mkdir()
    settings = make_settings(tmp_path, fetch_timeout=2.0, update_nice=7)
    base = priority()
    expected = min(19, base + 7)
    seen: list[int] = []
    real = arrivals.build_index

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(priority())
        return real(*args, **kwargs)

    monkeypatch.setattr(arrivals, "build_index", spy)
    url = news.page("/bridge", article_html("Council approves Mill River bridge", BRIDGE))
    # in a thread of its own, as a bot runs it: a priority that cannot be raised again stays
    # with that thread
    adding = threading.Thread(target=add, args=(settings, [url]), kwargs={"embedder": embedder})
    adding.start()
    adding.join(120)
    assert seen == [expected]

    watcher = Watcher(settings, build_store(settings), embedder)
    cycles: list[int] = []

    def on_cycle(cycle: Cycle) -> None:
        cycles.append(priority())
        watcher.stop.set()

    watching = threading.Thread(target=watch, args=(watcher, 0.01, on_cycle))
    watching.start()
    watching.join(120)
    assert cycles == [expected]
    assert priority() == base
