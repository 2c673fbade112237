"""What a person reads first: the short answer, the best sentence, and "not covered" when no
sentence answers (issue 15)."""

from __future__ import annotations

import re

import pytest

from bot.answering.answer import ExtractiveAnswerer
from bot.answering.answer_type import AMOUNT, DATE, DURATION, NAME, NUMBER, PLACE, asked_for
from bot.answering.service import AnswerService, build_store
from index.search import Hit
from index.structure import furniture_role, furniture_spans, parse_blocks

# Plain questions about the seed article, written for these tests (never used to tune anything),
# with a word that an answer to each must contain.
SEED_QUESTIONS = [
    ("Who is the president of Mexico?", "Sheinbaum"),
    ("What did Trump offer to send to Mexico?", "troops"),
    ("Why did Sheinbaum reject Trump's offer of troops?", "sovereignty"),
    ("How many people on the plane face life in prison?", "29"),
    ("What do security experts say is needed besides military action?", "military action"),
    ("Who is Trump's nominee for ambassador to Mexico?", "Ronald Johnson"),
    ("What did Trump's ambassador nominee tell the Senate about military action?", "rule out"),
    ("Which cartel leader landed in New York?", "Caro Quintero"),
    ("Which drug cartel did Rafael Caro Quintero help found?", "Sinaloa"),
    ("How has Mexico responded instead of accepting foreign troops?", "Sheinbaum"),
    ("How did Sheinbaum describe Mexico's sovereignty?", "inviolable"),
    ("What did Trump suggest is behind Sheinbaum's reluctance?", "fear"),
    ("How is the relationship between Trump and Sheinbaum described?", "cordial"),
    ("What has the Mexican government deployed to border regions?", "security forces"),
    ("Where did Rafael Caro Quintero land?", "New York"),
    ("What do analysts advise Mexico to prepare?", "contingency plans"),
    ("What has complicated diplomatic discussions between the countries?", "tariffs"),
    ("What does the U.S.-Mexico relationship encompass?", "trade"),
    ("Who has Mexico extradited to the United States?", "crim"),
    ("Can military action alone solve Mexico's organized crime problems?", "military action"),
    (
        "What would unilateral American military action damage, according to Sheinbaum?",
        "relationship",
    ),
    ("What do both nations depend on as trading partners?", "stable relations"),
]


def article_text(settings, article_id: str) -> str:  # type: ignore[no-untyped-def]
    store = build_store(settings)
    return store.article_texts(store.meta().generation, [article_id])[article_id]


@pytest.mark.parametrize(("question", "needle"), SEED_QUESTIONS)
def test_plain_questions_about_the_seed_article_are_answered(
    seed_service: AnswerService, question: str, needle: str
) -> None:
    answer = seed_service.ask(question)
    assert answer.found, f"refused: {question}"
    assert needle.lower() in answer.answer.lower(), answer.answer


def test_enough_seed_questions() -> None:
    assert len(SEED_QUESTIONS) >= 20


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many people on the plane face life in prison?", "29"),
        ("Where did Rafael Caro Quintero land?", "New York"),
        ("Who is Trump's nominee for ambassador to Mexico?", "Ronald Johnson"),
    ],
)
def test_the_short_answer_is_an_exact_span_of_its_cited_article(
    seed_service: AnswerService, seed_settings, question: str, expected: str
) -> None:  # type: ignore[no-untyped-def]
    answer = seed_service.ask(question)
    short = answer.short_answer
    assert short is not None, answer.answer
    assert short.text == expected
    cited = {c.n: c for c in answer.citations}[short.n]
    body = article_text(seed_settings, short.article_id)
    assert body[short.start : short.end] == short.text
    assert cited.start <= short.start and short.end <= cited.end  # inside the cited sentence
    assert answer.answer.split("\n")[0] == f"{short.text} [{short.n}]"  # read first
    assert answer.as_dict()["short_answer"]["text"] == expected


def test_a_rival_near_the_margin_leaves_out_the_short_answer_not_the_answer(
    seed_service: AnswerService,
) -> None:
    """ "Who is the president of Mexico?": the seed also calls Donald Trump "President", and
    Claudia Sheinbaum's support is close to the margin a short answer needs over his
    (``CLEAR_MARGIN``, 1.5 times). The int8 kernels of different processors give slightly
    different vectors, so on some she is over it and on others under (AMD EPYC with AVX2: a
    short answer; Intel Xeon with VNNI: 3.3 against 2.7, none). Either way what is read first
    names her."""
    answer = seed_service.ask("Who is the president of Mexico?")
    first = answer.answer.split("\n")[0]
    if answer.short_answer is not None:
        assert answer.short_answer.text == "Claudia Sheinbaum"
        assert first.startswith("Claudia Sheinbaum [")
    else:
        assert "Sheinbaum" in first.split("[")[0], answer.answer


