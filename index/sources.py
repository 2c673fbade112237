"""Read articles from folders: .txt, .md, .html, .json and .jsonl.

Every problem with one file or one record is reported as a :class:`Problem` and skipped; the rest
are read. Nothing here touches the index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from index.clean import clean_text
from index.models import Article, sha256

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


def discover(folders: Iterable[Path]) -> tuple[list[SourceFile], list[Problem]]:
    """List the article files under ``folders`` with a hash of their bytes."""
    files: list[SourceFile] = []
    problems: list[Problem] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            problems.append(Problem(str(folder), "folder not found; check NEWSBOT_ARTICLE_DIRS"))
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder)
            if path.suffix.lower() not in SUFFIXES or any(
                p.startswith(".") for p in relative.parts
            ):
                continue  # hidden files and folders inside an article folder are not articles
            key = f"{folder.resolve().name}/{relative.as_posix()}"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files.append(SourceFile(path, key, digest))
    return files, problems


def read_file(source: SourceFile, max_bytes: int = 20_000_000) -> ReadResult:
    """Parse one file into articles, reporting what could not be read."""
    result = ReadResult()
    size = source.path.stat().st_size
    if size == 0:
        result.problems.append(Problem(source.key, "empty file, skipped"))
        return result
    if size > max_bytes:
        result.problems.append(
            Problem(
                source.key,
                f"file is {size:,} bytes, over the {max_bytes:,} limit "
                "(NEWSBOT_MAX_ARTICLE_BYTES); split it or raise the limit",
            )
        )
        return result
    raw = source.path.read_bytes()
    if b"\x00" in raw[:8192]:
        result.problems.append(
            Problem(source.key, "binary file, not an article; remove it from the folder")
        )
        return result
    text = _decode(raw, source.key, result.problems)
    suffix = source.path.suffix.lower()
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
    return result


def _decode(raw: bytes, key: str, problems: list[Problem]) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        encoding = best.encoding if best else "cp1252"
        problems.append(
            Problem(key, f"not UTF-8; read as {encoding}. Save it as UTF-8 to be sure", None)
        )
        return str(best) if best else raw.decode("cp1252", errors="replace")


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
    if doc is None:
        return {}
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = data.get("text") or ""
    title = data.get("title") or ""
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


def _to_article(
    record: Any, key: str, index: int, line: int | None, problems: list[Problem]
) -> Article | None:
    if not isinstance(record, dict):
        problems.append(Problem(key, "record is not a JSON object; skipped", line))
        return None
    body = clean_text(str(record.get("text") or record.get("content") or record.get("body") or ""))
    title = clean_text(str(record.get("title") or "")).replace("\n", " ")
    if not body.strip():
        problems.append(Problem(key, "no article text found; skipped", line))
        return None
    url = str(record.get("url") or "").strip() or None
    if not title:
        title = body.split("\n", 1)[0][:120]
    authors = record.get("authors") or record.get("author") or []
    if isinstance(authors, str):
        authors = [authors]
    identity = f"url:{url}" if url else f"file:{key}#{index}"
    return Article(
        id=sha256(identity)[:16],
        title=title,
        text=body,
        source=key,
        url=url,
        published=parse_date(
            record.get("publish_date") or record.get("published") or record.get("date")
        ),
        authors=tuple(str(a).strip() for a in authors if str(a).strip()),
    )


def parse_date(value: Any) -> str | None:
    """Normalise a date in any common form to ``YYYY-MM-DD``; ``None`` when absent or absurd."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime | date):
        parsed = value.date() if isinstance(value, datetime) else value
    else:
        from dateutil import parser

        try:
            parsed = parser.parse(str(value).replace("/", "-"), fuzzy=True).date()
        except (ValueError, OverflowError):
            return None
    if not 1900 <= parsed.year <= date.today().year + 1:
        return None
    return parsed.isoformat()


def read_folders(folders: Iterable[Path], max_bytes: int = 20_000_000) -> ReadResult:
    """Read every article under ``folders`` (convenience for tests and tools)."""
    files, problems = discover(folders)
    result = ReadResult(problems=problems)
    for source in files:
        one = read_file(source, max_bytes)
        result.articles.extend(one.articles)
        result.problems.extend(one.problems)
    return result
