"""The wait during an update on the embedded store, by its SQLite file's journal mode.

    python -m benchmarks.store_wait [--chunks 40000] [--batches 6] [--hogs 1] [--store DIR] [--write]

One process reads the store in a loop, as a question does (the revision pointer, a vector query
of 50, the stored vectors of 40 chunks), while another, at the update priority
(``NEWSBOT_UPDATE_NICE``), writes arrivals through the same :class:`index.store.Store` calls as
`newsbot add` (batches of 256 chunks with their texts and metadata, the articles' manifest rows
with their texts, then deletes of as many replaced chunks); ``--hogs`` busy processes stand for
the answering process's own CPU use. Run once with the file in rollback-journal mode (as Chroma
leaves it) and once in WAL mode (what newsbot sets: index/store.py, ``use_journal``), each on a
copy of the same store of ``--chunks`` chunks (texts: sentences of the dev pages; random vectors).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import common

DIMENSION = 384
PER_ARTICLE = 5
BATCH = 256  # index/build.py: BATCH_CHUNKS
CHUNK_CHARS = 850
MODES = {"rollback journal": False, "WAL": True}


def _store(folder: Path) -> Any:
    from index.config import StoreSettings
    from index.store import Store

    return Store.open(StoreSettings(_env_file=None, data_dir=folder))


def _pool() -> list[str]:
    pages = common.dev_pages(distractors=True, pages=600)
    return [s for p in pages for s in p.text.split(". ") if 40 <= len(s) <= 400]


def _texts(rng: random.Random, pool: list[str], count: int, chars: int) -> list[str]:
    texts = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 2 for p in parts) < chars:
            parts.append(rng.choice(pool))
        texts.append(". ".join(parts))
    return texts


def _write(
    store: Any, rng: random.Random, pool: list[str], first: int, chunks: int, day: str
) -> None:
    """``chunks`` chunks of new articles numbered from ``first``, then their manifest rows."""
    from index.store import ArticleRecord

    articles = [f"a{n}" for n in range(first, first + chunks // PER_ARTICLE)]
    ids = [f"{a}:h:{p}" for a in articles for p in range(PER_ARTICLE)]
    vectors = np.random.default_rng(first).standard_normal((len(ids), DIMENSION))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    metadatas = [
        {"article_id": i.split(":")[0], "content_hash": "h", "position": k % PER_ARTICLE}
        | {"published": day, "title": "t", "url": "u"}
        for k, i in enumerate(ids)
    ]
    store.add_chunks(1, ids, vectors, _texts(rng, pool, len(ids), CHUNK_CHARS), metadatas)
    texts = _texts(rng, pool, len(articles), CHUNK_CHARS * PER_ARTICLE)
    rows = [
        (ArticleRecord(a, "h", "src", "", "t", "u", day, "", PER_ARTICLE), text)
        for a, text in zip(articles, texts, strict=True)
    ]
    store.commit_articles(1, rows)


def step_build(folder: Path, chunks: int) -> dict[str, Any]:
    from index.store import IndexMeta, Store

    store, rng, pool = _store(folder), random.Random(0), _pool()
    store.write_meta(IndexMeta(1, 1, "random", DIMENSION, "none", Store.now()))
    for start in range(0, chunks, 2000):
        _write(store, rng, pool, start // PER_ARTICLE, 2000, f"2025-{1 + start % 12:02d}-10")
    return {"chunks": store.count_chunks(1)}


def step_read(folder: Path, stop: Path, out: Path) -> None:
    """Read as a question does until ``stop`` exists; one JSON line per round."""
    store, rng = _store(folder), random.Random(1)
    ids = store.chunk_ids(1)
    vectors = np.random.default_rng(1).standard_normal((1000, DIMENSION)).astype(np.float32)
    store.query(1, vectors[0], 50)
    print("ready", flush=True)
    with out.open("w") as handle:
        number = 0
        while not stop.exists():
            row: dict[str, float] = {"start": time.time()}
            clock = time.perf_counter()
            store.meta()
            row["meta"] = _since(clock)
            clock = time.perf_counter()
            store.query(1, vectors[number % 1000], 50)
            row["query"] = _since(clock)
            clock = time.perf_counter()
            store.vectors(1, rng.sample(ids, 40))
            row["vectors"] = _since(clock)
            handle.write(json.dumps(row) + "\n")
            handle.flush()
            number += 1
            time.sleep(0.03)


def _since(clock: float) -> float:
    return (time.perf_counter() - clock) * 1000


def step_update(folder: Path, batches: int) -> dict[str, Any]:
    """Write ``batches`` batches of arrivals at the update priority, each followed by deletes
    of as many older chunks (their replaced versions), then a new revision."""
    from index.config import WebSettings
    from index.priority import lowered
    from index.store import IndexMeta, Store

    store, rng, pool = _store(folder), random.Random(2), _pool()
    started = time.time()
    with lowered(WebSettings(_env_file=None).update_nice):
        for number in range(batches):
            _write(store, rng, pool, 10_000_000 + number * BATCH, BATCH, "2025-12-31")
            first = number * (BATCH // PER_ARTICLE)
            old = [
                f"a{n}:h:{p}" for n in range(first, first + BATCH // PER_ARTICLE) for p in range(5)
            ]
            store.delete_chunks(1, old)
        store.write_meta(IndexMeta(1, 2, "random", DIMENSION, "none", Store.now()))
    return {"start": started, "ended": time.time()}


def _hog() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run_mode(base: Path, wal: bool, batches: int, hogs: int) -> dict[str, Any]:
    from index.store import SQLITE_FILE, use_journal

    folder = base.parent / f"{base.name}-run"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(base, folder)
    mode = use_journal(folder / "chroma" / SQLITE_FILE, wal)
    env = common.offline_env(NEWSBOT_EMBEDDED_WAL=str(wal).lower())
    stop, out = folder / "stop", folder / "reads.jsonl"
    reader = subprocess.Popen(
        [
            *(sys.executable, "-m", "benchmarks.store_wait", "--step", "read"),
            *("--store", str(folder), "--stop", str(stop), "--out", str(out)),
        ],
        cwd=common.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    busy = [_hog() for _ in range(hogs)]
    try:
        assert reader.stdout is not None
        reader.stdout.readline()  # "ready"
        time.sleep(2)
        load = os.getloadavg()[0]
        update = common.run_step(
            "benchmarks.store_wait",
            *("--step", "update", "--store", str(folder), "--batches", str(batches)),
            env=env,
        )
        time.sleep(1)
    finally:
        stop.touch()
        reader.wait(timeout=60)
        for hog in busy:
            hog.kill()
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    during = [r for r in rows if update["start"] <= r["start"] <= update["ended"]]
    before = [r for r in rows if r["start"] < update["start"]]
    result: dict[str, Any] = {"journal": mode, "load_average": round(load, 2)}
    result["update_s"] = round(update["ended"] - update["start"], 1)
    result["rounds_during"] = len(during)
    for name in ("meta", "query", "vectors"):
        result[f"{name}_max_ms"] = round(max(r[name] for r in during), 1)
    totals = [r["meta"] + r["query"] + r["vectors"] for r in during]
    result["round_p50_before_ms"] = round(
        common.percentile([r["meta"] + r["query"] + r["vectors"] for r in before], 50), 1
    )
    result["round_p50_ms"] = round(common.percentile(totals, 50), 1)
    result["round_max_ms"] = round(max(totals), 1)
    result["rounds_over_250_ms"] = sum(t > 250 for t in totals)
    shutil.rmtree(folder, ignore_errors=True)
    return result


def markdown(result: dict[str, Any]) -> str:
    rows = [
        [
            name,
            r["load_average"],
            f"{r['update_s']} s",
            f"{r['round_p50_before_ms']} / {r['round_p50_ms']} ms",
            f"{r['meta_max_ms']} / {r['query_max_ms']} / {r['vectors_max_ms']} ms",
            f"{r['round_max_ms']} ms",
            f"{r['rounds_over_250_ms']} of {r['rounds_during']}",
        ]
        for name, r in result["modes"].items()
    ]
    head = (
        f"`python -m benchmarks.store_wait --chunks {result['chunks']} --batches "
        f"{result['batches']} --hogs {result['hogs']}` ({result['machine']}): "
        f"{result['batches'] * BATCH} chunks written by a process at the update priority.\n\n"
    )
    return head + common.table(
        [
            "journal mode",
            "load average",
            "the update",
            "read round p50, before / during",
            "longest: revision pointer / vector query / 40 vectors",
            "longest round",
            "rounds over 250 ms",
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=40_000)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--hogs", type=int, default=1)
    parser.add_argument("--store", type=Path, help="the store to build or reuse")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--step", choices=["build", "read", "update"], help=argparse.SUPPRESS)
    parser.add_argument("--stop", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "build":
        common.emit(step_build(args.store, args.chunks))
        return
    if args.step == "read":
        step_read(args.store, args.stop, args.out)
        return
    if args.step == "update":
        common.emit(step_update(args.store, args.batches))
        return
    base = args.store or common.scratch("store-wait") / "base"
    if not (base / "chroma").is_dir():
        common.run_step(
            "benchmarks.store_wait",
            *("--step", "build", "--store", str(base), "--chunks", str(args.chunks)),
        )
    result: dict[str, Any] = {"chunks": args.chunks, "batches": args.batches, "hogs": args.hogs}
    result["machine"] = common.machine()
    result["modes"] = {
        name: run_mode(base, wal, args.batches, args.hogs) for name, wal in MODES.items()
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.write:
        common.write_section("store-wait", markdown(result))


if __name__ == "__main__":
    main()
