"""The on-disk keyword index (index/keyword.py) on both stores: updates reach running processes
without a rebuild, a kill mid-update leaves the previous revision, it agrees with the store after
a crash and recovery, and a missing or damaged file is rebuilt from the store."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import cast

import pytest

from bot.answering.service import build_service
from bot.settings import Settings
from index.build import build_index
from index.embedding import Embedder
from index.keyword import KeywordIndex, tokenize
from index.passage import chunk_id
from index.store import SQLITE_FILE, Store
from tests.conftest import settings_for
from tests.test_faults import (
    TOPICS,
    _cited,
    _index,
    _indexed,
    _kill_at,
    _restart,
    _write,
    default_embedder,
)

pytestmark = pytest.mark.slow
__all__ = ["default_embedder"]  # a fixture, used by name


def _live_in_store(store: Store) -> set[str]:
    """The chunk ids the store's manifest vouches for, each of them stored."""
    meta = store.meta()
    assert meta is not None
    manifest = store.manifest(meta.generation)
    live = {chunk_id(r.id, r.content_hash, n) for r in manifest.values() for n in range(r.chunks)}
    stored = {cid for cid, _, _ in store.chunk_keys(meta.generation)}
    assert live <= stored, "every article of the manifest has all its chunks"
    return live


def _keyword_ids(settings: Settings) -> set[str]:
    keyword = KeywordIndex.for_store(Store.open(settings))
    with keyword.reading() as reader:
        return reader.ids()


def _keyword_top(settings: Settings, words: str) -> set[str]:
    """Titles of the chunks the keyword index alone finds for ``words``."""
    keyword = KeywordIndex.for_store(Store.open(settings))
    with keyword.reading() as reader:
        top = reader.top(tokenize(words), 10)
        return {p.title for p in reader.passages([cid for cid, _ in top]).values()}


def _assert_agree(settings: Settings) -> None:
    store = Store.open(settings)
    meta = store.meta()
    state = KeywordIndex.for_store(store).state()
    assert meta is not None and state is not None and state.matches(meta)
    assert _keyword_ids(settings) == _live_in_store(store)
    # the document frequencies kept with the rows are those of the rows
    keyword = KeywordIndex.for_store(store)
    with keyword.reading() as reader:
        rows = reader.connection.execute("SELECT tokens FROM chunks").fetchall()
        counted: dict[str, int] = {}
        for (tokens,) in rows:
            for token in set(tokens.split()):
                counted[token] = counted.get(token, 0) + 1
        kept = dict(
            reader.connection.execute("SELECT term, chunks FROM frequency WHERE chunks > 0")
        )
    assert kept == counted
    # the postings hold every live row, and besides them only rows the last sync deleted
    with keyword.reading() as reader:
        live = {r for (r,) in reader.connection.execute("SELECT rowid FROM chunks")}
        dead = {r for (r,) in reader.connection.execute("SELECT row FROM dead")}
    held = keyword.postings.rows()
    assert live <= held and held - live <= dead


def test_an_update_reaches_a_running_process_without_a_rebuild(
    tmp_path: Path, default_embedder: Embedder, store_kind: str, request: pytest.FixtureRequest
) -> None:
    settings = settings_for(store_kind, tmp_path, request)
    folder = _indexed(settings, default_embedder, "volcano", "wheat")
    service = build_service(settings, store=Store.open(settings), embedder=default_embedder)
    assert TOPICS["volcano"][0] in _cited(service, "Where did the volcano erupt?")
    store = service.searcher.store
    read: list[str] = []
    real = store.chunk_records

    def spy(generation, ids):  # type: ignore[no-untyped-def]
        read.extend(ids)
        return real(generation, ids)

    store.chunk_records = spy  # type: ignore[method-assign]
    store.all_chunks = None  # type: ignore[assignment,method-assign]  # a rebuild would fail

    _write(folder, "chess")
    _index(settings)
    assert TOPICS["chess"][0] in _cited(service, "Who won the world chess championship?")
    assert read == [], "the writer brought this machine's keyword index up to date"
    _assert_agree(settings)


