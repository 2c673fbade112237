"""Load RealTime QA weekly releases into questions and a page corpus.

A folder holds weekly files in the upstream format: ``YYYYMMDD_qa.jsonl`` (questions),
``YYYYMMDD_gold.jsonl`` (gold articles per question) and ``YYYYMMDD_gcs.jsonl``
(web-search results per question, used as distractors). The files are read in place;
nothing from them is meant to be copied into the repository.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from index.dedupe import normalize_url

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------
# Ad-feedback boilerplate
# ---------------------------------------------------------------------------

# Lines of CNN's "ad feedback" survey widget. Failed scrapes contain only these.
_AD_SURVEY_PHRASES = (
    "how relevant is this ad to you?",
    "did you encounter any technical issues?",
    "video player was slow to load content",
    "video content never loaded",
    "ad froze or did not finish loading",
    "video content did not start after ad",
    "audio on ad was too loud",
    "ad never loaded",
    "ad prevented/slowed the page from loading",
    "content moved around while ad loaded",
    "ad was repetitive to ads i've seen previously",
    "other issues",
    "your effort and contribution in providing this feedback is much appreciated.",
    "thank you!",
    "ad feedback",
    "cancel",
    "submit",
    "close",
)
# A text must contain one of these survey questions to be considered at all, so
# in-article captions such as "Video Ad Feedback 00:59 - Source: CNN" never trigger.
_AD_SURVEY_MARKERS = ("how relevant is this ad to you", "did you encounter any technical issues")
_AD_SURVEY_RE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(p) for p in sorted(_AD_SURVEY_PHRASES, key=len, reverse=True))
    + r")(?!\w)"
)
_LIST_NUMBER_RE = re.compile(r"(?<!\w)\d{1,2}\.(?!\d)")
_WORD_RE = re.compile(r"\w+")
_MAX_RESIDUAL_WORDS = 20
_MAX_RESIDUAL_SHARE = 0.25


def is_ad_boilerplate(text: str) -> bool:
    """True if ``text`` is a failed scrape holding only the ad-feedback survey.

    The text must contain a survey question ("How relevant is this ad to you?" or
    "Did you encounter any technical issues?"). After removing every survey line and
    list number, what remains must be under 20 words or under a quarter of the words,
    i.e. the survey dominates. Empty text is *not* boilerplate (it is no text).
    """
    folded = _fold(text)
    if not any(marker in folded for marker in _AD_SURVEY_MARKERS):
        return False
    total = len(_WORD_RE.findall(folded))
    residual = _LIST_NUMBER_RE.sub(" ", _AD_SURVEY_RE.sub(" ", folded))
    left = len(_WORD_RE.findall(residual))
    return left < _MAX_RESIDUAL_WORDS or left < _MAX_RESIDUAL_SHARE * total


def _fold(text: str) -> str:
    """Case-fold, unify apostrophes and collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.casefold().split())


def has_article_text(text: str | None) -> bool:
    """True if ``text`` is non-empty and not just ad-feedback boilerplate."""
    return bool(text and text.strip()) and not is_ad_boilerplate(text or "")


# ---------------------------------------------------------------------------
# Data classes
# ---------------------------------------------------------------------------


@dataclass
class Question:
    """One multiple-choice question; ``gold_urls`` are normalized URLs."""

    id: str
    date: datetime.date
    sentence: str
    choices: list[str]
    answer_index: int
    gold_urls: list[str]
    source: str

    @property
    def answer_text(self) -> str:
        """The text of the correct choice."""
        return self.choices[self.answer_index]


@dataclass
class Page:
    """One article of the corpus, keyed by its normalized ``url``.

    ``question_ids`` lists the questions the page is gold for (``is_gold``), or, for a
    distractor, the questions whose web search returned it.
    """

    url: str
    title: str
    text: str
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    is_gold: bool = False
    question_ids: list[str] = field(default_factory=list)


