"""The digest: the stories that arrived in a window, one entry per story, every line quoted.

Arrival is when the index first had an article (the ``indexed`` time the store records for each
article), whichever way it came in: a feed, ``newsbot add``, an article folder. The window's
articles are grouped into stories (:mod:`bot.news.stories`), ordered by how many distinct outlets
carry each and how recent it is. An entry is its most representative article's headline and lead
(one or two sentences quoted exactly, cited [n]), the outlets with their addresses and dates, and
"also covered by" for the others. No language model is involved: nothing is written that is not
quoted from an article.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.answering.answer import Citation
from bot.errors import InvalidInput
from bot.news.stories import (
    Story,
    StoryArticle,
    arrived_between,
    by_outlets_then_recency,
    group_stories,
    outlet,
    read_articles,
)
from bot.settings import NewsSettings
from index.store import Store


@dataclass(frozen=True)
class Coverage:
    """One outlet's article in a story."""

    outlet: str
    title: str
    url: str | None
    published: str | None
    arrived: str

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class DigestEntry:
    headline: str
    quotes: list[Citation]
    coverage: list[Coverage]  # the representative article's outlet first
    key: str

    @property
    def outlets(self) -> list[str]:
        return list(dict.fromkeys(c.outlet for c in self.coverage))

    @property
    def also(self) -> list[Coverage]:
        """The coverage besides the quoted article's own outlet."""
        first = self.coverage[0].outlet if self.coverage else ""
        return [c for c in self.coverage if c.outlet != first]

    def as_dict(self) -> dict[str, Any]:
        return {
            "headline": self.headline,
            "quotes": [c.as_dict() for c in self.quotes],
            "outlets": self.outlets,
            "coverage": [c.as_dict() for c in self.coverage],
            "also_covered_by": [c.outlet for c in self.also],
            "story": self.key,
        }


@dataclass
class Digest:
    since: datetime
    until: datetime
    entries: list[DigestEntry] = field(default_factory=list)
    articles: int = 0  # articles that arrived in the window
    left_out: int = 0  # stories beyond NEWSBOT_DIGEST_MAX_STORIES

    @property
    def citations(self) -> list[Citation]:
        return [c for e in self.entries for c in e.quotes]

    def window_text(self) -> str:
        fmt = "%Y-%m-%d %H:%M UTC"
        return f"{self.since.astimezone(UTC).strftime(fmt)} – {self.until.astimezone(UTC).strftime(fmt)}"

    def empty_text(self) -> str:
        return f"No new articles arrived between {self.window_text()}."

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(timespec="seconds"),
            "until": self.until.isoformat(timespec="seconds"),
            "articles": self.articles,
            "stories": len(self.entries) + self.left_out,
            "left_out": self.left_out,
            "entries": [e.as_dict() for e in self.entries],
            "message": None if self.entries else self.empty_text(),
        }


def window(
    since: str | None, hours: float | None, default_hours: float, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """[since, now) from ``--since`` (a date or a date and time; UTC unless it names a zone) or
    ``--hours``; the default is the last NEWSBOT_DIGEST_HOURS."""
    now = now or datetime.now(UTC)
    if since is not None and hours is not None:
        raise InvalidInput("give --since or --hours, not both.")
    if hours is not None:
        if hours <= 0:
            raise InvalidInput(f"--hours must be more than 0, not {hours:g}.")
        return now - timedelta(hours=hours), now
    if since is None:
        return now - timedelta(hours=default_hours), now
    try:
        start = datetime.fromisoformat(since.strip())
    except ValueError:
        raise InvalidInput(
            f"--since takes a date such as 2025-03-07 or 2025-03-07T08:00, not {since!r}."
        ) from None
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    if start > now:
        raise InvalidInput(f"--since {since} is in the future; give an earlier date.")
    return start, now


def build_digest(store: Store, settings: NewsSettings, since: datetime, until: datetime) -> Digest:
    """The digest of what arrived in [since, until)."""
    meta, records = arrived_between(store, since, until)
    digest = Digest(since, until, articles=len(records))
    if meta is None or not records:
        return digest
    articles = read_articles(store, meta, records)
    stories = by_outlets_then_recency(
        group_stories(articles, settings.story_similarity, settings.story_days_apart)
    )
    shown = stories[: settings.digest_max_stories]
    digest.left_out = len(stories) - len(shown)
    n = 0
    for story in shown:
        entry = _entry(story, n)
        n += len(entry.quotes)
        digest.entries.append(entry)
    return digest


def _entry(story: Story, cited_before: int) -> DigestEntry:
    lead = story.lead
    quotes = [lead.citation(cited_before + i + 1, a, b) for i, (a, b) in enumerate(lead.lead())]
    return DigestEntry(lead.title, quotes, coverage(story), story.key)


def coverage(story: Story) -> list[Coverage]:
    """Each outlet once, with the article (and address) it carries the story under."""
    seen: dict[str, Coverage] = {}
    for article in story.articles:
        for url, name in _addresses(article):
            if name not in seen:
                seen[name] = Coverage(name, article.title, url, article.published, article.arrived)
    return list(seen.values())


def _addresses(article: StoryArticle) -> list[tuple[str | None, str]]:
    if not article.urls:
        return [(None, outlet(None, article.record.source))]
    return [(u, outlet(u)) for u in article.urls]
