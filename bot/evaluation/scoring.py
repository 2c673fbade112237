"""Answer matching, multiple-choice selection and retrieval metrics.

Text on both sides is normalized into a token sequence: Unicode folded (NFKC, accents
removed, case-folded), split on anything that is not a letter or digit, thousands
separators removed ("1,000" -> "1000"), decimals kept whole ("1.6"), a percent sign
glued to its number ("6%" / "6 percent" -> "6%"), "&" read as "and", number words
mapped to digits ("six" -> "6", "twenty-five" -> "25") and Roman numerals I-X after a
capitalized word mapped to digits ("Artemis I" -> "artemis 1"). A gold answer hits a
text when its token sequence occurs contiguously in the text's, so "6" never matches
"16", "1.6" or "6%".
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

_UNITS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORDS = {word: value for value, word in enumerate(_UNITS)}
_NUMBER_WORDS.update({word: 20 + 10 * i for i, word in enumerate(_TENS)})
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9}
_ROMAN["X"] = 10
_LEADING_ARTICLES = frozenset({"the", "a", "an"})
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "which",
        "who",
        "what",
        "when",
        "where",
        "how",
        "why",
        "do",
        "does",
        "did",
        "not",
        "no",
        "s",
        "t",
        "he",
        "she",
        "they",
        "we",
        "you",
        "i",
        "his",
        "her",
        "their",
        "our",
        "your",
        "than",
        "then",
        "there",
        "these",
        "those",
    }
)

_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_PERCENT_RE = re.compile(r"(\d)\s*(?:%|per\s*cent\b|percent\b)", re.IGNORECASE)
_TOKEN_RE = re.compile(r"\d+(?:\.\d+)*[^\W\d_]*%?|[^\W\d_]+")


def _fold(text: str) -> str:
    """NFKC-normalize, strip accents and unify punctuation variants."""
    text = unicodedata.normalize("NFKC", text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _raw_tokens(text: str) -> list[str]:
    """Case-preserving tokens with number formatting normalized."""
    text = _fold(text).replace("&", " and ")
    text = _PERCENT_RE.sub(r"\1%", _THOUSANDS_RE.sub("", text))
    return _TOKEN_RE.findall(text)


def _roman_to_digit(tokens: list[str]) -> list[str]:
    """Replace Roman numerals I-X that follow a capitalized non-stopword."""
    out = []
    for i, token in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        if token in _ROMAN and prev[:1].isupper() and prev.lower() not in STOPWORDS:
            token = str(_ROMAN[token])
        out.append(token)
    return out


@lru_cache(maxsize=512)
def tokenize(text: str) -> tuple[str, ...]:
    """Normalized token sequence of ``text`` (see module docstring)."""
    tokens = [t.casefold() for t in _roman_to_digit(_raw_tokens(text))]
    return tuple(_combine_numbers(tokens))


def _combine_numbers(tokens: list[str]) -> list[str]:
    """Map number words to digits; a tens word followed by a unit word is summed."""
    out: list[str] = []
    prev_tens = False
    for token in tokens:
        value = _NUMBER_WORDS.get(token)
        if value is not None and prev_tens and 0 < value < 10:
            out[-1] = str(int(out[-1]) + value)
            prev_tens = False
            continue
        out.append(token if value is None else str(value))
        prev_tens = token in _TENS
    return out


def _strip_articles(tokens: Sequence[str]) -> tuple[str, ...]:
    """Drop a leading "the"/"a"/"an" unless nothing else would remain."""
    if len(tokens) > 1 and tokens[0] in _LEADING_ARTICLES:
        return tuple(tokens[1:])
    return tuple(tokens)


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    """True if ``needle`` occurs as a contiguous run in ``haystack``."""
    size = len(needle)
    if size == 0:
        return False
    first = needle[0]
    for start in range(len(haystack) - size + 1):
        if haystack[start] == first and tuple(haystack[start : start + size]) == needle:
            return True
    return False


def answer_hit(gold: str, text: str) -> bool:
    """True if the normalized ``gold`` answer occurs in ``text`` on token boundaries."""
    return _contains(tokenize(text), _strip_articles(tokenize(gold)))


def _content_tokens(tokens: Sequence[str]) -> list[str]:
    """Tokens minus stopwords (all tokens if only stopwords remain)."""
    content = [t for t in _strip_articles(tokens) if t not in STOPWORDS]
    return content or list(tokens)


def _coverage(choice: str, evidence_tokens: frozenset[str]) -> float:
    """Fraction of the choice's content tokens present in the evidence."""
    content = _content_tokens(tokenize(choice))
    if not content:
        return 0.0
    return sum(t in evidence_tokens for t in content) / len(content)


