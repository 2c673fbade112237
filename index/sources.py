"""Read articles from folders: .txt, .md, .html, .json and .jsonl.

Every problem with one file or one record is reported as a :class:`Problem` and skipped; the rest
are read. Nothing here touches the index.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from index.clean import clean_text
from index.models import Article, article_id

log = logging.getLogger(__name__)

SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"})
_MD_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)


@dataclass(frozen=True)
class Problem:
    source: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class SourceFile:
    """One file on disk: its articles share ``raw_hash``, so an unchanged file need not be parsed."""

    path: Path
    key: str  # stable name: "<folder name>/<relative path>"
    raw_hash: str


@dataclass
class ReadResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Scan:
    """What :func:`scan` found: the article files, the problems, and the folders (as key
    prefixes, ``"<folder name>/<relative path>/"``) whose contents could not be listed."""

    files: list[SourceFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)


def discover(folders: Iterable[Path]) -> tuple[list[SourceFile], list[Problem]]:
    """List the article files under ``folders`` with a hash of their bytes."""
    found = scan(folders)
    return found.files, found.problems


def scan(folders: Iterable[Path], follow_links: bool = False) -> Scan:
    """List the article files under ``folders`` with a hash of their bytes.

    A link (to a file or a folder) that leads out of its article folder is not followed unless
    ``follow_links`` (NEWSBOT_FOLLOW_LINKS): an article folder holds articles, not a way to
    quote any file on the machine. Links that stay inside the folder are followed."""
    found = Scan()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            found.problems.append(
                Problem(str(folder), "folder not found; check NEWSBOT_ARTICLE_DIRS")
            )
            continue
        _scan_folder(folder, follow_links, found)
    return found


def _scan_folder(folder: Path, follow_links: bool, found: Scan) -> None:
    root = folder.resolve()
    name = root.name

    def key(path: Path) -> str:
        relative = path.relative_to(folder).as_posix()
        return printable(f"{name}/{relative}" if relative != "." else name)

    def unlisted(error: OSError) -> None:
        prefix = key(Path(error.filename or folder))
        found.unlisted.append(f"{prefix}/")
        found.problems.append(
            Problem(
                prefix,
                f"folder could not be read ({_reason(error)}); its indexed articles are kept. "
                "Check its permissions",
            )
        )

    def allowed(path: Path) -> bool:
        """Not a link, or one that stays inside the folder, or links are followed."""
        if follow_links or not path.is_symlink():
            return True
        target = path.resolve()
        if target == root or root in target.parents:
            return True
        found.problems.append(
            Problem(
                key(path),
                f"a link to {target}, outside the article folder; not followed. "
                "Set NEWSBOT_FOLLOW_LINKS=true to index what links point to",
            )
        )
        return False

    visited: set[Path] = set()  # real folders already listed: a link to a parent is no loop
    paths: list[Path] = []
    for top, dirs, names in os.walk(folder, onerror=unlisted, followlinks=True):
        here = Path(top)
        real = here.resolve()
        if real in visited:
            dirs[:] = []
            continue
        visited.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and allowed(here / d))
        paths.extend(here / n for n in names if not n.startswith("."))
    for path in sorted(paths):
        if path.suffix.lower() not in SUFFIXES or not allowed(path) or not path.is_file():
            continue  # hidden files and folders inside an article folder are not articles
        try:
            digest = _file_hash(path)
        except OSError:
            digest = ""  # read_file says why; the articles it held stay indexed
        found.files.append(SourceFile(path, key(path), digest))


def printable(name: str) -> str:
    """A file name as it can be shown, stored and put in JSON: bytes that are not UTF-8 become
    ``\\xNN`` and characters that are not printable (a newline, a direction override) become
    escapes, so a name can neither break ``--json`` output nor forge a line of a report."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _file_hash(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks: a huge file is never held in memory."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def read_file(source: SourceFile, max_bytes: int = 20_000_000) -> ReadResult:
    """Parse one file into articles, reporting what could not be read. Never raises: a file that
    cannot be opened or parsed is one :class:`Problem`, and the other files are still read."""
    try:
        return _read_file(source, max_bytes)
    except OSError as error:
        return ReadResult(
            problems=[Problem(source.key, f"could not be read ({_reason(error)}); skipped")]
        )
    except Exception as error:  # a parser's bug or limit (deep HTML) must not stop the build
        log.warning("could not parse %s", source.key, exc_info=True)
        return ReadResult(
            problems=[
                Problem(
                    source.key,
                    f"could not be parsed ({type(error).__name__}); skipped. "
                    "Check that the file is a well-formed article",
                )
            ]
        )


