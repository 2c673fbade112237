"""Small text helpers shared by the answering core and the front ends."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, in the plural unless the count is one: "1 article", "2 articles"."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"


def shorten(text: str, limit: int = 300) -> str:
    """Collapse whitespace and cut at a word boundary with an ellipsis to at most ``limit``."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut + "…"
