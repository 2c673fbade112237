"""The answer service: the one entry point that the CLI, the REPL and the Discord bot call.

Built once, in :func:`build_service`, by whichever front end starts, and passed in.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from bot.answering.answer import (
    Answer,
    Answerer,
    Citation,
    ExtractiveAnswerer,
    KnowsVectors,
    SourcePassage,
)
from bot.answering.conflicts import annotate_dates
from bot.answering.followup import Turn
from bot.answering.language import language_hint
from bot.answering.recency import DateWindow, resolve_window
from bot.errors import InvalidQuestion, NewsbotError
from bot.settings import LlmSettings, Settings
from index.config import IndexSettings, StoreSettings
from index.embedding import Embedder, embedder_for, embedding_key
from index.search import Hit, HybridSearcher
from index.store import IndexMeta, Store

log = logging.getLogger(__name__)

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def clean_question(question: str, max_chars: int) -> str:
    """Normalise a question, or raise :class:`InvalidQuestion` with what to do instead."""
    text = unicodedata.normalize("NFC", question or "")
    text = _INVISIBLE.sub("", text)
    # format characters (soft hyphens, joiners, direction marks) vanish, so "Shein\u00adbaum"
    # stays one word; other control, surrogate and unassigned characters separate words
    text = "".join(
        "" if category == "Cf" else " " if category[0] == "C" else ch
        for ch, category in ((ch, unicodedata.category(ch)) for ch in text)
    )
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
    def __init__(self, settings: Settings, searcher: HybridSearcher, answerer: Answerer) -> None:
        self.settings = settings
        self.searcher = searcher
        self.answerer = answerer
        self._status: tuple[tuple[int, int], dict[str, Any]] | None = None

    def ask(
        self,
        question: str,
        k: int | None = None,
        *,
        history: Sequence[Turn] | None = None,
        on_text: Callable[[str], None] | None = None,
        since: date | None = None,
        until: date | None = None,
        today: date | None = None,
    ) -> Answer:
        """Answer one question.

        ``history`` holds the conversation so far as (question, answer text) turns, earliest
        first; a follow-up is rewritten into a standalone query before retrieval. ``on_text`` is
        called with the answer text so far while it is being produced (once, with the whole text,
        for answerers that do not stream); it may be called from a worker thread.

        ``since``/``until`` restrict the answer to articles published in that window; without
        them, date words in the question ("today", "this week", "in March") rank articles from
        that time higher, and "latest" prefers newer ones (see :mod:`bot.answering.recency`). They are read
        against ``today`` (default: NEWSBOT_TODAY, else the real date; an evaluation passes the
        date each question was asked).
        """
        started = time.perf_counter()
        text = clean_question(question, self.settings.max_question_chars)
        window, options = self.search_options(text, since=since, until=until, today=today)
        query = self._standalone(text, history)
        result = self.searcher.search(query, k or self.settings.top_k, **options)
        clock = time.perf_counter()
        vector = result.query_vector if query == text else None
        if vector is not None and isinstance(self.answerer, KnowsVectors):
            self.answerer.know_vector(text, vector)  # the question is embedded once, not twice
        answer = self._answer(text, result.hits, on_text)
        annotate_dates(answer, window, result.hits)
        if not answer.found:
            hint = language_hint(text, [c.quote for c in answer.passages])
            if hint:
                answer.answer = f"{answer.answer} {hint}"
        answer.timings = {**result.timings, "answer": time.perf_counter() - clock}
        answer.timings["total"] = time.perf_counter() - started
        if query != text:
            answer.query = query
        if on_text is not None:
            on_text(answer.answer)
        return answer

    def search_options(
        self,
        text: str,
        *,
        since: date | None = None,
        until: date | None = None,
        today: date | None = None,
    ) -> tuple[DateWindow | None, dict[str, Any]]:
        """The date window read from a question and the matching ``searcher.search`` options."""
        today = today or self.settings.today or date.today()
        window = resolve_window(text, today, since, until)
        return window, {
            "since": window.since if window else None,
            "until": window.until if window else None,
            "strict": bool(window and window.strict),
            "prefer_recent": bool(window and window.prefer_recent),
            "now": today,
        }

    def _standalone(self, text: str, history: Sequence[Turn] | None) -> str:
        """The query to search: a follow-up rewritten by the model when there is one."""
        return self.answerer.rewrite(text, history)

    def _answer(self, text: str, hits: list[Hit], on_text: Callable[[str], None] | None) -> Answer:
        return self.answerer.answer(text, hits, on_text if self.answerer.streams else None)

    def sources(self, citations: Sequence[Citation]) -> list[SourcePassage]:
        """Each citation with the whole passage it quotes, read from the index by chunk id (a
        passage since replaced by a newer version of its article leaves the quote alone)."""
        ids = [c.chunk_id for c in citations if c.chunk_id]
        try:
            passages = self.searcher.passages(ids) if ids else {}
        except NewsbotError as error:
            log.info("passages not read: %s", error)
            passages = {}
        out = []
        shown: dict[str, int] = {}  # chunk id -> the citation that shows its passage
        for c in citations:
            p = passages.get(c.chunk_id)
            source = SourcePassage.of(c, p.text if p else None, p.start if p else 0)
            if p is not None and c.chunk_id in shown:
                source = replace(source, same_as=shown[c.chunk_id])
            shown.setdefault(c.chunk_id, c.n)
            out.append(source)
        return out

    def status(self) -> dict[str, Any]:
        """What is indexed. Worked out once per revision of the index: asking again (``/stats``)
        costs one small read of the index's revision, not a read of every article."""
        meta = self.searcher.store.meta()
        key = (meta.generation, meta.revision) if meta is not None else (-1, -1)
        if self._status is None or self._status[0] != key:
            self._status = (key, status_of(self.settings, self.searcher.store, meta))
        return dict(self._status[1])

    def warm_up(self) -> bool:
        """Load the embedding model and open the index (the store's revision, the keyword
        index, built from the store when it is missing, and Chroma's vector index) now, so the
        first question does not wait for them. False when there is nothing to load yet or
        the store cannot be reached (the first question then says so)."""
        started = time.perf_counter()
        try:
            self.searcher.embedder.encode(["warm-up"])
            meta = self.searcher.snapshot().meta
            self.searcher.store.load_vectors(meta.generation, meta.dimension)
        except NewsbotError as error:
            log.info("warm-up skipped: %s", error)
            return False
        log.info("warmed up in %.1fs", time.perf_counter() - started)
        return True


