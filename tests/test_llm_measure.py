"""The measurement helpers: corrupted answers and the run-level generation figures."""

from __future__ import annotations

import random

from bot.answering.answer import Answer, Citation
from bot.evaluation.generation import generation_metrics, generation_row, kept_sentences
from bot.evaluation.measure import build_cases, corrupt, corruption_check, threshold_sweep
from bot.llm.answerer import GeneratedAnswer
from bot.llm.verify import Verifier
from index.embedding import Embedder
from tests.test_verify import BRIDGE, PASSAGES, PORT


def test_corrupt_swaps_a_number_a_name_and_a_date() -> None:
    sentence = "Mayor Ana Ruiz said construction would start in March 2026 [1]."
    pool = BRIDGE + " Governor Lee spoke in 2024."
    swaps = dict(corrupt(sentence, pool, random.Random(1)))
    assert set(swaps) == {"number", "name", "date"}
    for kind, bad in swaps.items():
        assert bad != sentence, kind
    assert "2026" not in swaps["number"] and "March" not in swaps["date"]


def test_the_verifier_keeps_originals_and_catches_corruptions(embedder: Embedder) -> None:
    pairs = [
        ("The Harbor City council approved a $40 million bridge on Tuesday [1].", PASSAGES[:1]),
        ("Mayor Ana Ruiz said construction would start in March 2026 [1].", PASSAGES[:1]),
        ("The union accepted a 6 percent raise over three years [1].", PASSAGES[1:2]),
    ]
    cases = build_cases(pairs, seed=3)
    assert {c.kind for c in cases} >= {"original", "number", "name", "unrelated"}
    result = corruption_check(Verifier(embedder.encode), cases)
    assert result["originals_kept"] == 1.0
    assert result["corruptions_caught"] == 1.0 and result["precision"] == 1.0
    sweep = threshold_sweep(Verifier(embedder.encode), cases, [0.0, 0.62])
    assert [row["threshold"] for row in sweep] == [0.0, 0.62]
    assert sweep[0]["corruptions_caught"] <= sweep[1]["corruptions_caught"]
    assert PORT in PASSAGES[1].text


def test_generation_rows_and_metrics() -> None:
    citation = Citation(1, "a1", "Story", None, None, "", "quote", 0, 5, chunk_id="a1:0")
    answer = GeneratedAnswer(
        "q",
        "The council approved it [1]. It cost $40 million [1].",
        True,
        citations=[citation],
        answerer="llamacpp:x",
        verification={"totals": {"sentences": 3, "verified": 2}},
        generation={"first_token_s": 0.5, "tokens": 20, "tokens_per_s": 40.0},
    )
    fallback = GeneratedAnswer.from_answer(
        Answer("q", "Quoted [1].", True, citations=[citation]), note="The model failed; …"
    )
    rows = [generation_row(answer), generation_row(fallback)]
    assert rows[0]["kept"] == [
        {"text": "The council approved it.", "chunk_id": "a1:0"},
        {"text": "It cost $40 million.", "chunk_id": "a1:0"},
    ]
    metrics = generation_metrics(rows)
    assert metrics["share_verified"] == round(2 / 3, 4)
    assert metrics["fallbacks"] == 1 and metrics["model_answer_kept"] == 0.5
    assert metrics["first_token_p50_s"] == 0.5 and metrics["tokens_per_s_p50"] == 40.0
    assert generation_row(Answer("q", "a", False)) == {}
    assert kept_sentences(Answer("q", "a", False)) == []
