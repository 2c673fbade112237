"""Secrets (DISCORD_TOKEN, OPENAI_API_KEY, CHROMA_API_KEY) never show: not in `newsbot status`,
not in logs at DEBUG, not in error messages, not in ``repr(settings)``, not in Discord replies.

Network: only loopback. Unreachable servers are closed ports on 127.0.0.1; CHROMA_API_KEY is
only ever set together with CHROMA_HOST, so no test reaches for Chroma Cloud.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from bot.answering.service import build_service, build_store, status_of
from bot.errors import NewsbotError, StoreUnavailable
from bot.frontends.cli import app
from bot.frontends.discord_bot import errors as discord_errors
from bot.frontends.discord_bot.errors import (
    REDACTED,
    UNEXPECTED,
    friendly_message,
    install_redaction,
    secret_values,
)
from bot.llm.models import make_chat_model, parse_spec
from bot.settings import Settings, get_settings
from index.build import build_index
from index.embedding import Embedder
from index.store import make_client
from tests.conftest import SEED_FILE, make_settings

runner = CliRunner()
QUESTION = "Why did Sheinbaum reject Trump's offer to send troops?"

SECRETS = {
    "DISCORD_TOKEN": "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.Discord-Secret-9f3a7e",
    "OPENAI_API_KEY": "sk-test-OpenAI-Secret-5b1e8d7c",
    "CHROMA_API_KEY": "ck-Chroma-Secret-2c9f4a1b",
}
# the SecretStr settings and the variable each one is read from
SECRET_SETTINGS = {"discord_token": "DISCORD_TOKEN", "chroma_api_key": "CHROMA_API_KEY"}
# loggers that newsbot quiets by default: at DEBUG, everything they say is checked too
LOGGERS = ["", "bot", "index", "chromadb", "httpx", "httpcore", "openai", "langchain", "urllib3"]


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_no_secret(*texts: object) -> None:
    for text in texts:
        for name, secret in SECRETS.items():
            assert secret not in str(text), f"{name} leaked in: {str(text)[:2000]}"
            assert secret[-12:] not in str(text), f"part of {name} leaked in: {str(text)[:2000]}"


def everything_about(error: BaseException) -> str:
    """The message, the repr and the whole traceback (with every chained cause) of an error."""
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    """Each record as any handler would write it: message, arguments and traceback."""
    formatter = logging.Formatter("%(name)s %(message)s")
    for record in caplog.records:
        assert_no_secret(formatter.format(record), record.exc_text or "")
    assert_no_secret(caplog.text)


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """DISCORD_TOKEN and OPENAI_API_KEY in the environment (CHROMA_API_KEY needs a host)."""
    monkeypatch.setenv("DISCORD_TOKEN", SECRETS["DISCORD_TOKEN"])
    monkeypatch.setenv("OPENAI_API_KEY", SECRETS["OPENAI_API_KEY"])
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# -- settings --------------------------------------------------------------------------------------
def test_every_secret_setting_is_a_secret_str() -> None:
    secret_fields = {
        name for name, info in Settings.model_fields.items() if "SecretStr" in str(info.annotation)
    }
    assert secret_fields == set(SECRET_SETTINGS), "a new secret setting needs a test here"
    for name in Settings.model_fields:
        if re.search(r"(token|api_key|secret|password)$", name):
            assert name in secret_fields, f"{name} looks secret but is not a SecretStr"


def test_repr_and_dumps_of_settings_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, secret in SECRETS.items():
        monkeypatch.setenv(variable, secret)
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    settings = Settings(_env_file=None)
    for name, variable in SECRET_SETTINGS.items():
        value = getattr(settings, name)
        assert isinstance(value, SecretStr) and value.get_secret_value() == SECRETS[variable]
    assert_no_secret(
        repr(settings),
        str(settings),
        f"{settings}",
        settings.model_dump(),
        settings.model_dump_json(),
        settings.store_location,
        [repr(getattr(settings, name)) for name in SECRET_SETTINGS],
    )


# -- newsbot status ----------------------------------------------------------------------------------
@pytest.mark.parametrize("as_json", [False, True], ids=["plain", "json"])
def test_status_shows_no_secret(
    seed_folder: Path, secret_env: None, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(seed_folder / "data"))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(seed_folder / "articles"))
    monkeypatch.setenv("NEWSBOT_LOG_LEVEL", "DEBUG")
    result = runner.invoke(app, ["status", *(["--json"] if as_json else [])])
    assert result.exit_code == 0, result.output
    assert "articles" in result.output
    assert_no_secret(result.output, result.stderr)
    if as_json:
        json.loads(result.stdout)


@pytest.mark.parametrize(
    "args", [["status"], ["status", "--json"], ["ask", QUESTION], ["index"]], ids=" ".join
)
def test_an_unreachable_chroma_server_with_an_api_key(
    tmp_path: Path, secret_env: None, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(tmp_path))
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(closed_port()))
    monkeypatch.setenv("CHROMA_API_KEY", SECRETS["CHROMA_API_KEY"])
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "error:" in result.output and "CHROMA_HOST" in result.output
    assert "Traceback" not in result.output
    assert_no_secret(result.output, result.stderr)


def test_store_unavailable_error_hides_the_api_key(
    tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        tmp_path,
        chroma_host="127.0.0.1",
        chroma_port=closed_port(),
        chroma_api_key=SECRETS["CHROMA_API_KEY"],
    )
    with pytest.raises(StoreUnavailable) as raised:
        make_client(settings)
    assert "CHROMA_HOST" in str(raised.value)
    assert_no_secret(everything_about(raised.value))
    assert_no_secret(friendly_message(raised.value))
    assert_logs_clean(debug_logs)


# -- logs at DEBUG during an index and an ask --------------------------------------------------------
def test_debug_logs_of_index_and_ask_with_a_failing_model_hold_no_secret(
    tmp_path: Path,
    embedder: Embedder,
    secret_env: None,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED_FILE, tmp_path / "articles" / "seed.txt")
    settings = make_settings(
        tmp_path,
        discord_token=SECRETS["DISCORD_TOKEN"],
        llm="openai:gpt-4o-mini",
        llm_timeout=20.0,
        log_level="DEBUG",
    )
    report = build_index(settings, embedder=embedder)
    assert report.added == 1
    service = build_service(settings, embedder=embedder)
    answer = service.ask(QUESTION)  # the model's server is a closed port: quoted sentences
    note = getattr(answer, "note", None)
    assert answer.found and note and "language model failed" in note, note
    assert_no_secret(json.dumps(answer.as_dict(), ensure_ascii=False), repr(answer))
    assert_no_secret(json.dumps(status_of(settings, service.searcher.store)))
    assert any(r.levelno == logging.DEBUG for r in debug_logs.records)  # DEBUG was captured
    assert any("language model failed" in r.getMessage() for r in debug_logs.records)
    assert_logs_clean(debug_logs)


def test_a_failing_model_backend_error_holds_no_key(
    tmp_path: Path, secret_env: None, debug_logs: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, llm_timeout=20.0)
    model = make_chat_model(parse_spec("openai:gpt-4o-mini"), settings)
    with pytest.raises(Exception) as raised:
        model.invoke("Say hello.")
    assert_no_secret(everything_about(raised.value), repr(model), str(model))
    assert_logs_clean(debug_logs)


@pytest.mark.slow
def test_the_cli_at_debug_level_prints_no_secret(seed_folder: Path, tmp_path: Path) -> None:
    """A real `newsbot` process, logging at DEBUG to stderr (it writes no log file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "CHROMA_"))}
    env.update(
        DISCORD_TOKEN=SECRETS["DISCORD_TOKEN"],
        OPENAI_API_KEY=SECRETS["OPENAI_API_KEY"],
        OPENAI_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1",
        NEWSBOT_LOG_LEVEL="DEBUG",
        NEWSBOT_DATA_DIR=str(tmp_path / "data"),
        NEWSBOT_ARTICLE_DIRS=str(seed_folder / "articles"),
        NEWSBOT_LLM_TIMEOUT="20",
        HF_HUB_OFFLINE="1",
    )
    outputs = []
    for args in (
        ["index"],
        ["ask", QUESTION, "--llm", "openai:gpt-4o-mini"],
        ["ask", QUESTION, "--llm", "openai:gpt-4o-mini", "--json"],
        ["status"],
        ["status", "--json"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "bot.frontends.cli", *args],
            env=env,
            cwd=tmp_path,  # no .env file here
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (args, done.stderr[-3000:])
        outputs += [done.stdout, done.stderr]
    assert "DEBUG" in "".join(outputs)  # the level took effect
    assert "language model failed" in "".join(outputs)
    assert_no_secret(*outputs)
    assert not list(tmp_path.rglob("*.log")), "the CLI wrote a log file: check it too"


@pytest.mark.slow
def test_a_chroma_server_with_an_api_key_keeps_it_out_of_status_and_logs(
    chroma_server: object, tmp_path: Path, embedder: Embedder, debug_logs: pytest.LogCaptureFixture
) -> None:
    settings = chroma_server.settings(tmp_path)  # type: ignore[attr-defined]
    settings = settings.model_copy(update={"chroma_api_key": SecretStr(SECRETS["CHROMA_API_KEY"])})
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED_FILE, tmp_path / "articles" / "seed.txt")
    build_index(settings, embedder=embedder)
    service = build_service(settings, embedder=embedder)
    assert service.ask(QUESTION).found
    info = status_of(settings, build_store(settings))
    assert info["articles"] == 1
    assert_no_secret(json.dumps(info), repr(settings))
    assert_logs_clean(debug_logs)


