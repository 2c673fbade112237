"""Scale: an index of N chunks (real news sentences, synthetic near-copy vectors) answering.

    python -m benchmarks.scale --chunks N [--store DIR] [--json OUT] [--write]

``--store DIR`` builds the store there, or reuses it when it already holds N chunks; it is a
normal newsbot data directory (``NEWSBOT_DATA_DIR=DIR newsbot ask "..."`` answers from it). The
articles are recombined from the RealTime QA dev pages (../shared): each is the sentences of one
page in a shuffled order, with a sentence of another page now and then, dated over 2025, so BM25
sees a real news vocabulary. Their vectors are near-copies of the embedding of the page they come
from (embedding N chunks would take hours); everything else, questions and the 100 arrivals
included, is embedded by the real model. The store is written by `newsbot index`'s own code.

Figures (each step in a fresh process): the build (store, then the keyword index), process start
to first answer, warm p50/p95 per stage, the answering process's peak RSS, and the arrival path:
while one process answers questions in a loop, another indexes 100 new articles; how long after
that update commits the new articles are answered from, and the longest any question waited
while it ran.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np

from benchmarks import common

STAGES = ("snapshot", "embed", "dense", "bm25", "fuse", "answer", "total")
BASE_PAGES = 1_500  # dev pages whose embeddings the near-copies are made from
CHARS_PER_ARTICLE = 4_500  # about five chunks
ARRIVALS = 100
TODAY = date(2025, 12, 31)  # the questions are asked at the end of the year the articles span
DONE = "scale-complete.json"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'“])")


def _settings(store: Path) -> Any:
    from bot.settings import Settings

    return Settings(_env_file=None, data_dir=store, article_dirs=[store / "articles"])


def _pages(count: int = BASE_PAGES) -> list[Any]:
    pages = [p for p in common.dev_pages(distractors=True) if len(p.text) >= 600 and p.title]
    return pages[:count]


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if 30 <= len(s.strip()) <= 600]


class NearCopies:
    """An embedder whose vectors for a recombined article are near-copies of its source page's
    real embedding (found by the article's title); anything else goes to the real model."""

    def __init__(self, real: Any, base: dict[str, np.ndarray]) -> None:
        self.real = real
        self.base = base
        self.rng = np.random.default_rng(0)

    @property
    def key(self) -> str:
        return str(self.real.key)

    @property
    def loaded(self) -> bool:
        return True

    @property
    def dimension(self) -> int:
        return int(self.real.dimension)

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            vector = self.base.get(text.split("\n", 1)[0])
            if vector is None:
                rows.append(self.real.encode([text])[0])
                continue
            noisy = vector + self.rng.normal(0, 0.02, vector.shape).astype(np.float32)
            rows.append(noisy / np.linalg.norm(noisy))
        return np.asarray(rows, dtype=np.float32)


def build(store: Path, chunks: int) -> dict[str, Any]:
    """Write the recombined articles and index them (unless ``store`` already holds them)."""
    from bot.answering.service import build_embedder
    from bot.evaluation.dataset import Page, write_records
    from index import build as build_module
    from index.build import build_index

    done = store / DONE
    if done.exists():
        recorded: dict[str, Any] = json.loads(done.read_text())
        if recorded.get("target") == chunks:
            return {**recorded, "reused": True}
    settings = _settings(store)
    pages = _pages(max(ARRIVALS, min(BASE_PAGES, chunks // 60)))
    rng = random.Random(0)
    sentences = [_sentences(p.text) for p in pages]
    pool = [s for group in sentences for s in group]
    clock = time.perf_counter()
    real = build_embedder(settings)
    vectors = real.encode([f"{p.title}\n{p.text[:900]}" for p in pages])
    base = {p.title: v for p, v in zip(pages, vectors, strict=True)}
    embed_seconds = time.perf_counter() - clock
    folder = store / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    written, number, batch, files = 0, 0, [], 0
    while written < chunks:
        index = number % len(pages)
        page, own = pages[index], sentences[index] or [pages[index].text[:500]]
        body: list[str] = []
        while sum(len(s) + 1 for s in body) < CHARS_PER_ARTICLE:
            body.append(rng.choice(pool) if rng.random() < 0.1 else rng.choice(own))
        text = " ".join(body)
        day = date(2025, 1, 1) + timedelta(days=number % 365)
        batch.append(Page(f"{page.url}#v{number}", page.title, text, [], day.isoformat()))
        written += -(-len(text) // 850)  # about what the chunker makes of it
        number += 1
        if len(batch) == 250 or written >= chunks:
            write_records(batch, folder / f"corpus-{files:05d}.jsonl")
            batch, files = [], files + 1
    marks: dict[str, float] = {}
    build_module.CHECKPOINTS.append(lambda point: _mark(marks, point, time.perf_counter()))
    clock = time.perf_counter()
    report = build_index(settings, [folder], embedder=cast(Any, NearCopies(real, base)))
    ended = time.perf_counter()
    result = {
        "target": chunks,
        "articles": report.articles,
        "chunks_written": report.chunks_written,
        "base_embed_s": round(embed_seconds, 1),
        "store_build_s": round(marks.get("publish", ended) - clock, 1),
        "keyword_build_s": round(marks.get("keyword", ended) - marks.get("publish", clock), 1),
    }
    done.write_text(json.dumps(result))
    return {**result, "reused": False}


def _mark(marks: dict[str, float], point: str, when: float) -> None:
    marks.setdefault(point, when)


def _questions(count: int) -> list[str]:
    from bot.evaluation.dataset import load_dataset

    corpus = load_dataset(common.SHARED_DEV)
    return [q.sentence for q in corpus.questions[:count]]


# -- the child processes ------------------------------------------------------------------------


def step_keyword(store: Path) -> dict[str, Any]:
    """Open the keyword index as an answering process would, building it when it is missing or
    of an older format (timed: a rebuild reads every chunk from the store)."""
    from index.keyword import KeywordIndex
    from index.store import Store

    opened = Store.open(_settings(store))
    keyword = KeywordIndex.for_store(opened)
    state = keyword.state() if keyword.path.exists() else None
    clock = time.perf_counter()
    keyword.ensure(opened)
    return {"rebuilt": state is None, "keyword_build_s": round(time.perf_counter() - clock, 1)}


def step_answer(store: Path, started: float, questions: list[str]) -> dict[str, Any]:
    """Start to first answer, then warm timings per stage, and peak RSS."""
    from bot.answering.service import build_service

    service = build_service(_settings(store))
    service.ask(questions[0], today=TODAY)
    first = time.time() - started
    for question in questions[1:4]:
        service.ask(question, today=TODAY)
    timings: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for question in questions:
        answer = service.ask(question, today=TODAY)
        for stage in STAGES:
            timings[stage].append(answer.timings.get(stage, 0.0) * 1000)
    return {
        "first_answer_s": round(first, 2),
        "p50": {s: round(common.percentile(v, 50), 1) for s, v in timings.items()},
        "p95": {s: round(common.percentile(v, 95), 1) for s, v in timings.items()},
        "questions": len(questions),
        "rss_mib": round(common.hwm_rss_mb() or common.peak_rss_mb(), 1),
        "chunks": service.searcher.snapshot().chunks,
    }


def step_startup(store: Path, started: float, question: str) -> dict[str, Any]:
    """Where the time to a first answer goes, part by part, in a fresh process started at
    ``started``: importing, opening the store, loading the embedding model's session, opening
    the keyword index (and a first keyword query), Chroma's first vector query (it loads the
    vector index), then the first whole question and a second one."""
    parts: dict[str, float] = {"python_start_s": time.time() - started}
    clock = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        parts[name] = now - clock
        clock = now

    from bot.answering.service import build_embedder, build_service
    from index.keyword import KeywordIndex, tokenize
    from index.store import Store

    mark("import_s")
    settings = _settings(store)
    opened = Store.open(settings)
    meta = opened.meta()
    assert meta is not None
    mark("store_open_s")
    embedder = build_embedder(settings, opened)
    vector = embedder.encode([question])[0]
    mark("model_load_and_embed_s")
    keyword = KeywordIndex.for_store(opened)
    keyword.ensure(opened)
    with keyword.reading() as reader:
        reader.top(tokenize(question), 40)
    mark("keyword_open_and_query_s")
    opened.query(meta.generation, vector, 50)
    mark("chroma_first_query_s")
    service = build_service(settings, store=opened, embedder=embedder)
    service.ask(question, today=TODAY)
    mark("first_question_s")
    service.ask(question, today=TODAY)
    mark("second_question_s")
    parts["first_answer_s"] = time.time() - started - parts["second_question_s"]
    return {k: round(v, 3) for k, v in parts.items()}


def step_loop(store: Path, word: str, questions: list[str], stop: Path, out: Path) -> None:
    """Answer in a loop (every other question asks about the arrivals) until ``stop`` exists;
    one JSON line per question: when it started, how long it took, whether it cited them."""
    from bot.answering.service import build_service

    service = build_service(_settings(store))
    for question in questions[:3]:
        service.ask(question, today=TODAY)
    print("ready", flush=True)
    deadline = time.monotonic() + 600
    with out.open("w") as handle:
        number = 0
        while not stop.exists() and time.monotonic() < deadline:
            arrival = number % 2 == 0
            question = f"What did the {word} festival draw?" if arrival else questions[number]
            started = time.time()
            answer = service.ask(question, today=TODAY)
            took = time.time() - started
            cited = any(word in c.title.lower() for c in answer.citations)
            row: dict[str, Any] = {
                "start": started,
                "ms": took * 1000,
                "arrival": arrival,
                "cited": cited,
            }
            row["stages"] = {k: round(v * 1000, 1) for k, v in answer.timings.items()}
            handle.write(json.dumps(row) + "\n")
            handle.flush()
            number = (number + 1) % len(questions)


def step_arrive(store: Path, word: str) -> dict[str, Any]:
    """Index 100 new articles (real embeddings) into the store; when the update committed."""
    from bot.evaluation.dataset import Page, write_records
    from index import build as build_module
    from index.build import build_index
    from index.priority import lowered

    pages = _pages(ARRIVALS)
    started = time.time()
    arrivals = [
        Page(
            f"https://arrivals.example/{word}/{n}",
            f"{word.title()} festival draws record crowds ({n})",
            f"The {word} festival drew record crowds of {12_000 + n} visitors on Saturday. "
            + " ".join(_sentences(page.text)[:8]),
            [],
            TODAY.isoformat(),
        )
        for n, page in enumerate(pages)
    ]
    write_records(arrivals, store / "articles" / f"arrivals-{word}.jsonl")
    marks: dict[str, float] = {}
    build_module.CHECKPOINTS.append(lambda point: _mark(marks, point, time.time()))
    settings = _settings(store)
    with lowered(settings.update_nice):  # as `newsbot add` and `newsbot watch` index
        report = build_index(settings)
    return {
        "start": started,
        "committed": marks.get("keyword", time.time()),
        "ended": time.time(),
        "added": report.added,
        "chunks_written": report.chunks_written,
    }


def _word() -> str:
    return "quillmoor" + "".join("abcdefghij"[int(d)] for d in str(int(time.time()))[-6:])


def arrival(store: Path, questions_file: Path) -> dict[str, Any]:
    word = _word()
    stop, out = store / f"stop-{word}", store / f"loop-{word}.jsonl"
    loop = subprocess.Popen(
        [
            *(sys.executable, "-m", "benchmarks.scale", "--step", "loop", "--store", str(store)),
            *("--word", word, "--questions", str(questions_file), "--out", str(out)),
            *("--stop", str(stop)),
        ],
        cwd=common.ROOT,
        env=common.offline_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert loop.stdout is not None
        loop.stdout.readline()  # "ready"
        time.sleep(3)
        writer = common.run_step(
            "benchmarks.scale", "--step", "arrive", "--store", str(store), "--word", word
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
            if any(r["cited"] for r in rows):
                break
            time.sleep(0.5)
        time.sleep(2)
    finally:
        stop.touch()
        loop.wait(timeout=120)
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    before = [r["ms"] for r in rows if r["start"] + r["ms"] / 1000 < writer["start"]]
    during = [
        r["ms"]
        for r in rows
        if r["start"] < writer["committed"] + 5 and r["start"] + r["ms"] / 1000 > writer["start"]
    ]
    seen = [r["start"] + r["ms"] / 1000 for r in rows if r["cited"]]
    visible = min(seen) - writer["committed"] if seen else None
    return {
        "arrival_visible_s": round(visible, 2) if visible is not None else None,
        "max_wait_ms": round(max(during), 1) if during else None,
        "loop_p50_before_ms": round(common.percentile(before, 50), 1) if before else None,
        "update_s": round(writer["ended"] - writer["start"], 1),
        "arrivals_added": writer["added"],
        "arrival_chunks": writer["chunks_written"],
        "questions_during_update": len(during),
    }


def step_engines(store: Path, questions: list[str]) -> dict[str, Any]:
    """The keyword engines on the same chunks and questions (every word of each): tantivy as
    the keyword index queries it (index/postings.py), SQLite FTS5's ``bm25()`` (the engine
    before it, built here in a scratch file from the same tokens) and bm25s built in memory,
    as every answering process did before the keyword index was on disk; how often tantivy's
    top 10 is FTS5's (both BM25 with k1 1.2, b 0.75); and what an update of 600 chunks costs
    tantivy (600 added, 600 deleted, one commit, and a reader's reload)."""
    import sqlite3
    import tempfile

    import bm25s
    from bm25s.selection import topk

    from index.keyword import FILENAME, KeywordIndex, tokenize
    from index.postings import Postings

    tokens = [t for t in (tokenize(q) for q in questions) if t]
    keyword = KeywordIndex(store / FILENAME, "")
    result: dict[str, Any] = {
        "keyword_file_mib": round((store / FILENAME).stat().st_size / 2**20, 1)
    }
    ours: list[set[int]] = []
    with keyword.reading() as reader:
        reader.top(tokens[0], 40)  # opens the postings
        took = []
        for words in tokens:
            clock = time.perf_counter()
            top = reader.top(words, 40)
            took.append((time.perf_counter() - clock) * 1000)
            ours.append(
                {
                    reader.connection.execute(
                        "SELECT rowid FROM chunks WHERE id = ?", (cid,)
                    ).fetchone()[0]
                    for cid, _ in top[:10]
                }
            )
    result["tantivy_p50_ms"] = round(common.percentile(took, 50), 2)
    result["tantivy_p95_ms"] = round(common.percentile(took, 95), 2)
    connection = sqlite3.connect(store / FILENAME)
    rows = connection.execute("SELECT rowid, tokens, published FROM chunks").fetchall()
    scratch = Path(tempfile.mkdtemp(prefix="scale-engines-"))
    try:
        result.update(_tantivy_update(Postings(scratch / "postings"), rows))
        result.update(_fts5(scratch / "fts5.sqlite3", rows, tokens, ours))
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    corpus = [str(text).split() for _, text, _ in rows]
    clock = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    result["bm25s_build_s"] = round(time.perf_counter() - clock, 1)
    took = []
    for words in tokens:
        known = [t for t in words if t in retriever.vocab_dict]
        clock = time.perf_counter()
        if known:
            topk(retriever.get_scores(known), 40, "numpy")
        took.append((time.perf_counter() - clock) * 1000)
    result["bm25s_p50_ms"] = round(common.percentile(took, 50), 1)
    return result


def _tantivy_update(postings: Any, rows: list[tuple[int, str, str]]) -> dict[str, Any]:
    clock = time.perf_counter()
    with postings.writing([], above=0, clear=True) as add:
        for row, text, published in rows:
            add(row, text, published)
    built = time.perf_counter() - clock
    searcher = postings.searcher("before")
    moved = rows[-600:]
    clock = time.perf_counter()
    top = max(row for row, _, _ in rows)
    with postings.writing([row for row, _, _ in moved], above=top) as add:
        for row, text, published in moved:
            add(row + top, text, published)
    update = time.perf_counter() - clock
    clock = time.perf_counter()
    postings.top(postings.searcher("after"), ["festiv"], 40, None, None)
    reload = time.perf_counter() - clock
    del searcher
    size = sum(f.stat().st_size for f in postings.path.iterdir() if f.is_file())
    return {
        "tantivy_build_s": round(built, 1),
        "tantivy_update_600_s": round(update, 2),
        "tantivy_reload_ms": round(reload * 1000, 1),
        "tantivy_dir_mib": round(size / 2**20, 1),
    }


def _fts5(
    path: Path, rows: list[tuple[int, str, str]], tokens: list[list[str]], ours: list[set[int]]
) -> dict[str, Any]:
    import sqlite3

    connection = sqlite3.connect(path)
    connection.execute("CREATE VIRTUAL TABLE terms USING fts5(tokens, tokenize='ascii')")
    clock = time.perf_counter()
    connection.executemany(
        "INSERT INTO terms (rowid, tokens) VALUES (?, ?)", ((r, t) for r, t, _ in rows)
    )
    connection.commit()
    built = time.perf_counter() - clock
    took, shared = [], []
    for words, mine in zip(tokens, ours, strict=True):
        match = " OR ".join(f'"{w}"' for w in words)
        clock = time.perf_counter()
        top = connection.execute(
            "SELECT rowid FROM terms WHERE terms MATCH ? ORDER BY bm25(terms) LIMIT 40", (match,)
        ).fetchall()
        took.append((time.perf_counter() - clock) * 1000)
        theirs = {r for (r,) in top[:10]}
        shared.append(len(theirs & mine) / max(1, len(theirs)))
    return {
        "fts5_build_s": round(built, 1),
        "fts5_all_words_p50_ms": round(common.percentile(took, 50), 1),
        "fts5_all_words_p95_ms": round(common.percentile(took, 95), 1),
        "tantivy_top10_shared_with_fts5": round(sum(shared) / max(1, len(shared)), 3),
    }


# -- the orchestrator ---------------------------------------------------------------------------


def run(chunks: int, store: Path) -> dict[str, Any]:
    built = build(store, chunks)
    questions = _questions(60)
    questions_file = store / "scale-questions.json"
    questions_file.write_text(json.dumps(questions))
    opened = common.run_step("benchmarks.scale", "--step", "keyword", "--store", str(store))
    if opened["rebuilt"]:  # e.g. a store built before the keyword index's format changed
        built = {**built, "keyword_build_s": opened["keyword_build_s"], "keyword_rebuilt": True}
    started = time.time()
    answer = common.run_step(
        "benchmarks.scale",
        "--step",
        "answer",
        "--store",
        str(store),
        "--started",
        repr(started),
        "--questions",
        str(questions_file),
    )
    result = {
        "chunks": answer["chunks"],
        "first_answer_s": answer["first_answer_s"],
        "p50_ms": answer["p50"]["total"],
        "p95_ms": answer["p95"]["total"],
        "rss_mib": answer["rss_mib"],
        "stages_p50_ms": answer["p50"],
        "stages_p95_ms": answer["p95"],
        "build": built,
        "machine": common.machine(),
    }
    result["startup"] = common.run_step(
        "benchmarks.scale",
        *("--step", "startup", "--store", str(store), "--questions", str(questions_file)),
        *("--started", repr(time.time())),
    )
    result.update(arrival(store, questions_file))
    result["engines"] = common.run_step(
        "benchmarks.scale",
        "--step",
        "engines",
        "--store",
        str(store),
        "--questions",
        str(questions_file),
    )
    return result


STARTUP_PARTS = (
    ("python_start_s", "Python"),
    ("import_s", "imports"),
    ("store_open_s", "Chroma: import and open"),
    ("model_load_and_embed_s", "embedding model"),
    ("keyword_open_and_query_s", "keyword index"),
    ("chroma_first_query_s", "Chroma: vector index load"),
    ("first_question_s", "first question"),
)


def _startup_rows(startup: dict[str, Any] | None) -> list[list[str]]:
    if not startup:
        return []
    return [
        [
            "start to first answer, part by part, one after the other: "
            + " / ".join(label for _, label in STARTUP_PARTS)
            + " (s)",
            " / ".join(str(startup[key]) for key, _ in STARTUP_PARTS)
            + f" (sum {startup['first_answer_s']} s)",
        ]
    ]


def markdown(result: dict[str, Any]) -> str:
    stages = ("snapshot", "embed", "dense", "bm25", "fuse", "answer")
    p50, p95 = result["stages_p50_ms"], result["stages_p95_ms"]
    build_figures = result["build"]
    rows = [
        ["chunks", f"{result['chunks']:,}"],
        [
            "store build (near-copy vectors, `newsbot index`'s code)",
            f"{build_figures['store_build_s']} s",
        ],
        ["keyword index build from the store", f"{build_figures['keyword_build_s']} s"],
        ["process start to first answer", f"{result['first_answer_s']} s"],
        ["warm p50 / p95 per question", f"{result['p50_ms']} / {result['p95_ms']} ms"],
        [
            "p50 " + " / ".join(stages) + " (ms)",
            " / ".join(str(p50[s]) for s in stages),
        ],
        [
            "p95 " + " / ".join(stages) + " (ms)",
            " / ".join(str(p95[s]) for s in stages),
        ],
        ["answering process peak RSS", f"{result['rss_mib']} MiB"],
        *_startup_rows(result.get("startup")),
        [
            f"{result['arrivals_added']} new articles answered from, after their update commits",
            (
                f"{result['arrival_visible_s']} s"
                if result["arrival_visible_s"] is not None
                else "never, within the run (no answer in the loop cited them)"
            ),
        ],
        ["longest question while the update ran", f"{result['max_wait_ms']} ms"],
        ["the update itself (another process, real embeddings)", f"{result['update_s']} s"],
    ]
    engines = result.get("engines")
    if engines:
        rows += [
            [
                "keyword index: SQLite file (record) / tantivy postings",
                f"{engines['keyword_file_mib']} / {engines['tantivy_dir_mib']} MiB",
            ],
            [
                "keyword query p50 / p95, every word: tantivy (the index) / SQLite FTS5 `bm25()`",
                f"{engines['tantivy_p50_ms']} / {engines['tantivy_p95_ms']} ms; "
                f"{engines['fts5_all_words_p50_ms']} / {engines['fts5_all_words_p95_ms']} ms",
            ],
            ["keyword query p50: bm25s in memory", f"{engines['bm25s_p50_ms']} ms"],
            [
                "tantivy's top 10 that are FTS5's too (mean over the questions)",
                f"{engines['tantivy_top10_shared_with_fts5']}",
            ],
            [
                "postings built from the chunks' tokens: tantivy / FTS5 / bm25s in memory",
                f"{engines['tantivy_build_s']} / {engines['fts5_build_s']} / {engines['bm25s_build_s']} s",
            ],
            [
                "tantivy: an update of 600 chunks (600 added, 600 deleted, one commit) / a reader's reload",
                f"{engines['tantivy_update_600_s']} s / {engines['tantivy_reload_ms']} ms",
            ],
        ]
    return (
        f"`python -m benchmarks.scale --chunks {result['target'] if 'target' in result else result['chunks']}` "
        f"({result['machine']}).\n\n" + common.table(["figure", "measured"], rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--store", type=Path, help="build or reuse the store here")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument(
        "--step",
        choices=["keyword", "answer", "startup", "loop", "arrive", "engines"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--questions", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--word", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stop", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "answer":
        questions = json.loads(args.questions.read_text())
        common.emit(step_answer(args.store, args.started, questions))
        return
    if args.step == "startup":
        questions = json.loads(args.questions.read_text())
        common.emit(step_startup(args.store, args.started, questions[0]))
        return
    if args.step == "loop":
        questions = json.loads(args.questions.read_text())
        step_loop(args.store, args.word, questions, args.stop, args.out)
        return
    if args.step == "arrive":
        common.emit(step_arrive(args.store, args.word))
        return
    if args.step == "keyword":
        common.emit(step_keyword(args.store))
        return
    if args.step == "engines":
        common.emit(step_engines(args.store, json.loads(args.questions.read_text())))
        return
    store = args.store or common.scratch(f"scale-{args.chunks}")
    result = {"target": args.chunks, **run(args.chunks, store), "store": str(store)}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.write:
        common.write_section(f"scale-{args.chunks}", markdown(result))


if __name__ == "__main__":
    main()
