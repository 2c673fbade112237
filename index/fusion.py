"""Reciprocal rank fusion of the dense and keyword rankings, and the cap on one article's share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from index.hit import Hit


def fuse(
    dense: list[Hit],
    sparse: list[Hit],
    inside: Sequence[list[Hit]] = (),
    *,
    rrf_k: int,
    window_weight: float,
    article_weight: float,
) -> tuple[list[Hit], list[Hit]]:
    """Reciprocal rank fusion of the two rankings, and of the rankings ``inside`` a date window at
    ``window_weight``; returns the fused hits, best first, and those that carry no similarity
    yet (found by BM25 only)."""
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
            existing.score += window_weight / (rrf_k + rank + 1)
    # Fuse articles too: an article whose best chunk tops one list and another chunk tops the
    # other must not lose to a third article that is second in both.
    if article_weight:
        article_score: dict[str, float] = {}
        for ranking in (dense, sparse):
            for rank, article in enumerate(dict.fromkeys(h.article_id for h in ranking)):
                share = article_weight / (rrf_k + rank + 1)
                article_score[article] = article_score.get(article, 0) + share
        for hit in by_id.values():
            hit.score += article_score.get(hit.article_id, 0)
    return sorted(by_id.values(), key=lambda h: h.score, reverse=True), missing


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
