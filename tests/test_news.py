"""The digest, /compare and followed topics, over three news sites on loopback into a real index.

Three outlets are three real HTTP servers on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (all loopback);
the first also serves the feed. Each outlet tells the Westmarch storm in its own words (not copies:
the intake keeps them apart), and one of them counts the dead differently.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.answering.service import build_service, build_store
from bot.frontends.cli import app
from bot.news.compare import compare_story, find_story
from bot.news.digest import build_digest, window
from bot.settings import Settings
from index.arrivals import Intake, add
from index.embedding import Embedder
from index.fetch import Fetcher
from tests.conftest import make_settings
from tests.newsserver import BRIDGE, CAFE, STORM, NewsServer, article_html, rss, serve

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
STORM_B = [
    "At least 12 people were killed when a violent storm struck the coastal province of "
    "Westmarch overnight, officials said on Monday, and thousands of homes lost electricity.",
    "Emergency crews spent the morning clearing roads blocked by fallen trees, while the regional "
    "government opened shelters in schools for families forced from their homes.",
    "Gusts of up to 140 kilometres per hour were recorded near the port of Saltbridge, the "
    "national weather service said, tearing fishing boats from their moorings.",
    "The prime minister promised emergency funds for the province, saying the army would help "
    "restore power lines in the villages hit hardest.",
]
STORM_C = [
    "A storm that battered the coastal province of Westmarch overnight killed 14 people, the "
    "regional fire service said on Monday, leaving thousands of homes without power.",
    "Fallen trees blocked roads across the province and schools were turned into emergency "
    "shelters for displaced families.",
    "The prime minister promised emergency funds and said soldiers would help repair the power "
    "lines in the worst-hit villages.",
]
DATE = "Mon, 03 Mar 2025 09:00:00 GMT"


@dataclass
class Sites:
    outlets: list[NewsServer]
    feed: str

    @property
    def first(self) -> NewsServer:
        return self.outlets[0]

    def publish_storm_and_bridge(self) -> None:
        """The feed gains three outlets' versions of the storm and the unrelated bridge story."""
        a, b, c = self.outlets
        a.page("/storm", article_html("Storm kills 12 in Westmarch", STORM, published="2025-03-03"))
        day = "2025-03-03"
        b.page("/world/storm", article_html("Deadly storm hits Westmarch", STORM_B, published=day))
        c.page("/news/westmarch", article_html("Westmarch storm: 14 dead", STORM_C, published=day))
        a.page("/bridge", article_html("Riverton approves bridge", BRIDGE, published="2025-03-03"))
        items = [
            ("Storm kills 12", a.url("/storm"), DATE),
            ("Deadly storm", b.url("/world/storm"), DATE),
            ("14 dead", c.url("/news/westmarch"), DATE),
            ("Bridge", a.url("/bridge"), DATE),
            ("Cafés", a.url("/cafe"), "Sun, 02 Mar 2025 09:00:00 GMT"),
        ]
        a.raw("/feed.xml", rss("World", items).encode(), "application/rss+xml")


@pytest.fixture
def sites(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sites]:
    monkeypatch.setenv("NEWSBOT_FETCH_ALLOW_HOSTS", ",".join(HOSTS))
    with serve(HOSTS[0]) as a, serve(HOSTS[1]) as b, serve(HOSTS[2]) as c:
        a.page("/cafe", article_html("Café owners protest", CAFE, published="2025-03-02"))
        feed = a.raw(
            "/feed.xml",
            rss("World", [("Cafés", a.url("/cafe"), "Sun, 02 Mar 2025 09:00:00 GMT")]).encode(),
            "application/rss+xml",
        )
        yield Sites([a, b, c], feed)


def news_settings(tmp_path: Path, **extra: object) -> Settings:
    (tmp_path / "articles").mkdir(exist_ok=True)
    return make_settings(tmp_path, fetch_timeout=2.0, **extra)


