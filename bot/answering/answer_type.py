"""What a question asks for, and the spans of a sentence that are of that kind.

A question that asks for a name ("who", "which team"), a place ("where", "which country"), a
number ("how many"), an amount ("how much"), a date ("when", "what year") or a duration ("how
long") is answered by a short span of a sentence: a run of capitalised words, a figure, a date.
The kind is read from the question's wh-phrase and, after "which/what", from the noun it asks
about (a place noun asks for a place, a time noun for a date, a quantity noun for a number).
These nouns are general English classes of answer, not words of any quiz.

A span the question already contains is not an answer to it (a sentence that restates the
question brings no new name or figure), so spans whose words are all in the question are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from index.search import STOPWORDS, tokenize

NAME, PLACE, NUMBER, AMOUNT, DATE, DURATION = (
    "name",
    "place",
    "number",
    "amount",
    "date",
    "duration",
)
FACT_KINDS = frozenset({NAME, PLACE, NUMBER, AMOUNT, DATE, DURATION})
FIGURE_KINDS = frozenset({NUMBER, AMOUNT, DATE, DURATION})

_PLACE_NOUNS = frozenset(
    "country countries nation nations city cities state states town towns region regions county "
    "province continent island islands capital location place places area neighborhood "
    "neighbourhood river sea ocean lake mountain park airport village district territory "
    "border port".split()
)
_TIME_NOUNS = frozenset("year month day date time week weekday season decade century".split())
_QUANTITY_NOUNS = frozenset(
    "number percentage percent share rate amount price cost age total sum figure".split()
)
_AUXILIARY_VERBS = frozenset(
    "is was are were did does do has have had will would can could should may might must".split()
)
_AUXILIARIES = _AUXILIARY_VERBS | frozenset("the a an kind type sort".split())
_ASK = re.compile(
    r"\b(?P<wh>how (?:many|much|long|old|far|tall|big|large|fast|often)|who|whom|whose|where|"
    r"when|which|what)\b(?:\s+(?P<noun>[a-z]+(?:-[a-z0-9]+)*(?:\s+[a-z]+(?:-[a-z0-9]+)*){0,2}))?",
    re.IGNORECASE,
)
# verbs that follow "what" as often as nouns do ("What happened…?", "What led to…?")
_VERBS_AFTER_WHAT = frozenset(
    "happen happens happened make makes made lead leads led cause causes caused mean means "
    "meant go goes went come comes came take takes took get gets got say says said prompted "
    "sparked triggered".split()
)
# irregular past tenses, which end a class phrase as "-ed" does ("which team won…")
_IRREGULAR_PAST = frozenset(
    "ate beat became began bought broke brought built caught chose drew drove fell flew found "
    "gave got grew held hit kept knew led left lost made met paid put ran rose sank saw sent "
    "set shot shut sold spent spoke stood stole struck swept took told threw won wore wrote".split()
)
_CALLED = re.compile(r"\b(?:called|named|the name of|name of)\b", re.IGNORECASE)
# a question asks for several things when a number word or "both" opens its class ("which two
# countries") or the head of its class is a regular plural ("which teams", "which companies"); nouns
# ending in "s" that are not plurals ("news", "series", "bus") are not
_SEVERAL = frozenset("two three four five six seven eight nine ten both several".split())
_PLURAL = re.compile(r"(?:[^su']s|ies)$")
_NOT_PLURAL = frozenset("news series species means physics politics economics".split())


@dataclass(frozen=True)
class Asked:
    """What a question asks for: ``kind`` is one of :data:`FACT_KINDS`, ``reason`` or None."""

    kind: str | None
    wh: str = ""
    noun: str = ""
    # the words naming the class of the answer ("national park" in "which US national park
    # was flooded?"): what a short answer must be an instance of
    phrase: str = ""
    plural: bool = False  # asks for several ("which two countries", "which teams"): a list
    # the question's capital abbreviations, in lower case without full stops ("us", "cdc"): a
    # name whose initials they are ("United States", "Centers for Disease Control") is the
    # question's own name
    acronyms: frozenset[str] = frozenset()

    @property
    def is_fact(self) -> bool:
        return self.kind in FACT_KINDS


def _ask_sentence(question: str) -> str:
    """The part of a question that asks: its last sentence (a quiz question often opens with a
    statement: "Prices rose 13% last year. Which item rose most?")."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+(?=[A-Z])", question.strip()) if p.strip()]
    asking = [p for p in parts if "?" in p]
    return (asking or parts or [question])[-1]


