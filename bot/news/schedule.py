"""When the scheduled digest is due: NEWSBOT_DIGEST_AT ("07:30 Europe/Zurich") as moments in time.

Each scheduled moment closes one window: the digest posted at 07:30 covers what arrived since the
previous day's 07:30. A window is named by the moment that closes it (UTC ISO), which is what the
bot records once it posted, so a restart never posts the same window twice. A moment missed while
the bot was down is still posted when it starts within :data:`GRACE` of it; older ones are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

GRACE = timedelta(hours=6)
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*(\S+)?\s*$")
HINT = 'NEWSBOT_DIGEST_AT takes a time of day and a time zone, e.g. "07:30 Europe/Zurich"'


@dataclass(frozen=True)
class Window:
    """What arrived in [since, until), posted at ``until``."""

    since: datetime
    until: datetime

    @property
    def key(self) -> str:
        return self.until.astimezone(UTC).isoformat(timespec="seconds")


def parse_time_of_day(value: str) -> tuple[time, tzinfo]:
    """("07:30", Europe/Zurich) from "07:30 Europe/Zurich"; ValueError naming the fix."""
    m = _TIME.match(value)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"{HINT}, not {value!r}")
    zone: tzinfo = UTC
    if m.group(3) and m.group(3).upper() not in ("UTC", "Z"):
        try:
            zone = ZoneInfo(m.group(3))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{HINT}; {m.group(3)!r} is not a time zone name") from None
    return time(int(m.group(1)), int(m.group(2))), zone


def last_window(value: str, now: datetime) -> Window:
    """The latest window whose closing moment is at or before ``now``."""
    at, zone = parse_time_of_day(value)
    local = now.astimezone(zone)
    moment = datetime.combine(local.date(), at, tzinfo=zone)
    if moment > local:
        moment = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=zone)
    previous = datetime.combine(moment.date() - timedelta(days=1), at, tzinfo=zone)
    return Window(previous.astimezone(UTC), moment.astimezone(UTC))


def due_window(value: str, now: datetime) -> Window | None:
    """The window to post now, if its moment passed less than :data:`GRACE` ago."""
    window = last_window(value, now)
    return window if now - window.until <= GRACE else None
