"""The short answer: one span, quoted verbatim, that answers a fact question.

For a question that asks for a name, place, number, amount, date or duration
(:mod:`bot.answering.answer_type`), every span of that kind in the answering sentences is a candidate. A
span's support is the sum, over the sentences that hold it, of the sentence's score, weighted by
where it stands: a name that opens the sentence is its subject (the team that won, the country
that voted), a name elsewhere an object or a detail, and of several figures the first is the one
the sentence is about; a place after "in/at/to/from" is a place rather than an organisation; and
a span beside a word of the question is in apposition to what the question describes ("cartel
leader Rafael Caro Quintero"). Support from several sentences and articles adds up, so passages
that agree outweigh one that does not.

When the question names the class of its answer ("which national park", "which broadcaster")
and an embedder is given, each span's support is weighted by how well it fits that class: the
cosine of the span and the class phrase (MiniLM knows that "Saudi Arabia" is a country more
than "Riyadh" is, and "Yellowstone" a national park more than "Montana").

A single capitalised word that the passages also write in lower case is an ordinary word
capitalised as a title or in a title ("The President", "The Call to Lead"), not a name.

A question that asks for several things ("which two countries", "which teams",
:attr:`Asked.plural`) is answered by the list its best span stands in ("Finland and Sweden"):
the list's members are not rivals, and the list is quoted whole.

There is a short answer only when one span is clearly ahead: its support is at least
:data:`CLEAR_MARGIN` times the next one's. Otherwise the best sentence is shown alone; two
candidates are never hedged together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bot.answering.answer_type import NAME, PLACE, Asked, Span
from index.search import tokenize

if TYPE_CHECKING:
    from bot.answering.answer import Candidate

CLEAR_MARGIN = 1.5  # the best span's support over the next one's
NEAR_BEST = 0.8  # sentences scoring this close to the best one may give support
LATER_SPAN = 0.5  # weight of a name not in subject position, of a figure not the first
BESIDE_QUESTION = 1.5  # weight of a span beside a word of the question


@dataclass(frozen=True)
class Pick:
    span: Span  # offsets into ``sentence.text``
    sentence: Candidate
    support: float


def _next_to(sentence: str, span: Span, terms: set[str]) -> bool:
    """Is the span beside one of the question's words ("cartel leader Rafael Caro Quintero",
    "29 on board")? Apposition is how news names the thing a question describes."""
    before = tokenize(" ".join(sentence[: span.start].split()[-2:]))
    after = tokenize(" ".join(sentence[span.end :].split()[:2]))
    return bool(terms & {*before, *after})


def ordinary_words(candidates: list[Candidate]) -> set[str]:
    """The words the candidates' passages write in lower case."""
    return lower_case_words({id(c.hit): c.hit.text for c in candidates}.values())


def is_ordinary_word(span: Span, ordinary: set[str]) -> bool:
    """One capitalised word that the passages also write in lower case (``ordinary``) is an
    ordinary word capitalised as a title or to open a sentence ("The President…", "More
    boycotts…"), not a name."""
    return " " not in span.text and span.text.lower() in ordinary


def lower_case_words(texts: Iterable[str]) -> set[str]:
    """The words ``texts`` write in lower case (ordinary words, not names)."""
    return {w for text in texts for w in _LOWER_WORD.findall(text)}


_LOWER_WORD = re.compile(r"(?<![\w’'-])[a-z][a-z’'-]*[a-z]")


def _class_fit(
    keys: dict[tuple[str, ...], str], phrase: str, embed: Callable[[list[str]], np.ndarray]
) -> dict[tuple[str, ...], float]:
    """How well each span (its text) fits the class the question names: cosine with the
    class phrase, at least 0."""
    texts = list(keys.values())
    vectors = embed([phrase, *texts])
    fits = np.clip(vectors[1:] @ vectors[0], 0.0, 1.0)
    return {key: float(fit) for key, fit in zip(keys, fits, strict=True)}