def test_no_short_answer_for_questions_that_ask_for_no_fact(seed_service: AnswerService) -> None:
    answer = seed_service.ask("Why did Sheinbaum reject Trump's offer of troops?")
    assert answer.found and answer.short_answer is None
    assert answer.as_dict()["short_answer"] is None


def test_a_question_whose_subject_is_in_no_sentence_is_refused(
    seed_service: AnswerService,
) -> None:
    """The seed article is all about troops, borders and Trump's offer, but never names Canada
    or Justin Trudeau. (The second question is answered by a passage-level test of words: the
    passage holds "reject", "Trump", "offer", "send" and "troops".)"""
    for question in [
        "How many troops did Canada send to the border?",
        "When did Justin Trudeau reject Trump's offer to send troops?",
        "What did the Pope say about the cartels?",
        "Who won the 2022 World Cup?",
    ]:
        answer = seed_service.ask(question)
        assert not answer.found, (question, answer.answer)


def _hit(n: int, text: str, title: str, dense: float) -> Hit:
    return Hit(f"a{n}:0", text, {"article_id": f"a{n}", "start": 0, "title": title}, dense=dense)


ROCKET_HITS = [
    _hit(
        1,
        "Joe Skipper/Reuters People watch the SpaceX rocket launch for the space station from "
        "the launch control center. Joe Skipper/Reuters\n"
        "The rocket lifted off on Wednesday. It is bound for the International Space Station, "
        "where the crew will stay for six months.",
        "SpaceX and NASA launch a crew to the space station",
        0.7,
    ),
]


def test_captions_are_never_answer_sentences() -> None:
    question = "SpaceX launched a rocket toward the space station. Who watched the launch?"
    answer = ExtractiveAnswerer().answer(question, ROCKET_HITS)
    for citation in answer.citations:
        assert "Reuters" not in citation.quote, citation.quote
    assert "Reuters" not in answer.answer


def test_page_furniture_is_marked_at_structure_time() -> None:
    text = (
        "Police arrested 31 men near a Pride event on Saturday. John Rudoff/Reuters\n"
        "The city council approved the budget on Tuesday after a long debate.\n"
        "Read more: The budget fight in five charts\n"
        "Sign up for our newsletter to get the news in your inbox every morning.\n"
        "CNN —\n"
        "By Jane Smith and John Doe\n"
        "Video Ad Feedback 01:15 - Source: CNN\n"
        "Facebook Twitter Email\n"
        "►Grocery store shelves bare?: These products may be hard to find\n"
        "From left are former Prime Ministers John Major and David Cameron.\n"
        "Watch Mr. Happy Face get crowned the World's Ugliest Dog here"
    )
    roles = [furniture_role(line) for line in text.splitlines()]
    assert roles == [
        "caption",
        None,
        "prompt",
        "prompt",
        "dateline",
        "byline",
        "ad",
        "widget",
        "prompt",
        "caption",
        "prompt",
    ]
    blocks = {text[b.start : b.end]: (b.kind, b.role) for b in parse_blocks(text)}
    assert blocks[text.splitlines()[0]] == ("furniture", "caption")
    assert blocks[text.splitlines()[1]] == ("paragraph", "")
    assert blocks[text.splitlines()[3]] == ("furniture", "prompt")
    prose = [
        "You’ll soon be able to sign up for a cheaper version of Netflix with ads.",
        "A public-address announcement asked protesters to leave as a courtesy to the players.",
        "He said the plan would take effect next month after a final review by the state.",
        "Watch out for ice on the roads, officials said here on Monday.",
    ]
    assert [furniture_role(line) for line in prose] == [None, None, None, None]


def test_a_caption_that_opens_with_its_credit_is_furniture_even_inside_prose() -> None:
    """A photo gallery flattened into a paragraph: each caption opens with its credit
    ("Sherwin Crasto/AP A man bows…"). The captions are marked; the prose around them is not."""
    text = (
        "Millions celebrated 75 years of independence on Monday. Douglas E. Curran/AFP/Getty "
        "Images School children in Mumbai celebrate 50 years of independence on August 9, 1997. "
        "Sherwin Crasto/AP A man bows before a shrine to Mahatma Gandhi on August 13, 1997.\n"
        "Joe Skipper/Reuters People watch the rocket take off from the launch control center.\n"
        "AC/DC announced a world tour on Monday. The US/Mexico border reopened on Tuesday."
    )
    prompt = "The dog won. Watch the video of the ceremony here. The judges loved him."
    assert [prompt[a:b] for a, b, _ in furniture_spans(prompt)] == [
        "Watch the video of the ceremony here."
    ]
    marked = [text[a:b] for a, b, role in furniture_spans(text) if role == "caption"]
    assert [m.split("/")[0] for m in marked] == [
        "Douglas E. Curran",
        "Sherwin Crasto",
        "Joe Skipper",
    ]
    question = "How many years of independence did India celebrate?"
    answer = ExtractiveAnswerer().answer(question, [_hit(1, text, "India at 75", 0.6)])
    assert answer.found and "Getty" not in answer.answer and "Crasto" not in answer.answer


