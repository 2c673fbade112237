"""All configuration in one typed object, read from the environment and ``.env`` (prefix NEWSBOT_).

Built lazily by :func:`get_settings`, never at import; tests build their own ``Settings(...)``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSBOT_", env_file=".env", extra="ignore")

    # Where things live
    data_dir: Path = Path(".newsbot")
    article_dirs: Annotated[list[Path], NoDecode] = [Path("seeds")]
    max_article_bytes: int = 20_000_000

    # Chunking and embedding
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_device: str = "cpu"
    embedding_batch_size: int = 64
    chunk_chars: int = 900
    chunk_overlap: int = 1

    # Retrieval and answering
    top_k: int = 5
    candidates: int = 40
    rrf_k: int = 60
    min_relevance: float = 0.35
    min_coverage: float = 0.35
    max_question_chars: int = 2000
    max_answer_sentences: int = 3

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

    log_level: str = "WARNING"

    @field_validator("article_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

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
    argument instead of calling this, so tests pass their own."""
    return Settings()
