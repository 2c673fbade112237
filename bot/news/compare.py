"""Where outlets differ: one story told by several outlets, claim by claim.

The story is found by searching the question (or headline) and taking the story of the best
passage (:mod:`bot.news.stories` groups the retrieved articles). Its most representative article
is the pivot: each of its sentences is matched, in every other outlet's article, to the sentence
that shares most of its content words (at least :data:`SAME_CLAIM` of them, the rule the
answers' conflict check uses: two reports of one claim share most words apart from the figures).

- A claim every outlet states, with no figure told differently, is "what all of them state"
  (each outlet's sentence is quoted).
- A figure or date (:func:`bot.answering.conflicts.figures`: a number with its unit, a month and
  day) that matched sentences give with different values, said about the same thing (the same
  unit and shared words around it), is a difference; every outlet's value is listed with its
  quote, also the ones that agree with each other.
- Who a claim is attributed to ("officials said", "according to the mayor's office") is compared
  the same way: different sources for one claim are a difference.
- Names (:func:`_names`: runs of capitalised words) that one outlet's sentence gives and the other
  outlet's whole article never mentions, while that outlet's sentence for the same claim gives a
  name the first article never mentions: the claim is told of a different person or place.

Every line is a quoted sentence with its citation; nothing is paraphrased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.answering.answer import Citation
from bot.answering.conflicts import SAME_CLAIM, Figure, figures
from bot.news.stories import (
    Story,
    StoryArticle,
    group_stories,
    read_articles,
)
from bot.settings import NewsSettings
from bot.text import plural
from index.search import HybridSearcher, tokenize
from index.sentences import sentence_spans

MAX_SHARED = 4
MAX_DIFFERENCES = 6
SEARCH_K = 24
_ATTRIBUTION = re.compile(
    r"according to (?P<after>[^,.;]{3,60})"
    r"|(?P<before>(?:[\w'’.-]+\s){0,4}[\w'’.-]+)\s+(?:said|says|told|announced|reported)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Sentence:
    article: StoryArticle
    start: int
    end: int
    words: frozenset[str]
    figures: tuple[Figure, ...]

    @property
    def text(self) -> str:
        return self.article.text[self.start : self.end]


@dataclass(frozen=True)
class Side:
    outlet: str
    value: str  # the figure, date or source as the outlet gives it
    citation: Citation

    def as_dict(self) -> dict[str, Any]:
        return {
            "outlet": self.outlet,
            "value": self.value,
            "citation": self.citation.n,
            "published": self.citation.published,
            "url": self.citation.url,
            "quote": self.citation.quote,
        }


@dataclass
class Difference:
    kind: str  # "figure" | "date" | "attribution" | "name"
    unit: str
    sides: list[Side] = field(default_factory=list)

    def label(self) -> str:
        values = " vs ".join(dict.fromkeys(s.value for s in self.sides))
        what = {"figure": "figures", "date": "dates", "attribution": "sources", "name": "names"}[
            self.kind
        ]
        return f"Different {what}: {values}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "unit": self.unit, "sides": [s.as_dict() for s in self.sides]}


@dataclass
class SharedClaim:
    quotes: list[Citation]
    outlets: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"outlets": self.outlets, "quotes": [c.n for c in self.quotes]}


@dataclass
class Comparison:
    query: str
    articles: list[StoryArticle] = field(default_factory=list)
    shared: list[SharedClaim] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    note: str = ""

    @property
    def outlets(self) -> list[str]:
        return list(dict.fromkeys(o for a in self.articles for o in a.outlets[:1]))

    def headline(self) -> str:
        if not self.articles:
            return f"No indexed story matches “{self.query}”."
        n = len(self.outlets)
        return f"{self.articles[0].title} — {plural(n, 'outlet')}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "headline": self.articles[0].title if self.articles else None,
            "outlets": self.outlets,
            "articles": [
                {"outlet": a.outlets[0], "title": a.title, "url": a.url, "published": a.published}
                for a in self.articles
            ],
            "shared": [s.as_dict() for s in self.shared],
            "differences": [d.as_dict() for d in self.differences],
            "citations": [c.as_dict() for c in self.citations],
            "note": self.note or None,
        }


def find_story(searcher: HybridSearcher, settings: NewsSettings, query: str) -> Story | None:
    """The story of the best passage for ``query``, grouped from the retrieved articles."""
    hits = searcher.search(query, SEARCH_K).hits
    if not hits:
        return None
    store = searcher.store
    meta = store.meta()
    if meta is None:
        return None
    wanted = list(dict.fromkeys(h.article_id for h in hits))
    manifest = store.manifest(meta.generation)
    records = [manifest[i] for i in wanted if i in manifest]
    articles = read_articles(store, meta, records)
    stories = group_stories(articles, settings.story_similarity, settings.story_days_apart)
    top = hits[0].article_id
    return next((s for s in stories if any(a.id == top for a in s.articles)), None)


def compare_story(query: str, story: Story | None) -> Comparison:
    comparison = Comparison(query)
    if story is None:
        return comparison
    comparison.articles = _one_per_outlet(story.articles)
    if len(comparison.articles) < 2:
        comparison.note = "Only one outlet carries this story in the index: nothing to compare."
        return comparison
    _Comparer(comparison).run()
    return comparison


def _one_per_outlet(articles: list[StoryArticle]) -> list[StoryArticle]:
    """The representative article of each outlet (copies at other addresses add nothing)."""
    seen: set[str] = set()
    kept = []
    for article in articles:
        name = article.outlets[0]
        if name not in seen:
            seen.add(name)
            kept.append(article)
    return kept


class _Comparer:
    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.cited: dict[tuple[str, int], Citation] = {}
        self.sentences = {a.id: _sentences(a) for a in comparison.articles}

    def cite(self, s: Sentence) -> Citation:
        key = (s.article.id, s.start)
        if key not in self.cited:
            citation = s.article.citation(len(self.cited) + 1, s.start, s.end)
            self.cited[key] = citation
            self.comparison.citations.append(citation)
        return self.cited[key]

    def run(self) -> None:
        pivot, *others = self.comparison.articles
        shared: list[tuple[float, list[Sentence]]] = []
        for mine in self.sentences[pivot.id]:
            matched = [m for m in (self._match(mine, o) for o in others) if m is not None]
            differences = self._differences(mine, [m for m, _ in matched])
            if differences:
                self._add_differences(differences)
            elif len(matched) == len(others) and len(mine.words) >= 4:
                shared.append(
                    (min(score for _, score in matched), [mine, *(m for m, _ in matched)])
                )
        shared.sort(key=lambda item: -item[0])
        for _, group in shared[:MAX_SHARED]:
            self.comparison.shared.append(
                SharedClaim([self.cite(s) for s in group], [s.article.outlets[0] for s in group])
            )

    def _match(self, mine: Sentence, other: StoryArticle) -> tuple[Sentence, float] | None:
        best: tuple[Sentence, float] | None = None
        for theirs in self.sentences[other.id]:
            score = len(mine.words & theirs.words) / max(1, len(mine.words | theirs.words))
            if score >= SAME_CLAIM and (best is None or score > best[1]):
                best = (theirs, score)
        return best

    def _differences(self, mine: Sentence, matched: list[Sentence]) -> list[Difference]:
        found = []
        for figure in mine.figures:
            sides = [(mine, figure)]
            for theirs in matched:
                same = next((f for f in theirs.figures if _same_thing(figure, f)), None)
                if same is not None:
                    sides.append((theirs, same))
            if any(figure.differs(f) for _, f in sides[1:]):
                kind = "date" if figure.kind == "date" else "figure"
                found.append(Difference(kind, figure.unit, self._sides(sides)))
        said = _attribution(mine.text)
        if said:
            sides_said = [(mine, said)]
            for theirs in matched:
                other = _attribution(theirs.text)
                if other:
                    sides_said.append((theirs, other))
            if len({_key(v) for _, v in sides_said}) > 1:
                found.append(
                    Difference(
                        "attribution",
                        "source",
                        [Side(s.article.outlets[0], v, self.cite(s)) for s, v in sides_said],
                    )
                )
        named = self._named_differently(mine, matched)
        if named is not None:
            found.append(named)
        return found

    def _named_differently(self, mine: Sentence, matched: list[Sentence]) -> Difference | None:
        """The same claim told of different names: each side names someone or somewhere the
        other outlet's article never mentions (a name one outlet merely adds is not a dispute)."""
        sides: list[tuple[Sentence, str]] = []
        own: list[str] = []
        for theirs in matched:
            mine_only = _names_missing_from(mine.text, theirs.article.text)
            theirs_only = _names_missing_from(theirs.text, mine.article.text)
            if mine_only and theirs_only:
                own = own or mine_only
                sides.append((theirs, ", ".join(theirs_only)))
        if not sides:
            return None
        every = [(mine, ", ".join(own)), *sides]
        return Difference(
            "name", "name", [Side(s.article.outlets[0], v, self.cite(s)) for s, v in every]
        )

    def _sides(self, sides: list[tuple[Sentence, Figure]]) -> list[Side]:
        return [Side(s.article.outlets[0], f.text, self.cite(s)) for s, f in sides]

    def _add_differences(self, differences: list[Difference]) -> None:
        for difference in differences:
            if len(self.comparison.differences) < MAX_DIFFERENCES:
                self.comparison.differences.append(difference)