def pick_short_answer(
    candidates: list[Candidate],
    asked: Asked,
    terms: set[str] | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
) -> Pick | None:
    """The clearly best-supported span among ``candidates`` (best first), or None."""
    if not asked.is_fact or not candidates:
        return None
    top = candidates[0].score
    terms = terms or set()
    ordinary = ordinary_words(candidates) if asked.kind in (NAME, PLACE) else set()
    support: dict[tuple[str, ...], float] = {}
    where: dict[tuple[str, ...], tuple[Span, Candidate]] = {}
    confirmed: set[tuple[str, ...]] = set()  # seen at least once other than opening a sentence
    said: set[str] = set()  # a sentence printed twice (a syndicated copy) agrees with nothing new
    for c in candidates:
        if c.score < NEAR_BEST * top:
            break
        if (text := " ".join(c.text.lower().split())) in said:
            continue
        said.add(text)
        for i, span in enumerate(c.spans):
            if is_ordinary_word(span, ordinary):
                continue  # "The President said…": a title, not a name
            key = _key(span)
            if asked.kind in (NAME, PLACE):  # the sentence's subject, or something else in it
                weight = 1.0 if span.subject else LATER_SPAN
            else:
                weight = 1.0 if i == 0 else LATER_SPAN
            if asked.kind == PLACE and span.lead:
                weight = max(weight, 1.0)
            if _next_to(c.text, span, terms):
                weight *= BESIDE_QUESTION
            support[key] = support.get(key, 0.0) + weight * c.score
            if not span.initial:
                confirmed.add(key)
            if key not in where:
                where[key] = (span, c)  # the best-scored sentence holding it
    # one capitalised word that only ever opens a sentence may be an ordinary word ("Dangerous
    # flooding hit…"): it is a name when some passage writes it so mid-sentence
    support = {k: v for k, v in support.items() if k in confirmed}
    if not support:
        return None
    # a name's shorter form ("Sheinbaum") supports its full form ("Claudia Sheinbaum")
    merged = {
        key: value + sum(v for k, v in support.items() if k != key and set(k) < set(key))
        for key, value in support.items()
    }
    if embed is not None and asked.phrase and asked.kind in (NAME, PLACE):
        fit = _class_fit({k: where[k][0].text for k in merged}, asked.phrase, embed)
        merged = {k: v * fit[k] for k, v in merged.items()}
    best_key = max(merged, key=lambda k: (merged[k], len(k)))
    span, sentence = where[best_key]
    members = _its_list(span, sentence) if asked.plural else [span]
    allies = {_key(m) for m in members}
    rivals = [
        v
        for k, v in merged.items()
        if k not in allies and not (set(k) <= set(best_key) or set(best_key) <= set(k))
    ]
    if rivals and merged[best_key] < CLEAR_MARGIN * max(rivals):
        return None
    if len(members) > 1:  # "Which two countries…": the list, quoted whole
        first, last = members[0], members[-1]
        text = sentence.text[first.start : last.end]
        span = Span(text, first.start, last.end, span.kind, first.lead, False, first.subject)
    return Pick(span, sentence, merged[best_key])


def _key(span: Span) -> tuple[str, ...]:
    """What identifies a span's answer: its tokens ("the Aces" and "Aces" are one)."""
    return tuple(tokenize(span.text)) or (span.text.lower(),)


# what joins the members of a list in a sentence: "A, B and C", "A and B", "A & B", "A, B, or
# C", and "the A and the B" (the span of a name leaves its article out)
_JOINER = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:and|or|&)\s)\s*(?:the\s+)?")


def _its_list(span: Span, sentence: Candidate) -> list[Span]:
    """The spans listed with ``span`` in its sentence ("Finland and Sweden"), in order; a
    question asking for several things ("which two countries") is answered by the list."""
    spans = sentence.spans  # in order of position (spans_of), ``span`` among them
    first = last = spans.index(span)
    while first > 0 and _JOINER.fullmatch(sentence.text[spans[first - 1].end : spans[first].start]):
        first -= 1
    while last + 1 < len(spans) and _JOINER.fullmatch(
        sentence.text[spans[last].end : spans[last + 1].start]
    ):
        last += 1
    return list(spans[first : last + 1])
