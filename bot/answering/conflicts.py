"""When the cited articles disagree on a figure or a date, show both sides instead of blending them.

Numbers and dates can be compared reliably, so those are what is checked. Each figure in a cited
sentence is read with its unit ("12 people", "$3.5 billion", "45%", "March 3") and the words around
it. A sentence of another retrieved article that gives the same kind of figure (same unit, shared
words nearby, about the question) with a different value is a disagreement: that sentence is
cited too, and the answer says, with each side's source and date, that the articles differ.
Both sentences must share many of their words apart from the figures (see SAME_CLAIM): numbers in
sentences about different things (a price last month and one today) are not a disagreement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.answering.answer import Answer, Citation, citation_for
from bot.answering.recency import MONTHS, DateWindow
from index.search import Hit, tokenize
from index.sentences import sentence_spans

MAX_DISAGREEMENTS = 2
COMPARE_HINT = "(/compare, or `newsbot compare`, shows what each outlet says.)"
SAME_CLAIM = 0.35  # share of content words two sentences need to be reports of one claim
_WORD_NUMBERS = {
    w: n
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
    if n >= 2
}
_SCALES = {"thousand": 1e3, "million": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_CURRENCY_WORDS = {"dollar": "$", "dollars": "$", "euro": "€", "euros": "€", "pound": "£"}
_CURRENCY_WORDS |= {"pounds": "£", "yen": "¥"}
_NUMBER = re.compile(
    r"(?<![\w.,-])(?P<cur>[$€£¥]\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|"
    + "|".join(_WORD_NUMBERS)
    + r")(?![\w-]|[.,]\d)"
    r"(?:\s?(?P<scale>thousand|million|billion|trillion|bn|mn)\b)?"
    r"(?:\s?(?P<pct>%|percent\b|per\s+cent\b))?",
    re.IGNORECASE,
)
_MONTH = "|".join(MONTHS)
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
_DATES = (
    re.compile(rf"\b(?P<month>{_MONTH})\s+{_DAY}\b{_YEAR}", re.IGNORECASE),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?(?P<month>{_MONTH})\b{_YEAR}", re.IGNORECASE),
)
_NEXT_WORD = re.compile(r"\s+(?:of\s+)?([A-Za-z][A-Za-z']+)")


@dataclass(frozen=True)
class Figure:
    """A number or date in a sentence, with its unit and the words around it."""

    kind: str  # "number" | "date"
    value: Any  # float, or (month, day, year | None)
    unit: str
    text: str
    context: frozenset[str]

    def differs(self, other: Figure) -> bool:
        if self.kind != other.kind or self.unit != other.unit:
            return False
        if self.kind == "date":
            (m1, d1, y1), (m2, d2, y2) = self.value, other.value
            return (m1, d1) != (m2, d2) or (y1 is not None and y2 is not None and y1 != y2)
        a, b = float(self.value), float(other.value)
        return abs(a - b) > 0.01 * max(abs(a), abs(b))


@dataclass(frozen=True)
class Side:
    figure: str
    citation: int
    title: str
    published: str | None
    url: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "citation": self.citation,
            "title": self.title,
            "published": self.published,
            "url": self.url,
        }

    def describe(self) -> str:
        when = f", {self.published}" if self.published else ""
        return f"“{self.figure}” [{self.citation}] ({self.title}{when})"


@dataclass
class Disagreement:
    kind: str
    unit: str
    sides: list[Side] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "unit": self.unit, "sides": [s.as_dict() for s in self.sides]}

    def sentence(self) -> str:
        what = "dates" if self.kind == "date" else "figures"
        return (
            f"The sources give different {what}: "
            + " vs ".join(s.describe() for s in self.sides)
            + "."
        )


def figures(sentence: str) -> list[Figure]:
    """The numbers with a unit, and the dates, in one sentence."""
    found: list[Figure] = []
    taken: list[tuple[int, int]] = []
    for pattern in _DATES:
        for m in pattern.finditer(sentence):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            day = int(m.group("day"))
            if not 1 <= day <= 31:
                continue
            year = int(m.group("year")) if m.group("year") else None
            value = (MONTHS[m.group("month").lower()], day, year)
            found.append(
                Figure("date", value, "date", m.group(0), _context(sentence, m.start(), m.end()))
            )
    for m in _NUMBER.finditer(sentence):
        if any(a < m.end() and m.start() < b for a, b in taken):
            continue
        figure = _number(sentence, m)
        if figure is not None:
            found.append(figure)
    return found


def _number(sentence: str, m: re.Match[str]) -> Figure | None:
    raw = m.group("num").lower()
    value = float(_WORD_NUMBERS[raw]) if raw in _WORD_NUMBERS else float(raw.replace(",", ""))
    scale = (m.group("scale") or "").lower()
    value *= _SCALES.get(scale, 1.0)
    end = m.end()
    unit = ""
    if m.group("pct"):
        unit = "%"
    elif m.group("cur"):
        unit = m.group("cur").strip()
    else:
        after = _NEXT_WORD.match(sentence, end)
        if after:
            word = after.group(1).lower()
            unit = _CURRENCY_WORDS.get(word) or "".join(tokenize(word))
            end = after.end()
    if not unit:
        return None  # a bare number ("in 2024", "one of …") says nothing comparable
    if (
        not (m.group("cur") or scale or m.group("pct"))
        and value.is_integer()
        and 1800 <= value <= 2100
    ):
        return None  # a year
    text = sentence[m.start() : end].strip()
    return Figure("number", value, unit, text, _context(sentence, m.start(), end) - {unit})


def _context(sentence: str, start: int, end: int, width: int = 5) -> frozenset[str]:
    """Content words within ``width`` words either side of a figure."""
    before = sentence[:start].split()[-width:]
    after = sentence[end:].split()[:width]
    words = [w for w in tokenize(" ".join([*before, *after])) if not w.isdigit()]
    return frozenset(w for w in words if w not in _WORD_NUMBERS)


def _conflict(a: Figure, b: Figure) -> bool:
    """Different values of the same kind of figure said about the same thing. Dates need more
    shared words than numbers: a sentence often holds several dates of different events."""
    shared = len(a.context & b.context)
    return a.differs(b) and shared >= (2 if a.kind == "date" else 1)


def find_disagreements(answer: Answer, hits: list[Hit]) -> list[Disagreement]:
    """Disagreements between the answer's cited articles and the other retrieved ones.

    The other side's sentence is added to ``answer.citations``; the answer text is not changed."""
    if not answer.found or not answer.citations:
        return []
    terms = set(tokenize(answer.question))
    found: list[Disagreement] = []
    pairs: set[tuple[str, str, str]] = set()
    for cited in list(answer.citations):
        own_overlap = len(terms & set(tokenize(cited.quote)))
        for mine in figures(cited.quote):
            other = _other_side(mine, cited, hits, terms, max(1, own_overlap // 2))
            if other is None:
                continue
            hit, start, end, sentence, theirs = other
            key = (cited.article_id, hit.article_id, mine.unit)
            if key in pairs or (key[1], key[0], key[2]) in pairs:
                continue
            pairs.add(key)
            second = _cite(answer, hit, start, end, sentence)
            found.append(
                Disagreement(
                    mine.kind,
                    mine.unit,
                    [_side(mine, cited), _side(theirs, second)],
                )
            )
            if len(found) >= MAX_DISAGREEMENTS:
                return found
    return found


def _words(sentence: str) -> set[str]:
    """The sentence's content words, without the figures (what two reports of a claim share)."""
    return {w for w in tokenize(sentence) if not w.isdigit() and w not in _WORD_NUMBERS}


def _other_side(
    mine: Figure, cited: Citation, hits: list[Hit], terms: set[str], min_overlap: int
) -> tuple[Hit, int, int, str, Figure] | None:
    """The sentence of another article that states the cited claim with a different figure: it
    shares many of its words (``SAME_CLAIM``) and is about the question."""
    own = _words(cited.quote)
    best: tuple[float, tuple[Hit, int, int, str, Figure]] | None = None
    for hit in hits:
        if hit.article_id == cited.article_id:
            continue
        for a, b in sentence_spans(hit.text):
            sentence = hit.text[a:b]
            words = _words(sentence)
            same = len(own & words) / max(1, len(own | words))
            if same < SAME_CLAIM or len(terms & words) < min_overlap:
                continue
            for theirs in figures(sentence):
                if _conflict(mine, theirs) and (best is None or same > best[0]):
                    best = (same, (hit, hit.start + a, hit.start + b, sentence, theirs))
    return best[1] if best else None


def _cite(answer: Answer, hit: Hit, start: int, end: int, sentence: str) -> Citation:
    for c in answer.citations:
        if c.article_id == hit.article_id and c.start < end and start < c.end:
            return c
    lead = len(sentence) - len(sentence.lstrip())
    quote = sentence.strip()
    start += lead  # the quote is exactly article.text[start:end]
    citation = citation_for(len(answer.citations) + 1, hit, start, start + len(quote), quote)
    answer.citations.append(citation)
    return citation


def _side(figure: Figure, citation: Citation) -> Side:
    return Side(figure.text, citation.n, citation.title, citation.published, citation.url)


def newest_date(citations: list[Citation]) -> str | None:
    dates = [c.published for c in citations if c.published]
    return max(dates) if dates else None


def annotate_dates(answer: Answer, window: DateWindow | None, hits: list[Hit]) -> Answer:
    """Say how fresh the answer is, show disagreeing sources, and name an empty date window."""
    answer.window = window.as_dict() if window else None
    if answer.found:
        disagreements = find_disagreements(answer, hits)
        if disagreements:
            answer.disagreements = [d.as_dict() for d in disagreements]
            answer.answer += "\n" + " ".join(d.sentence() for d in disagreements)
            answer.answer += " " + COMPARE_HINT
        answer.as_of = newest_date(answer.citations)
    elif window is not None and window.strict and window.restricts:
        answer.answer = f"The indexed articles {window.describe()} do not cover this question."
    return answer
