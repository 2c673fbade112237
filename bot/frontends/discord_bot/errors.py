"""The one place that turns errors into replies, and keeps secrets out of logs and replies.

Known errors (newsbot's own, Discord permission problems, failed command checks) become a short,
friendly reply; anything else is logged with its traceback and the user is told it went wrong.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import IndexBusy, IndexEmpty, InvalidQuestion, NewsbotError, StoreUnavailable
from bot.settings import Settings

log = logging.getLogger(__name__)

UNEXPECTED = "⚠️ Something went wrong on my side while answering. It has been logged for the admins."
REDACTED = "[redacted]"
# Keys that LangChain's providers read from the environment (NEWSBOT_LLM=provider:model).
PROVIDER_KEYS = (
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "FIREWORKS_API_KEY",
)
_secrets: list[str] = []  # what install_redaction was given: replies are redacted too


class NotAllowed(app_commands.CheckFailure):
    """A command used by someone, or somewhere, it is not meant for. The message is the reply."""


def friendly_message(error: BaseException) -> str:
    """What to tell the user about ``error``. Logs unexpected errors with their traceback."""
    if isinstance(error, app_commands.CommandInvokeError | commands.CommandInvokeError):
        error = error.original
    if isinstance(error, InvalidQuestion):
        return redact(f"❓ {error}")
    if isinstance(error, IndexEmpty):
        return "📭 Nothing is indexed yet. An admin can run /reindex to index the articles."
    if isinstance(error, IndexBusy):
        return "🛠️ The index is being updated by another process right now. Try again in a minute."
    if isinstance(error, StoreUnavailable):
        return "🔌 I can't reach the article store at the moment. Please try again later."
    if isinstance(error, NewsbotError):
        return redact(f"⚠️ {error}")
    if isinstance(error, NotAllowed):
        return redact(f"🚫 {error}")
    if isinstance(error, app_commands.CheckFailure):
        return "🚫 You can't use this command here."
    if isinstance(error, discord.Forbidden):
        log.warning("Discord refused an action: %s", error)
        return (
            "🚫 I lack a permission I need here (send messages, create threads, embed links, "
            "add reactions). Ask an admin to check my role."
        )
    log.error("unexpected error: %s", error, exc_info=error)
    return UNEXPECTED


class RedactSecrets(logging.Filter):
    """Replaces secret values (the Discord token, API keys) in every log record that passes."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


def secret_values(settings: Settings) -> list[str]:
    """Every secret the bot may hold: the secret settings (DISCORD_TOKEN, CHROMA_API_KEY) and the
    model providers' keys, which LangChain reads from the environment."""
    values = [
        secret.get_secret_value()
        for secret in (settings.discord_token, settings.chroma_api_key)
        if secret is not None
    ]
    values += [os.environ.get(name, "") for name in PROVIDER_KEYS]
    return [v.strip() for v in values if v and v.strip()]


def redact(text: str) -> str:
    """``text`` without any secret given to :func:`install_redaction`."""
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    return text


def install_redaction(secrets: Iterable[str]) -> RedactSecrets:
    """Attach the filter to every handler of the root logger (where all records end up), and
    redact the same secrets from the replies :func:`friendly_message` writes."""
    redactor = RedactSecrets(secrets)
    _secrets[:] = sorted(set(_secrets) | set(redactor.secrets), key=len, reverse=True)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        handler.addFilter(redactor)
    return redactor
