"""The short answer's span: the type the question asks for, whole names, and no titles or vague
quantities (issue 15)."""

from __future__ import annotations

import pytest

from bot.answering.answer import ExtractiveAnswerer, question_names
from bot.answering.answer_type import NAME, PLACE, asked_for, spans_of
from index.search import Hit, tokenize


def _spans(sentence: str, question: str) -> list[tuple[str, bool]]:
    asked = asked_for(question)
    found = spans_of(
        sentence, asked.kind or "", set(tokenize(question)), asked.phrase, asked.acronyms
    )
    return [(s.text, s.subject) for s in found]


def _hit(n: int, text: str, title: str, dense: float) -> Hit:
    return Hit(f"a{n}:0", text, {"article_id": f"a{n}", "start": 0, "title": title}, dense=dense)


def test_an_abbreviation_keeps_its_full_stops() -> None:
    """ "U.S." is one word of a name ("U.S. Navy"), not the cut-off name "U.S"."""
    spans = _spans(
        "Hegseth has ordered the U.S. Navy to strip a gay rights activist's name from a ship.",
        "Which branch of the military was told to rename a ship?",
    )
    assert ("U.S. Navy", False) in spans
    assert all(text != "U.S" for text, _ in spans)
    assert _spans("The ship was built in the U.S.", "Where was the ship built?") == [
        ("U.S.", False)
    ]


def test_a_possessive_ends_a_name_and_the_owned_name_is_the_subject() -> None:
    spans = _spans(
        "Italy's Mount Etna, Europe's tallest volcano, erupted on Monday.",
        "Which volcano erupted this week?",
    )
    assert spans[:2] == [("Italy", False), ("Mount Etna", True)]
    spans = _spans(
        "The attacker threw a device, said an agent at the FBI’s Denver field office.",
        "Who threw the device?",
    )
    assert ("FBI’s Denver", False) not in spans and ("Denver", False) in spans


def test_a_name_whose_head_is_the_class_asked_for_is_kept_whole() -> None:
    """Its last word is the question's, but it is the class the question asks for, not the
    question's own name (as "Newton-John" is in a question about Olivia Newton-John)."""
    question = "Which national park was hit by severe flooding this week?"
    assert asked_for(question).kind == PLACE
    spans = _spans("Flooding washed out roads in Yellowstone National Park on Monday.", question)
    assert spans == [("Yellowstone National Park", False)]
    own = "Why did Dame Olivia Newton-John retire?"
    assert _spans("Dame Olivia Newton-John said goodbye.", own) == []


def test_a_vague_quantity_does_not_answer_how_many() -> None:
    spans = _spans(
        "Millions of baby swings have been recalled, about 2 million in all.",
        "How many baby swings were recalled?",
    )
    assert spans == [("2 million", False)]


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("Which US national park was flooded this week?", "national park"),
        ("Which Italian volcano erupted on Monday?", "volcano"),
        ("Which online platform has gone up for sale?", "online platform"),
        ("Which NBA team fired its head coach this week?", "nba team"),
        ("What is the mission called?", "mission"),
        ("What is the name of this dazzling amphibian?", "dazzling amphibian"),
        ("What is it called?", ""),
        ("Who won the election?", ""),
        # a hyphenated adjective is one word; "of" and its noun belong to a one-word class; an
        # irregular past tense ends the class as "-ed" does
        ("Which high-ranking US official tested positive?", "high-ranking official"),
        ("Which head of state announced his resignation?", "head of state"),
        ("Which team won the Stanley Cup Finals?", "team"),
        ("Which actor broke the record for the longest speech?", "actor"),
    ],
)
def test_the_class_a_question_names(question: str, phrase: str) -> None:
    asked = asked_for(question)
    assert asked.kind in (NAME, PLACE)
    assert asked.phrase == phrase


