"""Logging set-up for entry points only: libraries just call ``logging.getLogger(__name__)``."""

from __future__ import annotations

import logging
import os
import warnings

NOISY = (
    "chromadb",
    "httpx",
    "sentence_transformers",
    "transformers",
    "urllib3",
    "bm25s",
    "trafilatura",
    "huggingface_hub",
    "htmldate",
    "charset_normalizer",
)


def configure(level: str = "WARNING") -> None:
    """Readable logs on stderr, quiet third-party libraries, no telemetry, no hub look-ups."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(level.upper())  # some libraries set DEBUG on their own loggers at import
    for name in NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