def asked_for(question: str) -> Asked:
    """The kind of answer ``question`` asks for (see the module docstring)."""
    acronyms = frozenset(m.replace(".", "").lower() for m in _ACRONYM.findall(question))
    return replace(_asked(question), acronyms=acronyms)


# a capital abbreviation: "US", "CDC", "NHL", "U.S." (two to six capitals, a plural "s" kept out)
_ACRONYM = re.compile(r"(?<![\w.])(?:[A-Z]\.){2,}|\b[A-Z]{2,6}(?=s?\b)")


def _asked(question: str) -> Asked:
    ask = _ask_sentence(question)
    if re.match(r"\s*why\b", ask, re.IGNORECASE):
        return Asked("reason", "why")
    match = _ASK.search(ask)
    if match is None:
        return Asked(None)
    wh = " ".join(match.group("wh").lower().split())
    following = (match.group("noun") or "").lower().split()
    # "which massive figure", "what popular product": the class noun may follow adjectives
    classes = _PLACE_NOUNS | _TIME_NOUNS | _QUANTITY_NOUNS
    # "which head of state": the class is the head noun's, before "of"
    head = following[: following.index("of")] if "of" in following[1:] else following
    noun = next((w for w in head if w in classes), following[0] if following else "")
    if wh.startswith("how "):
        how = wh.split()[1]
        if how == "much":
            return Asked(AMOUNT, wh)
        if how == "long":
            return Asked(DURATION, wh)
        return Asked(NUMBER, wh)
    if wh in ("who", "whom", "whose"):
        return Asked(NAME, wh)
    if wh == "where":
        return Asked(PLACE, wh)
    if wh == "when":
        return Asked(DATE, wh)
    asked = _which(wh, noun, ask)
    if asked.kind in (NAME, PLACE):
        named = _NAMED_CLASS.search(ask)  # "what is the mission called?", "the name of this frog"
        phrase = (named.group("p") or named.group("q")).lower() if named else ""
        phrase = phrase or _class_phrase((match.group("noun") or "").split(), noun)
        phrase = phrase if phrase not in _PRONOUNS else ""
        return replace(asked, phrase=phrase, plural=_asks_several(following, phrase))
    return asked


def _asks_several(following: list[str], phrase: str) -> bool:
    """Whether "which/what" + ``following`` asks for several things: a number word opens it,
    or the head of its class ``phrase`` (its last word: "sports team" is one team) is a plural
    (see :data:`_SEVERAL`)."""
    if following and following[0] in _SEVERAL:
        return True
    head = phrase.split()[-1] if phrase else ""
    return head not in _NOT_PLURAL and bool(_PLURAL.search(head))


_NAMED_CLASS = re.compile(
    r"\bwhat (?:is|was|are|were) (?:the |this |that |its |their )?(?P<p>[a-z]+(?: [a-z]+)?) called\b|"
    r"\bthe name of (?:the |this |that |its |their )?(?P<q>[a-z]+(?: [a-z]+){0,2})",
    re.IGNORECASE,
)
# a demonym ("Italian", "British") or a two-letter country abbreviation ("US", "UK")
_PLACE_ADJECTIVE = re.compile(r"[A-Z][a-z]+(?:an|ian|ese|ish|i|ic)|[A-Z]\.?[A-Z]\.?")
_PRONOUNS = frozenset("it they he she this that these those".split())


