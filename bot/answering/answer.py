"""Answers and their citations, and the default answerer: extractive, grounded, no language model.

The extractive answerer picks the sentences of the retrieved passages that best answer the question
and cites each one with the exact span of the article it was taken from. When the passages do not
support an answer it says so and shows the closest passages instead.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from bot.answering.answer_type import (
    FIGURE_KINDS,
    NAME,
    PLACE,
    POSSESSIVE_END,
    Asked,
    Span,
    asked_for,
    describes,
    spans_of,
)
from bot.answering.followup import Turn, standalone_query
from bot.answering.short_answer import (
    is_ordinary_word,
    lower_case_words,
    ordinary_words,
    pick_short_answer,
)
from index.search import Hit, tokenize
from index.sentences import sentence_spans
from index.structure import POST_ATTRIBUTION, furniture_spans

Embed = Callable[[list[str]], np.ndarray]  # normalised vectors, one row per text
RANKED = 8  # candidates re-scored with the embedder (the rest are far behind on words)


class SentenceVectors:
    """The embedder, with the vectors of recent sentences kept: questions about one story meet
    the same sentences again (a bot in a channel, a REPL session)."""

    def __init__(self, embed: Embed, size: int = 4096) -> None:
        self._embed = embed
        self._size = size
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = {t: self._kept[t] for t in texts if t in self._kept}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self._embed(missing), strict=True))
        with self._lock:
            for text, vector in known.items():
                self._kept[text] = vector
                self._kept.move_to_end(text)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return np.stack([known[t] for t in texts])

    def keep(self, text: str, vector: np.ndarray) -> None:
        """Remember a vector made elsewhere with the same embedder (the search's query)."""
        with self._lock:
            self._kept[text] = vector
            self._kept.move_to_end(text)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)


NOT_FOUND = "The indexed articles do not cover this question."
OnText = Callable[[str], None]  # called with the answer text so far
# Words that introduce a reason: for "why" questions a sentence that gives one is the better answer.
_REASON = re.compile(
    r"\b(because|citing|cited|due to|since|so that|as a result|in order to|over concerns?|"
    r"emphasi[sz]ing|saying|argu(?:ed|ing)|reason)\b",
    re.IGNORECASE,
)


# A sentence that opens with a pronoun leans on the sentence before it for its subject.
_DANGLING = re.compile(r"^[\W_]*(?:she|he|they|it|this|these|those|that)\b", re.IGNORECASE)
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


@dataclass(frozen=True)
class SourcePassage:
    """A citation with the whole passage it quotes from (``:sources``, ``/sources``): what a
    reader opens to see a quote in its context. ``text`` is the passage, or the quote alone when
    its passage is no longer indexed; the quote stands at ``text[quote_start:quote_end]``."""

    citation: Citation
    text: str
    quote_start: int
    quote_end: int
    same_as: int | None = None  # the citation shown earlier that quotes the same passage

    @classmethod
    def of(cls, citation: Citation, passage: str | None, passage_start: int = 0) -> SourcePassage:
        """``passage`` starts at article offset ``passage_start``; a quote outside it (the
        passage was replaced) leaves the quote alone."""
        start, end = citation.start - passage_start, citation.end - passage_start
        if passage is None or start < 0 or passage[start:end] != citation.quote:
            return cls(citation, citation.quote, 0, len(citation.quote))
        return cls(citation, passage, start, end)

    @property
    def quote(self) -> str:
        return self.text[self.quote_start : self.quote_end]

    @property
    def parts(self) -> tuple[str, str, str]:
        """The passage around its quote, as shown: (before, quote, after); the quote alone when
        the passage is shown with citation ``same_as``."""
        if self.same_as is not None:
            return "", self.quote, ""
        return self.text[: self.quote_start], self.quote, self.text[self.quote_end :]

    def as_dict(self) -> dict[str, Any]:
        return {**self.citation.as_dict(), "passage": self.text, "same_as": self.same_as}


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
    short_answer: ShortAnswer | None = None  # the direct answer, the first line of ``answer``

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "found": self.found,
            "short_answer": self.short_answer.as_dict() if self.short_answer else None,
            "citations": [c.as_dict() for c in self.citations],
            "passages": [c.as_dict() for c in self.passages],
            "answerer": self.answerer,
            "query": self.query,
            "as_of": self.as_of,
            "window": self.window,
            "disagreements": self.disagreements,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


