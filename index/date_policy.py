"""How publication dates move search results: a named time, a preference for newer stories."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from index.hit import Hit


def day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def within(hit: Hit, since: date | None, until: date | None) -> bool:
    published = day(hit.passage.published)
    return (
        published is not None
        and (since is None or published >= since)
        and (until is None or published <= until)
    )


def prefer_window(
    hits: list[Hit], since: date | None, until: date | None, weight: float
) -> list[Hit]:
    """Add ``weight`` to the score of each hit published within [since, until]."""
    for hit in hits:
        if within(hit, since, until):
            hit.score += weight
    return sorted(hits, key=lambda h: h.score, reverse=True)


def drop_older(
    hits: list[Hit], since: date | None, until: date | None, slack_days: float
) -> list[Hit]:
    """Leave out hits published more than ``slack_days`` before ``since`` when some hit is from
    that time: "this week" is not answered from a story years old. Undated hits stay."""
    if since is None or slack_days < 0:
        return hits
    floor = since - timedelta(days=slack_days)
    if not any(within(h, floor, until) for h in hits):
        return hits
    return [h for h in hits if (d := day(h.passage.published)) is None or d >= floor]


def prefer_newer(hits: list[Hit], now: date, half_life_days: float, weight: float) -> list[Hit]:
    """Add to each hit's score ``weight`` halved for every ``half_life_days`` its article is older
    than the newest candidate. Hits dated after ``now`` (news that did not exist yet when the
    question was asked) and undated hits get nothing."""
    days = {id(h): day(h.passage.published) for h in hits}
    dated = [d for d in days.values() if d is not None and d <= now]
    if not dated:
        return hits
    newest = max(dated)
    for hit in hits:
        published = days[id(hit)]
        if published is not None and published <= now:
            age = (newest - published).days
            hit.score += weight * 0.5 ** (age / max(half_life_days, 0.1))
    return sorted(hits, key=lambda h: h.score, reverse=True)
