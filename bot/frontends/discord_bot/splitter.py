"""Split long text into pieces under Discord's length limits, at the most natural boundary.

Pieces end at a paragraph break if one is reasonably close to the limit, else at a line break,
a sentence end or a space. They never end inside a citation marker (``[3]``), a link (bare,
``<…>`` or masked ``[text](url)``), a code span or block, a Discord mention or emoji, or between
a backslash and the character it escapes. Only a single protected run longer than the limit is
cut, because it cannot fit anywhere. ``"".join(split_text(text, n)) == text`` always holds.

Lengths are counted in UTF-16 code units, as Discord's clients do; that is never less than the
number of Python characters, so a piece that passes Discord's count also passes any other.
"""

from __future__ import annotations

import bisect
import re
from itertools import accumulate

MESSAGE_LIMIT = 2000
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_LIMIT = 1024
EMBED_TOTAL_LIMIT = 6000

# Runs that must stay whole. Order matters: an escape pair is consumed before it can start a
# code span, a fenced block before an inline span.
PROTECTED = re.compile(
    r"\\."  # an escaped character
    r"|```[\s\S]*?```"  # a fenced code block
    r"|``[^`]+?``|`[^`\n]+`"  # an inline code span
    r"|\[[^\[\]\n]*\]\([^()\s]*\)"  # a masked link [text](url)
    r"|\[\d+(?:\s*[,–-]\s*\d+)*\]"  # a citation marker [3], [1, 2], [1-3]
    r"|<(?:https?://|@[!&]?|#|a?:|t:)[^<>\s]*>"  # <url>, mentions, channels, emoji, timestamps
    r"|(?:https?|steam)://[^\s<>]+",  # a bare link
    re.DOTALL,
)

# Break positions, best first. Each match's end is a place where a piece may end.
_BREAKS = (
    re.compile(r"\n[ \t]*\n\s*"),  # a paragraph break
    re.compile(r"\n\s*"),  # a line break
    re.compile(r"""[.!?…]["'”’)\]]*(?:\s*\[\d+(?:\s*[,–-]\s*\d+)*\])*\s+"""),  # a sentence end
    re.compile(r"\s+"),  # a space
)
MIN_FILL = 0.5  # prefer a better kind of break only if it keeps at least this share of the limit


def units(text: str) -> int:
    """Length as Discord counts it (UTF-16 code units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` units that join back to ``text``."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    if units(text) <= limit:
        return [text] if text else []
    widths = [0, *accumulate(2 if ord(ch) > 0xFFFF else 1 for ch in text)]
    protected = [(m.start(), m.end()) for m in PROTECTED.finditer(text)]
    breaks = [sorted({m.end() for m in pattern.finditer(text)}) for pattern in _BREAKS]
    pieces = []
    start = 0
    while widths[-1] - widths[start] > limit:
        # the furthest end that keeps the piece within the limit
        end = bisect.bisect_right(widths, widths[start] + limit) - 1
        cut = _best_break(start, end, breaks, protected) or _hard_cut(start, end, protected)
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def _run_around(position: int, protected: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The protected run that ``position`` falls strictly inside, if any."""
    i = bisect.bisect_left(protected, (position,)) - 1  # the last run starting before it
    if i >= 0 and position < protected[i][1]:
        return protected[i]
    return None


def _best_break(
    start: int, end: int, breaks: list[list[int]], protected: list[tuple[int, int]]
) -> int | None:
    fallback = None
    floor = start + int((end - start) * MIN_FILL)
    for positions in breaks:
        lo = bisect.bisect_right(positions, start)
        hi = bisect.bisect_right(positions, end)
        for position in reversed(positions[lo:hi]):
            if _run_around(position, protected):
                continue
            if position >= floor:
                return position
            fallback = max(fallback or 0, position)
            break
    return fallback


def _hard_cut(start: int, end: int, protected: list[tuple[int, int]]) -> int:
    """No break fits: cut at the limit, or before the protected run the limit falls into."""
    run = _run_around(end, protected)
    return run[0] if run and run[0] > start else end
