"""Domain errors, the floor both wings stand on. Each carries a message written for the person
using newsbot, naming the fix.

``index/`` raises them and ``bot/`` shows them: the CLI turns them into a clean exit with that
message and :attr:`NewsbotError.exit_code` (see :func:`bot.errors.user_message`), the Discord front
end maps them to replies. Nothing here imports anything else of newsbot.
"""

from __future__ import annotations


class NewsbotError(Exception):
    """Base class: ``str(error)`` is safe and useful to show to a user."""

    exit_code = 1


class InvalidInput(NewsbotError):
    """A command was given something it cannot use (a missing argument, a file for a folder)."""

    exit_code = 2


class InvalidQuestion(InvalidInput):
    """A question that cannot be asked as it is (empty, too long, no words)."""


class IndexEmpty(NewsbotError):
    """There is nothing to answer from yet."""


class IndexBusy(NewsbotError):
    """Another process is writing the embedded index."""


class StoreUnavailable(NewsbotError):
    """The Chroma store (usually a server) cannot be reached."""


class VectorsUnreadable(NewsbotError):
    """Chroma could not read its vector index for one query: the embedded store's index files
    can be out of step with its records while another process writes the same store ("Error
    finding id"). A search then answers from the keyword index alone (index/search.py)."""


class ConfigError(NewsbotError):
    exit_code = 2


class ModelNotFound(ConfigError):
    """The configured embedding model cannot be loaded offline."""


class PromptError(NewsbotError):
    """A prompt file is missing or broken, or was rendered with the wrong variables."""


class FetchError(NewsbotError):
    """One item could not be fetched or read. ``str()`` is "<url>: <reason>"."""

    def __init__(self, url: str, reason: str, *, permanent: bool = True) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.permanent = permanent  # False for timeouts and server errors, worth retrying later


class ArticleFolderError(ConfigError):
    """A configured article folder is missing, unreadable, empty or clashes with another: the
    update stops before changing anything, so the index keeps its articles."""


class PruneRefused(NewsbotError):
    """An update would remove more of the index than NEWSBOT_PRUNE_MAX_SHARE allows at once."""


class StoreDamaged(NewsbotError):
    """The store's files are unreadable (corrupted, truncated) or the disk holding them is full."""
