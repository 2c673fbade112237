"""The answer service: the one entry point that the CLI, the REPL and the Discord bot call.

Built once, in :func:`build_service`, by whichever front end starts, and passed in.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from typing import Any

from bot.answer import Answer, Answerer, ExtractiveAnswerer
from bot.errors import InvalidQuestion
from index.embedding import SentenceEmbedder, make_embedder
from index.search import HybridSearcher
from index.store import Store, make_client

log = logging.getLogger(__name__)

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def clean_question(question: str, max_chars: int) -> str:
    """Normalise a question, or raise :class:`InvalidQuestion` with what to do instead."""
    text = unicodedata.normalize("NFC", question or "")
    text = _INVISIBLE.sub("", text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = " ".join(text.split())
    if not text:
        raise InvalidQuestion(
            'The question is empty. Type a question, for example: newsbot ask "What happened?"'
        )
    if len(text) > max_chars:
        raise InvalidQuestion(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. "
            "Ask a shorter question (or raise NEWSBOT_MAX_QUESTION_CHARS)."
        )
    if not any(ch.isalnum() for ch in text):
        raise InvalidQuestion("The question has no words in it. Ask about something in the news.")
    return text


class AnswerService:
    def __init__(self, settings: Any, searcher: HybridSearcher, answerer: Answerer) -> None:
        self.settings = settings
        self.searcher = searcher
        self.answerer = answerer

    def ask(self, question: str, k: int | None = None) -> Answer:
        started = time.perf_counter()
        text = clean_question(question, self.settings.max_question_chars)
        result = self.searcher.search(text, k or self.settings.top_k)
        clock = time.perf_counter()
        answer = self.answerer.answer(text, result.hits)
        answer.timings = {**result.timings, "answer": time.perf_counter() - clock}
        answer.timings["total"] = time.perf_counter() - started
        return answer

    def status(self) -> dict[str, Any]:
        return status_of(self.settings, self.searcher.store)


def status_of(settings: Any, store: Store) -> dict[str, Any]:
    """What is indexed, without loading any model. Never includes secrets."""
    meta = store.meta()
    info: dict[str, Any] = {
        "store": settings.store_location,
        "embedding_model": settings.embedding_model,
        "articles": 0,
        "chunks": 0,
        "newest_article": None,
    }
    if meta is not None:
        manifest = store.manifest(meta.generation)
        dates = [r.published for r in manifest.values() if r.published]
        info.update(
            articles=len(manifest),
            chunks=store.count_chunks(meta.generation),
            embedding_model=meta.embedding_model,
            newest_article=max(dates) if dates else None,
            revision=meta.revision,
            updated=meta.updated,
        )
    return info


def build_store(settings: Any) -> Store:
    return Store(make_client(settings), settings.collection_prefix)


def build_embedder(settings: Any) -> SentenceEmbedder:
    return make_embedder(
        settings.embedding_model, settings.embedding_device, settings.embedding_batch_size
    )


def build_service(
    settings: Any, store: Store | None = None, embedder: SentenceEmbedder | None = None
) -> AnswerService:
    """Wire the store, the embedder, hybrid search and the answerer from the settings."""
    store = store or build_store(settings)
    searcher = HybridSearcher(store, embedder or build_embedder(settings), settings)
    answerer = ExtractiveAnswerer(
        settings.min_relevance, settings.max_answer_sentences, idf=searcher.idf
    )
    return AnswerService(settings, searcher, answerer)