def _class_phrase(following: list[str], noun: str) -> str:
    """The words after "which/what" that name the answer's class, up to its class noun or to
    the first function word or verb ("online platform" in "which online platform has…").
    A place adjective narrows the class but would pull its meaning toward the place ("which
    Italian volcano" is not a kind of Italy, nor "which US national park" a kind of US): it is
    left out, so the class is "volcano", "national park"."""
    words: list[str] = []
    for i, written in enumerate(following):
        word = written.lower()
        if word == "of" and len(words) == 1 and i + 1 < len(following):
            after = following[i + 1].lower()  # "which head of state", "which piece of art"
            if after not in STOPWORDS and after not in _AUXILIARIES:
                words += [word, after]
            break
        if word in _AUXILIARIES or word in STOPWORDS or word in _VERBS_AFTER_WHAT:
            break
        if words and (word.endswith("ed") or word in _IRREGULAR_PAST):
            break  # a verb in the past tense ("which team fired…", "which team won…")
        if not _PLACE_ADJECTIVE.fullmatch(written):
            words.append(word)
        if word == noun and noun in _PLACE_NOUNS | _TIME_NOUNS | _QUANTITY_NOUNS:
            break
    return " ".join(words)


def _which(wh: str, noun: str, ask: str) -> Asked:
    """ "which/what" + noun: the noun names the class of the answer."""
    stem = noun.rstrip("s") if noun.endswith("s") and noun[:-1] in _PLACE_NOUNS else noun
    if stem in _PLACE_NOUNS or noun in _PLACE_NOUNS:
        return Asked(PLACE, wh, noun)
    if noun in _TIME_NOUNS:
        return Asked(DATE, wh, noun)
    if noun in _QUANTITY_NOUNS:
        return Asked(AMOUNT if noun in ("price", "cost", "amount", "sum") else NUMBER, wh, noun)
    if wh == "which" and noun and noun not in _AUXILIARIES:
        return Asked(NAME, wh, noun)
    if wh == "what" and _CALLED.search(ask):
        return Asked(NAME, wh, noun)
    if wh == "what" and noun and noun not in _AUXILIARIES | _VERBS_AFTER_WHAT | STOPWORDS:
        return Asked(NAME, wh, noun)
    return Asked(None, wh, noun)


# -- spans ----------------------------------------------------------------------------------------

