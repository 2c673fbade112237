"""CPU priority of background updates: `newsbot watch` and `newsbot add` index at a lower
priority than answering, so that on a machine with few cores a running bot keeps a core while
another process (or thread) embeds arrivals (``NEWSBOT_UPDATE_NICE``).

On Linux a thread's priority is its own: only the updating thread, and the threads it starts
(the embedding model's, when it loads the model), are lowered."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

log = logging.getLogger(__name__)

LOWEST = 19


def _target() -> int:
    """This thread on Linux (its native id names it to setpriority), the process elsewhere."""
    return threading.get_native_id() if os.uname().sysname == "Linux" else 0


def priority() -> int:
    """The calling thread's nice value (higher runs less)."""
    return os.getpriority(os.PRIO_PROCESS, _target())


@contextlib.contextmanager
def lowered(steps: int) -> Iterator[None]:
    """Run the block ``steps`` nice levels lower (0: unchanged); restored after it where the
    system allows raising it again (it may not for an unprivileged user: then it stays low)."""
    if steps <= 0 or not hasattr(os, "setpriority"):
        yield
        return
    before = priority()
    try:
        os.setpriority(os.PRIO_PROCESS, _target(), min(LOWEST, before + steps))
    except OSError as error:
        log.debug("could not lower the priority: %s", error)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, _target(), before)