def test_another_machine_catches_up_reading_only_the_chunks_it_lacks(
    tmp_path: Path, default_embedder: Embedder, store_kind: str, request: pytest.FixtureRequest
) -> None:
    """A Chroma server and a bot on another machine (its own data folder, its own keyword
    index); with the embedded store, a writer killed before it updated the keyword index leaves
    the same work for the readers."""
    settings = settings_for(store_kind, tmp_path, request)
    folder = _indexed(settings, default_embedder, "volcano", "wheat")
    if store_kind == "server":
        elsewhere = settings.model_copy(update={"data_dir": tmp_path / "other-machine"})
    else:
        elsewhere = settings
    service = build_service(elsewhere, store=Store.open(elsewhere), embedder=default_embedder)
    assert TOPICS["volcano"][0] in _cited(service, "Where did the volcano erupt?")
    first = _keyword_ids(elsewhere)
    store = service.searcher.store
    read: list[str] = []
    real = store.chunk_records

    def spy(generation, ids):  # type: ignore[no-untyped-def]
        read.extend(ids)
        return real(generation, ids)

    store.chunk_records = spy  # type: ignore[method-assign]

    _write(folder, "chess")
    if store_kind == "server":
        build_index(settings, embedder=default_embedder)
    else:
        _kill_at(settings, "keyword")  # the store's revision committed, the keyword index not
        assert _keyword_ids(elsewhere) == first
    service.searcher.snapshot()  # sees the new revision and catches up in the background
    service.searcher.wait_caught_up(60)
    assert TOPICS["chess"][0] in _cited(service, "Who won the world chess championship?")
    added = _keyword_ids(elsewhere) - first
    assert added and set(read) == added, "only the new article's chunks are read"
    _assert_agree(elsewhere)


@pytest.mark.parametrize("point", ["batch", "keyword"])
def test_a_kill_mid_update_leaves_the_previous_revision_and_recovery_agrees(
    tmp_path: Path,
    default_embedder: Embedder,
    point: str,
    store_kind: str,
    request: pytest.FixtureRequest,
) -> None:
    settings = settings_for(store_kind, tmp_path, request)
    folder = _indexed(settings, default_embedder, "volcano", "wheat")
    before = KeywordIndex.for_store(Store.open(settings)).state()
    assert before is not None

    _write(folder, "chess")
    _write(folder, "volcano", "A second eruption followed on Tuesday.")
    _kill_at(settings, point)
    _restart()

    # the keyword index still holds the previous revision, whole
    after = KeywordIndex.for_store(Store.open(settings)).state()
    assert after == before
    assert TOPICS["volcano"][0] in _keyword_top(settings, "volcano erupted Reykjanes")
    assert TOPICS["chess"][0] not in _keyword_top(settings, "chess championship grandmaster")

    service = build_service(settings, store=Store.open(settings), embedder=default_embedder)
    assert TOPICS["volcano"][0] in _cited(service, "Where did the volcano erupt?")

    report = build_index(settings, embedder=default_embedder)  # the recovery
    assert report.problems == []
    _assert_agree(settings)
    assert TOPICS["chess"][0] in _cited(service, "Who won the world chess championship?")
    changed = service.ask("When did the second eruption follow?")
    assert any("second eruption" in c.quote for c in changed.citations)


