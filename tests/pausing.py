"""`newsbot` that hangs at a build commit point, for the fault tests to SIGKILL it there.

Run as a script (``python tests/pausing.py index``) with NEWSBOT_TEST_PAUSE_AT=<point>: on reaching
that point (see ``index.build.CHECKPOINTS``) it says so on stderr and sleeps.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

PAUSE_ENV = "NEWSBOT_TEST_PAUSE_AT"
SCRIPT = Path(__file__)


def pause_at(point: str) -> None:
    if os.environ.get(PAUSE_ENV) == point:
        print(f"newsbot-paused-at {point}", file=sys.stderr, flush=True)
        time.sleep(3600)


if __name__ == "__main__":
    from bot.frontends.cli import main
    from index.build import CHECKPOINTS

    CHECKPOINTS.append(pause_at)
    main()
