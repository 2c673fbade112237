"""Hybrid retrieval: dense (Chroma) and BM25 (bm25s) over the same live chunks, fused with RRF.

The searcher caches what it derives from the store (the manifest of live articles and the BM25
index) keyed by the store's revision, checks that revision on every query, and reloads when another
process committed a rebuild, so a running REPL or bot sees new articles without a restart.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from index.config import SearchSettings
from index.embedding import Embedder
from index.errors import ConfigError, IndexEmpty
from index.passage import Metadata, Passage
from index.store import IndexMeta, Store

log = logging.getLogger(__name__)

# Date windows of at most this many chunks are searched by scanning their vectors in memory (a
# week of a 100,000-chunk store holds about 2,000). A larger window is searched by taking the
# nearest chunks of the whole index, as many as hold enough of the window's on average, when
# that is at most WIDE_QUERY_LIMIT; otherwise by Chroma's metadata-filtered query (slow: 150-200 ms
# for 27,000 of 100,000 chunks).
WINDOW_SCAN_LIMIT = 20_000
WIDE_QUERY_LIMIT = 1_000
WINDOWS_KEPT = 4
VECTOR_READ_BATCH = 1_000  # a window is read in parts, to bound the memory a read takes

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")  # words in any script, with "'s"-style endings
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
    for token in _TOKEN.findall(text.lower().replace("’", "'")):
        token = token.split("'", 1)[0]
        if token and token not in STOPWORDS:
            words.append(token)
    return list(_stemmer().stemWords(words))


@dataclass(init=False)
class Hit:
    """One retrieved passage and how it ranked. ``Hit(chunk_id, text, metadata)`` reads the
    passage from stored metadata; search builds hits from passages with :meth:`of`."""

    passage: Passage
    score: float = 0.0  # fused score
    dense: float = 0.0  # cosine similarity to the query (0 when only BM25 found it)
    dense_rank: int | None = None
    bm25_rank: int | None = None

    def __init__(
        self,
        chunk_id: str,
        text: str,
        meta: Mapping[str, Any],
        score: float = 0.0,
        dense: float = 0.0,
    ) -> None:
        self._set(Passage.from_metadata(chunk_id, text, meta), score, dense)

    def _set(self, passage: Passage, score: float, dense: float) -> None:
        self.passage = passage
        self.score = score
        self.dense = dense
        self.dense_rank = None
        self.bm25_rank = None

    @classmethod
    def of(cls, passage: Passage, dense: float = 0.0) -> Hit:
        hit = cls.__new__(cls)
        hit._set(passage, 0.0, dense)
        return hit

    @property
    def chunk_id(self) -> str:
        return self.passage.chunk_id

    @property
    def text(self) -> str:
        return self.passage.text

    @property
    def article_id(self) -> str:
        return self.passage.article_id

    @property
    def start(self) -> int:
        return self.passage.start

    @property
    def meta(self) -> Metadata:
        """The passage as stored metadata (for scripts and tests; code reads ``passage``)."""
        return self.passage.to_metadata()


@dataclass
class SearchResult:
    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Snapshot:
    meta: IndexMeta
    live: dict[str, str]  # article id -> content hash
    bm25: Any
    bm25_ids: list[str]
    passages: dict[str, Passage]  # every live chunk, by id
    document_frequency: Counter[str]


class HybridSearcher:
    def __init__(self, store: Store, embedder: Embedder, settings: SearchSettings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        self._dates: tuple[_Snapshot, np.ndarray] | None = None  # published date per BM25 chunk
        # the last few date windows searched, with their vectors once read (see _window)
        self._windows_kept: OrderedDict[tuple[int, int, date | None, date | None], _DateSlice] = (
            OrderedDict()
        )
        self._windows_lock = threading.Lock()

    # -- the cached view of the store ----------------------------------------------------------
    def snapshot(self) -> _Snapshot:
        meta = self.store.meta()
        if meta is None or meta.dimension == 0:
            raise IndexEmpty(
                "Nothing is indexed yet. Run `newsbot index` to index the articles in your folders."
            )
        with self._lock:
            current = self._snapshot
            if current is None or (current.meta.generation, current.meta.revision) != (
                meta.generation,
                meta.revision,
            ):
                if current is not None:
                    self.store.catch_up(meta.revision)
                current = self._snapshot = self._load(meta)
            return current

    def _load(self, meta: IndexMeta) -> _Snapshot:
        started = time.perf_counter()
        if meta.embedding_model != self.embedder.key:
            raise ConfigError(
                f"The index was built with the embedding model {meta.embedding_model!r}, but the "
                f"settings ask for {self.embedder.key!r}. Run `newsbot index` to re-embed the "
                "articles, or set NEWSBOT_EMBEDDING_MODEL / NEWSBOT_EMBEDDING_BACKEND back."
            )
        live = {r.id: r.content_hash for r in self.store.manifest(meta.generation).values()}
        ids: list[str] = []
        corpus: list[list[str]] = []
        passages: dict[str, Passage] = {}
        for passage in self._stored_chunks(meta.generation):
            if live.get(passage.article_id) != passage.content_hash:
                continue
            ids.append(passage.chunk_id)
            corpus.append(tokenize(passage.search_text))
            passages[passage.chunk_id] = passage
        document_frequency: Counter[str] = Counter()
        for tokens in corpus:
            document_frequency.update(set(tokens))
        bm25 = _bm25(corpus)
        log.info(
            "loaded %d live chunks (revision %d) in %.2fs",
            len(ids),
            meta.revision,
            time.perf_counter() - started,
        )
        return _Snapshot(meta, live, bm25, ids, passages, document_frequency)

    def _stored_chunks(self, generation: int) -> Iterator[Passage]:
        """Every stored chunk of ``generation``. On a reload, the passages the previous snapshot
        holds are reused and only new ids are read: a chunk id names its article's content hash,
        so the text and metadata behind an id never change."""
        previous = self._snapshot
        if previous is None or previous.meta.generation != generation:
            records = self.store.all_chunks(generation)
        else:
            known = previous.passages
            new = []
            for chunk_id in self.store.chunk_ids(generation):
                if chunk_id in known:
                    yield known[chunk_id]
                else:
                    new.append(chunk_id)
            records = self.store.chunk_records(generation, new)
        for chunk_id, m, text in records:
            yield Passage.from_metadata(chunk_id, text, m)

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token over the live chunks (1.0 before any load)."""
        snap = self._snapshot
        if snap is None:
            return 1.0
        df = snap.document_frequency.get(token, 0)
        n = len(snap.bm25_ids)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    # -- searching -----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        since: date | None = None,
        until: date | None = None,
        strict: bool = True,
        prefer_recent: bool = False,
        now: date | None = None,
    ) -> SearchResult:
        """The ``k`` best chunks for ``query``.

        ``since``/``until`` keep only articles published in that window (undated ones are left
        out); with ``strict=False`` they only move those articles up, and the window is searched
        on its own as well: there, the passage of this week's story that answers may rank below
        ``candidates`` behind older stories that share more words, and no preference can bring
        back what was never a candidate. ``prefer_recent`` moves newer
        articles up, counting age back from the newest candidate not after ``now`` (default:
        today). Both moves add at most ``recency_weight`` times a first place in one ranking.
        Without a window or ``prefer_recent``, newer articles still move up by
        ``recency_default_weight`` (smaller) times a first place."""
        k = k or self.settings.top_k
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        snap = self.snapshot()
        window = self._window(snap, since, until) if strict else None
        # a time read from the question is a preference; its articles are also searched alone
        inner = None
        if not strict and self.settings.window_search_weight > 0:
            inner = self._window(snap, since, until)
            inner = inner if inner is not None and inner.count else None
        timings["snapshot"] = time.perf_counter() - clock

        clock = time.perf_counter()
        vector = self.embedder.encode([query])[0]
        timings["embed"] = time.perf_counter() - clock

        n = self.settings.candidates
        clock = time.perf_counter()
        dense = self.dense_hits(snap, vector, n, window)
        inside = [self.dense_hits(snap, vector, n, inner)] if inner is not None else []
        timings["dense"] = time.perf_counter() - clock

        clock = time.perf_counter()
        sparse, *inside_sparse = self._bm25_rankings(
            snap, query, n, [window] + ([inner] if inner is not None else [])
        )
        inside += inside_sparse
        timings["bm25"] = time.perf_counter() - clock

        clock = time.perf_counter()
        fused = self._fuse(dense, sparse, vector, snap, inside)
        weight = self.settings.recency_weight / (self.settings.rrf_k + 1)
        if not strict and (since or until):
            fused = prefer_window(fused, since, until, weight)
            fused = drop_older(fused, since, until, self.settings.recency_slack_days)
            # no candidate from that time: the index is older than the question's "now", and
            # which of the candidates is newest says nothing about the news it asks for
            prefer_recent = prefer_recent and any(_within(h, since, until) for h in fused)
        half_life = self.settings.recency_half_life_days
        if prefer_recent:
            fused = prefer_newer(fused, now or date.today(), half_life, weight)
        elif since is None and until is None and self.settings.recency_default_weight > 0:
            # no time named: news readers still mean the current story, so newer ones get a lift
            lift = self.settings.recency_default_weight / (self.settings.rrf_k + 1)
            fused = prefer_newer(fused, now or date.today(), half_life, lift)
        if self.settings.passages_per_article > 0:
            fused = spread_articles(fused, self.settings.passages_per_article)
        hits = fused[:k]
        timings["fuse"] = time.perf_counter() - clock
        return SearchResult(hits, timings)

    def dense_hits(
        self, snap: _Snapshot, vector: np.ndarray, n: int, window: _DateSlice | None = None
    ) -> list[Hit]:
        """The ``n`` nearest live chunks of the snapshot (within ``window`` when given)."""
        pool = len(snap.bm25_ids) if window is None else window.count
        if not pool:
            return []
        if window is not None and window.count <= WINDOW_SCAN_LIMIT:
            return self._scan_window(snap, vector, n, window)
        wanted = min(n + 10, pool)  # a few spare: chunks outside the snapshot are dropped
        where = window.where if window is not None else None
        if window is not None:
            # a large window is a large share of the index: its nearest chunks are among the
            # whole index's nearest, and an unfiltered query is far faster than a filtered one
            wide = math.ceil(wanted * len(snap.bm25_ids) / window.count)
            if wide <= WIDE_QUERY_LIMIT:
                wanted, where = wide, None
        nearest = self.store.query(snap.meta.generation, vector, wanted, where)
        days = set(window.days) if window is not None else None
        hits = []
        for chunk_id, similarity in nearest:
            passage = snap.passages.get(chunk_id)
            if passage is not None and (days is None or passage.published in days):
                hits.append(Hit.of(passage, dense=similarity))
        return hits[:n]

    def _scan_window(
        self, snap: _Snapshot, vector: np.ndarray, n: int, window: _DateSlice
    ) -> list[Hit]:
        """Exact nearest chunks within a date window, by scanning the window's vectors.

        Chroma's metadata-filtered query took 30-70 ms for a week of a 100,000-chunk store;
        scanning that week's 2,000 vectors takes well under a millisecond once they are read."""
        kept = self._window_vectors(snap, window)
        if not kept.ids:
            return []
        # not `matrix @ vector`: that wakes OpenBLAS's threads, which keep spinning after it and
        # slowed every other stage of a query, embedding included, on 2 cores (p50 9 -> 27 ms)
        similarity = np.einsum("ij,j->i", kept.matrix, vector)
        order = np.argsort(-similarity, kind="stable")[:n]
        hits = []
        for index in order:
            passage = snap.passages[kept.ids[int(index)]]
            hits.append(Hit.of(passage, dense=float(similarity[index])))
        return hits

    def _window_vectors(self, snap: _Snapshot, window: _DateSlice) -> _Vectors:
        """The stored vectors of a window's chunks, read on its first scan and kept with it."""
        if window.vectors is not None:
            return window.vectors
        wanted = [snap.bm25_ids[int(i)] for i in window.indices]
        ids: list[str] = []
        rows: list[np.ndarray] = []
        for start in range(0, len(wanted), VECTOR_READ_BATCH):  # bounded transient memory
            batch = wanted[start : start + VECTOR_READ_BATCH]
            vectors = self.store.vectors(snap.meta.generation, batch)
            found = [chunk_id for chunk_id in batch if chunk_id in vectors]
            ids.extend(found)
            rows.extend(vectors[chunk_id] for chunk_id in found)
        matrix = np.stack(rows) if rows else np.zeros((0, snap.meta.dimension), dtype=np.float32)
        window.vectors = _Vectors(ids, matrix, {chunk_id: row for row, chunk_id in enumerate(ids)})
        return window.vectors

    def _window(self, snap: _Snapshot, since: date | None, until: date | None) -> _DateSlice | None:
        """Which live chunks were published within [since, until]; the last few windows of a
        snapshot are kept, with their vectors once read (the questions of one day share "this
        week")."""
        if since is None and until is None:
            return None
        key = (*_revision(snap), since, until)
        with self._windows_lock:
            window = self._windows_kept.get(key)
            if window is not None:
                self._windows_kept.move_to_end(key)
        if window is None:
            window = self._compute_window(snap, since, until)
            with self._windows_lock:
                self._windows_kept[key] = window
                while len(self._windows_kept) > WINDOWS_KEPT:
                    self._windows_kept.popitem(last=False)
        return window

    def _compute_window(
        self, snap: _Snapshot, since: date | None, until: date | None
    ) -> _DateSlice:
        if self._dates is None or self._dates[0] is not snap:
            published = [snap.passages[c].published or "" for c in snap.bm25_ids]
            self._dates = (snap, np.array(published, dtype=str))
        dates = self._dates[1]
        inside = dates != ""
        if since is not None:
            inside &= dates >= since.isoformat()
        if until is not None:
            inside &= dates <= until.isoformat()
        return _DateSlice(np.flatnonzero(inside), tuple(sorted(set(dates[inside].tolist()))))

    def _bm25_hits(
        self, snap: _Snapshot, query: str, n: int, window: _DateSlice | None = None
    ) -> list[Hit]:
        """The ``n`` best BM25 chunks (within ``window`` when given)."""
        return self._bm25_rankings(snap, query, n, [window])[0]

    def _bm25_rankings(
        self, snap: _Snapshot, query: str, n: int, windows: Sequence[_DateSlice | None]
    ) -> list[list[Hit]]:
        """One BM25 ranking per date window (None: every chunk), from one scoring of every
        chunk."""
        tokens = tokenize(query)
        known = [t for t in tokens if snap.bm25 is not None and t in snap.bm25.vocab_dict]
        if not known:
            return [[] for _ in windows]
        from bm25s.selection import topk  # what bm25s's own retrieve ranks with

        scores = snap.bm25.get_scores(known)
        rankings: list[list[Hit]] = []
        for window in windows:
            # the top of a window's own scores: masking the others to 0 instead made the
            # selection ten times slower (3.5 ms at 100,000 chunks)
            among = scores if window is None else scores[window.indices]
            if not len(among):
                rankings.append([])
                continue
            top_scores, top = topk(among, min(n, len(among)), "numpy")
            if window is not None:
                top = window.indices[top]
            hits = []
            for index, score in zip(top, top_scores, strict=True):
                if score <= 0:
                    continue
                hits.append(Hit.of(snap.passages[snap.bm25_ids[int(index)]]))
            rankings.append(hits)
        return rankings

    def _fuse(
        self,
        dense: list[Hit],
        sparse: list[Hit],
        vector: np.ndarray,
        snap: _Snapshot,
        inside: Sequence[list[Hit]] = (),
    ) -> list[Hit]:
        """Reciprocal rank fusion of the two rankings, and of the rankings ``inside`` a date
        window at ``window_search_weight``."""
        rrf_k = self.settings.rrf_k
        by_id: dict[str, Hit] = {}
        for rank, hit in enumerate(dense):
            hit.dense_rank = rank
            hit.score += 1.0 / (rrf_k + rank + 1)
            by_id[hit.chunk_id] = hit
        missing: list[Hit] = []
        for rank, hit in enumerate(sparse):
            existing = by_id.get(hit.chunk_id)
            if existing is None:
                existing = by_id[hit.chunk_id] = hit
                missing.append(hit)  # BM25 hits carry no similarity
            existing.bm25_rank = rank
            existing.score += 1.0 / (rrf_k + rank + 1)
        for ranking in inside:
            for rank, hit in enumerate(ranking):
                existing = by_id.get(hit.chunk_id)
                if existing is None:
                    existing = by_id[hit.chunk_id] = hit
                    if not hit.dense:  # the window's dense hits have theirs
                        missing.append(hit)
                existing.score += self.settings.window_search_weight / (rrf_k + rank + 1)
        self._fill_similarity(missing, vector, snap)
        # Fuse articles too: an article whose best chunk tops one list and another chunk tops the
        # other must not lose to a third article that is second in both.
        weight = self.settings.article_fusion_weight
        if weight:
            article_score: dict[str, float] = {}
            for ranking in (dense, sparse):
                for rank, article in enumerate(dict.fromkeys(h.article_id for h in ranking)):
                    share = weight / (rrf_k + rank + 1)
                    article_score[article] = article_score.get(article, 0) + share
            for hit in by_id.values():
                hit.score += article_score.get(hit.article_id, 0)
        return sorted(by_id.values(), key=lambda h: h.score, reverse=True)

    def _fill_similarity(self, hits: list[Hit], vector: np.ndarray, snap: _Snapshot) -> None:
        """Cosine similarity for chunks that only BM25 found, from their stored vectors (those
        of a window read for this snapshot are at hand)."""
        with self._windows_lock:
            kept = [
                w.vectors
                for key, w in self._windows_kept.items()
                if key[:2] == _revision(snap) and w.vectors is not None
            ]
        unread = []
        for hit in hits:
            found = next((v for v in kept if hit.chunk_id in v.rows), None)
            if found is None:
                unread.append(hit)
            else:
                hit.dense = float(np.dot(found.matrix[found.rows[hit.chunk_id]], vector))
        if unread:
            vectors = self.store.vectors(snap.meta.generation, [h.chunk_id for h in unread])
            for hit in unread:
                if hit.chunk_id in vectors:
                    hit.dense = float(np.dot(vectors[hit.chunk_id], vector))


