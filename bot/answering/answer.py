"""Answers and their citations, and the default answerer: extractive, grounded, no language model.

The extractive answerer picks the sentences of the retrieved passages that best answer the question
and cites each one with the exact span of the article it was taken from. When the passages do not
support an answer it says so and shows the closest passages instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from bot.answering.followup import Turn, standalone_query
from index.search import Hit, tokenize
from index.sentences import sentence_spans
from index.structure import POST_ATTRIBUTION

NOT_FOUND = "The indexed articles do not cover this question."
OnText = Callable[[str], None]  # called with the answer text so far
# Words that introduce a reason: for "why" questions a sentence that gives one is the better answer.
_REASON = re.compile(
    r"\b(because|citing|cited|due to|since|so that|as a result|in order to|over concerns?|"
    r"emphasi[sz]ing|saying|argu(?:ed|ing)|reason)\b",
    re.IGNORECASE,
)


# Questions that ask for a name, a place, a figure or a date.
_WANTS_FACT = re.compile(
    r"^\s*(which|who|whom|whose|where|when|what (?:country|company|city|state|team|year|day|"
    r"month|animal|name|number|percentage|amount)|how (?:many|much|long|old|far))\b|"
    r"\b(which|what) \w+\?\s*$",
    re.IGNORECASE,
)
_QUESTION_END = re.compile(r"\?[\s\"'”’)\]]*$")
_NAME_OR_FIGURE = re.compile(r"(?<![\w.])(?:[A-Z][\w’'&.-]*|\d[\d,.%]*)")


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    url: str | None
    published: str | None
    section: str
    quote: str
    start: int
    end: int
    chunk_id: str = ""
    kind: str = "prose"
    post_author: str = ""
    other_urls: tuple[str, ...] = ()  # the same story at other addresses

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    answer: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Citation] = field(default_factory=list)  # the closest passages when not found
    timings: dict[str, float] = field(default_factory=dict)
    answerer: str = "extractive"
    query: str | None = None  # the standalone query searched, when a follow-up was rewritten
    as_of: str | None = None  # the newest cited article's published date (YYYY-MM-DD)
    window: dict[str, Any] | None = None  # the publication dates searched (bot.answering.recency)
    disagreements: list[dict[str, Any]] = field(default_factory=list)  # bot.answering.conflicts
    note: str | None = None  # one line on how a generated answer was made (a fallback, checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "found": self.found,
            "citations": [c.as_dict() for c in self.citations],
            "passages": [c.as_dict() for c in self.passages],
            "answerer": self.answerer,
            "query": self.query,
            "as_of": self.as_of,
            "window": self.window,
            "disagreements": self.disagreements,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


class Answerer(Protocol):
    """Turns retrieved passages into an answer. Language-model answerers implement this too.

    What an answerer can do is declared, not probed: ``streams`` says whether :meth:`answer`
    calls ``on_text`` with the text so far while it writes (else the caller shows the answer
    when it is done), and :meth:`rewrite` turns a follow-up into the query to search."""

    name: str
    streams: bool

    def answer(self, question: str, hits: list[Hit], on_text: OnText | None = None) -> Answer: ...

    def rewrite(self, question: str, history: Sequence[Turn] | None) -> str: ...


@dataclass(frozen=True)
class _Candidate:
    hit_rank: int
    hit: Hit
    start: int  # absolute offsets in the article
    end: int
    text: str
    score: float
    overlap: float


def citation_for(n: int, hit: Hit, start: int, end: int, text: str) -> Citation:
    p = hit.passage
    return Citation(
        n=n,
        article_id=p.article_id,
        title=p.title,
        url=p.url,
        published=p.published,
        section=p.section,
        quote=text,
        start=start,
        end=end,
        chunk_id=p.chunk_id,
        kind=p.kind,
        post_author=p.post_author,
        other_urls=p.other_urls,
    )


class ExtractiveAnswerer:
    """Grounded answers made only of sentences quoted from the retrieved passages."""

    name = "extractive"
    streams = False  # the answer comes whole

    def __init__(
        self,
        min_relevance: float = 0.35,
        max_sentences: int = 3,
        idf: Any = None,
        min_coverage: float = 0.35,
    ) -> None:
        self.min_relevance = min_relevance
        self.min_coverage = min_coverage
        self.max_sentences = max_sentences
        self.idf = idf or (lambda token: 1.0)

    def rewrite(self, question: str, history: Sequence[Turn] | None) -> str:
        """The rule of :func:`bot.answering.followup.standalone_query`: no model to ask."""
        return standalone_query(question, history)

    def answer(self, question: str, hits: list[Hit], on_text: OnText | None = None) -> Answer:
        terms = set(tokenize(question))
        wants_reason = bool(re.match(r"\s*why\b", question, re.IGNORECASE))
        wants_fact = bool(_WANTS_FACT.search(question))
        candidates = sorted(
            self._candidates(terms, hits, wants_reason, wants_fact),
            key=lambda c: c.score,
            reverse=True,
        )
        if not candidates or not self._supported(terms, hits):
            closest = [
                citation_for(i + 1, h, h.start, h.start + len(h.text), h.text)
                for i, h in enumerate(hits[:3])
            ]
            return Answer(question, NOT_FOUND, False, passages=closest, answerer=self.name)
        chosen = self._choose(candidates)
        citations = [
            citation_for(i + 1, c.hit, c.start, c.end, c.text) for i, c in enumerate(chosen)
        ]
        text = " ".join(
            _sentence_with_marker(c, cite) for c, cite in zip(chosen, citations, strict=True)
        )
        return Answer(question, text, True, citations=citations, answerer=self.name)

    def _candidates(
        self, terms: set[str], hits: list[Hit], wants_reason: bool = False, wants_fact: bool = False
    ) -> list[_Candidate]:
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values()) or 1.0
        out = []
        for rank, hit in enumerate(hits):
            for a, b in sentence_spans(hit.text):
                sentence = hit.text[a:b]
                if len(sentence) < 20 or POST_ATTRIBUTION.match(sentence):
                    continue
                if _QUESTION_END.search(sentence) and not _novelty(sentence, terms):
                    continue  # a question that brings nothing new (quiz pages repeat the one asked)
                found = terms & set(tokenize(sentence))
                overlap = sum(weights[t] for t in found) / total
                score = 0.55 * overlap + 0.35 * max(hit.dense, 0.0) + 0.10 / (rank + 1)
                if wants_reason and _REASON.search(sentence):
                    score += 0.25
                if wants_fact:
                    score += 0.15 * _novelty(sentence, terms)
                out.append(
                    _Candidate(rank, hit, hit.start + a, hit.start + b, sentence, score, overlap)
                )
        return out

    def _supported(self, terms: set[str], hits: list[Hit]) -> bool:
        """Do the passages cover the question? Both tests are needed: a topically close passage
        (similarity) that also holds most of the question's distinctive words (IDF-weighted
        coverage, counting the passage's headline and section). Thresholds were tuned on the
        RealTime QA dev split (docs/benchmarks.md)."""
        best_similarity = max((h.dense for h in hits), default=0.0)
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values()) or 1.0
        coverage = max(
            (sum(weights[t] for t in terms & _words(h)) / total for h in hits),
            default=0.0,
        )
        return best_similarity >= self.min_relevance and coverage >= self.min_coverage

    def _choose(self, candidates: list[_Candidate]) -> list[_Candidate]:
        best = candidates[0]
        chosen = [best]
        for c in candidates[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if c.score < 0.75 * best.score or c.overlap == 0:
                break
            if any(_same_span(c, o) or _similar(c.text, o.text) for o in chosen):
                continue
            chosen.append(c)
        return chosen


def _words(hit: Hit) -> set[str]:
    """The search words of a passage: its text with its headline and section, as it was found
    (a story titled "Americans move to Mexico City" covers "where are Americans moving?" even
    when its paragraphs only say "here")."""
    return set(tokenize(hit.passage.search_text))


def _novelty(sentence: str, terms: set[str]) -> float:
    """0..1: how much of what a "which/who/how many" question asks for the sentence brings —
    names and figures that the question does not already contain. A sentence that only restates
    the question scores 0."""
    novel = set()
    for word in _NAME_OR_FIGURE.findall(sentence):
        tokens = set(tokenize(word))
        if tokens and not tokens <= terms:
            novel.add(word.lower())
    return min(len(novel), 2) / 2


def _same_span(a: _Candidate, b: _Candidate) -> bool:
    return a.hit.article_id == b.hit.article_id and a.start < b.end and b.start < a.end


def _similar(a: str, b: str) -> bool:
    ta, tb = set(tokenize(a)), set(tokenize(b))
    return bool(ta and tb) and len(ta & tb) / min(len(ta), len(tb)) > 0.8


def _sentence_with_marker(candidate: _Candidate, citation: Citation) -> str:
    text = candidate.text.strip()
    if text.startswith(("- ", "* ", "• ")):
        text = text[2:]
    if citation.kind == "post":
        author = citation.post_author or "someone"
        date = candidate.hit.passage.post_date
        when = f" on {date}" if date else ""
        return f"A post by {author}{when}, quoted in the article, says: “{text}” [{citation.n}]"
    return f"{text} [{citation.n}]"
