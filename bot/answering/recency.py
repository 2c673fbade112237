"""Questions about time: "latest", "today", "this week", "in March" become a date window.

:func:`recency_intent` reads the question against a given ``today`` (injectable, so tests and the
evaluation can fix it) and returns a :class:`DateWindow`: the publication dates the question is
about, and whether newer articles should be preferred. A window read from a question is a
preference, not a filter: articles published inside it rank higher, but the others still count
(a question about "the end of September" may be answered by an article from August, and a news
quiz's "this week" often reaches into the week before); the window's articles are also searched on
their own, so that its best passages are candidates at all (``index.search``). Only
``newsbot ask --since/--until`` (``strict``) leave out everything outside the window. A full date
in a question ("what happened on January 6, 2021?") is about an event, not about when the news was
published, and is not read.
The date words stay in the question that is searched and answered: taking them out lowered answer
quality on the RealTime QA dev split. When no candidate falls inside a window read from the
question (an index older than its "today"), newer candidates are not preferred either: which of
them is newest then says nothing about the news asked for (see index.search).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.errors import InvalidQuestion

MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTH = "|".join(MONTHS)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_PREFER = re.compile(
    r"\b(?:the\s+)?(?:latest|newest|most\s+recent(?:ly)?|recent(?:ly)?|currently|"
    r"right\s+now|so\s+far|up\s+to\s+date)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateWindow:
    """Publication dates to search within (either end open) and a preference for newer ones."""

    since: date | None = None
    until: date | None = None
    prefer_recent: bool = False
    phrase: str = ""  # the words of the question that set it ("" when set by options)
    strict: bool = False  # leave out articles outside the window (explicit --since/--until)

    @property
    def restricts(self) -> bool:
        return self.since is not None or self.until is not None

    def describe(self) -> str:
        """The window in words, e.g. "published between 2025-03-03 and 2025-03-09"."""
        if self.since and self.until:
            if self.since == self.until:
                return f"published on {self.since.isoformat()}"
            return f"published between {self.since.isoformat()} and {self.until.isoformat()}"
        if self.since:
            return f"published since {self.since.isoformat()}"
        if self.until:
            return f"published until {self.until.isoformat()}"
        return "newest first"

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "prefer_recent": self.prefer_recent,
            "phrase": self.phrase or None,
            "strict": self.strict,
        }


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _relative(question: str, today: date) -> DateWindow | None:
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    fixed: list[tuple[str, date, date]] = [
        (r"\b(?:today|tonight|this\s+morning|this\s+afternoon|this\s+evening)\b", today, today),
        (r"\byesterday\b", today - timedelta(days=1), today),
        (r"\b(?:this|the\s+current)\s+week\b", min(monday, today - timedelta(days=6)), today),
        (r"\b(?:the\s+)?past\s+week\b", today - timedelta(days=6), today),
        (r"\blast\s+week\b", monday - timedelta(days=7), monday - timedelta(days=1)),
        (r"\bthis\s+month\b", first, today),
        (r"\blast\s+month\b", last_month_end.replace(day=1), last_month_end),
        (r"\bthis\s+year\b", date(today.year, 1, 1), today),
        (r"\blast\s+year\b", date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    ]
    for pattern, since, until in fixed:
        match = re.search(pattern, question, re.IGNORECASE)
        if match:
            return DateWindow(since, until, True, match.group(0))
    match = re.search(
        r"\b(?:in\s+|over\s+)?(?:the\s+)?(?:past|last)\s+(\d{1,3}|one|two|three|four|five|six|seven)"
        r"\s+(day|week|month)s?\b",
        question,
        re.IGNORECASE,
    )
    if match:
        count = _NUMBER_WORDS.get(match.group(1).lower()) or int(match.group(1))
        days = count * {"day": 1, "week": 7, "month": 30}[match.group(2).lower()]
        return DateWindow(today - timedelta(days=max(days, 1) - 1), today, True, match.group(0))
    return None


def _month(question: str, today: date) -> DateWindow | None:
    match = re.search(
        rf"\b(?:(in|during|since|from|throughout|of|early|late|mid)[\s-]+)?(?:the\s+month\s+of\s+)?"
        rf"({_MONTH})(?:\s+(\d{{4}}))?\b",
        question,
        re.IGNORECASE,
    )
    if not match or not (match.group(1) or match.group(3)):
        return None  # a bare month word ("May I ask…", "the March on Washington") is not a date
    month = MONTHS[match.group(2).lower()]
    latest_year = today.year if month <= today.month else today.year - 1
    year = int(match.group(3)) if match.group(3) else latest_year
    since = date(year, month, 1)
    if (match.group(1) or "").lower() == "since":
        return DateWindow(since, None, True, match.group(0))
    return DateWindow(since, _month_end(year, month), False, match.group(0))


def recency_intent(question: str, today: date) -> DateWindow | None:
    """The date window a question asks for, if any (see the module docstring)."""
    found = _relative(question, today) or _month(question, today)
    if found is not None:
        return found
    match = _PREFER.search(question)
    if match:
        return DateWindow(prefer_recent=True, phrase=match.group(0))
    return None


def parse_day(value: str | date | None, option: str) -> date | None:
    """A date given by a person (``2025-03-01``, ``1 March 2025``, ``today``, ``yesterday``)."""
    if value is None or isinstance(value, date):
        return value
    text = value.strip().lower()
    if text in {"today", "yesterday"}:
        return date.today() - timedelta(days=1 if text == "yesterday" else 0)
    from dateutil import parser

    try:
        day: date = parser.parse(value, dayfirst=False, yearfirst=True).date()
        return day
    except (ValueError, OverflowError):
        raise InvalidQuestion(
            f"{option} {value!r} is not a date. Write it as YYYY-MM-DD, for example "
            f"{option} 2025-03-01."
        ) from None


def resolve_window(
    question: str, today: date, since: date | None = None, until: date | None = None
) -> DateWindow | None:
    """Explicit ``since``/``until`` win over what the question says; otherwise its intent."""
    if since is not None or until is not None:
        if since is not None and until is not None and since > until:
            raise InvalidQuestion(
                f"--since {since.isoformat()} is after --until {until.isoformat()}; swap them."
            )
        return DateWindow(since, until, strict=True)
    return recency_intent(question, today)
