"""Domain errors. Each carries a message written for the person using newsbot, naming the fix.

The CLI turns them into a clean exit with that message; the Discord front end maps them to replies.
"""

from __future__ import annotations


class NewsbotError(Exception):
    """Base class: ``str(error)`` is safe and useful to show to a user."""

    exit_code = 1


class InvalidQuestion(NewsbotError):
    exit_code = 2


class IndexEmpty(NewsbotError):
    """There is nothing to answer from yet."""


class IndexBusy(NewsbotError):
    """Another process is writing the embedded index."""


class StoreUnavailable(NewsbotError):
    """The Chroma store (usually a server) cannot be reached."""


class ConfigError(NewsbotError):
    exit_code = 2


class ModelNotFound(ConfigError):
    """The configured embedding model cannot be loaded offline."""


class ArticleFolderError(ConfigError):
    """A configured article folder is missing, unreadable, empty or clashes with another: the
    update stops before changing anything, so the index keeps its articles."""


class PruneRefused(NewsbotError):
    """An update would remove more of the index than NEWSBOT_PRUNE_MAX_SHARE allows at once."""


class StoreDamaged(NewsbotError):
    """The store's files are unreadable (corrupted, truncated) or the disk holding them is full."""
