"""What search returns: a passage and how it ranked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.passage import Metadata, Passage


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
    # the query's normalised vector as dense search embedded it: an answerer that embeds the
    # question too (bot/answering/answer.py) reuses it instead of embedding it again
    query_vector: np.ndarray | None = None
