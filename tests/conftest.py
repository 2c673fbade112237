from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

import shutil
from pathlib import Path

import pytest

from bot.settings import Settings
from index.embedding import Embedder, make_embedder

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_FILE = SEEDS / "sheinbaum-rejects-trump-troops.txt"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real packaged all-MiniLM-L6-v2, loaded once for the whole run."""
    return make_embedder("all-MiniLM-L6-v2")


def make_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": tmp / "data", "article_dirs": [tmp / "articles"]}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(tmp_path: Path, articles_dir: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """An index of the seed article, built once and shared by read-only tests."""
    from index.build import build_index

    tmp = tmp_path_factory.mktemp("seed")
    (tmp / "articles").mkdir()
    shutil.copy(SEED_FILE, tmp / "articles" / SEED_FILE.name)
    settings = make_settings(tmp)
    build_index(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="session")
def seed_service(seed_settings: Settings, embedder: Embedder):  # type: ignore[no-untyped-def]
    from bot.service import build_service

    return build_service(seed_settings, embedder=embedder)
