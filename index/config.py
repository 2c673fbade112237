"""The index's own settings sections, read from the environment and ``.env`` (prefix NEWSBOT_).

Each section is a typed class that index/ functions name in their signatures: the store
(:class:`StoreSettings`), building the index (:class:`IndexSettings`), arrivals from the web
(:class:`WebSettings`) and searching (:class:`SearchSettings`). ``bot.settings.Settings`` composes
them with bot/'s own sections into the full settings, so a ``Settings`` is every one of them; a
section can also be built on its own (``SearchSettings()`` reads the same variables).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


def split_list(value: Any) -> Any:
    """A comma- (or semicolon-) separated environment value as a list of its non-empty parts."""
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    return value


class Section(BaseSettings):
    """What every section shares: the NEWSBOT_ prefix and the ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_", env_file=".env", extra="ignore")


class StoreSettings(Section):
    """Where things live, and the Chroma store: embedded (default), a server or Chroma Cloud."""

    data_dir: Path = Path(".newsbot")
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
    # The embedded store's SQLite file in write-ahead-log mode, so that its readers (answering
    # processes) never wait for a writer in another process (index/store.py: use_journal).
    # Off only for a file system without shared memory for SQLite (NFS and the like).
    embedded_wal: bool = True

    @property
    def shared_store(self) -> bool:
        """A Chroma server or Chroma Cloud (shared by processes on several machines)."""
        return bool(self.chroma_host or self.chroma_api_key)

    @property
    def store_location(self) -> str:
        if self.chroma_host:
            scheme = "https" if self.chroma_ssl else "http"
            return f"{scheme}://{self.chroma_host}:{self.chroma_port}"
        if self.chroma_api_key:
            return "Chroma Cloud"
        return str(self.data_dir / "chroma")


class IndexSettings(StoreSettings):
    """Building the index: the article folders, chunking and the embedding model (and the store
    it writes to)."""

    article_dirs: Annotated[list[Path], NoDecode] = [Path("seeds")]
    max_article_bytes: int = 20_000_000
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_backend: str = "auto"  # auto (by the CPU and the index), onnx-int8, onnx, torch
    embedding_device: str = "cpu"
    model_cache: Path | None = None  # ONNX exports; default ~/.cache/newsbot/models
    embedding_batch_size: int = 64
    chunk_chars: int = 900
    chunk_overlap: int = 1
    chunk_min_chars: int = 200  # a shorter section joins a neighbour (index/chunking.py)
    # What an update may remove (index/prune.py): more than this share of the index at once needs
    # `newsbot index --prune`; removed articles are kept this many days for `newsbot restore`.
    prune_max_share: float = Field(0.2, ge=0.0, le=1.0)
    removed_retention_days: float = Field(30.0, ge=0.0)
    follow_links: bool = False  # follow links that lead out of an article folder

    @field_validator("article_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: Any) -> Any:
        return split_list(value)

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


class WebSettings(IndexSettings):
    """Arrival from the web (`newsbot add`, `newsbot watch`), which indexes what it fetched."""

    feeds: Annotated[list[str], NoDecode] = []
    fetch_timeout: float = 20.0
    fetch_max_bytes: int = 5_000_000  # of the decompressed page
    user_agent: str = "newsbot/0.1 (news question-answering bot)"
    watch_interval: float = 900.0
    near_duplicate_threshold: float = 0.6
    # host names, IP addresses or networks that may be fetched although private or loopback
    fetch_allow_hosts: Annotated[list[str], NoDecode] = []
    feed_max_items: int = Field(50, ge=1)  # articles fetched per feed per check; newest first
    # how many nice levels lower than answering `newsbot watch` and `newsbot add` index
    update_nice: int = Field(10, ge=0, le=19)

    @field_validator("feeds", "fetch_allow_hosts", mode="before")
    @classmethod
    def _split_feeds(cls, value: Any) -> Any:
        return split_list(value)


class SearchSettings(Section):
    """Hybrid retrieval: how many candidates, how they are fused, and how dates weigh in."""

    top_k: int = 5
    candidates: int = 40
    rrf_k: int = 60
    article_fusion_weight: float = 1.0  # RRF over articles as well as chunks (0 turns it off)
    passages_per_article: int = 3  # more of one article's chunks rank after the others (0: no cap)
    # how strongly questions about the latest news prefer newer articles
    recency_half_life_days: float = 7.0
    recency_weight: float = 1.0
    recency_default_weight: float = 0.25  # the lift for newer stories when no time is named
    recency_slack_days: float = 30.0  # "this week": leave out stories older than that by more
    window_search_weight: float = 0.5  # "this week" is also searched within that week (0: off)
