"""The keyword index's postings: a tantivy index (BM25, block-max WAND) beside its SQLite file.

``<data dir>/keyword.tantivy/`` holds one document per chunk row of ``keyword.sqlite3``: the
chunk's stemmed tokens (split on spaces, term frequencies kept), its row number there and its
publication day (``yyyymmdd``; 0 when undated). tantivy skips the chunks that cannot reach the
top, so a query whose words are common costs about a millisecond at 100,000 chunks, where
SQLite FTS5, which scores every chunk holding any of the words, took 100-200 ms.

The SQLite file stays the record (the live chunks of one revision, committed in one
transaction with that revision): the postings are derived from it and may hold more. Each sync
commits the new rows' postings before the SQLite transaction that adds the rows, and drops the
postings of deleted rows one sync later, so the postings of a revision's live chunks are all
there whichever revision a reader reads; a reader keeps only the rows its read transaction
holds (index/keyword.py). Rows are never reused (AUTOINCREMENT), and postings of rows a sync
added but never committed (a writer killed between the two commits) are dropped by the next
sync. Missing, damaged or incomplete postings are rebuilt from the SQLite file.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

DIRNAME = "keyword.tantivy"
WRITER_HEAP = 32_000_000  # bytes; tantivy's minimum is 15 MB a thread
DELETE_BATCH = 10_000  # rows deleted per query
FIELD, ROW, DAY = "tokens", "row", "day"


def _schema() -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field(FIELD, tokenizer_name="whitespace", index_option="freq")
    builder.add_unsigned_field(ROW, fast=True, indexed=True)
    builder.add_unsigned_field(DAY, fast=True, indexed=True)
    return builder.build()


def day_number(published: str | None) -> int:
    """``2025-06-01`` as 20250601 (0 when undated)."""
    return int(published.replace("-", "")) if published else 0


class PostingsDamaged(Exception):
    """The postings folder cannot be opened."""


class Postings:
    """The tantivy index of one keyword index (see the module's docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._index: Any = None
        self._schema: Any = None
        self._searcher: tuple[Hashable, Any] | None = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self._index is None:
            import tantivy

            self.path.mkdir(parents=True, exist_ok=True)
            self._schema = _schema()
            try:
                self._index = tantivy.Index(self._schema, path=str(self.path), reuse=True)
            except (OSError, ValueError) as error:
                raise PostingsDamaged(str(error)) from error
        return self._index

    def searcher(self, key: Hashable) -> Any:
        """A searcher that sees at least every commit made before ``key`` (the SQLite revision a
        reader reads) was committed: reloaded the first time a key is seen."""
        with self._lock:
            if self._searcher is not None and self._searcher[0] == key:
                return self._searcher[1]
            index = self._open()
            index.reload()
            searcher = index.searcher()
            self._searcher = (key, searcher)
            return searcher

    def top(
        self, searcher: Any, tokens: Sequence[str], n: int, since: str | None, until: str | None
    ) -> list[tuple[int, float]]:
        """The ``n`` best rows by BM25 for ``tokens`` (published within [since, until] when
        either is given): (row, score), best first."""
        import tantivy

        schema = self._schema
        words = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.term_query(schema, FIELD, t))
                for t in dict.fromkeys(tokens)
            ]
        )
        query = words
        if since is not None or until is not None:
            days = tantivy.Query.range_query(
                schema,
                DAY,
                tantivy.FieldType.Unsigned,
                max(1, day_number(since)),
                day_number(until) if until else None,
            )
            # both must match; the range adds the same constant to every score
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, words), (tantivy.Occur.Must, days)]
            )
        hits = searcher.search(query, n, count=False).hits
        rows = searcher.fast_field_values(ROW, [address for _, address in hits])
        return [(int(row), float(score)) for (score, _), row in zip(hits, rows, strict=True)]

    def count(self) -> int:
        """Documents held (deleted ones excluded), as of the last commit."""
        index = self._open()
        index.reload()
        return int(index.searcher().num_docs)

    @contextlib.contextmanager
    def writing(
        self, deleted: Iterable[int], *, above: int, clear: bool = False
    ) -> Iterator[Callable[[int, str, str], None]]:
        """One commit: drop every document when ``clear``, those of rows over ``above`` (added
        by a sync that never committed) and of ``deleted`` rows; yields ``add(row, tokens,
        published)``; commits when the block ends without an error. The caller holds the
        keyword index's write lock (its SQLite write transaction): one process writes at a
        time."""
        import tantivy

        index = self._open()
        writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)

        def add(row: int, tokens: str, published: str) -> None:
            document = tantivy.Document()
            document.add_text(FIELD, tokens)
            document.add_unsigned(ROW, row)
            document.add_unsigned(DAY, day_number(published))
            writer.add_document(document)

        try:
            if clear:
                writer.delete_all_documents()
            writer.delete_documents_by_query(
                tantivy.Query.range_query(
                    self._schema, ROW, tantivy.FieldType.Unsigned, above, None, False
                )
            )
            gone = list(deleted)
            for start in range(0, len(gone), DELETE_BATCH):
                # by query: a delete by term takes a Python int for a signed one and misses
                batch = gone[start : start + DELETE_BATCH]
                writer.delete_documents_by_query(
                    tantivy.Query.term_set_query(self._schema, ROW, batch)
                )
            yield add
            writer.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                writer.rollback()
            raise
        finally:
            with contextlib.suppress(Exception):
                writer.wait_merging_threads()  # and let go of tantivy's writer lock
            with self._lock:
                self._searcher = None

    def rows(self) -> set[int]:
        """Every row it holds (for checks and tests: this reads every document)."""
        import tantivy

        index = self._open()
        index.reload()
        searcher = index.searcher()
        total = int(searcher.num_docs)
        if not total:
            return set()
        hits = searcher.search(tantivy.Query.all_query(), total, count=False).hits
        return {int(r) for r in searcher.fast_field_values(ROW, [a for _, a in hits])}

    def set_aside(self, aside: Path) -> None:
        """Move the folder aside (or remove it when it cannot be moved) and start anew."""
        with self._lock:
            self._index = self._searcher = None
        shutil.rmtree(aside, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            try:
                self.path.replace(aside)
            except OSError:
                shutil.rmtree(self.path, ignore_errors=True)
