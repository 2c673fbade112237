"""A fresh process's way to its first answer: what `newsbot ask` imports, the vector index
loaded beside the start, and how the process ends once the answer is out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.answering.service import build_service
from bot.settings import Settings
from index.embedding import Embedder
from index.store import Store
from tests.conftest import ROOT, make_settings

QUESTION = "Why did Sheinbaum reject Trump's offer to send troops?"

# Modules of other commands (indexing, fetching, the Discord bot, language models): an answer
# needs none of them, and importing them is time before the first answer.
NOT_FOR_AN_ANSWER = (
    "index.build",
    "index.sources",
    "index.prune",
    "index.clean",
    "ftfy",
    "trafilatura",
    "feedparser",
    "index.fetch",
    "index.arrivals",
    "discord",
    "langchain_core",
    "bot.llm.chain",
    "bot.llm.answerer",
    "bm25s",
    "torch",
    "sentence_transformers",
)

# Run before newsbot's console script in the child: as the process ends (at once, through
# os._exit, or through the interpreter's teardown), it reports which, what it imported, and how
# it was set.
PRELUDE = """
import atexit, gc, json, os, sys
def report(how):
    state = {"how": how, "gc": gc.isenabled(), "blas": os.environ.get("OPENBLAS_NUM_THREADS"),
             "modules": sorted(sys.modules)}
    print("STATE " + json.dumps(state), file=sys.stderr, flush=True)
atexit.register(report, "torn down")
_exit = os._exit
def leave(code):
    report("at once")
    _exit(code)
os._exit = leave
sys.argv[0] = "newsbot"
from bot.frontends.cli import main
main()
"""


def _ask_in_a_process(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEWSBOT_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    env.pop("OPENBLAS_NUM_THREADS", None)
    return subprocess.run(
        [sys.executable, "-c", PRELUDE, "ask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _state(stderr: str) -> dict[str, object]:
    lines = [line for line in stderr.splitlines() if line.startswith("STATE ")]
    assert len(lines) == 1, stderr
    state: dict[str, object] = json.loads(lines[0][len("STATE ") :])
    return state


def test_ask_prints_the_whole_answer_then_ends_at_once(seed_folder: Path) -> None:
    """Once its answer is written, `newsbot ask` ends without the interpreter's teardown (0.2 s
    at 118,000 chunks); the answer is all there, and the exit status is 0."""
    done = _ask_in_a_process(seed_folder / "data", QUESTION, "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["found"] and answer["citations"]
    assert "sovereignty" in answer["answer"]
    state = _state(done.stderr)
    assert state["how"] == "at once"
    assert state["gc"] is False, "a one-question process collects no garbage cycles"
    assert state["blas"] == "1", "numpy's products run on one thread"


def test_ask_imports_nothing_of_the_other_commands(seed_folder: Path) -> None:
    done = _ask_in_a_process(seed_folder / "data", QUESTION)
    assert done.returncode == 0, done.stderr
    assert "[1]" in done.stdout
    imported = set(_state(done.stderr)["modules"])  # type: ignore[arg-type]
    assert not imported & set(NOT_FOR_AN_ANSWER)


def test_an_error_still_ends_the_process_the_usual_way(tmp_path: Path) -> None:
    done = _ask_in_a_process(tmp_path / "data", QUESTION)
    assert done.returncode == 1
    assert "newsbot index" in done.stderr and "Traceback" not in done.stderr
    assert _state(done.stderr)["how"] == "torn down"


def test_the_vector_index_loaded_beside_the_start_gives_the_same_answer(
    seed_settings: Settings, embedder: Embedder
) -> None:
    """``load_vectors_later`` loads Chroma's vector index in a thread while the process starts;
    the answers are those of a store whose first question loads it."""
    store = Store.open(seed_settings)
    loading = store.load_vectors_later(store.meta())
    loading.join(60)
    assert store.vectors_load_s is not None
    ahead = build_service(seed_settings, store=store, embedder=embedder).ask(QUESTION)
    plain = build_service(seed_settings, store=Store.open(seed_settings), embedder=embedder)
    answer = plain.ask(QUESTION)
    assert ahead.answer == answer.answer
    assert [c.article_id for c in ahead.citations] == [c.article_id for c in answer.citations]


def test_loading_the_vector_index_ahead_of_an_empty_store_does_nothing(tmp_path: Path) -> None:
    store = Store.open(make_settings(tmp_path))
    store.load_vectors_later(store.meta()).join(60)
    assert store.vectors_load_s is None
    assert store.meta() is None


def test_warm_up_loads_the_vector_index(seed_settings: Settings, embedder: Embedder) -> None:
    """The REPL and the Discord bot warm up before the first question: Chroma's vector index
    too, not only the model and the keyword index."""
    store = Store.open(seed_settings)
    service = build_service(seed_settings, store=store, embedder=embedder)
    assert service.warm_up()
    assert store.vectors_load_s is not None
