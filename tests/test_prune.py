"""A wrong folder setting never costs the index: missing, empty and clashing folders, large
removals, newsbot's own library, and undoing a removal. On both kinds of store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.answering.service import build_service, build_store
from bot.errors import ArticleFolderError
from bot.frontends.cli import app
from bot.settings import Settings
from index.build import build_index, restore_last
from index.embedding import Embedder
from index.fetch import Extracted
from index.library import Library
from index.watch import Watcher

runner = CliRunner()

STORIES = {
    "volcano": ("Volcano erupts near Grindavik", "Lava reached the town of Grindavik on Sunday."),
    "wheat": ("Kansas wheat harvest shrinks", "Drought cut the Kansas wheat harvest by a third."),
    "chess": ("Chennai teenager wins chess title", "A grandmaster from Chennai won the title."),
    "bridge": ("Danube bridge opens", "A suspension bridge over the Danube opened on Monday."),
    "harbor": ("Harbor strike ends", "Dock workers in Rotterdam ended their strike on Friday."),
}


def write(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        title, body = STORIES[name]
        (folder / f"{name}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")


def titles(settings: Settings) -> set[str]:
    store = build_store(settings)
    meta = store.meta()
    return {r.title for r in store.manifest(meta.generation).values()} if meta else set()


def revision(settings: Settings) -> int:
    meta = build_store(settings).meta()
    assert meta is not None
    return meta.revision


def one_line(text: str) -> str:
    """Terminal output with the console's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """``newsbot`` run in process on the test's store (embedded or server)."""
    import bot.frontends.cli
    from bot.settings import get_settings

    monkeypatch.setattr(bot.frontends.cli.err, "width", 10_000)  # no wrapping inside long paths

    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", ",".join(str(p) for p in settings.article_dirs))
    if settings.chroma_host:
        monkeypatch.setenv("CHROMA_HOST", settings.chroma_host)
        monkeypatch.setenv("CHROMA_PORT", str(settings.chroma_port))
        monkeypatch.setenv("NEWSBOT_COLLECTION_PREFIX", settings.collection_prefix)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def newsbot(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, one_line(result.output)


ALL = {title for title, _ in STORIES.values()}


def test_a_missing_folder_stops_the_update_and_changes_nothing(
    cli: Settings, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    write(cli.article_dirs[0], *STORIES)
    build_index(cli, embedder=embedder)
    before = revision(cli)
    typo = cli.data_dir.parent / "no-such-folder"
    monkeypatch.setenv("NEWSBOT_ARTICLE_DIRS", str(typo))
    from bot.settings import get_settings

    get_settings.cache_clear()
    code, output = newsbot("index")
    assert code == 2
    assert output == (
        f"error: The article folder {typo} does not exist. Nothing was changed: the index keeps "
        "its articles. Fix the path in NEWSBOT_ARTICLE_DIRS (or the folder given to `newsbot "
        "index`), or create the folder."
    )
    code, output = newsbot("index", str(typo), "--prune")  # not even with --prune
    assert code == 2 and "does not exist. Nothing was changed" in output
    seed = cli.article_dirs[0] / "volcano.txt"
    code, output = newsbot("index", str(seed))
    assert code == 2
    assert output == (
        f"error: {seed} is a file, not a folder. Nothing was changed. List folders of articles "
        "in NEWSBOT_ARTICLE_DIRS (or give folders to `newsbot index`)."
    )
    assert titles(cli) == ALL and revision(cli) == before


def test_an_emptied_folder_is_taken_for_an_unmounted_volume(
    cli: Settings, embedder: Embedder
) -> None:
    folder = cli.article_dirs[0]
    write(folder, *STORIES)
    build_index(cli, embedder=embedder)
    before = revision(cli)
    aside = folder.parent / "aside"
    shutil.move(folder, aside)
    folder.mkdir()  # the mount point, with nothing mounted on it
    code, output = newsbot("index")
    assert code == 2
    assert output == (
        f"error: The article folder {folder} is empty, but 5 indexed articles came from it. "
        "Nothing was changed. If it is a mounted volume, check that it is mounted; if you "
        "emptied it on purpose, run `newsbot index --prune` (in Discord: /reindex prune:true) "
        "to remove them."
    )
    assert titles(cli) == ALL and revision(cli) == before

    code, output = newsbot("index", "--prune")  # the owner confirms: it was emptied on purpose
    assert code == 0 and "0 added, 0 updated, 5 removed" in output
    assert titles(cli) == set()


def test_removing_more_than_the_share_needs_prune(cli: Settings, embedder: Embedder) -> None:
    folder = cli.article_dirs[0]
    write(folder, "volcano", "wheat", "chess", "bridge")
    build_index(cli, embedder=embedder)
    (folder / "volcano.txt").unlink()
    (folder / "wheat.txt").unlink()
    write(folder, "harbor")  # adds and updates still go in

    code, output = newsbot("index")
    assert code == 1
    assert "Indexed (incremental): 1 added, 0 updated, 0 removed, 2 unchanged" in output
    assert (
        "warning: 2 of the 4 articles in the index (50%) are no longer in the article folders. "
        "They were not removed: an update removes at most 20% of the index at once "
        "(NEWSBOT_PRUNE_MAX_SHARE). If a folder is wrong or not mounted, fix it and nothing is "
        "lost; if they were deleted on purpose, run `newsbot index --prune`. "
        "not removed: articles/volcano.txt not removed: articles/wheat.txt"
    ) in output
    assert titles(cli) == ALL

    code, output = newsbot("index", "--prune")
    assert code == 0 and "0 added, 0 updated, 2 removed, 3 unchanged" in output
    assert titles(cli) == ALL - {STORIES["volcano"][0], STORIES["wheat"][0]}

    (folder / "chess.txt").unlink()  # one of three: over 20%, within a share of 50%
    assert build_index(cli, embedder=embedder).held_back == ["articles/chess.txt"]
    wider = cli.model_copy(update={"prune_max_share": 0.5})
    report = build_index(wider, embedder=embedder)
    assert (report.removed, report.held_back) == (1, [])


def test_watch_never_mass_removes(settings: Settings, embedder: Embedder) -> None:
    folder = settings.article_dirs[0]
    write(folder, "volcano", "wheat", "chess")
    watcher = Watcher(settings, build_store(settings), embedder)
    try:
        assert watcher.cycle().build is not None
        (folder / "volcano.txt").unlink()
        (folder / "wheat.txt").unlink()
        cycle = watcher.cycle()
        assert cycle.build is not None and cycle.build.removed == 0
        assert "index 0 added, 0 updated, 0 removed, 3 articles; 2 not removed: 2 of the 3 " in (
            cycle.summary()
        )
        (folder / "chess.txt").unlink()
        summary = watcher.cycle().summary()
        assert f"index not updated: The article folder {folder} is empty, but 3 indexed" in summary
    finally:
        watcher.close()
    assert len(titles(settings)) == 3


def _fetched(settings: Settings) -> str:
    """A story stored in newsbot's library, as `newsbot add` stores it; returns its title."""
    library = Library(settings.fetched_dir)
    story = Extracted(
        url="https://news.example/strike",
        title="Rotterdam dock strike ends",
        text="Dock workers in Rotterdam ended a nine-day strike on Friday after a pay deal.",
        published="2025-03-07",
    )
    return library.add(story).title


