"""Incremental index builds: skip what is unchanged, replace what changed, prune what was removed.

Unchanged files are recognised by the hash of their bytes and are not even parsed; unchanged
articles by their content hash. The embedding model is loaded only when something must be embedded.
See :mod:`index.store` for the commit protocol that keeps the index consistent under crashes.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from index import prune as prune_rules
from index.chunking import CHUNKER_VERSION, chunk_article
from index.config import IndexSettings, StoreSettings
from index.embedding import Embedder, choose_backend, embedder_for, embedding_key
from index.errors import ConfigError, IndexBusy
from index.keyword import KeywordDamaged, KeywordIndex
from index.models import Article, Chunk
from index.passage import Passage, chunk_id
from index.sources import Problem, SourceFile, read_file, scan
from index.store import ArticleRecord, IndexMeta, Store

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
BATCH_CHUNKS = 256
# Observers of the build's commit points: ``batch`` (a batch of articles committed), ``removed``
# (removals done, before the sweep), ``publish`` (everything written, before the new revision is
# published), ``keyword`` (the keyword index's update written, before its transaction
# commits). None in production; the fault tests pause a real `newsbot index` at one of them
# (tests/pausing.py) and kill it there.
CHECKPOINTS: list[Callable[[str], None]] = []


def _checkpoint(point: str) -> None:
    for observer in CHECKPOINTS:
        observer(point)


@dataclass
class BuildReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_written: int = 0
    articles: int = 0
    full: bool = False
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)  # sources not removed: over the share
    max_share: float = 0.0
    live: int = 0  # articles in the index before the update

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def held_back_note(self, how: str = prune_rules.PRUNE_HINT) -> str:
        """Why nothing was removed and what to do, when removals were held back ("" if not)."""
        if not self.held_back:
            return ""
        return prune_rules.held_back_note(len(self.held_back), self.live, self.max_share, how)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "chunks_written": self.chunks_written,
            "articles": self.articles,
            "full": self.full,
            "seconds": round(self.seconds, 3),
            "problems": [str(p) for p in self.problems],
            "held_back": self.held_back,
        }


def chunker_key(settings: IndexSettings) -> str:
    return (
        f"v{CHUNKER_VERSION}:{settings.chunk_chars}:{settings.chunk_overlap}"
        f":{settings.chunk_min_chars}"
    )


@dataclass(frozen=True)
class _Pending:
    article: Article
    raw_hash: str


_Batch = list[tuple[_Pending, list[Chunk]]]


@dataclass(frozen=True)
class _Embedded:
    """A batch of articles, the passages of theirs still to write, and those passages' vectors."""

    batch: _Batch
    todo: list[Passage]
    vectors: np.ndarray


def _batches(planned: Sequence[tuple[_Pending, list[Chunk]]], size: int) -> Iterator[_Batch]:
    """Whole articles in order, a batch closed once it holds ``size`` chunks or more."""
    batch: _Batch = []
    chunks = 0
    for item in planned:
        batch.append(item)
        chunks += len(item[1])
        if chunks >= size:
            yield batch
            batch, chunks = [], 0
    if batch:
        yield batch


@contextlib.contextmanager
def writer_lock(settings: StoreSettings, store: Store | None = None) -> Iterator[None]:
    """One writer at a time: a file lock for the embedded store, the lease (index/lease.py) of a
    shared one (a Chroma server or Chroma Cloud)."""
    if settings.shared_store:
        from index.lease import writer_lease

        with writer_lease(store or Store.open(settings)):
            yield
        return
    import fcntl

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / "index.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise IndexBusy(
                "Another newsbot process is updating the index. Wait for it to finish and try "
                "again. (With the embedded store, all processes run on this machine; a Chroma "
                "server, set with CHROMA_HOST, lets processes on several machines take turns.)"
            ) from error
        yield


