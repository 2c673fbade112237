"""The message splitter: property tests (hypothesis) and a few exact cases."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.frontends.discord_bot.formatting import escape
from bot.frontends.discord_bot.splitter import MESSAGE_LIMIT, split_text, units

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÀéß😀", min_size=1, max_size=12)
PROTECTED = st.one_of(
    st.integers(1, 99).map(lambda n: f"[{n}]"),
    st.tuples(st.integers(1, 9), st.integers(1, 9)).map(lambda t: f"[{t[0]}, {t[1]}]"),
    WORDS.map(lambda w: f"https://example.com/{w}?q=1"),
    WORDS.map(lambda w: f"<https://example.org/{w}>"),
    st.tuples(WORDS, WORDS).map(lambda t: f"[{t[0]}](https://news.example/{t[1]})"),
    WORDS.map(lambda w: f"`{w} x`"),
    WORDS.map(lambda w: f"```\n{w}\n```"),
    st.sampled_from(["\\*", "\\_", "\\`", "<@123456789012345678>", "<:wave:1234567890>"]),
)
SEPARATORS = st.sampled_from([" ", "  ", "\n", "\n\n", ". ", "! ", "? ", ".” ", " — "])


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    """Text made of words and protected runs, with the positions of the protected runs."""
    parts: list[str] = []
    runs: list[tuple[int, int]] = []
    position = 0
    for _ in range(draw(st.integers(1, 80))):
        if draw(st.booleans()):
            token = draw(PROTECTED)
            runs.append((position, position + len(token)))
        else:
            token = draw(WORDS)
        separator = draw(SEPARATORS)
        parts += [token, separator]
        position += len(token) + len(separator)
    return "".join(parts), runs


def boundaries(pieces: list[str]) -> list[int]:
    out, position = [], 0
    for piece in pieces[:-1]:
        position += len(piece)
        out.append(position)
    return out


@settings(max_examples=200, deadline=None)
@given(documents(), st.integers(60, 400))
def test_pieces_fit_join_back_and_never_cut_a_protected_run(
    document: tuple[str, list[tuple[int, int]]], limit: int
) -> None:
    text, runs = document
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    assert all(0 < units(p) <= limit for p in pieces)
    for cut in boundaries(pieces):
        for start, end in runs:
            assert not start < cut < end, (text[start:end], cut)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000), st.integers(2, 300))
def test_any_text_fits_and_joins_back(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    assert all(0 < units(p) <= limit for p in pieces)


@settings(max_examples=80, deadline=None)
@given(documents())
def test_escaped_article_text_splits_under_the_message_limit(
    document: tuple[str, list[tuple[int, int]]],
) -> None:
    text = escape(document[0] * 3)
    pieces = split_text(text, MESSAGE_LIMIT)
    assert "".join(pieces) == text
    assert all(units(p) <= MESSAGE_LIMIT for p in pieces)
    assert all(not p.endswith("\\") or p.endswith("\\\\") for p in pieces[:-1])


def test_prefers_paragraphs_then_sentences_then_words() -> None:
    first = "First paragraph has two sentences. It ends here [1]."
    second = "Second paragraph is short."
    pieces = split_text(f"{first}\n\n{second}", len(first) + 10)
    assert pieces == [f"{first}\n\n", second]

    text = "One sentence here [1]. Another sentence follows [2]. A third one ends it."
    pieces = split_text(text, 55)
    assert pieces[0] == "One sentence here [1]. Another sentence follows [2]. "

    pieces = split_text("word " * 30, 52)
    assert all(p.endswith(" ") for p in pieces[:-1])


def test_a_marker_right_at_the_limit_moves_to_the_next_piece() -> None:
    text = "x" * 50 + " [12] tail"
    pieces = split_text(text, 54)
    assert pieces == ["x" * 50 + " ", "[12] tail"]


def test_a_protected_run_longer_than_the_limit_is_cut_only_because_it_must() -> None:
    url = "https://example.com/" + "a" * 100
    pieces = split_text(f"see {url} now", 60)
    assert "".join(pieces) == f"see {url} now"
    assert pieces[0] == "see "  # not cut before it had to be
    assert all(units(p) <= 60 for p in pieces)


def test_counts_like_discord_does() -> None:
    assert units("😀") == 2 and units("é") == 1
    pieces = split_text("😀" * 1500, MESSAGE_LIMIT)
    assert [units(p) for p in pieces] == [2000, 1000]
    assert split_text("", 10) == [] and split_text("short", 10) == ["short"]
