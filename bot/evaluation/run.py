"""Run the RealTime QA benchmark end to end through the real index and answer service.

:func:`run_eval` loads a split with :func:`~bot.evaluation.dataset.load_dataset`, indexes its pages
(gold articles, plus web-search distractors on request) into a cached index, asks every answerable
question with the question sentence alone, and scores retrieval, answers and refusals.

Retrieval is measured per method over the same live chunks, in the same run: the top ``k`` chunks
of hybrid search (what the service searches), of dense search alone and of BM25 alone are mapped
to their articles (by normalized URL), repeats collapsed in rank order, and the rank of the first
gold article gives recall@1/5/10 and MRR@10.

The index is cached under ``cache_dir/<key>`` where the key hashes the corpus JSONL, the chunker
settings and the embedding model, so a second run over the same corpus skips all embedding.
"""

from __future__ import annotations

import hashlib
import logging
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.answering.answer import Answer
from bot.answering.service import (
    AnswerService,
    build_embedder,
    build_service,
    build_store,
    clean_question,
)
from bot.errors import InvalidQuestion
from bot.evaluation.dataset import (
    EvalCorpus,
    Page,
    Question,
    load_dataset,
    write_records,
)
from bot.evaluation.generation import generation_metrics, generation_row
from bot.evaluation.scoring import (
    answer_hit,
    best_choice,
    exact_match,
    retrieval_metrics,
    token_f1,
)
from bot.settings import Settings
from index.build import build_index, chunker_key
from index.dedupe import normalize_url
from index.embedding import embedding_key
from index.search import Hit
from index.sentences import sentence_spans

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]

CORPUS_FOLDER = "realtimeqa-corpus"
PAGES_PER_FILE = 250  # keeps every JSONL file well under NEWSBOT_MAX_ARTICLE_BYTES
DEFAULT_REFUSAL_QUESTIONS = 50
ANSWER_HIT_DEPTH = 5
_MARKER = re.compile(r"\[(\d+)\]")
RETRIEVAL_KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10")
READING_KEYS = (
    "first_sentence_hit",
    "answer_text_hit",
    "short_answer_em",
    "short_answer_f1",
    "short_answer_given",
)


