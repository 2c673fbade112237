"""Fetching and extracting articles over real HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from index.fetch import Fetcher, FetchError, check_url, decode_html
from tests.conftest import LOOPBACK
from tests.newsserver import (
    BRIDGE,
    CAFE,
    CYRILLIC,
    PLAIN,
    NewsServer,
    article_html,
    serve,
)


@pytest.fixture(scope="module")
def news() -> Iterator[NewsServer]:
    with serve() as server:
        yield server


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(
        timeout=1.0, max_bytes=200_000, user_agent="newsbot-test/1", allow_hosts=[LOOPBACK]
    ) as f:
        yield f


def test_article_with_metadata_drops_boilerplate(news: NewsServer, fetcher: Fetcher) -> None:
    url = news.page(
        "/2025/03/04/bridge",
        article_html(
            "Council approves Mill River bridge",
            BRIDGE,
            published="2025-03-04",
            author="Jane Roe",
            canonical=news.url("/2025/03/04/bridge?utm_source=rss"),
        ),
    )
    amp = news.page("/amp/bridge", news.routes["/2025/03/04/bridge"].body.decode())
    article = fetcher.article(amp)
    assert article.title == "Council approves Mill River bridge"
    assert article.authors == ("Jane Roe",)
    assert article.published == "2025-03-04"
    assert article.url == url  # the canonical address on the page's own host, untracked
    assert amp in article.urls and article.url in article.urls
    assert "45 million dollars" in article.text and "Mill River" in article.text
    for junk in ("Zoomblaster", "Subscribe today", "All rights reserved", "Sport"):
        assert junk not in article.text
    assert news.requests.count("/amp/bridge") >= 1


def test_user_agent_is_sent(news: NewsServer, fetcher: Fetcher) -> None:
    fetcher.article(news.page("/ua", article_html("UA", PLAIN)))
    assert news.user_agents[news.requests.index("/ua")] == "newsbot-test/1"


def test_article_without_metadata(news: NewsServer, fetcher: Fetcher) -> None:
    url = news.page("/comet", article_html("Comet spotted", PLAIN, boilerplate=False))
    article = fetcher.article(url)
    assert article.published is None and article.authors == ()
    assert article.url == url and article.title.startswith("Comet spotted")
    assert "Northfield-7" in article.text


@pytest.mark.parametrize(
    ("path", "charset", "meta", "paragraphs", "expected"),
    [
        ("/latin1", "iso-8859-1", None, CAFE, "Café owners in Zürich"),  # HTTP header only
        ("/cp1251", None, "windows-1251", CYRILLIC, "Городской совет Новограда"),  # <meta> only
        ("/utf8-undeclared", None, None, CAFE, "Café owners in Zürich"),  # nothing declared
    ],
)
def test_encodings(
    news: NewsServer,
    fetcher: Fetcher,
    path: str,
    charset: str | None,
    meta: str | None,
    paragraphs: list[str],
    expected: str,
) -> None:
    html = article_html("Story", paragraphs, charset_meta=meta, boilerplate=False)
    encoding = charset or meta or "utf-8"
    news.raw(
        path,
        html.encode(encoding),
        f"text/html; charset={charset}" if charset else "text/html",
    )
    article = fetcher.article(news.url(path))
    assert expected in article.text


def test_decode_html_prefers_bom_then_header_then_meta() -> None:
    text = "Zürich – “quoted”"
    assert decode_html(b"\xef\xbb\xbf" + text.encode()) == text
    assert decode_html(text.encode("cp1252"), "windows-1252") == text
    assert decode_html(b'<meta charset="windows-1252">' + text.encode("cp1252")).endswith(text)
    # iso-8859-1 is read as its superset cp1252, as browsers do
    assert decode_html("“x”".encode("cp1252"), "ISO-8859-1") == "“x”"
    assert decode_html(text.encode(), "no-such-charset") == text


def test_redirect_is_followed_and_both_addresses_kept(news: NewsServer, fetcher: Fetcher) -> None:
    target = news.page("/new-home/comet", article_html("Comet spotted", PLAIN))
    old = news.redirect("/old/comet", "/new-home/comet")
    article = fetcher.article(old)
    assert article.url == target
    assert set(article.urls) == {old, target}


def test_404_reports_status(news: NewsServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.article(news.url("/missing"))
    assert caught.value.reason == "HTTP 404 Not Found" and caught.value.permanent
    assert str(caught.value) == f"{news.url('/missing')}: HTTP 404 Not Found"


def test_slow_page_times_out(news: NewsServer, fetcher: Fetcher) -> None:
    url = news.page("/slow", article_html("Slow", PLAIN), delay=3.0)
    with pytest.raises(FetchError) as caught:
        fetcher.article(url)
    assert "timed out after 1 s" in caught.value.reason and not caught.value.permanent


def test_page_without_text(news: NewsServer, fetcher: Fetcher) -> None:
    url = news.page(
        "/empty", "<html><head><title>Nothing</title></head><body><nav>Home</nav></body></html>"
    )
    with pytest.raises(FetchError, match="no article text found"):
        fetcher.article(url)


def test_size_cap(news: NewsServer, fetcher: Fetcher) -> None:
    url = news.page("/huge", article_html("Huge", PLAIN * 2000))
    with pytest.raises(FetchError, match=r"over the 200,000 limit \(raise NEWSBOT_FETCH_MAX_BYTES"):
        fetcher.article(url)


def test_not_a_web_page(news: NewsServer, fetcher: Fetcher) -> None:
    url = news.raw("/logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png")
    with pytest.raises(FetchError, match=r"not a web page \(content type image/png\)"):
        fetcher.article(url)


def test_bad_addresses(fetcher: Fetcher) -> None:
    for bad in ("", "ftp://example.com/x", "example.com/news", "file:///etc/passwd"):
        with pytest.raises(FetchError, match="not a web address"):
            check_url(bad)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="could not connect") as caught:
        fetcher.get(f"http://127.0.0.1:{port}/")
    assert not caught.value.permanent
