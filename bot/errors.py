"""The error hierarchy as the front ends see it, and the one mapping from an error to what a
person is told and the exit code.

The classes live on the floor (:mod:`index.errors`), so the index raises them without reaching up
into ``bot/``; they are re-exported here for the front ends.
"""

from __future__ import annotations

from rich.markup import escape

from index.errors import (
    ArticleFolderError,
    ConfigError,
    FetchError,
    IndexBusy,
    IndexEmpty,
    InvalidInput,
    InvalidQuestion,
    ModelNotFound,
    NewsbotError,
    PromptError,
    PruneRefused,
    StoreDamaged,
    StoreUnavailable,
)


class FollowNotFound(InvalidInput):
    """No followed topic of this server has that number or topic."""


class FollowRefused(NewsbotError):
    """Removing another member's follow needs the Manage Server permission."""


__all__ = [
    "ArticleFolderError",
    "ConfigError",
    "FetchError",
    "FollowNotFound",
    "FollowRefused",
    "IndexBusy",
    "IndexEmpty",
    "InvalidInput",
    "InvalidQuestion",
    "ModelNotFound",
    "NewsbotError",
    "PromptError",
    "PruneRefused",
    "StoreDamaged",
    "StoreUnavailable",
    "user_message",
]


def user_message(error: NewsbotError) -> tuple[str, int]:
    """(the line to print, the exit code) for a domain error: exit 2 is bad input or settings."""
    return f"[red]error:[/red] {escape(str(error))}", error.exit_code