# an abbreviation keeps its full stops ("U.S. Navy", not "U.S"); other words end in a letter;
# a brand may open with one or two lower-case letters before its capital ("iPhone", "eBay")
_WORD = r"(?:[A-Z]\.){2,}|[A-Z][\w’'&.-]*[\w’'&-]|[A-Z]|[a-z]{1,2}[A-Z][\w’'&-]*"
_CONNECTOR = r"(?:of|the|de|du|del|la|le|von|van|der|for|&|y|al|bin)"
# a particle written onto a name's word: "Coeur d’Alene", "Ayman al-Zawahiri"
_ELIDED = r"(?:d[’']|l[’']|al-|el-)"
# names join their words with up to two connectors: "House of the Dragon", "Bank of America";
# a name may open with "al" or "el" ("al Qaeda")
_NAME_RUN = re.compile(
    rf"(?<![\w’'-])(?:(?:al|el)\s)?{_ELIDED}?(?:{_WORD})"
    rf"(?:\s(?:{_CONNECTOR}\s){{0,2}}{_ELIDED}?(?:{_WORD}))*"
)
# a title in quotation marks, every word capitalised but the short function words:
# “Thor: Love and Thunder”, “House of the Dragon” (a quoted remark is written in sentence case)
_QUOTED = re.compile(r"[“\"](?P<title>[A-Z0-9][^“”\"]{0,80}?)[,.]?[”\"]")
_TITLE_MINOR = frozenset(
    "a an and as at but by for from in into nor of on or the to vs with".split()
)
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan\\.|Feb\\.|Aug\\.|Sept?\\.|Oct\\.|Nov\\.|Dec\\."
)
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_DATE = re.compile(
    rf"\b(?:(?:{_MONTHS})\s\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s\d{{4}})?|\d{{1,2}}\s(?:{_MONTHS})(?:\s\d{{4}})?|"
    rf"(?:{_MONTHS})\s\d{{4}}|(?:early |late |mid-)?(?:{_MONTHS})|{_WEEKDAYS}|(?:19|20)\d{{2}})(?![\w-])"
)
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred|hundreds|thousand|thousands|dozen|dozens|million|millions|billion|billions"
)
_SCALE = r"(?:\s?(?:thousand|million|billion|trillion|bn|mn|m|k)\b)?"
_FIGURE = rf"\d[\d,]*(?:\.\d+)?{_SCALE}"
_MONEY = re.compile(
    rf"(?:[$€£¥]\s?{_FIGURE}|{_FIGURE}\s(?:dollars|euros|pounds|yen|cents))(?![\w])", re.IGNORECASE
)
_PERCENT = re.compile(rf"{_FIGURE}\s?(?:%|percent\b|per cent\b|percentage points?\b)")
_COUNT = re.compile(
    rf"(?<![\w$€£¥.,/-])(?:{_FIGURE}|(?:{_NUMBER_WORDS})(?:[\s-](?:{_NUMBER_WORDS}))*)(?![\w/]|[.,]\d)",
    re.IGNORECASE,
)
_VAGUE = re.compile(r"(?:hundreds|thousands|millions|billions|dozens|tens)", re.IGNORECASE)
_TIME_UNITS = r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries)"
_DURATION = re.compile(
    rf"\b(?:{_FIGURE}|a|an|(?:{_NUMBER_WORDS})(?:[\s-](?:{_NUMBER_WORDS}))*)(?:\s|-)(?:more\s)?"
    rf"{_TIME_UNITS}\b",
    re.IGNORECASE,
)
_PLACE_LEAD = re.compile(r"\b(?:in|at|to|from|near|into|across|outside|inside)\s$", re.IGNORECASE)
_STARTERS = frozenset(
    "according after also although despite however meanwhile officials several some many both "
    "yes no but if while as since still now then so yet once last next earlier later here".split()
)


@dataclass(frozen=True)
class Span:
    """A candidate answer span: ``start``/``end`` are offsets into the sentence."""

    text: str
    start: int
    end: int
    kind: str
    lead: bool = False  # preceded by a place preposition ("in Kyiv")
    initial: bool = False  # one word opening the sentence: a name ("Ukraine said") or not
    subject: bool = False  # opens the sentence (after "The"): most likely its subject


def spans_of(
    sentence: str,
    kind: str,
    question_terms: set[str],
    phrase: str = "",
    acronyms: frozenset[str] = frozenset(),
) -> list[Span]:
    """The spans of ``kind`` in ``sentence`` that the question does not already contain, in
    order of position. ``phrase`` is the class the question names (:attr:`Asked.phrase`), and
    ``acronyms`` its capital abbreviations (:attr:`Asked.acronyms`)."""
    if kind in (NAME, PLACE):
        heads = set(tokenize(phrase))
        found = [
            t
            for t in (_trim(s, sentence, question_terms, heads) for s in _names(sentence, kind))
            if t
        ]
    elif kind == DATE:
        found = [Span(m.group(0), m.start(), m.end(), DATE) for m in _DATE.finditer(sentence)]
    elif kind == DURATION:
        found = [
            Span(m.group(0), m.start(), m.end(), DURATION) for m in _DURATION.finditer(sentence)
        ]
    elif kind == AMOUNT:
        found = _figures(sentence, prefer_money=True)
    else:
        found = _figures(sentence, prefer_money=False)
    return [s for s in found if _novel(s.text, question_terms) and not _spelt_out(s.text, acronyms)]