@runtime_checkable
class KnowsVectors(Protocol):
    """An answerer that embeds the question with the search's embedder, and can be handed the
    vector the search made of it (:attr:`index.hit.SearchResult.query_vector`)."""

    def know_vector(self, text: str, vector: np.ndarray) -> None: ...


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
class ShortAnswer:
    """The direct answer: a span quoted verbatim from citation ``n`` (article offsets)."""

    text: str
    n: int
    article_id: str
    start: int
    end: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage that might answer the question."""

    hit_rank: int
    hit: Hit
    start: int  # absolute offsets in the article
    end: int
    text: str
    score: float
    overlap: float  # IDF-weighted share of the question's words in the sentence
    context: float = 0.0  # the same, counting the passage's headline
    spans: tuple[Span, ...] = ()  # spans of the kind the question asks for
    new_words: int = 0  # content words the question does not contain
    similarity: float | None = None  # embedding cosine with the question
    named: float = 1.0  # share of the question's names in the sentence or its headline


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
    """Grounded answers made only of sentences quoted from the retrieved passages.

    Every sentence of the passages is a candidate, except page furniture (captions, bylines,
    calls to action: :func:`index.structure.furniture_spans`), embedded posts' attribution lines
    and sentences that only restate the question. The best candidates by words are scored by how
    well they answer (:meth:`_rank`): the embedding similarity of sentence and question, the
    question's distinctive words in the sentence, and, when the question asks for a name, place,
    figure or date, whether the sentence holds one the question does not. A sentence answers
    only when it holds the question's subject (its distinctive words, in the sentence or its
    headline) and something of the kind asked for; when none does, the question is not covered.
    For fact questions the answer opens with a short answer (:mod:`bot.answering.short_answer`).
    """

    name = "extractive"
    streams = False  # the answer comes whole

    def __init__(
        self,
        min_relevance: float = 0.35,
        max_sentences: int = 3,
        idf: Any = None,
        min_coverage: float = 0.35,
        embed: Embed | None = None,
        *,
        rerank: int = RANKED,
        short_answers: bool = True,
        sentence_test: bool = True,
    ) -> None:
        self.min_relevance = min_relevance
        self.min_coverage = min_coverage
        self.max_sentences = max_sentences
        self.idf = idf or (lambda token: 1.0)
        self.embed = SentenceVectors(embed) if embed is not None else None
        self.rerank = rerank
        self.short_answers = short_answers
        self.sentence_test = sentence_test

    def know_vector(self, text: str, vector: np.ndarray) -> None:
        """``vector`` is ``text``'s, from the embedder this answerer was given: the search's
        vector of the question, so re-ranking does not embed the question again."""
        if self.embed is not None:
            self.embed.keep(text, vector)

    def rewrite(self, question: str, history: Sequence[Turn] | None) -> str:
        """The rule of :func:`bot.answering.followup.standalone_query`: no model to ask."""
        return standalone_query(question, history)

    def answer(self, question: str, hits: list[Hit], on_text: OnText | None = None) -> Answer:
        terms = set(tokenize(question))
        asked = asked_for(question)
        found = self._candidates(terms, hits, asked, question_names(question))
        candidates = self._rank(question, terms, asked, found)
        answering = [c for c in candidates if self._answers(c, asked)]
        if not answering or not self._supported(terms, hits):
            closest = [
                citation_for(i + 1, h, h.start, h.start + len(h.text), h.text)
                for i, h in enumerate(hits[:3])
            ]
            return Answer(question, NOT_FOUND, False, passages=closest, answerer=self.name)
        short = (
            pick_short_answer(answering, asked, terms, self.embed) if self.short_answers else None
        )
        first = short.sentence if short else answering[0]
        chosen = self._choose(candidates, terms, first)
        citations = [
            citation_for(i + 1, c.hit, c.start, c.end, c.text) for i, c in enumerate(chosen)
        ]
        text = " ".join(
            _sentence_with_marker(c, cite) for c, cite in zip(chosen, citations, strict=True)
        )
        short_answer = None
        if short is not None:
            cite = citations[0]
            start = cite.start + short.span.start
            short_answer = ShortAnswer(
                short.span.text, cite.n, cite.article_id, start, start + len(short.span.text)
            )
            text = f"{short_answer.text} [{cite.n}]\n{text}"
        return Answer(
            question, text, True, citations=citations, answerer=self.name, short_answer=short_answer
        )

    def _candidates(
        self, terms: set[str], hits: list[Hit], asked: Asked, names: list[set[str]]
    ) -> list[Candidate]:
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values()) or 1.0
        kind = set(tokenize(asked.phrase))
        generic = set(tokenize(" ".join(lower_case_words(h.text for h in hits))))
        out = []
        for rank, hit in enumerate(hits):
            furniture = furniture_spans(hit.text)
            passage = _words(hit) if kind else set()  # only a name of the class asks for it
            title = set(  # what a reader reads the sentence under
                tokenize(f"{hit.passage.title}\n{hit.passage.section}")
            )
            before: set[str] = set()  # the sentence before, whose subject this one may continue
            for a, b in sentence_spans(hit.text):
                sentence = hit.text[a:b]
                previous, before = before, set(tokenize(sentence))
                if len(sentence) < 20 or POST_ATTRIBUTION.match(sentence):
                    continue
                if any(fa <= a and b <= fb for fa, fb, _ in furniture):
                    continue  # a caption, a byline, a call to action: not the story's prose
                tokens = set(tokenize(sentence))
                if _QUESTION_END.search(sentence) and not _novelty(sentence, terms):
                    continue  # a question that brings nothing new (quiz pages repeat the one asked)
                if not tokens - terms:
                    continue  # a restatement of the question brings nothing
                found = terms & tokens
                overlap = sum(weights[t] for t in found) / total
                context = sum(weights[t] for t in terms & (tokens | title)) / total
                # "The Aletsch glacier retreated… The glacier lost fifty metres": a name held by
                # the sentence before is still the subject
                seen = tokens | title | previous
                named = _named(names, seen, passage, kind, generic)
                spans = (
                    spans_of(sentence, asked.kind or "", terms, asked.phrase, asked.acronyms)
                    if asked.is_fact
                    else []
                )
                score = 0.55 * overlap + 0.35 * max(hit.dense, 0.0) + 0.10 / (rank + 1)
                if asked.kind == "reason" and _REASON.search(sentence):
                    score += 0.25
                if asked.is_fact:
                    score += 0.15 * (1.0 if spans else _novelty(sentence, terms) / 2)
                out.append(
                    Candidate(
                        rank,
                        hit,
                        hit.start + a,
                        hit.start + b,
                        sentence,
                        score,
                        overlap,
                        context=context,
                        spans=tuple(spans),
                        new_words=len(tokens - terms),
                        named=named,
                    )
                )
        return sorted(out, key=lambda c: c.score, reverse=True)

    def _rank(
        self, question: str, terms: set[str], asked: Asked, candidates: list[Candidate]
    ) -> list[Candidate]:
        """Re-score the best candidates by how well each answers: the embedding similarity of
        sentence and question joins the word scores (when an embedder is given)."""
        top = candidates[: max(self.rerank, 1)]
        if self.embed is None or not top:
            return sorted(top, key=lambda c: (_holds_kind(c, asked), c.score), reverse=True)
        vectors = self.embed([question, *(c.text for c in top)])
        similarity = vectors[1:] @ vectors[0]
        ordinary = ordinary_words(top) if asked.kind in (NAME, PLACE) else set()
        ranked = []
        for c, sim in zip(top, similarity, strict=True):
            score = 0.45 * float(sim) + 0.35 * c.overlap + 0.10 * max(c.hit.dense, 0.0)
            score += 0.05 / (c.hit_rank + 1)
            if asked.kind in (NAME, PLACE) and any(
                s.subject and not is_ordinary_word(s, ordinary) for s in c.spans
            ):
                score += 0.10  # what the question asks about is what the sentence is about
            if _DANGLING.match(c.text):
                score -= 0.10  # "She played…": its subject is in a sentence not quoted
            ranked.append(replace(c, score=score, similarity=float(sim)))
        # a sentence that holds what is asked for (a new name or figure, a reason) before one
        # that only restates the question's event, however many of its words it shares
        return sorted(ranked, key=lambda c: (_holds_kind(c, asked), c.score), reverse=True)

    def _answers(self, c: Candidate, asked: Asked) -> bool:
        """Does this sentence answer? It must be about the question and hold its subject, and
        hold something of the kind asked for.

        About the question: the sentence, or its passage, is topically close (embedding
        similarity at least ``min_relevance``). Its subject: the names the question asks about
        (at least half of them: "Canada" in "How many troops did Canada send?") and enough of
        its distinctive words, read with the passage's headline as a reader reads it. Words
        miss paraphrases ("on board" for "on the plane"), so the share of words found is
        averaged with the sentence's similarity to the question, as the verifier does
        (bot/verify.py), and compared with ``min_coverage``. Asked for: a figure or date the
        question does not hold, when it asks for one; new words, otherwise (a name or a reason
        may be told in words: "high-profile criminals")."""
        if not self.sentence_test:
            return True
        if c.named < 0.5 or c.context == 0:
            return False
        if c.similarity is None:
            support = c.context
        else:
            if max(c.similarity, c.hit.dense) < self.min_relevance:
                return False
            support = (c.context + c.similarity) / 2
        if support < self.min_coverage:
            return False
        if asked.kind in FIGURE_KINDS:
            return bool(c.spans)  # a figure or a date, or it does not answer
        return c.new_words >= 2  # names and reasons may be told in words ("criminals")

    def _supported(self, terms: set[str], hits: list[Hit]) -> bool:
        """The passage-level test, used when the sentence test is off (and without an embedder):
        a topically close passage that holds most of the question's distinctive words."""
        if self.sentence_test and self.embed is not None:
            return True  # judged sentence by sentence (:meth:`_answers`)
        best_similarity = max((h.dense for h in hits), default=0.0)
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values()) or 1.0
        coverage = max(
            (sum(weights[t] for t in terms & _words(h)) / total for h in hits),
            default=0.0,
        )
        return best_similarity >= self.min_relevance and coverage >= self.min_coverage

    def _choose(
        self, candidates: list[Candidate], terms: set[str], best: Candidate
    ) -> list[Candidate]:
        """The best answering sentence first (the one holding the short answer, when there is
        one), then at most ``max_sentences - 1`` more that score close to it and add something
        new."""
        chosen = [best]
        seen = terms | set(tokenize(best.text))
        for c in candidates:
            if len(chosen) >= self.max_sentences:
                break
            if c is best:
                continue
            if c.score < 0.75 * best.score or c.overlap == 0:
                continue
            if any(_same_span(c, o) or _similar(c.text, o.text) for o in chosen):
                continue
            new = set(tokenize(c.text)) - seen
            if len(new) < 2:
                continue  # adds nothing to what is already said
            chosen.append(c)
            seen |= new
        return chosen


