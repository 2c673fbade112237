"""The fetched articles on disk: one JSON record per story under ``$NEWSBOT_DATA_DIR/articles/``.

A record has the fields every article folder understands (``url``, ``title``, ``text``,
``publish_date``, ``authors``), so an index rebuild reads these files like any other and reproduces
the index. It also keeps every address the story was found at (``urls``), when and from which feed
it was fetched, and what recognises a copy (``text_hash``, ``minhash``). A record is named after
the article id the index gives it, so it keeps its file when more addresses are added.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.dedupe import (
    DEFAULT_THRESHOLD,
    NearDuplicates,
    clean_url,
    minhash,
    text_fingerprint,
    url_key,
)
from index.fetch import Extracted
from index.models import article_id

log = logging.getLogger(__name__)

FORMAT = 1


@dataclass
class Record:
    path: Path
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return self.path.stem

    @property
    def url(self) -> str:
        return str(self.data["url"])

    @property
    def urls(self) -> list[str]:
        return list(self.data.get("urls") or [self.url])

    @property
    def fetched_from(self) -> list[str]:
        """The addresses whose fetches stored this story's text (older records: all of them)."""
        return list(self.data.get("fetched_from") or self.urls)

    @property
    def title(self) -> str:
        return str(self.data.get("title", ""))

    @property
    def text_hash(self) -> str:
        return str(self.data.get("text_hash", ""))

    @property
    def fetched(self) -> str:
        return str(self.data.get("fetched", ""))


@dataclass(frozen=True)
class Match:
    """An existing record that a fetched article is a copy of."""

    record: Record
    kind: str  # "same address" | "same text" | "near-duplicate"
    similarity: float = 1.0


class Library:
    """The records in one folder, with lookups by address, by text and by near-duplicate text."""

    def __init__(self, folder: Path, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.folder = Path(folder)
        self.records: dict[str, Record] = {}
        self._by_url: dict[str, str] = {}
        self._by_hash: dict[str, str] = {}
        self._near = NearDuplicates(threshold)
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.json")):
                self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not data.get("url") or not data.get("text"):
                raise ValueError("not a newsbot article record")
        except (OSError, ValueError) as error:
            log.warning("ignoring %s: %s", path, error)
            return
        self._remember(Record(path, data))

    def _remember(self, record: Record) -> None:
        self.records[record.id] = record
        for url in record.urls:
            self._by_url[url_key(url)] = record.id
        text_hash = record.text_hash or text_fingerprint(record.data["text"])
        self._by_hash.setdefault(text_hash, record.id)
        signature = record.data.get("minhash")
        vector = (
            np.asarray(signature, dtype=np.uint64)
            if signature
            else minhash(str(record.data["text"]))
        )
        self._near.add(record.id, vector)

    def __len__(self) -> int:
        return len(self.records)

    def find_url(self, url: str) -> Record | None:
        record_id = self._by_url.get(url_key(url))
        return self.records.get(record_id) if record_id else None

    def match(self, article: Extracted, by_address: bool = True) -> Match | None:
        """The record this article is a copy of, if any: same address, same text, or nearly."""
        for url in article.urls if by_address else ():
            record = self.find_url(url)
            if record is not None:
                return Match(record, "same address")
        record_id = self._by_hash.get(text_fingerprint(article.text))
        if record_id:
            return Match(self.records[record_id], "same text")
        best = self._near.best(minhash(article.text))
        if best is not None:
            return Match(self.records[best[0]], "near-duplicate", best[1])
        return None

    # -- writing -------------------------------------------------------------------------------
    def add(
        self, article: Extracted, *, published: str | None = None, feed: str | None = None
    ) -> Record:
        """Store a new story; its id comes from its canonical address."""
        url = clean_url(article.url)
        data: dict[str, Any] = {
            "url": url,
            "urls": _unique([url, *(clean_url(u) for u in article.urls)]),
            "title": article.title,
            "text": article.text,
            "publish_date": article.published or published,
            "authors": list(article.authors),
            "fetched": _now(),
            "fetched_from": _unique([clean_url(u) for u in article.fetched or article.urls]),
            "feed": feed,
            "text_hash": text_fingerprint(article.text),
            "minhash": [int(v) for v in minhash(article.text)],
            "newsbot_record": FORMAT,
        }
        record = Record(self.folder / f"{article_id(url)}.json", data)
        self._write(record)
        self._remember(record)
        return record

    def replace_text(
        self, record: Record, article: Extracted, *, published: str | None = None
    ) -> Record:
        """The story at a known address changed: keep its id and addresses, take the new text."""
        data = dict(record.data)
        data.update(
            title=article.title,
            text=article.text,
            publish_date=article.published or published or data.get("publish_date"),
            authors=list(article.authors) or data.get("authors") or [],
            fetched=_now(),
            text_hash=text_fingerprint(article.text),
            minhash=[int(v) for v in minhash(article.text)],
            urls=_unique([*record.urls, *(clean_url(u) for u in article.urls)]),
            fetched_from=_unique([*record.fetched_from, *(clean_url(u) for u in article.fetched)]),
        )
        updated = Record(record.path, data)
        self._write(updated)
        self._remember(updated)
        return updated

    def add_urls(self, record: Record, urls: list[str]) -> bool:
        """Keep more addresses of a story; True when any was new."""
        merged = _unique([*record.urls, *(clean_url(u) for u in urls)])
        if merged == record.urls:
            return False
        record.data["urls"] = merged
        self._write(record)
        for url in merged:
            self._by_url[url_key(url)] = record.id
        return True

    def _write(self, record: Record) -> None:
        """Atomically: a reader (or a crash) never sees half a record."""
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(record.data, out, ensure_ascii=False, indent=1)
            os.replace(temporary, record.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _unique(urls: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for url in urls:
        seen.setdefault(url_key(url), url)
    return list(seen.values())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
