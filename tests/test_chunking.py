from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunking import chunk_article
from index.clean import clean_text
from index.models import Article
from index.sentences import sentence_spans
from tests.conftest import SEEDS
from tests.reading import read_folders

SECTIONS = [
    "At a Glance",
    "Sovereignty Dispute Emerges",
    "Mexico’s Security Response",
    "Beyond Military Solutions",
    "Economic Interdependence Amid Security Tensions",
]


def seed_article() -> Article:
    result = read_folders([SEEDS])
    assert not result.problems
    (article,) = result.articles
    return article


def test_seed_article_metadata() -> None:
    article = seed_article()
    assert article.title == "Sheinbaum REJECTS Trump’s Proposal – Wow!"
    assert article.text.startswith("Mexico’s President Claudia Sheinbaum")
    assert len(article.content_hash) == 64


def test_chunks_map_back_to_the_article_exactly() -> None:
    article = seed_article()
    chunks = chunk_article(article)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert chunk.article_id == article.id


def test_sections_are_metadata_and_posts_are_marked() -> None:
    chunks = chunk_article(seed_article())
    assert [s for s in SECTIONS if s in {c.section for c in chunks}] == SECTIONS
    posts = [c for c in chunks if c.kind == "post"]
    assert [(p.post_author, p.post_date) for p in posts] == [
        ("Mario Nawfal (@MarioNawfal)", "March 14, 2025"),
        ("SubX.News® (@SubxNews)", "February 28, 2025"),
    ]
    assert "STRIKES ON CARTELS" in posts[0].text and "Caro Quintero" in posts[1].text
    prose = " ".join(c.text for c in chunks if c.kind != "post")
    assert "MarioNawfal" not in prose and "STRIKES ON CARTELS" not in prose
    assert not any(c.text in SECTIONS for c in chunks)


def test_chunks_are_sentence_bounded_and_sized() -> None:
    article = seed_article()
    chunks = chunk_article(article, max_chars=300, overlap=0)
    starts = {a for a, _ in sentence_spans(article.text)}
    ends = {b for _, b in sentence_spans(article.text)}
    for chunk in chunks:
        assert chunk.start in starts and chunk.end in ends


def test_sentence_splitter_keeps_abbreviations() -> None:
    text = "U.S. troops went in. Mr. Smith said no. The U.S. Senate voted 51-49! Then what?"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "U.S. troops went in.",
        "Mr. Smith said no.",
        "The U.S. Senate voted 51-49!",
        "Then what?",
    ]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.text(min_size=0, max_size=200), min_size=1, max_size=12),
    st.integers(50, 800),
    st.integers(0, 2),
)
def test_chunk_offsets_property(paragraphs: list[str], max_chars: int, overlap: int) -> None:
    body = clean_text("\n".join(paragraphs))
    article = Article(id="a", title="t", text=body, source="s")
    chunks = chunk_article(article, max_chars=max_chars, overlap=overlap)
    covered = set()
    for chunk in chunks:
        assert body[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        covered.update(range(chunk.start, chunk.end))
    words = {i for i, ch in enumerate(body) if not ch.isspace()}
    assert _headings_only(body, words - covered)


def _headings_only(body: str, missing: set[int]) -> bool:
    """Characters left out of every chunk may only be section headings."""
    from index.structure import parse_blocks

    headings = set()
    for block in parse_blocks(body):
        if block.kind == "heading":
            headings.update(range(block.start, block.end))
    return missing <= headings


def _listicle() -> Article:
    items = [
        f"{n}. Item number {n}\n"
        f"This paragraph describes item {n} at some length, so that it reads like the body of a "
        f"ranked list on a news site, with a sentence or two of detail about why it made the cut."
        for n in range(1, 6)
    ]
    states = "\n".join(f"{s}: {n}" for s, n in [("Alaska", 1), ("Arizona", 90), ("Arkansas", 6)])
    states += "\n" + "\n".join(f"{s}: {n}" for s, n in [("California", 826), ("Colorado", 78)])
    body = clean_text(
        "Cases by state\nThe counts below come from the health agency's latest weekly update.\n"
        + states
        + "\n"
        + "\n".join(items)
    )
    return Article(id="l", title="Ranked", text=body, source="s")


def test_short_sections_join_the_text_after_them() -> None:
    article = _listicle()
    chunks = chunk_article(article, max_chars=900, overlap=0, min_chars=200)
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) >= 80
    # an item's heading line is cited together with the paragraph about it
    for n in range(1, 6):
        (holder,) = [c for c in chunks if f"{n}. Item number {n}\n" in c.text + "\n"]
        assert f"describes item {n} " in holder.text
    # table rows are not a chunk each
    assert not any(c.text.strip() in {"Arizona: 90", "California: 826"} for c in chunks)


def test_without_a_minimum_every_section_stands_alone() -> None:
    chunks = chunk_article(_listicle(), max_chars=900, overlap=0, min_chars=0)
    assert any(len(c.text) < 40 for c in chunks)  # the behaviour the minimum exists to prevent
