"""The keyword index: BM25 over the live chunks, kept on disk beside the store.

Two parts, shared by every process of the machine: the record, one SQLite file in WAL mode,
``<data dir>/keyword.sqlite3``, and the postings that rank its chunks, a tantivy index in
``<data dir>/keyword.tantivy/`` (index/postings.py: BM25 over each chunk's stemmed tokens,
:func:`tokenize` of its search text joined by spaces). The SQLite file holds:

- ``chunks``: one row per live chunk (id, article id, publication day, the passage's metadata as
  JSON, its text, its tokens): what search returns for the top candidates, read by id; rows are
  numbered once (AUTOINCREMENT), and the postings name them by that number.
- ``dead``: rows deleted by the last sync, whose postings the next sync drops.
- ``frequency``: how many chunks hold each token (BM25's document frequency, kept with the rows:
  FTS5's own count reads a token's whole posting list).
- ``articles``: the (content hash, chunk count) of each article it holds, to compare with the
  store's manifest.
- ``state``: the store revision it holds (generation, revision, when it was published).

The index follows the Chroma store, never the other way round: :meth:`KeywordIndex.sync` compares
its articles with the store's manifest and, in one SQLite transaction, deletes the rows of articles
that were replaced or removed, reads from the store only the chunks of new article versions (a
chunk id names its article version) and records the store's revision. A reader therefore sees one
revision or the next, never a mix (the postings may hold more rows than the revision read: a
reader keeps the rows its read transaction holds); a process killed mid-sync leaves the previous
revision. The
writer syncs right after it publishes a revision; a reader that sees a newer revision in the store
(another machine wrote to a Chroma server, or a writer was killed between the two commits) syncs
its machine's copy itself. A missing or damaged file is rebuilt from the store; missing,
damaged or incomplete postings are rebuilt from the SQLite file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from index.passage import Passage, chunk_id
from index.postings import DIRNAME, Postings, PostingsDamaged
from index.store import ArticleRecord, IndexMeta, Store

log = logging.getLogger(__name__)

FILENAME = "keyword.sqlite3"
FORMAT = "4"  # of the tables and of tokenize below; another value is rebuilt
READ_PAGE = 500  # chunks read from the store per request while syncing
BUSY_WAIT_S = 60.0  # how long a sync waits for another process's sync
SPARE = 10  # more postings asked for than wanted: rows deleted since are left out

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")  # words in any script, with "'s"-style endings
# A capital abbreviation written with full stops is the same word without them: "U.S." is "US",
# "D.C." is "DC" (news styles differ: the AP writes "U.S.", Reuters and the BBC "US").
_DOTTED = re.compile(r"(?<![\w.])[A-Z](?:\.[A-Z])+\.?(?![\w])")
STOPWORDS = frozenset(
    """a an and are as at be been but by did do does for from had has have he her his how i if in
    into is it its of on or she so than that the their them then there these they this to was we
    were what when where which who whom whose why will with would you your about after before
    over under up down out says said""".split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-case, stemmed word tokens without stopwords (the same for chunks and questions)."""
    words = []
    text = _DOTTED.sub(lambda dotted: dotted.group().replace(".", ""), text)
    for token in _TOKEN.findall(text.lower().replace("’", "'")):
        token = token.split("'", 1)[0]
        if token and token not in STOPWORDS:
            words.append(token)
    return list(_stemmer().stemWords(words))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, chunks INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, article_id TEXT NOT NULL,
    published TEXT NOT NULL, meta TEXT NOT NULL, text TEXT NOT NULL, tokens TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE INDEX IF NOT EXISTS chunks_day ON chunks(published, id);