@pytest.mark.parametrize("damage", ["missing", "not a database", "truncated"])
def test_a_missing_or_damaged_keyword_index_is_rebuilt_from_the_store(
    tmp_path: Path,
    default_embedder: Embedder,
    damage: str,
    store_kind: str,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings_for(store_kind, tmp_path, request)
    _indexed(settings, default_embedder, "volcano", "wheat")
    path = KeywordIndex.for_store(Store.open(settings)).path
    assert path.exists()
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    if damage == "missing":
        path.unlink()
    elif damage == "not a database":
        path.write_bytes(b"this is not a database\n" * 400)
    else:
        path.write_bytes(path.read_bytes()[:1500])

    caplog.set_level(logging.WARNING, logger="index.keyword")
    service = build_service(settings, store=Store.open(settings), embedder=default_embedder)
    assert TOPICS["wheat"][0] in _cited(service, "How was the wheat harvest in Kansas?")
    messages = [r.getMessage() for r in caplog.records if r.name == "index.keyword"]
    assert len(messages) == 1, messages
    assert (str(path) in messages[0] and "rebuilding it from the store" in messages[0]) or (
        "missing; building it from the store" in messages[0]
    )
    if damage != "missing":
        assert path.with_name(path.name + ".damaged").exists(), "the damaged file is kept aside"
    _assert_agree(settings)


def test_a_running_process_follows_a_keyword_index_another_process_built_anew(
    tmp_path: Path, default_embedder: Embedder
) -> None:
    """One process finds the file damaged, moves it aside and builds it anew: the others, which
    still hold the old file open, move to the new one."""
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    folder = _indexed(settings, default_embedder, "volcano", "wheat")
    service = build_service(settings, store=Store.open(settings), embedder=default_embedder)
    assert TOPICS["volcano"][0] in _cited(service, "Where did the volcano erupt?")

    store = Store.open(settings)
    KeywordIndex.for_store(store).recover(store, "found damaged by another process")
    _write(folder, "chess")
    build_index(settings, embedder=default_embedder)
    assert TOPICS["chess"][0] in _cited(service, "Who won the world chess championship?")


@pytest.mark.parametrize("damage", ["missing", "incomplete", "damaged"])
def test_missing_damaged_or_incomplete_postings_are_rebuilt_from_the_keyword_file(
    tmp_path: Path,
    default_embedder: Embedder,
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The postings (tantivy) are derived from keyword.sqlite3: when they are lost, damaged or
    hold fewer chunks than it, a process that opens the index builds them anew from it, without
    reading the store."""
    import shutil

    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    _indexed(settings, default_embedder, "volcano", "wheat")
    keyword = KeywordIndex.for_store(Store.open(settings))
    folder = keyword.postings.path
    assert folder.is_dir()
    if damage == "missing":
        shutil.rmtree(folder)
    elif damage == "incomplete":
        with keyword.reading() as reader:
            rows = [r for (r,) in reader.connection.execute("SELECT rowid FROM chunks")]
        with keyword.postings.writing(rows[: len(rows) // 2], above=max(rows)):
            pass
    else:
        (folder / "meta.json").write_text("{ not json")

    caplog.set_level(logging.WARNING, logger="index.keyword")
    store = Store.open(settings)
    store.chunk_records = None  # type: ignore[assignment,method-assign]  # nothing read from it
    service = build_service(settings, store=store, embedder=default_embedder)
    assert TOPICS["wheat"][0] in _cited(service, "How was the wheat harvest in Kansas?")
    messages = [r.getMessage() for r in caplog.records if r.name == "index.keyword"]
    assert len(messages) == 1, messages
    assert str(folder) in messages[0] and "rebuilding them from" in messages[0]
    _assert_agree(settings)


def test_questions_do_not_wait_for_the_store_to_be_opened_afresh_on_another_process_revision(
    tmp_path: Path, default_embedder: Embedder
) -> None:
    """The embedded store's vector index is cached per process: on another process's revision
    a running one opens the store afresh and loads the new vector index (about 1.3 s at
    100,000 chunks) in a thread, answering through the store as opened before meanwhile."""
    import threading
    import time

    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    folder = _indexed(settings, default_embedder, "volcano", "wheat")
    service = build_service(settings, store=Store.open(settings), embedder=default_embedder)
    assert TOPICS["volcano"][0] in _cited(service, "Where did the volcano erupt?")
    store = service.searcher.store
    release = threading.Event()
    real = store.reopened

    def slow_reopen() -> Store:  # a large vector index, still loading
        release.wait(60)
        return real()

    store.reopened = slow_reopen  # type: ignore[method-assign]
    _write(folder, "chess")
    _index(settings)
    before = store.client
    clock = time.monotonic()
    service.ask("Where did the volcano erupt?")
    service.ask("Who won the world chess championship?")
    assert time.monotonic() - clock < 20, "answered without waiting for the reopen"
    assert store.client is before, "still reading through the store as opened before"
    release.set()
    reopening = service.searcher._reopening
    assert reopening is not None
    reopening.join(60)
    assert store.client is not before
    view = service.searcher.snapshot()
    vector = default_embedder.encode(["Who won the world chess championship?"])[0]
    nearest = service.searcher.dense_hits(view, vector, 3)
    assert TOPICS["chess"][0] in {h.passage.title for h in nearest}, "the new vectors are read"


def test_a_question_does_not_wait_long_for_a_busy_store_s_revision_pointer(
    tmp_path: Path, default_embedder: Embedder
) -> None:
    """While another process writes to the embedded store, reading its revision pointer can
    wait (up to 0.9 s at 100,000 chunks): a question then goes on with the revision it read
    last, and the next one sees what the read found."""
    import threading
    import time

    from index import search
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    folder = _indexed(settings, default_embedder, "volcano", "wheat")
    service = build_service(settings, store=Store.open(settings), embedder=default_embedder)
    assert TOPICS["volcano"][0] in _cited(service, "Where did the volcano erupt?")
    first = service.searcher.snapshot().meta.revision
    _write(folder, "chess")
    build_index(settings, embedder=default_embedder)  # through another Store object

    store = service.searcher.store
    busy = threading.Event()
    real = store.meta

    def held_up():  # type: ignore[no-untyped-def]  # a write holds the store
        busy.wait(60)
        return real()

    store.meta = held_up  # type: ignore[method-assign]
    clock = time.monotonic()
    view = service.searcher.snapshot()
    assert time.monotonic() - clock < search.META_WAIT_S + 5
    assert view.meta.revision == first, "went on with the revision read last"
    store.meta = real  # type: ignore[method-assign]
    busy.set()
    deadline = time.monotonic() + 30
    while service.searcher.snapshot().meta.revision == first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.searcher.snapshot().meta.revision == first + 1
    assert TOPICS["chess"][0] in _cited(service, "Who won the world chess championship?")


# A writer in another process holding the embedded store's SQLite file for writing: Chroma's
# writer does so while it commits (and sooner, once its changes outgrow SQLite's page cache),
# for as long as it waits for a core at its lower priority (NEWSBOT_UPDATE_NICE).
_HOLD_THE_FILE = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
connection.execute("UPDATE max_seq_id SET seq_id = seq_id")
print("holding", flush=True)
sys.stdin.read()  # until the test is done with it
"""


def test_reads_do_not_wait_for_a_writer_holding_the_embedded_store_s_file(
    tmp_path: Path, default_embedder: Embedder
) -> None:
    """The embedded store's file is in write-ahead-log mode (index/store.py: use_journal), so
    a question, and each of the reads it makes of the store, goes on while another process
    holds the file for writing; in rollback-journal mode they all wait for that writer."""
    import subprocess
    import sys
    import threading

    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    _indexed(settings, default_embedder, "volcano", "wheat")
    store = Store.open(settings)
    service = build_service(settings, store=store, embedder=default_embedder)
    assert TOPICS["volcano"][0] in _cited(service, "Where did the volcano erupt?")
    meta = store.meta()
    assert meta is not None
    vector = default_embedder.encode(["Where did the volcano erupt?"])[0]
    some = [cid for cid, _ in store.query(meta.generation, vector, 3)]
    database = settings.data_dir / "chroma" / SQLITE_FILE
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_THE_FILE, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    done: list[object] = []

    def read() -> None:
        done.append(store.meta())
        done.append(store.query(meta.generation, vector, 3))
        done.append(store.vectors(meta.generation, some))
        done.append(_cited(service, "Where did the volcano erupt?"))

    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(20)  # milliseconds in WAL mode; until the writer lets go otherwise
        assert len(done) == 4, f"{len(done)} of 4 reads done while the writer held the file"
        assert done[0] == meta and TOPICS["volcano"][0] in cast(set[str], done[3])
    finally:
        holder.kill()
        holder.wait()


_OPEN_THE_STORE = """
import sys
from pathlib import Path
from index.config import StoreSettings
from index.store import Store
Store.open(StoreSettings(_env_file=None, data_dir=Path(sys.argv[1]))).meta()
"""


def test_a_store_in_rollback_journal_mode_is_switched_to_wal_when_opened(tmp_path: Path) -> None:
    """A store written before (Chroma makes it in rollback-journal mode, as it does with
    NEWSBOT_EMBEDDED_WAL=false) is put in WAL mode by the next process that opens it."""
    import os
    import subprocess
    import sys

    database = tmp_path / "chroma" / SQLITE_FILE

    def open_in_a_process(wal: bool) -> tuple[int, int]:
        env = dict(os.environ, NEWSBOT_EMBEDDED_WAL=str(wal).lower(), ANONYMIZED_TELEMETRY="False")
        command = [sys.executable, "-c", _OPEN_THE_STORE, str(tmp_path)]
        subprocess.run(command, env=env, check=True, timeout=120)
        header = database.read_bytes()[18:20]  # the file format's write and read versions
        return header[0], header[1]

    assert open_in_a_process(wal=False) == (1, 1), "rollback journal"
    assert open_in_a_process(wal=True) == (2, 2), "write-ahead log"


def test_a_question_does_not_wait_for_a_reopen_that_took_longer_than_the_wait_last_time(
    tmp_path: Path, default_embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting for the embedded store to be opened afresh helps a question only when the reopen
    can finish within the wait: once one took longer (a large vector index), the question that
    starts the next one does not wait for it."""
    import time

    from index import search
    from tests.conftest import make_settings

    monkeypatch.setattr(search, "REOPEN_WAIT_S", 3.0)
    settings = make_settings(tmp_path)
    folder = _indexed(settings, default_embedder, "volcano", "wheat")
    service = build_service(settings, store=Store.open(settings), embedder=default_embedder)
    assert TOPICS["volcano"][0] in _cited(service, "Where did the volcano erupt?")
    store = service.searcher.store
    real = store.reopened

    def slow_reopen() -> Store:  # a large vector index: opening it takes 4 s
        time.sleep(4)
        return real()

    store.reopened = slow_reopen  # type: ignore[method-assign]
    took = []
    for name in ("chess", "bridge"):
        _write(folder, name)
        _index(settings)
        clock = time.monotonic()
        service.ask("Where did the volcano erupt?")
        took.append(time.monotonic() - clock)
        reopening = service.searcher._reopening
        assert reopening is not None
        reopening.join(60)
    assert took[0] >= 3.0 - 0.05, "the first reopen is waited for, up to REOPEN_WAIT_S"
    assert took[1] < 3.0, "the next one, once a reopen took longer than that, is not"
    assert TOPICS["bridge"][0] in _cited(service, "When did the new suspension bridge open?")


def test_an_abbreviation_is_one_word_with_or_without_its_full_stops(
    tmp_path: Path, default_embedder: Embedder
) -> None:
    """News styles differ ("U.S." at the AP, "US" at Reuters): a question written one way finds
    the story written the other, while lower-case abbreviations ("a.m.") are left alone."""
    from tests.conftest import make_settings

    assert tokenize("the U.S. Senate") == tokenize("the US Senate") == ["us", "senat"]
    assert tokenize("Washington, D.C., mayor") == tokenize("Washington DC mayor")
    assert tokenize("at 9 a.m.") == ["9", "m"]
    settings = make_settings(tmp_path)
    folder = _indexed(settings, default_embedder, "volcano", "wheat")
    (folder / "senate.txt").write_text(
        "Senate passes farm bill\n\n"
        + "The U.S. Senate passed the farm bill on Tuesday after a long debate. " * 12,
        encoding="utf-8",
    )
    build_index(settings, embedder=default_embedder)
    assert "Senate passes farm bill" in _keyword_top(settings, "US Senate")


def test_a_keyword_index_of_an_older_format_is_built_anew_once_with_a_message_saying_why(
    tmp_path: Path, default_embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    """After an upgrade that reads words differently, the index on disk holds tokens of the old
    reading: it is rebuilt from the store, once, and the log says why."""
    import sqlite3

    from index import keyword
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    _indexed(settings, default_embedder, "volcano", "wheat")
    path = KeywordIndex.for_store(Store.open(settings)).path
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("UPDATE state SET value = '3' WHERE key = 'format'")
    caplog.set_level(logging.WARNING, logger="index.keyword")
    service = build_service(settings, store=Store.open(settings), embedder=default_embedder)
    assert TOPICS["wheat"][0] in _cited(service, "How was the wheat harvest in Kansas?")
    messages = [r.getMessage() for r in caplog.records if r.name == "index.keyword"]
    assert len(messages) == 1, messages
    assert f"older newsbot (format 3, now {keyword.FORMAT})" in messages[0]
    assert KeywordIndex.for_store(Store.open(settings)).format() == keyword.FORMAT
    caplog.clear()
    build_service(settings, store=Store.open(settings), embedder=default_embedder)
    assert not [r for r in caplog.records if r.name == "index.keyword"], "built once"
    _assert_agree(settings)
    # `newsbot index` after an upgrade, with no article changed, brings it to the format too
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("UPDATE state SET value = '3' WHERE key = 'format'")
    build_index(settings, embedder=default_embedder)
    messages = [r.getMessage() for r in caplog.records if r.name == "index.keyword"]
    assert len(messages) == 1 and "older newsbot (format 3" in messages[0], messages
    assert KeywordIndex.for_store(Store.open(settings)).format() == keyword.FORMAT


def test_a_date_window_is_read_from_an_index_alone_and_an_older_file_gets_that_index(
    tmp_path: Path, default_embedder: Embedder
) -> None:
    """A week's chunk ids are read from the index on (day, id), not from each chunk's row: at
    1.2 million chunks those rows are scattered over a 2.8 GiB file, and reading them made the
    first question about a week wait 2-11 s after each update. A file written before that index
    existed gets it from the next sync (here `newsbot index` with no article changed), and
    answers the same window before and after."""
    import sqlite3

    from index import keyword
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    folder = settings.article_dirs[0]
    folder.mkdir()
    records = [
        {
            "url": f"https://news.example/{name}",
            "title": title,
            "text": body * 4,
            "publish_date": day,
        }
        for (name, (title, body)), day in zip(
            TOPICS.items(), ["2025-03-03", "2025-03-05", "2025-03-20"], strict=False
        )
    ]
    (folder / "news.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    build_index(settings, embedder=default_embedder)
    index = KeywordIndex.for_store(Store.open(settings))
    window = ("2025-03-01", "2025-03-07")

    def plan_and_window() -> tuple[str, list[tuple[str, str]]]:
        with contextlib.closing(sqlite3.connect(index.path)) as connection:
            plan = connection.execute(f"EXPLAIN QUERY PLAN {keyword.WINDOW_SQL}", window)
            steps = " / ".join(str(row[-1]) for row in plan)
        with index.reading() as reader:
            return steps, reader.published_within(*window)

    plan, inside = plan_and_window()
    assert "COVERING INDEX chunks_day" in plan, plan
    with index.reading() as reader:
        days = reader.days_within(*window)
    assert [day for day, _ in days] == ["2025-03-03", "2025-03-05"]
    assert sum(n for _, n in days) == len(inside) == 2
    with contextlib.closing(sqlite3.connect(index.path)) as connection, connection:
        connection.execute("DROP INDEX chunks_day")  # as a file of the first format 4 was
        connection.execute("CREATE INDEX chunks_published ON chunks(published)")
    index.close()
    plan, before = plan_and_window()
    assert "COVERING" not in plan and before == inside, plan
    build_index(settings, embedder=default_embedder)
    index.close()
    plan, after = plan_and_window()
    assert "COVERING INDEX chunks_day" in plan and after == inside, plan