def _sentences(article: StoryArticle) -> list[Sentence]:
    found = []
    for a, b in sentence_spans(article.text):
        text = article.text[a:b]
        words = frozenset(w for w in tokenize(text) if not w.isdigit())
        found.append(Sentence(article, a, b, words, tuple(figures(text))))
    return found


def _same_thing(a: Figure, b: Figure) -> bool:
    """The same kind of figure said about the same thing: same unit, words around it shared
    (two for dates, as in the answers' conflict check: a sentence often holds several dates)."""
    if a.kind != b.kind or a.unit != b.unit:
        return False
    return len(a.context & b.context) >= (2 if a.kind == "date" else 1)


def _attribution(sentence: str) -> str | None:
    """Who the sentence says the claim comes from, as written ("officials", "the mayor's office")."""
    m = _ATTRIBUTION.search(sentence)
    if not m:
        return None
    who = (m.group("after") or m.group("before") or "").strip()
    if m.group("before") and who.split()[-1].lower() in _CONJUNCTIONS:
        # "… promised funds for the province and said …": the one who says is the sentence's
        # subject, named earlier; the words before "and" are what was said or done, not a source
        return None
    return who or None


_CONJUNCTIONS = frozenset("and but or then also".split())


_NAME_RUN = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:of\s+|de\s+)?[A-Z][\w'’-]*)*")


def _names(sentence: str) -> list[str]:
    """Runs of capitalised words ("Saltbridge", "Elena Varga", "Bank of England"). A single word
    opening the sentence is left out: capitalised by position, not by being a name."""
    found = []
    for m in _NAME_RUN.finditer(sentence):
        if m.start() == len(sentence) - len(sentence.lstrip()) and " " not in m.group(0):
            continue
        found.append(m.group(0))
    return found


def _names_missing_from(sentence: str, article: str) -> list[str]:
    """The sentence's names that the other article never mentions (compared case-blind)."""
    other = article.lower()
    return [n for n in dict.fromkeys(_names(sentence)) if n.lower() not in other]


def _key(who: str) -> frozenset[str]:
    return frozenset(tokenize(who))
