"""The generated-answer chain, as one LangChain runnable (LCEL):

    number the passages → prompt → model → parse → verify

Input: ``{"question": str, "hits": [...]}``, the passages the answer service retrieved.
Streaming (``chain.stream``) yields :class:`ChainChunk` objects: text deltas as the model writes,
then one chunk carrying the :class:`~bot.llm.verify.Verification`. ``chain.invoke`` returns their sum.

Article text reaches the model as quoted data: each passage sits between ``<passage n="…">`` and
``</passage>``, angle brackets inside it are replaced so it cannot close its own tag, and sentences
that read like instructions to a model ("ignore previous instructions …") are withheld and are
not accepted as support either.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.llm.prompting import load_prompt
from bot.llm.verify import Verification, Verifier
from index.search import Hit
from index.sentences import sentence_spans

log = logging.getLogger(__name__)

WITHHELD = "[a sentence that read like instructions to an AI was withheld]"
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b[^.]{0,60}\b(instructions?|prompts?|rules?|"
    r"directions?|guidelines?)\b|"
    r"\byou are (now|no longer)\b|\bnew (instructions?|rules?)\b|"
    r"(^|\s)(system|assistant|developer)\s*(prompt|message)?\s*:|"
    r"\b(say|reply|answer|respond|output|print|write)\b[^.]{0,40}\b(only|exactly|verbatim)\b|"
    r"\b(as an? (ai|language model|assistant))\b|</?\s*passage\b|"
    r"\bnote to\b[^.]{0,30}\b(ai|assistants?|models?|bots?|chatbots?|llms?)\b|"
    r"\b(ai|language) (models?|assistants?)\b[^.]{0,40}\b(must|should|are to)\b",
    re.IGNORECASE,
)


@dataclass
class Context:
    """The numbered passages: passage n is ``hits[n - 1]``."""

    question: str
    hits: list[Hit]
    block: str  # what the prompt shows
    withheld: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # offsets per n


@dataclass
class ChainChunk:
    """One piece of the chain's stream; chunks add up to the whole result."""

    text: str = ""
    verification: Verification | None = None
    context: Context | None = None

    def __add__(self, other: ChainChunk) -> ChainChunk:
        return ChainChunk(
            self.text + other.text,
            other.verification or self.verification,
            other.context or self.context,
        )


def read_like_instructions(sentence: str) -> bool:
    return bool(_INSTRUCTION.search(sentence))


def number_passages(question: str, hits: list[Hit]) -> Context:
    """Number the passages and quote them as delimited data for the prompt."""
    blocks = []
    withheld: dict[int, list[tuple[int, int]]] = {}
    for n, hit in enumerate(hits, start=1):
        kept = []
        for a, b in sentence_spans(hit.text):
            if read_like_instructions(hit.text[a:b]):
                withheld.setdefault(n, []).append((a, b))
                kept.append(WITHHELD)
                log.info("withheld instruction-like text in passage %d (%s)", n, hit.chunk_id)
            else:
                kept.append(hit.text[a:b])
        source = " · ".join(part for part in (hit.passage.title, hit.passage.published) if part)
        blocks.append(
            f'<passage n="{n}" source="{_quote_attr(source)}">\n'
            f"{_quote_text(' '.join(kept))}\n</passage>"
        )
    return Context(question, hits, "\n\n".join(blocks), withheld)


def _quote_text(text: str) -> str:
    return text.replace("<", "‹").replace(">", "›")


def _quote_attr(text: str) -> str:
    return _quote_text(text).replace('"', "'").replace("\n", " ")


def to_messages(context: Context) -> list[Any]:
    """The chat messages for the answer prompt (``prompts/answer.yaml``)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    system, user = load_prompt("answer").render(
        question=context.question, passages=context.block, count=len(context.hits)
    )
    return [SystemMessage(content=system), HumanMessage(content=user)]


def parse_stream(chunks: Iterator[Any]) -> Iterator[str]:
    """Model output chunks → text deltas (content only; reasoning blocks are skipped)."""
    for chunk in chunks:
        content = getattr(chunk, "content", chunk)
        if isinstance(content, str):
            if content:
                yield content
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "text" and part.get("text"):
                    yield str(part["text"])
                elif isinstance(part, str) and part:
                    yield part


def clean_answer(text: str) -> str:
    """The model's text without a leading "Answer:" label or surrounding quotes."""
    text = text.strip()
    text = re.sub(r"^[*_\s]*answer[*_\s]*:[*_\s]*", "", text, flags=re.IGNORECASE)
    return text.strip().strip('"').strip()


def build_answer_chain(model: Any, verifier: Verifier) -> Any:
    """The LCEL runnable described in the module docstring."""
    from langchain_core.runnables import (
        RunnableGenerator,
        RunnableLambda,
        RunnableParallel,
        RunnablePassthrough,
    )

    def number(inputs: dict[str, Any]) -> Context:
        return number_passages(inputs["question"], list(inputs["hits"]))

    def verify(parts: Iterator[dict[str, Any]]) -> Iterator[ChainChunk]:
        context: Context | None = None
        text = ""
        for part in parts:
            if "context" in part:
                context = part["context"]
            if part.get("text"):
                text += part["text"]
                yield ChainChunk(text=part["text"])
        if context is None:
            raise RuntimeError("the chain lost its passages")
        result = verifier.verify(clean_answer(text), context.hits, context.withheld)
        yield ChainChunk(verification=result, context=context)

    generate = RunnableLambda(to_messages) | model | RunnableGenerator(parse_stream)
    return (
        RunnableLambda(number)
        | RunnableParallel(context=RunnablePassthrough(), text=generate)
        | RunnableGenerator(verify)
    ).with_config(run_name="newsbot-answer")
