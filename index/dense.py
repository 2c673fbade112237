"""Dense search: the nearest live chunks to a query vector, from Chroma, within a date window.

Chroma returns ids and similarities; the keyword index (index/keyword.py) says which of them are
live in the revision being read and holds their passages.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.hit import Hit
from index.keyword import KeywordReader
from index.store import Store

# Date windows of at most this many chunks are searched by scanning their vectors in memory (a
# week of a 100,000-chunk store holds about 2,000; of a year of a few dozen feeds, 1,200,000
# chunks, about 23,000: Chroma's filtered query took 400 ms for one, a scan takes milliseconds;
# docs/benchmarks.md, "1,000,000 chunks"). A larger window is searched by taking the
# nearest chunks of the whole index, as many as hold enough of the window's on average, when
# that is at most WIDE_QUERY_LIMIT; otherwise by Chroma's metadata-filtered query (slow: 150-200 ms
# for 27,000 of 100,000 chunks). At most WINDOWS_KEPT windows are kept, with their vectors: what
# this holds in memory is bounded by these figures, not by the size of the index.
WINDOW_SCAN_LIMIT = 40_000  # 59 MiB of vectors at 384 dimensions
WIDE_QUERY_LIMIT = 1_000
WINDOWS_KEPT = 4
VECTOR_READ_BATCH = 1_000  # a window is read in parts, to bound the memory a read takes


@dataclass(frozen=True)
class Vectors:
    """The stored vectors of some chunks of one generation: ``matrix[rows[chunk_id]]``, ids in
    row order."""

    ids: list[str]
    matrix: np.ndarray
    rows: dict[str, int]
    generation: int = -1


@dataclass
class DateSlice:
    """The live chunks of one revision published within a date window (bot's ``DateWindow``)."""

    since: str | None
    until: str | None
    count: int  # the chunks inside the window
    days: tuple[str, ...]  # the publication days inside
    ids: list[str]  # the chunks inside, when they are few enough to scan (WINDOW_SCAN_LIMIT)
    vectors: Vectors | None = None  # read on the window's first scan
    earlier: Vectors | None = None  # an earlier revision's, of the same dates, until that scan

    @property
    def listed(self) -> bool:
        """Whether its ids are listed (to scan its vectors)."""
        return len(self.ids) == self.count

    @property
    def where(self) -> dict[str, Any]:
        """The same window as a Chroma filter."""
        return {"published": {"$in": list(self.days) or ["none"]}}


class DenseSearch:
    """Nearest chunks by vector, with the last few date windows kept (the questions of one day
    share "this week")."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._kept: OrderedDict[Hashable, DateSlice] = OrderedDict()
        self._lock = threading.Lock()

    def window(
        self, key: Hashable, reader: KeywordReader, since: str | None, until: str | None
    ) -> DateSlice:
        """The live chunks published within [since, until], as ``reader`` sees them; ``key``
        names the revision read (a window is kept per revision). Their ids are listed only for
        a window small enough to be scanned: a larger one is searched by Chroma with its days
        and count alone."""
        with self._lock:
            window = self._kept.get(key)
            if window is not None:
                self._kept.move_to_end(key)
                return window
        days = reader.days_within(since, until)
        count = sum(n for _, n in days)
        ids = reader.published_within(since, until) if count <= WINDOW_SCAN_LIMIT else []
        window = DateSlice(since, until, count, tuple(day for day, _ in days), ids)
        with self._lock:
            window.earlier = self._earlier(since, until)
            self._kept[key] = window
            while len(self._kept) > WINDOWS_KEPT:
                self._kept.popitem(last=False)
        return window

    def hits(
        self,
        reader: KeywordReader,
        generation: int,
        total: int,
        vector: np.ndarray,
        n: int,
        window: DateSlice | None = None,
    ) -> list[Hit]:
        """The ``n`` nearest live chunks (within ``window`` when given); ``total`` live chunks."""
        pool = total if window is None else window.count
        if not pool:
            return []
        if window is not None and window.count <= WINDOW_SCAN_LIMIT and window.listed:
            return self._scan(reader, generation, vector, n, window)
        wanted = min(n + 10, pool)  # a few spare: chunks that are not live are dropped
        where = window.where if window is not None else None
        if window is not None:
            # a large window is a large share of the index: its nearest chunks are among the
            # whole index's nearest, and an unfiltered query is far faster than a filtered one
            wide = math.ceil(wanted * total / window.count)
            if wide <= WIDE_QUERY_LIMIT:
                wanted, where = wide, None
        nearest = self.store.query(generation, vector, wanted, where)
        passages = reader.passages([cid for cid, _ in nearest])
        days = set(window.days) if window is not None else None
        hits = []
        for cid, similarity in nearest:
            passage = passages.get(cid)
            if passage is not None and (days is None or passage.published in days):
                hits.append(Hit.of(passage, dense=similarity))
        return hits[:n]

    def _scan(
        self, reader: KeywordReader, generation: int, vector: np.ndarray, n: int, window: DateSlice
    ) -> list[Hit]:
        """Exact nearest chunks within a date window, by scanning the window's vectors.

        Chroma's metadata-filtered query took 30-70 ms for a week of a 100,000-chunk store;
        scanning that week's 2,000 vectors takes well under a millisecond once they are read."""
        kept = self._vectors(generation, window, len(vector))
        if not kept.ids:
            return []
        # not `matrix @ vector`: that wakes OpenBLAS's threads, which keep spinning after it and
        # slowed every other stage of a query, embedding included, on 2 cores (p50 9 -> 27 ms)
        similarity = np.einsum("ij,j->i", kept.matrix, vector)
        order = np.argsort(-similarity, kind="stable")[:n]
        top = [kept.ids[int(i)] for i in order]
        passages = reader.passages(top)
        return [
            Hit.of(passages[cid], dense=float(similarity[i]))
            for cid, i in zip(top, order, strict=True)
            if cid in passages
        ]

    def _vectors(self, generation: int, window: DateSlice, dimension: int) -> Vectors:
        """The stored vectors of a window's chunks, read on its first scan and kept with it.

        A new revision makes a new window of the same dates, which holds nearly the same chunks:
        the vectors an earlier revision's window holds are taken from it, and only the others
        are read (a chunk id names its article's version and its place in it, and a generation
        has one model, so an id's vector never changes). After an update the first question of
        a week then reads the week's new chunks, not all of its 2,000-3,000 (85 ms at 100,000)."""
        if window.vectors is not None:
            return window.vectors
        held = window.earlier
        window.earlier = None
        if held is None or held.generation != generation:
            held = Vectors([], np.zeros((0, dimension), dtype=np.float32), {}, generation)
        read = self._read(generation, [cid for cid in window.ids if cid not in held.rows])
        ids: list[str] = []
        rows: list[np.ndarray] = []
        for cid in window.ids:
            row = held.rows.get(cid)
            vector = held.matrix[row] if row is not None else read.get(cid)
            if vector is not None:
                ids.append(cid)
                rows.append(vector)
        matrix = np.stack(rows) if rows else np.zeros((0, dimension), dtype=np.float32)
        rows_of = {cid: row for row, cid in enumerate(ids)}
        window.vectors = Vectors(ids, matrix, rows_of, generation)
        return window.vectors

    def _read(self, generation: int, ids: list[str]) -> dict[str, np.ndarray]:
        read: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), VECTOR_READ_BATCH):  # bounded transient memory
            read.update(self.store.vectors(generation, ids[start : start + VECTOR_READ_BATCH]))
        return read

    def _earlier(self, since: str | None, until: str | None) -> Vectors | None:
        """The vectors of the newest kept window of these dates (of an earlier revision)."""
        for kept in reversed(self._kept.values()):
            if (kept.since, kept.until) == (since, until) and kept.vectors is not None:
                return kept.vectors
        return None

    def fill_similarity(
        self, hits: list[Hit], vector: np.ndarray, generation: int, revision: Hashable
    ) -> None:
        """Cosine similarity for chunks that only BM25 found, from their stored vectors (those
        of a window read for this revision are at hand)."""
        with self._lock:
            kept = [
                w.vectors
                for key, w in self._kept.items()
                if isinstance(key, tuple) and key[0] == revision and w.vectors is not None
            ]
        unread = []
        for hit in hits:
            found = next((v for v in kept if hit.chunk_id in v.rows), None)
            if found is None:
                unread.append(hit)
            else:
                hit.dense = float(np.dot(found.matrix[found.rows[hit.chunk_id]], vector))
        if unread:
            vectors = self.store.vectors(generation, [h.chunk_id for h in unread])
            for hit in unread:
                if hit.chunk_id in vectors:
                    hit.dense = float(np.dot(vectors[hit.chunk_id], vector))
