"""Ranking: one long article does not crowd every other story out; dates and date windows."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from bot.answering.service import build_service
from bot.settings import Settings
from index import dense
from index.build import build_index
from index.embedding import Embedder
from index.search import Hit, HybridSearcher, spread_articles
from tests.conftest import make_settings

QUERY = "federal government mandatory water cuts Ardent River reservoirs states"

# A long feature in which every paragraph is about the question's subject and none names the region.
FEATURE = [
    f"The federal government is implementing mandatory water cuts on the Ardent River as its "
    f"reservoirs drain, part {n} of our series on how the states sharing the river will cope. "
    f"Officials said the mandatory cuts to Ardent River water would deepen if the reservoirs kept "
    f"falling, and that states must agree on a plan."
    for n in range(1, 9)
]
# A short report that holds the answer: which region the cuts fall on.
REPORT = [
    "Farmers in the Southwest braced for less water on Tuesday. The cuts announced for the Ardent "
    "fall hardest on their region, growers said."
]


def _hit(article: str, n: int) -> Hit:
    return Hit(f"{article}:{n}", "text", {"article_id": article, "start": 0})


def test_spread_articles_moves_an_articles_extra_hits_after_the_others() -> None:
    hits = [_hit("a", 0), _hit("a", 1), _hit("a", 2), _hit("b", 0), _hit("a", 3), _hit("c", 0)]
    spread = [h.chunk_id for h in spread_articles(hits, 2)]
    assert spread == ["a:0", "a:1", "b:0", "c:0", "a:2", "a:3"]
    assert spread_articles(hits, 10) == hits  # a cap no article reaches changes nothing


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("crowd")
    (tmp / "articles").mkdir()
    records = [
        {
            "url": "https://news.example/feature",
            "title": "Ardent River",
            "text": "\n\n".join(FEATURE),
        },
        {"url": "https://news.example/report", "title": "Water cuts", "text": "\n\n".join(REPORT)},
    ]
    (tmp / "articles" / "news.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    return tmp


def _top_articles(tmp: Path, embedder: Embedder, cap: int) -> list[str]:
    settings: Settings = make_settings(tmp, passages_per_article=cap, chunk_chars=250)
    build_index(settings, embedder=embedder)
    hits = build_service(settings, embedder=embedder).searcher.search(QUERY, 5).hits
    return [h.meta["title"] for h in hits]


def test_one_long_article_does_not_fill_every_passage(corpus: Path, embedder: Embedder) -> None:
    uncapped = _top_articles(corpus, embedder, 0)
    assert uncapped.count("Ardent River") == 5  # without the cap the feature takes every place
    capped = _top_articles(corpus, embedder, 3)
    assert capped[:3] == ["Ardent River"] * 3 and "Water cuts" in capped


STORY = (
    "The Harbor City council approved the new ferry timetable for the Mill River crossing, with "
    "boats every twenty minutes at rush hour."
)


def test_a_newer_story_moves_up_when_no_time_is_named(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "articles").mkdir()
    records = [  # the older report matches the question a little better
        {
            "url": "https://news.example/old",
            "title": "Harbor City ferry timetable approved",
            "text": STORY,
            "publish_date": "2025-03-01",
        },
        {
            "url": "https://news.example/new",
            "title": "Council sets ferry times",
            "text": STORY.replace("boats", "ferries") + " Tickets go on sale on Monday.",
            "publish_date": "2025-03-10",
        },
    ]
    (tmp_path / "articles" / "news.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    query = "Harbor City ferry timetable approved"

    def first(weight: float) -> str:
        settings = make_settings(tmp_path, recency_default_weight=weight)
        build_index(settings, embedder=embedder)
        searcher = build_service(settings, embedder=embedder).searcher
        return str(searcher.search(query, 2, now=date(2025, 3, 12)).hits[0].meta["url"])

    assert first(0) == "https://news.example/old"
    assert first(0.25) == "https://news.example/new"


def test_the_week_a_question_names_is_searched_on_its_own(
    tmp_path: Path, embedder: Embedder
) -> None:
    """This week's story can rank below the candidate cut-off behind older stories with more of
    the question's words; searching the week itself brings it back."""
    (tmp_path / "articles").mkdir()
    older = [
        {
            "url": f"https://news.example/old-{n}",
            "title": "Harbor City ferry timetable approved",
            "text": f"{STORY} Part {n} of our series on the Harbor City ferry timetable.",
            "publish_date": f"2025-02-0{n}",
        }
        for n in range(1, 7)
    ]
    this_week = {
        "url": "https://news.example/this-week",
        "title": "Crossings every twenty minutes",
        "text": "From Monday, boats will leave the pier every twenty minutes at rush hour.",
        "publish_date": "2025-03-10",
    }
    records = [*older, this_week]
    (tmp_path / "articles" / "news.jsonl").write_text("\n".join(json.dumps(r) for r in records))

    def urls(weight: float) -> list[str]:
        settings = make_settings(tmp_path, candidates=3, window_search_weight=weight)
        build_index(settings, embedder=embedder)
        searcher = build_service(settings, embedder=embedder).searcher
        hits = searcher.search(
            "Harbor City ferry timetable approved this week",
            5,
            since=date(2025, 3, 6),
            until=date(2025, 3, 12),
            strict=False,
            prefer_recent=True,
            now=date(2025, 3, 12),
        ).hits
        return [str(h.meta["url"]) for h in hits]

    assert this_week["url"] not in urls(0)  # never a candidate: nothing could move it up
    assert this_week["url"] in urls(0.5)


