"""A real HTTP server on 127.0.0.1 serving news pages and feeds for the fetch/feed/watch tests.

Routes are plain data (status, headers, body, delay) that a test can change while the server
runs, e.g. to add an entry to a feed between two watch cycles. Every request is logged.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html"})
    delay: float = 0.0
    dribble: float = 0.0  # > 0: send the headers one byte every this many seconds...
    dribble_for: float = 30.0  # ...for this long (a server that is slow, not one that is down)


@dataclass
class NewsServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)
    accept_encodings: list[str] = field(default_factory=list)
    base: str = ""

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def page(self, path: str, html: str, charset: str | None = "utf-8", **kw: object) -> str:
        encoding = charset or "utf-8"
        kind = f"text/html; charset={charset}" if charset else "text/html"
        self.routes[path] = Route(html.encode(encoding), headers={"Content-Type": kind}, **kw)  # type: ignore[arg-type]
        return self.url(path)

    def raw(self, path: str, body: bytes, content_type: str, **kw: object) -> str:
        self.routes[path] = Route(body, headers={"Content-Type": content_type}, **kw)  # type: ignore[arg-type]
        return self.url(path)

    def redirect(self, path: str, target: str, status: int = 301) -> str:
        self.routes[path] = Route(b"", status, {"Location": target})
        return self.url(path)

    def fetched(self, path: str) -> int:
        return sum(1 for p in self.requests if p == path)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        news = self.server.news
        news.requests.append(self.path)
        news.user_agents.append(self.headers.get("User-Agent", ""))
        news.accept_encodings.append(self.headers.get("Accept-Encoding", ""))
        route = news.routes.get(self.path)
        if route is None:
            route = Route(b"<html><body><h1>Not found</h1></body></html>", 404)
        if route.delay:
            time.sleep(route.delay)
        if route.dribble:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._dribble(route)
            return
        etag = route.headers.get("ETag")
        if etag and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(route.body)  # the client may have given up (a timeout test)

    def _dribble(self, route: Route) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        ends = time.monotonic() + route.dribble_for
        while time.monotonic() < ends and not self.server.closing:
            self.wfile.write(b"a")
            time.sleep(route.dribble)
        self.wfile.write(b"\r\nContent-Type: text/html\r\n")
        self.wfile.write(f"Content-Length: {len(route.body)}\r\n\r\n".encode() + route.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    news: NewsServer
    closing = False  # set on shutdown: slow routes stop at once


@contextmanager
def serve(host: str = "127.0.0.1") -> Iterator[NewsServer]:
    """A server on ``host`` (any address of 127.0.0.0/8: several make several news sites)."""
    server = _Server((host, 0), _Handler)
    news = NewsServer()
    server.news = news
    news.base = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield news
    finally:
        server.closing = True
        server.shutdown()
        server.server_close()


# -- content ---------------------------------------------------------------------------------------
BOILERPLATE_NAV = (
    '<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>'
    '<li><a href="/sport">Sport</a></li><li><a href="/subscribe">Subscribe today</a></li></ul></nav>'
)
AD = '<div class="advertisement">SPONSORED: Buy the amazing Zoomblaster 3000 vacuum now, 50% off!</div>'
FOOTER = (
    "<footer><p>Copyright 2025 The Daily Example. All rights reserved. Privacy policy.</p></footer>"
)


def article_html(
    title: str,
    paragraphs: list[str],
    *,
    published: str | None = None,
    author: str | None = None,
    canonical: str | None = None,
    charset_meta: str | None = None,
    boilerplate: bool = True,
) -> str:
    head = [f"<title>{escape(title)} | The Daily Example</title>"]
    if charset_meta:
        head.insert(0, f'<meta charset="{charset_meta}">')
    if published:
        head.append(f'<meta property="article:published_time" content="{published}T08:30:00Z">')
    if author:
        head.append(f'<meta name="author" content="{escape(author)}">')
    if canonical:
        head.append(f'<link rel="canonical" href="{canonical}">')
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    chrome = (BOILERPLATE_NAV, AD, FOOTER) if boilerplate else ("", "", "")
    return (
        f"<!DOCTYPE html><html><head>{''.join(head)}</head><body>{chrome[0]}"
        f"<main><article><h1>{escape(title)}</h1>{body}</article>{chrome[1]}</main>"
        f"{chrome[2]}</body></html>"
    )


def rss(title: str, items: list[tuple[str, str, str | None]]) -> str:
    """RSS 2.0 with (title, link, RFC 822 date or None) items."""
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link>"
        + (f"<pubDate>{d}</pubDate>" if d else "")
        + f"<description>{escape(t)} (summary only)</description></item>"
        for t, link, d in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link>"
        f"<description>test feed</description>{entries}</channel></rss>"
    )


def atom(title: str, items: list[tuple[str, str, str]]) -> str:
    """Atom 1.0 with (title, link, ISO timestamp) entries."""
    entries = "".join(
        f'<entry><title>{escape(t)}</title><link rel="alternate" href="{escape(link)}"/>'
        f"<id>{escape(link)}</id><updated>{d}</updated><published>{d}</published>"
        f"<summary>{escape(t)}</summary></entry>"
        for t, link, d in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test</id><updated>2025-03-06T00:00:00Z</updated>"
        f"{entries}</feed>"
    )


BRIDGE = [
    "The Riverton city council voted on Tuesday to approve a new bridge across the Mill River, "
    "ending a decade of debate over how commuters should cross the water.",
    "Construction will begin next spring and is expected to cost 45 million dollars, according "
    "to figures released by the mayor's office after the vote.",
    "Residents who campaigned for the bridge said the ferry was too slow and too expensive, while "
    "opponents warned that the project would bring heavy traffic to quiet streets.",
]
STORM = [
    "A powerful storm swept across the coastal province of Westmarch overnight, killing 12 "
    "people and leaving thousands of homes without electricity, officials said on Monday.",
    "Rescue teams worked through the morning to clear fallen trees from roads, and the regional "
    "government opened emergency shelters in schools and sports halls for displaced families.",
    "The national weather service said wind gusts reached 140 kilometres per hour near the port "
    "of Saltbridge, where several fishing boats were torn from their moorings.",
    "The prime minister promised emergency funds for the province and said the army would help "
    "restore power lines in the villages hit hardest by the storm.",
]
STORM_COPY = [
    *STORM[:2],
    "The national weather service said wind gusts reached 140 kilometres per hour near the port "
    "of Saltbridge, where several fishing vessels were torn from their moorings.",
    STORM[3],
    "Insurance companies said it was too early to estimate the cost of the damage.",
]
STORM_UPDATE = [
    "A powerful storm that swept across the coastal province of Westmarch this week killed 15 "
    "people, officials said on Thursday, raising the death toll as rescuers reached villages.",
    "Power has been restored to most homes, but some mountain communities remain cut off and "
    "depend on helicopter deliveries of food and water.",
    "The province's governor thanked volunteers and said rebuilding the damaged harbour at "
    "Saltbridge would take at least a year.",
]
CAFE = [
    "Café owners in Zürich staged a protest on Friday against a new tax on outdoor seating, "
    "saying the levy would force many small businesses to close their terraces.",
    "The city's finance department said the tax would raise 2 million francs a year for "
    "maintaining pavements and public squares, a figure the café owners called exaggerated.",
]
CYRILLIC = [
    "Городской совет Новограда утвердил строительство новой библиотеки в центре города.",
    "Строительство начнётся летом и продлится около двух лет, сообщили в мэрии города.",
]
PLAIN = [
    "Scientists at the Northfield observatory announced the discovery of a small comet that will "
    "pass close to Earth in the autumn and may be visible with binoculars.",
    "The comet, named Northfield-7, was spotted in images taken over three nights in February, "
    "the team said, and its orbit suggests it returns every 80 years.",
]
