"""Process start to first answer: `newsbot ask` on an existing store, each run a new process.

    python -m benchmarks.first_answer --store DIR [--repeats 3] [--code DIR ...] [--write]

For each run: when the answer's first line reached the terminal (the pipe) and when the process
had exited, from the moment it was started. ``--code DIR`` (repeatable) also runs the checkout in
DIR (another commit's ``bot/`` and ``index/``, put first on ``PYTHONPATH`` with this
environment's packages), interleaved with this one, so the two are compared on the same machine
at the same load. The load average is read before every run.
"""

from __future__ import annotations

import argparse
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import common

QUESTION = "Which team won the championship?"
_ENTRY = "import sys; from bot.frontends.cli import main; sys.argv[0] = 'newsbot'; main()"


def run_once(store: Path, code: Path | None, question: str) -> dict[str, float]:
    """One `newsbot ask`: seconds to the first line of the answer and to the process's exit."""
    env = common.offline_env(NEWSBOT_DATA_DIR=str(store))
    if code is not None:
        env["PYTHONPATH"] = str(code)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _ENTRY, "ask", question],
        cwd=code or common.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    first = _first_output(proc.stdout, started)
    proc.stdout.read()
    code_returned = proc.wait()
    exited = time.perf_counter() - started
    if code_returned != 0:
        raise RuntimeError(f"newsbot ask exited with {code_returned}")
    return {"answer_s": round(first, 3), "exit_s": round(exited, 3), "load": round(load, 2)}


def _first_output(stream: Any, started: float) -> float:
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        selector.select()
    return time.perf_counter() - started


def measure(store: Path, codes: list[Path | None], repeats: int, question: str) -> dict[str, Any]:
    run_once(store, None, question)  # the page cache and the model's ONNX export
    runs: dict[str, list[dict[str, float]]] = {str(c or "this checkout"): [] for c in codes}
    for _ in range(repeats):
        for code in codes:
            runs[str(code or "this checkout")].append(run_once(store, code, question))
    return {"store": str(store), "question": question, "runs": runs}


def render(result: dict[str, Any]) -> str:
    rows = []
    for name, runs in result["runs"].items():
        rows.append(
            [
                name,
                " / ".join(f"{r['answer_s']:.2f}" for r in runs),
                " / ".join(f"{r['exit_s']:.2f}" for r in runs),
                " / ".join(f"{r['load']:.1f}" for r in runs),
            ]
        )
    head = (
        f"`python -m benchmarks.first_answer --store {result['store']}` "
        f"({common.machine()}): `newsbot ask {result['question']!r}`, each run a new process."
    )
    table = common.table(
        ["code", "answer printed (s, each run)", "process exited (s)", "load average"], rows
    )
    return head + "\n\n" + table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--code", type=Path, action="append", default=[])
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    codes: list[Path | None] = [None, *args.code]
    result = measure(args.store, codes, args.repeats, args.question)
    print(render(result))
    if args.write:
        common.write_section("first-answer", render(result))


if __name__ == "__main__":
    main()