@dataclass(frozen=True)
class _Vectors:
    """The stored vectors of some chunks: ``matrix[rows[chunk_id]]``, ids in row order."""

    ids: list[str]
    matrix: np.ndarray
    rows: dict[str, int]


def _revision(snap: _Snapshot) -> tuple[int, int]:
    return snap.meta.generation, snap.meta.revision


@dataclass
class _DateSlice:
    """The live chunks of a snapshot published within a date window (bot's ``DateWindow``)."""

    indices: np.ndarray  # positions in _Snapshot.bm25_ids of the chunks inside the window
    days: tuple[str, ...]  # the publication days inside
    vectors: _Vectors | None = None  # read on the window's first scan

    @property
    def count(self) -> int:
        return len(self.indices)

    @property
    def where(self) -> dict[str, Any]:
        """The same window as a Chroma filter."""
        return {"published": {"$in": list(self.days) or ["none"]}}


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def prefer_window(
    hits: list[Hit], since: date | None, until: date | None, weight: float
) -> list[Hit]:
    """Add ``weight`` to the score of each hit published within [since, until]."""
    for hit in hits:
        if _within(hit, since, until):
            hit.score += weight
    return sorted(hits, key=lambda h: h.score, reverse=True)


def drop_older(
    hits: list[Hit], since: date | None, until: date | None, slack_days: float
) -> list[Hit]:
    """Leave out hits published more than ``slack_days`` before ``since`` when some hit is from
    that time: "this week" is not answered from a story years old. Undated hits stay."""
    if since is None or slack_days < 0:
        return hits
    floor = since - timedelta(days=slack_days)
    if not any(_within(h, floor, until) for h in hits):
        return hits
    return [h for h in hits if (day := _day(h.passage.published)) is None or day >= floor]


