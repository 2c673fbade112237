"""The benchmark scripts' quick modes, so they never rot. Figures are not asserted: only that
every step ran for real and the tables hold sane numbers (timings are for docs/benchmarks.md)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

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
    ours = _row(out, "newsbot build, default (auto: onnx")
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


def test_load_benchmark_quick(tmp_path: Path) -> None:
    out = _run("benchmarks.load", "--quick", "--json", str(tmp_path / "load.json"))
    result = json.loads((tmp_path / "load.json").read_text())
    assert [run["mode"] for run in result["runs"]] == ["process", "thread"]
    for run in result["runs"]:
        assert run["errors"] == 0, run["error_examples"]
        assert run["answers"] > 0 and run["throughput"] > 0 and run["p99"] >= run["p50"] > 0
        assert run["citations_checked"] > 0
        assert run["rebuild_report"]["added"] == 2 and run["rebuild_report"]["updated"] == 1
        assert run["articles_after"] == run["articles_before"] + 2
    for label in ("`newsbot index` in a separate process", "`build_index` on a thread"):
        row = _row(out, label)
        assert row[6] == "**0**", row  # the errors column
        assert float(row[2].strip("*")) > 0


def test_first_answer_benchmark_on_the_seed_index(seed_folder: Path) -> None:
    out = _run(
        "benchmarks.first_answer",
        *("--store", str(seed_folder / "data"), "--repeats", "1"),
        *("--question", "Why did Sheinbaum reject Trump's offer to send troops?"),
    )
    row = next(line for line in out.splitlines() if line.startswith("| this checkout"))
    printed, exited = (float(cell) for cell in row.split("|")[2:4])
    assert 0 < printed <= exited


def test_reopen_wait_benchmark_on_a_copy_of_the_seed_index(
    seed_folder: Path, tmp_path: Path
) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(seed_folder / "data", data)
    questions = ["Why did Sheinbaum reject Trump's offer?", "What did Trump say this week?"]
    (data / "scale-questions.json").write_text(json.dumps(questions))
    out = _run("benchmarks.reopen_wait", "--store", str(data), "--rounds", "1")
    rows = {line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ")}
    assert {"alone", "reopen here", "reopen elsewhere", "lock only"} <= rows
