"""Is a question in the language of the articles? Search matches words, so when the articles are in
English and a question is not, a "not found" should say so rather than refuse and leave it there.

Two signs, both general: the script the letters are written in (Chinese, Cyrillic, Arabic… are not
English), and for Latin script the words English cannot do without (a question of four words or
more in English has at least one of "the", "what", "is", "did"…; one in Spanish or French has none,
and has words or letters of its own). Words that are neither (keywords, gibberish) count as English:
the hint is only for a question that is plainly in another language.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

# English function words: articles, auxiliaries, pronouns, prepositions, question words ("a" is
# left out: French, Spanish and Portuguese have it too).
_ENGLISH = frozenset(
    """an the this that these those is are was were be been being am do does did done have has
    had will would shall should can could may might must what who whom whose which when where why
    how whether of to in on at for from by with about into over after before between during
    against under and or but not no if than as it its he she they them their his her we you i me
    my our your there here so""".split()
)
# The commonest function words of the other languages news is most often asked in with the Latin
# alphabet (Spanish, French, Portuguese, German, Italian, Dutch), less those English shares.
_OTHER = (
    frozenset(
        """el la los las del que por para con una es está cómo cuál cuándo dónde quién qué y se su
        al lo como más pero sus le fue este esta son entre cuando muy sin sobre también hay han
        les des du est une et qui pour dans avec sur pas ce il elle sont au aux quel quelle
        pourquoi comment où quand os da do das dos uma é em não porque der die das und ist nicht
        ein eine mit von zu den dem wie warum wer wo wann für auf sich gli della che per perché
        chi dove non het een van en niet voor op waarom hoe wie wat waar""".split()
    )
    - _ENGLISH
)
_WORD = re.compile(r"[^\W\d_]+")
MIN_WORDS = 4  # shorter questions ("Sheinbaum troops?") are too short to tell

HINT = (
    "The articles are in English and the search matches English words: "
    "please ask your question in English."
)


def main_script(text: str) -> str | None:
    """The script most letters of ``text`` are written in (LATIN, CJK, CYRILLIC, ...)."""
    scripts = Counter(unicodedata.name(ch, "?").split(" ", 1)[0] for ch in text if ch.isalpha())
    return scripts.most_common(1)[0][0] if scripts else None


def reads_as_english(text: str) -> bool:
    """Could ``text`` be English? False only when it clearly is not: written in another script,
    or four words or more with none of English's function words and some sign of another
    language (one of its function words, an accented letter, "¿" or "¡")."""
    if main_script(text) not in ("LATIN", None) or "¿" in text or "¡" in text:
        return False
    words = _WORD.findall(text.casefold())
    if len(words) < MIN_WORDS or any(word in _ENGLISH for word in words):
        return True
    return not any(word in _OTHER or not word.isascii() for word in words)


def language_hint(question: str, passages: Sequence[str]) -> str | None:
    """What to add to "not found" when the question is not in English and the articles are."""
    if reads_as_english(question) or not passages:
        return None
    return HINT if reads_as_english(" ".join(passages)) else None
