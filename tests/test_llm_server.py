"""The OpenAI-compatible path against a real llama.cpp server (``python -m llama_cpp.server``)
started on 127.0.0.1 with the tiny scripted GGUF: LangChain's ChatOpenAI over real HTTP and
server-sent events, no mock of the HTTP layer."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.answering.service import build_service
from index.build import build_index
from index.embedding import Embedder
from tests.conftest import make_settings
from tests.tiny_gguf import write_tiny_llama

ARTICLE = """Harbor City approves bridge

The Harbor City council approved a 40 million dollar bridge on Tuesday. Mayor Ana Ruiz said \
construction would start in March.
"""
SCRIPT = "Mayor Ana Ruiz said construction would start in March [1]."
QUESTION = "When will construction of the Harbor City bridge start?"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = write_tiny_llama(tmp_path_factory.mktemp("server") / "tiny.gguf", SCRIPT)
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias",
        "tiny", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {process.stderr.read()[-2000:]!r}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not start within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def bridge_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    tmp = tmp_path_factory.mktemp("bridge")
    (tmp / "articles").mkdir()
    (tmp / "articles" / "bridge.txt").write_text(ARTICLE)
    build_index(make_settings(tmp), embedder=embedder)
    return tmp


def test_openai_compatible_server_answers_streams_and_verifies(
    server: str, bridge_dir: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server)
    monkeypatch.setenv("OPENAI_API_KEY", "local-server-needs-no-key")
    service = build_service(make_settings(bridge_dir, llm="openai:tiny"), embedder=embedder)
    seen: list[str] = []
    answer = service.ask(QUESTION, on_text=seen.append)
    assert answer.answerer == "openai:tiny" and answer.note is None
    assert answer.answer == SCRIPT
    assert answer.citations[0].quote.startswith("Mayor Ana Ruiz said construction")
    assert len(seen) > 3 and seen[-2].strip() == SCRIPT  # streamed, then the verified text
    assert answer.generation["tokens"] == len(SCRIPT.split())  # type: ignore[attr-defined]


def test_an_unreachable_server_falls_back_then_pauses(
    bridge_dir: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    settings = make_settings(bridge_dir, llm="openai:tiny", llm_failures_before_pause=1)
    service = build_service(settings, embedder=embedder)
    first = service.ask(QUESTION)
    assert first.answerer == "extractive" and first.found
    assert first.note and first.note.startswith("The language model failed (")
    assert "ConnectionError" in first.note
    started = time.perf_counter()
    second = service.ask(QUESTION)
    assert second.note and second.note.startswith("The language model is paused")
    assert time.perf_counter() - started < 2
