"""Section-aware, sentence-bounded chunks whose offsets map back into the article text exactly."""

from __future__ import annotations

from collections.abc import Iterator

from index.models import Article, Chunk
from index.sentences import sentence_spans
from index.structure import Block, parse_blocks

CHUNKER_VERSION = "3"  # bump when chunk boundaries change, so caches and indexes know
LEAD_CHARS = 80  # as long as a heading gets (index/structure.py)


# (section, kind, sentence spans, (post author, post date) or None)
_Run = tuple[str, str, list[tuple[int, int]], tuple[str, str] | None]


def chunk_article(
    article: Article, max_chars: int = 900, overlap: int = 1, min_chars: int = 200
) -> list[Chunk]:
    """Cut an article into chunks of whole sentences, never across a post, and across a section
    heading only to keep a short section from standing alone (see :func:`_join_short`).

    ``overlap`` repeats that many trailing sentences of a chunk at the start of the next one in
    the same run, so a fact that straddles a boundary is still found in one piece. A short
    section ("5. Colombia" in a ranked list, "Arizona: 90" in a table of states) never stands
    alone: as a chunk it has nothing to say, yet it outranks real passages on a few matching
    words, and the paragraph after a list item's name would lose its subject.
    """
    text = article.text
    chunks: list[Chunk] = []
    for section, kind, unit_spans, post in _join_short(_units(text, parse_blocks(text)), min_chars):
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


def _units(text: str, blocks: list[Block]) -> Iterator[_Run]:
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


def _join_short(runs: Iterator[_Run], min_chars: int) -> list[_Run]:
    """Give short runs a neighbour to stand with; posts are never merged.

    A title-like run (under :data:`LEAD_CHARS`: "5. Colombia", a table row, a byline) leads
    into the run after it, so a list item's name and the paragraph about it are one passage.
    Any other run under ``min_chars`` joins the run before it. A merged run keeps the section
    of its first part.
    """
    out: list[_Run] = []
    leads: list[_Run] = []
    for run in runs:
        if run[3] is not None:  # a post: leads before it fall back on what came before
            out.extend(_attach_back(out, leads))
            leads = []
            out.append(run)
        elif _size(run) < min(LEAD_CHARS, min_chars):
            leads.append(run)
        elif leads:
            out.append(_merge([*leads, run]))
            leads = []
        elif _size(run) < min_chars and out and out[-1][3] is None:
            out[-1] = _merge([out[-1], run])
        else:
            out.append(run)
    out.extend(_attach_back(out, leads))
    return out


def _attach_back(out: list[_Run], leads: list[_Run]) -> list[_Run]:
    """Merge trailing ``leads`` into the last run of ``out`` when they may share it; returns the
    runs still to append."""
    if not leads:
        return []
    if out and out[-1][3] is None:
        out[-1] = _merge([out[-1], *leads])
        return []
    return [_merge(leads)]


def _size(run: _Run) -> int:
    spans = run[2]
    return spans[-1][1] - spans[0][0]


def _merge(runs: list[_Run]) -> _Run:
    """One run spanning ``runs`` (consecutive, non-post), labelled with the first one's
    section and the kind of its largest part."""
    kind = max(runs, key=_size)[1]
    return runs[0][0], kind, [span for run in runs for span in run[2]], None


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