CREATE TABLE IF NOT EXISTS dead (row INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS frequency (term TEXT PRIMARY KEY, chunks INTEGER NOT NULL)
    WITHOUT ROWID;
"""
# the live chunks of a date window, read from the index chunks_day alone (see _index_days)
WINDOW_SQL = (
    "SELECT id FROM chunks WHERE published != '' AND published >= ? AND published <= ? "
    "ORDER BY rowid"
)
DAYS_SQL = (
    "SELECT published, count(*) FROM chunks WHERE published != '' AND published >= ? "
    "AND published <= ? GROUP BY published"
)
TABLES = ("state", "articles", "chunks", "dead", "frequency", "terms")  # terms: format 2's FTS5


def _create(connection: sqlite3.Connection) -> None:
    """The tables of this format, statement by statement (``executescript`` would commit)."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)


@dataclass(frozen=True)
class KeywordState:
    """The store revision the keyword index holds, and how much."""

    generation: int
    revision: int
    updated: str
    chunker: str
    chunks: int
    articles: int
    pending: int = 0  # articles of that revision not wholly in the store when it was read

    def matches(self, meta: IndexMeta) -> bool:
        """Whether it holds the revision ``meta`` names (``pending`` aside: the writer's next
        sync reads those again)."""
        return (self.generation, self.revision, self.updated) == (
            meta.generation,
            meta.revision,
            meta.updated,
        )


class KeywordDamaged(Exception):
    """The keyword index's file cannot be read (not a database, damaged pages)."""


_DAMAGE = ("malformed", "not a database", "corrupt", "disk image")


def _damage(error: sqlite3.Error) -> bool:
    """Whether ``error`` means the file is damaged (not merely busy, full or unwritable)."""
    text = str(error).lower()
    return isinstance(error, sqlite3.DatabaseError) and any(word in text for word in _DAMAGE)


class KeywordReader:
    """Reads inside one read transaction: everything it returns is of one revision."""

    def __init__(self, connection: sqlite3.Connection, postings: Postings) -> None:
        self.connection = connection
        self.postings = postings

    def state(self) -> KeywordState | None:
        return _state(self.connection)

    def format(self) -> str | None:
        """The format the file was written in (None when it holds none yet)."""
        return _format(self.connection)

    def top(
        self, tokens: Sequence[str], n: int, since: str | None = None, until: str | None = None
    ) -> list[tuple[str, float]]:
        """The ``n`` best chunks by BM25 for ``tokens`` (published within [since, until] when
        given): (chunk id, score), best first, from the postings, keeping the rows this read
        transaction holds (the postings may hold rows of the next revision, and rows deleted
        by the last sync)."""
        if not tokens or n <= 0:
            return []
        searcher = self.postings.searcher(self._postings_key())
        limit = n + SPARE
        while True:
            found = self.postings.top(searcher, tokens, limit, since, until)
            live = self._live([row for row, _ in found])
            top = [(live[row], score) for row, score in found if row in live]
            if len(top) >= n or len(found) < limit:
                return top[:n]
            limit *= 4

    def _postings_key(self) -> str:
        """What names the postings' state the record was committed with."""
        row = self.connection.execute("SELECT value FROM state WHERE key = 'postings'").fetchone()
        return str(row[0]) if row else ""

    def _live(self, rows: Sequence[int]) -> dict[int, str]:
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        return {
            int(r): str(cid)
            for r, cid in self.connection.execute(
                f"SELECT rowid, id FROM chunks WHERE rowid IN ({marks})", list(rows)
            )
        }

    def passages(self, ids: Sequence[str]) -> dict[str, Passage]:
        """The live passages among ``ids``, by id (ids the index does not hold are left out)."""
        found: dict[str, Passage] = {}
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), 500):
            page = wanted[start : start + 500]
            marks = ",".join("?" * len(page))
            for cid, meta, text in self.connection.execute(
                f"SELECT id, meta, text FROM chunks WHERE id IN ({marks})", page
            ):
                found[cid] = Passage.from_metadata(cid, text, json.loads(meta))
        return found

    def published_within(self, since: str | None, until: str | None) -> list[str]:
        """The ids of the live chunks published within [since, until] (dated ones)."""
        rows = self.connection.execute(WINDOW_SQL, (since or "", until or "9999-99-99"))
        return [str(cid) for (cid,) in rows]

    def days_within(self, since: str | None, until: str | None) -> list[tuple[str, int]]:
        """(day, live chunks published that day) for each day within [since, until] that has
        any: counted in the index alone, without listing the chunks (a window of half a year
        of 1.2 million chunks: 0.06 s, where listing its 650,000 ids took 1.3 s)."""
        rows = self.connection.execute(DAYS_SQL, (since or "", until or "9999-99-99"))
        return [(str(day), int(n)) for day, n in rows]

    def document_frequency(self, token: str) -> int:
        row = self.connection.execute(
            "SELECT chunks FROM frequency WHERE term = ?", (token,)
        ).fetchone()
        return int(row[0]) if row else 0

    def ids(self) -> set[str]:
        """Every chunk id it holds (for checks and tests: this reads the whole table)."""
        return {str(row[0]) for row in self.connection.execute("SELECT id FROM chunks")}


