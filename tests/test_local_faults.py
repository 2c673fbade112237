"""Local mistakes and faults that used to lose or hide articles: an `add` retried after the index
was busy, links out of an article folder, a damaged store and a full disk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.errors import IndexBusy
from bot.service import build_service, build_store
from bot.settings import Settings
from index.arrivals import add
from index.build import build_index, writer_lock
from index.embedding import Embedder
from tests.newsserver import BRIDGE, NewsServer, article_html, serve


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with serve() as server:
        yield server


def titles(settings: Settings) -> set[str]:
    store = build_store(settings)
    meta = store.meta()
    return {r.title for r in store.manifest(meta.generation).values()} if meta else set()


def test_an_add_retried_after_the_index_was_busy_indexes_the_story(
    settings: Settings, embedder: Embedder, news: NewsServer
) -> None:
    title = "Council approves Mill River bridge"
    url = news.page("/bridge", article_html(title, BRIDGE, published="2025-03-04"))
    with writer_lock(settings), pytest.raises(IndexBusy):  # another update is running
        add(settings, [url], embedder=embedder)
    assert titles(settings) == set()

    retry = add(settings, [url], embedder=embedder)
    (arrival,) = retry.articles
    assert (arrival.status, arrival.detail) == (
        "added",
        f"{title} (stored by an earlier run but not indexed yet)",
    )
    assert retry.build is not None and retry.build.added == 1
    answer = build_service(settings, embedder=embedder).ask(
        "How much will the Mill River bridge cost?"
    )
    assert answer.found and answer.citations[0].title == title

    again = add(settings, [url], embedder=embedder)  # now it is indexed: nothing to do
    assert [a.status for a in again.articles] == ["unchanged"] and again.build is None


def test_links_out_of_an_article_folder_are_not_followed(
    settings: Settings, embedder: Embedder
) -> None:
    folder = settings.article_dirs[0]
    (folder / "story.txt").write_text("Harbor strike ends\n\nDock workers ended the strike.\n")
    private = settings.data_dir.parent / "private"
    private.mkdir()
    secret = private / "passwd.txt"
    secret.write_text("Accounts\n\nroot:x:0:0:root:/root:/bin/bash swordfish\n")
    (folder / "passwd.txt").symlink_to(secret)
    (folder / "more").symlink_to(private, target_is_directory=True)

    report = build_index(settings, embedder=embedder)
    assert sorted(str(p) for p in report.problems) == [
        f"articles/more: a link to {private}, outside the article folder; not followed. "
        "Set NEWSBOT_FOLLOW_LINKS=true to index what links point to",
        f"articles/passwd.txt: a link to {secret}, outside the article folder; not followed. "
        "Set NEWSBOT_FOLLOW_LINKS=true to index what links point to",
    ]
    assert titles(settings) == {"Harbor strike ends"}
    store = build_store(settings)
    meta = store.meta()
    assert meta is not None
    assert not any("swordfish" in text for _, _, text in store.all_chunks(meta.generation))

    following = settings.model_copy(update={"follow_links": True})
    report = build_index(following, embedder=embedder)
    assert report.added == 2 and report.problems == []  # passwd.txt and more/passwd.txt