def _within(hit: Hit, since: date | None, until: date | None) -> bool:
    day = _day(hit.passage.published)
    return day is not None and (since is None or day >= since) and (until is None or day <= until)


def spread_articles(hits: list[Hit], cap: int) -> list[Hit]:
    """Stable reorder: an article's hits after its first ``cap`` go after every other hit.

    One long article can otherwise fill all the passages an answer draws on with its own
    chunks, when another story holds the sentence that answers the question."""
    seen: Counter[str] = Counter()
    first: list[Hit] = []
    later: list[Hit] = []
    for hit in hits:
        seen[hit.article_id] += 1
        (first if seen[hit.article_id] <= cap else later).append(hit)
    return first + later


def prefer_newer(hits: list[Hit], now: date, half_life_days: float, weight: float) -> list[Hit]:
    """Add to each hit's score ``weight`` halved for every ``half_life_days`` its article is older
    than the newest candidate. Hits dated after ``now`` (news that did not exist yet when the
    question was asked) and undated hits get nothing."""
    days = {id(h): _day(h.passage.published) for h in hits}
    dated = [d for d in days.values() if d is not None and d <= now]
    if not dated:
        return hits
    newest = max(dated)
    for hit in hits:
        day = days[id(hit)]
        if day is not None and day <= now:
            age = (newest - day).days
            hit.score += weight * 0.5 ** (age / max(half_life_days, 0.1))
    return sorted(hits, key=lambda h: h.score, reverse=True)


def _bm25(corpus: list[list[str]]) -> Any:
    if not any(corpus):  # no chunk has a single word (bm25s cannot index an empty vocabulary)
        return None
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    return retriever