def _trim(
    span: Span, sentence: str, question_terms: set[str], heads: set[str] | None = None
) -> Span | None:
    """A name without the words around it that the question already holds: "Mexico's President
    Claudia Sheinbaum" answers "Who is the president of Mexico?" with "Claudia Sheinbaum".

    A name whose head is the class the question names is kept whole: "Yellowstone National
    Park" is the answer to "which national park…?", not the question's own name."""
    words = list(re.finditer(r"\S+", span.text))
    if heads and len(words) > 1 and set(tokenize(words[-1].group(0))) <= heads:
        lead = set(tokenize(" ".join(w.group(0) for w in words[:-1]))) - STOPWORDS
        if lead and not lead <= question_terms | heads:
            return span
    # a word of the class inside the name says it is one: "the British Broadcasting Corporation"
    # answers "which broadcaster…?" whole, not as "Corporation"
    classed = any(set(tokenize(w.group(0))) & heads for w in words[:-1]) if heads else False
    if classed and len(words) > 1 and set(tokenize(span.text)) - STOPWORDS - question_terms:
        return span

    def asked(word: str) -> bool:
        tokens = set(tokenize(re.sub(r"[’']s$", "", word))) - STOPWORDS
        return not tokens or tokens <= question_terms

    def known(i: int) -> bool:
        """The question's word, or a demonym before one ("Mexican President …"); a demonym
        before a word of its own is part of the name ("Saudi Arabia", "South African")."""
        word = words[i].group(0)
        if asked(word):
            return True
        return bool(_DEMONYM.search(word)) and i + 1 < len(words) and asked(words[i + 1].group(0))

    first, last = 0, len(words)
    while first < last - 1 and known(first):
        first += 1
    if asked(words[-1].group(0)):
        return None  # its head is the question's own name ("Dame Olivia Newton-John")
    if first == 0:
        return span
    start, end = span.start + words[first].start(), span.start + words[last - 1].end()
    text = sentence[start:end]
    if text.split()[0].lower() in ("of", "the", "for", "&", "de", "la"):
        return None
    return Span(text, start, end, span.kind, span.lead, False, span.subject)


def _spelt_out(text: str, acronyms: frozenset[str]) -> bool:
    """Whether ``text`` is a name spelt out whose initials the question writes as a capital
    abbreviation ("United States" for "US", "US Centers for Disease Control" for "CDC": words
    written in capitals, and connectors, are not counted)."""
    words = [w for w in text.split() if w[:1].isupper() and not w.isupper()]
    return len(words) >= 2 and "".join(w[0] for w in words).lower() in acronyms


def _novel(text: str, question_terms: set[str]) -> bool:
    tokens = set(tokenize(text)) - STOPWORDS
    return bool(tokens) and not tokens <= question_terms


def _figures(sentence: str, prefer_money: bool) -> list[Span]:
    taken: list[Span] = []
    for pattern, kind in ((_MONEY, AMOUNT), (_PERCENT, NUMBER)):
        for m in pattern.finditer(sentence):
            taken.append(Span(m.group(0), m.start(), m.end(), kind))
    dates = [(m.start(), m.end()) for m in _DATE.finditer(sentence)]
    for m in _COUNT.finditer(sentence):
        if any(s.start < m.end() and m.start() < s.end for s in taken):
            continue
        if any(a < m.end() and m.start() < b for a, b in dates):
            continue  # a year or a day of a month is not a count
        if _VAGUE.fullmatch(m.group(0)):
            continue  # "millions", "dozens": a vague quantity does not answer "how many"
        taken.append(Span(m.group(0), m.start(), m.end(), NUMBER))
    taken.sort(key=lambda s: (not (prefer_money and s.kind == AMOUNT), s.start))
    return taken if prefer_money else sorted(taken, key=lambda s: s.start)


