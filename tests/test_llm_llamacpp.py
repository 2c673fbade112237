"""The llama.cpp path for real: tiny GGUF models written by tests/tiny_gguf.py, loaded in process.

Covers loading, the chat template, streaming, parsing, verification, the fallbacks (unverifiable
output, a broken model file, a timeout) with the circuit breaker, and follow-up rewriting.
"""

from __future__ import annotations

import io
import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from typer.testing import CliRunner

from bot.answering.service import AnswerService, build_service
from bot.llm.answerer import GeneratedAnswer
from bot.llm.llamacpp import ChatLlamaCpp
from index.build import build_index
from index.embedding import Embedder
from tests.conftest import make_settings
from tests.tiny_gguf import write_tiny_llama

ARTICLE = """Harbor City approves bridge

The Harbor City council approved a 40 million dollar bridge on Tuesday. Mayor Ana Ruiz said \
construction would start in March. Critics argued the money should go to schools instead.
"""
SCRIPT = "The council approved a 40 million dollar bridge on Tuesday [1]."
WRONG = "The council approved a 45 million dollar bridge on Tuesday [1]."
QUESTION = "What did the Harbor City council approve on Tuesday?"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gguf")
    broken = folder / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    return {
        "script": write_tiny_llama(folder / "script.gguf", SCRIPT),
        "wrong": write_tiny_llama(folder / "wrong.gguf", WRONG),
        "random": write_tiny_llama(folder / "random.gguf"),
        "broken": broken,
    }


@pytest.fixture(scope="module")
def bridge_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    tmp = tmp_path_factory.mktemp("bridge")
    (tmp / "articles").mkdir()
    (tmp / "articles" / "bridge.txt").write_text(ARTICLE)
    build_index(make_settings(tmp), embedder=embedder)
    return tmp


def service_with(
    bridge_dir: Path, embedder: Embedder, model: Path, **options: Any
) -> AnswerService:
    settings = make_settings(bridge_dir, llm=f"llamacpp:{model}", llm_context=4096, **options)
    return build_service(settings, embedder=embedder)


def test_the_chat_model_streams_the_scripted_answer(models: dict[str, Path]) -> None:
    model = ChatLlamaCpp(model_path=str(models["script"]), n_ctx=2048, max_tokens=40)
    messages = [SystemMessage(content="Answer briefly."), HumanMessage(content="Anything?")]
    chunks = [str(c.content) for c in model.stream(messages) if c.content]
    assert len(chunks) == len(SCRIPT.split())  # one token per word
    assert "".join(chunks).strip() == SCRIPT
    assert str(model.invoke(messages).content).strip() == SCRIPT


def test_a_random_model_streams_until_its_token_limit(models: dict[str, Path]) -> None:
    model = ChatLlamaCpp(model_path=str(models["random"]), n_ctx=2048, max_tokens=12)
    chunks = [c for c in model.stream([HumanMessage(content="Say something.")]) if c.content]
    assert 1 <= len(chunks) <= 12


def test_answer_is_streamed_verified_and_cited(
    bridge_dir: Path, embedder: Embedder, models: dict[str, Path]
) -> None:
    service = service_with(bridge_dir, embedder, models["script"])
    seen: list[str] = []
    answer = service.ask(QUESTION, on_text=seen.append)
    assert isinstance(answer, GeneratedAnswer)
    assert answer.answerer == "llamacpp:script.gguf" and answer.found and answer.note is None
    assert answer.answer == SCRIPT
    [citation] = answer.citations
    assert citation.title == "Harbor City approves bridge"
    assert citation.quote.startswith("The Harbor City council approved a 40 million dollar bridge")
    # streamed word by word, each call the text so far; the last call is the verified answer
    streamed, final = seen[:-1], seen[-1]
    assert len(streamed) == len(SCRIPT.split())
    assert all(later.startswith(earlier) for earlier, later in pairwise(streamed))
    assert streamed[-1].strip() == SCRIPT and final == answer.answer
    data = answer.as_dict()
    assert data["verification"]["totals"] == {
        "sentences": 1,
        "verified": 1,
        "recited": 0,
        "unsupported": 0,
        "invalid_markers": 0,
        "share_verified": 1.0,
    }
    assert data["verification"]["sentences"][0]["method"] == "quote"
    assert data["generation"]["tokens"] == len(SCRIPT.split())
    assert data["generation"]["first_token_s"] > 0


