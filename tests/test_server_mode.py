"""The same code against a real Chroma server started on loopback (``chroma run``)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.service import build_service, status_of
from bot.settings import Settings
from index.build import build_index
from index.store import Store, make_client
from tests.conftest import SEED_FILE, make_settings

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        pytest.skip("the chroma command is not installed in this environment")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("w")
    process = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(path / "db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"chroma server did not start: {(path / 'server.log').read_text()}")
                time.sleep(0.3)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def server_settings(tmp_path: Path, chroma_server: int, request: pytest.FixtureRequest) -> Settings:
    (tmp_path / "articles").mkdir()
    prefix = "t" + str(abs(hash(request.node.name)))[:10]
    return make_settings(
        tmp_path, chroma_host="127.0.0.1", chroma_port=chroma_server, collection_prefix=prefix
    )


def test_build_and_answer_against_a_server(server_settings: Settings, embedder) -> None:  # type: ignore[no-untyped-def]
    articles = server_settings.article_dirs[0]
    shutil.copy(SEED_FILE, articles / "seed.txt")
    first = build_index(server_settings, embedder=embedder)
    assert first.added == 1 and first.chunks_written > 0
    assert not (server_settings.data_dir / "chroma").exists(), (
        "server mode must not create a local store"
    )

    service = build_service(server_settings, embedder=embedder)
    answer = service.ask("Why did Sheinbaum reject Trump's offer to send troops?")
    assert answer.found and any("sovereignty" in c.quote.lower() for c in answer.citations)

    noop = build_index(server_settings, embedder=embedder)
    assert (noop.unchanged, noop.chunks_written) == (1, 0)

    (articles / "b.txt").write_text(
        "Bridge vote\nThe city council rejected the new bridge on Monday.\n"
    )
    build_index(server_settings, embedder=embedder)
    answer = service.ask("What did the city council decide about the bridge?")
    assert answer.found and "rejected" in answer.answer, (
        "a running service must see the new article"
    )

    status = status_of(
        server_settings, Store(make_client(server_settings), server_settings.collection_prefix)
    )
    assert status["articles"] == 2 and status["store"].startswith("http://127.0.0.1:")


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    from bot.errors import StoreUnavailable

    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=_free_port())
    with pytest.raises(StoreUnavailable, match="CHROMA_HOST"):
        make_client(settings)