def best_choice(choices: list[str], evidence: str, quoted: str = "") -> int:
    """Index of the choice best supported by ``evidence``; -1 if none has support.

    Choices whose full text hits the evidence (:func:`answer_hit`) beat those that do
    not. Among equals, a choice that the answer itself quotes (``quoted``: the answer
    and its quoted sentences, a part of the evidence) beats one that only the
    surrounding passages mention; then the share of the choice's content tokens found
    in the evidence decides, then the lowest index.
    """
    vocabulary = frozenset(tokenize(evidence))
    best, best_score = -1, (False, False, 0.0)
    for index, choice in enumerate(choices):
        hit = answer_hit(choice, evidence)
        score = (
            hit,
            hit and bool(quoted) and answer_hit(choice, quoted),
            _coverage(choice, vocabulary),
        )
        if (score[0] or score[2] > 0) and score > best_score:
            best, best_score = index, score
    return best


def _dedupe(ids: Sequence[str]) -> list[str]:
    """Distinct ids in first-seen order."""
    return list(dict.fromkeys(ids))


def retrieval_metrics(
    ranked: list[list[str]], gold: list[set[str]], ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Mean recall@k and MRR@10 over queries.

    ``ranked[i]`` is the ranked id list of query ``i`` (repeats, e.g. several chunks of
    one article, are collapsed first, keeping order); ``gold[i]`` its relevant ids.
    recall@k is 1 when a gold id is among the first k distinct ids. A query with no
    gold ids counts as a miss. Empty input gives zeros.
    """
    if len(ranked) != len(gold):
        raise ValueError(f"{len(ranked)} ranked lists but {len(gold)} gold sets")
    keys = [f"recall@{k}" for k in ks] + ["mrr@10"]
    totals = dict.fromkeys(keys, 0.0)
    for ids, relevant in zip(ranked, gold, strict=True):
        rank = _first_hit_rank(_dedupe(ids), relevant)
        for k in ks:
            totals[f"recall@{k}"] += float(rank is not None and rank <= k)
        totals["mrr@10"] += 1.0 / rank if rank is not None and rank <= 10 else 0.0
    count = len(ranked)
    return {key: (value / count if count else 0.0) for key, value in totals.items()}


def _first_hit_rank(ids: Sequence[str], relevant: set[str]) -> int | None:
    """1-based rank of the first relevant id, or None."""
    for position, item in enumerate(ids, start=1):
        if item in relevant:
            return position
    return None


# -- short answers, scored as RealTime QA's gen_eval (SQuAD) does --------------------------------

_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ASCII_PUNCTUATION = frozenset(string.punctuation)


def _is_punctuation(ch: str) -> bool:
    """ASCII punctuation, as SQuAD drops it, and Unicode punctuation (curly quotes, dashes)."""
    return ch in _ASCII_PUNCTUATION or unicodedata.category(ch).startswith("P")


def squad_normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no a/an/the, single spaces."""
    text = "".join(ch for ch in text.lower() if not _is_punctuation(ch))
    return " ".join(_SQUAD_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> bool:
    return squad_normalize(prediction) == squad_normalize(gold)


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 between a predicted and a gold answer (0 when either is empty)."""
    pred, truth = squad_normalize(prediction).split(), squad_normalize(gold).split()
    if not pred or not truth:
        return float(pred == truth)
    common = sum((Counter(pred) & Counter(truth)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(truth)
    return 2 * precision * recall / (precision + recall)
