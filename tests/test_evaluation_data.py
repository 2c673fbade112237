"""Tests for bot.evaluation: dataset loading, URL/boilerplate helpers and scoring."""

from __future__ import annotations

import datetime
import json
import logging
from pathlib import Path

import pytest

from bot.evaluation.dataset import (
    EvalCorpus,
    Page,
    Question,
    derive_title,
    is_ad_boilerplate,
    load_dataset,
    normalize_url,
    write_records,
)
from bot.evaluation.scoring import answer_hit, best_choice, retrieval_metrics, tokenize

DEV = Path(__file__).resolve().parents[1].parent / "shared/eval/realtimeqa/dev"

AD_TEXT = (
    "1. How relevant is this ad to you?\n\nVideo player was slow to load content "
    "Video content never loaded Ad froze or did not finish loading Video content did "
    "not start after ad Audio on ad was too loud Other issues"
)
ARTICLE = (
    "CNN —\n\nThe city council voted on Tuesday to approve a new budget that adds "
    "funding for parks, libraries and public transit. The mayor said the plan would "
    "take effect next month after a final review by the state. Residents who spoke at "
    "the meeting largely supported the changes, though some asked for more money for "
    "road repairs."
)


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (
            "https://www.cnn.com/2022/06/12/media/squid-game-season-2/index.html",
            "https://www.cnn.com/2022/06/12/media/squid-game-season-2",
        ),
        (
            "http://www.cnn.com/2022/06/12/media/squid-game-season-2/",
            "https://cnn.com/2022/06/12/media/squid-game-season-2/index.htm",
        ),
        (
            "https://www.cnn.com/2022/07/28/investing/spirit-jetblue/index.html?utm_source=x",
            "https://www.cnn.com/2022/07/28/investing/spirit-jetblue?cid=external-feeds",
        ),
        (
            "https://WWW.CNN.com/2022/06/12/tech/lightning/index.html#:~:text=The%20company",
            "https://cnn.com/2022/06/12/tech/lightning",
        ),
        (
            "https://www.cnn.com/2022/06/14/us/yellowstone/index.html/",
            "https://www.cnn.com/2022/06/14/us/yellowstone",
        ),
        (
            "https://www.theweek.co.uk/news/957381/ten-things?amp",
            "https://theweek.co.uk/news/957381/ten-things",
        ),
    ],
)
def test_normalize_url_equates_variants(left: str, right: str) -> None:
    assert normalize_url(left) == normalize_url(right)


def test_normalize_url_shape() -> None:
    url = "http://www.CNN.com:80/2022/06/12/media/Squid-Game/index.html?utm_source=a#top"
    assert normalize_url(url) == "https://cnn.com/2022/06/12/media/Squid-Game"
    assert normalize_url("https://gasprices.aaa.com/") == "https://gasprices.aaa.com"


def test_normalize_url_keeps_query_of_redirect_pages() -> None:
    first = normalize_url("https://e.newsletters.cnn.com/click?EYWxle/AAA&utm_source=x")
    second = normalize_url("https://e.newsletters.cnn.com/click?EYWxle/BBB")
    assert first == "https://e.newsletters.cnn.com/click?EYWxle/AAA"
    assert first != second


def test_normalize_url_is_idempotent() -> None:
    url = normalize_url("http://www.cnn.com/2022/06/12/us/story/index.html?x=1")
    assert normalize_url(url) == url


# --------------------------------------------------------------------------- boilerplate


def test_boilerplate_real_scrape_failure() -> None:
    assert is_ad_boilerplate(AD_TEXT)


def test_boilerplate_full_widget_with_curly_quotes() -> None:
    widget = (
        "Ad Feedback\n1. How relevant is this ad to you?\n2. Did you encounter any "
        "technical issues?\nVideo player was slow to load content\nAd never loaded\n"
        "Ad was repetitive to ads I\u2019ve seen previously\nOther issues\nCancel Submit\n"
        "Thank You!\nYour effort and contribution in providing this feedback is much "
        "appreciated.\nClose"
    )
    assert is_ad_boilerplate(widget)