class Builder:
    """One build run. Use :func:`build_index`."""

    def __init__(
        self,
        settings: IndexSettings,
        store: Store,
        embedder: Embedder | None,
        progress: Progress | None,
    ):
        self.settings = settings
        self.store = store
        self._embedder = embedder
        self.progress = progress
        self.report = BuildReport()
        self.first_indexed: dict[str, str] = {}  # article id -> when the live index first had it
        self.backend = settings.embedding_backend  # ``auto`` is resolved in :meth:`run`

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = embedder_for(self.settings, backend=self.backend)
        return self._embedder

    @property
    def embedding_key(self) -> str:
        """What the index records as its model: the embedder's own when one was passed in."""
        if self._embedder is not None:
            return self._embedder.key
        return embedding_key(self.settings.embedding_model, self.backend)

    def run(self, folders: Sequence[Path], full: bool, prune: bool = False) -> BuildReport:
        started = time.perf_counter()
        s = self.settings
        library = s.fetched_dir
        folders = prune_rules.distinct(folders)
        prune_rules.check_folders(folders, library)
        meta = self.store.meta()
        recorded = meta.embedding_model if meta is not None and not full else None
        self.backend = choose_backend(
            self.settings.embedding_backend, self.settings.embedding_model, recorded
        )
        live = self.store.manifest(meta.generation) if meta is not None else {}
        self.first_indexed = {i: r.indexed for i, r in live.items() if r.indexed}
        found = scan(folders, s.follow_links)
        prune_rules.check_not_emptied(folders, found, live, library, prune)
        self.report.problems.extend(found.problems)
        generation, fresh = self._target_generation(meta, full)
        self.report.full = fresh
        manifest = live if not fresh else self.store.manifest(generation)
        to_index, keep_ids, source_updates = self._compare(found.files, manifest)
        pending_ids = {p.article.id for p in to_index}
        gone = [i for i in live if i not in keep_ids and i not in pending_ids]
        scanned = any(prune_rules.same(f, library) for f in folders) and library.is_dir()
        decision = prune_rules.decide(gone, live, found, library, scanned, prune, s.prune_max_share)
        self.report.problems.extend(decision.problems)
        self.report.held_back = decision.held_back
        self.report.max_share = s.prune_max_share
        self.report.live = len(live)
        if fresh and meta is not None:  # the new generation keeps what the old one spares
            to_index += self._carry_over(meta.generation, decision.spare, live, manifest, keep_ids)
            pending_ids = {p.article.id for p in to_index}
            removed = [i for i in manifest if i not in keep_ids and i not in pending_ids]
        else:
            removed = decision.remove
        changed = bool(to_index or removed or (fresh and decision.remove))
        if changed or fresh:
            self.store.room_to_write()
        if changed and not fresh and meta is not None:
            self.store.write_meta(replace(meta, dirty=True))
        self.store.update_sources(generation, source_updates)
        self._index_articles(generation, to_index, manifest)
        if fresh and meta is not None:
            self._keep_removed(meta.generation, [live[i] for i in decision.remove])
            self.report.removed += len(decision.remove)
        self._remove(generation, removed, manifest, count=not fresh)
        _checkpoint("removed")
        if changed or fresh or (meta is not None and meta.dirty):
            self._sweep(generation)
        _checkpoint("publish")
        self._publish(meta, generation, fresh, changed)
        self._sync_keyword()
        self.report.articles = (
            len(self.store.manifest(generation)) if changed or fresh else len(manifest)
        )
        self.report.seconds = time.perf_counter() - started
        return self.report

    def restore(self, meta: IndexMeta, articles: Sequence[prune_rules.Removed]) -> None:
        """Index ``articles`` again into the live generation, from their kept texts."""
        if meta.embedding_model != self.embedding_key or meta.chunker != chunker_key(self.settings):
            raise ConfigError(
                f"The index was built with {meta.embedding_model} ({meta.chunker}), not with the "
                "current embedding and chunk settings. Restore with the settings the index was "
                "built with, or run `newsbot index` first."
            )
        live = self.store.manifest(meta.generation)
        self.first_indexed = {a.record.id: a.record.indexed for a in articles if a.record.indexed}
        pending = [_Pending(a.article(), a.record.source_hash) for a in articles]
        if pending:
            self.store.room_to_write()
            self.store.write_meta(replace(meta, dirty=True))
            self._index_articles(meta.generation, pending, live)
            self._publish(meta, meta.generation, False, True)
            self._sync_keyword()

    def _carry_over(
        self,
        generation: int,
        spare: list[str],
        live: dict[str, ArticleRecord],
        target: dict[str, ArticleRecord],
        keep: set[str],
    ) -> list[_Pending]:
        """Spared articles of the old generation, to be indexed into the new one from their
        stored text (the files they came from are not in this scan)."""
        todo = []
        for article_id in spare:
            record = live[article_id]
            old = target.get(article_id)
            if old is not None and old.content_hash == record.content_hash:
                keep.add(article_id)
            else:
                todo.append(record)
        return [
            _Pending(a.article(), a.record.source_hash)
            for a in prune_rules.stored(self.store, generation, todo)
        ]

    # -- planning ------------------------------------------------------------------------------
    def _target_generation(self, meta: IndexMeta | None, full: bool) -> tuple[int, bool]:
        """The generation to write: the live one, or a new one when the model or chunking changed.

        A new generation left behind by a killed full rebuild is resumed, not started over, if it
        was started with the same vectors and chunks (its mark says so): vectors of two models or
        backends never share a generation."""
        existing = self.store.generations()
        wanted = {"embedding_model": self.embedding_key, "chunker": chunker_key(self.settings)}
        same = meta is not None and wanted == {
            "embedding_model": meta.embedding_model,
            "chunker": meta.chunker,
        }
        if meta is not None and same and not full:
            for stale in existing - {meta.generation}:
                self.store.drop_generation(stale)
            return meta.generation, False
        live = meta.generation if meta else 0
        leftovers = [g for g in sorted(existing) if g > live and not full]
        resumable = [g for g in leftovers if self.store.generation_mark(g) == wanted]
        target = resumable[-1] if resumable else max(existing | {live}) + 1
        for stale in existing - {live, target}:
            self.store.drop_generation(stale)
        if not resumable:
            self.store.mark_generation(target, wanted)
        return target, True

    def _compare(
        self, files: list[SourceFile], manifest: dict[str, ArticleRecord]
    ) -> tuple[list[_Pending], set[str], list[ArticleRecord]]:
        by_source: dict[str, list[ArticleRecord]] = {}
        for record in manifest.values():
            by_source.setdefault(record.source, []).append(record)
        to_index: list[_Pending] = []
        keep: set[str] = set()
        source_updates: list[ArticleRecord] = []
        unchanged = {f.key for f in files if f.key in by_source and _unchanged(by_source[f.key], f)}
        # article id -> the file it is indexed from. Unchanged files count first, whatever their
        # order: a new file that repeats an indexed article's address is the duplicate, and
        # never replaces the article it copies.
        seen = {r.id: key for key in unchanged for r in by_source[key]}
        for source in files:
            previous = by_source.get(source.key, [])
            if source.key in unchanged:
                keep.update(r.id for r in previous)
                self.report.unchanged += len(previous)
                continue
            result = read_file(source, self.settings.max_article_bytes)
            self.report.problems.extend(result.problems)
            if result.problems and previous:
                keep.update(r.id for r in previous)  # never lose indexed articles to a broken file
            for article in result.articles:
                if article.id in seen:
                    self.report.problems.append(
                        Problem(
                            source.key,
                            f"duplicate of an article in {seen[article.id]} ({article.url or article.title}); skipped",
                        )
                    )
                    continue
                seen[article.id] = source.key
                old = manifest.get(article.id)
                if old is not None and old.content_hash == article.content_hash:
                    keep.add(article.id)
                    self.report.unchanged += 1
                    if old.source_hash != source.raw_hash or old.source != source.key:
                        source_updates.append(_with_source(old, source))
                    continue
                to_index.append(_Pending(article, source.raw_hash))
        return to_index, keep, source_updates

    # -- writing -------------------------------------------------------------------------------
    def _index_articles(
        self, generation: int, pending: list[_Pending], manifest: dict[str, ArticleRecord]
    ) -> None:
        s = self.settings
        planned = [
            (p, chunk_article(p.article, s.chunk_chars, s.chunk_overlap, s.chunk_min_chars))
            for p in pending
        ]
        total = sum(len(chunks) for _, chunks in planned)
        done = 0
        for embedded in self._embedded(generation, _batches(planned, BATCH_CHUNKS)):
            done += self._write_batch(generation, embedded, manifest)
            self._tick(done, total)

    def _embedded(self, generation: int, batches: Iterable[_Batch]) -> Iterator[_Embedded]:
        """Each batch with the passages it still needs written and their vectors, in order.

        The next batch is embedded while the caller writes this one: Chroma's write and the
        SQLite commit of a batch run on this thread while the embedder's workers already have
        the next batch, so the cores don't wait for the disk between batches. The writes still
        happen one batch at a time in order, so the commit protocol is unchanged."""
        with ThreadPoolExecutor(1, thread_name_prefix="newsbot-embed-ahead") as ahead:
            queued: tuple[_Batch, list[Passage], Future[np.ndarray]] | None = None
            for batch in batches:
                todo = self._todo(generation, batch)
                future = ahead.submit(self._vectors, todo)
                if queued is not None:
                    yield _Embedded(queued[0], queued[1], queued[2].result())
                queued = (batch, todo, future)
            if queued is not None:
                yield _Embedded(queued[0], queued[1], queued[2].result())

    def _todo(self, generation: int, batch: _Batch) -> list[Passage]:
        """The batch's passages that the store doesn't hold yet (all of them, unless a crashed
        build is resumed)."""
        passages = [Passage.of(p.article, chunk) for p, chunks in batch for chunk in chunks]
        present = self.store.existing_chunk_ids(generation, [p.chunk_id for p in passages])
        return [passage for passage in passages if passage.chunk_id not in present]

    def _vectors(self, todo: list[Passage]) -> np.ndarray:
        if not todo:  # nothing to embed: the model is not even loaded
            return np.zeros((0, 0), dtype=np.float32)
        return self.embedder.encode([passage.search_text for passage in todo])

    def _tick(self, done: int, total: int) -> None:
        if self.progress:
            self.progress(done, total)

    def _write_batch(
        self, generation: int, embedded: _Embedded, manifest: dict[str, ArticleRecord]
    ) -> int:
        batch, todo = embedded.batch, embedded.todo
        if todo:
            self.store.add_chunks(
                generation,
                [passage.chunk_id for passage in todo],
                embedded.vectors,
                [passage.text for passage in todo],
                [passage.to_metadata() for passage in todo],
            )
        now = Store.now()
        rows = [
            (
                _record(p.article, p.raw_hash, len(chunks), self._indexed(p, manifest, now)),
                p.article.text,
            )
            for p, chunks in batch
        ]
        self.store.commit_articles(generation, rows)
        stale: list[str] = []
        for pending, _ in batch:
            old = manifest.get(pending.article.id)
            if old is None:
                self.report.added += 1
            else:
                self.report.updated += 1
                stale.extend(chunk_id(old.id, old.content_hash, i) for i in range(old.chunks))
        self.store.delete_chunks(generation, stale)
        self.report.chunks_written += len(todo)
        _checkpoint("batch")
        return sum(len(chunks) for _, chunks in batch)

    def _indexed(self, pending: _Pending, manifest: dict[str, ArticleRecord], now: str) -> str:
        """When the article was first indexed: kept through updates, rebuilds and restores, so
        only a new story counts as an arrival (the digest, followed topics)."""
        old = manifest.get(pending.article.id)
        return (old.indexed if old else "") or self.first_indexed.get(pending.article.id) or now

    def _remove(
        self,
        generation: int,
        removed: list[str],
        manifest: dict[str, ArticleRecord],
        count: bool = True,
    ) -> None:
        if count:  # what this update removes from the index (kept for `newsbot restore`)
            self._keep_removed(generation, [manifest[i] for i in removed])
            self.report.removed += len(removed)
        self.store.remove_articles(generation, removed)
        stale = [
            chunk_id(i, manifest[i].content_hash, n)
            for i in removed
            for n in range(manifest[i].chunks)
        ]
        self.store.delete_chunks(generation, stale)

    def _keep_removed(self, generation: int, records: list[ArticleRecord]) -> None:
        if records:
            prune_rules.keep_removed(
                self.store, generation, records, self.settings.removed_retention_days
            )

    def _sweep(self, generation: int) -> None:
        """Delete chunks that no manifest row vouches for (left by a crash mid-write)."""
        live = {r.id: r.content_hash for r in self.store.manifest(generation).values()}
        orphans = [cid for cid, aid, h in self.store.chunk_keys(generation) if live.get(aid) != h]
        if orphans:
            log.info("removing %d orphaned chunks", len(orphans))
            self.store.delete_chunks(generation, orphans)

    def _publish(self, meta: IndexMeta | None, generation: int, fresh: bool, changed: bool) -> None:
        if not (fresh or changed or (meta and meta.dirty)):
            return
        dimension = meta.dimension if meta and not fresh else 0
        if self._embedder is not None and self._embedder.loaded:
            dimension = self._embedder.dimension
        self.store.write_meta(
            IndexMeta(
                generation=generation,
                revision=(meta.revision + 1) if meta else 1,
                embedding_model=self.embedding_key,
                dimension=dimension,
                chunker=chunker_key(self.settings),
                updated=Store.now(),
            )
        )
        if fresh and meta is not None and meta.generation != generation:
            self.store.drop_generation(meta.generation)

    def _sync_keyword(self) -> None:
        """Bring this machine's keyword index to the revision just published, in one transaction
        (index/keyword.py). The store's revision is already committed: if this fails, or the
        process is killed here, searchers keep the previous revision and bring it up themselves."""
        keyword = KeywordIndex.for_store(self.store)
        try:
            try:
                keyword.sync(self.store, before_commit=lambda: _checkpoint("keyword"))
            except KeywordDamaged as error:
                keyword.recover(self.store, str(error))
        except sqlite3.Error as error:
            log.warning("the keyword index was not updated (%s); searchers will update it", error)
        finally:
            keyword.close()


