"""Citation verification for generated answers: every sentence is checked against its sources.

A language model's answer is split into sentences and each sentence into its claim and its [n]
markers. Markers that point to no passage are removed. The claim is then checked against the
passages it cites, in order of strength:

1. **quote**: the claim, normalised (case, quotes, dashes, spacing), is part of the passage, or a
   near-exact quote: one unbroken run covering at least 90% of it;
2. **support score**: ``(coverage + similarity) / 2``, where coverage is the share of the claim's
   content words found in the best window of one or two passage sentences and similarity the
   embedding cosine between claim and window; at least ``threshold`` (see docs/benchmarks.md
   for how it was checked on RealTime QA) counts as supported, provided the window holds at least 80% of the
   claim's content words (similarity alone does not see "rejected" written for "approved").

Whatever the score, a claim whose names or figures (capitalised words, numbers, years, months)
are not in the window is not supported: swapping a number, a name or a date is the most common
way a fluent answer goes wrong. A sentence not supported by the passages it cites, but by another
one, is re-cited to that passage ("recited"). An unsupported sentence is dropped (mode
``drop``) or kept with an "[unverified]" mark (mode ``mark``). Citations are renumbered in order of
appearance and each points at the exact article span that supports its sentence, so the source
list shows only what the answer actually uses.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from itertools import pairwise
from typing import Any

import numpy as np

from bot.answering.answer import Citation, citation_for
from index.search import STOPWORDS, Hit, tokenize
from index.sentences import sentence_spans
from index.structure import furniture_spans

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]  # normalised vectors, one row per text

UNVERIFIED = "[unverified]"
DEFAULT_THRESHOLD = 0.62
MIN_COVERAGE = 0.8  # share of a claim's content words that its passage must hold
_MARKERS = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_LEADING_MARKERS = re.compile(r"^\s*((?:\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]\s*)+)")
_REFUSAL = re.compile(
    r"\b(sources?|passages?|articles?|context)\b[^.]{0,40}\b(do(?:es)? not|don'?t|doesn'?t|"
    r"never)\b[^.]{0,20}\b(say|contain|mention|include|cover|provide|state)|"
    r"\bno (?:information|mention)\b|\bcannot (?:be )?answer|\bnot (?:mentioned|stated) in\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"\b[A-Z][\w’'&-]*")
_CLAUSE = re.compile(r",?\s+(?:and|but|while|whereas|although)\s+|;\s+|,\s+(?:which|who)\s+")
_PLAIN = str.maketrans("’‘“”—–", "''\"\"--")
_MONTHS = (
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday"
).split()


@dataclass
class SentenceCheck:
    """What the verifier found for one sentence of the answer."""

    text: str  # the sentence as the model wrote it, without markers
    cited: list[int]  # the passages its markers named (valid ones)
    invalid_markers: list[int]  # markers that named no passage; removed
    verdict: str  # supported | recited | partial | unsupported | refusal
    support: float  # 0..1, the best support among the passages checked
    method: str  # quote | score | none
    supported_by: int | None = None  # the passage number that supports it
    missing: list[str] = field(default_factory=list)  # names/figures not in that passage
    span: tuple[int, int] | None = None  # article offsets of the supporting text

    @property
    def kept(self) -> bool:
        return self.verdict in ("supported", "recited")


@dataclass
class Verification:
    sentences: list[SentenceCheck]
    text: str  # the answer after verification (renumbered markers, drops or marks)
    citations: list[Citation]
    mode: str
    refused: bool = False  # the model said the sources do not contain the answer

    @property
    def changed(self) -> bool:
        return any(not s.kept and s.verdict != "refusal" for s in self.sentences) or any(
            s.invalid_markers or s.verdict == "recited" for s in self.sentences
        )

    def totals(self) -> dict[str, Any]:
        claims = [s for s in self.sentences if s.verdict != "refusal"]
        verified = sum(s.kept for s in claims)
        return {
            "sentences": len(claims),
            "verified": verified,
            "recited": sum(s.verdict == "recited" for s in claims),
            "unsupported": len(claims) - verified,
            "invalid_markers": sum(len(s.invalid_markers) for s in self.sentences),
            "share_verified": round(verified / len(claims), 4) if claims else None,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "refused": self.refused,
            "totals": self.totals(),
            "sentences": [
                {**asdict(s), "support": round(s.support, 4), "span": list(s.span or []) or None}
                for s in self.sentences
            ],
        }


@dataclass(frozen=True)
class _Match:
    """How well one window supports a claim."""

    passed: bool
    support: float
    method: str
    window: _Excerpt
    missing: list[str]
    coverage: float  # share of the claim's content words found in the window

    def result(
        self, claim: str, valid: list[int], invalid: list[int], verdict: str
    ) -> SentenceCheck:
        kept = verdict in ("supported", "recited")
        return SentenceCheck(
            claim,
            valid,
            invalid,
            verdict,
            self.support,
            self.method if kept else "none",
            supported_by=self.window.passage,
            missing=self.missing,
            span=(self.window.start, self.window.end) if kept else None,
        )


@dataclass(frozen=True)
class _Excerpt:
    """One or two consecutive sentences of a passage, checked as support for a claim."""

    passage: int
    start: int  # offsets in the passage text
    end: int
    text: str


class Verifier:
    """Checks generated sentences against numbered passages (see the module docstring)."""

    def __init__(
        self,
        embed: Embed | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        mode: str = "drop",
    ) -> None:
        if mode not in ("drop", "mark"):
            raise ValueError("verification mode is 'drop' or 'mark'")
        self.embed = embed
        self.threshold = threshold
        self.mode = mode

    def verify(
        self,
        answer: str,
        passages: Sequence[Hit],
        excluded: dict[int, list[tuple[int, int]]] | None = None,
    ) -> Verification:
        """Verify ``answer`` against ``passages`` (passage n is ``passages[n - 1]``).
        ``excluded`` lists, per passage number, spans of the passage text that may not serve as
        support (text withheld from the model, such as instructions planted in an article)."""
        excluded = excluded or {}
        windows = {n: _windows(n, hit, excluded.get(n, [])) for n, hit in enumerate(passages, 1)}
        checks = []
        pieces = split_sentences(answer)
        vectors = self._vectors(pieces, windows)
        for claim, markers in pieces:
            checks.append(self._check(claim, markers, windows, vectors))
        return self._assemble(checks, passages)

    # -- one sentence ----------------------------------------------------------------------------

    def check_sentence(self, sentence: str, passages: Sequence[Hit]) -> SentenceCheck:
        """Verify a single sentence (with its markers) against ``passages``."""
        return self.verify(sentence, passages).sentences[0]

    def _check(
        self,
        claim: str,
        markers: list[int],
        windows: dict[int, list[_Excerpt]],
        vectors: dict[str, np.ndarray],
    ) -> SentenceCheck:
        valid = [n for n in dict.fromkeys(markers) if n in windows]
        invalid = [n for n in markers if n not in windows]
        if _REFUSAL.search(claim):
            return SentenceCheck(claim, valid, invalid, "refusal", 0.0, "none")
        best = self._best(claim, [w for n in valid for w in windows[n]], vectors)
        if best is not None and best.passed:
            return best.result(claim, valid, invalid, "supported")
        others = [w for n, ws in windows.items() if n not in valid for w in ws]
        alternative = self._best(claim, others, vectors)
        if alternative is not None and alternative.passed:
            return alternative.result(claim, valid, invalid, "recited")
        if best is None:  # cited nothing that exists: report the closest passage
            if alternative is None:
                return SentenceCheck(claim, valid, invalid, "unsupported", 0.0, "none")
            return alternative.result(claim, valid, invalid, "unsupported")
        # partial: most of its words are in the passage, but not all of what it says holds
        verdict = "partial" if best.coverage >= 0.5 else "unsupported"
        return best.result(claim, valid, invalid, verdict)

    def _best(
        self, claim: str, windows: list[_Excerpt], vectors: dict[str, np.ndarray]
    ) -> _Match | None:
        """The window that supports ``claim`` best (passing first, then by support)."""
        best: _Match | None = None
        norm_claim = normalise(claim)
        clauses = [set(tokenize(c)) for c in _CLAUSE.split(claim)]
        clauses = [c for c in clauses if len(c) >= 2] or [set(tokenize(claim))]
        for window in windows:
            match = self._support(norm_claim, clauses, claim, window, vectors)
            if best is None or (match.passed, match.support) > (best.passed, best.support):
                best = match
        return best

    def _support(
        self,
        norm_claim: str,
        clauses: list[set[str]],
        claim: str,
        window: _Excerpt,
        vectors: dict[str, np.ndarray],
    ) -> _Match:
        missing = missing_facts(claim, window.text)
        norm_window = normalise(window.text)
        if norm_claim and norm_claim in norm_window:
            return _Match(not missing, 1.0, "quote", window, missing, 1.0)
        if len(norm_claim) >= 20:
            match = SequenceMatcher(None, norm_claim, norm_window, autojunk=False)
            longest = match.find_longest_match(0, len(norm_claim), 0, len(norm_window)).size
            if longest >= 0.9 * len(norm_claim):
                share = longest / len(norm_claim)
                return _Match(not missing, share, "quote", window, missing, share)
        # coverage: the share of content words found, for the worst-covered clause, so that
        # "A, and B" with B made up is not carried by A
        terms = set(tokenize(window.text))
        coverage = min(len(c & terms) / len(c) for c in clauses) if clauses[0] else 0.0
        overall = len(set().union(*clauses) & terms) / max(len(set().union(*clauses)), 1)
        support = coverage
        if claim in vectors and window.text in vectors:
            similarity = max(float(vectors[claim] @ vectors[window.text]), 0.0)
            support = (coverage + similarity) / 2
        # a claim that changes more than one word in five of the passage is not carried by
        # similarity alone ("rejected" for "approved" keeps the embedding close)
        passed = not missing and support >= self.threshold and coverage >= MIN_COVERAGE
        return _Match(passed, support, "score", window, missing, overall)

    def _vectors(
        self, pieces: list[tuple[str, list[int]]], windows: dict[int, list[_Excerpt]]
    ) -> dict[str, np.ndarray]:
        if self.embed is None:
            return {}
        texts = list(
            dict.fromkeys([c for c, _ in pieces] + [w.text for ws in windows.values() for w in ws])
        )
        if not texts:
            return {}
        matrix = self.embed(texts)
        return {text: matrix[i] for i, text in enumerate(texts)}

    # -- the answer -------------------------------------------------------------------------------

    def _assemble(self, checks: list[SentenceCheck], passages: Sequence[Hit]) -> Verification:
        citations: list[Citation] = []
        numbers: dict[tuple[int, int, int], int] = {}
        parts = []
        claims = [c for c in checks if c.verdict != "refusal"]
        refused = bool(checks) and not claims
        for check in checks:
            if check.verdict == "refusal":
                continue
            if check.kept and check.supported_by is not None and check.span is not None:
                hit = passages[check.supported_by - 1]
                key = (check.supported_by, *check.span)
                if key not in numbers:
                    numbers[key] = len(citations) + 1
                    a, b = check.span
                    quote = hit.text[a - hit.start : b - hit.start]
                    citations.append(citation_for(numbers[key], hit, a, b, quote))
                parts.append(_with_mark(check.text, f"[{numbers[key]}]"))
            elif self.mode == "mark":
                parts.append(_with_mark(check.text, UNVERIFIED))
        return Verification(checks, " ".join(parts), citations, self.mode, refused)


# -- text helpers ---------------------------------------------------------------------------------


def split_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences as (claim without markers, marker numbers). Markers written after
    the full stop ("… troops. [2]") belong to the sentence before them."""
    pieces: list[tuple[str, list[int]]] = []
    for a, b in sentence_spans(answer):
        sentence = answer[a:b].strip()
        leading = _LEADING_MARKERS.match(sentence)
        if leading and pieces:
            pieces[-1] = (pieces[-1][0], [*pieces[-1][1], *_numbers(leading.group(1))])
            sentence = sentence[leading.end() :]
        markers = _numbers(sentence)
        claim = _MARKERS.sub(" ", sentence)
        claim = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", claim)
        claim = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(claim.split())).strip()
        if re.fullmatch(r"\d+[.)]?", claim):  # the number of a numbered list item
            continue
        if any(ch.isalnum() for ch in claim):
            pieces.append((claim, markers))
        elif markers and pieces:
            pieces[-1] = (pieces[-1][0], [*pieces[-1][1], *markers])
    return pieces


