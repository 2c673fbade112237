"""Sentence boundaries with character offsets (rule based: fast, deterministic, no model)."""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr st jr sr gen sen rep gov lt col sgt capt prof inc co corp ltd vs etc fig
    jan feb mar apr jun jul aug sep sept oct nov dec mt ft approx dept est univ ave blvd""".split()
)
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"“‘'(\[]?[A-Z0-9])")
_INITIALS = re.compile(r"(?:\b[A-Za-z]\.)+$")


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at ``dot`` ends an abbreviation or initials rather than a sentence."""
    if text[dot] != ".":
        return False
    head = text[max(0, dot - 12) : dot + 1]
    if _INITIALS.search(head):
        return True
    word = re.search(r"(\w+)\.$", head)
    return bool(word and word.group(1).lower() in _ABBREVIATIONS)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into sentences; returns absolute ``(start, end)`` spans, trimmed.

    Line breaks always end a sentence, so headings and list items stay separate.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        line_start = start + line.start()
        line_text = line.group(0)
        cursor = 0
        for match in _END.finditer(line_text):
            if _is_abbreviation(line_text, match.start()):
                continue
            spans.append((line_start + cursor, line_start + match.end()))
            cursor = match.end()
        spans.append((line_start + cursor, line_start + len(line_text)))
    return [s for s in (_trim(text, a, b) for a, b in spans) if s[1] > s[0]]


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