def _holds_kind(c: Candidate, asked: Asked) -> bool:
    if asked.is_fact:
        return bool(c.spans)
    if asked.kind == "reason":
        return bool(_REASON.search(c.text))
    return True


def _named(
    names: list[set[str]], seen: set[str], passage: set[str], kind: set[str], generic: set[str]
) -> float:
    """The share of the question's names that a sentence holds (``seen``: with its headline and
    the sentence before).

    A name is held by its proper words: "Joe Biden" by "Biden", "Hart Trophy" by "Hart" and not
    by "trophy", a word the passages also write in lower case (``generic``); a name made only of
    such words ("Sky Eye") is held whole. A name inside the class the question asks for ("Which
    Ivy League school…", "Which Marvel star…") describes the answer's kind: the answering
    sentence names the answer itself ("Dartmouth College announced…"), so its passage holding
    a word of the name is enough."""
    if not names:
        return 1.0
    held = 0
    for name in names:
        if kind and name <= kind:
            held += bool(name & (passage | seen))
            continue
        proper = name - generic
        held += bool(proper & seen) if proper else name <= seen
    return held / len(names)


def question_names(question: str) -> list[set[str]]:
    """The names a question asks about, each as the set of its search words: its runs of
    capitalised words ("House Speaker Nancy Pelosi"), split after a possessive, except the first
    word of each of its sentences (capitalised because it opens the sentence), days and months,
    and abbreviations of two letters ("US" is written "U.S." as often)."""
    names: list[set[str]] = []
    for a, b in sentence_spans(question):
        sentence = question[a:b]
        opening = re.match(r"\W*\S+", sentence)
        skip = opening.end() if opening else 0
        for m in _NAME_RUN.finditer(sentence, skip):
            words = [w for w in m.group(0).split() if w.lower().strip(".,") not in _CALENDAR]
            for name in _split_possessive(words):
                if len(name) == 1 and describes(
                    name[0], sentence[m.end() :], sentence[: m.start()]
                ):
                    continue  # "British-Belgian teenager": it describes, it does not name
                tokens = set(tokenize(" ".join(name)))
                if tokens and len(re.sub(r"\W", "", " ".join(name))) > 2:
                    names.append(tokens)
    return names


