"""A LangChain chat model that runs a GGUF file in process with llama-cpp-python.

The model loads on first use (so ``newsbot repl`` starts at once and a broken file becomes a
fallback, not a crash) and one generation runs at a time: a llama.cpp context is not thread-safe.
The chat template comes from the GGUF file itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

log = logging.getLogger(__name__)

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class ChatLlamaCpp(BaseChatModel):
    """``llama_cpp.Llama`` behind LangChain's chat model interface, with streaming."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    n_ctx: int = 4096
    n_threads: int | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0

    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def load(self) -> Any:
        """The ``Llama`` object, loaded once. Call while holding ``_lock``."""
        if self._llama is None:
            from llama_cpp import Llama

            log.info("loading %s", self.model_path)
            self._llama = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                seed=self.seed,
                verbose=False,
            )
        return self._llama

    def _request(self, messages: list[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
        return {
            "messages": [
                {"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages
            ],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": stop or [],
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            result = self.load().create_chat_completion(**self._request(messages, stop))
        choice = result["choices"][0]
        message = AIMessage(content=choice["message"]["content"] or "")
        info = {"finish_reason": choice.get("finish_reason"), "usage": result.get("usage")}
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=info)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self._lock:
            stream = self.load().create_chat_completion(
                **self._request(messages, stop), stream=True
            )
            try:
                for part in stream:
                    text = part["choices"][0]["delta"].get("content") or ""
                    if not text:
                        continue
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
            finally:
                stream.close()  # stops llama.cpp generating when the reader stops early
