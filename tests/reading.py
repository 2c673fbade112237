"""Reading article folders without an index, for tests that look at what the readers produce."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from index.sources import ReadResult, discover, read_file


def read_folders(folders: Iterable[Path], max_bytes: int = 20_000_000) -> ReadResult:
    """Read every article under ``folders`` (convenience for tests and tools)."""
    files, problems = discover(folders)
    result = ReadResult(problems=problems)
    for source in files:
        one = read_file(source, max_bytes)
        result.articles.extend(one.articles)
        result.problems.extend(one.problems)
    return result
