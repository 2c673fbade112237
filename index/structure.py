"""Find the structure of a cleaned article body: section headings, list items, embedded posts."""

from __future__ import annotations

import re
from dataclasses import dataclass

# "— Mario Nawfal (@MarioNawfal) March 14, 2025": the attribution line that closes an embedded post.
POST_ATTRIBUTION = re.compile(
    r"^[—–-]{1,2}\s*(?P<author>[^()\n]{1,80}?)\s*\(@(?P<handle>\w{1,30})\)\s*(?P<date>[A-Z][a-z]+\.? \d{1,2}, \d{4})$"
)
_MAX_POST_LINE = 300  # posts are short; article paragraphs are longer
_MAX_POST_LINES = 6
_LIST_ITEM = re.compile(r"^(?:[-*•·]|\d{1,2}[.)])\s+")


@dataclass(frozen=True)
class Block:
    kind: str  # heading | paragraph | list | post
    start: int
    end: int
    post_author: str = ""
    post_date: str = ""


def _lines(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]


def _is_heading(line: str, next_line: str | None) -> bool:
    words = line.split()
    if not words or len(words) > 10 or len(line) > 80 or next_line is None:
        return False
    if line[-1] in '.!?:;,"”’)' or _LIST_ITEM.match(line) or not line[0].isupper():
        return False
    capitalised = sum(1 for w in words if w[0].isupper() or not w[0].isalpha())
    return capitalised >= max(1, len(words) // 2) and len(next_line) > len(line)


def parse_blocks(text: str) -> list[Block]:
    """Split a body into blocks, one or more lines each, in order and covering every line."""
    lines = _lines(text)
    kinds: list[str] = ["paragraph"] * len(lines)
    posts: dict[int, tuple[int, str, str]] = {}  # first line -> (last line, author, date)
    for i, (a, b) in enumerate(lines):
        match = POST_ATTRIBUTION.match(text[a:b])
        if not match:
            continue
        first = i
        while (
            first - 1 >= 0
            and i - first < _MAX_POST_LINES
            and kinds[first - 1] == "paragraph"
            and lines[first - 1][1] - lines[first - 1][0] <= _MAX_POST_LINE
        ):
            first -= 1
        author = f"{match.group('author').strip()} (@{match.group('handle')})"
        posts[first] = (i, author, match.group("date"))
        for j in range(first, i + 1):
            kinds[j] = "post"
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        a, b = lines[i]
        if i in posts:
            last, author, date = posts[i]
            blocks.append(Block("post", a, lines[last][1], author, date))
            i = last + 1
            continue
        line = text[a:b]
        nxt = text[lines[i + 1][0] : lines[i + 1][1]] if i + 1 < len(lines) else None
        if _is_heading(line, nxt):
            blocks.append(Block("heading", a, b))
        elif _LIST_ITEM.match(line):
            blocks.append(Block("list", a, b))
        else:
            blocks.append(Block("paragraph", a, b))
        i += 1
    return blocks