def test_a_capitalised_title_is_not_a_name() -> None:
    """ "The President tested positive…": the passage writes "president" in lower case too, so
    the word is a title, not a name, and is not given as the short answer."""
    question = "Which member of the administration tested positive for Covid-19 again?"
    text = (
        "The President tested positive for Covid-19 again on Tuesday, his doctor said. The vice "
        "president and the president's family tested negative."
    )
    answer = ExtractiveAnswerer().answer(question, [_hit(1, text, "Covid-19 again", 0.6)])
    assert answer.found and answer.answer.startswith("The President tested positive")
    assert answer.short_answer is None, answer.answer


def test_the_short_answer_is_of_the_class_the_question_names(embedder) -> None:  # type: ignore[no-untyped-def]
    """A capital and its country are both places; the question asks for a country."""
    question = "Which country cracked down on rainbow-colored toys this week?"
    hits = [
        _hit(
            1,
            "Officials in Riyadh cracked down on rainbow-colored toys on Tuesday, saying the "
            "items promote homosexuality.",
            "A crackdown on rainbow-colored toys",
            0.62,
        ),
        _hit(
            2,
            "Saudi Arabia has cracked down on rainbow-colored toys and clothing, state "
            "television reported.",
            "Rainbow-colored toys seized",
            0.60,
        ),
    ]
    answer = ExtractiveAnswerer(embed=embedder.encode).answer(question, hits)
    assert answer.short_answer is not None, answer.answer
    assert answer.short_answer.text == "Saudi Arabia"
    assert answer.answer.splitlines()[1].startswith("Saudi Arabia has cracked down")


def test_a_count_answers_how_many_not_a_vague_quantity() -> None:
    question = "Approximately how many baby swings were recalled this week?"
    text = (
        "Millions of baby swings that pose a risk to infants have been recalled this week, the "
        "safety commission said. The recall covers about 2 million swings and rockers."
    )
    answer = ExtractiveAnswerer().answer(question, [_hit(1, text, "Baby swings recalled", 0.7)])
    assert answer.short_answer is not None and answer.short_answer.text == "2 million"
    assert answer.answer.splitlines()[1].startswith("The recall covers about 2 million")


def test_a_place_with_a_demonyms_ending_is_a_name() -> None:
    """ "Japan", "Iran", "Hawaii" end like demonyms ("Mexican", "Iraqi"), but a demonym is an
    adjective: the word after it is the noun it describes. Before a function word or a verb
    in the past tense the word is itself the noun, a place."""
    question = "Which country raised its volcano alert to the highest level?"
    spans = _spans("The alert was raised in Japan on Sunday after the eruption.", question)
    assert ("Japan", False) in spans
    spans = _spans("Iran said the talks would resume, and Hawaii declared an emergency.", question)
    assert [text for text, _ in spans] == ["Iran", "Hawaii"]
    # a demonym before the noun it describes still describes
    assert _spans("Mexican officials raised the alert.", question) == []


def test_a_place_with_a_demonyms_ending_is_one_of_the_questions_names() -> None:
    assert {"japan"} in question_names("How many troops did Japan send to the region?")
    assert question_names("How old is the British-Belgian teenager?") == []


def test_a_date_written_after_a_name_ends_it() -> None:
    """News style writes the day straight after a name ("sold the Denver Broncos Tuesday"):
    the day is a date, not the end of the name."""
    question = "NFL owners approved the sale of which football team?"
    spans = _spans("NFL owners approved the sale of the Denver Broncos Tuesday.", question)
    assert ("Denver Broncos", False) in spans
    spans = _spans("Thousands fled near Yosemite National Park Friday.", "Near which park?")
    assert "Yosemite National Park" in [text for text, _ in spans]


def test_a_quoted_title_is_one_name_and_a_quoted_remark_is_none() -> None:
    """A show, film or book is named by its whole quoted title, function words and all; a quoted
    remark is written in sentence case and is not a name."""
    spans = _spans(
        "“Lord of the Flies” drew four million readers, more than “Tales From the Loop: A Novel”.",
        "Which novel drew four million readers?",
    )
    assert [text for text, _ in spans] == ["Lord of the Flies", "Tales From the Loop: A Novel"]
    assert spans[0][1]  # it opens the sentence: its subject
    remark = _spans("“We are thrilled with the result,” said Acme Corp.", "Who was thrilled?")
    assert remark == [("Acme Corp", False)]


