"""Section-aware, sentence-bounded chunks whose offsets map back into the article text exactly."""

from __future__ import annotations

from collections.abc import Iterator

from index.models import Article, Chunk
from index.sentences import sentence_spans
from index.structure import Block, parse_blocks

CHUNKER_VERSION = "2"  # bump when chunk boundaries change, so caches and indexes know


def chunk_article(article: Article, max_chars: int = 900, overlap: int = 1) -> list[Chunk]:
    """Cut an article into chunks of whole sentences, never across a section heading or a post.

    ``overlap`` repeats that many trailing sentences of a chunk at the start of the next one in
    the same section, so a fact that straddles a boundary is still found in one piece.
    """
    text = article.text
    chunks: list[Chunk] = []
    for section, kind, unit_spans, post in _units(text, parse_blocks(text)):
        for start, end in _pack(unit_spans, max_chars, overlap):
            chunks.append(
                Chunk(
                    article_id=article.id,
                    position=len(chunks),
                    start=start,
                    end=end,
                    text=text[start:end],
                    section=section,
                    kind=kind,
                    post_author=post[0] if post else "",
                    post_date=post[1] if post else "",
                )
            )
    return chunks


def _units(
    text: str, blocks: list[Block]
) -> Iterator[tuple[str, str, list[tuple[int, int]], tuple[str, str] | None]]:
    """Group blocks into runs that may share a chunk: same section, same kind (prose vs post)."""
    section = ""
    run: list[tuple[int, int]] = []
    run_kind = "prose"
    for block in blocks:
        if block.kind == "heading":
            if run:
                yield section, run_kind, run, None
            section, run = text[block.start : block.end], []
            continue
        if block.kind == "post":
            if run:
                yield section, run_kind, run, None
                run = []
            yield section, "post", [(block.start, block.end)], (block.post_author, block.post_date)
            continue
        kind = "list" if block.kind == "list" else "prose"
        if run and kind != run_kind:
            yield section, run_kind, run, None
            run = []
        run_kind = kind
        run.extend(sentence_spans(text, block.start, block.end))
    if run:
        yield section, run_kind, run, None


def _pack(spans: list[tuple[int, int]], max_chars: int, overlap: int) -> Iterator[tuple[int, int]]:
    """Pack consecutive sentence spans into windows of at most ``max_chars`` (one long sentence
    is kept whole)."""
    i = 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and spans[j][1] - spans[i][0] <= max_chars:
            j += 1
        yield spans[i][0], spans[j - 1][1]
        if j >= len(spans):
            return
        i = max(j - overlap, i + 1)
