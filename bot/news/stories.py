"""Stories: the indexed articles that tell one event, read from the store and grouped.

What the store records is the source of truth: the manifest row of each article (its title,
addresses, publication date and when it was first indexed, ``indexed``), its cleaned text, and its
chunks with their vectors. Nothing here reads the searcher's in-memory state, so it works the same
whichever process indexed the articles and with the embedded store or a Chroma server.

Two articles are one story when

- they are copies: they share an address, or their texts are near-duplicates by MinHash
  (:mod:`index.dedupe`, the signals the intake already merges copies by); or
- they are related coverage: their embeddings (the mean of their chunks' vectors) are at least
  NEWSBOT_STORY_SIMILARITY alike and their dates at most NEWSBOT_STORY_DAYS_APART apart (one event
  is reported within days; a story on the same topic months later is another story).

Grouping is transitive (single link), as wire copies of one report usually are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from urllib.parse import urlsplit

import numpy as np

from bot.answering.answer import Citation
from index.dedupe import DEFAULT_THRESHOLD, minhash, similarity, url_key
from index.passage import Passage, chunk_id
from index.sentences import sentence_spans
from index.store import ArticleRecord, IndexMeta, Store

MIN_LEAD_WORDS = 6  # a lead sentence, not a dateline or a caption
LEAD_CHARS = 320  # a second lead sentence only while both stay this short


@dataclass
class StoryArticle:
    """One indexed article with what grouping and quoting need."""

    record: ArticleRecord
    text: str
    passages: list[Passage]
    vectors: np.ndarray | None  # one row per chunk (in ``passages`` order), as stored

    @cached_property
    def vector(self) -> np.ndarray | None:
        """The article's direction: the mean of its chunks' vectors, normalised."""
        if self.vectors is None:
            return None
        mean = np.mean(self.vectors, axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm else None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def title(self) -> str:
        return self.record.title or "(untitled)"

    @property
    def url(self) -> str | None:
        return self.record.url or None

    @property
    def urls(self) -> list[str]:
        other = self.passages[0].other_urls if self.passages else ()
        return [u for u in dict.fromkeys([self.record.url, *other]) if u]

    @property
    def published(self) -> str | None:
        return self.record.published or None

    @property
    def arrived(self) -> str:
        return self.record.indexed

    @property
    def outlets(self) -> list[str]:
        """The sites that carry it (a copy at another address is another outlet)."""
        found = [outlet(u) for u in self.urls]
        return list(dict.fromkeys(found)) or [outlet(None, self.record.source)]

    def day(self) -> date | None:
        raw = self.published or self.arrived[:10]
        try:
            return date.fromisoformat(raw[:10]) if raw else None
        except ValueError:
            return None

    def citation(self, n: int, start: int, end: int) -> Citation:
        """A citation of exactly ``text[start:end]``, with the chunk that holds it."""
        holder = next((p for p in self.passages if p.start <= start < p.end), None)
        return Citation(
            n=n,
            article_id=self.id,
            title=self.title,
            url=self.url,
            published=self.published,
            section=holder.section if holder else "",
            quote=self.text[start:end],
            start=start,
            end=end,
            chunk_id=holder.chunk_id if holder else "",
            other_urls=tuple(u for u in self.urls if u != self.url),
        )

    def lead(self) -> list[tuple[int, int]]:
        """The first one or two sentences that report something: by news convention the lead
        says what happened. Spans of ``text``."""
        spans = [
            (a, b)
            for a, b in sentence_spans(self.text)
            if len(self.text[a:b].split()) >= MIN_LEAD_WORDS
            and self.text[a:b].strip() != self.record.title.strip()
        ]
        if not spans:
            whole = sentence_spans(self.text)
            return whole[:1]
        chosen = spans[:1]
        if len(spans) > 1 and spans[1][1] - spans[0][0] <= LEAD_CHARS:
            chosen.append(spans[1])
        return chosen


@dataclass
class Story:
    """Articles telling one event; ``articles[0]`` is the most representative."""

    articles: list[StoryArticle] = field(default_factory=list)

    @property
    def lead(self) -> StoryArticle:
        return self.articles[0]

    @property
    def outlets(self) -> list[str]:
        return list(dict.fromkeys(o for a in self.articles for o in a.outlets))

    @property
    def last_arrived(self) -> str:
        return max((a.arrived for a in self.articles), default="")

    @property
    def key(self) -> str:
        """A stable name for the story: its earliest article's id."""
        return min(a.id for a in self.articles)


