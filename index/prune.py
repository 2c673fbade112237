"""What an update may remove from the index, and how a removal is undone.

An update makes the index match the article folders, so a wrong setting could empty it. These rules
stand between a folder scan and a removal:

- A configured folder that is missing, not a folder, unreadable, or shares its name with another
  stops the update before anything changes; so does an empty folder that indexed articles came
  from (an unmounted volume), unless the removal is confirmed with ``prune``.
- Articles whose folder (or a subfolder) could not be listed are kept.
- Articles that newsbot fetched itself (its library, ``NEWSBOT_DATA_DIR/articles``) are never
  removed by a scan; with ``prune`` they go once their record is deleted from the library.
- Removing more than ``max_share`` of the index at once needs ``prune``; without it nothing is
  removed and the report lists what would have been.
- What is removed is kept (records and texts, not vectors) for ``retention_days`` in the store's
  ``<prefix>_removed`` collection, so :func:`undo` can put the last removal back.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import ArticleFolderError
from index.models import Article
from index.passage import Passage, chunk_id
from index.sources import Problem, Scan
from index.store import ArticleRecord, Store

PRUNE_HINT = "run `newsbot index --prune` (in Discord: /reindex prune:true)"


def folder_name(folder: Path) -> str:
    """The name that begins the source key of every file in ``folder`` (see index.sources)."""
    return Path(folder).resolve().name


def is_library_record(record: ArticleRecord, library: Path) -> bool:
    """Whether the article was read from newsbot's own library: ``<name>/<article id>.json``."""
    return record.source == f"{folder_name(library)}/{record.id}.json"


def distinct(folders: Sequence[Path]) -> list[Path]:
    """The folders, each real folder once (the same folder named twice is read once)."""
    seen: dict[Path, Path] = {}
    for folder in folders:
        seen.setdefault(Path(folder).resolve(), Path(folder))
    return list(seen.values())


def check_folders(folders: Sequence[Path], library: Path) -> None:
    """Stop (ArticleFolderError, exit code 2) when a configured folder cannot be what it says."""
    names: dict[str, Path] = {}
    for folder in folders:
        if same(folder, library):
            continue  # newsbot's own; missing until the first `newsbot add`
        problem = _folder_problem(folder)
        if problem:
            raise ArticleFolderError(problem)
        name = folder_name(folder)
        if name in names and not (_is_library(folder) or _is_library(names[name])):
            raise ArticleFolderError(
                f"Two article folders have the same name, {name}: {names[name]} and {folder}. "
                "newsbot tells articles apart by their folder's name and their path in it, so one "
                "folder's files would hide the other's. Nothing was changed. Rename one of the "
                "folders (or copy one you can't rename, such as a read-only share, to a folder "
                "of another name) and list the new name in NEWSBOT_ARTICLE_DIRS."
            )
        names[name] = folder


def _is_library(folder: Path) -> bool:
    """A library of fetched articles (another data folder's): only ``<article id>.json`` files,
    whose keys cannot meet an ordinary folder's."""
    names = [p.name for p in Path(folder).iterdir() if not p.name.startswith(".")]
    return bool(names) and all(re.fullmatch(r"[0-9a-f]{16}\.json", n) for n in names)


def _folder_problem(folder: Path) -> str | None:
    if not folder.exists():
        return (
            f"The article folder {folder} does not exist. Nothing was changed: the index keeps "
            "its articles. Fix the path in NEWSBOT_ARTICLE_DIRS (or the folder given to "
            "`newsbot index`), or create the folder."
        )
    if not folder.is_dir():
        return (
            f"{folder} is a file, not a folder. Nothing was changed. List folders of articles "
            "in NEWSBOT_ARTICLE_DIRS (or give folders to `newsbot index`)."
        )
    try:
        with os.scandir(folder) as entries:
            next(entries, None)
    except OSError as error:
        return (
            f"The article folder {folder} cannot be read ({error.strerror or error}). Nothing "
            "was changed. Check its permissions: newsbot must be able to list it and read its "
            "files."
        )
    return None


