"""Figures for generated answers on the evaluation set.

:func:`generation_row` / :func:`generation_metrics`: per question and over the run, the share of
generated sentences that verification kept, fallbacks, time to first token and tokens per second
(one streamed chunk is one token for llama.cpp, in process or as a server).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from bot.answering.answer import Answer
from bot.llm.answerer import GeneratedAnswer
from bot.llm.verify import split_sentences


def generation_row(answer: Answer) -> dict[str, Any]:
    """Extra columns for one evaluation row (empty for the extractive answerer)."""
    if not isinstance(answer, GeneratedAnswer):
        return {}
    verification, generation = answer.verification, answer.generation
    totals = (verification or {}).get("totals", {})
    return {
        "answerer": answer.answerer,
        "note": answer.note,
        "sentences": totals.get("sentences", 0),
        "verified_sentences": totals.get("verified", 0),
        "first_token_s": (generation or {}).get("first_token_s"),
        "tokens": (generation or {}).get("tokens"),
        "tokens_per_s": (generation or {}).get("tokens_per_s"),
        "generated": bool(generation),
        "kept": kept_sentences(answer) if generation and answer.answerer != "extractive" else [],
    }


def generation_metrics(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Run-level figures from :func:`generation_row` columns (empty for the extractive run)."""
    rows = [r for r in rows if "generated" in r]
    if not rows:
        return {}
    generated = [r for r in rows if r["generated"]]
    sentences = sum(r["sentences"] for r in generated)
    first = [r["first_token_s"] for r in generated if r["first_token_s"] is not None]
    rates = [r["tokens_per_s"] for r in generated if r["tokens_per_s"]]
    return {
        "generated_answers": len(generated),
        "generated_sentences": sentences,
        "share_verified": round(sum(r["verified_sentences"] for r in generated) / sentences, 4)
        if sentences
        else None,
        # answers written by the model and kept after verification (not a fallback)
        "model_answer_kept": _share(r["generated"] and r["answerer"] != "extractive" for r in rows),
        "fallbacks": sum(r["answerer"] == "extractive" and bool(r["note"]) for r in rows),
        "first_token_p50_s": round(statistics.median(first), 3) if first else None,
        "tokens_per_s_p50": round(statistics.median(rates), 1) if rates else None,
    }


def _share(flags: Iterable[bool]) -> float:
    items = list(flags)
    return round(sum(items) / len(items), 4) if items else 0.0


def kept_sentences(answer: Answer) -> list[dict[str, str]]:
    """The answer's sentences with the chunk each one cites (its first marker)."""
    if not answer.found or not answer.citations:
        return []
    out = []
    for claim, markers in split_sentences(answer.answer):
        numbers = [n for n in markers if 1 <= n <= len(answer.citations)]
        if numbers:
            out.append({"text": claim, "chunk_id": answer.citations[numbers[0] - 1].chunk_id})
    return out
