"""Show an answer while it is being written, editing one message at most about once a second.

The answer service calls ``on_text(text_so_far)`` from a worker thread; :meth:`LiveEdit.push`
hands the text to the event loop, which edits the message with the latest text no more often
than ``interval`` seconds (Discord rate-limits edits, and a flood of edits helps nobody).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import discord

log = logging.getLogger(__name__)


class LiveEdit:
    def __init__(
        self,
        edit: Callable[[str], Awaitable[object]],
        loop: asyncio.AbstractEventLoop,
        interval: float = 1.0,
    ) -> None:
        self._edit = edit
        self._loop = loop
        self.interval = interval
        self._latest: str | None = None
        self._shown: str | None = None
        self._last_edit = time.monotonic()  # the placeholder was just shown
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.edits = 0

    def push(self, text: str) -> None:
        """The answer so far. Safe to call from any thread."""
        self._loop.call_soon_threadsafe(self._update, text)

    def _update(self, text: str) -> None:
        if self._closed:
            return
        self._latest = text
        if self._task is None or self._task.done():
            self._task = self._loop.create_task(self._run())

    async def _run(self) -> None:
        while self._latest is not None and self._latest != self._shown:
            wait = self._last_edit + self.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            text = self._latest
            try:
                await self._edit(text)
            except discord.HTTPException as error:
                log.warning("could not show the answer so far: %s", error)
            self._shown = text
            self._last_edit = time.monotonic()
            self.edits += 1

    async def close(self) -> None:
        """Stop editing (the final answer replaces whatever is shown)."""
        self._closed = True
        await asyncio.sleep(0)  # let pushes already queued by the worker arrive and be dropped
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
