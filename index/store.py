"""The Chroma store: chunk vectors, the record of indexed articles, and the pointer that commits.

Layout (every collection name starts with the configured prefix):

- ``<prefix>_meta``: one record, ``current``, naming the live generation, the embedding model, the
  chunker version and a revision number that changes on every commit. Readers poll it.
- ``<prefix>_g<N>_articles``: one record per indexed article (its cleaned text, metadata and content
  hash). This is the manifest: a chunk is live only if its article's manifest hash matches its own.
- ``<prefix>_g<N>_chunks``: the chunk vectors; ids are ``<article id>:<hash prefix>:<position>``.

Writes follow a commit protocol, so a reader never sees a half-built article and a crash at any
point leaves the previous index answering: chunks of a new version are written first (invisible),
the manifest row flips to the new hash (the commit), then the old chunks are deleted. A full
rebuild (new model) fills a new generation and flips the pointer in ``_meta`` last.
"""

from __future__ import annotations

import errno
import functools
import inspect
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from index.config import StoreSettings
from index.errors import StoreDamaged, StoreUnavailable, VectorsUnreadable

log = logging.getLogger(__name__)

META_ID = "current"
LEASE_ID = "writer"  # in the meta collection: which process may write a shared store (lease.py)
_PLACEHOLDER = [0.0]  # manifest rows need a vector; one dimension costs nothing
_PAGE = 5000


@dataclass(frozen=True)
class IndexMeta:
    generation: int
    revision: int
    embedding_model: str
    dimension: int
    chunker: str
    updated: str
    dirty: bool = False


@dataclass(frozen=True)
class ArticleRecord:
    id: str
    content_hash: str
    source: str
    source_hash: str
    title: str
    url: str
    published: str
    authors: str
    chunks: int
    indexed: str = ""  # when the article was first indexed (UTC ISO seconds; "" before 2026-12)


