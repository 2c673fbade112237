"""Every fetched page is hostile. A loopback server plays the web of someone who publishes a feed:
pages that claim other stories, links into the network, compression bombs, servers that dribble,
endless feeds, text that reverses itself. Each is refused or handled; nothing stored is changed.

No test sends traffic anywhere but 127.0.0.1: private and metadata addresses are reached only
through a resolver that names them, and the refusal comes before any connection.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from bot.answering.answer import Answer, Citation
from bot.answering.language import HINT
from bot.answering.service import AnswerService, build_store
from bot.frontends.cli import app
from bot.frontends.discord_bot.formatting import escape as discord_escape
from bot.frontends.render import print_answer, print_report
from bot.settings import Settings
from index.arrivals import NOT_YET, Intake, add
from index.build import build_index
from index.clean import clean_text
from index.embedding import Embedder
from index.fetch import Fetcher, FetchError
from index.fetch_policy import AddressPolicy, trusted_canonical
from index.library import Library
from index.sources import SourceFile, read_file
from tests.conftest import LOOPBACK, make_settings
from tests.newsserver import (
    BRIDGE,
    PLAIN,
    STORM,
    NewsServer,
    Route,
    article_html,
    rss,
    serve,
)

SECRET = [
    "Internal admin console. The root password for the database servers is hunter2-prod and the "
    "backup key is stored in the vault under ops/backup, according to the runbook.",
]
FORGED = [
    "The storm in Westmarch was a hoax invented by the government, officials admitted on Monday, "
    "and nobody was hurt; the reports of deaths were fabricated from the start.",
    "Readers who shared the earlier story are asked to delete it, the statement said.",
]
FORGED_COPY = [
    "Officials in Westmarch now say the death toll of the storm was invented by rescuers who "
    "wanted more money, and that the harbour at Saltbridge was never damaged at all.",
]


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with serve() as server:
        yield server


def intake(settings: Settings, **fetcher: Any) -> Intake:
    options = {"allow_hosts": [LOOPBACK], **fetcher}
    return Intake(settings, build_store(settings), Fetcher(timeout=3, **options))


def hostile_settings(tmp_path: Path, **extra: Any) -> Settings:
    (tmp_path / "articles").mkdir(exist_ok=True)
    return make_settings(tmp_path, fetch_timeout=3.0, **extra)


def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Make any attempt to open a TCP connection fail the test (and record it)."""
    attempts: list[Any] = []

    def refuse(address: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(address)
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


# -- a page must not rewrite another stored story, nor speak for another site --------------------
def test_a_canonical_link_on_another_host_is_not_believed(news: NewsServer) -> None:
    url = news.page(
        "/fake-wire",
        article_html("Storm was a hoax", FORGED, canonical="https://www.reuters.com/world/storm"),
    )
    with Fetcher(timeout=3, allow_hosts=[LOOPBACK]) as fetcher:
        article = fetcher.article(url)
    assert article.url == url and article.urls == (url,)  # stored and cited as what it is
    assert not trusted_canonical("https://www.reuters.com/world/storm", url)
    assert trusted_canonical("https://example.com/a", "http://www.example.com/amp/a")
    assert not trusted_canonical("https://example.com.evil.net/a", "https://example.com/a")


@pytest.mark.slow
def test_a_page_cannot_replace_a_story_stored_from_another_address(
    news: NewsServer, tmp_path: Path, embedder: Embedder
) -> None:
    settings = hostile_settings(tmp_path)
    story = news.page("/a/storm", article_html("Storm kills 12 in Westmarch", STORM))
    assert add(settings, [story], embedder=embedder).articles[0].status == "added"
    # Same host, a canonical link naming the stored story, other text.
    claim = news.page("/b/claim", article_html("Storm was a hoax", FORGED, canonical=story))
    # A copy of the story (kept as another source of it) that later changes its text.
    copy = news.page("/c/copy", article_html("Storm kills 12 in Westmarch", STORM))
    assert add(settings, [claim, copy], embedder=embedder).articles[1].status == "duplicate"
    news.page("/c/copy", article_html("Storm toll was invented", FORGED_COPY))
    report = add(settings, [copy], embedder=embedder)

    library = Library(settings.fetched_dir)
    stored = library.find_url(story)
    assert stored is not None and stored.data["text"].startswith("A powerful storm")
    assert "hoax" not in stored.data["text"] and "invented" not in stored.data["text"]
    assert report.articles[0].status == "added"  # a story of its own, at its own address
    kept_apart = [r for r in library.records.values() if "invented" in r.data["text"]]
    assert {r.url for r in kept_apart} == {claim, copy}
    index = build_store(settings)
    meta = index.meta()
    assert meta is not None
    by_url = {r.url: r.title for r in index.manifest(meta.generation).values()}
    assert by_url[story] == "Storm kills 12 in Westmarch"


# -- server-side request forgery ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("fd00:ec2::254", "private"),  # AWS's metadata service over IPv6
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("100.100.100.200", "not a public"),  # Alibaba's metadata service (shared space)
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_the_policy_refuses_every_non_public_address(address: str, kind: str) -> None:
    reason = AddressPolicy.allowing([]).refusal("feed-host.example", address)
    assert reason is not None and kind in reason and "NEWSBOT_FETCH_ALLOW_HOSTS" in reason


def test_the_policy_allows_public_addresses_and_the_hosts_it_is_told() -> None:
    policy = AddressPolicy.allowing(["Intranet.Example.", "10.1.2.3", "192.168.0.0/24"])
    assert policy.refusal("news.example", "93.184.216.34") is None
    assert policy.refusal("news.example", "2606:2800:220:1::1") is None
    assert policy.refusal("intranet.example", "10.9.9.9") is None  # by name, any address
    assert policy.refusal("other.example", "10.1.2.3") is None  # by address
    assert policy.refusal("other.example", "192.168.0.77") is None  # by network
    assert policy.refusal("other.example", "10.1.2.4") is not None
    assert policy.refusal("other.example", "169.254.169.254") is not None


def test_a_name_resolving_to_a_private_address_is_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts = no_connections(monkeypatch)
    names = {"metadata.attacker.example": ["169.254.169.254"], "db.attacker.example": ["10.0.0.5"]}
    with Fetcher(timeout=3, resolver=lambda host, port: names[host]) as fetcher:
        for host, (ip,) in names.items():
            with pytest.raises(FetchError) as caught:
                fetcher.get(f"http://{host}/latest/meta-data/")
            assert caught.value.permanent and f"refused: {host} ({ip})" in caught.value.reason
    assert attempts == []


def test_loopback_is_refused_by_default(news: NewsServer) -> None:
    url = news.page("/admin", article_html("Admin", SECRET))
    with Fetcher(timeout=3) as fetcher, pytest.raises(FetchError) as caught:
        fetcher.article(url)
    assert "refused: 127.0.0.1 is a loopback address" in caught.value.reason
    assert news.fetched("/admin") == 0  # not even connected to


def test_feed_items_and_redirects_into_the_network_are_refused(
    news: NewsServer, tmp_path: Path
) -> None:
    """The feed's host is allowed by name (it resolves to loopback here); its items point at
    loopback by address, directly and through a redirect, and are refused."""
    port = news.base.rsplit(":", 1)[1]
    site = f"http://feeds.example:{port}"
    news.page("/story", article_html("Council approves Mill River bridge", BRIDGE))
    news.page("/admin", article_html("Admin console", SECRET))
    news.redirect("/go", news.url("/admin"), status=302)
    items = [
        ("Bridge", f"{site}/story", None),
        ("Admin", news.url("/admin"), None),
        ("Redirect", f"{site}/go", None),
    ]
    news.raw("/feed.xml", rss("Feed", items).encode(), "application/rss+xml")
    resolved: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        resolved.append(host)
        return [LOOPBACK]  # the real answer for a name that is not in DNS

    settings = hostile_settings(tmp_path)
    take = intake(settings, allow_hosts=["feeds.example"], resolver=resolver)
    take.feed(f"{site}/feed.xml")
    status = {a.url: (a.status, a.detail) for a in take.report.articles}
    assert status[f"{site}/story"][0] == "added"
    for url in (news.url("/admin"), f"{site}/go"):
        state, detail = status[url]
        assert state == "failed" and detail.startswith("refused: 127.0.0.1 is a loopback"), url
    assert news.fetched("/admin") == 0 and news.fetched("/go") == 1
    assert all(
        "hunter2" not in r.data["text"] for r in Library(settings.fetched_dir).records.values()
    )
    assert set(resolved) == {"feeds.example"}  # the name was looked up by newsbot, not the OS


def test_the_connection_goes_to_the_address_that_was_checked(news: NewsServer) -> None:
    """A name that resolves to an allowed address for the check and to another for the
    connection (DNS rebinding) gains nothing: the address checked is the one connected to."""
    port = news.base.rsplit(":", 1)[1]
    answers = iter([[LOOPBACK], ["10.0.0.7"], ["10.0.0.7"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    news.page("/page", article_html("Comet spotted", PLAIN))
    with Fetcher(timeout=3, allow_hosts=[LOOPBACK], resolver=rebinding) as fetcher:
        article = fetcher.article(f"http://rebind.example:{port}/page")
    assert "Northfield-7" in article.text and calls == ["rebind.example"]
    assert news.fetched("/page") == 1


# -- decompression bombs ------------------------------------------------------------------------
BOMB_BYTES = 200_000_000


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """200 MB of zeros, gzipped twice: about 1 KB on the wire."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1_000_000)
    inner = b"".join(squeeze.compress(block) for _ in range(BOMB_BYTES // len(block)))
    inner += squeeze.flush()
    return gzip.compress(inner, 9)


def test_a_double_gzip_bomb_stops_at_the_cap_in_bounded_memory(
    news: NewsServer, bomb: bytes
) -> None:
    news.routes["/bomb"] = Route(
        bomb, headers={"Content-Type": "text/html", "Content-Encoding": "gzip, gzip"}
    )
    assert len(bomb) < 10_000
    fetcher = Fetcher(timeout=10, max_bytes=1_000_000, allow_hosts=[LOOPBACK])
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match=r"more than 1,0\d\d,\d\d\d bytes, over the 1,000,000"):
            fetcher.get(news.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        fetcher.close()
    assert peak < 20_000_000, f"{peak:,} bytes held for a {BOMB_BYTES:,}-byte bomb"


def test_compressed_pages_are_still_read(news: NewsServer) -> None:
    html = article_html("Comet spotted", PLAIN).encode()
    news.routes["/gz"] = Route(
        gzip.compress(html), headers={"Content-Type": "text/html", "Content-Encoding": "gzip"}
    )
    news.routes["/nested"] = Route(
        gzip.compress(zlib.compress(html)),
        headers={"Content-Type": "text/html", "Content-Encoding": "deflate, gzip"},
    )
    news.routes["/br"] = Route(
        b"\x0b\x02\x80hello\x03", headers={"Content-Type": "text/html", "Content-Encoding": "br"}
    )
    with Fetcher(timeout=3, allow_hosts=[LOOPBACK]) as fetcher:
        assert fetcher.get(news.url("/gz")).content == html
        assert fetcher.get(news.url("/nested")).content == html
        with pytest.raises(FetchError, match="br compression, which newsbot can't read"):
            fetcher.get(news.url("/br"))
    assert "gzip, deflate" in news.accept_encodings[0]


# -- slow servers: one deadline per request, and signals always stop -----------------------------
def test_a_server_dribbling_its_headers_is_stopped_at_the_deadline(news: NewsServer) -> None:
    news.routes["/dribble"] = Route(b"<html></html>", dribble=0.2, dribble_for=30)
    started = time.monotonic()
    with (
        Fetcher(timeout=1.5, allow_hosts=[LOOPBACK]) as fetcher,
        pytest.raises(FetchError) as caught,
    ):
        fetcher.get(news.url("/dribble"))
    assert "timed out after 1.5 s (NEWSBOT_FETCH_TIMEOUT)" in caught.value.reason
    assert time.monotonic() - started < 5


def _newsbot(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    (tmp_path / "articles").mkdir(exist_ok=True)
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "NEWSBOT_DATA_DIR": str(tmp_path / "data"),
        "NEWSBOT_ARTICLE_DIRS": str(tmp_path / "articles"),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.frontends.cli", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_add_gives_up_on_a_dribbling_server_at_the_deadline(
    news: NewsServer, tmp_path: Path
) -> None:
    news.routes["/dribble"] = Route(b"<html></html>", dribble=0.2, dribble_for=60)
    process = _newsbot(tmp_path, "add", news.url("/dribble"), NEWSBOT_FETCH_TIMEOUT="2")
    try:
        out, errors = process.communicate(timeout=45)
    finally:
        process.kill()
    assert process.returncode == 1, errors
    assert "timed out after 2 s" in out


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_watch_stops_within_seconds_while_a_server_dribbles(
    news: NewsServer, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    news.routes["/feed.xml"] = Route(b"", dribble=0.2, dribble_for=60)
    process = _newsbot(
        tmp_path,
        "watch",
        "--once",
        NEWSBOT_FEEDS=news.url("/feed.xml"),
        NEWSBOT_FETCH_TIMEOUT="60",
    )
    try:
        assert process.stderr is not None
        assert any("Watching 1 feed" in process.stderr.readline() for _ in range(20))
        deadline = time.monotonic() + 30
        while not news.fetched("/feed.xml") and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # well inside the dribble
        sent = time.monotonic()
        process.send_signal(stop_signal)
        out, errors = process.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        process.kill()
    assert process.returncode == 0, errors
    assert took < 5, f"took {took:.1f} s to stop"
    assert "Stopped." in errors and "Traceback" not in errors
    assert "index not updated: stopped" in out


# -- a feed of 10,000 items ---------------------------------------------------------------------
def test_a_feed_is_read_newest_first_up_to_the_cap_per_check(
    news: NewsServer, tmp_path: Path
) -> None:
    items = []
    for day in range(1, 29):
        path = f"/story/{day}"
        text = [f"Story {day}: " + " ".join(f"word{day}x{i}" for i in range(30)), *PLAIN]
        news.page(path, article_html(f"Story {day}", text))
        stamp = format_datetime(datetime(2025, 2, day, 9, tzinfo=UTC), usegmt=True)
        items.append((f"Story {day}", news.url(path), stamp))
    news.raw("/big.xml", rss("Big", items).encode(), "application/rss+xml")
    settings = hostile_settings(tmp_path, feed_max_items=5)

    first = intake(settings)
    first.feed(news.url("/big.xml"))
    fetched = [p for p in news.requests if p.startswith("/story/")]
    assert fetched == [f"/story/{day}" for day in range(28, 23, -1)]  # the newest five
    (feed,) = first.report.feeds
    assert (
        "fetched the newest 5, 23 left for the next check (NEWSBOT_FEED_MAX_ITEMS)" in feed.detail
    )
    assert first.report.as_dict()["left_for_next_check"] == 23

    second = intake(settings)
    second.feed(news.url("/big.xml"))
    fetched = [p for p in news.requests if p.startswith("/story/")]
    assert fetched[5:] == [f"/story/{day}" for day in range(23, 18, -1)]  # the next five
    assert second.report.left == 18
    # the five stored by the first check were never indexed here (this intake builds nothing):
    # they are reported as on their way into the index, not fetched again, and not counted
    earlier = [
        a
        for a in second.report.articles
        if a.url in {news.url(f"/story/{d}") for d in range(24, 29)}
    ]
    assert len(earlier) == 5 and all(NOT_YET in a.detail for a in earlier)


# -- text that changes what a reader sees -------------------------------------------------------
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u2060\ufeff"


def test_direction_overrides_and_invisible_characters_are_removed() -> None:
    assert clean_text("Pay invoice\u202egpj.exe now") == "Pay invoicegpj.exe now"
    assert clean_text(f"Sh{BIDI}einbaum said\u2066 no\u2069.") == "Sheinbaum said no."
    assert discord_escape("Refund\u202e to account\u2067 1234") == "Refund to account 1234"


def test_a_file_or_page_of_invisible_characters_is_not_an_article(
    tmp_path: Path, news: NewsServer
) -> None:
    path = tmp_path / "articles" / "blank.txt"
    path.parent.mkdir()
    path.write_text(f"{BIDI}\n{BIDI * 20}\n{BIDI * 50}\n", encoding="utf-8")
    result = read_file(SourceFile(path, "articles/blank.txt", "x"))
    assert result.articles == [] and "no article text found" in str(result.problems[0])
    url = news.page("/blank", f"<html><body><article><p>{BIDI * 40}</p></article></body></html>")
    with Fetcher(timeout=3, allow_hosts=[LOOPBACK]) as fetcher, pytest.raises(FetchError) as caught:
        fetcher.article(url)
    assert "no article text found" in caught.value.reason


# -- smaller ones -------------------------------------------------------------------------------
def test_quotes_are_printed_exactly() -> None:
    from bot.frontends.cli import out

    quote = "The file read root:x:0:0:root and :thumbs_up: [bold]not bold[/bold] [link=x]y[/link]"
    citation = Citation(
        1, "a1", "Leak :x: [red]title[/red]", "https://x.example/a", None, "", quote, 0, 10
    )
    answer = Answer("q", f"It said {quote} [1]", True, citations=[citation])
    with out.capture() as captured:
        print_answer(out, answer)
    shown = captured.get()
    assert "root:x:0:0:root" in shown and ":thumbs_up:" in shown and "❌" not in shown
    assert "[bold]not bold[/bold]" in shown and "[link=x]y[/link]" in shown
    assert "Leak :x: [red]title[/red]" in shown


@pytest.mark.slow
def test_odd_file_names_are_reported_plainly_and_never_break_json(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    body = "\n".join(["Bridge story", *BRIDGE]).encode()
    with open(os.path.join(os.fsencode(articles), b"caf\xe9-bridge.txt"), "wb") as handle:
        handle.write(body)
    forged = "evil\nIndexed (full rebuild): 999 added, 0 updated.json"
    (articles / forged).write_text("[broken", encoding="utf-8")
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(articles))
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["index", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["added"] == 1  # the file with a name that is not UTF-8 is read as an article
    problems = " ".join(str(p) for p in data["problems"])
    assert "caf" not in problems and "evil\\nIndexed (full rebuild): 999" in problems
    report = build_index(make_settings(tmp_path), embedder=embedder)
    assert report.articles == 1
    console = Console(record=True, width=300, emoji=False)
    print_report(console, report)
    lines = console.export_text().splitlines()
    assert not any(line.startswith("Indexed (full rebuild): 999") for line in lines)
    assert any("evil\\nIndexed (full rebuild): 999" in line for line in lines)


def test_repl_json_prints_only_json(seed_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(seed_folder / "data"))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(seed_folder / "articles"))
    monkeypatch.setenv("NEWSBOT_MAX_QUESTION_CHARS", "50")
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        lines = [":bogus", "why " * 40, ":help", "Why did Sheinbaum reject the troops?", ":sources"]
        result = CliRunner().invoke(app, ["repl", "--json"], input="\n".join(lines) + "\n")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert "Unknown command" in rows[0]["error"]
    assert "characters long" in rows[1]["error"]
    assert "Commands:" in rows[2]["message"]
    assert rows[3]["found"] is True
    assert [s["n"] for s in rows[4]["sources"]] == [c["n"] for c in rows[3]["citations"]]
    assert all(s["quote"] in s["passage"] for s in rows[4]["sources"])


def test_a_page_nested_100000_deep_is_fetched_as_the_file_reader_reads_it(
    news: NewsServer, tmp_path: Path
) -> None:
    deep = "<div>" * 100_000 + "".join(f"<p>{p}</p>" for p in BRIDGE) + "</div>" * 100_000
    html = f"<html><head><title>Bridge</title></head><body>{deep}</body></html>"
    url = news.page("/deep", html)
    with Fetcher(timeout=10, max_bytes=5_000_000, allow_hosts=[LOOPBACK]) as fetcher:
        article = fetcher.article(url)
    assert "45 million dollars" in article.text and article.title == "Bridge"
    (tmp_path / "deep.html").write_text(html, encoding="utf-8")
    (from_file,) = read_file(SourceFile(tmp_path / "deep.html", "articles/deep.html", "x")).articles
    assert from_file.text == article.text


def test_stats_reads_the_article_list_once_per_index_revision(seed_service: AnswerService) -> None:
    store = seed_service.searcher.store
    reads: list[int] = []
    manifest = store.manifest

    def counting(generation: int) -> Any:
        reads.append(generation)
        return manifest(generation)

    store.manifest = counting  # type: ignore[method-assign]
    try:
        first = [seed_service.status() for _ in range(5)]
    finally:
        del store.manifest
    assert len(reads) <= 1 and all(s == first[0] for s in first) and first[0]["articles"] == 1


@pytest.mark.asyncio
async def test_stats_has_a_cooldown(seed_service: AnswerService, tmp_path: Path) -> None:
    import discord.ext.test as dpytest

    from tests.test_discord_harness import command, interaction, invoke, start_server, use_adapter

    server = await start_server(seed_service, tmp_path, discord_cooldown_seconds=30)
    try:
        first = use_adapter(server, server.news)
        await invoke(server, interaction(server, command(server, "stats"), server.news, server.bob))
        assert first.calls[-1][2]["embeds"][0]["title"] == "What I know"
        again = use_adapter(server, server.news)
        await invoke(server, interaction(server, command(server, "stats"), server.news, server.bob))
        ((_, _, payload),) = again.calls
        assert "try again in 30 s" in payload["data"]["content"]
    finally:
        await dpytest.empty_queue()


@pytest.mark.parametrize(
    "question",
    [
        "¿Cuántos habitantes tiene la capital de Francia según el censo?",
        "法国首都有多少居民？",
        "Сколько жителей в столице Франции?",
    ],
)
def test_a_question_in_another_language_is_told_the_search_works_in_english(
    seed_service: AnswerService, question: str
) -> None:
    answer = seed_service.ask(question)
    assert not answer.found and answer.answer.endswith(HINT)


def test_an_english_question_that_is_not_covered_gets_no_language_hint(
    seed_service: AnswerService,
) -> None:
    answer = seed_service.ask("How many people live in the capital of France?")
    assert not answer.found and HINT not in answer.answer


def test_a_story_stored_under_an_address_by_a_claim_is_updated_by_that_address(
    news: NewsServer, tmp_path: Path
) -> None:
    """A page may name another page of its own site as its address before that page is stored;
    when the named page itself is fetched, its own text wins (it is that address's story)."""
    real = news.url("/real")
    claim = news.page("/claim", article_html("Storm was a hoax", FORGED, canonical=real))
    take = intake(hostile_settings(tmp_path))
    assert take.url(claim).status == "added"
    news.page("/real", article_html("Storm kills 12 in Westmarch", STORM))
    assert take.url(real).status == "updated"
    stored = take.library.find_url(real)
    assert stored is not None and stored.data["text"].startswith("A powerful storm")


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("Why did Sheinbaum reject the troops?", True),
        ("Sheinbaum troops Mexico border", True),  # keywords: nothing says another language
        ("'; DROP TABLE articles; -- $(rm -rf /)", True),
        ("Que paso con el puente de Riverton", False),  # Spanish without its accents
        ("Pourquoi le conseil a voté pour le pont", False),
        ("Warum hat der Rat die Brücke genehmigt", False),
        ("¿Por qué?", False),
        ("Почему совет одобрил мост?", False),
        ("为什么议会批准了这座桥？", False),
    ],
)
def test_a_question_in_another_language_is_recognised_generally(text: str, english: bool) -> None:
    from bot.answering.language import reads_as_english

    assert reads_as_english(text) is english
