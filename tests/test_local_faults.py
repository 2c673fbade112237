"""Local mistakes and faults that used to lose or hide articles: an `add` retried after the index
was busy, links out of an article folder, a damaged store and a full disk."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.answering.service import build_service, build_store
from bot.errors import IndexBusy
from bot.frontends.cli import app
from bot.settings import Settings
from index.arrivals import add
from index.build import build_index, writer_lock
from index.embedding import Embedder
from tests.conftest import SEED_FILE, make_settings
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


# -- a damaged embedded store ----------------------------------------------------------------


@pytest.fixture
def cli_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Settings], None]]:
    """Point the in-process `newsbot` at an embedded store."""
    import bot.frontends.cli
    from bot.settings import get_settings

    monkeypatch.setattr(bot.frontends.cli.err, "width", 10_000)  # no wrapping inside long paths

    def use(settings: Settings) -> None:
        monkeypatch.setenv("NEWSBOT_DATA_DIR", str(settings.data_dir))
        monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(settings.article_dirs[0]))
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def _newsbot(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def _damage(database: Path, how: str) -> None:
    if how == "zero-length":
        database.write_bytes(b"")
    elif how == "foreign":
        with database.open("r+b") as handle:
            handle.write(b"this is not a database, not at all")
    else:  # every page after the first overwritten (bad sectors, a copy cut short)
        # first every page into the file itself: a writer that ended without checkpointing can
        # leave pages in the write-ahead log, whose copies would hide the damage; and all the
        # pages, since which tables a command reads first (and so meets the damage) is Chroma's
        # business (with only the second page damaged, `newsbot status` once reported the index
        # as sound, in a fresh-clone run of .ci/run)
        with contextlib.closing(sqlite3.connect(database)) as db:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0, "another connection kept the log from being folded in"
            page = db.execute("PRAGMA page_size").fetchone()[0]
            pages = db.execute("PRAGMA page_count").fetchone()[0]
        with database.open("r+b") as handle:
            handle.seek(page)
            handle.write(bytes(range(256)) * (page // 256) * (pages - 1))


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("zero-length", "chroma.sqlite3 is empty (0 bytes)"),
        ("foreign", "chroma.sqlite3 is not a database"),
        ("page", "(database disk image is malformed)"),
    ],
)
def test_a_damaged_store_is_one_message_with_the_way_out(
    tmp_path: Path,
    articles_dir: Path,
    embedder: Embedder,
    cli_on: Callable[[Settings], None],
    how: str,
    reason: str,
) -> None:
    from tests.test_faults import _index

    shutil.copy(SEED_FILE, articles_dir / SEED_FILE.name)
    settings = make_settings(tmp_path)
    _index(settings)  # in another process, which closes the store when it ends
    store = settings.data_dir / "chroma"
    _damage(store / "chroma.sqlite3", how)
    cli_on(settings)
    joiner = ": " if how != "page" else " "
    expected = (
        f"error: The index at {store} is damaged{joiner}{reason}. Move it aside and rebuild the "
        f"index from the article files: mv {store} {store}.damaged && newsbot index"
    )
    for command in (["status"], ["ask", "What did Sheinbaum reject?"], ["index"]):
        code, output = _newsbot(*command)
        assert (code, output) == (1, expected), command

    shutil.move(store, tmp_path / "data" / "chroma.damaged")  # the recovery the message gives
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()  # as the next command, a new process, would start
    code, output = _newsbot("index")
    assert code == 0, output
    code, output = _newsbot("ask", "What did Sheinbaum reject?")
    assert code == 0 and "Sheinbaum" in output


# -- a full disk: a real, small file system (tmpfs in a user namespace) ------------------------

_FULL_DISK = r"""
set -u
mount -t tmpfs -o size=40m tmpfs "$DISK"
newsbot() { "$PYTHON" -m bot.frontends.cli "$@"; }
newsbot index > /dev/null || exit 3
for i in 1 2 3; do
  printf "Park plan $i\n\nThe council of town $i voted for a new park on Monday.\n" > "$ARTICLES/p$i.txt"
