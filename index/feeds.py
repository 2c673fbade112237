"""RSS and Atom feeds: read a feed into its entries (link, title, date) with feedparser.

A feed only lists the articles: :mod:`index.arrivals` fetches the full page behind each entry and
skips entries that are already indexed. :class:`FeedCache` remembers each feed's ETag and
Last-Modified headers so a watcher polling a feed that did not change downloads nothing.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from index.errors import FetchError
from index.fetch import Download, Fetcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedEntry:
    link: str
    title: str
    published: str | None  # YYYY-MM-DD
    updated: str | None  # ISO timestamp of the entry's last change, when the feed gives one


@dataclass(frozen=True)
class Feed:
    url: str
    title: str
    entries: list[FeedEntry]
    not_modified: bool = False
    warning: str | None = None  # a feed that parsed with errors but still had entries


@dataclass
class FeedCache:
    """Conditional-request headers per feed, kept in memory by a long-running watcher."""

    headers: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def parse_feed(content: bytes, url: str, content_type: str = "") -> Feed:
    """The entries of an RSS or Atom document, or a :class:`FetchError` when it is not one."""
    import feedparser

    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(content, response_headers=headers)
    version = parsed.get("version") or ""
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    entries = []
    for item in parsed.entries:
        link = _link(item)
        if not link:
            log.info("feed %s: entry %r has no link; skipped", url, item.get("title"))
            continue
        entries.append(
            FeedEntry(
                link=link,
                title=str(item.get("title") or ""),
                published=_day(item.get("published_parsed") or item.get("updated_parsed")),
                updated=_stamp(item.get("updated_parsed") or item.get("published_parsed")),
            )
        )
    if not entries and (problem is not None or not version):
        reason = _short(problem) if problem is not None else "no RSS or Atom content"
        raise FetchError(url, f"not an RSS or Atom feed ({reason})")
    title = str(parsed.feed.get("title") or "") if parsed.get("feed") else ""
    warning = f"feed has errors ({_short(problem)}); read what could be read" if problem else None
    return Feed(url, title, entries, warning=warning)


def read_feed(fetcher: Fetcher, url: str, cache: FeedCache | None = None) -> Feed:
    """Download and parse a feed; with a cache, an unchanged feed comes back ``not_modified``."""
    etag, modified = cache.headers.get(url, (None, None)) if cache else (None, None)
    page: Download = fetcher.get(url, etag=etag, last_modified=modified)
    if page.not_modified:
        return Feed(url, "", [], not_modified=True)
    feed = parse_feed(page.content, page.final_url, page.content_type)
    if cache is not None and (page.etag or page.last_modified):
        cache.headers[url] = (page.etag, page.last_modified)
    return feed


def _link(item: Any) -> str:
    link = str(item.get("link") or "")
    if link:
        return link
    for candidate in item.get("links") or []:
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return str(candidate["href"])
    guid = str(item.get("id") or "")
    return guid if guid.startswith(("http://", "https://")) else ""


def _day(value: Any) -> str | None:
    if not value:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), UTC).date().isoformat()


def _stamp(value: Any) -> str | None:
    if not value:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), UTC).isoformat(timespec="seconds")


def _short(error: Any) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 120 else text[:119] + "…"