def _dated(tmp: Path, days: list[str]) -> None:
    records = [
        {
            "url": f"https://news.example/{day}/{n}",
            "title": f"Ferry news of {day}",
            "text": f"{STORY} Reported on {day}, with a note on {['fares', 'tides', 'piers'][n % 3]}.",
            "publish_date": day,
        }
        for n, day in enumerate(days)
    ]
    (tmp / "articles" / "news.jsonl").write_text("\n".join(json.dumps(r) for r in records))


def test_each_way_of_searching_a_window_finds_what_chromas_filter_finds(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "articles").mkdir()
    _dated(tmp_path, [f"2025-03-{d:02d}" for d in range(1, 13)])
    settings = make_settings(tmp_path)
    build_index(settings, embedder=embedder)
    searcher = build_service(settings, embedder=embedder).searcher
    snap = searcher.snapshot()
    window = searcher._window(snap, date(2025, 3, 6), date(2025, 3, 12))
    assert window is not None and window.count == 7
    vector = embedder.encode(["ferry timetable tides"])[0]

    scanned = searcher.dense_hits(snap, vector, 5, window)
    monkeypatch.setattr(dense, "WINDOW_SCAN_LIMIT", 0)  # a large window: the nearest of all
    widened = searcher.dense_hits(snap, vector, 5, window)
    monkeypatch.setattr(dense, "WIDE_QUERY_LIMIT", 0)  # Chroma's metadata-filtered query
    filtered = searcher.dense_hits(snap, vector, 5, window)
    # a window made over the limit is counted by day in the keyword index, its ids not listed
    # (half a year of 1.2 million chunks is 650,000 ids: 1.3 s to list, 0.06 s to count)
    fresh = build_service(settings, embedder=embedder).searcher
    counted = fresh._window(fresh.snapshot(), date(2025, 3, 6), date(2025, 3, 12))
    assert counted is not None and (counted.count, counted.ids) == (7, [])
    assert counted.days == window.days and len(window.days) == 7
    unlisted = fresh.dense_hits(fresh.snapshot(), vector, 5, counted)

    for other in (widened, filtered, unlisted):
        assert [h.chunk_id for h in scanned] == [h.chunk_id for h in other]
        assert [h.dense for h in scanned] == pytest.approx([h.dense for h in other], abs=1e-5)
    assert len(scanned) == 5 and all(h.meta["published"] >= "2025-03-06" for h in scanned)


