"""Feeds, dedupe and `newsbot add`, over real HTTP on 127.0.0.1 into a real Chroma index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.answering.service import build_service, build_store
from bot.frontends.cli import app
from bot.settings import Settings
from index.arrivals import add
from index.build import build_index
from index.dedupe import clean_url, minhash, similarity, text_fingerprint, url_key
from index.embedding import Embedder
from index.feeds import FeedCache, parse_feed, read_feed
from index.fetch import Fetcher, FetchError
from index.library import Library
from tests.conftest import LOOPBACK, make_settings
from tests.newsserver import (
    BRIDGE,
    PLAIN,
    STORM,
    STORM_COPY,
    STORM_UPDATE,
    NewsServer,
    article_html,
    atom,
    rss,
    serve,
)


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with serve() as server:
        yield server


def feed_settings(tmp_path: Path, **extra: object) -> Settings:
    (tmp_path / "articles").mkdir(exist_ok=True)
    return make_settings(tmp_path, fetch_timeout=1.0, **extra)


def manifest(settings: Settings) -> dict[str, tuple[str, str, str]]:
    store = build_store(settings)
    meta = store.meta()
    assert meta is not None
    return {
        r.title: (r.published, r.url, r.source) for r in store.manifest(meta.generation).values()
    }


# -- dedupe -----------------------------------------------------------------------------------------
def test_urls_compare_without_tracking_scheme_or_www() -> None:
    assert clean_url("HTTPS://WWW.Example.com:443/a/b?utm_source=x&id=3&fbclid=y#top") == (
        "https://www.example.com/a/b?id=3"
    )
    assert url_key("http://example.com/a/b/?id=3") == url_key("https://www.example.com/a/b?id=3")
    assert url_key("https://example.com/a/b") != url_key("https://example.com/a/c")
    assert url_key("http://127.0.0.1:8080/x") == "127.0.0.1:8080/x"


def test_fingerprint_and_near_duplicates() -> None:
    story, copy, update = " ".join(STORM), " ".join(STORM_COPY), " ".join(STORM_UPDATE)
    assert text_fingerprint(story) == text_fingerprint(story.upper().replace(",", " ,"))
    assert text_fingerprint(story) != text_fingerprint(copy)
    assert similarity(minhash(story), minhash(story)) == 1.0
    assert similarity(minhash(story), minhash(copy)) >= 0.6  # a republished copy with edits
    assert similarity(minhash(story), minhash(update)) < 0.2  # the same event, a new story
    assert similarity(minhash(story), minhash(" ".join(BRIDGE))) < 0.05


# -- feeds ------------------------------------------------------------------------------------------
def test_parse_rss_atom_and_malformed() -> None:
    feed = parse_feed(
        rss(
            "Daily",
            [
                ("Bridge", "http://x/b", "Tue, 04 Mar 2025 08:00:00 GMT"),
                ("Comet", "http://x/c", None),
            ],
        ).encode(),
        "http://x/rss",
    )
    assert [(e.link, e.published) for e in feed.entries] == [
        ("http://x/b", "2025-03-04"),
        ("http://x/c", None),
    ]
    feed = parse_feed(
        atom("Wire", [("Storm", "http://y/s", "2025-03-03T12:00:00Z")]).encode(), "http://y/atom"
    )
    assert [(e.link, e.published, e.title) for e in feed.entries] == [
        ("http://y/s", "2025-03-03", "Storm")
    ]
    for bad in (b"<rss><channel><item><title>broken", b"<html><body>Hello</body></html>", b""):
        with pytest.raises(FetchError, match="not an RSS or Atom feed"):
            parse_feed(bad, "http://z/feed")


def test_unchanged_feed_is_not_downloaded_again(news: NewsServer) -> None:
    url = news.raw(
        "/etag.xml", rss("Daily", [("B", "http://x/b", None)]).encode(), "application/rss+xml"
    )
    news.routes["/etag.xml"].headers["ETag"] = '"v1"'
    cache = FeedCache()
    with Fetcher(timeout=2, allow_hosts=[LOOPBACK]) as fetcher:
        assert len(read_feed(fetcher, url, cache).entries) == 1
        again = read_feed(fetcher, url, cache)
    assert again.not_modified and again.entries == []


# -- add: feeds and pages into the index ------------------------------------------------------------
def serve_site(news: NewsServer) -> tuple[str, str]:
    news.page(
        "/a/bridge",
        article_html(
            "Council approves Mill River bridge", BRIDGE, published="2025-03-04", author="Jane Roe"
        ),
    )
    news.page(
        "/a/storm", article_html("Storm kills 12 in Westmarch", STORM, published="2025-03-03")
    )
    news.page("/b/storm-copy", article_html("Deadly storm hits coast", STORM_COPY))
    news.page("/a/comet", article_html("Comet spotted", PLAIN))
    news.page("/a/slow", article_html("Slow", PLAIN), delay=3.0)
    rss_url = news.raw(
        "/rss.xml",
        rss(
            "Daily",
            [
                ("Bridge", news.url("/a/bridge"), "Tue, 04 Mar 2025 09:00:00 GMT"),
                ("Storm", news.url("/a/storm"), "Mon, 03 Mar 2025 07:00:00 GMT"),
                ("Comet", news.url("/a/comet"), "Wed, 05 Mar 2025 10:00:00 GMT"),
                ("Gone", news.url("/a/missing"), None),
                ("Slow", news.url("/a/slow"), None),
            ],
        ).encode(),
        "application/rss+xml",
    )
    atom_url = news.raw(
        "/atom.xml",
        atom(
            "Wire",
            [
                ("Deadly storm hits coast", news.url("/b/storm-copy"), "2025-03-03T12:00:00Z"),
                ("Bridge", news.url("/a/bridge?utm_source=atom"), "2025-03-04T09:00:00Z"),
            ],
        ).encode(),
        "application/atom+xml",
    )
    return rss_url, atom_url


@pytest.mark.slow
def test_add_feeds_dedupes_reports_failures_and_indexes(
    news: NewsServer, tmp_path: Path, embedder: Embedder
) -> None:
    settings = feed_settings(tmp_path)
    rss_url, atom_url = serve_site(news)

    report = add(settings, feeds=[rss_url, atom_url], embedder=embedder)
    status = {a.url.removeprefix(news.base): (a.status, a.detail) for a in report.articles}
    assert status["/a/bridge"][0] == "added" and status["/a/storm"][0] == "added"
    assert status["/a/comet"][0] == "added"
    assert status["/a/missing"] == ("failed", "HTTP 404 Not Found")
    assert status["/a/slow"][0] == "failed" and "timed out" in status["/a/slow"][1]
    assert (
        status["/b/storm-copy"][0] == "duplicate" and "Storm kills 12" in status["/b/storm-copy"][1]
    )
    assert status["/a/bridge?utm_source=atom"][0] == "known"
    assert [f.status for f in report.feeds] == ["read", "read"]
    assert {f.url for f in report.failures} == {news.url("/a/missing"), news.url("/a/slow")}
    assert report.build is not None and report.build.added == 3

    indexed = manifest(settings)
    assert set(indexed) == {
        "Council approves Mill River bridge",
        "Storm kills 12 in Westmarch",
        "Comet spotted",
    }
    assert indexed["Council approves Mill River bridge"][0] == "2025-03-04"  # page metadata
    assert indexed["Comet spotted"][0] == "2025-03-05"  # no metadata: the feed entry's date
    library = Library(settings.fetched_dir)
    storm = library.find_url(news.url("/b/storm-copy"))
    assert storm is not None and storm.title == "Storm kills 12 in Westmarch"
    assert set(storm.urls) == {news.url("/a/storm"), news.url("/b/storm-copy")}  # every source kept
    answer = build_service(settings, embedder=embedder).ask(
        "How many people did the storm in Westmarch kill?"
    )
    cited = [c for c in answer.citations if c.title == "Storm kills 12 in Westmarch"]
    assert cited and {cited[0].url, *cited[0].other_urls} == set(storm.urls)  # cited everywhere

    # Polling again fetches no article: every entry is already indexed.
    before = len(news.requests)
    again = add(settings, feeds=[rss_url, atom_url], embedder=embedder)
    pages = [p for p in news.requests[before:] if not p.endswith(".xml")]
    assert sorted(pages) == ["/a/missing", "/a/slow"]  # only the failures are tried again
    assert again.build is None and again.counts()["known"] == 5

    # The same text at a third address is recognised exactly; a changed page is updated.
    news.page("/c/storm", article_html("Westmarch storm", STORM))
    news.page(
        "/a/bridge",
        article_html(
            "Council approves Mill River bridge",
            [*BRIDGE, "Work starts in April."],
            published="2025-03-04",
        ),
    )
    third = add(settings, [news.url("/c/storm"), news.url("/a/bridge")], embedder=embedder)
    first = third.articles[0]
    assert (first.status, first.detail.split(" as ")[0]) == (
        "duplicate",
        "same text",
    )
    assert third.articles[1].status == "updated"
    # updated: the bridge page, and the storm story, which gained a third address to cite
    assert third.build is not None and (third.build.added, third.build.updated) == (0, 2)
    assert Library(settings.fetched_dir).find_url(news.url("/c/storm")) is not None

    # A malformed feed and a page that is not a feed fail alone; nothing indexed is lost.
    bad = news.raw("/bad.xml", b"<rss><channel><item><title>broken", "application/rss+xml")
    html = news.page("/not-a-feed", article_html("Home", PLAIN))
    broken = add(settings, feeds=[bad, html], embedder=embedder)
    assert [(f.status, f.detail.split(" (")[0]) for f in broken.feeds] == [
        ("failed", "not an RSS or Atom feed"),
        ("failed", "not an RSS or Atom feed"),
    ]
    assert len(manifest(settings)) == 3

    # A rebuild from the files alone (into a new store) reproduces the index.
    fresh = make_settings(
        tmp_path,
        data_dir=tmp_path / "fresh",
        article_dirs=[tmp_path / "articles", settings.fetched_dir],
    )
    rebuilt = build_index(fresh, embedder=embedder)
    assert rebuilt.added == 3 and rebuilt.problems == []
    assert manifest(fresh) == indexed


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "articles").mkdir()
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(tmp_path / "articles"))
    monkeypatch.setenv("NEWSBOT_FETCH_TIMEOUT", "1")
    from bot.settings import get_settings

    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.slow
def test_cli_add(news: NewsServer, cli_env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["add"])
    assert result.exit_code == 2 and "nothing to add" in result.output

    good = news.page(
        "/a/bridge",
        article_html("Council approves Mill River bridge", BRIDGE, published="2025-03-04"),
    )
    result = runner.invoke(app, ["add", good, news.url("/a/missing"), "not-a-url"])
    assert result.exit_code == 1, result.output  # something failed; the rest still went in
    assert f"added {good}: Council approves Mill River bridge" in " ".join(result.output.split())
    assert f"failed {news.url('/a/missing')}: HTTP 404 Not Found" in result.output
    assert "not-a-url: not a web address" in result.output
    assert "3 addresses: 1 added, 0 updated, 0 same story as one already stored, " in result.output
    assert "0 already indexed, 2 failed" in result.output

    result = runner.invoke(app, ["add", good, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["counts"] == {"unchanged": 1} and data["index"] is None

    result = runner.invoke(app, ["status", "--json"])
    assert json.loads(result.output)["articles"] == 1
    # `newsbot index` keeps the fetched articles: their folder is always read.
    result = runner.invoke(app, ["index", "--json"])
    assert json.loads(result.output)["articles"] == 1