def test_fetched_articles_are_never_removed_by_a_folder_scan(
    settings: Settings, embedder: Embedder
) -> None:
    write(settings.article_dirs[0], "volcano", "wheat", "chess", "bridge", "harbor")
    fetched = _fetched(settings)
    assert build_index(settings, embedder=embedder).added == 6
    other = settings.data_dir.parent / "other"
    other.mkdir()
    # Only another folder given: the five are held back, the fetched story is not even counted.
    report = build_index(settings, [other], embedder=embedder)
    assert report.removed == 0 and len(report.held_back) == 5
    assert fetched in titles(settings)

    # Another machine's process, or a lost data folder: the library is not there at all.
    shutil.move(settings.fetched_dir, settings.data_dir / "elsewhere")
    report = build_index(settings, prune=True, embedder=embedder)
    assert report.removed == 0 and fetched in titles(settings)

    # Its record deleted from the library: kept and reported, removed with --prune only.
    settings.fetched_dir.mkdir()
    report = build_index(settings, embedder=embedder)
    assert report.removed == 0 and fetched in titles(settings)
    assert any("no longer in newsbot's library; kept" in str(p) for p in report.problems)
    report = build_index(settings, prune=True, embedder=embedder)
    assert report.removed == 1 and fetched not in titles(settings)