def _names(sentence: str, kind: str) -> list[Span]:
    out: list[Span] = []
    dates = [(m.start(), m.end()) for m in _DATE.finditer(sentence)]
    tag = _SOURCE_TAG.match(sentence)  # "(CNN)" opening a story is its dateline
    if tag:
        dates.append((tag.start(), tag.end()))
    owner_subject = -1  # where a name owned by the sentence's subject starts ("Italy's Mount Etna")
    for start, text in _runs(sentence):
        possessive = bool(POSSESSIVE_END.search(text))
        words = text.split()
        # an ordinary word capitalised because it opens the sentence is not part of a name
        while words and start == _first_word_start(sentence) and _is_starter(words[0]):
            start += len(words[0]) + 1
            words = words[1:]
            if words and words[0] in ("of", "the", "and", "for", "&"):
                start += len(words[0]) + 1
                words = words[1:]
        while words and words[-1].lower() in ("of", "the", "and", "for", "&", "de", "la"):
            words = words[:-1]
        if words and words[0] in ("The", "A", "An"):
            start += len(words[0]) + 1
            words = words[1:]
        if not words:
            continue
        text = re.sub(r"[’']s$", "", " ".join(words))
        if not _ABBREVIATION_END.search(text):
            text = text.rstrip(".")
        end = start + len(text)
        text = sentence[start:end]  # the span exactly as the sentence has it
        if any(a <= start and end <= b for a, b in dates):
            continue  # "Tuesday", "July" are dates, not names
        # a date written straight after a name ends it: "near Yosemite National Park Friday"
        cut = min((a for a, b in dates if start < a < end and b >= end), default=end)
        if cut < end:
            end = start + len(sentence[start:cut].rstrip())
            text = sentence[start:end]
        if " " in text and text.isupper():
            continue  # a headline in capitals ("STRIKES ON CARTELS"), not a name
        last = text.rsplit(" ", 1)[-1]
        if describes(last, sentence[end:], sentence[: end - len(last)]):
            continue  # "Mexican cartel", "South Korean show": it describes, it does not name
        if len(text) < 2 or text.isdigit():
            continue
        lead = bool(_PLACE_LEAD.search(sentence[max(0, start - 9) : start]))
        opening = _first_word_start(sentence)
        initial = start == opening and " " not in text
        clause = _clause_start(sentence)
        subject = start in (opening, clause) or bool(
            re.fullmatch(r"(?:The|A|An)\s", sentence[clause:start])
        )
        subject = subject and not _adjunct(sentence[end:])
        if (
            start == owner_subject
        ):  # the subject is what the owner owns: "Italy's Mount Etna erupted"
            subject = not _adjunct(sentence[end:])
            if not subject and out:  # "Brody's Oscar acceptance speech broke…": Brody's speech
                out[-1] = replace(out[-1], subject=True)
        elif subject and possessive:
            subject, owner_subject = False, _next_word(sentence, end)
        out.append(Span(text, start, end, kind, lead, initial, subject))
    return out


def _runs(sentence: str) -> list[tuple[int, str]]:
    """Runs of capitalised words, split after a possessive: "FBI’s Denver field office" holds
    two names, the owner and what it owns ("Italy's Mount Etna": "Italy", "Mount Etna")."""
    titles = _titles(sentence)
    out = list(titles)
    for m in _NAME_RUN.finditer(sentence):
        if any(a < m.end() and m.start() < a + len(t) for a, t in titles):
            continue  # a word of a quoted title: the title is the name
        cursor = m.start()
        for cut in _POSSESSIVE.finditer(m.group(0)):
            end = m.start() + cut.end()
            out.append((cursor, sentence[cursor:end].rstrip()))
            cursor = end
        out.append((cursor, sentence[cursor : m.end()]))
    return sorted((a, t) for a, t in out if t)


def _titles(sentence: str) -> list[tuple[int, str]]:
    """Quoted titles (:data:`_QUOTED`): a show, a film, a book or a programme is named by its
    whole title, whatever words it holds."""
    out = []
    for m in _QUOTED.finditer(sentence):
        words = m.group("title").split()
        if len(words) <= 8 and all(
            w[0].isupper() or w[0].isdigit() or w.lower() in _TITLE_MINOR for w in words
        ):
            out.append((m.start("title"), m.group("title").rstrip(",.")))
    return out