def test_a_name_may_join_its_words_with_two_connectors() -> None:
    assert _spans("The Bank of the West opened a branch.", "Which lender opened a branch?") == [
        ("Bank of the West", True)
    ]


def test_a_demonym_of_several_words_describes_the_noun_after_it() -> None:
    """ "South African officials": an adjective of nationality, not the country's name."""
    question = "Which country signed the deal?"
    assert _spans("South African officials said the deal was done.", question) == []
    assert _spans("South Africa signed the deal on Monday.", question) == [("South Africa", True)]


def test_a_name_before_the_noun_it_modifies_is_not_the_subject() -> None:
    """ "A Denver jury convicted…": the jury is the subject, and Denver only says which jury."""
    question = "Which singer was convicted?"
    assert _spans("A Denver jury convicted singer Jane Roe on Friday.", question) == [
        ("Denver", False),
        ("Jane Roe", False),
    ]
    assert _spans("Jane Roe announced on Friday that she would appeal.", question)[0] == (
        "Jane Roe",
        True,
    )
    assert _spans("Acme plans a new tour.", question) == [("Acme", True)]  # a verb after it
    assert _spans("Jane Roe firmly denied it.", question) == [("Jane Roe", True)]  # an adverb
    assert _spans("Jane Roe isn’t singing.", question) == [("Jane Roe", True)]  # a contraction


def test_a_name_inside_the_class_asked_for_may_stand_in_the_passage_only() -> None:
    """ "Which Ivy League school…": "Ivy League" names the answer's kind. The sentence that
    answers names the school, and its passage says it is an Ivy League school."""
    question = (
        "Which Ivy League school announced it will eliminate student loans for undergraduates?"
    )
    text = (
        "Dartmouth College announced Tuesday it was eliminating student loans for undergraduates, "
        "the university said in a news release. The initiative is part of the Ivy League school's "
        "leadership campaign, the release said."
    )
    answer = ExtractiveAnswerer().answer(question, [_hit(1, text, "Loans replaced by grants", 0.6)])
    assert answer.short_answer is not None and answer.short_answer.text == "Dartmouth College"
    assert answer.answer.splitlines()[1].startswith("Dartmouth College announced")


def test_a_name_outside_the_class_must_stand_in_the_answering_sentence() -> None:
    """ "Which school in Ohio…": Ohio is the question's subject, not the answer's kind; a
    sentence about another school whose passage mentions Ohio elsewhere does not answer."""
    question = "Which school in Ohio announced it will eliminate student loans?"
    text = (
        "Dartmouth College announced Tuesday it was eliminating student loans for undergraduates. "
        "Ohio has many fine universities, officials said."
    )
    answer = ExtractiveAnswerer().answer(question, [_hit(1, text, "Loans replaced by grants", 0.6)])
    assert not answer.answer.startswith("Dartmouth College"), answer.answer


def test_a_sentence_printed_twice_supports_its_names_once() -> None:
    """Two copies of one story (a syndicated article) are one source, not two that agree: the
    name they repeat does not outweigh a name another sentence gives."""
    question = "Which team won the championship on Sunday?"
    copy = "On Sunday the Lightning celebrated the championship with their fans."
    other = "The Avalanche won the title on Sunday in Denver, the league said."
    hits = [_hit(1, copy, "Final", 0.6), _hit(2, copy, "Final", 0.6), _hit(3, other, "Final", 0.6)]
    answer = ExtractiveAnswerer().answer(question, hits)
    assert answer.short_answer is None or answer.short_answer.text != "Lightning", answer.answer


def test_the_owner_of_a_name_that_modifies_a_noun_is_the_subject() -> None:
    """ "Brody's Oscar acceptance speech broke a record": the speech is Brody's, so Brody is
    what the sentence is about, not the Oscar that describes the speech. "Italy's Mount Etna
    erupted": what is owned is the subject."""
    question = "Which actor broke the record for the longest acceptance speech?"
    assert _spans("Brody's Oscar acceptance speech broke a record as the longest.", question) == [
        ("Brody", True),
        ("Oscar", False),
    ]
    assert _spans("Italy's Mount Etna erupted on Sunday.", "Which volcano erupted?") == [
        ("Italy", False),
        ("Mount Etna", True),
    ]


