"""Load limits: a per-user cooldown and a global cap on answers being prepared at once."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.text import plural


class Cooldown:
    """Each user may ask once every ``seconds``. Only accepted questions start the clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._last: dict[int, float] = {}

    def retry_after(self, user_id: int) -> float:
        """Seconds until ``user_id`` may ask again (0 when they may ask now)."""
        last = self._last.get(user_id)
        if last is None or self.seconds <= 0:
            return 0.0
        return max(0.0, last + self.seconds - self.clock())

    def start(self, user_id: int) -> None:
        now = self.clock()
        self._last[user_id] = now
        if len(self._last) > 10_000:  # forget users whose cooldown is long over
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}


class ConcurrencyLimit:
    """At most ``limit`` answers in progress; a question over the limit is turned away at once
    (with a polite message) rather than queued behind a growing backlog."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.limit = limit
        self.active = 0

    def try_enter(self) -> bool:
        if self.active >= self.limit:
            return False
        self.active += 1
        return True

    def leave(self) -> None:
        self.active = max(0, self.active - 1)


def cooldown_message(seconds: float) -> str:
    wait = max(1, round(seconds))
    return f"⏳ You're asking faster than I can keep up. Please try again in {wait} s."


def busy_message(limit: int) -> str:
    return f"⏳ I'm answering {plural(limit, 'question')} right now. Please ask again in a moment."


def admit(cooldown: Cooldown, limit: ConcurrencyLimit, user_id: int) -> str | None:
    """The guard every question passes, by mention or by ``/ask``: None when it may be answered
    now (the user's cooldown starts, and the caller must ``limit.leave()`` when done), else the
    reply that says why not."""
    wait = cooldown.retry_after(user_id)
    if wait > 0:
        return cooldown_message(wait)
    if not limit.try_enter():
        return busy_message(limit.limit)
    cooldown.start(user_id)
    return None