def cache_key(corpus_bytes: bytes, settings: Settings) -> str:
    """sha256 of the corpus JSONL, the chunker settings and the embedding model."""
    digest = hashlib.sha256()
    model = embedding_key(settings.embedding_model, settings.embedding_backend)
    for part in (corpus_bytes, chunker_key(settings).encode(), model.encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def write_corpus(pages: Sequence[Page], folder: Path) -> bytes:
    """Write ``pages`` as JSONL ingest records in files of :data:`PAGES_PER_FILE` pages;
    returns the bytes of all files in order (what the cache key hashes)."""
    data = b""
    for number, start in enumerate(range(0, len(pages), PAGES_PER_FILE)):
        path = folder / f"corpus-{number:04d}.jsonl"
        write_records(pages[start : start + PAGES_PER_FILE], path)
        data += path.read_bytes()
    return data


def select_corpus(
    dataset_dir: Path,
    distractors: bool,
    limit: int | None = None,
    weeks: Sequence[str] | None = None,
) -> tuple[EvalCorpus, EvalCorpus, list[Question]]:
    """(the corpus to index and ask, the whole split, the refusal questions).

    The limited corpus keeps only answerable questions; counts and the refusal set come from the
    whole split. The refusal questions are held out: search pages found only for them are not
    indexed, or "the article is not indexed" would not hold with --distractors. In a release
    without gold articles, the refusal questions are those with no search results at all."""
    corpus = load_dataset(dataset_dir, distractors=distractors, limit=limit, weeks=weeks)
    split = corpus if limit is None else load_dataset(dataset_dir, weeks=weeks)
    refusal_questions = split.unanswerable()[: limit or DEFAULT_REFUSAL_QUESTIONS]
    held_out = {q.id for q in refusal_questions}
    corpus.pages = [p for p in corpus.pages if p.is_gold or not set(p.question_ids) <= held_out]
    return corpus, split, refusal_questions


def run_eval(
    dataset_dir: Path,
    *,
    settings: Settings,
    distractors: bool = False,
    limit: int | None = None,
    cache_dir: Path | None = None,
    k: int = 10,
    progress: ProgressFn | None = None,
    llm: str | None = None,
    weeks: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Index a RealTime QA split, ask its questions through the answer service and score them.

    ``llm`` picks the answerer as NEWSBOT_LLM does (default: the settings' choice). ``weeks``
    keeps only those weekly releases (``YYYYMMDD`` names). A split without gold articles
    (2023 on) is scored on its answers only: retrieval figures need a gold article to rank.

    ``limit`` keeps the first ``limit`` answerable questions (and only their pages) and caps the
    refusal set at ``limit`` questions (else 50). ``progress(stage, done, total)`` is called
    with the stages ``"index"``, ``"questions"`` and ``"refusal"``.
    """
    dataset_dir = Path(dataset_dir)
    if llm is not None:
        settings = settings.model_copy(update={"llm": llm})
    corpus, split, refusal_questions = select_corpus(dataset_dir, distractors, limit, weeks)
    questions = corpus.answerable()

    cache_root = Path(cache_dir) if cache_dir is not None else settings.data_dir / "eval-cache"
    embedder = build_embedder(settings)
    # The corpus folder lives in a temporary directory with a fixed name, so its source keys are
    # the same on every run and its files are recognised as unchanged by their hash.
    with tempfile.TemporaryDirectory(prefix="newsbot-eval-") as scratch:
        corpus_dir = Path(scratch) / CORPUS_FOLDER
        key = cache_key(write_corpus(corpus.pages, corpus_dir), settings)
        data_dir = cache_root / key
        eval_settings = settings.model_copy(
            update={"data_dir": data_dir, "article_dirs": [corpus_dir]}
        )
        store = build_store(eval_settings)
        existed = store.meta() is not None
        started = time.perf_counter()
        report = build_index(
            eval_settings,
            [corpus_dir],
            store=store,
            embedder=embedder,
            progress=(lambda done, total: progress("index", done, total)) if progress else None,
        )
        build_seconds = time.perf_counter() - started
    if report.problems:  # e.g. a distractor page whose text cleans down to nothing
        log.warning(
            "indexing the eval corpus: %d problems, first: %s",
            len(report.problems),
            report.problems[0],
        )

    service = build_service(eval_settings, store=store, embedder=embedder)
    snapshot = service.searcher.snapshot()  # open the keyword index before timing anything
    for _ in range(3):  # first queries pay for thread pools and store caches; keep them untimed
        service.ask("What happened in the news this week?")
    generation = snapshot.meta.generation

    rows, ranks, latencies, validity = _ask_all(service, corpus, questions, generation, k, progress)
    refusal_rows = _refusals(service, refusal_questions, progress)

    metrics: dict[str, Any] = {}
    for method in ("hybrid", "dense", "bm25"):
        if not corpus.has_gold:
            metrics[method] = None  # no gold article to rank
            continue
        metrics[method] = retrieval_metrics(ranks[method], ranks["gold"])
        # how many distinct articles the top-k chunks held: recall@10 cannot exceed this depth
        metrics[method][f"articles@{k}"] = _mean(len(set(urls)) for urls in ranks[method])
    n = len(rows)
    metrics.update(
        {
            # what a person reads: the short answer, the first sentence, the answer text
            "first_sentence_hit": _mean(r["first_sentence_hit"] for r in rows),
            "answer_text_hit": _mean(r["answer_text_hit"] for r in rows),
            "short_answer_em": _mean(r["short_answer_em"] for r in rows),
            "short_answer_f1": _mean(r["short_answer_f1"] for r in rows),
            "short_answer_given": _mean(r["short_answer"] is not None for r in rows),
            "answer_hit": _mean(r["answer_hit"] for r in rows),
            f"answer_hit@{ANSWER_HIT_DEPTH}": _mean(
                r[f"answer_hit@{ANSWER_HIT_DEPTH}"] for r in rows
            ),
            "mc_accuracy": _mean(r["mc_correct"] for r in rows),
            "mc_accuracy_quotes": _mean(r["mc_correct_quotes"] for r in rows),
            # the tie-break before 2026-11-29: among supported choices, the first listed wins
            "mc_accuracy_first_listed": _mean(r["mc_correct_first_listed"] for r in rows),
            "found_rate": _mean(r["found"] for r in rows),
            "citation_validity": _mean(validity) if validity else 1.0,
            "refusal": _mean(r["refused"] for r in refusal_rows),
            # of those questions, answered anyway with the gold answer, from other indexed pages
            # (with --distractors a newsletter or another outlet often carries the same news)
            "refusal_answered_right": _mean(r["answered_right"] for r in refusal_rows),
            "latency_p50": _percentile(latencies, 50),
            "latency_p95": _percentile(latencies, 95),
            "answer_stage_p50": _percentile([r["timings"].get("answer", 0.0) for r in rows], 50),
            **generation_metrics(
                rows
            ),  # language-model answers only (bot/evaluation/generation.py)
        }
    )
    return {
        "dataset": str(dataset_dir),
        "answerer": service.answerer.name,
        "distractors": distractors or not corpus.has_gold,
        "has_gold": corpus.has_gold,
        "weeks": list(weeks) if weeks is not None else None,
        "questions": n,
        "boilerplate_only": len(split.boilerplate_only()),
        "refusal_questions": len(refusal_rows),
        "k": k,
        "index": {
            "articles": snapshot.articles,
            "chunks": snapshot.chunks,
            "build_seconds": round(build_seconds, 3),
            "cached": existed and not report.changed,
            "chunks_embedded": report.chunks_written,  # 0 when the cache was reused
            "problems": [str(p) for p in report.problems[:20]],
            "dir": str(data_dir),
        },
        "metrics": metrics,
        "rows": rows,
        "refusal_rows": refusal_rows,
    }


# -- asking ---------------------------------------------------------------------------------------


def _ask_all(
    service: AnswerService,
    corpus: EvalCorpus,
    questions: Sequence[Question],
    generation: int,
    k: int,
    progress: ProgressFn | None,
) -> tuple[list[dict[str, Any]], dict[str, list[Any]], list[float], list[float]]:
    searcher = service.searcher
    ranks: dict[str, list[Any]] = {"hybrid": [], "dense": [], "bm25": [], "gold": []}
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    validity: list[float] = []
    for done, question in enumerate(questions, start=1):
        gold = set(corpus.gold_page_urls(question))
        started = time.perf_counter()
        answer = _ask(service, question)
        latencies.append(time.perf_counter() - started)

        ranked: dict[str, list[Hit]] = {"hybrid": [], "dense": [], "bm25": []}
        try:
            query = clean_question(question.sentence, service.settings.max_question_chars)
        except InvalidQuestion:
            query = ""
        if query:
            # the question's own date is "today", as for the person who asked it that week
            _, options = service.search_options(query, today=question.date)
            ranked["hybrid"] = searcher.search(query, k, **options).hits
            if corpus.has_gold:  # without a gold article there is no rank to compare
                ranked["dense"] = _dense_hits(service, query, k)
                ranked["bm25"] = searcher.keyword_hits(searcher.snapshot(), query, k)
        hybrid = ranked["hybrid"]
        for method, hits in ranked.items():
            ranks[method].append([_url(h) for h in hits])
        ranks["gold"].append(gold)

        evidence = _evidence(answer)
        passages = _cited_passages(service, answer)
        top_text = "\n".join(h.text for h in hybrid[:ANSWER_HIT_DEPTH])
        chosen = best_choice(question.choices, passages, evidence) if passages else -1
        chosen_from_quotes = best_choice(question.choices, evidence) if evidence else -1
        first_listed = best_choice(question.choices, passages) if passages else -1
        if answer.found:
            validity.append(float(citations_valid(service, answer, generation)))
        read = read_answer(answer)
        rows.append(
            {
                "id": question.id,
                "question": question.sentence,
                "gold_answer": question.answer_text,
                "answer": answer.answer,
                "found": answer.found,
                "short_answer": read.short,
                "first_sentence": read.first_sentence,
                "first_sentence_hit": answer_hit(question.answer_text, read.first_sentence),
                "answer_text_hit": answer_hit(question.answer_text, read.text),
                # the short answer, or what is read first when there is none
                "short_answer_em": exact_match(read.first_read, question.answer_text),
                "short_answer_f1": round(token_f1(read.first_read, question.answer_text), 4),
                "hybrid_rank": _rank([_url(h) for h in hybrid], gold),
                "dense_rank": _rank([_url(h) for h in ranked["dense"]], gold),
                "bm25_rank": _rank([_url(h) for h in ranked["bm25"]], gold),
                "answer_hit": bool(evidence) and answer_hit(question.answer_text, evidence),
                f"answer_hit@{ANSWER_HIT_DEPTH}": answer_hit(question.answer_text, top_text),
                "mc_correct": chosen == question.answer_index,
                "mc_correct_quotes": chosen_from_quotes == question.answer_index,
                "mc_correct_first_listed": first_listed == question.answer_index,
                "chosen": question.choices[chosen] if chosen >= 0 else None,
                "citations": len(answer.citations),
                "seconds": round(latencies[-1], 4),
                # where the time went: search stages and the answer stage (sentence ranking)
                "timings": {k: round(v, 4) for k, v in answer.timings.items()},
                **generation_row(answer),
            }
        )
        if progress:
            progress("questions", done, len(questions))
    return rows, ranks, latencies, validity


def _ask(service: AnswerService, question: Question) -> Answer:
    try:
        return service.ask(question.sentence, today=question.date)
    except InvalidQuestion as error:
        return Answer(question.sentence, str(error), False)


def _refusals(
    service: AnswerService, questions: Sequence[Question], progress: ProgressFn | None
) -> list[dict[str, Any]]:
    """Per question whose article is not indexed: was it refused, and was it answered with the
    gold answer all the same (another indexed page may carry the same news)."""
    rows = []
    for done, question in enumerate(questions, start=1):
        answer = _ask(service, question)
        rows.append(
            {
                "id": question.id,
                "question": question.sentence,
                "gold_answer": question.answer_text,
                "answer": answer.answer,
                "refused": not answer.found,
                "answered_right": answer.found
                and answer_hit(question.answer_text, _evidence(answer)),
            }
        )
        if progress:
            progress("refusal", done, len(questions))
    return rows


def _dense_hits(service: AnswerService, query: str, k: int) -> list[Hit]:
    """Dense-only ranking: nearest live chunks, as :meth:`HybridSearcher.search` gathers them."""
    searcher = service.searcher
    snap = searcher.snapshot()
    vector = searcher.embedder.encode([query])[0]
    return searcher.dense_hits(snap, vector, max(k, searcher.settings.candidates))[:k]


# -- scoring helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """An answer as a person reads it: the short answer (if any), then the first sentence."""

    short: str | None  # the short answer's text
    first_sentence: str  # the first sentence after the short answer, without markers
    text: str  # the whole answer text without markers (not the quotes of the source list)

    @property
    def first_read(self) -> str:
        return self.short if self.short is not None else self.first_sentence


def read_answer(answer: Answer) -> Reading:
    """Split an answer into what is read first; a refusal reads as nothing."""
    if not answer.found:
        return Reading(None, "", "")
    short = getattr(answer, "short_answer", None)
    body = answer.answer
    if short is not None and "\n" in body:
        body = body.split("\n", 1)[1]  # the short answer is the answer's first line
    body = " ".join(_MARKER.sub(" ", body).split())
    spans = sentence_spans(body)
    first = body[spans[0][0] : spans[0][1]] if spans else ""
    text = body if short is None else f"{short.text}\n{body}"
    return Reading(short.text if short is not None else None, first, text)


def _evidence(answer: Answer) -> str:
    """The answer text without its [n] markers, plus its cited quotes; empty when not found."""
    if not answer.found:
        return ""
    text = _MARKER.sub(" ", answer.answer)
    return "\n".join([text, *(c.quote for c in answer.citations)])


def _cited_passages(service: AnswerService, answer: Answer) -> str:
    """The answer plus the passages it cites, whole (title and chunk), as a reader sees them
    when opening the sources: what multiple-choice accuracy is scored on."""
    if not answer.found:
        return ""
    passages = service.searcher.passages([c.chunk_id for c in answer.citations])
    texts = [_MARKER.sub(" ", answer.answer)]
    for citation in answer.citations:
        passage = passages.get(citation.chunk_id)
        title, text = (passage.title, passage.text) if passage else (citation.title, citation.quote)
        texts.append(f"{title}\n{text}")
    return "\n".join(texts)


def citations_valid(service: AnswerService, answer: Answer, generation: int) -> bool:
    """Every [n] marker names a listed citation and every quote is the indexed text[start:end]."""
    if not answer.citations:
        return False
    numbers = {c.n for c in answer.citations}
    text = answer.answer
    for citation in answer.citations:  # a quote may itself contain "[3]"; only markers count
        text = text.replace(citation.quote.strip(), " ")
    markers = {int(m) for m in _MARKER.findall(text)}
    if not markers or not markers <= numbers:
        return False
    texts = service.searcher.store.article_texts(
        generation, sorted({c.article_id for c in answer.citations})
    )
    for citation in answer.citations:
        body = texts.get(citation.article_id)
        if body is None or body[citation.start : citation.end] != citation.quote:
            return False
    return True


def _url(hit: Hit) -> str:
    url = hit.passage.url
    return normalize_url(url) if url else ""


def _rank(urls: Sequence[str], gold: set[str]) -> int | None:
    """1-based rank of the first gold URL among the distinct URLs, or None."""
    for position, url in enumerate(dict.fromkeys(urls), start=1):
        if url in gold:
            return position
    return None


def _mean(values: Any) -> float:
    items = [float(v) for v in values]
    return sum(items) / len(items) if items else 0.0


def _percentile(values: Sequence[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return round(values[0], 4)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 4)


# -- display --------------------------------------------------------------------------------------


def render_table(result: dict[str, Any], console: Any) -> None:
    """Print the metrics as a rich table: retrieval per method, then the answer metrics."""
    from rich.table import Table

    metrics = result["metrics"]
    index = result["index"]
    setting = " (gold articles only)"
    if not result.get("has_gold", True):
        setting = " (search pages only, no gold articles: answer figures only)"
    elif result["distractors"]:
        setting = " (with distractors)"
    table = Table(
        title=f"RealTime QA: {result['questions']} questions{setting}",
        caption=(
            f"{index['articles']} articles, {index['chunks']} chunks; index "
            f"{'reused from cache' if index['cached'] else 'built'} "
            f"in {index['build_seconds']:.1f}s; "
            f"{result['boilerplate_only']} boilerplate-only questions not asked; "
            f"refusal over {result.get('refusal_questions', 0)} unanswerable questions"
        ),
    )
    table.add_column("metric")
    for method in ("hybrid", "dense", "bm25"):
        table.add_column(method, justify="right")
    if metrics["hybrid"] is not None:
        for key in RETRIEVAL_KEYS:
            table.add_row(key, *(f"{metrics[m][key]:.3f}" for m in ("hybrid", "dense", "bm25")))
        depth = f"articles@{result.get('k', 10)}"
        if all(depth in metrics[m] for m in ("hybrid", "dense", "bm25")):
            table.add_row(
                f"distinct {depth}",
                *(f"{metrics[m][depth]:.1f}" for m in ("hybrid", "dense", "bm25")),
            )
        table.add_section()
    for key in READING_KEYS:
        table.add_row(key, f"{metrics[key]:.3f}", "", "")
    table.add_section()
    for key in (
        "answer_hit",
        f"answer_hit@{ANSWER_HIT_DEPTH}",
        "mc_accuracy",
        "mc_accuracy_quotes",
        "mc_accuracy_first_listed",
        "found_rate",
        "citation_validity",
        "refusal",
        "refusal_answered_right",
    ):
        table.add_row(key, f"{metrics[key]:.3f}", "", "")
    for key in ("latency_p50", "latency_p95", "answer_stage_p50"):
        if key in metrics:
            table.add_row(key, f"{metrics[key] * 1000:.0f} ms", "", "")
    for key in ("share_verified", "model_answer_kept", "first_token_p50_s", "tokens_per_s_p50"):
        if metrics.get(key) is not None:  # language-model runs (--llm)
            table.add_row(key, str(metrics[key]), "", "")
    console.print(table)