def test_a_name_holding_a_word_of_the_class_asked_for_is_kept_whole() -> None:
    """ "Which broadcaster…": "Broadcasting" says the name is a broadcaster's, so it is not
    trimmed as a word of the question ("Corporation")."""
    question = "Which broadcaster was sued by President Trump for $10 billion this week?"
    sentence = "He is suing the British Broadcasting Corporation for $10 billion."
    assert _spans(sentence, question) == [("British Broadcasting Corporation", False)]


def test_an_ordinary_word_opening_a_sentence_is_not_its_named_subject(embedder) -> None:  # type: ignore[no-untyped-def]
    """ "More boycotts are planned…": "More" is capitalised because it opens the sentence (the
    passage writes "more" too); it is no name, so that sentence is not preferred as being about
    a name over the one that says which store the boycott is against."""
    question = "Which store is facing a 40-day boycott?"
    text = (
        "More boycotts are planned against Amazon and Walmart in the coming days. A 40-day "
        "boycott against Target kicked off Wednesday after a nationwide 24-hour economic "
        "blackout. Organisers want more shoppers to join."
    )
    answer = ExtractiveAnswerer(embed=embedder.encode).answer(
        question, [_hit(1, text, "Boycotts", 0.7)]
    )
    first = answer.answer.splitlines()[-1]
    assert first.startswith("A 40-day boycott against Target"), answer.answer


def test_the_subject_after_a_fronted_adverbial() -> None:
    """ "In June, Toyota issued…": the name after a fronted adverbial of common words and dates
    is the subject; a list of names after "After" is no adverbial."""
    question = "Which automaker is offering to buy back its SUVs?"
    assert _spans("In June, Toyota issued a warning to owners of its SUV.", question)[0] == (
        "Toyota",
        True,
    )
    assert ("Canada", True) not in _spans(
        "After the United States, Canada and Mexico make history hosting the World Cup.", question
    )


def test_a_name_is_held_by_its_proper_words() -> None:
    """ "Hart Trophy" is not held by a sentence about another trophy: "trophy" is an ordinary
    word (the passage writes it in lower case), "Hart" is the name's own."""
    question = "Who won the NHL's Hart Trophy this year?"
    text = (
        "Cale Makar won the Conn Smythe Trophy this year as the most valuable player of the "
        "playoffs. The trophy is awarded every June by the league."
    )
    answer = ExtractiveAnswerer().answer(question, [_hit(1, text, "Makar wins", 0.6)])
    assert not answer.found, answer.answer
    held = text.replace("Conn Smythe", "Hart")
    assert ExtractiveAnswerer().answer(question, [_hit(1, held, "Makar wins", 0.6)]).found


def test_a_name_keeps_its_particles() -> None:
    """ "Coeur d’Alene", "Ayman al-Zawahiri", "al Qaeda": a particle written onto a word of
    the name, or opening it, is part of it."""
    question = "Who was killed in the strike?"
    sentence = "The strike in Coeur d’Alene killed al Qaeda leader Ayman al-Zawahiri on Sunday."
    assert [text for text, _ in _spans(sentence, question)] == [
        "Coeur d’Alene",
        "al Qaeda",
        "Ayman al-Zawahiri",
    ]


def test_a_possessive_ends_one_of_the_questions_names() -> None:
    """ "NHL’s Hart Trophy" names two things: a sentence on the NHL's Conn Smythe Trophy holds
    one of them, not both."""
    names = question_names("Who won the NHL’s Hart Trophy, the league’s MVP award?")
    assert {"nhl"} in names and {"hart", "trophi"} in names
    assert {"nhl", "hart", "trophi"} not in names


def test_a_brand_written_with_a_lower_case_first_letter_is_a_name() -> None:
    question = "Apple is expected to unveil a new generation of which popular product?"
    spans = _spans(
        "Apple is widely expected to unveil its next-generation iPhone on Sept. 10.", question
    )
    assert ("iPhone", False) in spans
    assert ("eBay", False) in _spans("Many sellers left eBay for the new site.", question)
    assert _spans("The company said prices rose.", question) == []


