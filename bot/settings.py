"""All configuration in one typed object, read from the environment and ``.env`` (prefix NEWSBOT_).

Built lazily by :func:`get_settings`, never at import; tests build their own ``Settings(...)``.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSBOT_", env_file=".env", extra="ignore")

    # Where things live
    data_dir: Path = Path(".newsbot")
    article_dirs: Annotated[list[Path], NoDecode] = [Path("seeds")]
    max_article_bytes: int = 20_000_000
    # What an update may remove (index/prune.py): more than this share of the index at once needs
    # `newsbot index --prune`; removed articles are kept this many days for `newsbot restore`.
    prune_max_share: float = Field(0.2, ge=0.0, le=1.0)
    removed_retention_days: float = Field(30.0, ge=0.0)
    follow_links: bool = False  # follow links that lead out of an article folder

    # Chunking and embedding
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_backend: str = "auto"  # auto (by the CPU and the index), onnx-int8, onnx, torch
    embedding_device: str = "cpu"
    model_cache: Path | None = None  # ONNX exports; default ~/.cache/newsbot/models
    embedding_batch_size: int = 64
    chunk_chars: int = 900
    chunk_overlap: int = 1
    chunk_min_chars: int = 200  # a shorter section joins a neighbour (index/chunking.py)

    # Retrieval and answering
    top_k: int = 5
    candidates: int = 40
    rrf_k: int = 60
    article_fusion_weight: float = 1.0  # RRF over articles as well as chunks (0 turns it off)
    passages_per_article: int = 3  # more of one article's chunks rank after the others (0: no cap)
    min_relevance: float = 0.35
    min_coverage: float = 0.35
    max_question_chars: int = 2000
    max_answer_sentences: int = 3
    # sentences the extractive answerer re-scores with the embedder (0: words only, faster)
    answer_rerank: int = 8

    # Language model behind the answerer (bot/llm/models.py): extractive (no model, default),
    # smollm2, llamacpp:PATH.gguf, or a LangChain provider:model such as openai:gpt-4o-mini.
    llm: str = "extractive"
    llm_timeout: float = 60.0  # seconds for one answer before falling back to quoted sentences
    llm_max_tokens: int = 256
    llm_temperature: float = 0.0
    llm_context: int = 8192  # llama.cpp context window, in tokens
    llm_threads: int | None = None  # llama.cpp threads (default: llama.cpp's choice)
    llm_failures_before_pause: int = 2  # the circuit breaker opens after this many in a row
    llm_pause_seconds: float = 120.0
    # Citation verification of generated answers (bot/verify.py)
    verify_mode: Literal["drop", "mark"] = "drop"  # unsupported sentences: removed, or marked
    verify_threshold: float = 0.62  # support score needed for a paraphrase (docs/benchmarks.md)

    # Dates: "today" for date words in questions (unset: the real today), and how strongly
    # questions about the latest news prefer newer articles.
    today: date | None = None
    recency_half_life_days: float = 7.0
    recency_weight: float = 1.0
    recency_default_weight: float = 0.25  # the lift for newer stories when no time is named
    recency_slack_days: float = 30.0  # "this week": leave out stories older than that by more
    window_search_weight: float = 0.5  # "this week" is also searched within that week (0: off)

    # Arrival from the web (`newsbot add`, `newsbot watch`)
    feeds: Annotated[list[str], NoDecode] = []
    fetch_timeout: float = 20.0
    fetch_max_bytes: int = 5_000_000  # of the decompressed page
    # host names, IP addresses or networks that may be fetched although private or loopback
    fetch_allow_hosts: Annotated[list[str], NoDecode] = []
    feed_max_items: int = Field(50, ge=1)  # articles fetched per feed per check; newest first
    user_agent: str = "newsbot/0.1 (news question-answering bot)"
    watch_interval: float = 900.0
    near_duplicate_threshold: float = 0.6

    # Store: embedded (default) or a Chroma server / Chroma Cloud
    chroma_host: str | None = Field(
        None, validation_alias=AliasChoices("CHROMA_HOST", "NEWSBOT_CHROMA_HOST")
    )
    chroma_port: int = Field(
        8000, validation_alias=AliasChoices("CHROMA_PORT", "NEWSBOT_CHROMA_PORT")
    )
    chroma_ssl: bool = Field(
        False, validation_alias=AliasChoices("CHROMA_SSL", "NEWSBOT_CHROMA_SSL")
    )
    chroma_tenant: str | None = Field(
        None, validation_alias=AliasChoices("CHROMA_TENANT", "NEWSBOT_CHROMA_TENANT")
    )
    chroma_database: str | None = Field(
        None, validation_alias=AliasChoices("CHROMA_DATABASE", "NEWSBOT_CHROMA_DATABASE")
    )
    chroma_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("CHROMA_API_KEY", "NEWSBOT_CHROMA_API_KEY")
    )
    collection_prefix: str = "newsbot"

    # Discord front end (`newsbot discord`). The token is read from DISCORD_TOKEN.
    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN")
    )
    discord_guild_ids: Annotated[list[int], NoDecode] = []  # servers it answers in
    discord_channel_ids: Annotated[list[int], NoDecode] = []  # empty: every channel there
    discord_allow_dms: bool = False
    discord_admin_role: str | None = None  # role name or id that may /reindex
    discord_cooldown_seconds: float = 10.0  # per user
    discord_max_concurrent: int = 2  # answers prepared at once
    discord_sync_commands: bool = True  # register the slash commands on start

    log_level: str = "WARNING"

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

    @field_validator("article_dirs", "feeds", "fetch_allow_hosts", mode="before")
    @classmethod
    def _split_dirs(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @property
    def fetched_dir(self) -> Path:
        """Where `newsbot add` and `newsbot watch` keep the articles they fetched."""
        return self.data_dir / "articles"

    @property
    def article_folders(self) -> list[Path]:
        """Every folder an index build reads: NEWSBOT_ARTICLE_DIRS plus the fetched articles."""
        folders = list(self.article_dirs)
        fetched = self.fetched_dir
        if fetched.is_dir() and all(f.resolve() != fetched.resolve() for f in folders):
            folders.append(fetched)
        return folders

    @property
    def store_location(self) -> str:
        if self.chroma_host:
            scheme = "https" if self.chroma_ssl else "http"
            return f"{scheme}://{self.chroma_host}:{self.chroma_port}"
        if self.chroma_api_key:
            return "Chroma Cloud"
        return str(self.data_dir / "chroma")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment, built on first use. Library code takes a ``Settings``
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
