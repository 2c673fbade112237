"""The same code against a real Chroma server started on loopback (``chroma run``)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from bot.answering.service import build_service, status_of
from bot.errors import IndexBusy, StoreUnavailable
from bot.settings import Settings
from index.build import build_index
from index.store import Store, make_client
from tests.conftest import SEED_FILE, ChromaServer, free_port, make_settings

pytestmark = pytest.mark.slow


@pytest.fixture
def server_settings(tmp_path: Path, chroma_server: ChromaServer) -> Settings:
    (tmp_path / "articles").mkdir()
    return chroma_server.settings(tmp_path)


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

    status = status_of(server_settings, Store.open(server_settings))
    assert status["articles"] == 2 and status["store"].startswith("http://127.0.0.1:")


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(StoreUnavailable, match="CHROMA_HOST"):
        make_client(settings)


def test_server_going_away_is_a_clear_error_and_coming_back_needs_no_restart(
    tmp_path: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    server = ChromaServer(tmp_path / "own-server")  # its own server: this test stops it
    (tmp_path / "own-server").mkdir()
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED_FILE, tmp_path / "articles" / "seed.txt")
    server.start()
    try:
        settings = server.settings(tmp_path)
        build_index(settings, embedder=embedder)
        service = build_service(settings, embedder=embedder)
        question = "Why did Sheinbaum reject Trump's offer to send troops?"
        assert service.ask(question).found

        server.stop()
        for _ in range(2):  # every question while it is down gets the same clear error, quickly
            with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1.*not answering"):
                service.ask(question)
        with pytest.raises(StoreUnavailable):
            build_index(settings, embedder=embedder)

        server.start()  # same data, same port
        answer = service.ask(question)
        assert answer.found and any("sovereignty" in c.quote.lower() for c in answer.citations)
        (tmp_path / "articles" / "b.txt").write_text(
            "Bridge vote\nThe city council rejected the new bridge on Monday.\n"
        )
        report = build_index(settings, embedder=embedder)
        assert report.added == 1 and report.unchanged == 1
        assert (
            "rejected" in service.ask("What did the city council decide about the bridge?").answer
        )
    finally:
        server.stop()


def test_writers_take_turns_on_a_server(server_settings: Settings, embedder) -> None:  # type: ignore[no-untyped-def]
    from index.lease import writer_lease

    shutil.copy(SEED_FILE, server_settings.article_dirs[0] / "seed.txt")
    store = Store.open(server_settings)
    with writer_lease(store):  # another `newsbot index`, on this or another machine
        with pytest.raises(IndexBusy, match="Chroma server") as busy:
            build_index(server_settings, embedder=embedder)
        assert socket.gethostname() in str(busy.value)
    assert store.lease() is None, "the lease is released when the writer is done"
    assert build_index(server_settings, embedder=embedder).added == 1


def test_a_lease_lapses_when_its_holder_is_gone_or_late(server_settings: Settings) -> None:
    from index.lease import claim, owner_id

    store = Store.open(server_settings)
    ended = subprocess.Popen(["true"])
    ended.wait()  # its pid no longer belongs to a process
    dead = f"{socket.gethostname()}:{ended.pid}:x"
    store.write_lease(dead, time.time() + 600)
    claim(store, owner_id())  # a process on this machine that ended: taken over at once

    store.write_lease("elsewhere:1:x", time.time() + 600)
    with pytest.raises(IndexBusy, match="on elsewhere"):
        claim(store, owner_id())
    store.write_lease("elsewhere:1:x", time.time() - 1)
    claim(store, owner_id())  # a holder on another machine that stopped renewing


def test_the_lease_is_renewed_while_the_writer_works(server_settings: Settings) -> None:
    from index.lease import writer_lease

    store = Store.open(server_settings)
    with writer_lease(store, seconds=0.8) as owner:
        time.sleep(1.6)  # twice as long as one claim lasts
        held = store.lease()
        assert held is not None and held[0] == owner and held[1] > time.time()