def test_the_sentence_that_answers_comes_first(embedder) -> None:  # type: ignore[no-untyped-def]
    """Ranked by how well it answers, not by its passage's rank: the first passage mentions the
    championships of one player, the second says which team won its first title."""
    question = "Which WNBA team recently won its first championship title?"
    hits = [
        _hit(
            1,
            "She played her entire career with the Storm, where she won four championships "
            "and was named the WNBA's most valuable player.",
            "Sue Bird retires after 21 seasons in the WNBA",
            0.62,
        ),
        _hit(
            2,
            "The Las Vegas Aces defeated the Connecticut Sun 78-71 on Sunday to capture the "
            "first title in franchise history.",
            "Las Vegas Aces win the WNBA title",
            0.58,
        ),
    ]
    answerer = ExtractiveAnswerer(embed=embedder.encode)
    answer = answerer.answer(question, hits)
    first = re.split(r"\n", answer.answer)[-1]
    assert first.startswith("The Las Vegas Aces defeated"), answer.answer
    assert answer.short_answer is not None and answer.short_answer.text == "Las Vegas Aces"
    hits[1].text.index(answer.short_answer.text)  # a span of the cited passage


def test_a_sentence_that_adds_nothing_is_dropped() -> None:
    question = "How many people were arrested near the Pride event?"
    text = (
        "Police arrested 31 men near a Pride event in Idaho on Saturday. "
        "Police arrested 31 men near the Pride event in Idaho, police said. "
        "The men were charged with conspiracy to riot, according to the police chief."
    )
    answer = ExtractiveAnswerer().answer(question, [_hit(1, text, "Arrests at Pride", 0.7)])
    assert answer.found
    quotes = [c.quote for c in answer.citations]
    assert not any(q.startswith("Police arrested 31 men near the Pride") for q in quotes[1:])


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who won the election?", NAME),
        ("Which team won the title this week?", NAME),
        ("Where did the storm make landfall?", PLACE),
        ("Which country was shaken by an earthquake?", PLACE),
        ("How many people died in the floods?", NUMBER),
        ("How much did the company pay for the site?", AMOUNT),
        ("When will the new law take effect?", DATE),
        ("In what year was the bridge built?", DATE),
        ("How long will the repairs take?", DURATION),
        ("Grocery prices rose 13% last year. Which item rose the most?", NAME),
        ("Why did the council reject the plan?", "reason"),
        ("What happened at the meeting?", None),
    ],
)
def test_what_a_question_asks_for(question: str, kind: str | None) -> None:
    assert asked_for(question).kind == kind


def test_the_short_answer_is_shown_first_in_bold() -> None:
    """The REPL and `ask` print it in bold; Discord sends it as the first line, in bold."""
    import io

    from rich.console import Console

    from bot.answering.answer import Answer, ShortAnswer
    from bot.frontends.discord_bot.formatting import answer_replies
    from bot.frontends.render import print_answer

    answer = Answer(
        "Which team won?",
        "Las Vegas Aces [1]\nThe Las Vegas Aces won the title. [1]",
        True,
        short_answer=ShortAnswer("Las Vegas Aces", 1, "a", 4, 18),
    )
    console = Console(file=io.StringIO(), force_terminal=True, color_system="standard")
    print_answer(console, answer)
    shown = console.file.getvalue()
    assert "\x1b[1mLas Vegas Aces\x1b[0m [1]" in shown
    assert shown.index("Las Vegas Aces") < shown.index("won the title")
    first = answer_replies(answer)[0].content or ""
    assert first.splitlines()[0] == "**Las Vegas Aces** [1]"


class _CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.texts: list[str] = []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def encode(self, texts: list[str]):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return self.inner.encode(texts)


def test_the_question_is_embedded_once_for_search_and_answer(
    seed_settings, embedder, seed_service: AnswerService
) -> None:  # type: ignore[no-untyped-def]
    """The search's vector of the question is the one the answerer re-ranks sentences with."""
    from bot.answering.service import build_service

    counting = _CountingEmbedder(embedder)
    service = build_service(seed_settings, embedder=counting)  # type: ignore[arg-type]
    question = "How many people on the plane face life in prison?"
    answer = service.ask(question)
    assert counting.texts.count(question) == 1, counting.texts
    assert answer.answer == seed_service.ask(question).answer  # the same vector, the same answer