def check_not_emptied(
    folders: Sequence[Path],
    found: Scan,
    live: dict[str, ArticleRecord],
    library: Path,
    prune: bool,
) -> None:
    """Stop when a folder holds no articles now but indexed articles came from it (a volume that
    is not mounted looks exactly like that), unless ``prune`` confirms the removal."""
    if prune:
        return
    for folder in folders:
        name = folder_name(folder)
        if same(folder, library) or any(f.path.is_relative_to(folder) for f in found.files):
            continue
        if any(prefix.startswith(f"{name}/") for prefix in found.unlisted):
            continue  # not empty: partly unreadable, and its articles are kept (reported)
        came = [
            r
            for r in live.values()
            if r.source.startswith(f"{name}/") and not is_library_record(r, library)
        ]
        if came:
            raise ArticleFolderError(
                f"The article folder {folder} is empty, but {len(came)} indexed "
                f"article{'s' if len(came) != 1 else ''} came from it. Nothing was changed. If "
                "it is a mounted volume, check that it is mounted; if you emptied it on purpose, "
                f"{PRUNE_HINT} to remove them."
            )


@dataclass
class Decision:
    """Of the articles no longer found: what goes, what stays (and the problems to report)."""

    remove: list[str] = field(default_factory=list)
    spare: list[str] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)  # sources, over the share without prune
    problems: list[Problem] = field(default_factory=list)


def decide(
    gone: Sequence[str],
    live: dict[str, ArticleRecord],
    found: Scan,
    library: Path,
    library_scanned: bool,
    prune: bool,
    max_share: float,
) -> Decision:
    decision = Decision()
    removable: list[str] = []
    for article_id in gone:
        record = live[article_id]
        if any(record.source.startswith(prefix) for prefix in found.unlisted):
            decision.spare.append(article_id)  # its folder could not be listed (reported)
        elif is_library_record(record, library) and not (prune and library_scanned):
            decision.spare.append(article_id)
            if library_scanned:
                decision.problems.append(
                    Problem(
                        record.source,
                        "fetched article no longer in newsbot's library; kept in the index "
                        "(`newsbot index --prune` removes it)",
                    )
                )
        else:
            removable.append(article_id)
    if removable and not prune and len(removable) > max_share * len(live):
        decision.held_back = sorted(live[i].source for i in removable)
        decision.spare.extend(removable)
    else:
        decision.remove = removable
    return decision


def held_back_note(held: int, total: int, max_share: float, how: str = PRUNE_HINT) -> str:
    """What to tell the person whose update was over the share."""
    one = held == 1
    return (
        f"{held:,} of the {total:,} article{'' if total == 1 else 's'} in the index "
        f"({held / max(total, 1):.0%}) {'is' if one else 'are'} no longer in the article folders. "
        f"{'It was' if one else 'They were'} not removed: an update removes at most "
        f"{max_share:.0%} of the index at once (NEWSBOT_PRUNE_MAX_SHARE). If a folder is wrong "
        f"or not mounted, fix it and nothing is lost; if {'it was' if one else 'they were'} deleted "
        f"on purpose, {how}."
    )


def same(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


# -- the removed articles, kept for undo ------------------------------------------------------


@dataclass(frozen=True)
class Removed:
    """An article an update removed: its manifest record, its text and its other addresses."""

    record: ArticleRecord
    text: str
    other_urls: str

    def article(self) -> Article:
        r = self.record
        return Article(
            id=r.id,
            title=r.title,
            text=self.text,
            source=r.source,
            url=r.url or None,
            published=r.published or None,
            authors=tuple(a for a in r.authors.split(", ") if a),
            other_urls=tuple(u for u in self.other_urls.split(" ") if u),
        )


def stored(store: Store, generation: int, records: Sequence[ArticleRecord]) -> list[Removed]:
    """The indexed articles ``records`` as they are stored (texts, other addresses)."""
    texts = store.article_texts(generation, [r.id for r in records])
    firsts = [chunk_id(r.id, r.content_hash, 0) for r in records]
    passages = [
        Passage.from_metadata(cid, text, m)
        for cid, m, text in store.chunk_records(generation, firsts)
    ]
    urls = {p.article_id: " ".join(p.other_urls) for p in passages}
    return [Removed(r, texts[r.id], urls.get(r.id, "")) for r in records if r.id in texts]


def keep_removed(
    store: Store, generation: int, records: Sequence[ArticleRecord], retention_days: float
) -> None:
    """Keep what is about to be removed, for undo; forget what is older than the retention."""
    now = time.time()
    store.forget_removed(before=now - retention_days * 86400)
    if records and retention_days > 0:
        rows = [(r.record, r.text, r.other_urls) for r in stored(store, generation, records)]
        store.keep_removed(f"{now:.6f}", now, rows)
