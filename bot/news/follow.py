"""Followed topics: who follows what where, which new articles match, and what was posted.

Kept in SQLite in the data directory (``follows.sqlite3``, next to the feedback), so a restart
remembers every follow and everything already posted. Each call opens its own short connection,
so the store can be used from any thread.

A follow belongs to one Discord server (guild) and to the channel or thread it was made in;
listing and removing only ever see the server's own follows.

:meth:`FollowStore.check` is run where a new revision of the index is noticed (the running bot
polls the store's revision, whichever process indexed). For each follow it looks at the articles
first indexed since the follow was made that it has not looked at yet, and scores each with the
topic's words and its meaning:

    score = (share of the topic's words in the article + best cosine of topic and a chunk) / 2

An article at or above NEWSBOT_FOLLOW_THRESHOLD matches (a substring is not enough, and words
alone are not either). Matches are grouped into stories (:mod:`bot.news.stories`): one post per
story, and a later outlet's version of a story already posted is not posted again. At most
NEWSBOT_FOLLOW_POSTS_PER_HOUR posts per follow per hour: when more stories wait, the last post the
hour allows lists them all; when none is allowed, they wait for the next hour.

A post is recorded (claimed) before it is sent and released if sending fails, so nothing is ever
posted twice, also across restarts. Articles that arrived more than :data:`LOOKBACK` ago are not
news any more (after a long outage of the bot): they are not posted, and what was decided about
them is forgotten.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bot.answering.answer import Citation
from bot.errors import FollowNotFound, FollowRefused, InvalidInput
from bot.news.stories import Story, StoryArticle, group_stories, parse_arrival, read_articles
from bot.settings import NewsSettings
from bot.sqlite_file import transaction
from index.search import tokenize
from index.sentences import sentence_spans
from index.store import ArticleRecord, Store

FILENAME = "follows.sqlite3"
MAX_TOPIC_CHARS = 100
RECENT_POSTS = timedelta(days=3)  # posted stories a new article is compared with
LOOKBACK = timedelta(days=7)  # older arrivals are not news any more (a bot that was down long)
SKIPPED, QUEUED, POSTED = "skipped", "queued", "posted"
Embed = Callable[[list[str]], np.ndarray]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS follows (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,       -- where it was made and where matches are posted
    user_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (guild_id, channel_id, topic)
);
CREATE TABLE IF NOT EXISTS seen (      -- every article a follow looked at, and what became of it
    follow_id INTEGER NOT NULL REFERENCES follows (id) ON DELETE CASCADE,
    article_id TEXT NOT NULL,
    score REAL NOT NULL,
    state TEXT NOT NULL,               -- skipped | queued | posted
    updated TEXT NOT NULL,
    PRIMARY KEY (follow_id, article_id)
);
CREATE TABLE IF NOT EXISTS posts (
    id INTEGER PRIMARY KEY,
    follow_id INTEGER NOT NULL REFERENCES follows (id) ON DELETE CASCADE,
    posted TEXT NOT NULL,
    stories INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS digests (   -- scheduled digests posted, one per window
    window TEXT PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    posted TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Follow:
    id: int
    guild_id: int
    channel_id: int
    user_id: int
    topic: str
    created: str

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Match:
    """One story for one follow: its headline, the matching passage quoted, its addresses."""

    story: Story
    article: StoryArticle  # the best-matching article of the story
    quote: Citation
    score: float

    @property
    def outlets(self) -> list[str]:
        return self.story.outlets

    def as_dict(self) -> dict[str, Any]:
        return {
            "headline": self.article.title,
            "url": self.article.url,
            "published": self.article.published,
            "outlets": self.outlets,
            "score": round(self.score, 3),
            "quote": self.quote.as_dict(),
            "articles": [a.id for a in self.story.articles],
        }


@dataclass
class Delivery:
    """One post to make: one story, or several merged when the hour's posts are used up."""

    follow: Follow
    matches: list[Match] = field(default_factory=list)
    post_id: int | None = None

    @property
    def merged(self) -> bool:
        return len(self.matches) > 1


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def clean_topic(topic: str) -> str:
    text = " ".join((topic or "").split())
    if not tokenize(text):
        raise InvalidInput(
            "A topic needs words to match, for example: /follow Westmarch storm damage"
        )
    if len(text) > MAX_TOPIC_CHARS:
        raise InvalidInput(
            f"The topic is {len(text)} characters long; keep it under {MAX_TOPIC_CHARS}."
        )
    return text


class FollowStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FollowStore:
        return cls(data_dir / FILENAME)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path, _SCHEMA, "foreign_keys = ON")

    # -- follows -------------------------------------------------------------------------------
    def add(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        topic: str,
        *,
        limit: int = 50,
        now: datetime | None = None,
    ) -> Follow:
        text = clean_topic(topic)
        with self._connect() as db:
            same = db.execute(
                "SELECT * FROM follows WHERE guild_id = ? AND channel_id = ? "
                "AND lower(topic) = lower(?)",
                (guild_id, channel_id, text),
            ).fetchone()
            if same is not None:
                return _follow(same)
            count = db.execute(
                "SELECT count(*) FROM follows WHERE guild_id = ?", (guild_id,)
            ).fetchone()[0]
            if count >= limit:
                raise InvalidInput(
                    f"This server already follows {count} topics, the most allowed "
                    "(NEWSBOT_FOLLOW_MAX_PER_GUILD). Remove one with /unfollow first."
                )
            created = _iso(now or _now())
            cursor = db.execute(
                "INSERT INTO follows (guild_id, channel_id, user_id, topic, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (guild_id, channel_id, user_id, text, created),
            )
            return Follow(int(cursor.lastrowid or 0), guild_id, channel_id, user_id, text, created)

    def follows(self, guild_id: int | None = None) -> list[Follow]:
        with self._connect() as db:
            if guild_id is None:
                rows = db.execute("SELECT * FROM follows ORDER BY id").fetchall()
            else:
                rows = db.execute(
                    "SELECT * FROM follows WHERE guild_id = ? ORDER BY id", (guild_id,)
                ).fetchall()
        return [_follow(r) for r in rows]

    def find(self, guild_id: int, which: str, channel_id: int | None = None) -> Follow:
        """A follow of this server by its number ("3", "#3") or its topic (in this channel
        first)."""
        wanted = which.strip().removeprefix("#")
        mine = self.follows(guild_id)
        if wanted.isdigit():
            found = [f for f in mine if f.id == int(wanted)]
        else:
            found = [f for f in mine if f.topic.lower() == " ".join(wanted.split()).lower()]
            here = [f for f in found if f.channel_id == channel_id]
            found = here or found
        if not found:
            raise FollowNotFound(
                f"This server follows no topic “{which.strip()}”. /following lists them."
            )
        return found[0]

    def remove(self, follow: Follow, user_id: int | None, may_manage: bool) -> None:
        """Remove ``follow``: its author may; anyone else needs Manage Server (``may_manage``).
        ``user_id`` None is the command line, run by whoever runs the bot."""
        if user_id is not None and follow.user_id != user_id and not may_manage:
            raise FollowRefused(
                "Only the member who followed this topic, or someone with the Manage Server "
                "permission, can remove it."
            )
        with self._connect() as db:
            db.execute("DELETE FROM follows WHERE id = ?", (follow.id,))

    # -- matching ------------------------------------------------------------------------------
    def check(
        self,
        store: Store,
        embed: Embed,
        settings: NewsSettings,
        now: datetime | None = None,
    ) -> list[Delivery]:
        """What to post now for every follow. Each returned delivery is already claimed
        (recorded as posted); call :meth:`release` if it could not be sent."""
        now = now or _now()
        follows = self.follows()
        if not follows:
            return []
        meta = store.meta()
        if meta is None:
            return []
        manifest = store.manifest(meta.generation)
        self._forget(now - LOOKBACK - timedelta(days=1))
        plans = {f.id: self._plan(f, manifest, now) for f in follows}
        wanted = {i for new, queued, posted in plans.values() for i in (*new, *queued, *posted)}
        articles = {a.id: a for a in read_articles(store, meta, [manifest[i] for i in wanted])}
        vectors = embed([f.topic for f in follows])
        deliveries = []
        for follow, vector in zip(follows, vectors, strict=True):
            new, queued, posted = plans[follow.id]
            deliveries += self._check_one(
                follow, np.asarray(vector), articles, new, queued, posted, settings, now
            )
        return deliveries

    def _plan(
        self, follow: Follow, manifest: dict[str, ArticleRecord], now: datetime
    ) -> tuple[list[str], list[str], list[str]]:
        """(new, queued, recently posted) article ids of one follow that are in the index."""
        created = parse_arrival(follow.created)
        if created is not None:
            created = max(created, now - LOOKBACK)
        with self._connect() as db:
            rows = db.execute(
                "SELECT article_id, state, updated FROM seen WHERE follow_id = ?", (follow.id,)
            ).fetchall()
        seen = {r["article_id"]: (r["state"], r["updated"]) for r in rows}
        recent = _iso(now - RECENT_POSTS)
        new = [r.id for r in manifest.values() if r.id not in seen and _arrived_since(r, created)]
        queued = [i for i, (state, _) in seen.items() if state == QUEUED and i in manifest]
        posted = [
            i
            for i, (state, updated) in seen.items()
            if state == POSTED and updated >= recent and i in manifest
        ]
        return sorted(new), sorted(queued), sorted(posted)

    def _check_one(
        self,
        follow: Follow,
        topic_vector: np.ndarray,
        articles: dict[str, StoryArticle],
        new: list[str],
        queued: list[str],
        posted: list[str],
        settings: NewsSettings,
        now: datetime,
    ) -> list[Delivery]:
        terms = set(tokenize(follow.topic))
        scores = {i: score(terms, topic_vector, articles[i]) for i in new if i in articles}
        matched = [i for i, s in scores.items() if s >= settings.follow_threshold]
        self._mark(follow, {i: s for i, s in scores.items() if i not in matched}, SKIPPED, now)
        if not matched and not queued:
            return []
        candidates = [articles[i] for i in (*matched, *queued, *posted) if i in articles]
        stories = group_stories(candidates, settings.story_similarity, settings.story_days_apart)
        done = set(posted)
        waiting: list[Story] = []
        for story in stories:
            ids = {a.id for a in story.articles}
            fresh = [i for i in ids if i not in done]
            if not fresh:
                continue
            if ids & done:  # a new outlet's version of a story already posted
                self._mark(follow, {i: scores.get(i, 0.0) for i in fresh}, POSTED, now)
            else:
                waiting.append(story)
        queued_now = {a.id: scores.get(a.id, 0.0) for s in waiting for a in s.articles}
        self._mark(follow, queued_now, QUEUED, now)
        if not waiting:
            return []
        allowed = settings.follow_posts_per_hour - self._posts_since(
            follow, now - timedelta(hours=1)
        )
        if allowed <= 0:
            return []  # they wait for the next hour
        waiting.sort(key=lambda s: (s.last_arrived, s.key))
        matches = [_match(s, terms, topic_vector) for s in waiting]
        if len(matches) <= allowed:
            posts = [[m] for m in matches]
        else:  # the hour's last post lists every story still waiting
            posts = [[m] for m in matches[: allowed - 1]] + [matches[allowed - 1 :]]
        return [self._claim(follow, chosen, now) for chosen in posts]

    def _claim(self, follow: Follow, chosen: list[Match], now: datetime) -> Delivery:
        """Record a post as made before it is sent (see :meth:`release`)."""
        delivery = Delivery(follow, chosen)
        ids = [a.id for m in chosen for a in m.story.articles]
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO posts (follow_id, posted, stories) VALUES (?, ?, ?)",
                (follow.id, _iso(now), len(chosen)),
            )
            delivery.post_id = int(cursor.lastrowid or 0)
            db.executemany(
                "UPDATE seen SET state = ?, updated = ? WHERE follow_id = ? AND article_id = ?",
                [(POSTED, _iso(now), follow.id, i) for i in ids],
            )
        return delivery

    def waiting(self) -> bool:
        """Whether stories wait for a post (the hour's posts were used up)."""
        with self._connect() as db:
            row = db.execute("SELECT 1 FROM seen WHERE state = ? LIMIT 1", (QUEUED,)).fetchone()
        return row is not None

    def release(self, delivery: Delivery) -> None:
        """A claimed post could not be sent: its stories wait again."""
        ids = [a.id for m in delivery.matches for a in m.story.articles]
        with self._connect() as db:
            db.execute("DELETE FROM posts WHERE id = ?", (delivery.post_id,))
            db.executemany(
                "UPDATE seen SET state = ? WHERE follow_id = ? AND article_id = ?",
                [(QUEUED, delivery.follow.id, i) for i in ids],
            )

    def _mark(self, follow: Follow, scores: dict[str, float], state: str, now: datetime) -> None:
        if not scores:
            return
        with self._connect() as db:
            db.executemany(
                "INSERT INTO seen (follow_id, article_id, score, state, updated) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (follow_id, article_id) "
                "DO UPDATE SET state = excluded.state, updated = excluded.updated",
                [(follow.id, i, s, state, _iso(now)) for i, s in scores.items()],
            )

    def _forget(self, before: datetime) -> None:
        """Drop what was decided about articles too old to be new again (keeps the file small)."""
        with self._connect() as db:
            db.execute("DELETE FROM seen WHERE updated < ?", (_iso(before),))
            db.execute("DELETE FROM posts WHERE posted < ?", (_iso(before),))

    def _posts_since(self, follow: Follow, since: datetime) -> int:
        with self._connect() as db:
            row = db.execute(
                "SELECT count(*) FROM posts WHERE follow_id = ? AND posted >= ?",
                (follow.id, _iso(since)),
            ).fetchone()
        return int(row[0])

    # -- scheduled digests ---------------------------------------------------------------------
    def claim_digest(self, window: str, channel_id: int, now: datetime | None = None) -> bool:
        """Record that the digest of ``window`` is being posted; False if it already was."""
        with self._connect() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO digests (window, channel_id, posted) VALUES (?, ?, ?)",
                (window, channel_id, _iso(now or _now())),
            )
            return cursor.rowcount == 1

    def release_digest(self, window: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM digests WHERE window = ?", (window,))


def _follow(row: sqlite3.Row) -> Follow:
    return Follow(
        int(row["id"]),
        int(row["guild_id"]),
        int(row["channel_id"]),
        int(row["user_id"]),
        str(row["topic"]),
        str(row["created"]),
    )


def _arrived_since(record: ArticleRecord, created: datetime | None) -> bool:
    moment = parse_arrival(record.indexed) if record.indexed else None
    return moment is not None and created is not None and moment >= created


def score(terms: set[str], topic_vector: np.ndarray, article: StoryArticle) -> float:
    """The hybrid match of a topic and an article: words and meaning count equally."""
    return (_word_share(terms, article) + max(0.0, _meaning(topic_vector, article)[0])) / 2


def _word_share(terms: set[str], article: StoryArticle) -> float:
    if not terms:
        return 0.0
    words = set(tokenize(f"{article.title}\n{article.text}"))
    return len(terms & words) / len(terms)


def _meaning(topic_vector: np.ndarray, article: StoryArticle) -> tuple[float, int]:
    """(best cosine of the topic and one of the article's chunks, that chunk's index)."""
    if article.vectors is None or not len(article.vectors):
        return 0.0, -1
    sims = article.vectors @ topic_vector
    best = int(np.argmax(sims))
    return float(sims[best]), best


def _match(story: Story, terms: set[str], topic_vector: np.ndarray) -> Match:
    """The story's best-matching article, and in it the sentence of the best-matching passage
    that holds most of the topic's words."""
    best = max(story.articles, key=lambda a: (score(terms, topic_vector, a), a.id))
    _, chunk = _meaning(topic_vector, best)
    passage = best.passages[chunk] if chunk >= 0 else None
    start, end = (passage.start, passage.end) if passage else (0, len(best.text))
    spans = sentence_spans(best.text, start, end) or [(start, end)]
    a, b = max(spans, key=lambda s: (len(terms & set(tokenize(best.text[s[0] : s[1]]))), -s[0]))
    return Match(story, best, best.citation(1, a, b), score(terms, topic_vector, best))