@pytest.mark.parametrize(
    "text",
    [
        "",
        ARTICLE,
        ARTICLE + "\n\nVideo Ad Feedback 00:59 - Source: CNN Watch moment house collapses",
        AD_TEXT + "\n\n" + ARTICLE,
        ARTICLE + "\n\n" + AD_TEXT,
    ],
)
def test_boilerplate_not_flagged_for_articles(text: str) -> None:
    assert not is_ad_boilerplate(text)


# --------------------------------------------------------------------------- dataclasses


def _question(qid: str, gold_urls: list[str]) -> Question:
    return Question(
        id=qid,
        date=datetime.date(2022, 6, 16),
        sentence="Which show?",
        choices=["A", "B"],
        answer_index=1,
        gold_urls=gold_urls,
        source="CNN",
    )


def test_question_answer_text() -> None:
    assert _question("q", []).answer_text == "B"


def test_corpus_partitions_questions() -> None:
    pages = [
        Page("https://a.com/x/1", "t", ARTICLE, is_gold=True, question_ids=["q1"]),
        Page("https://a.com/x/2", "t", AD_TEXT, is_gold=True, question_ids=["q2"]),
        Page("https://a.com/x/3", "t", ARTICLE, is_gold=False, question_ids=["q3"]),
    ]
    questions = [
        _question("q1", ["https://a.com/x/1", "https://a.com/x/9"]),
        _question("q2", ["https://a.com/x/2"]),
        _question("q3", ["https://a.com/x/3"]),
        _question("q4", []),
    ]
    corpus = EvalCorpus(questions, pages)
    assert [q.id for q in corpus.answerable()] == ["q1"]
    assert [q.id for q in corpus.boilerplate_only()] == ["q2"]
    assert [q.id for q in corpus.unanswerable()] == ["q3", "q4"]
    assert corpus.gold_page_urls(questions[0]) == ["https://a.com/x/1"]


def test_derive_title() -> None:
    url = "https://cnn.com/2022/06/12/media/squid-game-season-2"
    assert derive_title(url, "x") == "Squid game season 2"
    assert derive_title("https://e.news.com/click?x", "New York CNN —\n\nHello world.") == (
        "Hello world."
    )


# --------------------------------------------------------------------------- loader

GOLD_URL = "http://www.example.com/2022/06/15/news/story-one/index.html"
AD_URL = "https://www.example.com/2022/06/15/business/ad-only/index.html"
LOST_URL = "https://www.example.com/2022/06/15/business/lost-story/index.html"


def _write_jsonl(path: Path, rows: list[object]) -> None:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _qa(qid: str, answer: str = "0") -> dict:
    return {
        "question_id": qid,
        "question_date": "2022/06/16",
        "question_source": "CNN",
        "question_url": "https://example.com/quiz",
        "question_sentence": f"Question {qid}?",
        "choices": ["Alpha", "Beta", "Gamma", "Delta"],
        "answer": [answer],
        "evidence": "",
    }