def make_client(settings: StoreSettings, fresh: bool = False) -> Any:
    """A Chroma client for the settings: a server, Chroma Cloud, or the embedded store.

    Chroma shares one embedded instance per folder within a process, and that instance's vector
    index does not see another process's later writes. ``fresh`` opens a new instance, which
    reads the folder as it is now (clients already open keep the old one)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.chroma_host:
            headers = {}
            if settings.chroma_api_key:
                headers["x-chroma-token"] = settings.chroma_api_key.get_secret_value()
            kwargs: dict[str, Any] = {}
            if settings.chroma_tenant:
                kwargs["tenant"] = settings.chroma_tenant
            if settings.chroma_database:
                kwargs["database"] = settings.chroma_database
            return chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                headers=headers,
                settings=chroma_settings,
                **kwargs,
            )
        if settings.chroma_api_key:
            return chromadb.CloudClient(
                tenant=settings.chroma_tenant,
                database=settings.chroma_database,
                api_key=settings.chroma_api_key.get_secret_value(),
                settings=chroma_settings,
            )
        path = settings.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        from chromadb.api.shared_system_client import SharedSystemClient

        shared = getattr(SharedSystemClient, "_identifier_to_system", None)
        if str(path) not in _OPENED_HERE:
            # the first opening in this process (see OPEN_HERE): check the file, set its journal
            check_files(path)
            use_journal(path / SQLITE_FILE, settings.embedded_wal)
            _OPENED_HERE.add(str(path))
        if fresh:  # forget the shared instance (a private cache; the public reset clears all)
            if isinstance(shared, dict):
                shared.pop(str(path), None)
            else:
                SharedSystemClient.clear_system_cache()
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except StoreDamaged:
        raise
    except BaseException as error:  # chromadb raises several unrelated types for "cannot connect"
        embedded = not (settings.chroma_host or settings.chroma_api_key)
        damage = damaged(error, settings.store_location, embedded)
        if damage is not None:
            raise damage from error
        if not isinstance(error, Exception):
            raise
        if embedded:
            raise StoreUnavailable(
                f"Cannot open the embedded store at {settings.store_location}: {_first(error)}. "
                "Check that the folder is readable and writable by this user."
            ) from error
        raise StoreUnavailable(
            f"Cannot open the Chroma store at {settings.store_location}: {error}. "
            "Check that the server is running and CHROMA_HOST/CHROMA_PORT are right."
        ) from error


SQLITE_FILE = "chroma.sqlite3"
_SQLITE_MAGIC = b"SQLite format 3\x00"

# The embedded store's SQLite journal. Chroma leaves its file in rollback-journal mode, where a
# writer's exclusive lock (taken to commit, or earlier once its changes outgrow SQLite's page
# cache) stops every reader of the file, in every process, until the writer commits. A writer
# that runs at a lower CPU priority (NEWSBOT_UPDATE_NICE) and waits for a core while holding
# that lock is a priority inversion: the answering process, which has the higher priority, waits
# for it (questions waited up to 4 s while 1,500 chunks were written; docs/benchmarks.md, "The
# wait during an update"). In write-ahead-log mode a reader reads the last committed state and
# never waits for a writer; writers still take turns. The mode is kept in the file, so setting it
# once is enough: every process that opens the store sets it if it is not set yet.
#
# OPEN_HERE: newsbot reads the file with Python's own SQLite (its header, Chroma's small tables,
# the journal mode) only before Chroma opens it in this process. Chroma has its own copy of the
# SQLite library, and the two don't know of each other's locks: closing a file releases every
# POSIX lock the process holds on it, Chroma's included, and a WAL connection that believes it
# is the last one checkpoints and deletes the log that Chroma's connections still use (SQLite's
# "How To Corrupt", 2.2.1: multiple copies of SQLite in the same program).
WAL, ROLLBACK = "wal", "delete"
_OPENED_HERE: set[str] = set()  # folders Chroma opened in this process (even if since forgotten)
_HEADER_MODES = {1: ROLLBACK, 2: WAL}  # the file format's write version (byte 18): its journal
JOURNAL_WAIT_S = 1.0  # how long opening the store waits to change the mode (a writer is at work)


def use_journal(database: Path, wal: bool = True) -> str | None:
    """Put the embedded store's SQLite file in WAL mode (``wal``) or back in rollback-journal
    mode; the mode it is in afterwards, or None when there is no file yet or the mode could not
    be changed now (another process is writing, or holds the file open in the other mode: the
    store works in either mode, and the next opening tries again)."""
    import sqlite3

    wanted = WAL if wal else ROLLBACK
    if not database.is_file() and not wal:
        return None  # Chroma makes it in rollback-journal mode
    try:
        with database.open("rb") as handle:
            header = handle.read(20)
    except OSError:
        header = b""
    if len(header) == 20 and _HEADER_MODES.get(header[18]) == wanted:
        return wanted  # already so: no SQLite connection needed
    try:
        connection = sqlite3.connect(database, timeout=JOURNAL_WAIT_S, isolation_level=None)
    except sqlite3.Error as error:
        log.info("could not open %s to set its journal: %s", database, error)
        return None
    try:
        mode = str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode != wanted:
            mode = str(connection.execute(f"PRAGMA journal_mode={wanted}").fetchone()[0]).lower()
        if mode != wanted:
            log.info("the store's journal stays %s for now (the file is in use)", mode)
        return mode
    except sqlite3.Error as error:
        log.info("could not set the store's journal to %s now: %s", wanted, error)
        return None
    finally:
        connection.close()


def _recovery(location: str) -> str:
    return (
        f"Move it aside and rebuild the index from the article files: mv {location} "
        f"{location}.damaged && newsbot index"
    )


def check_files(path: Path) -> None:
    """StoreDamaged when the embedded store's database is not one: empty (a crash or a full
    disk while it was first written) or not SQLite at all. Chroma would take an empty file for
    an empty index, and panic on a foreign one."""
    database = path / SQLITE_FILE
    try:
        with database.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return  # a new store
    except OSError as error:
        raise StoreDamaged(
            f"The index at {path} cannot be read ({error.strerror or error}). Check the "
            "permissions of that folder and the disk it is on."
        ) from error
    if not head:
        raise StoreDamaged(
            f"The index at {path} is damaged: {SQLITE_FILE} is empty (0 bytes). "
            + _recovery(str(path))
        )
    if head != _SQLITE_MAGIC:
        raise StoreDamaged(
            f"The index at {path} is damaged: {SQLITE_FILE} is not a database. "
            + _recovery(str(path))
        )
    problem = _unreadable_tables(database)
    if problem:
        free = free_space(str(path))
        if free is not None and free < 2**20:  # in WAL mode a reader needs room for its files
            raise _no_space(str(path), embedded=True)
        raise StoreDamaged(f"The index at {path} is damaged ({problem}). " + _recovery(str(path)))


def _unreadable_tables(database: Path) -> str | None:
    """Read the small tables Chroma reads when it opens the store (a millisecond or two): a
    damaged page there makes Chroma's Rust core panic, with a long backtrace, before Python
    sees an error."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as error:
        return str(error)
    try:
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        for table in _OPENING_TABLES & names:
            connection.execute(f"SELECT * FROM {table}").fetchall()  # fixed names, not input
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            return None  # a writer is at work; Chroma waits for it
        return str(error)
    except sqlite3.DatabaseError as error:
        return str(error)
    finally:
        connection.close()
    return None