@dataclass
class EvalCorpus:
    """Questions plus the pages (gold articles and optional distractors) to index.

    ``answerable``, ``boilerplate_only`` and ``unanswerable`` partition the questions.

    ``has_gold`` is False for releases that publish no gold articles (RealTime QA from 2023 on):
    then every page is a search page, a question is answerable when a search page with text was
    found for it, and the questions with no search results at all are the refusal set.
    """

    questions: list[Question]
    pages: list[Page]
    has_gold: bool = True
    _searched_ids: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    _searched_key: tuple[int, int] = field(default=(0, -1), init=False, repr=False, compare=False)

    def page_map(self) -> dict[str, Page]:
        """Pages by normalized URL."""
        return {page.url: page for page in self.pages}

    def gold_page_urls(self, question: Question) -> list[str]:
        """Normalized URLs of ``question``'s gold pages present in the corpus."""
        pages = self.page_map()
        return [url for url in question.gold_urls if url in pages and pages[url].is_gold]

    def _searched(self) -> set[str]:
        """Questions that a search page with real text was found for (releases without gold)."""
        key = (id(self.pages), len(self.pages))
        if self._searched_key != key:
            self._searched_ids = {
                q for p in self.pages if has_article_text(p.text) for q in p.question_ids
            }
            self._searched_key = key
        return self._searched_ids

    def answerable(self) -> list[Question]:
        """Questions with at least one gold page holding real article text."""
        pages = self.page_map()
        return [q for q in self.questions if self._status(q, pages) == "answerable"]

    def boilerplate_only(self) -> list[Question]:
        """Questions whose gold text exists but is only ad-feedback boilerplate."""
        pages = self.page_map()
        return [q for q in self.questions if self._status(q, pages) == "boilerplate"]

    def unanswerable(self) -> list[Question]:
        """Questions with no gold text at all: the refusal set."""
        pages = self.page_map()
        return [q for q in self.questions if self._status(q, pages) == "none"]

    def _status(self, question: Question, pages: dict[str, Page]) -> str:
        """Classify a question as ``answerable``, ``boilerplate`` or ``none``."""
        if not self.has_gold:
            return "answerable" if question.id in self._searched() else "none"
        texts = [pages[u].text for u in question.gold_urls if u in pages and pages[u].is_gold]
        texts = [t for t in texts if t.strip()]
        if any(not is_ad_boilerplate(t) for t in texts):
            return "answerable"
        return "boilerplate" if texts else "none"


# ---------------------------------------------------------------------------
# Reading the upstream files
# ---------------------------------------------------------------------------

_DATE_RE = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})")


def release_date(value: object) -> datetime.date | None:
    """A date as RealTime QA writes it, ``"2022/06/16"`` (or ISO ``"2022-06-16"``); else None.

    Stricter than :func:`index.sources.parse_date` (articles in any form, as a string): the
    upstream files use this one form."""
    match = _DATE_RE.match(str(value or "").strip())
    if not match:
        return None
    try:
        return datetime.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _iso(value: object) -> str | None:
    """ISO ``YYYY-MM-DD`` form of an upstream date, or None."""
    date = release_date(value)
    return date.isoformat() if date else None


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)``; warn about and skip bad or non-object lines."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                logger.warning("%s:%d: skipping bad JSON line (%s)", path, number, exc)
                continue
            if not isinstance(record, dict):
                logger.warning("%s:%d: skipping non-object JSON line", path, number)
                continue
            yield number, record


@dataclass
class _Week:
    """The three files of one weekly release (gold/gcs may be missing)."""

    qa: Path
    gold: Path | None
    gcs: Path | None


def week_names(folder: Path) -> list[str]:
    """The weekly releases in ``folder`` by name (``YYYYMMDD``), sorted."""
    return [qa.name[: -len("_qa.jsonl")] for qa in sorted(Path(folder).glob("*_qa.jsonl"))]


def _weeks(folder: Path, only: Sequence[str] | None = None) -> list[_Week]:
    """Weekly releases in ``folder`` (those named in ``only``, if given), sorted by file name."""
    weeks = []
    for prefix in week_names(folder):
        if only is not None and prefix not in only:
            continue
        qa = Path(folder) / f"{prefix}_qa.jsonl"
        gold, gcs = qa.with_name(f"{prefix}_gold.jsonl"), qa.with_name(f"{prefix}_gcs.jsonl")
        for path in (gold, gcs):
            if not path.exists():
                logger.debug("%s: missing, continuing without it", path)
        weeks.append(_Week(qa, gold if gold.exists() else None, gcs if gcs.exists() else None))
    return weeks


def _results_by_question(path: Path | None) -> dict[str, list[dict[str, Any]]]:
    """Map question_id to its ``search_result`` list from a gold or gcs file."""
    results: dict[str, list[dict[str, Any]]] = {}
    if path is None:
        return results
    for number, record in read_jsonl(path):
        items = record.get("search_result")
        if not isinstance(items, list):
            logger.warning("%s:%d: no search_result list, skipping", path, number)
            continue
        good = [item for item in items if isinstance(item, dict) and item.get("url")]
        results.setdefault(str(record.get("question_id")), []).extend(good)
    return results