_ABBREVIATION_END = re.compile(r"(?:^|\s)(?:[A-Z]\.){2,}$")
_POSSESSIVE = re.compile(r"[’']s\s")
# a word ending in a possessive ("NHL’s"): a name ends there (also read by question_names)
POSSESSIVE_END = re.compile(r"[’']s$")


def _next_word(sentence: str, end: int) -> int:
    m = re.compile(r"[’']s\s+").match(sentence, end)
    return m.end() if m else -1


_SOURCE_TAG = re.compile(r"^\W*\([A-Z][\w .]{0,20}\)")
_DEMONYM = re.compile(r"(?:an|ian|ese|ish|i|ic)$")
_LOWER_NEXT = re.compile(r"\s+(?P<word>[a-z][\w’'-]*)")


def describes(word: str, following: str, preceding: str = "") -> bool:
    """Is ``word`` a demonym describing the noun after it ("Mexican cartel", "British
    lawmakers"), rather than a place with a demonym's ending ("Japan", "Iran", "Hawaii")?

    A demonym is an adjective: the lower-case word after it is the noun it describes. A
    function word or a verb in the past tense there ("Japan on Monday", "Iran said", "Hawaii
    declared") means the word is itself the noun: a name; so does an auxiliary verb before it,
    whose subject it is ("did Japan send…?"). ``following`` and ``preceding`` are the texts
    after and before it."""
    if not _DEMONYM.search(word):
        return False
    before = preceding.split()[-1:]
    if before and before[0].lower() in _AUXILIARY_VERBS:
        return False
    after = _LOWER_NEXT.match(following)
    if after is None:
        return False
    noun = after.group("word")
    return noun not in STOPWORDS and not noun.endswith("ed")


def _adjunct(following: str) -> bool:
    """Does a name stand before the noun it modifies ("A Los Angeles jury found…", "The Netflix
    show…")? Then that noun, not the name, is the sentence's subject. A verb after the name
    ("Netflix announced", "Apple plans", "Target isn’t"), an adverb ("Sheinbaum firmly
    rejected") or a function word ("Adele is") leaves the name the subject; a lower-case word
    ending in -s may be a noun or a verb and counts as a verb."""
    after = _LOWER_NEXT.match(following)
    if after is None:
        return False
    word = after.group("word")
    if "’" in word or "'" in word:
        return False  # a contraction: "Target isn’t…", "Apple won’t…"
    return word not in STOPWORDS and not word.endswith(("ed", "s", "ly"))


_CALENDAR_WORD = (
    r"(?:Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec)\.|January|February|March|April|May|June|July|"
    r"August|September|October|November|December|Monday|Tuesday|Wednesday|Thursday|Friday|"
    r"Saturday|Sunday"
)
# what may stand before a sentence's subject: a fronted adverbial of common words and dates
# closed by a comma ("In June, Toyota issued…", "Meanwhile, Apple…"; not "After the United
# States, Canada and Mexico…", a list of names)
_FRONTED = re.compile(
    r"(?:In|On|At|By|After|Before|During|Since|Until|Over|Earlier|Later|Last|This|Next|"
    r"Meanwhile|However|Still|Now|Today|Yesterday|Overall|Instead|Separately)"
    rf"(?:\s(?:[a-z0-9][\w’'-]*|{_CALENDAR_WORD})){{0,6}},\s+"
)


def _clause_start(sentence: str) -> int:
    """Where the sentence's main clause starts: after a fronted adverbial."""
    at = _first_word_start(sentence)
    fronted = _FRONTED.match(sentence, at)
    return fronted.end() if fronted else at


def _first_word_start(sentence: str) -> int:
    m = re.search(r"[A-Za-z0-9]", sentence)
    return m.start() if m else 0


def _is_starter(word: str) -> bool:
    """An ordinary word that is capitalised only because it opens the sentence: a stopword or a
    common opener ("However", "Meanwhile")."""
    w = word.lower().strip("’'")
    return w in STOPWORDS or w in _STARTERS