def test_an_answer_that_fails_verification_falls_back_with_a_note(
    bridge_dir: Path, embedder: Embedder, models: dict[str, Path]
) -> None:
    for name in ("wrong", "random"):
        answer = service_with(bridge_dir, embedder, models[name], llm_max_tokens=24).ask(QUESTION)
        assert answer.answerer == "extractive" and answer.found
        assert "could be verified" in (answer.note or "")
        assert "45 million" not in answer.answer
        assert answer.citations and "40 million" in " ".join(c.quote for c in answer.citations)


def test_mark_mode_keeps_nothing_unverified_as_the_answer(
    bridge_dir: Path, embedder: Embedder, models: dict[str, Path]
) -> None:
    answer = service_with(bridge_dir, embedder, models["wrong"], verify_mode="mark").ask(QUESTION)
    assert answer.answerer == "extractive"
    assert answer.verification["sentences"][0]["missing"] == ["45"]  # type: ignore[attr-defined]


def test_a_broken_model_file_falls_back_and_the_breaker_pauses_it(
    bridge_dir: Path, embedder: Embedder, models: dict[str, Path]
) -> None:
    service = service_with(bridge_dir, embedder, models["broken"], llm_failures_before_pause=1)
    first = service.ask(QUESTION)
    assert first.answerer == "extractive" and first.found
    assert first.note and first.note.startswith("The language model failed (")
    second = service.ask(QUESTION)
    assert second.note and second.note.startswith("The language model is paused")


def test_a_timeout_falls_back_at_once(
    bridge_dir: Path, embedder: Embedder, models: dict[str, Path]
) -> None:
    service = service_with(bridge_dir, embedder, models["script"], llm_timeout=0.0)
    answer = service.ask(QUESTION)
    assert answer.answerer == "extractive"
    assert answer.note == (
        "The language model did not answer within 0 s; showing quoted sentences instead."
    )
    assert answer.timings["answer"] < 5


def test_questions_the_articles_do_not_cover_are_refused_without_the_model(
    bridge_dir: Path, embedder: Embedder, models: dict[str, Path]
) -> None:
    answer = service_with(bridge_dir, embedder, models["script"]).ask(
        "Who won the chess olympiad in Budapest?"
    )
    assert not answer.found
    assert answer.answerer == "llamacpp:script.gguf"
    assert not answer.generation  # type: ignore[attr-defined]


def test_a_follow_up_is_rewritten_by_the_model(
    bridge_dir: Path, embedder: Embedder, models: dict[str, Path]
) -> None:
    service = service_with(bridge_dir, embedder, models["script"])
    history = [(QUESTION, SCRIPT)]
    follow_up = service.ask("And what did they say about it?", history=history)
    assert follow_up.query == SCRIPT  # the tiny model's one sentence is its rewrite
    standalone = service.ask("What did the mayor of Harbor City say?", history=history)
    assert standalone.query is None


def test_cli_ask_json_has_the_verification_block(
    bridge_dir: Path, models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.frontends.cli import app
    from bot.settings import get_settings

    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(bridge_dir / "data"))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(bridge_dir / "articles"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["ask", QUESTION, "--llm", f"llamacpp:{models['script']}", "--json"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answer"] == SCRIPT and data["answerer"] == "llamacpp:script.gguf"
    assert data["verification"]["totals"]["verified"] == 1
    assert data["verification"]["sentences"][0]["supported_by"] == 1


def test_repl_streams_to_a_terminal_then_shows_the_verified_answer(
    bridge_dir: Path, embedder: Embedder, models: dict[str, Path]
) -> None:
    from rich.console import Console

    from bot.frontends.repl import Repl

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    repl = Repl(service_with(bridge_dir, embedder, models["script"]), console)
    repl.stream = True
    repl.handle(QUESTION)
    output = screen.getvalue()
    assert "\x1b[2m" in output  # the streamed text, dimmed, before the final answer
    assert "Sources" in output and "Harbor City approves bridge" in output
    assert repl.history == [(QUESTION, SCRIPT)]
