"""The SQLite store of answers and ratings, and `newsbot feedback`."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.answering.answer import Answer, Citation
from bot.frontends.cli import app
from bot.frontends.feedback import DOWN, FILENAME, UP, FeedbackStore


def make_answer(question: str, text: str = "It happened [1]", found: bool = True) -> Answer:
    cite = Citation(1, "a1", "Title @everyone", "https://x.example/a", "2025-03-14", "S", "q", 0, 1)
    if found:
        return Answer(question, text, True, citations=[cite], answerer="extractive")
    return Answer(question, "not covered", False, passages=[cite], answerer="extractive")


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore.in_data_dir(tmp_path / "data")


def test_answers_give_a_thread_its_history_and_sources(store: FeedbackStore) -> None:
    for i in range(8):
        store.record_answer(make_answer(f"q{i}", f"a{i}"), channel_id=5, message_ids=[100 + i])
    store.record_answer(make_answer("elsewhere"), channel_id=6, message_ids=[200], parent_id=9)

    assert store.turns(5, limit=3) == [("q5", "a5"), ("q6", "a6"), ("q7", "a7")]
    assert store.turns(404) == []
    last = store.last_answer(9)  # asked in channel 9, answered in its thread 6
    assert last is not None and last.question == "elsewhere"
    assert last.sources[0].url == "https://x.example/a"
    assert store.last_answer(5).question == "q7"  # type: ignore[union-attr]
    assert [a.question for a in store.answers(6)] == ["elsewhere"]


def test_votes_are_one_per_user_and_can_be_withdrawn(store: FeedbackStore) -> None:
    answer_id = store.record_answer(make_answer("q"), channel_id=1, message_ids=[10, 11])
    assert not store.vote(999, user_id=1, vote=DOWN)  # not an answer message

    assert store.vote(10, user_id=1, vote=UP)
    assert store.vote(11, user_id=1, vote=DOWN)  # changes their mind, on another part
    assert store.vote(10, user_id=2, vote=DOWN)
    (row,) = store.feedback()
    assert row.answer.id == answer_id and (row.up, row.down) == (0, 2)

    assert store.unvote(10, user_id=2, vote=DOWN)
    assert not store.unvote(10, user_id=2, vote=DOWN)
    assert store.unvote(11, user_id=1, vote=DOWN)
    assert store.feedback(include_up=True) == []


def test_feedback_lists_bad_answers_newest_first(store: FeedbackStore) -> None:
    good = store.record_answer(make_answer("good"), channel_id=1, message_ids=[1])
    bad = store.record_answer(make_answer("bad", found=False), channel_id=1, message_ids=[2])
    worse = store.record_answer(make_answer("worse"), channel_id=1, message_ids=[3])
    store.vote(1, 7, UP)
    store.vote(2, 7, DOWN)
    store.vote(3, 8, DOWN)
    assert [r.answer.id for r in store.feedback()] == [worse, bad]
    assert [r.answer.id for r in store.feedback(include_up=True)] == [worse, bad, good]
    assert [r.answer.id for r in store.feedback(limit=1)] == [worse]
    closest = store.feedback()[1].answer
    assert not closest.found and closest.sources[0].title == "Title @everyone"


def test_the_store_is_safe_from_several_threads_and_persists(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / FILENAME)

    def record(i: int) -> int:
        return store.record_answer(make_answer(f"q{i}"), channel_id=1, message_ids=[i])

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(record, range(40)))
    assert len(set(ids)) == 40
    again = FeedbackStore(tmp_path / FILENAME)  # a restart
    assert len(again.turns(1, limit=100)) == 40


def test_feedback_without_a_database_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "missing" / FILENAME)
    assert store.feedback() == []
    assert not (tmp_path / "missing").exists()


def test_newsbot_feedback_lists_rated_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.settings import get_settings

    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["feedback"])
        assert result.exit_code == 0 and "No rated answers yet" in result.output

        store = FeedbackStore.in_data_dir(tmp_path / "data")
        store.record_answer(make_answer("Why [this]?"), channel_id=1, message_ids=[1])
        store.record_answer(make_answer("Fine?"), channel_id=1, message_ids=[2])
        store.vote(1, 5, DOWN)
        store.vote(2, 5, UP)

        result = runner.invoke(app, ["feedback"])
        assert result.exit_code == 0, result.output
        assert "Q: Why [this]?" in result.output and "👎 1" in result.output
        assert "Fine?" not in result.output
        assert "[1] Title @everyone · 2025-03-14 · https://x.example/a" in result.output

        result = runner.invoke(app, ["feedback", "--all", "--json"])
        rows = json.loads(result.output)
        assert [r["question"] for r in rows] == ["Fine?", "Why [this]?"]
        assert rows[1]["down"] == 1 and rows[1]["sources"][0]["title"] == "Title @everyone"
    finally:
        get_settings.cache_clear()
