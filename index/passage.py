"""The passage record: what one indexed chunk carries, from the build to the answer's citations.

A :class:`Passage` is written to Chroma as flat metadata (:meth:`Passage.to_metadata`) and read
back from it (:meth:`Passage.from_metadata`); this is the only place that knows that format
(authors are stored joined with ", ", other addresses with " "). Search returns passages, and
answerers, the verifier, the conflict check and the front ends read their fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from index.models import Article, Chunk

Metadata = dict[str, str | int]


def embedding_text(title: str, section: str, text: str) -> str:
    """What is embedded and searched for a chunk: its text, with the headline and section as context."""
    return "\n".join(part for part in (title, section, text) if part)


def chunk_id(article_id: str, content_hash: str, position: int) -> str:
    return f"{article_id}:{content_hash[:12]}:{position}"


@dataclass(frozen=True, slots=True)
class Passage:
    """One chunk of an article with everything needed to search it and cite it.

    ``text`` is exactly ``article.text[start:end]``."""

    chunk_id: str
    article_id: str
    text: str
    start: int = 0
    end: int = 0
    content_hash: str = ""
    position: int = 0
    title: str = ""
    section: str = ""
    kind: str = "prose"  # prose | list | post
    post_author: str = ""
    post_date: str = ""
    url: str | None = None
    other_urls: tuple[str, ...] = ()  # more addresses of the same story
    published: str | None = None  # YYYY-MM-DD
    authors: tuple[str, ...] = ()
    source: str = ""  # the article file it was read from

    @classmethod
    def of(cls, article: Article, chunk: Chunk) -> Passage:
        """The passage a chunk of ``article`` becomes in the index."""
        return cls(
            chunk_id=chunk_id(article.id, article.content_hash, chunk.position),
            article_id=article.id,
            text=chunk.text,
            start=chunk.start,
            end=chunk.end,
            content_hash=article.content_hash,
            position=chunk.position,
            title=article.title,
            section=chunk.section,
            kind=chunk.kind,
            post_author=chunk.post_author,
            post_date=chunk.post_date,
            url=article.url,
            other_urls=article.other_urls,
            published=article.published,
            authors=article.authors,
            source=article.source,
        )

    @property
    def search_text(self) -> str:
        """What is embedded and searched: see :func:`embedding_text`."""
        return embedding_text(self.title, self.section, self.text)

    def to_metadata(self) -> Metadata:
        """The flat metadata stored with the chunk in Chroma."""
        return {
            "article_id": self.article_id,
            "content_hash": self.content_hash,
            "position": self.position,
            "start": self.start,
            "end": self.end,
            "section": self.section,
            "kind": self.kind,
            "post_author": self.post_author,
            "post_date": self.post_date,
            "title": self.title,
            "url": self.url or "",
            "other_urls": " ".join(self.other_urls),
            "published": self.published or "",
            "authors": ", ".join(self.authors),
            "source": self.source,
        }

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: Mapping[str, Any]) -> Passage:
        """The passage behind a stored chunk (missing keys take their defaults)."""
        start = int(meta.get("start", 0))
        authors = str(meta.get("authors") or "")
        return cls(
            chunk_id=chunk_id,
            article_id=str(meta.get("article_id", "")),
            text=text,
            start=start,
            end=int(meta.get("end", start + len(text))),
            content_hash=str(meta.get("content_hash", "")),
            position=int(meta.get("position", 0)),
            title=str(meta.get("title", "")),
            section=str(meta.get("section", "")),
            kind=str(meta.get("kind", "prose")),
            post_author=str(meta.get("post_author", "")),
            post_date=str(meta.get("post_date") or ""),
            url=str(meta.get("url") or "") or None,
            other_urls=tuple(str(meta.get("other_urls") or "").split()),
            published=str(meta.get("published") or "") or None,
            authors=tuple(authors.split(", ")) if authors else (),
            source=str(meta.get("source", "")),
        )
