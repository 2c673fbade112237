"""`newsbot discord`: clear messages when it cannot start, and the token never in the output."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import discord.http
import pytest
from typer.testing import CliRunner

from bot.frontends.cli import app

TOKEN = "MTA5ODc2.fake-token.for-tests-only"
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from bot.settings import get_settings

    monkeypatch.chdir(tmp_path)  # no .env from the working copy
    for name in ("DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN", "NEWSBOT_DISCORD_GUILD_IDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_without_a_token_it_stops_at_once_and_says_how_to_get_one(env: Path) -> None:
    started = time.perf_counter()
    result = runner.invoke(app, ["discord"])
    assert result.exit_code == 2
    assert time.perf_counter() - started < 5
    assert "DISCORD_TOKEN is not set" in result.output
    assert "discord.com/developers/applications" in result.output


def test_without_a_server_it_says_where_to_find_the_id(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    result = runner.invoke(app, ["discord"])
    assert result.exit_code == 2
    assert "NEWSBOT_DISCORD_GUILD_IDS" in result.output and TOKEN not in result.output


def test_bad_ids_are_explained(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import Settings

    monkeypatch.setenv("NEWSBOT_DISCORD_GUILD_IDS", "my server")
    with pytest.raises(ValueError, match="Copy ID"):
        Settings()


class _Discord(BaseHTTPRequestHandler):
    """Discord's REST API turning a token down, as it does for a reset or mistyped token."""

    seen: list[tuple[str, str]] = []  # noqa: RUF012

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        body = json.dumps({"message": "401: Unauthorized", "code": 0}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def discord_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discord)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(
        discord.http.Route, "BASE", f"http://127.0.0.1:{server.server_port}/api/v10"
    )
    _Discord.seen = []
    yield _Discord.seen
    server.shutdown()
    server.server_close()


def test_a_rejected_token_names_the_fix_and_never_shows_the_token(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    discord_api: list[tuple[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("NEWSBOT_DISCORD_GUILD_IDS", "123456789012345678")
    monkeypatch.setenv("NEWSBOT_LOG_LEVEL", "DEBUG")
    with caplog.at_level(logging.DEBUG):
        result = runner.invoke(app, ["discord"])
    assert result.exit_code == 2, result.output
    assert "did not accept DISCORD_TOKEN" in result.output and "Reset Token" in result.output
    assert discord_api == [("/api/v10/users/@me", f"Bot {TOKEN}")]  # it did try the token
    assert TOKEN not in result.output
    assert caplog.records and TOKEN not in caplog.text
    assert not (env / "data").exists()  # the index was never opened: login comes first