def _numbers(text: str) -> list[int]:
    return [int(n) for group in _MARKERS.findall(text) for n in re.findall(r"\d+", group)]


def normalise(text: str) -> str:
    """Lower case, plain quotes and dashes, no punctuation, single spaces: for quote matching."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.translate(_PLAIN)
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def missing_facts(claim: str, evidence: str) -> list[str]:
    """Names, numbers, years, months and weekdays in ``claim`` that ``evidence`` does not hold in
    the same context: each must occur there next to one of the words it has next to it in the
    claim ("$45 million" is not supported by "45 people … $40 million")."""
    claim_tokens = _tokens(claim)
    claim_keys = [key for key, _ in claim_tokens]
    evidence_keys = [key for key, _ in _tokens(evidence)]
    spots: dict[str, list[int]] = {}
    for position, key in enumerate(evidence_keys):
        spots.setdefault(key, []).append(position)
    missing = []
    for i, (key, original) in enumerate(claim_tokens):
        if not _is_fact(key, original, i):
            continue
        neighbours = _neighbours(claim_keys, i)
        found = any(
            not neighbours or neighbours & _neighbours(evidence_keys, p) for p in spots.get(key, [])
        )
        if not found:
            missing.append(original)
    return list(dict.fromkeys(missing))


def _neighbours(keys: list[str], i: int, reach: int = 4) -> set[str]:
    """The nearest content word on each side of ``keys[i]``, looking at most ``reach`` tokens
    away. Stopwords, single letters (a possessive s) and -ly adverbs are skipped, so that
    "Sheinbaum emphatically rejected" still supports "Sheinbaum rejected"."""
    found = set()
    for step in (-1, 1):
        for j in range(i + step, i + step * (reach + 1), step):
            if not 0 <= j < len(keys):
                break
            key = keys[j]
            adverb = key.endswith("ly") and key not in _MONTHS  # not "July"
            if key not in STOPWORDS and len(key) > 1 and not adverb:
                found.add(key)
                break
    return found


_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")


def _tokens(text: str) -> list[tuple[str, str]]:
    """(key, original) word and number tokens: keys lower-cased, numbers without separators."""
    text = unicodedata.normalize("NFKC", text).translate(_PLAIN)
    out = []
    for match in _TOKEN.finditer(text):
        word = match.group(0)
        key = _plain_number(word) if word[0].isdigit() else word.lower()
        out.append((key, word))
    return out


def _is_fact(key: str, original: str, index: int) -> bool:
    if original[0].isdigit() or key in _MONTHS:
        return True
    if not original[0].isupper() or key in STOPWORDS or len(key) < 2:
        return False
    return not (index == 0 and _sentence_starter(key))


def _plain_number(text: str) -> str:
    text = text.replace(",", "")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _sentence_starter(word: str) -> bool:
    """A capitalised first word that is an ordinary word, not a name (checked via stopwords and
    common openers)."""
    return word in STOPWORDS or word in {
        "according",
        "after",
        "also",
        "although",
        "despite",
        "however",
        "meanwhile",
        "officials",
        "several",
        "some",
        "many",
        "both",
        "yes",
        "no",
    }


def _with_mark(text: str, mark: str) -> str:
    """``Sentence [1].``: the mark goes before the sentence's final punctuation."""
    body = text.rstrip()
    end = ""
    if body and body[-1] in ".!?":
        body, end = body[:-1].rstrip(), body[-1]
    return f"{body} {mark}{end}"


def _windows(n: int, hit: Hit, excluded: list[tuple[int, int]]) -> list[_Excerpt]:
    """One- and two-sentence windows of a passage, with article offsets, skipping the
    ``excluded`` spans (offsets in the passage text) and page furniture (captions, bylines,
    calls to action: :func:`index.structure.furniture_spans`), which supports no claim."""
    text = hit.text
    excluded = [*excluded, *((a, b) for a, b, _ in furniture_spans(text))]
    spans: list[tuple[int, int] | None] = [
        (a, b) if not any(a < e and s < b for s, e in excluded) else None
        for a, b in sentence_spans(text)
        if len(text[a:b].strip()) > 1
    ]
    singles = [span for span in spans if span is not None]
    pairs = [
        (first[0], second[1])
        for first, second in pairwise(spans)
        if first is not None and second is not None
    ]
    return [_Excerpt(n, hit.start + a, hit.start + b, text[a:b]) for a, b in [*singles, *pairs]]
