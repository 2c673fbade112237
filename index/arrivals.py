"""New articles from the web: fetch pages and feeds, recognise copies, store records, index.

:class:`Intake` decides for each address whether it is new (stored as a record in the library),
a changed version of a stored story (its record is updated), a copy of a stored story (the address
is added to that story's sources), or already indexed from an article folder (skipped). Every
failure is one :class:`Arrival` with the address and the reason; the other items still go in.
:func:`add` runs an intake and then brings the index up to date, once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from index.build import BuildReport, build_index
from index.config import WebSettings
from index.dedupe import text_fingerprint, url_key
from index.embedding import Embedder
from index.errors import FetchError
from index.feeds import FeedCache, FeedEntry, read_feed
from index.fetch import Extracted, Fetcher, check_url
from index.library import Library, Match, Record
from index.priority import lowered
from index.store import Store

log = logging.getLogger(__name__)

# What happened to one address (an article or a feed).
ADDED, UPDATED, UNCHANGED, DUPLICATE, KNOWN, FAILED, SKIPPED, READ = (
    "added",
    "updated",
    "unchanged",
    "duplicate",
    "known",
    "failed",
    "skipped",
    "read",
)
CHANGES = frozenset({ADDED, UPDATED})  # what needs the index updated
NOT_YET = "stored by an earlier run but not indexed yet"


@dataclass(frozen=True)
class Arrival:
    url: str
    status: str
    detail: str = ""
    feed: str | None = None
    permanent: bool = False  # a failure that retrying will not fix (a 404, a page with no text)

    def __str__(self) -> str:
        return f"{self.status}: {self.url}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class IntakeReport:
    articles: list[Arrival] = field(default_factory=list)
    feeds: list[Arrival] = field(default_factory=list)
    build: BuildReport | None = None
    seconds: float = 0.0
    left: int = 0  # feed entries not fetched this time (over NEWSBOT_FEED_MAX_ITEMS)

    @property
    def failures(self) -> list[Arrival]:
        return [a for a in (*self.feeds, *self.articles) if a.status == FAILED]

    @property
    def changed(self) -> bool:
        return any(a.status in CHANGES for a in self.articles)

    def counts(self) -> Counter[str]:
        return Counter(a.status for a in self.articles)

    def as_dict(self) -> dict[str, Any]:
        return {
            "articles": [vars(a) for a in self.articles],
            "feeds": [vars(a) for a in self.feeds],
            "counts": dict(self.counts()),
            "failures": len(self.failures),
            "left_for_next_check": self.left,
            "index": self.build.as_dict() if self.build else None,
            "seconds": round(self.seconds, 3),
        }


class Intake:
    """One round of arrivals into the library (nothing is indexed until :meth:`finish`)."""

    def __init__(
        self,
        settings: WebSettings,
        store: Store,
        fetcher: Fetcher,
        skip: set[str] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.skip = skip or set()  # address keys that failed for good earlier; not fetched again
        self.library = Library(settings.fetched_dir, settings.near_duplicate_threshold)
        own = {r.id for r in self.library.records.values()}
        meta = store.meta()
        self.indexed = store.manifest(meta.generation) if meta is not None else {}
        self.elsewhere = {
            url_key(r.url): r.source
            for r in self.indexed.values()
            if r.url and r.source.rsplit("/", 1)[-1].removesuffix(".json") not in own
        }
        self.report = IntakeReport()
        self.max_items = int(settings.feed_max_items)
        self.taken: set[str] = set()  # records this run stored or changed

    def _indexed(self, record: Record) -> bool:
        """Whether the index holds this library record as it is on disk. A record stored by an
        earlier run whose update failed (the index was busy, the disk full) is not."""
        if record.id in self.taken:  # stored by this run: indexed when it finishes
            return True
        indexed = self.indexed.get(record.id)
        if indexed is None:
            return False
        try:
            with record.path.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            return False
        return indexed.source_hash == digest

    # -- articles ------------------------------------------------------------------------------
    def url(self, url: str, *, entry: FeedEntry | None = None, feed: str | None = None) -> Arrival:
        arrival = self._take(url, entry, feed)
        self._log(arrival)
        return arrival

    def _take(self, url: str, entry: FeedEntry | None, feed: str | None) -> Arrival:
        return self._without_fetch(url, entry, feed) or self._fetch(url, entry, feed)

    def _without_fetch(self, url: str, entry: FeedEntry | None, feed: str | None) -> Arrival | None:
        """What becomes of ``url`` when it need not be fetched (bad, failed before, or known)."""
        try:
            url = check_url(url)
        except FetchError as error:
            return Arrival(error.url, FAILED, error.reason, feed, permanent=True)
        if url_key(url) in self.skip:
            return Arrival(url, SKIPPED, "failed earlier; not retried until restart", feed)
        source = self.elsewhere.get(url_key(url))
        if source is not None:
            return Arrival(url, KNOWN, f"already indexed from {source}", feed)
        known = self.library.find_url(url)
        if known is not None and entry is not None and not _entry_changed(entry, known):
            if not self._indexed(known):
                return Arrival(url, ADDED, f"{known.title} ({NOT_YET})", feed)
            return Arrival(url, KNOWN, f"already indexed: {known.title}", feed)
        return None

    def _fetch(self, url: str, entry: FeedEntry | None, feed: str | None) -> Arrival:
        url = url.strip()
        try:
            article = self.fetcher.article(url)
        except FetchError as error:
            return Arrival(url, FAILED, error.reason, feed, permanent=error.permanent)
        published = entry.published if entry else None
        match = self.library.match(article)
        note = ""
        if match is not None and _claims_another(match, article):
            # The page names, as its address, a story that a fetch of another address stored:
            # it may not replace it. It is a story of its own, at the address it came from.
            log.info("%s claims to be %s; kept apart", url, match.record.url)
            note = f" (it names {match.record.url} as its address; kept apart from that story)"
            article = article.under_own_address()
            match = self.library.match(article, by_address=False)
        if match is None:
            record = self.library.add(article, published=published, feed=feed)
            self.taken.add(record.id)
            return Arrival(url, ADDED, record.title + note, feed)
        record = match.record
        if match.kind == "same address":
            if record.text_hash == text_fingerprint(article.text):
                indexed = self._indexed(record)
                self.library.add_urls(record, list(article.urls))
                if not indexed:
                    return Arrival(url, ADDED, f"{record.title} ({NOT_YET})", feed)
                return Arrival(url, UNCHANGED, record.title, feed)
            self.library.replace_text(record, article, published=published)
            self.taken.add(record.id)
            return Arrival(url, UPDATED, article.title, feed)
        self.library.add_urls(record, list(article.urls))
        how = "same text" if match.kind == "same text" else f"{match.similarity:.0%} the same"
        return Arrival(url, DUPLICATE, f"{how} as “{record.title}”; kept as another source", feed)

    # -- feeds ---------------------------------------------------------------------------------
    def feed(
        self, url: str, cache: FeedCache | None = None, stop: threading.Event | None = None
    ) -> Arrival:
        """Read a feed and take its entries, newest first, fetching at most ``max_items`` of
        them (the rest wait for the next check); ``stop`` ends it early, between entries."""
        try:
            parsed = read_feed(self.fetcher, url, cache)
        except FetchError as error:
            arrival = Arrival(error.url, FAILED, error.reason, permanent=error.permanent)
            self.report.feeds.append(arrival)
            log.info("%s", arrival)
            return arrival
        fetched = left = 0
        for entry in newest_first(parsed.entries):
            if stop is not None and stop.is_set():
                break
            skipped = self._without_fetch(entry.link, entry, url)
            if skipped is not None:
                self._log(skipped)
            elif fetched >= self.max_items:
                left += 1
            else:
                fetched += 1
                self._log(self._fetch(entry.link, entry, url))
        if parsed.not_modified:
            detail = "not modified since the last check"
        else:
            detail = f"{len(parsed.entries)} entries"
            if left:
                detail += (
                    f"; fetched the newest {self.max_items}, {left} left for the next check "
                    "(NEWSBOT_FEED_MAX_ITEMS)"
                )
            if parsed.warning:
                detail += f"; {parsed.warning}"
        self.report.left += left
        arrival = Arrival(url, READ, detail)
        self.report.feeds.append(arrival)
        return arrival

    def _log(self, arrival: Arrival) -> None:
        self.report.articles.append(arrival)
        log.info("%s", arrival)


def newest_first(entries: list[FeedEntry]) -> list[FeedEntry]:
    """Entries by date, newest first; undated ones keep their place in the feed after them."""
    dated = sorted(
        (e for e in entries if e.updated or e.published),
        key=lambda e: e.updated or e.published or "",
        reverse=True,
    )
    return [*dated, *(e for e in entries if not (e.updated or e.published))]


def _claims_another(match: Match, article: Extracted) -> bool:
    """Does ``article`` have other text under the address of a story that a fetch of another
    address stored? Only the story's own address, and the addresses that stored it, may change
    it (a page can name a story's address as its own, and a copy can change its text later)."""
    if match.kind != "same address" or match.record.text_hash == text_fingerprint(article.text):
        return False
    own = {url_key(u) for u in [match.record.url, *match.record.fetched_from]}
    return not any(url_key(u) in own for u in article.fetched or article.urls)


def _entry_changed(entry: FeedEntry, record: Record) -> bool:
    """A feed entry updated after the story was fetched: worth fetching again."""
    return bool(entry.updated and record.fetched and entry.updated > record.fetched)


def add(
    settings: WebSettings,
    urls: Sequence[str] = (),
    feeds: Sequence[str] = (),
    *,
    store: Store | None = None,
    embedder: Embedder | None = None,
    fetcher: Fetcher | None = None,
) -> IntakeReport:
    """Fetch ``urls`` and every entry of ``feeds``, store what is new and index it at once."""
    started = time.perf_counter()
    store = store or Store.open_to_write(settings)
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher.from_settings(settings)
    try:
        intake = Intake(settings, store, fetcher)
        for feed_url in feeds:
            intake.feed(feed_url)
        for url in urls:
            intake.url(url)
    finally:
        if own_fetcher:
            fetcher.close()
    report = intake.report
    if report.changed:
        with lowered(settings.update_nice):  # answering keeps the CPU it needs
            report.build = build_index(settings, store=store, embedder=embedder)
    report.seconds = time.perf_counter() - started
    return report
