from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from bot.answering.service import build_service, build_store
from bot.errors import IndexBusy
from index.build import build_index, writer_lock
from index.embedding import Embedder
from index.store import Store
from tests.conftest import SEED_FILE, make_settings


class CountingEmbedder(Embedder):
    """The real model, counting how many texts it embedded and whether it was loaded."""

    def __init__(self, real: Embedder) -> None:
        super().__init__(real.name)
        self.backend = real.backend
        self.real = real
        self.embedded = 0

    def _load(self):  # type: ignore[no-untyped-def]
        return self.real.model

    @property
    def dimension(self) -> int:
        self.model  # noqa: B018 - loading is what the tests count
        return self.real.dimension

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.model  # noqa: B018
        self.embedded += len(texts)
        return self.real.encode(texts)


def live_articles(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    store = build_store(settings)
    meta = store.meta()
    return {r.title: r.content_hash for r in store.manifest(meta.generation).values()}


def test_incremental_add_change_remove(settings, articles_dir: Path, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(SEED_FILE, articles_dir / "seed.txt")
    (articles_dir / "b.txt").write_text(
        "Second story\nThe city council approved a new bridge on Monday.\n"
    )
    first = build_index(settings, embedder=embedder)
    assert (first.added, first.updated, first.removed, first.unchanged) == (2, 0, 0, 0)
    assert first.chunks_written > 10

    counting = CountingEmbedder(embedder)
    noop = build_index(settings, embedder=counting)
    assert (noop.added, noop.updated, noop.removed, noop.unchanged, noop.chunks_written) == (
        0,
        0,
        0,
        2,
        0,
    )
    assert not counting.loaded and counting.embedded == 0

    (articles_dir / "b.txt").write_text(
        "Second story\nThe city council rejected the new bridge on Monday.\n"
    )
    (articles_dir / "c.txt").write_text("Third story\nA new library opens downtown next week.\n")
    changed = build_index(settings, embedder=embedder)
    assert (changed.added, changed.updated, changed.removed, changed.unchanged) == (1, 1, 0, 1)
    assert changed.chunks_written == 2

    (articles_dir / "c.txt").unlink()  # one of three: more than NEWSBOT_PRUNE_MAX_SHARE
    held = build_index(settings, embedder=embedder)
    assert (held.removed, held.held_back) == (0, [f"{articles_dir.name}/c.txt"])
    removed = build_index(settings, prune=True, embedder=embedder)
    assert (removed.added, removed.updated, removed.removed, removed.unchanged) == (0, 0, 1, 2)

    store = build_store(settings)
    meta = store.meta()
    texts = [text for _, _, text in store.all_chunks(meta.generation)]
    assert not any("approved a new bridge" in t for t in texts), "a stale chunk survived the update"
    assert not any("library" in t for t in texts), "a removed article left chunks behind"
    assert set(live_articles(settings)) == {
        "Sheinbaum REJECTS Trump’s Proposal – Wow!",
        "Second story",
    }
    answer = build_service(settings, embedder=embedder).ask(
        "What did the city council decide about the bridge?"
    )
    assert answer.found and "rejected" in answer.answer


def test_model_or_chunking_change_forces_full_rebuild(
    settings, articles_dir: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    (articles_dir / "a.txt").write_text("Story\nOne sentence here. Another sentence there.\n")
    build_index(settings, embedder=embedder)
    old_generation = build_store(settings).meta().generation
    resized = settings.model_copy(update={"chunk_chars": 20})
    report = build_index(resized, embedder=embedder)
    assert report.full and report.added == 1 and report.chunks_written == 2
    store = build_store(settings)
    assert store.meta().generation != old_generation
    assert store.generations() == {store.meta().generation}, "the old generation was not dropped"
    other_vectors = CountingEmbedder(embedder)
    other_vectors.backend = "onnx" if embedder.backend != "onnx" else "torch"
    assert build_index(resized, embedder=other_vectors).full
    assert build_store(settings).meta().embedding_model == other_vectors.key


def test_bad_input_never_loses_indexed_articles(settings, articles_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    (articles_dir / "good.jsonl").write_text(
        '{"url": "https://e.x/1", "title": "Kept", "text": "Kept body."}\n'
    )
    build_index(settings, embedder=embedder)
    (articles_dir / "good.jsonl").write_text(
        '{"url": "https://e.x/1", "title": "Kept", "text": "Kept body."\n'
    )
    (articles_dir / "empty.txt").write_text("")
    (articles_dir / "binary.md").write_bytes(b"\x00\xff\x00")
    report = build_index(settings, embedder=embedder)
    assert report.removed == 0 and len(report.problems) == 3
    assert "Kept" in live_articles(settings)


def test_orphan_chunks_from_a_crash_are_invisible_then_swept(
    settings, articles_dir: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    (articles_dir / "a.txt").write_text("Story\nThe mayor resigned on Friday.\n")
    build_index(settings, embedder=embedder)
    store = build_store(settings)
    meta = store.meta()
    vector = embedder.encode(["The mayor was re-elected on Friday."])
    orphan = {
        "article_id": "ghost",
        "content_hash": "x",
        "start": 0,
        "end": 10,
        "position": 0,
        "title": "Ghost",
    }
    store.add_chunks(
        meta.generation, ["ghost:x:0"], vector, ["The mayor was re-elected on Friday."], [orphan]
    )
    answer = build_service(settings, embedder=embedder).ask("What happened to the mayor on Friday?")
    assert all(c.article_id != "ghost" for c in answer.citations)
    store.write_meta(type(meta)(**{**meta.__dict__, "dirty": True}))
    build_index(settings, embedder=embedder)
    assert "ghost:x:0" not in {cid for cid, _, _ in store.chunk_keys(meta.generation)}


def test_embedded_store_has_one_writer(embedded_settings) -> None:  # type: ignore[no-untyped-def]
    with (
        writer_lock(embedded_settings),
        pytest.raises(IndexBusy, match="Chroma server"),
        writer_lock(embedded_settings),
    ):
        pass


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    from bot.errors import ModelNotFound

    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "a.txt").write_text("T\nBody.\n")
    settings = make_settings(tmp_path, embedding_model=str(tmp_path / "no-such-model"))
    with pytest.raises(ModelNotFound, match="NEWSBOT_EMBEDDING_MODEL"):
        build_index(settings)


def test_a_reload_reads_only_the_chunks_it_does_not_hold(
    settings, articles_dir: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(SEED_FILE, articles_dir / "seed.txt")
    build_index(settings, embedder=embedder)
    service = build_service(settings, embedder=embedder)
    store = service.searcher.store
    service.searcher.snapshot()
    with service.searcher.keyword.reading() as reader:
        first = reader.ids()

    read: list[str] = []
    real = store.chunk_records

    def spy(generation, ids):  # type: ignore[no-untyped-def]
        read.extend(ids)
        return real(generation, ids)

    store.chunk_records = spy  # type: ignore[method-assign]
    (articles_dir / "b.txt").write_text("Bridge vote\nThe city council rejected the new bridge.\n")
    build_index(settings, store=store, embedder=embedder)
    service.searcher.snapshot()
    with service.searcher.keyword.reading() as reader:
        second = reader.ids()
    added = second - first
    assert added and set(read) == added, "only the new article's chunks are read again"
    assert first <= second
    assert "rejected" in service.ask("What did the city council decide about the bridge?").answer


class WatchedEmbedder(CountingEmbedder):
    """The real model; records each call to encode as it starts (how many calls so far)."""

    def __init__(self, real: Embedder) -> None:
        super().__init__(real)
        self.calls = 0
        self.second_started = threading.Event()

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 2:
            self.second_started.set()
        return super().encode(texts)


def test_the_next_batch_is_embedded_while_this_one_is_written(
    settings, articles_dir: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Chroma's write of one batch overlaps the embedding of the next, so the cores don't wait
    for the disk; the batches are still written in order and the index is complete."""
    for n in range(4):
        (articles_dir / f"story{n}.txt").write_text(
            f"Story {n}\nThe harbour board of town {n} met on Monday about the ferry timetable.\n"
        )
    monkeypatch.setattr("index.build.BATCH_CHUNKS", 1)  # one article per batch
    watched = WatchedEmbedder(embedder)
    overlapped: list[bool] = []
    real_add = Store.add_chunks

    def add_chunks(self, generation, ids, *rest):  # type: ignore[no-untyped-def]
        if not overlapped:  # the first batch's write: the second batch must be embedding
            overlapped.append(watched.second_started.wait(timeout=30))
        return real_add(self, generation, ids, *rest)

    monkeypatch.setattr(Store, "add_chunks", add_chunks)
    report = build_index(settings, embedder=watched)
    assert overlapped == [True]
    assert (report.added, watched.calls, watched.embedded) == (4, 4, report.chunks_written)
    assert len(live_articles(settings)) == 4