def _unchanged(previous: list[ArticleRecord], source: SourceFile) -> bool:
    """Is ``source`` the file these indexed articles were read from, byte for byte?"""
    return all(r.source_hash == source.raw_hash for r in previous)


def _with_source(record: ArticleRecord, source: SourceFile) -> ArticleRecord:
    return replace(record, source=source.key, source_hash=source.raw_hash)


def _record(article: Article, raw_hash: str, chunks: int, indexed: str = "") -> ArticleRecord:
    return ArticleRecord(
        id=article.id,
        content_hash=article.content_hash,
        source=article.source,
        source_hash=raw_hash,
        title=article.title,
        url=article.url or "",
        published=article.published or "",
        authors=", ".join(article.authors),
        chunks=chunks,
        indexed=indexed,
    )


def build_index(
    settings: IndexSettings,
    folders: Sequence[Path] | None = None,
    *,
    full: bool = False,
    prune: bool = False,
    store: Store | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Bring the index in line with the article folders; returns what was done.

    ``prune`` confirms a large removal (see index.prune): without it, an update that would remove
    more than NEWSBOT_PRUNE_MAX_SHARE of the index removes nothing and lists it in ``held_back``."""
    store = store or Store.open_to_write(settings)
    with writer_lock(settings, store):
        folders = list(folders) if folders else list(settings.article_folders)
        return Builder(settings, store, embedder, progress).run(folders, full, prune)


@dataclass
class RestoreReport:
    """What :func:`restore_last` put back."""

    restored: list[str] = field(default_factory=list)  # titles
    already: int = 0  # back in the index already (indexed again since)
    removed_at: float | None = None  # when the undone update removed them (Unix time)
    articles: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "restored": self.restored,
            "already_indexed": self.already,
            "removed_at": self.removed_at,
            "articles": self.articles,
            "seconds": round(self.seconds, 3),
        }


def restore_last(
    settings: IndexSettings, *, store: Store | None = None, embedder: Embedder | None = None
) -> RestoreReport:
    """Undo the last update that removed articles: index them again from their kept records
    (NEWSBOT_REMOVED_RETENTION_DAYS), and forget that removal, so a second call undoes the one
    before it."""
    started = time.perf_counter()
    store = store or Store.open_to_write(settings)
    report = RestoreReport()
    with writer_lock(settings, store):
        store.forget_removed(before=time.time() - settings.removed_retention_days * 86400)
        batches = store.removed_batches()
        meta = store.meta()
        if batches and meta is not None:
            batch, report.removed_at, _ = batches[0]
            removed = [prune_rules.Removed(*row) for row in store.removed_in(batch)]
            live = store.manifest(meta.generation)
            back = [r for r in removed if r.record.id not in live]
            Builder(settings, store, embedder, None).restore(meta, back)
            report.restored = sorted(r.record.title for r in back)
            report.already = len(removed) - len(back)
            store.forget_removed(batch=batch)
        final = store.meta()
        report.articles = len(store.manifest(final.generation)) if final else 0
    report.seconds = time.perf_counter() - started
    return report