def _item(url: str, text: str, title: str | None = None) -> dict:
    item = {"url": url, "text": text, "authors": ["A. Writer"], "publish_date": "2022/06/15"}
    if title is not None:
        item["title"] = title
    return item


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two weeks in upstream format; the second week has no gold or gcs file."""
    _write_jsonl(
        tmp_path / "20220617_qa.jsonl",
        [_qa("w1_0"), _qa("w1_1", "1"), "{not json", _qa("w1_2"), _qa("w1_3")],
    )
    _write_jsonl(
        tmp_path / "20220617_gold.jsonl",
        [
            {
                "question_id": "w1_0",
                "search_result": [
                    _item(GOLD_URL, "Gold text about Alpha."),
                    _item("https://example.com/2022/06/15/news/story-one/", "Gold copy."),
                ],
            },
            {"question_id": "w1_1", "search_result": [_item(AD_URL, AD_TEXT)]},
            {"question_id": "w1_2", "search_result": [_item(LOST_URL, AD_TEXT)]},
            {"question_id": "w1_3", "search_result": [{"url": "https://example.com/x"}]},
        ],
    )
    _write_jsonl(
        tmp_path / "20220617_gcs.jsonl",
        [
            {
                "question_id": "w1_0",
                "search_result": [
                    _item(GOLD_URL + "?utm_source=feed", "Search copy.", "Story one - CNN"),
                    _item("https://www.other.com/2022/06/14/d/one", "Distractor one.", "D1"),
                ],
            },
            {
                "question_id": "w1_1",
                "search_result": [_item(AD_URL + "?cid=x", "Real Beta article.", "Ad fixed")],
            },
            {
                "question_id": "w1_3",
                "search_result": [_item("https://other.com/2022/06/14/d/one", "Dupe.", "D1")],
            },
        ],
    )
    _write_jsonl(tmp_path / "20220624_qa.jsonl", [_qa("w2_0")])
    return tmp_path


def test_load_dataset_partitions_and_warns(folder: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.evaluation.dataset"):
        corpus = load_dataset(folder)
    assert "20220617_qa.jsonl:3" in caplog.text
    assert [q.id for q in corpus.questions] == ["w1_0", "w1_1", "w1_2", "w1_3", "w2_0"]
    assert [q.id for q in corpus.answerable()] == ["w1_0", "w1_1"]
    assert [q.id for q in corpus.boilerplate_only()] == ["w1_2"]
    assert [q.id for q in corpus.unanswerable()] == ["w1_3", "w2_0"]
    first = corpus.questions[0]
    assert first.date == datetime.date(2022, 6, 16)
    assert first.answer_text == "Alpha"
    assert first.gold_urls == ["https://example.com/2022/06/15/news/story-one"]


def test_load_dataset_dedupe_preferences(folder: Path) -> None:
    corpus = load_dataset(folder)
    pages = corpus.page_map()
    assert len(corpus.pages) == 3 and all(p.is_gold for p in corpus.pages)
    story = pages["https://example.com/2022/06/15/news/story-one"]
    assert story.text == "Gold text about Alpha."  # gold text wins over gold copy and gcs
    assert story.title == "Story one - CNN"  # missing gold title taken from the search page
    assert story.published == "2022-06-15"
    fixed = pages[normalize_url(AD_URL)]
    assert fixed.text == "Real Beta article." and fixed.is_gold  # boilerplate replaced
    lost = pages[normalize_url(LOST_URL)]
    assert is_ad_boilerplate(lost.text) and lost.title == "Lost story"


def test_load_dataset_distractors(folder: Path) -> None:
    corpus = load_dataset(folder, distractors=True)
    urls = [p.url for p in corpus.pages]
    assert len(urls) == len(set(urls)) == 4
    distractor = corpus.page_map()["https://other.com/2022/06/14/d/one"]
    assert not distractor.is_gold
    assert distractor.text == "Distractor one."
    assert distractor.question_ids == ["w1_0", "w1_3"]


def test_load_dataset_limit(folder: Path) -> None:
    corpus = load_dataset(folder, limit=1)
    assert [q.id for q in corpus.questions] == ["w1_0"]
    assert [p.url for p in corpus.pages] == ["https://example.com/2022/06/15/news/story-one"]
    with_distractors = load_dataset(folder, distractors=True, limit=1)
    assert len(with_distractors.pages) == 2
    assert load_dataset(folder, limit=0).pages == []


@pytest.fixture
def search_only(tmp_path: Path) -> Path:
    """Two weeks of a release without gold files (RealTime QA from 2023 on)."""
    _write_jsonl(tmp_path / "20250103_qa.jsonl", [_qa("a_0"), _qa("a_1", "2")])
    _write_jsonl(
        tmp_path / "20250103_gcs.jsonl",
        [
            {
                "question_id": "a_0",
                "search_result": [
                    _item("https://news.com/2025/01/02/x/one", "Alpha won.", "One"),
                    _item("https://news.com/2025/01/02/x/two", "Alpha again.", "Two"),
                ],
            },
            {"question_id": "a_1", "search_result": []},
        ],
    )
    _write_jsonl(tmp_path / "20250110_qa.jsonl", [_qa("b_0", "1")])
    _write_jsonl(
        tmp_path / "20250110_gcs.jsonl",
        [
            {
                "question_id": "b_0",
                "search_result": [_item("https://news.com/2025/01/09/y/three", "Beta.", "3")],
            }
        ],
    )
    return tmp_path


def test_a_release_without_gold_articles_is_asked_from_its_search_pages(
    search_only: Path,
) -> None:
    corpus = load_dataset(search_only)
    assert corpus.has_gold is False
    assert [q.id for q in corpus.answerable()] == ["a_0", "b_0"]
    assert [q.id for q in corpus.unanswerable()] == ["a_1"]  # no search results: refusal set
    assert len(corpus.pages) == 3 and not any(p.is_gold for p in corpus.pages)
    week = load_dataset(search_only, weeks=["20250110"])
    assert [q.id for q in week.questions] == ["b_0"]
    assert [p.title for p in week.pages] == ["3"]
    limited = load_dataset(search_only, limit=1)
    assert [q.id for q in limited.questions] == ["a_0"] and len(limited.pages) == 2
    with pytest.raises(ValueError, match="20990101"):
        load_dataset(search_only, weeks=["20990101"])
    assert load_dataset(DEV).has_gold if DEV.is_dir() else True


def test_short_answers_are_scored_as_squad_does() -> None:
    from bot.evaluation.scoring import exact_match, squad_normalize, token_f1

    assert squad_normalize("The Las Vegas Aces!") == "las vegas aces"
    assert squad_normalize("“An” apple, a day") == "apple day"
    assert exact_match("Las Vegas Aces", "The Las Vegas Aces")
    assert not exact_match("Vegas", "The Las Vegas Aces")
    assert token_f1("Las Vegas Aces", "The Las Vegas Aces") == 1.0
    assert token_f1("the Aces of Las Vegas", "Las Vegas Aces") == pytest.approx(0.857, abs=1e-3)
    assert token_f1("Connecticut Sun", "Las Vegas Aces") == 0.0
    assert token_f1("", "Aces") == 0.0


def test_an_answer_is_read_short_answer_first() -> None:
    from bot.answering.answer import Answer, ShortAnswer
    from bot.evaluation.run import read_answer

    short = ShortAnswer("Las Vegas Aces", 1, "a", 4, 18)
    answer = Answer(
        "Which team won?",
        "Las Vegas Aces [1]\nThe Las Vegas Aces won the title. [1] They beat the Sun. [2]",
        True,
        short_answer=short,
    )
    read = read_answer(answer)
    assert read.short == "Las Vegas Aces" and read.first_read == "Las Vegas Aces"
    assert read.first_sentence == "The Las Vegas Aces won the title."
    assert "They beat the Sun." in read.text and "[" not in read.text
    plain = read_answer(Answer("Q?", "It rained. [1] Then it stopped. [1]", True))
    assert plain.short is None and plain.first_read == "It rained."
    assert read_answer(Answer("Q?", "The indexed articles do not cover this.", False)).text == ""


def test_write_records(tmp_path: Path) -> None:
    page = Page("https://a.com/x/1", "Title", "Text é", ["Ann"], "2022-06-15", True, ["q"])
    out = tmp_path / "sub" / "records.jsonl"
    write_records([page], out)
    record = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert record == {
        "url": "https://a.com/x/1",
        "title": "Title",
        "text": "Text é",
        "publish_date": "2022-06-15",
        "authors": ["Ann"],
    }


# --------------------------------------------------------------------------- scoring


@pytest.mark.parametrize(
    ("gold", "text"),
    [
        ("6", "It took 6 months."),
        ("6", "It took six months."),
        ("Artemis 1", "NASA's Artemis I mission launched."),
        ("Artemis I", "the artemis 1 rocket"),
        ("1,000", "about 1000 people"),
        ("1000", "about 1,000 people"),
        ("The Beatles", "a Beatles song"),
        ("“Squid Game”", "Netflix renewed Squid Game."),
        ("Pokémon", "POKEMON cards"),
        ("25", "twenty-five states"),
        ("New Jersey & Oregon", "New Jersey and Oregon"),
        ("Biden", "Biden’s plan"),
    ],
)
def test_answer_hit_matches(gold: str, text: str) -> None:
    assert answer_hit(gold, text)


@pytest.mark.parametrize(
    ("gold", "text"),
    [
        ("6", "It took 16 months."),
        ("6", "It grew 1.6 million."),
        ("6", "Prices rose 6%."),
        ("6", "the 6th day"),
        ("Europe", "European regulators"),
        ("", "anything"),
    ],
)
def test_answer_hit_rejects_partials(gold: str, text: str) -> None:
    assert not answer_hit(gold, text)


def test_tokenize_roman_needs_capitalized_word() -> None:
    assert tokenize("World War II") == ("world", "war", "2")
    assert tokenize("Then I left") == ("then", "i", "left")


def test_best_choice() -> None:
    choices = ["Game of Thrones", "Squid Game", "Breaking Bad", "Friends"]
    assert best_choice(choices, "Squid Game is officially coming back.") == 1
    assert best_choice(["16", "6"], "It took six weeks.") == 1
    assert best_choice(["rooftop solar", "high-speed internet service"], "internet") == 1
    assert best_choice(["a cat", "a cat"], "the cat") == 0
    assert best_choice(["Alpha", "Beta"], "nothing relevant") == -1
    assert best_choice([], "text") == -1
    # both are in the cited passage; the one the answer quotes is the better supported
    passage = "The raid was at Mar-a-Lago in Palm Beach, Florida. He lives in New York too."
    assert best_choice(["New York", "Florida"], passage) == 0  # otherwise the order decides
    assert best_choice(["New York", "Florida"], passage, "The raid was in Florida.") == 1


def test_retrieval_metrics() -> None:
    ranked = [["a", "a", "a", "b"], ["c", "d"], ["x"] + [f"n{i}" for i in range(12)] + ["y"]]
    gold = [{"b"}, {"c"}, {"y"}]
    metrics = retrieval_metrics(ranked, gold)
    assert metrics["recall@1"] == pytest.approx(1 / 3)
    assert metrics["recall@5"] == pytest.approx(2 / 3)
    assert metrics["recall@10"] == pytest.approx(2 / 3)
    assert metrics["mrr@10"] == pytest.approx((1 / 2 + 1) / 3)
    assert retrieval_metrics([], []) == {
        "recall@1": 0.0,
        "recall@5": 0.0,
        "recall@10": 0.0,
        "mrr@10": 0.0,
    }
    with pytest.raises(ValueError):
        retrieval_metrics([["a"]], [])


# --------------------------------------------------------------------------- real dev split


@pytest.mark.skipif(not DEV.is_dir(), reason=f"RealTime QA dev split not found at {DEV}")
def test_real_dev_split_counts() -> None:
    corpus = load_dataset(DEV)
    assert len(corpus.questions) == 329
    with_text = corpus.answerable() + corpus.boilerplate_only()
    assert len(with_text) == 103
    assert len(corpus.unanswerable()) == 329 - 103
    assert len(corpus.pages) == 109
    assert sum(is_ad_boilerplate(p.text) for p in corpus.pages) >= 1
    hard = load_dataset(DEV, distractors=True)
    assert len(hard.pages) > len(corpus.pages) + 1000
    assert len(hard.answerable()) == len(corpus.answerable())
    assert len({p.url for p in hard.pages}) == len(hard.pages)