def status_of(
    settings: IndexSettings, store: Store, meta: IndexMeta | None = None
) -> dict[str, Any]:
    """What is indexed, without loading any model. Never includes secrets."""
    meta = meta or store.meta()
    info: dict[str, Any] = {
        "store": settings.store_location,
        "embedding_model": embedding_key(settings.embedding_model, settings.embedding_backend),
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


def build_store(settings: StoreSettings) -> Store:
    return Store.open(settings)


def build_embedder(
    settings: IndexSettings, store: Store | None = None, meta: IndexMeta | None = None
) -> Embedder:
    """The embedder the settings name; with ``auto``, the one the index in ``store`` (or the
    store record ``meta``, already read) was built with (index/embedding.py:
    :func:`choose_backend`), so a query's vector matches the index's."""
    if settings.embedding_backend != "auto":
        return embedder_for(settings, None)
    if meta is None and store is not None:
        with contextlib.suppress(NewsbotError):  # no index, or no store yet: the machine's pick
            meta = store.meta()
    return embedder_for(settings, meta.embedding_model if meta is not None else None)


def build_service(
    settings: Settings, store: Store | None = None, embedder: Embedder | None = None
) -> AnswerService:
    """Wire the store, the embedder, hybrid search and the answerer from the settings."""
    store = store or build_store(settings)
    searcher = HybridSearcher(store, embedder or build_embedder(settings, store), settings)
    extractive = ExtractiveAnswerer(
        settings.min_relevance,
        settings.max_answer_sentences,
        idf=searcher.idf,
        min_coverage=settings.min_coverage,
        embed=searcher.embedder.encode if settings.answer_rerank > 0 else None,
        rerank=settings.answer_rerank,
    )
    return AnswerService(settings, searcher, build_answerer(settings, searcher, extractive))


def build_answerer(
    settings: LlmSettings, searcher: HybridSearcher, extractive: ExtractiveAnswerer
) -> Answerer:
    """The answerer NEWSBOT_LLM names (bot/llm/models.py): the extractive one, or a language
    model whose answers are verified and that falls back to the extractive one."""
    from bot.llm.models import make_chat_model, parse_spec

    spec = parse_spec(settings.llm)
    if spec.is_extractive:
        return extractive
    from bot.llm.answerer import CircuitBreaker, LLMAnswerer
    from bot.llm.verify import Verifier

    log.info("answering with %s", spec.label)
    return LLMAnswerer(
        make_chat_model(spec, settings),
        spec.label,
        extractive,
        Verifier(searcher.embedder.encode, settings.verify_threshold, settings.verify_mode),
        timeout=settings.llm_timeout,
        breaker=CircuitBreaker(settings.llm_failures_before_pause, settings.llm_pause_seconds),
    )