def _parse_question(
    record: dict[str, Any], gold: list[dict[str, Any]], where: str
) -> Question | None:
    """Build a Question from a qa record; warn and return None when malformed."""
    try:
        choices = [str(c) for c in record["choices"]]
        answer_index = int(record["answer"][0])
        date = release_date(record["question_date"])
        if date is None or not 0 <= answer_index < len(choices):
            raise ValueError("bad date or answer index")
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        logger.warning("%s: skipping malformed question (%r)", where, exc)
        return None
    urls = _unique(normalize_url(str(item["url"])) for item in gold)
    return Question(
        id=str(record.get("question_id")),
        date=date,
        sentence=str(record.get("question_sentence", "")),
        choices=choices,
        answer_index=answer_index,
        gold_urls=urls,
        source=str(record.get("question_source", "")),
    )


def _unique(items: Iterable[str]) -> list[str]:
    """Distinct items in first-seen order."""
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------------------
# Building pages
# ---------------------------------------------------------------------------


def _text_rank(text: str) -> int:
    """Preference of a text: 2 real article, 1 boilerplate, 0 empty."""
    if not text.strip():
        return 0
    return 1 if is_ad_boilerplate(text) else 2


def _page_from_item(item: dict[str, Any], qid: str, is_gold: bool) -> Page:
    """A Page from one upstream search_result item (title left empty if absent)."""
    authors = item.get("authors") or []
    return Page(
        url=normalize_url(str(item["url"])),
        title=str(item.get("title") or "").strip(),
        text=str(item.get("text") or ""),
        authors=[str(a) for a in authors] if isinstance(authors, list) else [str(authors)],
        published=_iso(item.get("publish_date")),
        is_gold=is_gold,
        question_ids=[qid],
    )


def _merge(pages: dict[str, Page], page: Page) -> None:
    """Add ``page`` to ``pages``, keeping the first unless the new text is better."""
    old = pages.get(page.url)
    if old is None:
        pages[page.url] = page
        return
    old.question_ids = _unique([*old.question_ids, *page.question_ids])
    if _text_rank(page.text) > _text_rank(old.text):
        old.text = page.text
        old.authors = old.authors or page.authors
        old.published = old.published or page.published
    old.title = old.title or page.title


def _collect(
    results: dict[str, list[dict[str, Any]]], qids: list[str], is_gold: bool
) -> dict[str, Page]:
    """Deduplicated pages for the given questions' result lists."""
    pages: dict[str, Page] = {}
    for qid in qids:
        for item in results.get(qid, []):
            _merge(pages, _page_from_item(item, qid, is_gold))
    return pages


def _repair_gold(gold: dict[str, Page], search: dict[str, Page]) -> None:
    """Fill empty or boilerplate-only gold texts, and missing titles, from search pages."""
    for url, page in gold.items():
        other = search.get(url)
        if other is None:
            continue
        if _text_rank(page.text) < 2 and _text_rank(other.text) == 2:
            page.text = other.text
            page.authors = page.authors or other.authors
            page.published = page.published or other.published
        page.title = page.title or other.title


_DATELINE_RE = re.compile(r"^[\w .,()]*\bCNN( Business)?\b\)?\s*[\u2014-]*\s*$")


def derive_title(url: str, text: str) -> str:
    """A title from the URL slug, else the first non-dateline line of the text."""
    slug = _slug_title(url)
    if slug:
        return slug
    for line in text.splitlines():
        line = line.strip()
        if line and not _DATELINE_RE.match(line):
            return line if len(line) <= 120 else line[:117].rsplit(" ", 1)[0] + "..."
    return url


def _slug_title(url: str) -> str:
    """Readable title from the last meaningful path segment, or '' if none."""
    path = urlsplit(url).path
    for segment in reversed([s for s in path.split("/") if s]):
        words = re.split(r"[-_]+", unquote(segment).rsplit(".", 1)[0])
        words = [w for w in words if w]
        if sum(not w.isdigit() for w in words) >= 2:
            return " ".join(words).capitalize()
    return ""


