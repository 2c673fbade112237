"""All configuration, read from the environment and ``.env`` (prefix NEWSBOT_), in typed sections.

The index's sections (store, index, web arrivals, search) live on the floor in
:mod:`index.config`; bot/'s own are here (answer, llm, discord). :class:`Settings` composes them:
a ``Settings`` is every section, so each function names the section it reads and is handed the
whole. Built lazily by :func:`get_settings`, never at import; tests build their own
``Settings(...)``.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from index.config import SearchSettings, Section, WebSettings


class AnswerSettings(Section):
    """Answering a question: when the passages count as covering it, and how long it may be."""

    min_relevance: float = 0.35
    min_coverage: float = 0.35
    max_question_chars: int = 2000
    max_answer_sentences: int = 3
    # "today" for date words in questions (unset: the real today)
    today: date | None = None
    # sentences the extractive answerer re-scores with the embedder (0: words only, faster)
    answer_rerank: int = 8


class LlmSettings(Section):
    """The language model behind the answerer (bot/llm/models.py): extractive (no model, default),
    smollm2, llamacpp:PATH.gguf, or a LangChain provider:model such as openai:gpt-4o-mini; and the
    citation verification of its answers (bot/llm/verify.py)."""

    llm: str = "extractive"
    llm_timeout: float = 60.0  # seconds for one answer before falling back to quoted sentences
    llm_max_tokens: int = 256
    llm_temperature: float = 0.0
    llm_context: int = 8192  # llama.cpp context window, in tokens
    llm_threads: int | None = None  # llama.cpp threads (default: llama.cpp's choice)
    llm_failures_before_pause: int = 2  # the circuit breaker opens after this many in a row
    llm_pause_seconds: float = 120.0
    verify_mode: Literal["drop", "mark"] = "drop"  # unsupported sentences: removed, or marked
    verify_threshold: float = 0.62  # support score needed for a paraphrase (docs/benchmarks.md)


class DiscordSettings(Section):
    """The Discord front end (`newsbot discord`). The token is read from DISCORD_TOKEN."""

    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN")
    )
    discord_guild_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list
    )  # servers it answers in
    discord_channel_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list
    )  # empty: every channel there
    discord_allow_dms: bool = False
    discord_admin_role: str | None = None  # role name or id that may /reindex
    discord_cooldown_seconds: float = 10.0  # per user
    discord_max_concurrent: int = 2  # answers prepared at once
    discord_sync_commands: bool = True  # register the slash commands on start

    @field_validator("discord_guild_ids", "discord_channel_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
            if not all(part.isdigit() for part in parts):
                raise ValueError(
                    "Discord ids are numbers separated by commas. Turn on Developer Mode in "
                    "Discord (Settings → Advanced), then right-click a server or channel → Copy ID."
                )
            return [int(part) for part in parts]
        return value


class NewsSettings(Section):
    """What the bot tells without being asked (bot/news/): the digest of arrivals, followed
    topics, and how articles are grouped into stories."""

    digest_hours: float = Field(24.0, gt=0)  # `newsbot digest` without --since/--hours
    digest_max_stories: int = Field(10, ge=1)
    # When a day's digest is posted in NEWSBOT_DISCORD_DIGEST_CHANNEL: "HH:MM" and a time zone,
    # e.g. "07:30 Europe/Zurich" (no zone: UTC). Unset: no scheduled digest.
    digest_at: str | None = None
    discord_digest_channel: int | None = None
    # Two articles are one story when their embeddings are this similar (cosine) and their
    # dates at most story_days_apart apart; copies (same address or text) always are.
    story_similarity: float = Field(0.7, ge=0, le=1)
    story_days_apart: int = Field(2, ge=0)
    follow_threshold: float = Field(0.5, ge=0, le=1)  # hybrid match (words + meaning) to post
    follow_posts_per_hour: int = Field(3, ge=1)  # per followed topic; more arrivals are merged
    follow_poll_seconds: float = Field(30.0, ge=0)  # how often the bot looks for a new revision
    follow_max_per_guild: int = Field(50, ge=1)

    @field_validator("digest_at")
    @classmethod
    def _check_time(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from bot.news.schedule import parse_time_of_day

        parse_time_of_day(value)  # ValueError names the fix
        return value.strip()


class Settings(
    WebSettings, SearchSettings, AnswerSettings, LlmSettings, DiscordSettings, NewsSettings
):
    """The full settings: the store, index, web, search, answer, llm, discord and news sections."""

    log_level: str = "WARNING"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment, built on first use. Library code takes a section
    argument instead of calling this, so tests pass their own.

    A value that does not fit its setting is a ConfigError naming the variable to fix."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as error:
        from bot.errors import ConfigError

        problems = "; ".join(_describe(e) for e in error.errors())
        raise ConfigError(
            f"A setting has a value newsbot cannot use: {problems}. "
            "Fix it in the environment or in .env (see .env.example)."
        ) from None


def _describe(problem: Any) -> str:
    """One validation problem as "VARIABLE: what is wrong" (the value itself is not repeated:
    it could be a secret)."""
    field = str(problem["loc"][0]) if problem.get("loc") else ""
    info = Settings.model_fields.get(field)
    if info is None:  # reported under the alias it was read from, e.g. CHROMA_PORT
        name = field.upper()
    elif isinstance(info.validation_alias, AliasChoices):
        name = str(info.validation_alias.choices[0])
    else:
        name = f"NEWSBOT_{field.upper()}"
    return f"{name}: {problem['msg']}"
