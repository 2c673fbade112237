"""Fetch web pages and extract the article in them.

:class:`Fetcher` downloads with a timeout (for the whole download, not just each read), a size cap,
a user agent and redirects followed. :func:`extract_article` takes the page's title, author,
published date, main text and canonical URL with trafilatura, dropping navigation, ads and footers.
Every failure is a :class:`FetchError` that names the URL and the reason, so a caller can report
it and go on with the next item.
"""

from __future__ import annotations

import codecs
import logging
import re
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from index.clean import clean_text
from index.config import WebSettings
from index.errors import FetchError
from index.sources import parse_date

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 80  # less than this is a teaser, a paywall or an error page, not an article
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Download:
    """A downloaded page: the address asked for, the one it ended at, and its bytes."""

    url: str
    final_url: str
    content: bytes
    content_type: str
    charset: str | None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False

    def text(self) -> str:
        return decode_html(self.content, self.charset)


@dataclass(frozen=True)
class Extracted:
    """The article found in a page."""

    url: str  # canonical URL when the page names one, else the address it was served from
    title: str
    text: str
    published: str | None  # YYYY-MM-DD
    authors: tuple[str, ...] = ()
    urls: tuple[str, ...] = field(default=())  # every address this page was reached by


def check_url(url: str) -> str:
    """The URL stripped of spaces, or a :class:`FetchError` when it is not a web address."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(url or "(empty)", "not a web address; give a full http:// or https:// URL")
    return url


class Fetcher:
    """An HTTP client with newsbot's limits. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        timeout: float = 20.0,
        max_bytes: int = 5_000_000,
        user_agent: str = "newsbot",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=10,
            headers={
                "User-Agent": user_agent,
                "Accept": "text/html,application/xhtml+xml,application/rss+xml,"
                "application/atom+xml,application/xml;q=0.9,*/*;q=0.5",
            },
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: WebSettings) -> Fetcher:
        return cls(settings.fetch_timeout, settings.fetch_max_bytes, settings.user_agent)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Download:
        """Download ``url``; raises :class:`FetchError` with the reason when it cannot."""
        url = check_url(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.timeout
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                return self._read(url, response, deadline)
        except httpx.TimeoutException:
            raise FetchError(
                url, f"timed out after {self.timeout:g} s (NEWSBOT_FETCH_TIMEOUT)", permanent=False
            ) from None
        except httpx.TooManyRedirects:
            raise FetchError(url, "too many redirects") from None
        except httpx.HTTPError as error:
            reason = str(error) or type(error).__name__
            raise FetchError(url, f"could not connect ({reason})", permanent=False) from None

    def _read(self, url: str, response: httpx.Response, deadline: float) -> Download:
        final = str(response.url)
        if response.status_code == 304:
            return Download(url, final, b"", "", None, not_modified=True)
        if response.status_code >= 400:
            phrase = response.reason_phrase or ""
            raise FetchError(
                url,
                f"HTTP {response.status_code} {phrase}".strip(),
                permanent=response.status_code < 500 and response.status_code != 429,
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(url, self._too_large(int(declared)))
        body = bytearray()
        for piece in response.iter_bytes():
            body.extend(piece)
            if len(body) > self.max_bytes:
                raise FetchError(url, self._too_large(len(body), at_least=True))
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("download too slow", request=response.request)
        content_type, charset = _content_type(response.headers.get("content-type", ""))
        return Download(
            url,
            final,
            bytes(body),
            content_type,
            charset,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )

    def _too_large(self, size: int, at_least: bool = False) -> str:
        more = "more than " if at_least else ""
        return (
            f"page is {more}{size:,} bytes, over the {self.max_bytes:,} limit "
            "(raise NEWSBOT_FETCH_MAX_BYTES to allow it)"
        )

    def article(self, url: str) -> Extracted:
        """Download ``url`` and extract its article."""
        page = self.get(url)
        if page.content_type not in _HTML_TYPES and "html" not in page.content_type:
            raise FetchError(url, f"not a web page (content type {page.content_type})")
        return extract_article(page.text(), page.final_url, also=(url,))


def _content_type(header: str) -> tuple[str, str | None]:
    kind, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return kind.strip().lower(), charset


def _known(encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None


def decode_html(content: bytes, charset: str | None = None) -> str:
    """Text of an HTML page: byte-order mark, HTTP charset, ``<meta charset>``, UTF-8, then a guess."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content.decode(encoding, errors="replace")
    declared = _known(charset)
    if declared is None:
        match = _META_CHARSET.search(content[:4096])
        declared = _known(match.group(1).decode("ascii", "ignore")) if match else None
    if declared is not None:
        if declared in ("iso8859-1", "ascii"):
            declared = "cp1252"  # what browsers do: the superset, with curly quotes and dashes
        return content.decode(declared, errors="replace")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(content).best()
        return str(best) if best else content.decode("cp1252", errors="replace")


def extract_article(html: str, url: str, also: tuple[str, ...] = ()) -> Extracted:
    """The article in ``html`` (served from ``url``), or a :class:`FetchError` if there is none."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        favor_precision=True,
        # metadata, structured data and the URL only: a date in the text is not the publication's
        date_extraction_params={"original_date": True, "extensive_search": False},
    )
    data: dict[str, Any] = {}
    if doc is not None:
        data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    title = clean_text(str(data.get("title") or "")).replace("\n", " ").strip()
    text = clean_text(str(data.get("text") or "")).strip()
    if title and text.startswith(title):
        text = text[len(title) :].lstrip("\n")
    if len(text) < MIN_TEXT_CHARS:
        found = f"only {len(text)} characters of text" if text else "no text"
        raise FetchError(url, f"no article text found on the page ({found})")
    canonical = _absolute(str(data.get("url") or ""), url)
    authors = tuple(
        a.strip() for a in re.split(r";|,| and ", str(data.get("author") or "")) if a.strip()
    )
    urls = tuple(dict.fromkeys(u for u in (canonical, url, *also) if u))
    return Extracted(
        url=canonical,
        title=title or text.split("\n", 1)[0][:120],
        text=text,
        published=parse_date(data.get("date")),
        authors=authors,
        urls=urls,
    )


def _absolute(candidate: str, base: str) -> str:
    """A canonical URL from the page, made absolute; the page's own address if it is unusable."""
    if not candidate:
        return base
    joined = urljoin(base, candidate)
    return joined if urlsplit(joined).scheme in ("http", "https") else base
