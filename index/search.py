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
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from bot.errors import IndexEmpty
from index.build import embedding_text
from index.embedding import SentenceEmbedder
from index.store import IndexMeta, Store

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
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


@dataclass
class Hit:
    """One retrieved chunk with everything needed to cite it."""

    chunk_id: str
    text: str
    meta: dict[str, Any]
    score: float = 0.0  # fused score
    dense: float = 0.0  # cosine similarity to the query (0 when only BM25 found it)
    dense_rank: int | None = None
    bm25_rank: int | None = None

    @property
    def article_id(self) -> str:
        return str(self.meta["article_id"])

    @property
    def start(self) -> int:
        return int(self.meta["start"])


@dataclass
class SearchResult:
    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)
    query_vector: np.ndarray | None = None


@dataclass
class _Snapshot:
    meta: IndexMeta
    live: dict[str, str]  # article id -> content hash
    bm25: Any
    bm25_ids: list[str]
    chunk_meta: dict[str, tuple[dict[str, Any], str]]
    document_frequency: Counter[str]


class HybridSearcher:
    def __init__(self, store: Store, embedder: SentenceEmbedder, settings: Any) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

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
                current = self._snapshot = self._load(meta)
            return current

    def _load(self, meta: IndexMeta) -> _Snapshot:
        started = time.perf_counter()
        live = {r.id: r.content_hash for r in self.store.manifest(meta.generation).values()}
        ids: list[str] = []
        corpus: list[list[str]] = []
        chunk_meta: dict[str, tuple[dict[str, Any], str]] = {}
        for chunk_id, m, text in self.store.all_chunks(meta.generation):
            if live.get(str(m["article_id"])) != m["content_hash"]:
                continue
            ids.append(chunk_id)
            corpus.append(
                tokenize(embedding_text(str(m.get("title", "")), str(m.get("section", "")), text))
            )
            chunk_meta[chunk_id] = (m, text)
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
        return _Snapshot(meta, live, bm25, ids, chunk_meta, document_frequency)

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token over the live chunks (1.0 before any load)."""
        snap = self._snapshot
        if snap is None:
            return 1.0
        df = snap.document_frequency.get(token, 0)
        n = len(snap.bm25_ids)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    # -- searching -----------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None) -> SearchResult:
        k = k or self.settings.top_k
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        snap = self.snapshot()
        timings["snapshot"] = time.perf_counter() - clock

        clock = time.perf_counter()
        vector = self.embedder.encode([query])[0]
        timings["embed"] = time.perf_counter() - clock

        n = self.settings.candidates
        clock = time.perf_counter()
        dense = [
            Hit(cid, text, m, dense=sim)
            for cid, sim, m, text in self.store.query(
                snap.meta.generation, vector, min(n + 10, max(1, len(snap.bm25_ids)))
            )
            if snap.live.get(str(m["article_id"])) == m["content_hash"]
        ][:n]
        timings["dense"] = time.perf_counter() - clock

        clock = time.perf_counter()
        sparse = self._bm25_hits(snap, query, n)
        timings["bm25"] = time.perf_counter() - clock

        clock = time.perf_counter()
        hits = self._fuse(dense, sparse, vector, snap)[:k]
        timings["fuse"] = time.perf_counter() - clock
        return SearchResult(hits, timings, vector)

    def _bm25_hits(self, snap: _Snapshot, query: str, n: int) -> list[Hit]:
        tokens = tokenize(query)
        if snap.bm25 is None or not tokens:
            return []
        known = [t for t in tokens if t in snap.bm25.vocab_dict]
        if not known:
            return []
        n = min(n, len(snap.bm25_ids))
        docs, scores = snap.bm25.retrieve([known], k=n, show_progress=False, n_threads=1)
        hits = []
        for index, score in zip(docs[0], scores[0], strict=True):
            if score <= 0:
                continue
            chunk_id = snap.bm25_ids[int(index)]
            m, text = snap.chunk_meta[chunk_id]
            hits.append(Hit(chunk_id, text, m))
        return hits

    def _fuse(
        self, dense: list[Hit], sparse: list[Hit], vector: np.ndarray, snap: _Snapshot
    ) -> list[Hit]:
        """Reciprocal rank fusion of the two rankings."""
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
                missing.append(hit)
            existing.bm25_rank = rank
            existing.score += 1.0 / (rrf_k + rank + 1)
        self._fill_similarity(missing, vector, snap)
        return sorted(by_id.values(), key=lambda h: h.score, reverse=True)

    def _fill_similarity(self, hits: list[Hit], vector: np.ndarray, snap: _Snapshot) -> None:
        """Cosine similarity for chunks that only BM25 found, from their stored vectors."""
        if hits:
            vectors = self.store.vectors(snap.meta.generation, [h.chunk_id for h in hits])
            for hit in hits:
                if hit.chunk_id in vectors:
                    hit.dense = float(np.dot(vectors[hit.chunk_id], vector))


def _bm25(corpus: list[list[str]]) -> Any:
    if not corpus:
        return None
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    return retriever
