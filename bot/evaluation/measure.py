"""Figures for generated answers on the evaluation set, and the verifier's own check.

- :mod:`bot.evaluation.generation` has the per-question and per-run figures of generated answers.
- :func:`corruption_check`: the verifier's precision on deliberately corrupted answers. Every
  sentence the verifier accepts is corrupted by swapping one number, one name or one date for
  another found in the same passages; the originals are the positives, the corruptions the
  negatives. Reported: the share of corruptions caught, and the precision of "supported".
- :func:`threshold_sweep`: the support threshold's trade-off on the same data plus unrelated
  sentences (a sentence from another article checked against a passage): how it was tuned.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.answering.service import build_service
from bot.evaluation.generation import kept_sentences
from bot.evaluation.run import run_eval
from bot.llm.verify import (
    _CAPITALISED,
    _MONTHS,
    _NUMBER,
    Verifier,
    normalise,
)
from bot.settings import Settings
from index.passage import Passage
from index.search import STOPWORDS, Hit

# -- corrupted answers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    sentence: str  # with its [n] marker
    passages: tuple[Hit, ...]
    corrupted: bool
    kind: str  # original | number | name | date | unrelated (a sentence about another story)


def corrupt(sentence: str, pool: str, rng: random.Random) -> list[tuple[str, str]]:
    """Corruptions of ``sentence``: one number, one name and one date swapped for another one
    from ``pool`` (the passages' text) that the sentence does not contain."""
    out = []
    for kind, pattern in (("number", _NUMBER), ("date", _MONTH_RE), ("name", _CAPITALISED)):
        markers = [m.span() for m in re.finditer(r"\[\d+\]", sentence)]
        found = [
            m
            for m in pattern.finditer(sentence)
            if _swappable(kind, m.group(0), m.start())
            and not any(a <= m.start() < b for a, b in markers)
        ]
        if not found:
            continue
        target = rng.choice(found)
        options = sorted(
            {
                m.group(0)
                for m in pattern.finditer(pool)
                if _swappable(kind, m.group(0), 1) and normalise(m.group(0)) != normalise(target[0])
            }
        )
        if kind == "date":
            options = [m.capitalize() for m in _MONTHS[:12] if m != target.group(0).lower()]
        if not options:
            continue
        new = rng.choice(options)
        out.append((kind, sentence[: target.start()] + new + sentence[target.end() :]))
    return out


_MONTH_RE = re.compile(r"\b(" + "|".join(m.capitalize() for m in _MONTHS[:12]) + r")\b")


def _swappable(kind: str, word: str, position: int) -> bool:
    if kind == "name":
        key = normalise(word)
        first = key.split(" ")[0] if key else ""
        return position > 0 and first not in STOPWORDS and key not in _MONTHS and len(key) > 2
    return True


def build_cases(supported: Sequence[tuple[str, Sequence[Hit]]], seed: int = 0) -> list[Case]:
    """Originals (sentences the verifier kept, with the passages they were checked against) and
    their corruptions."""
    rng = random.Random(seed)
    cases = []
    for i, (sentence, hits) in enumerate(supported):
        pool = "\n".join(h.text for h in hits)
        cases.append(Case(sentence, tuple(hits), False, "original"))
        for kind, bad in corrupt(sentence, pool, rng):
            cases.append(Case(bad, tuple(hits), True, kind))
        others = [s for j, (s, h) in enumerate(supported) if j != i and _disjoint(h, hits)]
        if others:  # a true sentence about another story, cited to this story's passages
            cases.append(Case(rng.choice(others), tuple(hits), True, "unrelated"))
    return cases


def _disjoint(a: Sequence[Hit], b: Sequence[Hit]) -> bool:
    return not {h.article_id for h in a} & {h.article_id for h in b}


def corruption_check(verifier: Verifier, cases: Sequence[Case]) -> dict[str, Any]:
    """How the verifier judges originals and corruptions."""
    verdicts = [
        (case, verifier.check_sentence(case.sentence, case.passages).kept) for case in cases
    ]
    return _scores(verdicts)


def _scores(verdicts: Sequence[tuple[Case, bool]]) -> dict[str, Any]:
    accepted_good = sum(kept for case, kept in verdicts if not case.corrupted)
    accepted_bad = sum(kept for case, kept in verdicts if case.corrupted)
    originals = sum(not case.corrupted for case, _ in verdicts)
    corrupted = len(verdicts) - originals
    by_kind: dict[str, list[bool]] = {}
    for case, kept in verdicts:
        if case.corrupted:
            by_kind.setdefault(case.kind, []).append(not kept)
    return {
        "originals": originals,
        "corrupted": corrupted,
        "originals_kept": round(accepted_good / originals, 4) if originals else None,
        "corruptions_caught": round(1 - accepted_bad / corrupted, 4) if corrupted else None,
        "caught_by_kind": {k: round(sum(v) / len(v), 4) for k, v in sorted(by_kind.items())},
        "precision": round(accepted_good / (accepted_good + accepted_bad), 4)
        if accepted_good + accepted_bad
        else None,
    }


def threshold_sweep(
    verifier: Verifier, cases: Sequence[Case], thresholds: Sequence[float]
) -> list[dict[str, Any]]:
    """The corruption figures at each support threshold (the verifier is restored after)."""
    saved = verifier.threshold
    rows = []
    try:
        for threshold in thresholds:
            verifier.threshold = threshold
            rows.append({"threshold": threshold, **corruption_check(verifier, cases)})
    finally:
        verifier.threshold = saved
    return rows


# -- the whole measurement ------------------------------------------------------------------------


def sentence_cases(
    kept: Sequence[dict[str, str]], passages: Mapping[str, Passage]
) -> list[tuple[str, list[Hit]]]:
    """(sentence citing [1], [its source chunk]) pairs for :func:`build_cases`."""
    out = []
    for item in kept:
        if item["chunk_id"] in passages:
            out.append((f"{item['text']} [1]", [Hit.of(passages[item["chunk_id"]])]))
    return out


def measure(dataset_dir: Path, settings: Settings, llm: str, limit: int | None) -> dict[str, Any]:
    """Evaluate ``llm`` on a RealTime QA split, then check the verifier on corrupted answers
    made from the extractive answers' quotes and the model's verified sentences."""
    result = run_eval(dataset_dir, settings=settings, llm=llm, limit=limit)
    eval_settings = settings.model_copy(
        update={"data_dir": Path(result["index"]["dir"]), "llm": "extractive"}
    )
    service = build_service(eval_settings)
    kept: list[dict[str, str]] = []
    for row in result["rows"]:
        kept.extend(kept_sentences(service.ask(row["question"])))
        kept.extend(row.get("kept") or [])
    passages = service.searcher.passages([item["chunk_id"] for item in kept])
    verifier = Verifier(
        service.searcher.embedder.encode, settings.verify_threshold, settings.verify_mode
    )
    cases = build_cases(sentence_cases(kept, passages))
    sweep = threshold_sweep(verifier, cases, [0.5, 0.55, 0.6, 0.62, 0.65, 0.7, 0.75, 0.8])
    return {
        "llm": llm,
        "questions": result["questions"],
        "metrics": {
            k: v for k, v in result["metrics"].items() if k not in ("hybrid", "dense", "bm25")
        },
        "threshold": verifier.threshold,
        "corruption": corruption_check(verifier, cases),
        "threshold_sweep": sweep,
        "answers": [
            {key: row.get(key) for key in ("question", "answer", "answerer", "note", "sentences")}
            for row in result["rows"]
        ],
    }


def main(argv: Sequence[str] | None = None) -> None:
    """python -m bot.evaluation.measure DATASET_DIR --llm smollm2 [--limit N] [--json OUT]"""
    import argparse
    import json

    from bot.settings import get_settings

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("dataset_dir", type=Path)
    parser.add_argument("--llm", default="smollm2")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    report = measure(args.dataset_dir, get_settings(), args.llm, args.limit)
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
