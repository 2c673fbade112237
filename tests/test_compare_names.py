"""/compare finds a claim told of different names, and not a name one outlet merely leaves out.

The articles are built in memory: the comparison reads only their texts and addresses (the
end-to-end run over three loopback outlets is in tests/test_news.py)."""

from __future__ import annotations

from bot.news.compare import compare_story
from bot.news.stories import Story, StoryArticle
from index.store import ArticleRecord


def _article(n: int, host: str, text: str) -> StoryArticle:
    record = ArticleRecord(
        id=f"article-{n}",
        content_hash=f"h{n}",
        source=f"http://{host}/storm",
        source_hash=f"s{n}",
        title="Storm hits Westmarch",
        url=f"http://{host}/storm",
        published="2025-03-03",
        authors="",
        chunks=1,
    )
    return StoryArticle(record=record, text=text, passages=[], vectors=None)


GUSTS = (
    "Storm hits Westmarch\n\nWind gusts reached 140 kilometres per hour near the port of {port}, "
    "where several fishing boats were torn from their moorings overnight."
)


def test_a_claim_told_of_another_place_is_a_name_difference() -> None:
    story = Story(
        articles=[
            _article(1, "news.example", GUSTS.format(port="Saltbridge")),
            _article(2, "daily.example", GUSTS.format(port="Saltbury")),
        ]
    )
    comparison = compare_story("storm gusts", story)
    (names,) = [d for d in comparison.differences if d.kind == "name"]
    assert {s.outlet: s.value for s in names.sides} == {
        "news.example": "Saltbridge",
        "daily.example": "Saltbury",
    }
    assert all(s.value in s.citation.quote for s in names.sides)
    assert names.label() == "Different names: Saltbridge vs Saltbury"


def test_a_name_only_one_outlet_gives_is_no_difference() -> None:
    plain = GUSTS.format(port="Saltbridge").replace(" near the port of Saltbridge", "")
    story = Story(
        articles=[
            _article(1, "news.example", GUSTS.format(port="Saltbridge")),
            _article(2, "daily.example", plain),
        ]
    )
    comparison = compare_story("storm gusts", story)
    assert not [d for d in comparison.differences if d.kind == "name"]