def _index_days(connection: sqlite3.Connection) -> None:
    """Give a file written before it the index that reads a date window's chunk ids from the
    index alone (the first files of this format indexed the day only, and a window then read
    each chunk's row for its id: for a week of 1.2 million chunks, 26,000 reads scattered over
    the 2.8 GiB file, 1.1 s on a cold cache, 0.02 s from this index). Made once, by the first
    sync that meets such a file; a no-op after that."""
    connection.execute("CREATE INDEX IF NOT EXISTS chunks_day ON chunks(published, id)")
    connection.execute("DROP INDEX IF EXISTS chunks_published")


def _format(connection: sqlite3.Connection) -> str | None:
    with contextlib.suppress(sqlite3.OperationalError):  # no state table: a new file
        row = connection.execute("SELECT value FROM state WHERE key = 'format'").fetchone()
        return None if row is None else str(row[0])
    return None


def _state(connection: sqlite3.Connection) -> KeywordState | None:
    values = dict(connection.execute("SELECT key, value FROM state").fetchall())
    if values.get("format") != FORMAT or "revision" not in values:
        return None
    return KeywordState(
        generation=int(values["generation"]),
        revision=int(values["revision"]),
        updated=values["updated"],
        chunker=values["chunker"],
        chunks=int(values["chunks"]),
        articles=int(values["articles"]),
        pending=int(values.get("pending", "0")),
    )


