"""Dates: what is stored, date words in questions, windows, recency, "as of" and disagreements."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from typer.testing import CliRunner

from bot.answering.conflicts import figures
from bot.answering.recency import DateWindow, parse_day, recency_intent, resolve_window
from bot.answering.service import AnswerService, build_service, build_store
from bot.errors import InvalidQuestion
from bot.frontends.cli import app
from bot.settings import Settings
from index.build import build_index
from index.embedding import Embedder
from index.search import HybridSearcher
from tests.conftest import make_settings
from tests.newsserver import BRIDGE, CAFE, STORM, STORM_UPDATE

TODAY = date(2025, 3, 12)  # a Wednesday

JANUARY_STORM = [
    "A winter storm brought heavy snow to Westmarch province in January, closing mountain roads "
    "for three days and stranding hundreds of drivers.",
    "Snow ploughs cleared the main highway by the weekend, the roads agency said.",
]

RECORDS = [
    ("Storm kills 12 in Westmarch", STORM, "March 3, 2025"),
    ("Westmarch storm toll rises", STORM_UPDATE, "2025-03-06T10:15:00Z"),
    ("Council approves Mill River bridge", BRIDGE, "04/03/2025"),
    ("Snow closes Westmarch roads", JANUARY_STORM, "2025-01-10"),
    ("Zürich café owners protest", CAFE, None),
]


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    tmp = tmp_path_factory.mktemp("dated")
    (tmp / "articles").mkdir()
    lines = [
        json.dumps(
            {
                "url": f"https://news.example/{n}",
                "title": title,
                "text": "\n\n".join(paragraphs),
                "publish_date": when,
            }
        )
        for n, (title, paragraphs, when) in enumerate(RECORDS)
    ]
    (tmp / "articles" / "news.jsonl").write_text("\n".join(lines))
    settings = make_settings(tmp, today=TODAY)
    build_index(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="module")
def service(dated: Settings, embedder: Embedder) -> AnswerService:
    return build_service(dated, embedder=embedder)


def titles(hits: list) -> list[str]:  # type: ignore[type-arg]
    return list(dict.fromkeys(h.meta["title"] for h in hits))


# -- reading date words -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "since", "until", "prefer"),
    [
        ("What happened today in Westmarch?", "2025-03-12", "2025-03-12", True),
        ("What did the mayor say yesterday?", "2025-03-11", "2025-03-12", True),
        ("Which bills passed this week?", "2025-03-06", "2025-03-12", True),
        ("What happened last week?", "2025-03-03", "2025-03-09", True),
        ("Any floods in the past 3 days?", "2025-03-10", "2025-03-12", True),
        ("What changed this month?", "2025-03-01", "2025-03-12", True),
        ("How did the economy do last year?", "2024-01-01", "2024-12-31", True),
        ("What did the Fed decide in March?", "2025-03-01", "2025-03-31", False),
        ("Who won the election in December?", "2024-12-01", "2024-12-31", False),  # latest past one
        ("What happened in May 2023?", "2023-05-01", "2023-05-31", False),
        ("What is the latest death toll?", None, None, True),
    ],
)
def test_recency_intent(question: str, since: str | None, until: str | None, prefer: bool) -> None:
    window = recency_intent(question, TODAY)
    assert window is not None
    assert (
        window.since and window.since.isoformat(),
        window.until and window.until.isoformat(),
    ) == (
        since,
        until,
    )
    assert window.prefer_recent is prefer and not window.strict


@pytest.mark.parametrize(
    "question",
    [
        "May I ask what the council decided?",
        "Who organised the March on Washington?",
        "What happened on January 6, 2021?",  # a date of an event, not of publication
        "What did the record-breaking crowd chant?",
    ],
)
def test_no_recency_intent(question: str) -> None:
    assert recency_intent(question, TODAY) is None


def test_explicit_dates() -> None:
    assert parse_day("2025-03-01", "--since") == date(2025, 3, 1)
    assert parse_day("1 March 2025", "--since") == date(2025, 3, 1)
    assert parse_day(None, "--since") is None
    with pytest.raises(
        InvalidQuestion, match=r"--since 'soon' is not a date\. Write it as YYYY-MM-DD"
    ):
        parse_day("soon", "--since")
    window = resolve_window("What happened today?", TODAY, since=date(2025, 1, 1))
    assert window == DateWindow(date(2025, 1, 1), None, strict=True)  # options win over words
    with pytest.raises(InvalidQuestion, match="is after --until"):
        resolve_window("x", TODAY, date(2025, 3, 2), date(2025, 3, 1))


# -- what is stored ---------------------------------------------------------------------------------
def test_every_article_and_chunk_carries_an_iso_date(dated: Settings) -> None:
    store = build_store(dated)
    meta = store.meta()
    assert meta is not None
    published = {r.title: r.published for r in store.manifest(meta.generation).values()}
    assert published == {
        "Storm kills 12 in Westmarch": "2025-03-03",
        "Westmarch storm toll rises": "2025-03-06",
        "Council approves Mill River bridge": "2025-04-03",  # dateutil reads 04/03 month first
        "Snow closes Westmarch roads": "2025-01-10",
        "Zürich café owners protest": "",
    }
    for _, m, _ in store.all_chunks(meta.generation):
        assert m["published"] == published[m["title"]]


# -- searching within a window and preferring newer articles -------------------------------------
def test_strict_window_filters_both_retrievers(service: AnswerService) -> None:
    searcher: HybridSearcher = service.searcher
    query = "Westmarch storm people killed"
    march = searcher.search(query, 10, since=date(2025, 3, 1), until=date(2025, 3, 31))
    assert set(titles(march.hits)) <= {
        "Storm kills 12 in Westmarch",
        "Westmarch storm toll rises",
        "Council approves Mill River bridge",
    }
    assert "Snow closes Westmarch roads" in titles(searcher.search(query, 10).hits)
    only_january = searcher.search(query, 10, until=date(2025, 1, 31))
    assert titles(only_january.hits) == ["Snow closes Westmarch roads"]
    assert searcher.search(query, 10, since=date(2026, 1, 1)).hits == []  # nothing that new


def test_soft_window_and_recency_move_articles_up(service: AnswerService) -> None:
    searcher = service.searcher
    query = "storm in Westmarch province"
    plain = titles(searcher.search(query, 10).hits)
    january = titles(searcher.search(query, 10, until=date(2025, 1, 31), strict=False).hits)
    assert january[0] == "Snow closes Westmarch roads" and len(january) >= 3
    newest = titles(searcher.search(query, 10, prefer_recent=True, now=TODAY).hits)
    assert newest.index("Westmarch storm toll rises") < newest.index("Storm kills 12 in Westmarch")
    assert newest.index("Westmarch storm toll rises") <= plain.index("Westmarch storm toll rises")
    # "now" caps what counts as newest: fixed before the update, the first report is the newest
    before = titles(searcher.search(query, 10, prefer_recent=True, now=date(2025, 3, 4)).hits)
    assert before.index("Storm kills 12 in Westmarch") < before.index("Westmarch storm toll rises")


# -- answers ----------------------------------------------------------------------------------------
def test_latest_question_answers_from_newest_and_shows_both_figures(
    service: AnswerService,
) -> None:
    answer = service.ask("What is the latest death toll from the Westmarch storm?")
    assert answer.found and answer.window and answer.window["prefer_recent"]
    assert answer.citations[0].title == "Westmarch storm toll rises"
    assert answer.as_of == "2025-03-06"
    assert len(answer.disagreements) == 1
    sides = answer.disagreements[0]["sides"]
    assert [(s["figure"], s["published"]) for s in sides] == [
        ("15 people", "2025-03-06"),
        ("12 people", "2025-03-03"),
    ]
    cited = {c.n: c for c in answer.citations}
    assert cited[sides[1]["citation"]].title == "Storm kills 12 in Westmarch"
    assert "killing 12 people" in cited[sides[1]["citation"]].quote
    assert (
        "The sources give different figures: “15 people” [1] (Westmarch storm toll rises, "
        f"2025-03-06) vs “12 people” [{sides[1]['citation']}] (Storm kills 12 in Westmarch, 2025-03-03)."
    ) in answer.answer
    assert answer.question == "What is the latest death toll from the Westmarch storm?"
    store = service.searcher.store
    texts = store.article_texts(store.meta().generation, [c.article_id for c in answer.citations])
    for c in answer.citations:  # every quote, the other side's too, is exactly the article's text
        assert texts[c.article_id][c.start : c.end] == c.quote


def test_explicit_window_answers_only_from_it(service: AnswerService) -> None:
    answer = service.ask(
        "How many people did the Westmarch storm kill?",
        since=date(2025, 3, 1),
        until=date(2025, 3, 4),
    )
    assert answer.found and {c.title for c in answer.citations} == {"Storm kills 12 in Westmarch"}
    assert answer.disagreements == [] and answer.as_of == "2025-03-03"
    empty = service.ask(
        "How many people died in the storm?", since=date(2025, 2, 1), until=date(2025, 2, 28)
    )
    assert not empty.found
    assert empty.answer == (
        "The indexed articles published between 2025-02-01 and 2025-02-28 do not cover this question."
    )
    assert empty.window == {
        "since": "2025-02-01",
        "until": "2025-02-28",
        "prefer_recent": False,
        "phrase": None,
        "strict": True,
    }


def test_figures_read_units_and_dates() -> None:
    found = {(f.kind, f.unit, f.value) for f in figures("The storm killed 12 people on March 3.")}
    assert found == {("number", "peopl", 12.0), ("date", "date", (3, 3, None))}
    money = figures("It will cost $3.5 billion, or 45% more, and employ two thousand workers.")
    assert [(f.unit, f.value) for f in money] == [("$", 3.5e9), ("%", 45.0), ("worker", 2000.0)]
    assert figures("In 2024 a 12-year-old met one of the G20 leaders.") == []


@pytest.fixture
def cli_env(dated: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(dated.data_dir))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(dated.article_dirs[0]))
    from bot.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_ask_since_until(cli_env: None) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ask", "Westmarch storm", "--since", "next tuesday-ish"])
    assert result.exit_code == 2 and "is not a date. Write it as YYYY-MM-DD" in result.output
    result = runner.invoke(
        app,
        ["ask", "How many people did the Westmarch storm kill?", "--until", "2025-03-04", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["window"]["until"] == "2025-03-04" and data["as_of"] == "2025-03-03"
    assert {c["published"] for c in data["citations"]} <= {"2025-03-03", "2025-01-10"}
    result = runner.invoke(app, ["ask", "How many people did the Westmarch storm kill?"])
    assert "As of 2025-03-06 (the newest cited article)." in result.output


def test_a_question_about_this_week_is_not_answered_from_a_story_years_old() -> None:
    from datetime import date

    from index.search import Hit, drop_older

    def hit(cid: str, published: str) -> Hit:
        return Hit(cid, "text", {"article_id": cid, "start": 0, "published": published})

    old, recent, undated = hit("old", "2016-01-17"), hit("new", "2022-07-10"), hit("undated", "")
    week = (date(2022, 7, 9), date(2022, 7, 15))
    kept = drop_older([old, recent, undated], *week, slack_days=30)
    assert [h.chunk_id for h in kept] == ["new", "undated"]
    # nothing from that time: the index predates the question, keep what there is
    assert drop_older([old, undated], *week, slack_days=30) == [old, undated]
    assert drop_older([old, recent], *week, slack_days=-1) == [old, recent]  # turned off
