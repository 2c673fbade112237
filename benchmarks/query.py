"""Warm query latency per stage at three corpus sizes, with peak memory.

    python -m benchmarks.query                 # seed, dev + distractors, synthetic 100,000 chunks
    python -m benchmarks.query --write
    python -m benchmarks.query --quick         # seed, dev gold, synthetic 3,000 (test suite)

Sizes: the seed article; the dev corpus with distractors (the index `newsbot eval --distractors`
cached; the gold-only dev corpus when that cache is absent); a synthetic store of real chunks
copied from the dev index until it holds the target count (their stored vectors reused with a
little noise, so no re-embedding). Each size runs in its own process: three untimed warm-up
questions, then every question once, through the real answer service (extractive answerer).
Dev questions are asked on the date they were asked, as `newsbot eval` asks them, so that their
date words ("this week") take the same path as in the evaluation.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import common
from index.passage import chunk_id

MODULE = "benchmarks.query"
STAGES = ("embed", "dense", "bm25", "fuse", "answer", "total")


def _settings(data: Path) -> Any:
    from bot.settings import Settings

    return Settings(_env_file=None, data_dir=data, article_dirs=[data / "none"])


def step_query(data: Path, questions_file: Path) -> dict[str, Any]:
    from bot.answering.service import build_service

    questions = json.loads(questions_file.read_text())
    service = build_service(_settings(data))
    clock = time.perf_counter()
    snapshot = service.searcher.snapshot()
    load = time.perf_counter() - clock
    for question, day in questions[:3]:
        service.ask(question, today=_day(day))
    timings: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for question, day in questions:
        answer = service.ask(question, today=_day(day))
        for stage in STAGES:
            timings[stage].append(answer.timings.get(stage, 0.0) * 1000)
    return {
        "chunks": snapshot.chunks,
        "questions": len(questions),
        "snapshot_load": load,
        "p50": {s: common.percentile(v, 50) for s, v in timings.items()},
        "p95": {s: common.percentile(v, 95) for s, v in timings.items()},
    }


def step_synth(source: Path, data: Path, target: int) -> dict[str, Any]:
    """Copy the live chunks of ``source`` (with their vectors) into a new index of ``target``."""
    from dataclasses import replace

    from bot.answering.service import build_store

    src = build_store(_settings(source))
    meta = src.meta()
    assert meta is not None, f"no index in {source}"
    manifest = src.manifest(meta.generation)
    chunks = [(cid, m, text) for cid, m, text in src.all_chunks(meta.generation)]
    vectors = src.vectors(meta.generation, [cid for cid, _, _ in chunks])
    texts = src.article_texts(meta.generation, list(manifest))
    dst = build_store(_settings(data))
    rng = np.random.default_rng(0)
    written, copy = 0, 0
    clock = time.perf_counter()
    while written < target:
        ids, vecs, docs, metas, rows = [], [], [], [], []
        for record in manifest.values():
            rows.append((replace(record, id=f"{record.id}~{copy}"), texts[record.id]))
        for cid, m, text in chunks[: target - written]:
            # a chunk id names its article version (the keyword index reads chunks by it)
            ids.append(chunk_id(f"{m['article_id']}~{copy}", m["content_hash"], m["position"]))
            noisy = vectors[cid] + rng.normal(0, 0.01, vectors[cid].shape).astype(np.float32)
            vecs.append(noisy / np.linalg.norm(noisy))
            docs.append(text)
            metas.append({**m, "article_id": f"{m['article_id']}~{copy}"})
        for start in range(0, len(ids), 5000):
            dst.add_chunks(
                meta.generation,
                ids[start : start + 5000],
                np.asarray(vecs[start : start + 5000]),
                docs[start : start + 5000],
                metas[start : start + 5000],
            )
        for start in range(0, len(rows), 2000):
            dst.commit_articles(meta.generation, rows[start : start + 2000])
        written += len(ids)
        copy += 1
    dst.write_meta(replace(meta, revision=1, updated=dst.now()))
    return {"chunks": written, "seconds": time.perf_counter() - clock}


# -- the orchestrator ---------------------------------------------------------------------------


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _dev_questions(limit: int | None = None) -> list[tuple[str, str]]:
    """(question, the date it was asked) for the answerable dev questions."""
    from bot.evaluation.dataset import load_dataset

    corpus = load_dataset(common.SHARED_DEV)
    return [(q.sentence, q.date.isoformat()) for q in corpus.answerable()][:limit]


def _dev_index(eval_cache: Path, quick: bool) -> tuple[Path, str]:
    """The cached distractor index when there is one, else a fresh gold-only dev index."""
    from bot.evaluation.run import cache_key, select_corpus, write_corpus
    from bot.settings import Settings

    settings = Settings(_env_file=None)
    if not quick:
        corpus = common.scratch("dev") / "realtimeqa-corpus"
        pages = select_corpus(common.SHARED_DEV, distractors=True)[0].pages
        key = cache_key(write_corpus(pages, corpus), settings)
        if (eval_cache / key).is_dir():
            return eval_cache / key, "dev + distractors"
    data = common.scratch("dev-gold")
    _build(common.write_pages(common.dev_pages(distractors=False), data / "articles"), data)
    return data, "dev, gold articles only"


def _build(corpus: Path, data: Path) -> None:
    from bot.settings import Settings
    from index.build import build_index

    build_index(Settings(_env_file=None, data_dir=data, article_dirs=[corpus]))


def measure(quick: bool, eval_cache: Path, target: int) -> list[dict[str, Any]]:
    seed = common.scratch("seed")
    (seed / "articles").mkdir()
    for file in common.SEEDS.iterdir():
        shutil.copy(file, seed / "articles" / file.name)
    _build(seed / "articles", seed)
    dev, dev_label = _dev_index(eval_cache, quick)
    synth = common.scratch("synth")
    common.run_step(
        MODULE, "--step", "synth", str(dev), "--data", str(synth), "--target", str(target)
    )
    questions = common.scratch("questions")
    (questions / "seed.json").write_text(
        json.dumps([(q, None) for q in common.SEED_QUESTIONS] * (2 if quick else 10))
    )
    (questions / "dev.json").write_text(json.dumps(_dev_questions(10 if quick else None)))
    results = []
    for label, data, qfile in [
        ("seed article", seed, "seed.json"),
        (dev_label, dev, "dev.json"),
        (f"synthetic {target:,} chunks", synth, "dev.json"),
    ]:
        result = common.run_step(
            MODULE, "--step", "query", str(data), "--questions", str(questions / qfile)
        )
        result["label"] = label
        results.append(result)
    return results


def render(results: list[dict[str, Any]], quick: bool) -> str:
    rows = []
    for r in results:
        stages = " / ".join(f"{r['p50'][s]:.1f}" for s in STAGES[:-1])
        rows.append(
            [
                r["label"],
                f"{r['chunks']:,}",
                r["questions"],
                f"**{r['p50']['total']:.0f} ms**",
                f"{r['p95']['total']:.0f} ms",
                stages,
                f"{r['snapshot_load']:.1f} s",
                f"{r['rss_mb']:.0f} MiB",
            ]
        )
    return "\n".join(
        [
            f"Machine: {common.machine()}.",
            "",
            f"Run: `python -m benchmarks.query{' --quick' if quick else ''} --write`. Warm latency of "
            "`AnswerService.ask` with the extractive answerer, in one process per size.",
            "",
            common.table(
                [
                    "corpus",
                    "chunks",
                    "questions",
                    "p50 total",
                    "p95 total",
                    "p50 embed / dense / BM25 / fuse / answer (ms)",
                    "first-query load",
                    "peak RSS",
                ],
                rows,
            ),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--questions", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--target", type=int, default=100_000, help="synthetic store size")
    parser.add_argument("--quick", action="store_true", help="small sizes (test suite)")
    parser.add_argument(
        "--eval-cache",
        type=Path,
        default=None,
        help="where `newsbot eval` cached its indexes (default: data dir)",
    )
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if args.step == "query":
        common.emit(step_query(args.path, args.questions))
        return
    if args.step == "synth":
        common.emit(step_synth(args.path, args.data, args.target))
        return
    from bot.settings import Settings

    target = 1500 if args.quick else args.target
    cache = args.eval_cache or Settings().data_dir / "eval-cache"
    markdown = render(measure(args.quick, cache, target), args.quick)
    print(markdown)
    if args.write:
        common.write_section("query", markdown)


if __name__ == "__main__":
    main()