def test_restore_undoes_the_last_removal(cli: Settings, embedder: Embedder) -> None:
    folder = cli.article_dirs[0]
    write(folder, "volcano", "wheat", "chess")
    build_index(cli, embedder=embedder)
    (folder / "volcano.txt").unlink()
    (folder / "wheat.txt").unlink()
    assert build_index(cli, prune=True, embedder=embedder).removed == 2  # the accident
    code, output = newsbot("restore")
    assert code == 0, output
    assert output.startswith("Restored 2 articles removed on ")
    assert "; 3 articles in the index;" in output
    assert "Kansas wheat harvest shrinks Volcano erupts near Grindavik" in output
    assert titles(cli) == {STORIES[n][0] for n in ("volcano", "wheat", "chess")}
    service = build_service(cli, embedder=embedder)
    answer = service.ask("Where did the lava reach?")
    assert answer.found and answer.citations[0].title == STORIES["volcano"][0]
    assert "Grindavik" in answer.citations[0].quote

    code, output = newsbot("restore")  # that removal is undone; there is none before it
    assert code == 0
    assert output == (
        "Nothing to restore: no update removed articles in the last 30 days "
        "(NEWSBOT_REMOVED_RETENTION_DAYS)."
    )


def test_removed_articles_are_kept_only_for_the_retention(
    settings: Settings, embedder: Embedder
) -> None:
    folder = settings.article_dirs[0]
    write(folder, "volcano", "wheat")
    build_index(settings, embedder=embedder)
    (folder / "wheat.txt").unlink()
    none_kept = settings.model_copy(update={"removed_retention_days": 0})
    assert build_index(none_kept, prune=True, embedder=embedder).removed == 1
    report = restore_last(settings, embedder=embedder)
    assert report.removed_at is None and report.restored == []


def test_a_full_rebuild_keeps_what_it_may_not_remove(
    settings: Settings, embedder: Embedder
) -> None:
    folder = settings.article_dirs[0]
    write(folder, "volcano", "wheat", "chess")
    build_index(settings, embedder=embedder)
    (folder / "volcano.txt").unlink()
    (folder / "wheat.txt").unlink()
    report = build_index(settings, full=True, embedder=embedder)
    assert report.full and len(report.held_back) == 2 and report.removed == 0
    assert titles(settings) == {STORIES[n][0] for n in ("volcano", "wheat", "chess")}
    answer = build_service(settings, embedder=embedder).ask("Where did the lava reach?")
    assert answer.found and answer.citations[0].title == STORIES["volcano"][0]


def test_two_folders_with_the_same_name_are_refused(
    cli: Settings, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    root = cli.data_dir.parent
    first, second = root / "a" / "news", root / "b" / "news"
    write(first, "volcano")
    write(second, "wheat")
    (second / "volcano.txt").write_text("Another story\n\nThe same file name, another story.\n")
    settings = cli.model_copy(update={"article_dirs": [first, second]})
    with pytest.raises(ArticleFolderError) as refused:
        build_index(settings, embedder=embedder)
    assert str(refused.value) == (
        f"Two article folders have the same name, news: {first} and {second}. newsbot tells "
        "articles apart by their folder's name and their path in it, so one folder's files "
        "would hide the other's. Nothing was changed. Rename one of the folders (or copy one "
        "you can't rename, such as a read-only share, to a folder of another name) and list "
        "the new name in NEWSBOT_ARTICLE_DIRS."
    )
    assert titles(settings) == set()
    code, output = newsbot("index", str(first), str(second))
    assert code == 2 and "Two article folders have the same name, news" in output