def _read_file(source: SourceFile, max_bytes: int) -> ReadResult:
    result = ReadResult()
    size = source.path.stat().st_size
    if size == 0:
        result.problems.append(Problem(source.key, "empty file, skipped"))
        return result
    if size > max_bytes:
        result.problems.append(_too_big(source.key, size, max_bytes))
        return result
    with source.path.open("rb") as handle:
        raw = handle.read(max_bytes + 1)  # the file may have grown since it was measured
    if len(raw) > max_bytes:
        result.problems.append(_too_big(source.key, len(raw), max_bytes))
        return result
    suffix = source.path.suffix.lower()
    text = _decode(raw, source.key, result.problems, lines=suffix == ".jsonl")
    if text is None:
        return result
    if suffix == ".jsonl":
        records: Iterator[tuple[int | None, Any]] = _jsonl_records(
            text, source.key, result.problems
        )
    elif suffix == ".json":
        records = _json_records(text, source.key, result.problems)
    elif suffix in {".html", ".htm"}:
        records = iter([(None, _html_record(text))])
    else:
        records = iter([(None, _text_record(text, markdown=suffix != ".txt"))])
    for index, (line, record) in enumerate(records):
        article = _to_article(record, source.key, index, line, result.problems)
        if article:
            result.articles.append(article)
    if not result.articles and not result.problems:  # "[]", or blank lines only
        result.problems.append(Problem(source.key, "no articles in it; skipped"))
    return result


def _too_big(key: str, size: int, max_bytes: int) -> Problem:
    return Problem(
        key,
        f"file is {size:,} bytes, over the {max_bytes:,} limit "
        "(NEWSBOT_MAX_ARTICLE_BYTES); split it or raise the limit",
    )


# What files that are not text start with, and what to call them in the message (signatures
# that a text could also start with are left to the checks for NUL and control characters).
_MAGIC = (
    (b"\x89PNG\r\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"\x1f\x8b\x08", "a gzip archive"),
    (b"\x7fELF", "a program"),
    (b"SQLite format 3\x00", "a database"),
)
# Western European text is by far the commonest legacy encoding in news; charset_normalizer
# often cannot tell it from Central European on a short text and then names cp1250 first, which
# turns "São Paulo" into "Săo Paulo". On such a tie, Western wins.
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd]")


def _binary(key: str, problems: list[Problem], kind: str = "") -> None:
    what = f"binary file ({kind})" if kind else "binary file"
    problems.append(Problem(key, f"{what}, not an article; remove it from the folder"))


def _decode(raw: bytes, key: str, problems: list[Problem], lines: bool = False) -> str | None:
    """The file's text, or ``None`` (with a problem) when it is not text. With ``lines`` (JSONL),
    a stray NUL costs only its own line, which then fails to parse and is reported."""
    for magic, kind in _MAGIC:
        if raw.startswith(magic):
            _binary(key, problems, kind)
            return None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            _binary(key, problems)
            return None
        problems.append(Problem(key, "not UTF-8; read as UTF-16. Save it as UTF-8 to be sure"))
        return text
    if b"\x00" in raw[:8192] and not lines:
        _binary(key, problems)
        return None
    try:
        return _text_or_binary(raw.decode("utf-8-sig"), key, problems)
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    best = matches.best()
    if best is None:  # no encoding makes sense of it
        _binary(key, problems)
        return None
    for match in matches:
        if (
            match.encoding in _WESTERN
            and match.chaos <= best.chaos
            and match.coherence >= best.coherence
        ):
            best = match
            break
    western = [e for e in _WESTERN if e in best.could_be_from_charset]
    encoding = western[0] if western else best.encoding
    note = Problem(key, f"not UTF-8; read as {encoding}. Save it as UTF-8 to be sure")
    return _text_or_binary(str(best), key, problems, note)


