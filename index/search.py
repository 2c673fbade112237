"""Hybrid retrieval: dense (Chroma) and BM25 (the on-disk keyword index) over the same live
chunks, fused with RRF, then moved by publication dates.

The parts live in modules of their own: the keyword index (index/keyword.py), dense search
(index/dense.py), fusion (index/fusion.py) and the date policy (index/date_policy.py). The
searcher checks the store's revision on every query; the keyword index holds the live chunks of
one revision, which every search reads in one transaction, so a running REPL or bot sees new
articles without a restart and never a half-applied update. Nothing here holds a copy of the
corpus: the passages of the top candidates are read by id.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import date

import numpy as np

from index.config import SearchSettings
from index.date_policy import drop_older, prefer_newer, prefer_window, within
from index.dense import DateSlice, DenseSearch
from index.embedding import Embedder
from index.errors import ConfigError, IndexEmpty, VectorsUnreadable
from index.fusion import fuse, spread_articles
from index.hit import Hit, SearchResult
from index.keyword import STOPWORDS, KeywordDamaged, KeywordIndex, KeywordReader, KeywordState
from index.keyword import tokenize as tokenize
from index.passage import Passage
from index.store import IndexMeta, Store

__all__ = [
    "STOPWORDS",
    "Hit",
    "HybridSearcher",
    "SearchResult",
    "View",
    "drop_older",
    "prefer_newer",
    "prefer_window",
    "spread_articles",
    "tokenize",
]

log = logging.getLogger(__name__)

IDF_KEPT = 50_000  # document frequencies remembered per revision
# A question waits at most this long for the embedded store to be opened afresh on another
# process's revision (loading its vector index takes about 1.3 s at 100,000 chunks); past that
# it is answered through the store as opened before, whose vectors are of the previous
# revision, and the reopened store is taken over when it is ready. Waiting helps only when the
# reopen can finish within it: once opening the store's vectors took longer than this (the first
# vector query in the process, or the last reopen), a question does not wait for it at all.
REOPEN_WAIT_S = 0.2
# How long a question waits for the store's revision pointer once one has been read: while
# another process writes to the embedded store, reading it waited up to 0.9 s at 100,000 chunks.
# Past that, the question goes on with the revision read last (the read finishes meanwhile, and
# the next question sees what it found).
META_WAIT_S = 0.15


@dataclass(frozen=True)
class View:
    """What a searcher reads: the store's published revision and the keyword index's."""

    meta: IndexMeta  # the store's pointer, as last read
    state: KeywordState  # the revision the keyword index holds

    @property
    def revision(self) -> Hashable:
        return (self.state.generation, self.state.revision, self.state.updated)

    @property
    def chunks(self) -> int:
        return self.state.chunks

    @property
    def articles(self) -> int:
        return self.state.articles


class HybridSearcher:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        settings: SearchSettings,
        keyword: KeywordIndex | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.keyword = keyword or KeywordIndex.for_store(store)
        self.dense = DenseSearch(store)
        self._snapshot: View | None = None
        self._seen: tuple[int, int] | None = None  # the store revision last read
        self._lock = threading.Lock()
        self._catching_up: threading.Thread | None = None
        self._vectors_seen: tuple[int, int] | None = None  # the revision the store's reads see
        self._reopening: threading.Thread | None = None
        self._open_cost: float | None = None  # seconds opening the vectors took last (see above)
        self._meta_reads = ThreadPoolExecutor(1, thread_name_prefix="store-meta")
        self._meta_read: Future[IndexMeta | None] | None = None
        self._idf: tuple[Hashable, dict[str, float]] = ((), {})

    # -- the revision read ---------------------------------------------------------------------
    def snapshot(self) -> View:
        """The store's revision and the keyword index's; opens the keyword index (building it
        from the store when it is missing or damaged) and starts bringing it up to a newer
        revision of the store in the background."""
        meta = self._meta()
        if meta is None or meta.dimension == 0:
            raise IndexEmpty(
                "Nothing is indexed yet. Run `newsbot index` to index the articles in your folders."
            )
        if meta.embedding_model != self.embedder.key:
            raise ConfigError(
                f"The index was built with the embedding model {meta.embedding_model!r}, but the "
                f"settings ask for {self.embedder.key!r}. Run `newsbot index` to re-embed the "
                "articles, or set NEWSBOT_EMBEDDING_MODEL / NEWSBOT_EMBEDDING_BACKEND back."
            )
        with self._lock:
            seen = (meta.generation, meta.revision)
            if self._vectors_seen is None or not self.store.stale(meta.revision):
                self._vectors_seen = seen  # a first read, a server, or this process's revision
            elif self._vectors_seen != seen:
                self._reopen(meta)  # the embedded store: see the new vectors
            self._seen = seen
            state = self.keyword.ensure(self.store)
            if state is None:
                raise IndexEmpty(
                    "Nothing is indexed yet. Run `newsbot index` to index the articles in your "
                    "folders."
                )
            if not state.matches(meta):
                self._catch_up_later()
            view = self._snapshot = View(meta, state)
            return view

    def _meta(self) -> IndexMeta | None:
        """The store's revision pointer; once one was read, waiting at most META_WAIT_S for it
        (see there)."""
        last = self._snapshot
        if last is None:
            return self.store.meta()
        with self._lock:
            if self._meta_read is None or self._meta_read.done():
                self._meta_read = self._meta_reads.submit(self.store.meta)
            read = self._meta_read
        try:
            return read.result(timeout=META_WAIT_S)
        except FutureTimeout:
            log.debug("the store is busy; going on with revision %d", last.meta.revision)
            return last.meta

    def _reopen(self, meta: IndexMeta, why: str = "the index changed in another process") -> None:
        """Open the embedded store afresh in a thread, load the new revision's vector index
        there, then read through it; the question that starts it waits at most REOPEN_WAIT_S
        for that (see there), the others not at all."""
        if self._reopening is None or not self._reopening.is_alive():
            seen = (meta.generation, meta.revision)

            def run() -> None:
                started = time.perf_counter()
                try:
                    fresh = self.store.reopened()
                    fresh.load_vectors(meta.generation, meta.dimension)
                    self.store.adopt(fresh)
                    self._vectors_seen = seen
                except Exception as error:  # the next query tries again
                    log.warning("could not open the store afresh: %s", error)
                self._open_cost = time.perf_counter() - started

            log.info("%s (revision %d): opening the store afresh", why, meta.revision)
            self._reopening = threading.Thread(target=run, name="store-reopen", daemon=True)
            self._reopening.start()
            if self._open_cost is None or self._open_cost <= REOPEN_WAIT_S:
                self._reopening.join(REOPEN_WAIT_S)  # only the question that started it waits

    def _catch_up_later(self) -> None:
        """Bring the keyword index to the store's revision in a thread of its own: questions
        are answered from the revision it holds until then (usually another process, the
        writer, is already doing it, and this only waits for it)."""
        if self._catching_up is not None and self._catching_up.is_alive():
            return

        def run() -> None:
            try:
                self.keyword.sync(self.store)
            except Exception as error:  # the next query tries again
                log.warning("could not bring the keyword index up to date: %s", error)

        self._catching_up = threading.Thread(target=run, name="keyword-catch-up", daemon=True)
        self._catching_up.start()

    def wait_caught_up(self, timeout: float) -> None:
        """Wait for a catch-up under way (for scripts and tests)."""
        thread = self._catching_up
        if thread is not None:
            thread.join(timeout)

    def _read(self, view: View, reader: KeywordReader) -> View:
        state = reader.state()
        return view if state is None or state == view.state else View(view.meta, state)

    def passages(self, ids: Sequence[str]) -> dict[str, Passage]:
        """The live passages among ``ids``, by id."""
        self.snapshot()
        with self.keyword.reading() as reader:
            return reader.passages(ids)

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token over the live chunks (1.0 before any load)."""
        view = self._snapshot
        if view is None:
            return 1.0
        key, known = self._idf
        if key != view.revision or len(known) > IDF_KEPT:
            known = {}
            self._idf = (view.revision, known)
        if token not in known:
            try:
                with self.keyword.reading() as reader:
                    df = reader.document_frequency(token)
            except KeywordDamaged:
                return 1.0
            n = view.chunks
            known[token] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return known[token]

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
        try:
            return self._search(query, k, since, until, strict, prefer_recent, now)
        except KeywordDamaged as error:
            self.keyword.recover(self.store, str(error))
            return self._search(query, k, since, until, strict, prefer_recent, now)

    def _search(
        self,
        query: str,
        k: int | None,
        since: date | None,
        until: date | None,
        strict: bool,
        prefer_recent: bool,
        now: date | None,
    ) -> SearchResult:
        k = k or self.settings.top_k
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        view = self.snapshot()
        with self.keyword.reading() as reader:
            view = self._read(view, reader)
            window = self._window_in(view, reader, since, until) if strict else None
            # a time read from the question is a preference; its articles are also searched alone
            inner = None
            if not strict and self.settings.window_search_weight > 0:
                inner = self._window_in(view, reader, since, until)
                inner = inner if inner is not None and inner.count else None
            timings["snapshot"] = time.perf_counter() - clock

            clock = time.perf_counter()
            vector = self.embedder.encode([query])[0]
            timings["embed"] = time.perf_counter() - clock

            n = self.settings.candidates
            clock = time.perf_counter()
            dense, inside = self._dense_hits(reader, view, vector, n, window, inner)
            timings["dense"] = time.perf_counter() - clock
            if self._open_cost is None:  # the first vector query loads the vector index
                self._open_cost = max(timings["dense"], self.store.vectors_load_s or 0.0)

            clock = time.perf_counter()
            tokens = tokenize(query)
            sparse = self._keyword_hits(reader, tokens, n, window)
            if inner is not None:
                inside.append(self._keyword_hits(reader, tokens, n, inner))
            timings["bm25"] = time.perf_counter() - clock

        clock = time.perf_counter()
        fused, missing = fuse(
            dense,
            sparse,
            inside,
            rrf_k=self.settings.rrf_k,
            window_weight=self.settings.window_search_weight,
            article_weight=self.settings.article_fusion_weight,
        )
        self.dense.fill_similarity(missing, vector, view.meta.generation, view.revision)
        hits = self._date_policy(fused, since, until, strict, prefer_recent, now)[:k]
        timings["fuse"] = time.perf_counter() - clock
        return SearchResult(hits, timings, query_vector=vector)

    def _dense_hits(
        self,
        reader: KeywordReader,
        view: View,
        vector: np.ndarray,
        n: int,
        window: DateSlice | None,
        inner: DateSlice | None,
    ) -> tuple[list[Hit], list[list[Hit]]]:
        """The nearest chunks (within ``window``), and within ``inner`` when given. When Chroma
        cannot read its vector index just now (VectorsUnreadable), none: the question is
        answered from the keyword index alone, and the store is opened afresh for the next."""
        generation = view.meta.generation
        try:
            dense = self.dense.hits(reader, generation, view.chunks, vector, n, window)
            if inner is None:
                return dense, []
            return dense, [self.dense.hits(reader, generation, view.chunks, vector, n, inner)]
        except VectorsUnreadable as error:
            log.warning("%s Answering from the keyword index alone for now.", error)
            with self._lock:
                self._reopen(view.meta, "the vector index could not be read")
            return [], []

    def _date_policy(
        self,
        fused: list[Hit],
        since: date | None,
        until: date | None,
        strict: bool,
        prefer_recent: bool,
        now: date | None,
    ) -> list[Hit]:
        weight = self.settings.recency_weight / (self.settings.rrf_k + 1)
        if not strict and (since or until):
            fused = prefer_window(fused, since, until, weight)
            fused = drop_older(fused, since, until, self.settings.recency_slack_days)
            # no candidate from that time: the index is older than the question's "now", and
            # which of the candidates is newest says nothing about the news it asks for
            prefer_recent = prefer_recent and any(within(h, since, until) for h in fused)
        half_life = self.settings.recency_half_life_days
        if prefer_recent:
            fused = prefer_newer(fused, now or date.today(), half_life, weight)
        elif since is None and until is None and self.settings.recency_default_weight > 0:
            # no time named: news readers still mean the current story, so newer ones get a lift
            lift = self.settings.recency_default_weight / (self.settings.rrf_k + 1)
            fused = prefer_newer(fused, now or date.today(), half_life, lift)
        if self.settings.passages_per_article > 0:
            fused = spread_articles(fused, self.settings.passages_per_article)
        return fused

    def _window_in(
        self, view: View, reader: KeywordReader, since: date | None, until: date | None
    ) -> DateSlice | None:
        if since is None and until is None:
            return None
        first = since.isoformat() if since else None
        last = until.isoformat() if until else None
        return self.dense.window((view.revision, first, last), reader, first, last)

    @staticmethod
    def _keyword_hits(
        reader: KeywordReader, tokens: list[str], n: int, window: DateSlice | None
    ) -> list[Hit]:
        if window is not None and not window.count:
            return []
        since, until = (window.since, window.until) if window is not None else (None, None)
        top = reader.top(tokens, n, since, until)
        passages = reader.passages([cid for cid, _ in top])
        return [Hit.of(passages[cid]) for cid, _ in top if cid in passages]

    # -- one way of searching at a time (the evaluation compares them; tests check them) -------
    def _window(self, view: View, since: date | None, until: date | None) -> DateSlice | None:
        with self.keyword.reading() as reader:
            return self._window_in(self._read(view, reader), reader, since, until)

    def dense_hits(
        self, view: View, vector: np.ndarray, n: int, window: DateSlice | None = None
    ) -> list[Hit]:
        """The ``n`` nearest live chunks (within ``window`` when given)."""
        with self.keyword.reading() as reader:
            view = self._read(view, reader)
            return self.dense.hits(reader, view.meta.generation, view.chunks, vector, n, window)

    def keyword_hits(self, view: View, query: str, n: int) -> list[Hit]:
        """The ``n`` best chunks by BM25 alone."""
        with self.keyword.reading() as reader:
            return self._keyword_hits(reader, tokenize(query), n, None)