# What Chroma reads on opening an embedded store (its own small bookkeeping tables).
_OPENING_TABLES = frozenset(
    {"migrations", "tenants", "databases", "collections", "segments", "collection_metadata"}
    | {"segment_metadata", "maintenance_log", "acquire_write", "max_seq_id"}
)


_FULL = ("database or disk is full", "no space left on device", "disk quota exceeded")
_CORRUPT = ("malformed", "file is not a database", "corrupt")


# An update needs room for the new vectors, texts and Chroma's log: below this much free space on
# the embedded store's disk it stops before writing anything (a write that fails halfway leaves
# Chroma's log unapplied, and then even reading fails until there is room again).
LOW_SPACE = 32 * 2**20


def free_space(location: str) -> int | None:
    try:
        return shutil.disk_usage(location).free
    except OSError:
        return None


def _room_to_write(location: str) -> None:
    free = free_space(location)
    if free is not None and free < LOW_SPACE:
        raise StoreDamaged(
            f"Only {free / 2**20:.1f} MB are free on the disk holding the index at {location}, "
            "so the update stopped before writing anything; the index answers as before. "
            f"Free at least {LOW_SPACE // 2**20} MB and run it again."
        )


def damaged(error: BaseException, location: str, embedded: bool) -> StoreDamaged | None:
    """The StoreDamaged that ``error`` means, if it means a full disk or a damaged store."""
    text = f"{type(error).__name__}: {error}".lower()
    no_space = isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
    free = free_space(location) if embedded else None
    if no_space or any(marker in text for marker in _FULL) or (free is not None and free < 2**20):
        return _no_space(location, embedded)
    if not embedded:
        return None  # a server reports its own troubles; its log has the details
    if type(error).__name__ == "PanicException" or any(m in text for m in _CORRUPT):
        return StoreDamaged(
            f"The index at {location} is damaged ({_first(error)}). " + _recovery(location)
        )
    return None


def _no_space(location: str, embedded: bool) -> StoreDamaged:
    where = f"the disk holding the index at {location}" if embedded else location
    return StoreDamaged(
        f"No space left on {where}. Nothing indexed is lost. Free some disk space and run the "
        "command again."
    )


def _first(error: BaseException, limit: int = 160) -> str:
    """The first line of an error's message, shortened: enough to recognise, no traceback."""
    line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _unreachable(error: Exception) -> bool:
    """Whether ``error`` means the store could not be reached (as opposed to a bad request)."""
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    import httpx  # chromadb's HTTP client; imported only when something already went wrong

    return isinstance(error, httpx.TransportError)