def _text_or_binary(
    text: str, key: str, problems: list[Problem], note: Problem | None = None
) -> str | None:
    """``text``, unless it is mostly control characters: then the file was not text at all."""
    sample = text[:65536]
    if len(_CONTROL.findall(sample)) > 0.02 * len(sample):
        _binary(key, problems)
        return None
    if note is not None:
        problems.append(note)
    return text


def _jsonl_records(
    text: str, key: str, problems: list[Problem]
) -> Iterator[tuple[int | None, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(Problem(key, f"not valid JSON ({error.msg}); line skipped", number))


def _json_records(text: str, key: str, problems: list[Problem]) -> Iterator[tuple[int | None, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(Problem(key, f"not valid JSON ({error.msg} at line {error.lineno})"))
        return
    items = data if isinstance(data, list) else [data]
    for item in items:
        yield None, item


def _text_record(text: str, markdown: bool) -> dict[str, Any]:
    if markdown:
        text = _MD_HEADING.sub("", text)
    lines = text.strip().splitlines()
    title = lines[0] if lines else ""
    return {"title": title, "text": "\n".join(lines[1:])}


def _html_record(html: str) -> dict[str, Any]:
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, favor_precision=True
    )
    data: dict[str, Any] = {}
    if doc is not None:
        data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    title, text = deep_html_text(html, data.get("title") or "", data.get("text") or "")
    if not text:
        return {}
    if title and text.startswith(title):
        text = text[len(title) :].lstrip("\n")
    authors = [a.strip() for a in re.split(r";|,| and ", data.get("author") or "") if a.strip()]
    return {
        "title": title,
        "text": text,
        "url": data.get("url"),
        "publish_date": data.get("date"),
        "authors": authors,
    }


def deep_html_text(html: str, title: str, text: str) -> tuple[str, str]:
    """The title and text of a page that lxml read as ``title`` and ``text``: when the page is
    nested deeper than lxml reads, the plain reader's, if it found more."""
    deep = _DeepHtml.read(html)
    if deep.depth > _LXML_MAX_DEPTH:  # lxml drops what is nested deeper: read it plainly
        plain = deep.record()
        if len(plain["text"]) > len(text):
            log.info("HTML nested %d deep: read with the plain parser", deep.depth)
            return title or plain["title"], plain["text"]
    return title, text


_LXML_MAX_DEPTH = 255  # libxml2's default nesting limit: deeper elements are dropped
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_SKIP = frozenset("script style noscript template nav header footer aside form svg".split())
_BLOCK = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 article section blockquote tr table pre".split()
)


class _DeepHtml(HTMLParser):
    """A plain reading of HTML nested too deep for lxml: the title and the visible text, one
    block per line, without scripts, navigation, headers and footers. Iterative, so any depth
    is fine."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.open: dict[str, int] = {}  # how many of each tag are open
        self.depth = 0
        self.title: list[str] = []
        self.parts: list[str] = []

    @classmethod
    def read(cls, html: str) -> _DeepHtml:
        parser = cls()
        parser.feed(html)
        parser.close()
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag not in _VOID:
            self.stack.append(tag)
            self.open[tag] = self.open.get(tag, 0) + 1
            self.depth = max(self.depth, len(self.stack))

    def handle_endtag(self, tag: str) -> None:
        if self.open.get(tag):  # close it, and whatever was left open inside it
            while True:
                closed = self.stack.pop()
                self.open[closed] -= 1
                if closed == tag:
                    break
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.open.get("title"):
            self.title.append(data)
        elif not any(self.open.get(tag) for tag in _SKIP):
            self.parts.append(data)

    def record(self) -> dict[str, Any]:
        title = " ".join("".join(self.title).split())
        lines = [" ".join(line.split()) for line in "".join(self.parts).split("\n")]
        lines = [line for line in lines if line]
        if lines and title and lines[0] == title:
            lines = lines[1:]
        return {"title": title, "text": "\n".join(lines)}


def _to_article(
    record: Any, key: str, index: int, line: int | None, problems: list[Problem]
) -> Article | None:
    if not isinstance(record, dict):
        problems.append(Problem(key, "record is not a JSON object; skipped", line))
        return None
    raw_body = record.get("text") or record.get("content") or record.get("body") or ""
    if not isinstance(raw_body, str):
        problems.append(
            Problem(
                key,
                f"the article text is {_json_kind(raw_body)}, not a string; skipped. "
                'Put the text in "text" as a string',
                line,
            )
        )
        return None
    body = clean_text(raw_body)
    title = clean_text(_scalar(record.get("title"))).replace("\n", " ")
    if not body.strip():
        problems.append(Problem(key, "no article text found; skipped", line))
        return None
    url = _scalar(record.get("url")).strip() or None
    if not title:
        title = body.split("\n", 1)[0][:120]
    authors = _names(record.get("authors") or record.get("author"))
    return Article(
        id=article_id(url, key, index),
        title=title,
        text=body,
        source=key,
        url=url,
        published=parse_date(
            record.get("publish_date") or record.get("published") or record.get("date")
        ),
        authors=authors,
        other_urls=_other_urls(record.get("urls"), url),
    )


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", bool: "true or false"}
    return kinds.get(type(value), "a number")


def _scalar(value: Any) -> str:
    """A JSON string or number as text; anything else (an object, a list, null) as ``""``."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _names(value: Any) -> tuple[str, ...]:
    """Authors given as a string, a list of strings, or a list of ``{"name": ...}`` objects."""
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    return tuple(names)


def _other_urls(urls: Any, primary: str | None) -> tuple[str, ...]:
    """The record's other addresses of the same story (``urls``, as the library writes it)."""
    if not isinstance(urls, list):
        return ()
    found = dict.fromkeys(str(u).strip() for u in urls if isinstance(u, str))
    found.pop("", None)
    found.pop(primary or "", None)
    return tuple(found)


def parse_date(value: Any) -> str | None:
    """Normalise a date in any common form to ``YYYY-MM-DD``; ``None`` when absent or absurd.

    A date needs at least a year and a month (a missing day is the 1st): "Sunday", "May" or "-5"
    are not dates, and today's year or month is never filled in. Numbers of seconds (or
    milliseconds) since 1970 are dates too."""
    if isinstance(value, datetime):
        parsed: date | None = value.date()
    elif isinstance(value, date):
        parsed = value
    elif isinstance(value, str):
        parsed = _parse_text_date(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = _parse_number_date(value)
    else:  # null, an object, a list
        return None
    if parsed is None or not 1900 <= parsed.year <= date.today().year + 1:
        return None
    return parsed.isoformat()


# Two defaults that differ in every field: what the text does not say comes out different.
_DEFAULTS = (datetime(1904, 1, 1), datetime(1908, 2, 2))


def _parse_text_date(text: str) -> date | None:
    from dateutil import parser

    text = text.strip()[:100].replace("/", "-")
    if not text:
        return None
    try:
        first, second = (parser.parse(text, fuzzy=True, default=d) for d in _DEFAULTS)
    except (ValueError, OverflowError, TypeError):
        return None
    if first.year != second.year or first.month != second.month:
        return None  # no year, or no month: not a date an article can be placed at
    day: date = first.date()
    return day


def _parse_number_date(value: float) -> date | None:
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if 1e8 <= value < 1e11:  # seconds since 1970 (from March 1973)
        seconds = value
    elif 1e11 <= value < 1e14:  # milliseconds
        seconds = value / 1000
    elif isinstance(value, int) and value > 0:  # 20240501
        return _parse_text_date(str(value))
    else:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).date()
    except (ValueError, OverflowError, OSError):
        return None
