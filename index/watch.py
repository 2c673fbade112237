"""``newsbot watch``: keep the index fresh by polling feeds and article folders.

Each cycle reads every configured feed (NEWSBOT_FEEDS), fetches the articles it has not seen,
then brings the index in line with the article folders: new and changed files are indexed and
removed ones pruned, but never more than NEWSBOT_PRUNE_MAX_SHARE of the index at once (watch
never passes ``prune``; see :mod:`index.prune`). One line sums up each cycle. Ctrl-C or SIGTERM
stops the loop cleanly within a second: a download under way is abandoned, what was fetched stays
stored for the next run, and an index update under way finishes first (the index is never left
half-written). A running REPL or bot sees the new articles without a restart (see
:mod:`index.search`).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import FrameType

from index.arrivals import ADDED, DUPLICATE, FAILED, KNOWN, UNCHANGED, UPDATED, Intake, IntakeReport
from index.build import BuildReport, build_index
from index.config import WebSettings
from index.dedupe import url_key
from index.embedding import Embedder
from index.errors import ArticleFolderError, IndexBusy, StoreDamaged, StoreUnavailable
from index.feeds import FeedCache
from index.fetch import Fetcher
from index.priority import lowered
from index.store import Store

log = logging.getLogger(__name__)

# Problems a cycle reports and the next one retries: another writer, the server away, a folder
# not mounted (yet), a full disk. Nothing is changed by a cycle that hits one.
_PASSING = (IndexBusy, StoreUnavailable, ArticleFolderError, StoreDamaged)


@dataclass
class Cycle:
    number: int
    intake: IntakeReport
    build: BuildReport | None
    seconds: float
    error: str | None = None

    def summary(self) -> str:
        """One line: what the feeds brought and what the index did."""
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        counts = self.intake.counts()
        feeds = self.intake.feeds
        feeds_ok = sum(1 for f in feeds if f.status != FAILED)
        parts = [
            f"{stamp} cycle {self.number}",
            f"feeds {feeds_ok}/{len(feeds)} read",
            f"articles {counts[ADDED]} new, {counts[UPDATED]} changed, "
            f"{counts[DUPLICATE]} duplicates, {counts[KNOWN] + counts[UNCHANGED]} already indexed, "
            f"{counts[FAILED]} failed",
        ]
        if self.intake.left:
            parts.append(f"{self.intake.left} feed entries left for the next check")
        if self.build is not None:
            b = self.build
            parts.append(
                f"index {b.added} added, {b.updated} updated, {b.removed} removed, "
                f"{b.articles} article{'' if b.articles == 1 else 's'}"
            )
            if b.held_back:
                note = b.held_back_note().rstrip(".")  # the parts are joined with "; "
                parts.append(f"{len(b.held_back)} not removed: {note}")
        if self.error:
            parts.append(f"index not updated: {self.error}")
        parts.append(f"{self.seconds:.1f} s")
        return "; ".join(parts)


class Watcher:
    """Polls feeds and folders. Build once with the services it needs; call :meth:`run`."""

    def __init__(
        self,
        settings: WebSettings,
        store: Store,
        embedder: Embedder,
        fetcher: Fetcher | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.stop = threading.Event()
        self.fetcher = fetcher or Fetcher.from_settings(settings, stop=self.stop)
        self.cache = FeedCache()
        self.failed_for_good: set[str] = set()
        self.cycles = 0

    def cycle(self) -> Cycle:
        """One round: feeds, then the index. Problems are reported, never raised."""
        started = time.perf_counter()
        self.cycles += 1
        intake = Intake(self.settings, self.store, self.fetcher, skip=self.failed_for_good)
        for feed in self.settings.feeds:
            if self.stop.is_set():
                break
            intake.feed(feed, self.cache, self.stop)
        for failure in intake.report.failures:
            log.warning("%s", failure)
            if failure.permanent and failure.feed is not None:
                self.failed_for_good.add(url_key(failure.url))
        build, error = None, None
        if self.stop.is_set():  # the articles fetched so far are stored; the next run indexes them
            error = "stopped"
            return Cycle(self.cycles, intake.report, None, time.perf_counter() - started, error)
        try:
            build = build_index(self.settings, store=self.store, embedder=self.embedder)
            for problem in build.problems:
                log.warning("%s", problem)
        except _PASSING as problem:  # next cycle may do better; a bad setting stops the loop
            error = str(problem)
        return Cycle(self.cycles, intake.report, build, time.perf_counter() - started, error)

    def run(
        self,
        interval: float,
        on_cycle: Callable[[Cycle], None],
        max_cycles: int | None = None,
    ) -> None:
        """Cycle every ``interval`` seconds until :attr:`stop` is set (or ``max_cycles`` ran)."""
        while not self.stop.is_set():
            on_cycle(self.cycle())
            if max_cycles is not None and self.cycles >= max_cycles:
                break
            self.stop.wait(interval)

    def close(self) -> None:
        self.fetcher.close()


def watch(
    watcher: Watcher,
    interval: float,
    on_cycle: Callable[[Cycle], None],
    max_cycles: int | None = None,
) -> None:
    """Run the watcher until Ctrl-C or SIGTERM; returns normally either way.

    Both signals get a handler of their own: a process started in the background inherits
    SIGINT as ignored, and Python then raises no KeyboardInterrupt for it."""

    def on_stop(signum: int, frame: FrameType | None) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        watcher.stop.set()

    stops = (signal.SIGTERM, signal.SIGINT)
    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, on_stop) for s in stops} if in_main else {}
    try:
        with lowered(watcher.settings.update_nice):  # answering keeps the CPU it needs
            watcher.run(interval, on_cycle, max_cycles)
    except KeyboardInterrupt:  # not the main thread: no handlers of our own
        watcher.stop.set()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        watcher.close()