def _remote(method: _Method) -> _Method:
    """Turn "cannot reach the store" into StoreUnavailable, for plain and generator methods."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: Store, *args: Any, **kwargs: Any) -> Any:
            with self.reachable():
                yield from method(self, *args, **kwargs)

        return cast(_Method, generator)

    @functools.wraps(method)
    def call(self: Store, *args: Any, **kwargs: Any) -> Any:
        with self.reachable():
            return method(self, *args, **kwargs)

    return cast(_Method, call)


class Store:
    """Typed access to the collections above. Holds no cached state except collection handles.

    Every method that talks to the store raises StoreUnavailable when it cannot be reached (a
    Chroma server that is down or restarting); the next call tries again, so a running process
    recovers on its own once the server is back."""

    def __init__(
        self,
        client: Any,
        prefix: str = "newsbot",
        location: str = "the Chroma store",
        data_dir: Path = Path(".newsbot"),
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.location = location
        self.data_dir = data_dir  # this machine's files (the keyword index: index/keyword.py)
        self.written_revision: int | None = None  # the last revision this object published
        self._meta_collection: Any = None
        self._handles: dict[str, Any] = {}
        self._reopen: Callable[[], Any] | None = None
        self.vectors_load_s: float | None = None  # how long loading the vector index took

    @classmethod
    def open(cls, settings: StoreSettings) -> Store:
        """The store the settings name (embedded, a server, or Chroma Cloud)."""
        store = cls(
            make_client(settings),
            settings.collection_prefix,
            settings.store_location,
            settings.data_dir,
        )
        if not settings.shared_store:
            store._reopen = lambda: make_client(settings, fresh=True)
        return store

    def catch_up(self, revision: int) -> None:
        """Make sure reads see ``revision``, which another process may have published.

        A server always serves the latest writes. The embedded store's vector index is cached
        per process: when the revision came from elsewhere, open the folder afresh (search does
        it in the background: index/search.py)."""
        if self.stale(revision):
            log.info("the index changed in another process (revision %d); reopening it", revision)
            self.adopt(self.reopened())

    def stale(self, revision: int) -> bool:
        """Whether reads may not see ``revision`` until the store is opened afresh (the embedded
        store, when another process published it: its vector index is cached per process)."""
        return self._reopen is not None and revision != self.written_revision

    def reopened(self) -> Store:
        """The same store opened afresh (its own client), to be warmed up and then taken over
        with :meth:`adopt`, while this one keeps answering (a server: this one)."""
        if self._reopen is None:
            return self
        fresh = Store(self._reopen(), self.prefix, self.location, self.data_dir)
        fresh._reopen = self._reopen
        return fresh

    def adopt(self, fresh: Store) -> None:
        """Read from now on through ``fresh``'s client (opened by :meth:`reopened`)."""
        self.client, self._meta_collection, self._handles = (
            fresh.client,
            fresh._meta_collection,
            dict(fresh._handles),
        )

    @classmethod
    def open_to_write(cls, settings: StoreSettings) -> Store:
        """The store, opened by a command that updates it. When the embedded store's disk is
        nearly full, the update is refused before the store is even opened: Chroma writes to
        its database whenever it opens (a row of its own write-lock table), and a refused update
        that had opened the store was seen to use up the last 0.2 MB of a disk, so that the next
        question could not open it."""
        if not settings.shared_store:
            _room_to_write(settings.store_location)
        return cls.open(settings)

    def room_to_write(self) -> None:
        """StoreDamaged, before anything is written, when the embedded store's disk is nearly
        full. (A server's disk is the server's to watch.)"""
        if self._reopen is not None:
            _room_to_write(self.location)

    @contextmanager
    def reachable(self) -> Iterator[None]:
        try:
            yield
        except (StoreUnavailable, StoreDamaged, VectorsUnreadable):
            raise
        except BaseException as error:  # a Rust panic in Chroma is not an Exception
            damage = damaged(error, self.location, embedded=self._reopen is not None)
            if damage is not None:
                raise damage from error
            if not isinstance(error, Exception) or not _unreachable(error):
                raise
            raise StoreUnavailable(
                f"The Chroma store at {self.location} is not answering ({error}). "
                "Check that the server is running; newsbot reconnects by itself once it is back."
            ) from error

    # -- the pointer ---------------------------------------------------------------------------
    @property
    def _meta(self) -> Any:
        if self._meta_collection is None:
            self._meta_collection = self.client.get_or_create_collection(
                f"{self.prefix}_meta", embedding_function=None
            )
        return self._meta_collection

    @_remote
    def meta(self) -> IndexMeta | None:
        got = self._meta.get(ids=[META_ID], include=["metadatas"])
        if not got["ids"]:
            return None
        m = got["metadatas"][0]
        return IndexMeta(
            generation=int(m["generation"]),
            revision=int(m["revision"]),
            embedding_model=str(m["embedding_model"]),
            dimension=int(m["dimension"]),
            chunker=str(m["chunker"]),
            updated=str(m["updated"]),
            dirty=bool(m.get("dirty", False)),
        )

    @_remote
    def write_meta(self, meta: IndexMeta) -> None:
        record = {
            "generation": meta.generation,
            "revision": meta.revision,
            "embedding_model": meta.embedding_model,
            "dimension": meta.dimension,
            "chunker": meta.chunker,
            "updated": meta.updated,
            "dirty": meta.dirty,
        }
        self._meta.upsert(ids=[META_ID], embeddings=[_PLACEHOLDER], metadatas=[record])
        self.written_revision = meta.revision

    # -- the writers' lease (index/lease.py) -----------------------------------------------------
    @_remote
    def lease(self) -> tuple[str, float] | None:
        """(holder, expiry as a Unix time) of the writers' lease, if one was taken."""
        got = self._meta.get(ids=[LEASE_ID], include=["metadatas"])
        if not got["ids"]:
            return None
        m = got["metadatas"][0]
        return str(m["owner"]), float(m["expires"])

    @_remote
    def write_lease(self, owner: str, expires: float) -> None:
        record = {"owner": owner, "expires": expires}
        self._meta.upsert(ids=[LEASE_ID], embeddings=[_PLACEHOLDER], metadatas=[record])

    @_remote
    def drop_lease(self) -> None:
        self._meta.delete(ids=[LEASE_ID])

    @staticmethod
    def now() -> str:
        return datetime.now(UTC).isoformat(timespec="seconds")

    # -- generations ---------------------------------------------------------------------------
    def articles(self, generation: int) -> Any:
        return self._collection(f"{self.prefix}_g{generation}_articles", {"hnsw": {"space": "l2"}})

    def chunks(self, generation: int) -> Any:
        return self._collection(
            f"{self.prefix}_g{generation}_chunks", {"hnsw": {"space": "cosine"}}
        )

    def _collection(self, name: str, configuration: dict[str, Any]) -> Any:
        if name not in self._handles:
            self._handles[name] = self.client.get_or_create_collection(
                name, embedding_function=None, configuration=configuration
            )
        return self._handles[name]

    @_remote
    def generations(self) -> set[int]:
        """Every generation that has collections in the store, live or abandoned."""
        found = set()
        for collection in self.client.list_collections():
            name = collection if isinstance(collection, str) else collection.name
            head = f"{self.prefix}_g"
            if name.startswith(head) and "_" in name[len(head) :]:
                number = name[len(head) :].split("_", 1)[0]
                if number.isdigit():
                    found.add(int(number))
        return found

    @_remote
    def drop_generation(self, generation: int) -> None:
        for kind in ("articles", "chunks"):
            name = f"{self.prefix}_g{generation}_{kind}"
            self._handles.pop(name, None)
            try:
                self.client.delete_collection(name)
            except Exception:  # already gone
                log.debug("collection %s was already gone", name)

    @_remote
    def mark_generation(self, generation: int, mark: dict[str, str]) -> None:
        """Record what a generation's chunks are made with (the embedding key, the chunker), so a
        build that resumes it can check it makes the same kind."""
        self.chunks(generation).modify(metadata={f"newsbot_{k}": v for k, v in mark.items()})

    @_remote
    def generation_mark(self, generation: int) -> dict[str, str]:
        metadata = self.chunks(generation).metadata or {}
        head = "newsbot_"
        return {k[len(head) :]: str(v) for k, v in metadata.items() if k.startswith(head)}

    # -- manifest ------------------------------------------------------------------------------
    @_remote
    def manifest(self, generation: int) -> dict[str, ArticleRecord]:
        records: dict[str, ArticleRecord] = {}
        for ids, metadatas, _ in self._pages(self.articles(generation), ["metadatas"]):
            for article_id, m in zip(ids, metadatas, strict=True):
                records[article_id] = _record_from(article_id, m)
        return records

    @_remote
    def commit_articles(self, generation: int, rows: Sequence[tuple[ArticleRecord, str]]) -> None:
        """Upsert manifest rows (record, cleaned text): the moment their new chunks go live."""
        if not rows:
            return
        self.articles(generation).upsert(
            ids=[r.id for r, _ in rows],
            embeddings=[_PLACEHOLDER] * len(rows),
            documents=[text for _, text in rows],
            metadatas=[_record_metadata(r) for r, _ in rows],
        )

    @_remote
    def update_sources(self, generation: int, records: Sequence[ArticleRecord]) -> None:
        """Record a new raw-file hash for articles whose content did not change."""
        if records:
            self.articles(generation).update(
                ids=[r.id for r in records], metadatas=[_record_metadata(r) for r in records]
            )

    @_remote
    def remove_articles(self, generation: int, ids: Sequence[str]) -> None:
        if ids:
            self.articles(generation).delete(ids=list(ids))

    @_remote
    def article_texts(self, generation: int, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        got = self.articles(generation).get(ids=list(ids), include=["documents"])
        return dict(zip(got["ids"], got["documents"], strict=True))

    # -- removed articles, kept for undo (index/prune.py) -----------------------------------------
    def _removed(self) -> Any:
        return self._collection(f"{self.prefix}_removed", {"hnsw": {"space": "l2"}})

    @_remote
    def keep_removed(
        self, batch: str, removed_at: float, rows: Sequence[tuple[ArticleRecord, str, str]]
    ) -> None:
        """Keep removed articles (record, text, other addresses) as one batch, without vectors."""
        for start in range(0, len(rows), _PAGE):
            page = rows[start : start + _PAGE]
            self._removed().upsert(
                ids=[f"{batch}:{r.id}" for r, _, _ in page],
                embeddings=[_PLACEHOLDER] * len(page),
                documents=[text for _, text, _ in page],
                metadatas=[
                    {
                        **_record_metadata(r),
                        "article_id": r.id,
                        "batch": batch,
                        "removed_at": removed_at,
                        "other_urls": urls,
                    }
                    for r, _, urls in page
                ],
            )

    @_remote
    def removed_batches(self) -> list[tuple[str, float, int]]:
        """(batch, when as a Unix time, articles) of every kept removal, newest first."""
        found: dict[str, tuple[float, int]] = {}
        for _, metadatas, _ in self._pages(self._removed(), ["metadatas"]):
            for m in metadatas:
                when, count = found.get(str(m["batch"]), (float(m["removed_at"]), 0))
                found[str(m["batch"])] = (when, count + 1)
        return sorted(((b, w, n) for b, (w, n) in found.items()), key=lambda x: -x[1])

    @_remote
    def removed_in(self, batch: str) -> list[tuple[ArticleRecord, str, str]]:
        got = self._removed().get(where={"batch": batch}, include=["metadatas", "documents"])
        return [
            (_record_from(str(m["article_id"]), m), text, str(m.get("other_urls") or ""))
            for m, text in zip(got["metadatas"], got["documents"], strict=True)
        ]

    @_remote
    def forget_removed(self, batch: str | None = None, before: float | None = None) -> None:
        """Drop one kept batch, or every batch removed before a Unix time."""
        if batch is not None:
            self._removed().delete(where={"batch": batch})
        elif before is not None:
            self._removed().delete(where={"removed_at": {"$lt": before}})

    # -- chunks --------------------------------------------------------------------------------
    @_remote
    def existing_chunk_ids(self, generation: int, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        return set(self.chunks(generation).get(ids=list(ids), include=[])["ids"])

    @_remote
    def add_chunks(
        self,
        generation: int,
        ids: list[str],
        vectors: np.ndarray,
        texts: list[str],
        metadatas: Sequence[Mapping[str, Any]],
    ) -> None:
        """Store new chunks. ``add``, not ``upsert``: a chunk id names the article version and
        the position its text comes from, and a generation has one chunker and one embedder,
        so a stored id already holds the same text and vector (a resumed build skips those,
        ``Builder._todo``); ``upsert`` looks each id up first, about 30% of the
        write's time (docs/benchmarks.md, issue 20)."""
        self.chunks(generation).add(
            ids=ids, embeddings=vectors, documents=texts, metadatas=metadatas
        )

    @_remote
    def delete_chunks(self, generation: int, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), _PAGE):
            self.chunks(generation).delete(ids=list(ids[start : start + _PAGE]))

    @_remote
    def chunk_keys(self, generation: int) -> Iterator[tuple[str, str, str]]:
        """(chunk id, article id, content hash) of every stored chunk, live or not."""
        for ids, metadatas, _ in self._pages(self.chunks(generation), ["metadatas"]):
            for chunk_id, m in zip(ids, metadatas, strict=True):
                yield chunk_id, str(m["article_id"]), str(m["content_hash"])

    @_remote
    def chunk_ids(self, generation: int) -> list[str]:
        """The id of every stored chunk, live or not (cheap: no texts, no metadata)."""
        ids: list[str] = []
        for page, _, _ in self._pages(self.chunks(generation), []):
            ids.extend(page)
        return ids

    @_remote
    def chunk_records(
        self, generation: int, ids: Sequence[str]
    ) -> Iterator[tuple[str, dict[str, Any], str]]:
        """(id, metadata, text) of the given chunks that exist."""
        collection = self.chunks(generation)
        for start in range(0, len(ids), _PAGE):
            got = collection.get(
                ids=list(ids[start : start + _PAGE]), include=["metadatas", "documents"]
            )
            for chunk_id, m, text in zip(
                got["ids"], got["metadatas"], got["documents"], strict=True
            ):
                if m is not None:
                    yield chunk_id, m, text

    @_remote
    def all_chunks(self, generation: int) -> Iterator[tuple[str, dict[str, Any], str]]:
        """(id, metadata, text) of every stored chunk, page by page."""
        for ids, metadatas, documents in self._pages(
            self.chunks(generation), ["metadatas", "documents"]
        ):
            yield from zip(ids, metadatas, documents, strict=True)

    @_remote
    def query(
        self, generation: int, vector: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Nearest chunks: (id, cosine similarity), best first; ``where`` filters metadata.

        Only ids and distances come back: readers take texts and metadata from the keyword index
        (index/keyword.py), which holds the live chunks of one revision and so also drops ids a
        killed writer left behind.

        VectorsUnreadable when Chroma fails inside its vector index (see there)."""
        from chromadb.errors import InternalError

        try:
            got = self.chunks(generation).query(
                query_embeddings=[vector], n_results=n, where=where, include=["distances"]
            )
        except InternalError as error:
            if damaged(error, self.location, embedded=self._reopen is not None) is not None:
                raise  # a full disk or damaged files: reachable() says so
            raise VectorsUnreadable(
                f"The vector index at {self.location} could not be read just now ({_first(error)})."
            ) from error
        return [
            (i, 1.0 - float(d)) for i, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]

    def load_vectors(self, generation: int, dimension: int) -> float:
        """Make Chroma load the generation's vector index now, as its first query would (0.3 s
        at 118,000 chunks, outside Python's lock); the seconds it took."""
        started = time.perf_counter()
        unit = np.zeros(dimension, dtype=np.float32)
        unit[0] = 1.0
        self.query(generation, unit, 1)
        self.vectors_load_s = time.perf_counter() - started
        return self.vectors_load_s

    def load_vectors_later(self, meta: IndexMeta | None) -> threading.Thread:
        """Load the vector index of ``meta``'s generation (the store's record, read by the
        caller) in a thread of its own, while the process gets on with its start (importing
        the answering code, loading the embedding model). A failure here is left to the first
        question to meet.

        The caller must not use the store until the thread is done (``join`` it): Chroma
        rewrites a collection's index files when it loads them, and loads in two threads at
        once needed more room than one after the other (on a nearly full disk, ``newsbot ask``
        then failed in about 1 of 10 runs, tests/test_local_faults.py)."""

        def run() -> None:
            if meta is None or not meta.dimension:
                return
            try:
                self.load_vectors(meta.generation, meta.dimension)
            except Exception as error:  # the first question reads the store again and says why
                log.debug("the vector index was not loaded ahead: %s", error)

        thread = threading.Thread(target=run, name="store-load-vectors", daemon=True)
        thread.start()
        return thread

    @_remote
    def vectors(self, generation: int, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by chunk id; ids whose vector cannot be read are left out."""
        from chromadb.errors import InternalError

        collection = self.chunks(generation)
        try:
            got = collection.get(ids=list(ids), include=["embeddings"])
        except InternalError:
            # a writer killed mid-batch can leave a record whose vector is not readable yet
            log.warning("some chunk vectors are unreadable; reading them one by one")
            return self._vectors_one_by_one(collection, ids)
        return {
            i: np.asarray(v, dtype=np.float32)
            for i, v in zip(got["ids"], got["embeddings"], strict=True)
        }

    @staticmethod
    def _vectors_one_by_one(collection: Any, ids: Sequence[str]) -> dict[str, np.ndarray]:
        from chromadb.errors import InternalError

        found: dict[str, np.ndarray] = {}
        for chunk_id in ids:
            try:
                got = collection.get(ids=[chunk_id], include=["embeddings"])
            except InternalError:
                continue
            for i, v in zip(got["ids"], got["embeddings"], strict=True):
                found[i] = np.asarray(v, dtype=np.float32)
        return found

    @_remote
    def count_chunks(self, generation: int) -> int:
        return int(self.chunks(generation).count())

    @staticmethod
    def _pages(
        collection: Any, include: list[str]
    ) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
        offset = 0
        while True:
            got = collection.get(include=include, limit=_PAGE, offset=offset)
            ids = got["ids"]
            if not ids:
                return
            metadatas = got.get("metadatas") or [{}] * len(ids)
            documents = got.get("documents") or [""] * len(ids)
            yield ids, metadatas, documents
            offset += len(ids)


def _record_metadata(record: ArticleRecord) -> dict[str, Any]:
    return {
        "content_hash": record.content_hash,
        "source": record.source,
        "source_hash": record.source_hash,
        "title": record.title,
        "url": record.url,
        "published": record.published,
        "authors": record.authors,
        "chunks": record.chunks,
        "indexed": record.indexed,
    }


def _record_from(article_id: str, m: dict[str, Any]) -> ArticleRecord:
    return ArticleRecord(
        id=article_id,
        content_hash=str(m["content_hash"]),
        source=str(m["source"]),
        source_hash=str(m.get("source_hash", "")),
        title=str(m.get("title", "")),
        url=str(m.get("url", "")),
        published=str(m.get("published", "")),
        authors=str(m.get("authors", "")),
        chunks=int(m.get("chunks", 0)),
        indexed=str(m.get("indexed") or ""),
    )