def after_a_second() -> datetime:
    """Arrival times are recorded to the second: a window that starts now must not hold what
    arrived in this same second."""
    time.sleep(1.05)
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def arrived(sites: Sites, tmp_path: Path, embedder: Embedder) -> tuple[Settings, datetime]:
    """The café story was indexed earlier; then the feed gained the storm (3 outlets) and the
    bridge. Returns the settings and when the second check began."""
    settings = news_settings(tmp_path)
    add(settings, feeds=[sites.feed], embedder=embedder)
    since = after_a_second()
    sites.publish_storm_and_bridge()
    report = add(settings, feeds=[sites.feed], embedder=embedder)
    assert report.counts()["added"] == 4, [str(a) for a in report.articles]
    return settings, since


# -- the digest -----------------------------------------------------------------------------------
def test_digest_has_one_entry_per_story_most_outlets_first(
    arrived: tuple[Settings, datetime],
) -> None:
    settings, since = arrived
    store = build_store(settings)
    digest = build_digest(store, settings, since, datetime.now(UTC) + timedelta(seconds=1))
    assert digest.articles == 4
    assert len(digest.entries) == 2, [e.headline for e in digest.entries]
    storm, bridge = digest.entries
    assert sorted(storm.outlets) == sorted(HOSTS)
    assert bridge.outlets == ["127.0.0.1"] and bridge.headline == "Riverton approves bridge"
    assert [a.outlet for a in storm.also] == [o for o in storm.outlets if o != storm.outlets[0]]
    # each quote is exactly a span of its article, as the index holds it
    meta = store.meta()
    assert meta is not None
    for entry in digest.entries:
        assert 1 <= len(entry.quotes) <= 2
        for c in entry.quotes:
            text = store.article_texts(meta.generation, [c.article_id])[c.article_id]
            assert text[c.start : c.end] == c.quote and c.chunk_id
    assert [c.n for c in digest.citations] == list(range(1, len(digest.citations) + 1))
    assert all(c.url for e in storm.coverage for c in [e])


def test_digest_of_an_empty_window_says_so(arrived: tuple[Settings, datetime]) -> None:
    settings, since = arrived
    store = build_store(settings)
    before = build_digest(store, settings, since - timedelta(days=2), since - timedelta(days=1))
    assert before.entries == [] and before.articles == 0
    assert "No new articles arrived between" in before.empty_text()


def test_a_rebuild_keeps_when_articles_arrived(arrived: tuple[Settings, datetime]) -> None:
    from index.build import build_index

    settings, _ = arrived
    store = build_store(settings)
    meta = store.meta()
    assert meta is not None
    first = {i: r.indexed for i, r in store.manifest(meta.generation).items()}
    after_a_second()
    build_index(settings, full=True)  # a new generation: every article is embedded again
    meta = store.meta()
    assert meta is not None
    again = {i: r.indexed for i, r in store.manifest(meta.generation).items()}
    assert again == first and all(again.values())


