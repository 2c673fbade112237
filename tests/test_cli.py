from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from bot.frontends.cli import app
from tests.conftest import SEED_FILE

runner = CliRunner()
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_every_command_has_help() -> None:
    assert {"index", "ask", "repl", "status", "eval"} <= set(COMMANDS)
    for name in COMMANDS:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, result.output
        command = get_command(app).commands[name]  # type: ignore[attr-defined]
        assert command.help and len(command.help) > 20, f"{name} needs help text"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(SEED_FILE, articles / "seed.txt")
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(articles))
    from bot.settings import get_settings

    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_index_ask_status_repl_end_to_end(cli_env: Path) -> None:
    result = runner.invoke(app, ["index", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["added"] == 1

    result = runner.invoke(
        app, ["ask", "Why did Sheinbaum reject Trump's offer to send troops?", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["found"] is True and data["citations"]
    assert set(data["citations"][0]) >= {
        "n",
        "article_id",
        "title",
        "url",
        "published",
        "section",
        "quote",
        "start",
        "end",
    }

    result = runner.invoke(app, ["status", "--json"])
    assert json.loads(result.output)["articles"] == 1

    result = runner.invoke(
        app, ["repl"], input="Who won the 2022 World Cup?\n:sources\n:quit\nnever asked\n"
    )
    assert result.exit_code == 0
    assert "do not cover" in result.output and "never asked" not in result.output


def test_user_errors_exit_cleanly(cli_env: Path) -> None:
    result = runner.invoke(app, ["ask", "anything"])
    assert result.exit_code == 1 and "newsbot index" in result.output
    runner.invoke(app, ["index"])
    result = runner.invoke(app, ["ask", ""])
    assert result.exit_code == 2 and "empty" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_console_script_in_a_real_process(cli_env: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    newsbot = [sys.executable, "-m", "bot.frontends.cli"]
    subprocess.run([*newsbot, "index"], check=True, env=env, capture_output=True)
    done = subprocess.run(
        [*newsbot, "repl"],
        input="Why did Sheinbaum reject Trump's offer to send troops?\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "sovereignty" in done.stdout and "[1]" in done.stdout


def test_a_bad_setting_is_a_clear_error_naming_the_variable(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSBOT_TOP_K", "ten")
    monkeypatch.setenv("CHROMA_PORT", "not-a-port")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2
    assert "NEWSBOT_TOP_K" in result.output and "CHROMA_PORT" in result.output
    assert ".env.example" in result.output and "Traceback" not in result.output
    assert "not-a-port" not in result.output, "values are not echoed: they could be secrets"


def test_repl_sources_shows_the_whole_passages_behind_the_last_answer(seed_service) -> None:  # type: ignore[no-untyped-def]
    import io

    from rich.console import Console

    from bot.frontends.repl import Repl

    out = io.StringIO()
    repl = Repl(seed_service, Console(file=out, width=100, color_system=None))
    repl.run_lines(["Why did Sheinbaum reject Trump's offer to send troops?", ":sources"])
    answer = repl.last
    assert answer is not None and answer.found
    shown = out.getvalue().split("Passages behind the answer", 1)[1]
    sources = seed_service.sources(answer.citations)
    first: dict[str, int] = {}  # a passage quoted twice is shown once, with its first citation
    for source in sources:
        n = first.setdefault(source.citation.chunk_id, source.citation.n)
        assert source.same_as == (None if n == source.citation.n else n)
    # the passages, not the quotes alone (a passage may be one sentence: the seed's lede)
    assert any(len(s.text) > len(s.citation.quote) for s in sources)
    for source in sources:
        assert source.text[source.quote_start : source.quote_end] == source.citation.quote
        context = source.text[source.quote_end :].strip() or source.text[: source.quote_start]
        assert " ".join(context.split())[:60] in " ".join(shown.split())  # beyond the quote

    out = io.StringIO()
    repl = Repl(seed_service, Console(file=out, width=100), as_json=True)
    repl.run_lines(["Why did Sheinbaum reject Trump's offer to send troops?", ":sources"])
    listed = json.loads(out.getvalue().splitlines()[-1])
    assert [s["passage"] for s in listed["sources"]] == [s.text for s in sources]


def test_messages_read_as_plain_english(cli_env: Path) -> None:
    result = runner.invoke(app, ["status"])
    assert "newest article   none yet" in result.output and "None" not in result.output
    result = runner.invoke(app, ["index"])
    assert "1 article in the index" in result.output and "1 articles" not in result.output
    result = runner.invoke(app, ["ask", "-k", "0", "Who won?"])
    assert result.exit_code == 2 and "-k" in result.output


def test_indexing_other_folders_says_they_replace_the_setting(
    cli_env: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["index"]).exit_code == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "bridge.txt").write_text("Bridge\n\nThe council approved the new bridge on Monday.\n")
    result = runner.invoke(app, ["index", str(other)])
    assert result.exit_code == 1, result.output  # the seed is kept, not removed
    assert "1 of the 1 article in the index (100%) is no longer" in result.output
    assert "The folders given replace NEWSBOT_ARTICLE_DIRS for this run" in result.output