def _finalize(pages: Iterable[Page], keep: set[str]) -> list[Page]:
    """Drop empty pages, restrict question ids to ``keep`` and fill in titles."""
    result = []
    for page in pages:
        page.question_ids = [q for q in page.question_ids if q in keep]
        if page.text.strip() and page.question_ids:
            page.title = page.title or derive_title(page.url, page.text)
            result.append(page)
    return result


# ---------------------------------------------------------------------------
# Public loader and writer
# ---------------------------------------------------------------------------


def load_dataset(
    folder: Path,
    *,
    distractors: bool = False,
    limit: int | None = None,
    weeks: Sequence[str] | None = None,
) -> EvalCorpus:
    """Load every weekly release in ``folder`` into an :class:`EvalCorpus`.

    Gold pages are always included; web-search (gcs) pages only with ``distractors``.
    Pages are deduplicated by normalized URL. A gold page whose text is empty or only
    ad boilerplate takes the text of a search page at the same URL when there is one
    (it stays gold), in both modes, so a search page never carries a gold URL.
    Gold pages without any text are left out. With ``limit``, only the first ``limit``
    answerable questions (by file name, then line) are kept, with only their pages. ``weeks``
    keeps only the releases of those names (``YYYYMMDD``; see :func:`week_names`).

    A folder with no gold files at all (RealTime QA from 2023 on) loads its search pages as the
    corpus whatever ``distractors`` says, with ``has_gold`` False (see :class:`EvalCorpus`).
    """
    questions: list[Question] = []
    gold_results: dict[str, list[dict[str, Any]]] = {}
    gcs_results: dict[str, list[dict[str, Any]]] = {}
    releases = _weeks(Path(folder), weeks)
    if weeks is not None:
        unknown = sorted(set(weeks) - {w.qa.name[: -len("_qa.jsonl")] for w in releases})
        if unknown:
            raise ValueError(f"no such week in {folder}: {', '.join(unknown)}")
    has_gold = any(week.gold is not None for week in releases)
    for week in releases:
        gold, gcs = _results_by_question(week.gold), _results_by_question(week.gcs)
        gold_results.update(gold)
        gcs_results.update(gcs)
        for number, record in read_jsonl(week.qa):
            qid = str(record.get("question_id"))
            question = _parse_question(record, gold.get(qid, []), f"{week.qa}:{number}")
            if question is not None:
                questions.append(question)
    if not has_gold:
        return _assemble_search_only(questions, gcs_results, limit)
    return _assemble(questions, gold_results, gcs_results, distractors, limit)


def _assemble_search_only(
    questions: list[Question], gcs_results: dict[str, list[dict[str, Any]]], limit: int | None
) -> EvalCorpus:
    """A release without gold articles: its search pages are the corpus (see EvalCorpus)."""
    search = _collect(gcs_results, [q.id for q in questions], is_gold=False)
    full = EvalCorpus(questions, _finalize(search.values(), {q.id for q in questions}), False)
    if limit is None:
        return full
    kept = full.answerable()[: max(limit, 0)]
    keep = {q.id for q in kept}
    pages = [p for p in full.pages if set(p.question_ids) & keep]
    for page in pages:
        page.question_ids = [q for q in page.question_ids if q in keep]
    return EvalCorpus(kept, pages, False)


def _assemble(
    questions: list[Question],
    gold_results: dict[str, list[dict[str, Any]]],
    gcs_results: dict[str, list[dict[str, Any]]],
    distractors: bool,
    limit: int | None,
) -> EvalCorpus:
    """Build pages for ``questions`` and apply ``limit``."""
    qids = [q.id for q in questions]
    gold = _collect(gold_results, qids, is_gold=True)
    search = _collect(gcs_results, qids, is_gold=False)
    _repair_gold(gold, search)
    if limit is not None:
        full = EvalCorpus(questions, list(gold.values()))
        questions = full.answerable()[: max(limit, 0)]
    keep = {q.id for q in questions}
    pages = _finalize(gold.values(), keep)
    if distractors:
        extra = (page for url, page in search.items() if url not in gold)
        pages += _finalize(extra, keep)
    return EvalCorpus(questions, pages)


def write_records(pages: Iterable[Page], path: Path) -> None:
    """Write pages as JSONL ingest records (url, title, text, publish_date, authors)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for page in pages:
            record = {
                "url": page.url,
                "title": page.title,
                "text": page.text,
                "publish_date": page.published,
                "authors": list(page.authors),
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