done
dd if=/dev/zero of="$DISK/filler" bs=64k 2> /dev/null; truncate -s -600K "$DISK/filler"
files() { (cd "$DISK/data" && find . -type f -exec md5sum {} + | sort -k 2); }
files > "$OUT/before"
echo "@@step index"; newsbot index 2>&1; echo "@@rc $?"
files > "$OUT/after"
echo "@@step ask"; newsbot ask "What did Sheinbaum reject?" 2>&1; echo "@@rc $?"
dd if=/dev/zero of="$DISK/more" bs=4k 2> /dev/null
echo "@@step full"; newsbot ask "What did Sheinbaum reject?" 2>&1; echo "@@rc $?"
"""


def _unshare() -> list[str]:
    command = ["unshare", "--user", "--map-root-user", "--mount"]
    try:
        probe = subprocess.run([*command, "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        probe = None
    if probe is None or probe.returncode != 0:
        pytest.skip("needs unshare with user namespaces, to mount a small file system")
    return command


@pytest.mark.slow
def test_a_full_disk_is_one_message_and_the_index_keeps_answering(tmp_path: Path) -> None:
    command = _unshare()
    disk, articles = tmp_path / "disk", tmp_path / "articles"
    disk.mkdir()
    articles.mkdir()
    shutil.copy(SEED_FILE, articles / SEED_FILE.name)
    env = dict(os.environ)
    env.update(
        DISK=str(disk),
        ARTICLES=str(articles),
        OUT=str(tmp_path),
        PYTHON=sys.executable,
        NEWSBOT_DATA_DIR=str(disk / "data"),
        NEWSBOT_ARTICLE_DIRS=str(articles),
        COLUMNS="10000",
    )
    env.pop("CHROMA_HOST", None)
    done = subprocess.run(
        [*command, "bash", "-c", _FULL_DISK],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    steps = {
        name: (int(code), " ".join(output.split()))
        for name, output, code in re.findall(r"@@step (\w+)\n(.*?)@@rc (\d+)", done.stdout, re.S)
    }
    store = disk / "data" / "chroma"
    assert steps["index"] == (
        1,
        f"error: Only 0.6 MB are free on the disk holding the index at {store}, so the update "
        "stopped before writing anything; the index answers as before. Free at least 32 MB and "
        "run it again.",
    )
    # not a byte written, not even by opening the store (Chroma writes whenever it opens)
    assert (tmp_path / "after").read_text() == (tmp_path / "before").read_text()
    code, answer = steps["ask"]
    assert code == 0 and "Sheinbaum firmly rejected" in answer, answer
    assert steps["full"] == (
        1,
        f"error: No space left on the disk holding the index at {store}. Nothing indexed is "
        "lost. Free some disk space and run the command again.",
    )


@pytest.mark.slow
def test_a_folder_that_cannot_be_read_keeps_its_articles(
    tmp_path: Path, articles_dir: Path, embedder: Embedder
) -> None:
    """Run as the folders' owner without the power to override permissions (a user namespace):
    what an ordinary user meets when a folder is not readable, even when the tests run as root."""
    if (
        shutil.which("unshare") is None
        or subprocess.run(["unshare", "--user", "true"], capture_output=True, timeout=30).returncode
    ):
        pytest.skip("needs unshare with user namespaces")
    (articles_dir / "a.txt").write_text("Harbor strike ends\n\nDock workers ended the strike.\n")
    sub = articles_dir / "sub"
    sub.mkdir()
    (sub / "b.txt").write_text("Danube bridge opens\n\nA new bridge opened on Monday.\n")
    settings = make_settings(tmp_path)
    build_index(settings, embedder=embedder)
    env = dict(os.environ, COLUMNS="10000", NEWSBOT_DATA_DIR=str(settings.data_dir))
    env["NEWSBOT_ARTICLE_DIRS"] = str(articles_dir)

    def index() -> tuple[int, str]:
        done = subprocess.run(
            ["unshare", "--user", sys.executable, "-m", "bot.frontends.cli", "index"],
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            timeout=300,
        )
        return done.returncode, " ".join((done.stdout + done.stderr).split())

    try:
        sub.chmod(0)
        code, output = index()
        assert code == 0, output
        assert output.startswith(
            "warning: articles/sub: folder could not be read (Permission denied); its indexed "
            "articles are kept. Check its permissions Indexed (incremental): 0 added, 0 updated, "
            "0 removed, 1 unchanged"
        )
        articles_dir.chmod(0)
        code, output = index()
        assert (code, output) == (
            2,
            f"error: The article folder {articles_dir} cannot be read (Permission denied). "
            "Nothing was changed. Check its permissions: newsbot must be able to list it and "
            "read its files.",
        )
    finally:
        articles_dir.chmod(0o755)
        sub.chmod(0o755)
    assert titles(settings) == {"Harbor strike ends", "Danube bridge opens"}
