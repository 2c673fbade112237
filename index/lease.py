"""One writer at a time on a shared store (a Chroma server or Chroma Cloud).

The embedded store is a folder on one machine, so a file lock guards it (``build.writer_lock``).
A server is shared by processes on several machines, and Chroma has no locks: the writers take
turns through a lease, a record in the store's ``_meta`` collection naming the holder and when its
claim lapses. The holder renews it from a background thread while it writes and deletes it when it
is done. A claim lapses when it is not renewed (the holder crashed, or lost the server), at once
when the holder was a process on this machine that no longer exists.

Chroma offers no compare-and-set, so a claim is confirmed by reading it back after a short pause:
two processes that claim within that pause of each other see who won. That makes overlapping
writers very unlikely, not impossible; the commit protocol in ``store.py`` keeps readers safe
either way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator

from index.errors import IndexBusy, NewsbotError
from index.store import Store

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
CONFIRM_SECONDS = 0.3


def owner_id() -> str:
    """Who holds a lease: ``host:pid:nonce`` (the nonce tells apart two leases of one process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _gone(owner: str) -> bool:
    """Whether ``owner`` was a process on this machine that has ended."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def _busy(holder: str, expires: float) -> IndexBusy:
    host = holder.partition(":")[0]
    wait = max(0, round(expires - time.time()))
    return IndexBusy(
        f"Another newsbot process (on {host}) is updating the index on the Chroma server. Wait "
        f"for it to finish and try again; if it was stopped, its claim lapses within {wait} s."
    )


def claim(store: Store, owner: str, seconds: float = LEASE_SECONDS) -> None:
    """Take the lease for ``owner`` or raise IndexBusy naming who has it."""
    held = store.lease()
    if held is not None:
        holder, expires = held
        if holder != owner and expires > time.time() and not _gone(holder):
            raise _busy(holder, expires)
    store.write_lease(owner, time.time() + seconds)
    time.sleep(CONFIRM_SECONDS)
    held = store.lease()
    if held is None or held[0] != owner:
        raise _busy(*(held or (owner, time.time())))


def _renew(store: Store, owner: str, seconds: float, stop: threading.Event) -> None:
    while not stop.wait(seconds / 4):
        try:
            held = store.lease()
            if held is not None and held[0] != owner:
                log.error("lost the writers' lease to %s", held[0])
                return
            store.write_lease(owner, time.time() + seconds)
        except NewsbotError as error:  # the server is away: try again at the next turn
            log.warning("could not renew the writers' lease: %s", error)


@contextlib.contextmanager
def writer_lease(store: Store, seconds: float = LEASE_SECONDS) -> Iterator[str]:
    """Hold the writers' lease of ``store`` for the duration of the block."""
    owner = owner_id()
    claim(store, owner, seconds)
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew, args=(store, owner, seconds, stop), name="newsbot-lease", daemon=True
    )
    renewer.start()
    try:
        yield owner
    finally:
        stop.set()
        renewer.join()
        try:
            held = store.lease()
            if held is not None and held[0] == owner:
                store.drop_lease()
        except NewsbotError as error:  # it lapses by itself
            log.warning("could not release the writers' lease: %s", error)