def test_a_scanned_window_sees_articles_indexed_after_it_was_read(
    tmp_path: Path, embedder: Embedder
) -> None:
    (tmp_path / "articles").mkdir()
    _dated(tmp_path, ["2025-03-10"])
    settings = make_settings(tmp_path)
    build_index(settings, embedder=embedder)
    searcher = build_service(settings, embedder=embedder).searcher
    vector = embedder.encode(["ferry timetable"])[0]

    def dense_urls() -> set[str]:
        snap = searcher.snapshot()
        window = searcher._window(snap, date(2025, 3, 6), date(2025, 3, 12))
        assert window is not None
        return {h.meta["url"] for h in searcher.dense_hits(snap, vector, 5, window)}

    assert len(dense_urls()) == 1
    _dated(tmp_path, ["2025-03-10", "2025-03-10"])  # another story of the same day
    build_index(settings, embedder=embedder)
    assert len(dense_urls()) == 2


def test_a_new_revision_s_window_reads_only_the_vectors_it_does_not_hold(
    tmp_path: Path, embedder: Embedder
) -> None:
    """After an update, the first scan of a week reads the vectors of the week's new chunks
    only, and finds what a searcher that reads them all finds, to the bit."""
    (tmp_path / "articles").mkdir()
    _dated(tmp_path, ["2025-03-08", "2025-03-09", "2025-03-10"])
    settings = make_settings(tmp_path)
    build_index(settings, embedder=embedder)
    searcher = build_service(settings, embedder=embedder).searcher
    vector = embedder.encode(["ferry timetable tides"])[0]
    store = searcher.store
    real = store.vectors
    asked: list[str] = []

    def vectors(generation: int, ids: list[str]) -> dict[str, np.ndarray]:
        asked.extend(ids)
        return real(generation, ids)

    store.vectors = vectors  # type: ignore[assignment,method-assign]  # records, then reads

    def scan(on: HybridSearcher) -> list[tuple[str, float | None]]:
        snap = on.snapshot()
        window = on._window(snap, date(2025, 3, 6), date(2025, 3, 12))
        assert window is not None
        return [(h.chunk_id, h.dense) for h in on.dense_hits(snap, vector, 10, window)]

    first = scan(searcher)
    held = set(asked)
    assert len(first) == len(held) >= 3
    asked.clear()
    _dated(tmp_path, ["2025-03-08", "2025-03-09", "2025-03-10", "2025-03-11"])
    build_index(settings, embedder=embedder)
    after = scan(searcher)
    assert asked and not set(asked) & held, "only the new story's chunks are read"
    fresh = build_service(settings, embedder=embedder).searcher
    assert after == scan(fresh)
    assert len(after) == len(first) + len(asked)


def test_a_question_is_answered_from_keywords_when_chroma_cannot_read_its_vectors(
    tmp_path: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The embedded Chroma can fail inside its vector index while another process writes the
    same store ("Error finding id": once in the 1,182,240-chunk run, where it ended the answering
    process; not reproducible at a size a test can build, so Chroma's own error is raised here at
    the call). That question is answered from the keyword index, with a warning, and the store is
    opened afresh: the next question is searched by vectors again."""
    from chromadb.api.models.Collection import Collection
    from chromadb.errors import InternalError

    (tmp_path / "articles").mkdir()
    _dated(tmp_path, ["2025-03-10", "2025-03-11"])
    settings = make_settings(tmp_path)
    build_index(settings, embedder=embedder)
    searcher = build_service(settings, embedder=embedder).searcher
    query = "Harbor City ferry timetable fares"
    assert any(h.dense_rank is not None for h in searcher.search(query, 3).hits)
    real, failures = Collection.query, [1]

    def query_once_failing(self: Collection, *args: object, **kwargs: object) -> object:
        if failures:
            failures.pop()
            raise InternalError("Error executing plan: Internal error: Error finding id")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Collection, "query", query_once_failing)
    with caplog.at_level(logging.WARNING, logger="index.search"):
        hits = searcher.search(query, 3).hits
    assert not failures, "the vector query was made, and failed"
    assert hits and all(h.dense_rank is None for h in hits)
    assert {h.meta["url"] for h in hits} == {
        f"https://news.example/2025-03-1{n}/{n}" for n in (0, 1)
    }
    assert "Answering from the keyword index alone" in caplog.text
    assert searcher._reopening is not None
    searcher._reopening.join(30)
    assert any(h.dense_rank is not None for h in searcher.search(query, 3).hits)