def _split_possessive(words: list[str]) -> list[list[str]]:
    """A run of capitalised words split after each possessive: "NHL’s Hart Trophy" names the
    NHL and the Hart Trophy, two names, each counted in the share a sentence holds
    (:func:`_named`)."""
    names: list[list[str]] = [[]]
    for word in words:
        names[-1].append(word)
        if POSSESSIVE_END.search(word):
            names.append([])
    return [n for n in names if n]


_NAME_RUN = re.compile(r"[A-Z][\w’'&.-]*(?:\s+[A-Z][\w’'&.-]*)*")
_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may "
    "june july august september october november december".split()
)


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


def _same_span(a: Candidate, b: Candidate) -> bool:
    return a.hit.article_id == b.hit.article_id and a.start < b.end and b.start < a.end


def _similar(a: str, b: str) -> bool:
    ta, tb = set(tokenize(a)), set(tokenize(b))
    return bool(ta and tb) and len(ta & tb) / min(len(ta), len(tb)) > 0.8


def _sentence_with_marker(candidate: Candidate, citation: Citation) -> str:
    text = candidate.text.strip()
    if text.startswith(("- ", "* ", "• ")):
        text = text[2:]
    if citation.kind == "post":
        author = citation.post_author or "someone"
        date = candidate.hit.passage.post_date
        when = f" on {date}" if date else ""
        return f"A post by {author}{when}, quoted in the article, says: “{text}” [{citation.n}]"
    return f"{text} [{citation.n}]"
