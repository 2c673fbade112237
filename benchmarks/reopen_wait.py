"""The wait of a question while its process opens the embedded store afresh (issue 16).

    python -m benchmarks.reopen_wait --store DIR [--rounds 4] [--hogs 0] [--write]

When another process publishes a revision, an answering process opens the store afresh and
loads the new vector index in a thread (index/search.py, ``_reopen``), answering meanwhile.
This measures what that costs the questions asked meanwhile, and why: one process answers the
store's questions in a loop, and in each round first alone, then beside each of

- ``reopen here``: the reopen as ``_reopen`` does it, in a thread of the answering process;
- ``reopen here, 10 nice levels lower``: the same, with that thread (and the threads it starts:
  Chroma's) at the update priority;
- ``reopen elsewhere``: the same work in another process (started and imported beforehand), so
  it takes the CPU but never Python's lock (GIL);
- ``lock only``: a thread of the answering process that holds the lock in pure Python for as
  long as the reopen took, and otherwise no CPU besides.

A question is counted beside the work when it overlaps it. Before the rounds, the first scan of a
date window at a new revision is timed both ways: reading the window's vectors again, and taking
those it held from the revision before (index/dense.py). ``--hogs`` busy processes stand for
the rest of a busy machine (an update, other programs). ``DIR`` is a newsbot data directory
(the scale benchmark's store: ``--store`` there); it is only read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import common
from benchmarks.scale import TODAY  # the day the store's questions are asked

ELSEWHERE = """
import sys
from index.config import StoreSettings
from index.store import Store
settings = StoreSettings(_env_file=None, data_dir=sys.argv[1])
store = Store.open(settings)
meta = store.meta()
print("ready", flush=True)
for line in sys.stdin:
    fresh = store.reopened()
    fresh.load_vectors(meta.generation, meta.dimension)
    print("done", flush=True)
