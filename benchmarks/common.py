"""Shared helpers for the benchmark scripts: corpora, child processes, and writing the results.

Every figure is measured in a fresh child process (``python -m benchmarks.<script> --step ...``)
that prints one JSON line, so peak memory (RSS) is per step and steps cannot warm each other up.
Speed claims are ratios between steps measured in the same run, interleaved and repeated.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED_DEV = ROOT.parent / "shared" / "eval" / "realtimeqa" / "dev"
BENCHMARKS_MD = ROOT / "docs" / "benchmarks.md"
SEEDS = ROOT / "seeds"
SEED_QUESTIONS = [  # questions about the seed article, for runs without the dev split
    "Why did Sheinbaum reject Trump's offer to send troops?",
    "What did Trump say about the cartels?",
    "How does Mexico cooperate with the US on security?",
    "What is the economic relationship between Mexico and the US?",
    "Who is Mario Nawfal?",
]


def offline_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        TOKENIZERS_PARALLELISM="false",
    )
    env.update(extra)
    return env


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hwm_rss_mb(pid: int | str = "self") -> float | None:
    """Peak RSS of a process's own memory (VmHWM), on Linux; None where /proc has no figure.

    Unlike ``ru_maxrss``, it does not start from the parent's RSS: a child spawned with vfork
    inherits the parent's peak in ``ru_maxrss`` when it execs."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def emit(result: dict[str, Any]) -> None:
    """The last line a child step prints: its figures as JSON."""
    result["rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result), flush=True)


def run_step(module: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -m module --step ...`` in a fresh process; its JSON line, plus wall time."""
    import time

    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env or offline_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def dev_pages(distractors: bool, pages: int | None = None) -> list[Any]:
    """Pages of the RealTime QA dev split (gold first, then distractors), read from ../shared."""
    from bot.evaluation.dataset import load_dataset

    if not SHARED_DEV.is_dir():
        raise SystemExit(
            f"{SHARED_DEV} is missing: the benchmarks read the RealTime QA dev split from "
            "../shared beside the checkout."
        )
    corpus = load_dataset(SHARED_DEV, distractors=distractors)
    return corpus.pages[:pages] if pages else corpus.pages


def write_pages(pages: Sequence[Any], folder: Path) -> Path:
    from bot.evaluation.run import write_corpus

    write_corpus(pages, folder)
    return folder


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"newsbot-bench-{prefix}-"))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine() -> str:
    """The machine a figure came from: processor model and vector/int8 instructions, cores,
    versions, and how busy it was (other jobs share the cores on the development machine)."""
    import torch

    from index.embedding import cpu_info

    return (
        f"{cpu_info().describe()} ({os.cpu_count()} CPU cores, {platform.machine()}); "
        f"Python {platform.python_version()}, torch {torch.__version__}; "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, markdown: str) -> None:
    """Replace the section between ``<!-- bench:NAME -->`` markers in docs/benchmarks.md."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = BENCHMARKS_MD.read_text(encoding="utf-8")
    block = f"{start}\n{markdown.strip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text, encoding="utf-8")
