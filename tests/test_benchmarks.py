"""The benchmark scripts' quick modes, so they never rot. Figures are not asserted: only that
every step ran for real and the tables hold sane numbers (timings are for docs/benchmarks.md)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from benchmarks.common import offline_env
from tests.conftest import ROOT, SHARED

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (SHARED / "eval" / "realtimeqa" / "dev").is_dir(),
        reason="../shared/eval/realtimeqa/dev is absent: the benchmarks read the dev split there",
    ),
]


def _run(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _row(output: str, label: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(f"| {label}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_build_benchmark_quick() -> None:
    out = _run("benchmarks.build", "--quick")
    floor = _row(out, "floor")
    ours = _row(out, "newsbot build, onnx-int8")
    naive = _row(out, "naive LangChain")
    assert int(floor[1]) == int(ours[1]) > 0, "the floor must encode exactly our chunks"
    assert int(naive[1]) > 0
    assert float(ours[3]) > 0 and re.match(r"\d+\.\d\d", ours[4])


def test_query_benchmark_quick() -> None:
    out = _run("benchmarks.query", "--quick")
    for label in ("seed article", "dev, gold articles only", "synthetic 1,500 chunks"):
        row = _row(out, label)
        assert int(row[1].replace(",", "")) > 0 and int(row[2]) > 0
        assert float(row[3].strip("*").split()[0]) > 0