"""


def _service(store: Path) -> Any:
    from bot.answering.service import build_service
    from bot.settings import Settings

    return build_service(Settings(_env_file=None, data_dir=store))


def _reopen_here(service: Any, nice: int = 0) -> Callable[[], float]:
    from index.priority import lowered

    def work() -> float:
        with lowered(nice):
            return _reopen(service)

    return work


def _reopen(service: Any) -> float:
    """What ``_reopen`` does in its thread: open the store afresh, load the vector index."""
    started = time.perf_counter()
    meta = service.searcher.snapshot().meta
    fresh = service.searcher.store.reopened()
    fresh.load_vectors(meta.generation, meta.dimension)
    return time.perf_counter() - started


def _reopen_elsewhere(store: Path) -> tuple[Callable[[], float], subprocess.Popen[str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", ELSEWHERE, str(store)],
        cwd=common.ROOT,
        env=common.offline_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    assert child.stdout.readline().strip() == "ready"

    def work() -> float:
        assert child.stdin is not None and child.stdout is not None
        started = time.perf_counter()
        child.stdin.write("go\n")
        child.stdin.flush()
        child.stdout.readline()
        return time.perf_counter() - started

    return work, child


def _lock_only(seconds: float) -> Callable[[], float]:
    def work() -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            sum(range(1000))  # pure Python: holds the lock but for the interpreter's switches
        return time.perf_counter() - started

    return work


def _ask_while(service: Any, questions: list[str], work: Callable[[], float] | None) -> Any:
    """Questions in a loop, alone for 1.5 s (``work`` None) or while ``work`` runs in a thread;
    (the questions' seconds, the work's seconds)."""
    took: list[float] = []
    done = threading.Event()
    spent: list[float] = []

    def run() -> None:
        assert work is not None
        spent.append(work())
        done.set()

    if work is None:
        threading.Timer(1.5, done.set).start()
    else:
        threading.Thread(target=run, daemon=True).start()
    number = 0
    while not done.is_set():
        started = time.perf_counter()
        service.ask(questions[number % len(questions)], today=TODAY)
        took.append(time.perf_counter() - started)
        number += 1
    return took, (spent[0] if spent else 0.0)


def window_scan(service: Any, repeats: int = 3) -> dict[str, list[float]]:
    """The first scan of a kept date window's dates at a new revision (as after an update that
    added nothing to them): reading all of its vectors again, or taking them from the window of
    the revision before (index/dense.py); seconds of each."""
    searcher = service.searcher
    dense = searcher.dense
    kept = next((w for w in dense._kept.values() if w.vectors is not None), None)
    if kept is None:  # no question of the store named a time
        return {}
    meta = searcher.snapshot().meta
    took: dict[str, list[float]] = {"read again": [], "taken from the revision before": []}
    with searcher.keyword.reading() as reader:
        for number in range(repeats):
            for name in took:
                fresh = dense.window(("benchmark", name, number), reader, kept.since, kept.until)
                if name == "read again":
                    fresh.earlier = None
                started = time.perf_counter()
                dense._vectors(meta.generation, fresh, meta.dimension)
                took[name].append(time.perf_counter() - started)
    return {**took, "chunks": [float(kept.count)]}


def measure(store: Path, rounds: int, hogs: int) -> dict[str, Any]:
    questions = json.loads((store / "scale-questions.json").read_text())[:20]
    service = _service(store)
    for question in questions:
        service.ask(question, today=TODAY)
    windows = window_scan(service)
    elsewhere, child = _reopen_elsewhere(store)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(hogs)]
    runs: dict[str, list[dict[str, float]]] = {}
    try:
        for _ in range(rounds):
            here = _reopen_here(service)
            kinds: dict[str, Callable[[], float] | None] = {
                "alone": None,
                "reopen here": here,
                "reopen here, 10 nice levels lower": _reopen_here(service, 10),
                "reopen elsewhere": elsewhere,
            }
            for name, work in kinds.items():
                runs.setdefault(name, []).append(_round(service, questions, work))
            lock = _lock_only(runs["reopen here"][-1]["work_s"])
            runs.setdefault("lock only", []).append(_round(service, questions, lock))
    finally:
        for process in busy:
            process.kill()
            process.wait()
        child.kill()
        child.wait()
    return {"store": str(store), "hogs": hogs, "runs": runs, "windows": windows}


def _round(service: Any, questions: list[str], work: Callable[[], float] | None) -> Any:
    load = os.getloadavg()[0]
    took, spent = _ask_while(service, questions, work)
    return {
        "questions": len(took),
        "longest_ms": round(max(took) * 1000, 1),
        "median_ms": round(common.median(took) * 1000, 1),
        "work_s": round(spent, 3),
        "load": round(load, 2),
    }


def render(result: dict[str, Any]) -> str:
    rows = []
    for name, runs in result["runs"].items():
        rows.append(
            [
                name,
                " / ".join(f"{r['longest_ms']:.0f}" for r in runs),
                " / ".join(f"{r['median_ms']:.0f}" for r in runs),
                " / ".join(f"{r['work_s']:.2f}" for r in runs) if name != "alone" else "",
                " / ".join(f"{r['load']:.1f}" for r in runs),
            ]
        )
    head = (
        f"`python -m benchmarks.reopen_wait --store {result['store']} --hogs {result['hogs']}` "
        f"({common.machine()}): questions in a loop in one process, alone or beside the work "
        f"named, each round in turn, with {result['hogs']} busy processes besides."
    )
    table = common.table(
        ["beside", "longest question (ms, each round)", "median (ms)", "the work (s)", "load"],
        rows,
    )
    windows = result["windows"]
    if not windows:
        return head + "\n\n" + table
    scans = "; ".join(
        f"{name}: " + " / ".join(f"{s * 1000:.1f}" for s in took) + " ms"
        for name, took in windows.items()
        if name != "chunks"
    )
    tail = f"The first scan of a window of {windows['chunks'][0]:.0f} chunks at a new revision: {scans}."
    return head + "\n\n" + table + "\n\n" + tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--hogs", type=int, default=0, help="busy processes beside (load)")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    result = measure(args.store, args.rounds, args.hogs)
    print(render(result))
    if args.write:
        common.write_section(f"reopen-wait-{args.hogs}", render(result))


if __name__ == "__main__":
    main()