class KeywordIndex:
    """The keyword index of one store on this machine (see the module's docstring)."""

    def __init__(self, path: Path, identity: str) -> None:
        self.path = path
        self.identity = identity  # the store it follows: a copy of another is rebuilt
        self._local = threading.local()
        self._epoch = 0  # bumped when the file is replaced: threads reconnect
        self.postings = Postings(path.with_name(DIRNAME))
        self._postings_checked = False

    @classmethod
    def for_store(cls, store: Store) -> KeywordIndex:
        return cls(store.data_dir / FILENAME, f"{store.location}|{store.prefix}")

    # -- connections ---------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened anew when the file was replaced (by this process or
        another one, after it found the file damaged)."""
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == (self._epoch, _inode(self.path)):
            connection: sqlite3.Connection = held[1]
            return connection
        if held is not None:
            held[1].close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, timeout=BUSY_WAIT_S, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'dead'").fetchone():
                connection.executescript(_SCHEMA)  # a new file (an older format is rebuilt)
        except sqlite3.Error as error:
            connection.close()
            if _damage(error):
                raise KeywordDamaged(str(error)) from error
            raise
        self._local.held = ((self._epoch, _inode(self.path)), connection)
        return connection

    def close(self) -> None:
        held = getattr(self._local, "held", None)
        if held is not None:
            held[1].close()
            self._local.held = None

    @contextlib.contextmanager
    def reading(self) -> Iterator[KeywordReader]:
        """A read transaction: a consistent view of one revision, never blocked by a writer."""
        connection = self._connection()
        try:
            connection.execute("BEGIN")
            try:
                yield KeywordReader(connection, self.postings)
            finally:
                connection.execute("COMMIT")
        except sqlite3.Error as error:
            if _damage(error):
                raise KeywordDamaged(str(error)) from error
            raise

    def state(self) -> KeywordState | None:
        """The revision it holds; None when it holds none yet (new, or a sync never finished)."""
        with self.reading() as reader:
            return reader.state()

    def format(self) -> str | None:
        """The format its file was written in; None when it holds none yet."""
        with self.reading() as reader:
            return reader.format()

    # -- keeping it in step with the store -------------------------------------------------------
    def sync(
        self,
        store: Store,
        *,
        wait: bool = True,
        before_commit: Callable[[], None] | None = None,
    ) -> bool:
        """Bring the index to the store's published revision, in one transaction; cost grows with
        what changed. False when ``wait`` is off and another process is syncing (it brings the
        index to that revision), or when nothing is published yet."""
        connection = self._connection()
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_WAIT_S * 1000) if wait else 0}")
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if not wait and ("locked" in str(error) or "busy" in str(error)):
                    return False
                raise
            try:
                # read once the lock is held: a sync that waited for another one must not
                # record the older revision it saw before
                meta = store.meta()
                if meta is None:
                    connection.execute("ROLLBACK")
                    return False
                self._sync(connection, store, meta)
                if before_commit is not None:
                    before_commit()
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            if _damage(error):
                raise KeywordDamaged(str(error)) from error
            raise
        finally:
            with contextlib.suppress(sqlite3.Error):
                connection.execute(f"PRAGMA busy_timeout = {int(BUSY_WAIT_S * 1000)}")
        return True

    def _sync(self, connection: sqlite3.Connection, store: Store, meta: IndexMeta) -> None:
        state = _state(connection)
        anew = (
            state is None
            or state.generation != meta.generation
            or state.chunker != meta.chunker
            or not self._identity(connection)
        )
        if not anew:
            _index_days(connection)
        if not anew and state is not None and state.matches(meta) and not state.pending:
            return
        if anew:
            # another generation (a new model or chunking), another store, a first build or an
            # older format: the same chunk id may name other text, so nothing is kept
            if (written := _format(connection)) not in (None, FORMAT):
                log.warning(
                    "The keyword index at %s was written by an older newsbot (format %s, now "
                    "%s); building it anew from the store (once).",
                    self.path,
                    written,
                    FORMAT,
                )
            for table in TABLES:
                connection.execute(f"DROP TABLE IF EXISTS {table}")  # fixed names
            _create(connection)
        manifest = store.manifest(meta.generation)
        held = {
            str(a): (str(h), int(n))
            for a, h, n in connection.execute("SELECT id, content_hash, chunks FROM articles")
        }
        gone = [
            a for a, (h, n) in held.items() if (manifest.get(a) and _key(manifest[a])) != (h, n)
        ]
        new = [r for a, r in manifest.items() if held.get(a) != _key(r)]
        # the postings of rows the last sync deleted go now: a reader of that sync's revision
        # no longer needs them, and one of the revision before reads no newer postings
        dead = [int(r) for (r,) in connection.execute("SELECT row FROM dead")]
        connection.execute("DELETE FROM dead")
        with self.postings.writing(dead, above=_last_row(connection), clear=anew) as add:
            removed = self._delete(connection, gone)
            added, skipped = self._insert(connection, store, meta.generation, new, add)
        values = {
            "format": FORMAT,
            "identity": self.identity,
            "generation": str(meta.generation),
            "revision": str(meta.revision),
            "updated": meta.updated,
            "chunker": meta.chunker,
            "chunks": str(connection.execute("SELECT count(*) FROM chunks").fetchone()[0]),
            "articles": str(len(manifest) - skipped),
            "pending": str(skipped),
            "postings": _next_postings(connection),
        }
        connection.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", values.items())
        log.info(
            "keyword index at revision %d: %d chunks added, %d removed",
            meta.revision,
            added,
            removed,
        )

    def _identity(self, connection: sqlite3.Connection) -> bool:
        row = connection.execute("SELECT value FROM state WHERE key = 'identity'").fetchone()
        return row is not None and row[0] == self.identity

    @staticmethod
    def _delete(connection: sqlite3.Connection, articles: Sequence[str]) -> int:
        removed = 0
        for article_id in articles:
            rows = [
                r[0]
                for r in connection.execute(
                    "SELECT rowid FROM chunks WHERE article_id = ?", (article_id,)
                )
            ]
            for (tokens,) in connection.execute(
                "SELECT tokens FROM chunks WHERE article_id = ?", (article_id,)
            ).fetchall():
                connection.executemany(
                    "UPDATE frequency SET chunks = chunks - 1 WHERE term = ?",
                    [(t,) for t in set(tokens.split())],
                )
            connection.executemany("INSERT OR IGNORE INTO dead VALUES (?)", [(r,) for r in rows])
            connection.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
            connection.execute("DELETE FROM articles WHERE id = ?", (article_id,))
            removed += len(rows)
        return removed

    @staticmethod
    def _insert(
        connection: sqlite3.Connection,
        store: Store,
        generation: int,
        records: Sequence[ArticleRecord],
        postings: Callable[[int, str, str], None],
    ) -> tuple[int, int]:
        """Read the chunks of ``records`` from the store and add them; an article whose chunks
        are not all there (a writer killed mid-article) is left for a later sync."""
        added = skipped = 0
        for start in range(0, len(records), max(1, READ_PAGE // 8)):
            page = records[start : start + max(1, READ_PAGE // 8)]
            wanted = [chunk_id(r.id, r.content_hash, n) for r in page for n in range(r.chunks)]
            got: dict[str, Passage] = {}
            for cid, meta, text in store.chunk_records(generation, wanted):
                got[cid] = Passage.from_metadata(cid, text, meta)
            for record in page:
                ids = [chunk_id(record.id, record.content_hash, n) for n in range(record.chunks)]
                if not all(i in got for i in ids):
                    log.warning("article %s is not wholly in the store yet; skipped", record.id)
                    skipped += 1
                    continue
                for i in ids:
                    _add(connection, got[i], postings)
                connection.execute(
                    "INSERT INTO articles VALUES (?, ?, ?)",
                    (record.id, record.content_hash, record.chunks),
                )
                added += len(ids)
        return added, skipped

    # -- opening, and damage ---------------------------------------------------------------------
    def ensure(self, store: Store) -> KeywordState | None:
        """The revision it holds, after building it from the store when it holds none (a new
        machine, a deleted file, a first sync that never finished) or its file is damaged."""
        existed = self.path.exists()
        try:
            state = self.state()
        except KeywordDamaged as error:
            return self.recover(store, str(error))
        if state is not None:
            if not self._postings_checked:
                self._check_postings(state)
            return state
        if existed and self.format() in (None, FORMAT):  # of another format: the sync says so
            log.warning(
                "The keyword index at %s holds no complete revision; building it from the store.",
                self.path,
            )
        elif not existed:
            log.warning(
                "The keyword index at %s is missing; building it from the store (once: later "
                "updates add only what changed).",
                self.path,
            )
        self.sync(store)
        return self.state()

    def _check_postings(self, state: KeywordState) -> None:
        """Rebuild the postings from the SQLite file when they are missing, damaged or hold
        fewer chunks than it (once per process: a sync keeps them in step after that)."""
        try:
            held = self.postings.count()
            problem = "missing or incomplete" if held < state.chunks else ""
        except PostingsDamaged as error:
            problem = f"damaged ({error})"
        if problem:
            log.warning(
                "The keyword index's postings at %s are %s; rebuilding them from %s.",
                self.postings.path,
                problem,
                self.path,
            )
            self.rebuild_postings(damaged=problem.startswith("damaged"))
        self._postings_checked = True

    def rebuild_postings(self, damaged: bool = False) -> None:
        """All the postings anew from the SQLite file's rows, in one commit (readers see the
        old postings until then; damaged ones are moved aside first)."""
        if damaged:
            self.postings.set_aside(self.postings.path.with_name(DIRNAME + ".damaged"))
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            with self.postings.writing([], above=0, clear=True) as add:
                for row, tokens, published in connection.execute(
                    "SELECT rowid, tokens, published FROM chunks"
                ):
                    add(int(row), str(tokens), str(published))
            connection.execute("DELETE FROM dead")
            connection.execute(
                "INSERT OR REPLACE INTO state VALUES ('postings', ?)",
                (_next_postings(connection),),
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def recover(self, store: Store, reason: str) -> KeywordState | None:
        """Move a damaged file aside and build the index anew from the store."""
        aside = self.set_aside()
        log.warning(
            "The keyword index at %s was damaged (%s); moved it to %s and rebuilding it from "
            "the store.",
            self.path,
            reason,
            aside,
        )
        self.sync(store)
        return self.state()

    def set_aside(self) -> Path:
        """Move a damaged file aside (``keyword.sqlite3.damaged``) so it can be built anew."""
        self.close()
        aside = self.path.with_name(self.path.name + ".damaged")
        for suffix in ("", "-wal", "-shm"):
            source = self.path.with_name(self.path.name + suffix)
            with contextlib.suppress(FileNotFoundError):
                source.replace(aside.with_name(aside.name + suffix))
        # its row numbers name nothing any more: the rebuild writes them anew
        self.postings.set_aside(self.postings.path.with_name(DIRNAME + ".damaged"))
        self._epoch += 1
        return aside


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _key(record: ArticleRecord) -> tuple[str, int]:
    return record.content_hash, record.chunks


def _last_row(connection: sqlite3.Connection) -> int:
    """The highest row number ever given out by a committed sync (rows are never reused)."""
    row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'chunks'").fetchone()
    return int(row[0]) if row else 0


def _next_postings(connection: sqlite3.Connection) -> str:
    """A new name for the postings' state, committed with the rows it ranks (readers reload
    their searcher when it changes; unique, as the tables may be made anew)."""
    return uuid.uuid4().hex


def _add(
    connection: sqlite3.Connection,
    passage: Passage,
    postings: Callable[[int, str, str], None],
) -> None:
    tokens = tokenize(passage.search_text)
    joined = " ".join(tokens)
    published = passage.published or ""
    cursor = connection.execute(
        "INSERT INTO chunks (id, article_id, published, meta, text, tokens) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            passage.chunk_id,
            passage.article_id,
            published,
            json.dumps(passage.to_metadata(), ensure_ascii=False),
            passage.text,
            joined,
        ),
    )
    postings(int(cursor.lastrowid or 0), joined, published)
    connection.executemany(
        "INSERT INTO frequency VALUES (?, 1) ON CONFLICT(term) DO UPDATE SET chunks = chunks + 1",
        [(t,) for t in set(tokens)],
    )
