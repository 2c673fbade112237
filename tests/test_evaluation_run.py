"""End-to-end check of bot.evaluation.run on a few questions of the real RealTime QA dev split."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import io
from pathlib import Path

import pytest
from rich.console import Console

from bot.evaluation.run import render_table, run_eval
from bot.settings import Settings

DEV = Path(__file__).resolve().parents[1].parent / "shared/eval/realtimeqa/dev"
DEV2025 = DEV.parent / "dev2025"

ROW_KEYS = {
    "id",
    "question",
    "gold_answer",
    "answer",
    "found",
    "hybrid_rank",
    "dense_rank",
    "bm25_rank",
    "answer_hit",
    "mc_correct",
    "mc_correct_first_listed",
    "chosen",
    "short_answer",
    "first_sentence",
    "first_sentence_hit",
    "answer_text_hit",
    "short_answer_em",
    "short_answer_f1",
}
RATES = (
    "first_sentence_hit",
    "answer_text_hit",
    "short_answer_em",
    "short_answer_f1",
    "short_answer_given",
    "answer_hit",
    "answer_hit@5",
    "mc_accuracy",
    "mc_accuracy_first_listed",
    "found_rate",
    "citation_validity",
    "refusal",
    "refusal_answered_right",
)


@pytest.mark.slow
def test_run_eval_quick_mode_and_cache(tmp_path: Path) -> None:
    if not DEV.is_dir():
        pytest.skip(f"RealTime QA dev split not found at {DEV} (shared eval data is not mounted)")
    settings = Settings(data_dir=tmp_path)
    stages: set[str] = set()

    first = run_eval(
        DEV, settings=settings, limit=5, progress=lambda stage, done, total: stages.add(stage)
    )

    assert first["dataset"] == str(DEV)
    assert first["distractors"] is False
    assert first["questions"] == 5
    assert isinstance(first["boilerplate_only"], int)
    assert first["index"]["cached"] is False
    assert first["index"]["articles"] >= 5
    assert first["index"]["chunks"] >= first["index"]["articles"]
    assert first["index"]["chunks_embedded"] == first["index"]["chunks"]
    assert Path(first["index"]["dir"]).is_relative_to(tmp_path / "eval-cache")
    assert {"index", "questions", "refusal"} <= stages

    metrics = first["metrics"]
    for method in ("hybrid", "dense", "bm25"):
        scores = dict(metrics[method])
        assert 1.0 <= scores.pop("articles@10") <= 10.0
        assert set(scores) == {"recall@1", "recall@5", "recall@10", "mrr@10"}
        for value in scores.values():
            assert 0.0 <= value <= 1.0
        assert metrics[method]["recall@1"] <= metrics[method]["recall@5"]
        assert metrics[method]["recall@5"] <= metrics[method]["recall@10"]
    for key in RATES:
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["citation_validity"] == 1.0
    assert metrics["refusal"] + metrics["refusal_answered_right"] <= 1.0  # refused, or answered
    assert 0.0 < metrics["latency_p50"] <= metrics["latency_p95"]

    assert len(first["rows"]) == 5
    for row in first["rows"]:
        assert set(row) >= ROW_KEYS
        for key in ("hybrid_rank", "dense_rank", "bm25_rank"):
            assert row[key] is None or row[key] >= 1

    # the questions whose article is not indexed, one row each, agreeing with the refusal rate
    refusals = first["refusal_rows"]
    assert refusals and {"id", "question", "gold_answer", "answer", "refused"} <= set(refusals[0])
    assert sum(r["refused"] for r in refusals) / len(refusals) == metrics["refusal"]
    assert all(not (r["refused"] and r["answered_right"]) for r in refusals)

    console = Console(file=io.StringIO(), width=120)
    render_table(first, console)
    table = console.file.getvalue()
    assert "recall@10" in table and "mc_accuracy" in table and "bm25" in table

    second = run_eval(DEV, settings=settings, limit=5, cache_dir=tmp_path / "eval-cache")
    assert second["index"]["cached"] is True
    assert second["index"]["dir"] == first["index"]["dir"]
    assert second["index"]["chunks_embedded"] == 0  # the cached index was reused, not re-embedded
    assert second["metrics"]["hybrid"] == metrics["hybrid"]
    assert [r["answer"] for r in second["rows"]] == [r["answer"] for r in first["rows"]]


@pytest.mark.slow
def test_run_eval_on_weeks_without_gold_articles(tmp_path: Path) -> None:
    """dev2025 publishes no gold articles: answer figures only, refusal = no search results."""
    if not DEV2025.is_dir():
        pytest.skip(f"RealTime QA dev2025 split not found at {DEV2025}")
    result = run_eval(DEV2025, settings=Settings(data_dir=tmp_path), weeks=["20251031"], limit=3)
    assert result["has_gold"] is False and result["weeks"] == ["20251031"]
    assert result["questions"] == 3
    metrics = result["metrics"]
    assert metrics["hybrid"] is None and metrics["dense"] is None
    for key in RATES:
        assert 0.0 <= metrics[key] <= 1.0, key
    for row in result["rows"]:
        assert set(row) >= ROW_KEYS
        assert row["hybrid_rank"] is None
        assert row["short_answer"] is None or isinstance(row["short_answer"], str)
    console = Console(file=io.StringIO(), width=120)
    render_table(result, console)
    table = console.file.getvalue()
    assert "first_sentence_hit" in table and "recall@1" not in table