def test_cli_digest_json_and_window_errors(
    arrived: tuple[Settings, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.settings import get_settings

    settings, _ = arrived
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(settings.article_dirs[0]))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["digest", "--hours", "1", "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["stories"] == 3 and len(data["entries"][0]["outlets"]) == 3
        text = runner.invoke(app, ["digest", "--hours", "1"])
        assert "also covered by" in text.output and "[1]" in text.output
        bad = runner.invoke(app, ["digest", "--since", "yesterday"])
        assert bad.exit_code == 2 and "--since takes a date" in bad.output
        both = runner.invoke(app, ["digest", "--since", "2025-01-01", "--hours", "3"])
        assert both.exit_code == 2 and "not both" in both.output
        future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
        empty = runner.invoke(app, ["digest", "--since", future])
        assert empty.exit_code == 2 and "future" in empty.output
    finally:
        get_settings.cache_clear()


def test_window_reads_since_and_hours() -> None:
    now = datetime(2025, 3, 7, 12, tzinfo=UTC)
    assert window(None, 6, 24, now) == (now - timedelta(hours=6), now)
    assert window("2025-03-07T08:00", None, 24, now)[0] == datetime(2025, 3, 7, 8, tzinfo=UTC)
    assert window(None, None, 24, now)[0] == now - timedelta(hours=24)


# -- where outlets differ ----------------------------------------------------------------------------
def test_compare_lists_the_figure_each_outlet_gives(
    arrived: tuple[Settings, datetime], embedder: Embedder
) -> None:
    settings, _ = arrived
    service = build_service(settings, embedder=embedder)
    query = "How many people did the Westmarch storm kill?"
    comparison = compare_story(query, find_story(service.searcher, settings, query))
    assert sorted(comparison.outlets) == sorted(HOSTS)
    deaths = [d for d in comparison.differences if d.unit == "peopl"]
    assert deaths, [d.label() for d in comparison.differences]
    sides = {s.outlet: s for s in deaths[0].sides}
    assert set(sides) == set(HOSTS)
    assert sides["127.0.0.3"].value == "14 people" and sides["127.0.0.2"].value == "12 people"
    for side in sides.values():
        assert side.value in side.citation.quote and side.citation.published == "2025-03-03"
    assert "14 people" in deaths[0].label() and "12 people" in deaths[0].label()
    # what they all state is quoted from each outlet
    assert comparison.shared and all(len(c.quotes) == 3 for c in comparison.shared)
    # an answer over these sources says they disagree, in one line that points to /compare
    answer = service.ask(query)
    (line,) = [line for line in answer.answer.splitlines() if "different figures" in line]
    assert line.endswith("shows what each outlet says.)") and "/compare" in line


def test_compare_of_a_story_one_outlet_tells(
    arrived: tuple[Settings, datetime], embedder: Embedder
) -> None:
    settings, _ = arrived
    service = build_service(settings, embedder=embedder)
    query = "Riverton bridge vote"
    comparison = compare_story(query, find_story(service.searcher, settings, query))
    assert comparison.outlets == ["127.0.0.1"] and not comparison.differences
    assert "Only one outlet" in comparison.note


# -- the follow flow, in Discord -------------------------------------------------------------------
def stored_without_indexing(settings: Settings, feed: str) -> None:
    """Fetch the feed into the library without indexing it (`newsbot index` does that next)."""
    store = build_store(settings)
    fetcher = Fetcher.from_settings(settings)
    try:
        Intake(settings, store, fetcher).feed(feed)
    finally:
        fetcher.close()


def index_in_another_process(settings: Settings) -> None:
    env = {
        **os.environ,
        "NEWSBOT_DATA_DIR": str(settings.data_dir),
        "NEWSBOT_ARTICLE_DIRS": str(settings.article_dirs[0]),
        "HF_HUB_OFFLINE": "1",
        "NEWSBOT_COLLECTION_PREFIX": settings.collection_prefix,
    }
    if settings.chroma_host:
        env.update(CHROMA_HOST=settings.chroma_host, CHROMA_PORT=str(settings.chroma_port))
    done = subprocess.run(
        [sys.executable, "-m", "bot.frontends.cli", "index", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == 4


# -- followed topics: the hourly limit -------------------------------------------------------------
def test_posts_per_hour_are_limited_and_the_rest_merged(
    arrived: tuple[Settings, datetime], embedder: Embedder, tmp_path: Path
) -> None:
    from bot.news.follow import FollowStore

    settings, since = arrived
    store = build_store(settings)
    follows = FollowStore(tmp_path / "follows.sqlite3")
    follows.add(1, 10, 100, "news of the week", now=since - timedelta(hours=1))
    # every arrival matches: the café story, the storm (three outlets) and the bridge
    every = settings.model_copy(update={"follow_threshold": 0.0, "follow_posts_per_hour": 2})
    now = datetime.now(UTC)
    first, last = follows.check(store, embedder.encode, every, now)
    assert len(first.matches) == 1 and len(last.matches) == 2 and last.merged
    stories = [m.story for d in (first, last) for m in d.matches]
    assert sorted(len(s.outlets) for s in stories) == [1, 1, 3]
    assert follows.check(store, embedder.encode, every, now) == []
    assert follows.check(store, embedder.encode, every, now + timedelta(hours=2)) == []


def test_a_post_that_could_not_be_sent_waits_for_the_next_hour(
    arrived: tuple[Settings, datetime], embedder: Embedder, tmp_path: Path
) -> None:
    from bot.news.follow import FollowStore

    settings, since = arrived
    store = build_store(settings)
    follows = FollowStore(tmp_path / "follows.sqlite3")
    follows.add(1, 10, 100, "Westmarch storm", now=since)
    one = settings.model_copy(update={"follow_posts_per_hour": 1})
    now = datetime.now(UTC)
    (delivery,) = follows.check(store, embedder.encode, one, now)
    assert delivery.matches[0].article.title.startswith(("Storm", "Deadly", "Westmarch"))
    follows.release(delivery)  # Discord refused it
    assert follows.waiting()
    (again,) = follows.check(store, embedder.encode, one, now)
    assert [a.id for a in again.matches[0].story.articles] == [
        a.id for a in delivery.matches[0].story.articles
    ]
    assert not follows.waiting()


def test_cli_compare_and_follow_commands(
    arrived: tuple[Settings, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.settings import get_settings

    settings, _ = arrived
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(settings.article_dirs[0]))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["compare", "Westmarch storm death toll", "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert sorted(data["outlets"]) == sorted(HOSTS)
        deaths = [d for d in data["differences"] if d["unit"] == "peopl"]
        assert {s["value"] for s in deaths[0]["sides"]} == {"12 people", "14 people"}
        assert runner.invoke(app, ["compare", "   "]).exit_code == 2

        follow = ["follow", "add", "Westmarch storm", "--guild", "1", "--channel", "2", "--json"]
        added = runner.invoke(app, follow)
        assert added.exit_code == 0, added.output
        assert json.loads(added.output)["topic"] == "Westmarch storm"
        listed = runner.invoke(app, ["follow", "list", "--guild", "1"])
        assert "Westmarch storm" in listed.output
        assert "No topics" in runner.invoke(app, ["follow", "list", "--guild", "9"]).output
        gone = runner.invoke(app, ["follow", "remove", "Westmarch storm", "--guild", "9"])
        assert gone.exit_code == 2 and "follows no topic" in gone.output
        removed = runner.invoke(app, ["follow", "remove", "1", "--guild", "1"])
        assert removed.exit_code == 0 and "No longer following" in removed.output
    finally:
        get_settings.cache_clear()


def test_a_digest_time_without_a_zone_name_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.errors import ConfigError
    from bot.news.schedule import last_window, parse_time_of_day
    from bot.settings import get_settings

    monkeypatch.setenv("NEWSBOT_DIGEST_AT", "07:30 Mars/Olympus")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"NEWSBOT_DIGEST_AT.*time zone"):
            get_settings()
    finally:
        get_settings.cache_clear()
    at, zone = parse_time_of_day("07:30 Europe/Zurich")
    assert (at.hour, at.minute, str(zone)) == (7, 30, "Europe/Zurich")
    # 07:30 in Zurich is 06:30 UTC in winter: at 06:00 UTC the last window closed yesterday
    window = last_window("07:30 Europe/Zurich", datetime(2025, 1, 10, 6, tzinfo=UTC))
    assert window.until == datetime(2025, 1, 9, 6, 30, tzinfo=UTC)
    assert window.since == window.until - timedelta(days=1)


def test_a_claim_its_subject_goes_on_to_say_is_not_attributed_to_the_words_before_and() -> None:
    """ "The minister promised funds and said…": the minister says it, named before the verb it
    shares; "funds and" is no source to compare with another outlet's."""
    from bot.news.compare import _attribution

    assert (
        _attribution("The minister promised funds for the city and said the army would help.")
        is None
    )
    assert _attribution("Fire officials said on Monday that 14 people died.") == "Fire officials"
    assert _attribution("The toll rose, according to the mayor's office.") == "the mayor's office"
