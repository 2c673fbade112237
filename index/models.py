"""The records that flow through indexing: articles and their chunks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def article_id(url: str | None, source: str = "", index: int = 0) -> str:
    """The id of an article: from its address when it has one (the same story from any file
    gets the same id), else from the file it was read from and its place in that file."""
    identity = f"url:{url}" if url else f"file:{source}#{index}"
    return sha256(identity)[:16]


@dataclass(frozen=True)
class Article:
    """A cleaned article. ``text`` is the body that chunk offsets and citation quotes refer to."""

    id: str
    title: str
    text: str
    source: str
    url: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    authors: tuple[str, ...] = ()
    other_urls: tuple[str, ...] = ()  # more addresses of the same story (near-duplicates)

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that ends up in the index changes."""
        fields = [self.title, self.url or "", self.published or "", ",".join(self.authors)]
        if self.other_urls:  # only when present, so older hashes stay valid
            fields.append(" ".join(self.other_urls))
        meta = "\x1f".join(fields)
        return sha256(meta + "\x1e" + self.text)


@dataclass(frozen=True)
class Chunk:
    """A contiguous span ``article.text[start:end]`` with the structure it came from."""

    article_id: str
    position: int
    start: int
    end: int
    text: str
    section: str = ""
    kind: str = "prose"  # prose | list | post
    post_author: str = ""
    post_date: str = ""
    extra: dict[str, str] = field(default_factory=dict)
