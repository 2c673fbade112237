from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from index.clean import clean_text, repair_mojibake
from tests.conftest import SEED_FILE


def seed_clean() -> str:
    return clean_text(SEED_FILE.read_text(encoding="utf-8"))


def test_lossy_apostrophes_and_dashes_are_repaired() -> None:
    assert repair_mojibake("Trumpâs nominee") == "Trump’s nominee"
    assert repair_mojibake("he wouldnât rule") == "he wouldn’t rule"
    assert repair_mojibake("TRUMPâS MEXICO") == "TRUMP’S MEXICO"
    assert repair_mojibake("cartelsâeven without") == "cartels—even without"
    assert repair_mojibake("alone aloneâwhether") == "alone alone—whether"


def test_symbols_are_repaired() -> None:
    assert repair_mojibake("drug cartel⌠ https") == "drug cartel… https"
    assert repair_mojibake("11:58 PM ¡ Feb 27, 2025") == "11:58 PM · Feb 27, 2025"
    assert repair_mojibake("SubX.NewsÂŽ (@SubxNews)") == "SubX.News® (@SubxNews)"


def test_emoji_residue_is_dropped_but_real_letters_stay() -> None:
    assert repair_mojibake("đ¨đşđ¸đ˛đ˝ TRUMP") == "TRUMP"
    assert repair_mojibake("Đoković and đak") == "Đoković and đak"
    assert repair_mojibake("¡Hola! Mexico City") == "¡Hola! Mexico City"


def test_seed_article_is_clean() -> None:
    text = seed_clean()
    for good in [
        "Trump’s nominee",
        "wouldn’t rule out",
        "cartels—even without",
        "drug cartel…",
        "PM · Feb 27",
        "SubX.News®",
        "alone—whether",
    ]:
        assert good in text, good
    for bad in ["â", "Â", "đ", "⌠", "¡", "t.co/", "pic.twitter.com"]:
        assert bad not in text, bad


def test_whitespace_and_invisible_characters() -> None:
    assert clean_text("A\u200bB\r\n\r\n\r\n  C\tD  \x00") == "AB\n\nC D"


@settings(max_examples=400)
@given(st.text())
@example("0\x0câ0")
def test_cleaning_is_total_and_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once
    assert "\x00" not in once and "\r" not in once
