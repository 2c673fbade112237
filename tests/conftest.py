from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

import itertools
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import Settings
from index.embedding import Embedder, make_embedder

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_FILE = SEEDS / "sheinbaum-rejects-trump-troops.txt"
SHARED = ROOT.parent / "shared"
LOOPBACK = "127.0.0.1"


@pytest.fixture(autouse=True)
def loopback_web(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' web is a server on 127.0.0.1, which newsbot refuses to fetch by default: allow
    it, as an intranet would be allowed (also in the newsbot processes a test starts)."""
    monkeypatch.setenv("NEWSBOT_FETCH_ALLOW_HOSTS", LOOPBACK)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real packaged all-MiniLM-L6-v2, loaded once for the whole run."""
    return make_embedder("all-MiniLM-L6-v2")


def make_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": tmp / "data", "article_dirs": [tmp / "articles"]}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    return folder


# -- the store both ways: embedded (a temporary directory) and a real Chroma server on loopback --
STORE_KINDS = ["embedded", pytest.param("server", marks=pytest.mark.slow)]
_prefixes = itertools.count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """``chroma run`` on 127.0.0.1, in a subprocess the tests can stop and start again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        chroma = Path(sys.executable).with_name("chroma")
        if not chroma.exists():
            pytest.skip("the chroma command is not installed in this environment")
        self.command = [str(chroma), "run", "--path", str(path / "db"), "--host", "127.0.0.1"]

    def start(self) -> None:
        log = (self.path / "server.log").open("ab")
        self.process = subprocess.Popen(
            [*self.command, "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    log_text = (self.path / "server.log").read_text(errors="replace")
                    pytest.fail(f"the chroma server did not start:\n{log_text[-3000:]}")
                time.sleep(0.3)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def settings(self, tmp: Path) -> Settings:
        """Settings for this server, with collections no other test uses."""
        prefix = f"t{next(_prefixes)}"
        return make_settings(
            tmp, chroma_host="127.0.0.1", chroma_port=self.port, collection_prefix=prefix
        )


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One real Chroma server for the whole run, stopped at the end whatever happens."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def settings_for(kind: str, tmp: Path, request: pytest.FixtureRequest) -> Settings:
    if kind == "server":
        server: ChromaServer = request.getfixturevalue("chroma_server")
        return server.settings(tmp)
    return make_settings(tmp)


@pytest.fixture
def settings(
    tmp_path: Path, articles_dir: Path, store_kind: str, request: pytest.FixtureRequest
) -> Settings:
    """Settings on a fresh store; tests that take it run against both kinds of store."""
    return settings_for(store_kind, tmp_path, request)


@pytest.fixture
def embedded_settings(tmp_path: Path, articles_dir: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """An index of the seed article, built once and shared by read-only tests."""
    from index.build import build_index

    tmp = tmp_path_factory.mktemp("seed")
    (tmp / "articles").mkdir()
    shutil.copy(SEED_FILE, tmp / "articles" / SEED_FILE.name)
    settings = make_settings(tmp)
    build_index(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="session")
def seed_folder(seed_settings: Settings) -> Path:
    """The folder of the seed index: ``articles/`` and ``data/`` (for CLI runs; don't change it)."""
    return seed_settings.data_dir.parent


@pytest.fixture(scope="session")
def seed_service(seed_settings: Settings, embedder: Embedder):  # type: ignore[no-untyped-def]
    from bot.answering.service import build_service

    return build_service(seed_settings, embedder=embedder)


@pytest.fixture(scope="session", params=STORE_KINDS)
def seed_store_settings(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seed_settings: Settings,
    embedder: Embedder,
) -> Settings:
    """The seed index in both kinds of store (the embedded one is ``seed_settings``)."""
    if request.param == "embedded":
        return seed_settings
    from index.build import build_index

    tmp = tmp_path_factory.mktemp("seed-server")
    shutil.copytree(seed_settings.article_dirs[0], tmp / "articles")
    settings = settings_for("server", tmp, request)
    build_index(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="session")
def seed_store_service(seed_store_settings: Settings, embedder: Embedder):  # type: ignore[no-untyped-def]
    """The answer service over the seed index, once per kind of store."""
    from bot.answering.service import build_service

    return build_service(seed_store_settings, embedder=embedder)
