"""Fetch web pages and extract the article in them.

:class:`Fetcher` downloads under newsbot's fetch policy (:mod:`index.fetch_policy`): public
addresses only (checked at every redirect), one deadline for the whole download, a size cap on the
decompressed body, a user agent. :func:`extract_article` takes the page's title, author, published
date, main text and canonical URL with trafilatura, dropping navigation, ads and footers; a
canonical URL on another host is ignored. Every failure is a :class:`FetchError` that names the URL
and the reason, so a caller can report it and go on with the next item.
"""

from __future__ import annotations

import codecs
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from index.clean import clean_text
from index.config import WebSettings
from index.connect import FetchStopped, GuardedBackend, GuardedTransport
from index.errors import FetchError
from index.fetch_policy import (
    MAX_REDIRECTS,
    AddressPolicy,
    AddressRefused,
    Resolver,
    trusted_canonical,
)
from index.inflate import ACCEPTED, DecodeError, decoders, finish, inflate
from index.sources import deep_html_text, parse_date

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
    fetched: tuple[str, ...] = field(default=())  # the addresses that served it (asked, ended at)

    def under_own_address(self) -> Extracted:
        """The article known only by the addresses it was fetched from (not its canonical)."""
        own = self.fetched or (self.url,)
        return replace(self, url=own[0], urls=own)


def check_url(url: str) -> str:
    """The URL stripped of spaces, or a :class:`FetchError` when it is not a web address."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(url or "(empty)", "not a web address; give a full http:// or https:// URL")
    return url


class Fetcher:
    """An HTTP client with newsbot's limits and its fetch policy (:mod:`index.fetch_policy`).
    Use as a context manager, or call :meth:`close`.

    ``allow_hosts`` are the names, addresses or networks that may be fetched although they are
    private or loopback (NEWSBOT_FETCH_ALLOW_HOSTS); setting ``stop`` ends a fetch under way
    within a fraction of a second."""

    def __init__(
        self,
        timeout: float = 20.0,
        max_bytes: int = 5_000_000,
        user_agent: str = "newsbot",
        *,
        allow_hosts: Iterable[str] = (),
        resolver: Resolver | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.backend = GuardedBackend(AddressPolicy.allowing(allow_hosts, resolver), stop)
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # followed one hop at a time, each checked (see get)
            headers={
                "User-Agent": user_agent,
                "Accept": "text/html,application/xhtml+xml,application/rss+xml,"
                "application/atom+xml,application/xml;q=0.9,*/*;q=0.5",
                "Accept-Encoding": ACCEPTED,
            },
            transport=GuardedTransport(self.backend),
        )

    @classmethod
    def from_settings(cls, settings: WebSettings, stop: threading.Event | None = None) -> Fetcher:
        return cls(
            settings.fetch_timeout,
            settings.fetch_max_bytes,
            settings.user_agent,
            allow_hosts=settings.fetch_allow_hosts,
            stop=stop,
        )

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
        """Download ``url``; raises :class:`FetchError` with the reason when it cannot.

        One deadline (``timeout``) covers the whole download, redirects included."""
        url = check_url(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            with self.backend.deadline(self.timeout):
                return self._follow(url, headers)
        except httpx.TimeoutException:
            raise FetchError(
                url, f"timed out after {self.timeout:g} s (NEWSBOT_FETCH_TIMEOUT)", permanent=False
            ) from None
        except AddressRefused as refused:
            raise FetchError(url, str(refused)) from None
        except FetchStopped:
            raise FetchError(url, "stopped before it finished", permanent=False) from None
        except DecodeError as error:
            raise FetchError(url, str(error)) from None
        except httpx.HTTPError as error:
            reason = str(error) or type(error).__name__
            raise FetchError(url, f"could not connect ({reason})", permanent=False) from None

    def _follow(self, url: str, headers: dict[str, str]) -> Download:
        """Redirects by hand, so every hop's address is checked before it is connected to."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            request = self.client.build_request("GET", current, headers=headers)
            response = self.client.send(request, stream=True)
            try:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    target = urljoin(current, location.strip())
                    if urlsplit(target).scheme not in ("http", "https"):
                        raise FetchError(url, f"redirected to {target}, which is not a web address")
                    current = target
                    continue
                return self._read(url, current, response)
            finally:
                response.close()
        raise FetchError(url, f"too many redirects (more than {MAX_REDIRECTS})")

    def _read(self, url: str, final: str, response: httpx.Response) -> Download:
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
        stages = decoders(response.headers.get("content-encoding", ""))
        body = bytearray()
        for raw in response.iter_raw():
            for piece in inflate(stages, raw):
                self._grow(url, body, piece)
        for piece in finish(stages):
            self._grow(url, body, piece)
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

    def _grow(self, url: str, body: bytearray, piece: bytes) -> None:
        body.extend(piece)
        if len(body) > self.max_bytes:
            raise FetchError(url, self._too_large(len(body), at_least=True))

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


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


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
    data = _trafilatura(html, url)
    title, text = deep_html_text(html, str(data.get("title") or ""), str(data.get("text") or ""))
    title = clean_text(title).replace("\n", " ").strip()
    text = clean_text(text).strip()
    if title and text.startswith(title):
        text = text[len(title) :].lstrip("\n")
    if len(text) < MIN_TEXT_CHARS:
        found = f"only {len(text)} characters of text" if text else "no text"
        raise FetchError(url, f"no article text found on the page ({found})")
    canonical = _absolute(str(data.get("url") or ""), url)
    if not trusted_canonical(canonical, url):
        log.info("%s names %s as its address, on another host: ignored", url, canonical)
        canonical = url
    authors = tuple(
        a.strip() for a in re.split(r";|,| and ", str(data.get("author") or "")) if a.strip()
    )
    fetched = tuple(dict.fromkeys(u for u in (url, *also) if u))
    urls = tuple(dict.fromkeys((canonical, *fetched)))
    return Extracted(
        url=canonical,
        title=title or text.split("\n", 1)[0][:120],
        text=text,
        published=parse_date(data.get("date")),
        authors=authors,
        urls=urls,
        fetched=fetched,
    )


def _trafilatura(html: str, url: str) -> dict[str, Any]:
    """What trafilatura finds in the page; nothing when its parser gives up on it."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            favor_precision=True,
            # metadata, structured data and the URL only: a date in the text is not the publication's
            date_extraction_params={"original_date": True, "extensive_search": False},
        )
    except (RecursionError, ValueError) as error:  # lxml's limits: the plain reader takes over
        log.info("%s: trafilatura could not read the page (%s)", url, type(error).__name__)
        return {}
    if doc is None:
        return {}
    return doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)


def _absolute(candidate: str, base: str) -> str:
    """A canonical URL from the page, made absolute; the page's own address if it is unusable."""
    if not candidate:
        return base
    joined = urljoin(base, candidate)
    return joined if urlsplit(joined).scheme in ("http", "https") else base