def outlet(url: str | None, source: str = "") -> str:
    """The site an address belongs to ("reuters.com"); the file name for an article without one."""
    if url:
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        if host:
            return host
    return source.rsplit("/", 1)[-1] or "(no address)"


def parse_arrival(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def arrived_between(
    store: Store, since: datetime, until: datetime | None = None
) -> tuple[IndexMeta | None, list[ArticleRecord]]:
    """The manifest rows of articles first indexed in [since, until)."""
    meta = store.meta()
    if meta is None:
        return None, []
    found = []
    for record in store.manifest(meta.generation).values():
        moment = parse_arrival(record.indexed) if record.indexed else None
        if moment is not None and moment >= since and (until is None or moment < until):
            found.append(record)
    return meta, found


def read_articles(
    store: Store, meta: IndexMeta, records: Sequence[ArticleRecord]
) -> list[StoryArticle]:
    """Texts, chunks and vectors of the given articles, as the store holds them now."""
    if not records:
        return []
    generation = meta.generation
    texts = store.article_texts(generation, [r.id for r in records])
    ids = [chunk_id(r.id, r.content_hash, i) for r in records for i in range(r.chunks)]
    passages: dict[str, list[Passage]] = {}
    for cid, metadata, text in store.chunk_records(generation, ids):
        passage = Passage.from_metadata(cid, text, metadata)
        passages.setdefault(passage.article_id, []).append(passage)
    vectors = store.vectors(generation, ids)
    articles = []
    for r in records:
        own = [
            p
            for p in sorted(passages.get(r.id, []), key=lambda p: p.position)
            if p.chunk_id in vectors
        ]
        rows = np.vstack([vectors[p.chunk_id] for p in own]) if own else None
        articles.append(StoryArticle(r, texts.get(r.id, ""), own, rows))
    return articles


def cosine(a: StoryArticle, b: StoryArticle) -> float:
    if a.vector is None or b.vector is None:
        return 0.0
    return float(np.dot(a.vector, b.vector))


class _Groups:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)


def same_story(
    a: StoryArticle, b: StoryArticle, similar: float, days_apart: int, copies: bool
) -> bool:
    """Copies (``copies``: same address or near-identical text), or close coverage in time."""
    if copies:
        return True
    first, second = a.day(), b.day()
    close = first is None or second is None or abs((first - second).days) <= days_apart
    return close and cosine(a, b) >= similar


def group_stories(articles: Sequence[StoryArticle], similar: float, days_apart: int) -> list[Story]:
    """The articles grouped into stories, each with its most representative article first."""
    groups = _Groups(len(articles))
    keys = [{url_key(u) for u in a.urls} for a in articles]
    signatures = [minhash(a.text) for a in articles]
    for i in range(len(articles)):
        for j in range(i + 1, len(articles)):
            copies = bool(keys[i] & keys[j]) or (
                similarity(signatures[i], signatures[j]) >= DEFAULT_THRESHOLD
            )
            if same_story(articles[i], articles[j], similar, days_apart, copies):
                groups.join(i, j)
    members: dict[int, list[StoryArticle]] = {}
    for i, article in enumerate(articles):
        members.setdefault(groups.find(i), []).append(article)
    return [Story(_representative_first(m)) for m in members.values()]


def _representative_first(articles: list[StoryArticle]) -> list[StoryArticle]:
    """The article closest to all the others (the story's centre) first; the earliest arrival
    breaks ties, then the id (so the order never depends on the store's)."""

    def closeness(a: StoryArticle) -> float:
        return sum(cosine(a, b) for b in articles if b is not a)

    return sorted(articles, key=lambda a: (-round(closeness(a), 6), a.arrived, a.id))


def by_outlets_then_recency(stories: Iterable[Story]) -> list[Story]:
    """Most distinct outlets first; among equals the most recent arrival."""
    ordered = sorted(stories, key=lambda s: s.key)
    ordered.sort(key=lambda s: s.last_arrived, reverse=True)
    ordered.sort(key=lambda s: len(s.outlets), reverse=True)
    return ordered