# -- Discord ---------------------------------------------------------------------------------------
def test_discord_redacts_every_secret_in_logs_and_replies(
    tmp_path: Path, secret_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        tmp_path,
        discord_token=SECRETS["DISCORD_TOKEN"],
        chroma_host="127.0.0.1",
        chroma_api_key=SECRETS["CHROMA_API_KEY"],
    )
    secrets = secret_values(settings)
    assert set(SECRETS.values()) <= set(secrets)  # OPENAI_API_KEY comes from the environment
    redactor = install_redaction(secrets)
    root = logging.getLogger()
    try:
        caplog.set_level(logging.DEBUG)
        logger = logging.getLogger("bot.frontends.discord_bot.test")
        everything = " ".join(SECRETS.values())
        # the unexpected error: a fixed reply; its traceback goes to the log, redacted
        assert friendly_message(RuntimeError(f"boom {everything}")) == UNEXPECTED
        logger.warning("connecting with %s", everything)
        # newsbot's own errors are shown to the user: redacted too
        reply = friendly_message(NewsbotError(f"Could not set up the model: {everything}"))
        assert REDACTED in reply
        assert_no_secret(reply)
        assert caplog.records and caplog.records[0].exc_info is not None
        assert_logs_clean(caplog)
    finally:
        for handler in root.handlers:
            handler.removeFilter(redactor)
        discord_errors._secrets.clear()


@pytest.mark.asyncio
async def test_discord_answers_with_a_failing_model_hold_no_secret(
    seed_folder: Path, embedder: Embedder, tmp_path: Path, secret_env: None
) -> None:
    import discord.ext.test as dpytest

    from tests.test_discord_harness import start_server

    settings = make_settings(seed_folder, llm="openai:gpt-4o-mini", llm_timeout=20.0)
    service = build_service(settings, embedder=embedder)
    server = await start_server(service, tmp_path, discord_token=SECRETS["DISCORD_TOKEN"])
    try:
        assert server.bot.user is not None
        await dpytest.message(f"<@{server.bot.user.id}> {QUESTION}", server.news, server.alice)
        (answer,) = server.bot_messages(server.threads_opened[0])
        assert "[1]" in answer["content"]  # quoted sentences, since the model is unreachable
        assert_no_secret(json.dumps(server.payloads, ensure_ascii=False, default=str))
    finally:
        await dpytest.empty_queue()