def test_a_story_on_another_trophy_of_the_same_league_does_not_answer(embedder) -> None:  # type: ignore[no-untyped-def]
    """The question names the NHL and its Hart Trophy; a passage on the NHL's Conn Smythe
    Trophy holds the league, and "trophy" only as an ordinary word it also writes in lower
    case, so the question is not covered."""
    question = "Who won the NHL’s Hart Trophy, given to the league’s MVP?"
    text = (
        "Avalanche defenseman Cale Makar was awarded the Conn Smythe Trophy as the most "
        "valuable player of the NHL playoffs. Makar lifted the trophy after scoring 29 points."
    )
    hits = [_hit(1, text, "Makar wins the Conn Smythe", 0.6)]
    answer = ExtractiveAnswerer(embed=embedder.encode).answer(question, hits)
    assert not answer.found, answer.answer


def test_an_abbreviation_with_full_stops_is_the_question_s_abbreviation_without() -> None:
    """ "Which US state…": the passage's "U.S." is the question's own word, not an answer
    that competes with the state it names."""
    question = "Which US state passed the abortion law this week?"
    text = "The U.S. state of Ohio passed the abortion law this week after a long fight."
    answer = ExtractiveAnswerer().answer(question, [_hit(1, text, "Ohio law", 0.6)])
    assert answer.short_answer is not None and answer.short_answer.text == "Ohio", answer.answer


@pytest.mark.parametrize(
    ("question", "text", "listed"),
    [
        (
            "Which two countries joined NATO this year?",
            "Finland and Sweden joined NATO this year, ending decades of neutrality in the "
            "north. Turkey had blocked Finland for months.",
            "Finland and Sweden",
        ),
        (
            "Which teams will play in the Super Bowl on Sunday?",
            "The Kansas City Chiefs and the Philadelphia Eagles will play in the Super Bowl on "
            "Sunday. Fans of the Eagles filled the stadium.",
            "Kansas City Chiefs and the Philadelphia Eagles",
        ),
    ],
)
def test_a_question_asking_for_several_names_is_answered_with_their_list(
    question: str, text: str, listed: str
) -> None:
    """A plural class ("which teams") or a number word ("which two countries") asks for a list:
    its members are not rivals of one another, and the list is the short answer, verbatim."""
    assert asked_for(question).plural
    assert not asked_for("Which team will play in the Super Bowl?").plural
    assert not asked_for("Which news outlet first reported it?").plural
    answer = ExtractiveAnswerer().answer(question, [_hit(1, text, "Story", 0.6)])
    assert answer.short_answer is not None and answer.short_answer.text == listed, answer.answer
    assert text[answer.short_answer.start : answer.short_answer.end] == listed


def test_a_name_spelt_out_from_the_question_s_abbreviation_is_the_question_s_own() -> None:
    """ "A US drone strike…": "United States" is the US spelt out, the question's own name, not
    the group it asks for; nor is "Centers for Disease Control" an answer to a question on
    what the CDC did."""
    question = (
        "President Joe Biden announced this week that a US drone strike had killed the world’s "
        "most wanted terrorist, who was associated with which group?"
    )
    assert "United States" not in [
        t
        for t, _ in _spans("The United States killed al Qaeda leader Ayman al-Zawahiri.", question)
    ]
    text = (
        "The United States killed al Qaeda leader Ayman al-Zawahiri in a drone strike, "
        "President Joe Biden said Monday."
    )
    answer = ExtractiveAnswerer().answer(question, [_hit(1, text, "Strike", 0.6)])
    assert answer.short_answer is not None and answer.short_answer.text == "al Qaeda", answer.answer
    spans = _spans(
        "The US Centers for Disease Control and Prevention responded to the outbreak.",
        "The CDC activated its emergency center to respond to which outbreak?",
    )
    assert all("Disease Control" not in t for t, _ in spans), spans
    # a name whose initials the question does not write stays an answer
    assert ("National Hockey League", True) in _spans(
        "The National Hockey League said so.", "Which league said so?"
    )
