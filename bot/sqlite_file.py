"""The bot's own small SQLite files (Discord ratings, followed topics): one way to open them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path


@contextmanager
def transaction(path: Path, schema: str, *pragmas: str) -> Iterator[sqlite3.Connection]:
    """A connection to ``path`` (created with its folder, its ``schema`` applied) inside one
    transaction, committed on success and rolled back on an error; rows by column name.
    ``pragmas`` ("foreign_keys = ON") are set first, since some only apply outside one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=10)) as db:
        db.row_factory = sqlite3.Row
        for pragma in pragmas:
            db.execute(f"PRAGMA {pragma}")
        db.executescript(schema)
        with db:
            yield db
