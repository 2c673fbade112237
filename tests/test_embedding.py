from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.answering.service import build_service
from bot.errors import ConfigError
from index.build import build_index
from index.embedding import (
    OnnxEmbedder,
    SentenceEmbedder,
    embedding_key,
    export_onnx,
    make_embedder,
    resolve_model_path,
)
from tests.conftest import make_settings

TEXTS = [
    "Mexico's president rejected the offer of US troops.",
    "Sheinbaum said sovereignty is not negotiable, citing cooperation on fentanyl.",
    "Short.",
    "A much longer passage " * 30,
]


def test_default_embedder_gives_unit_vectors_in_input_order(embedder) -> None:  # type: ignore[no-untyped-def]
    vectors = embedder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    single = embedder.encode([TEXTS[1]])[0]
    assert float(single @ vectors[1]) > 0.999, "batching or length sorting changed a vector"
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[3])


@pytest.mark.slow
def test_onnx_int8_vectors_match_torch(embedder) -> None:  # type: ignore[no-untyped-def]
    torch_vectors = SentenceEmbedder("all-MiniLM-L6-v2").encode(TEXTS)
    int8 = embedder.encode(TEXTS) if embedder.backend == "onnx-int8" else None
    assert int8 is not None
    cosine = (torch_vectors * int8).sum(axis=1)
    assert cosine.min() > 0.97 and cosine.mean() > 0.98


def test_export_is_cached_and_leaves_no_partial_file(tmp_path: Path) -> None:
    model = Path(resolve_model_path("all-MiniLM-L6-v2"))
    first = export_onnx(model, tmp_path, quantized=False)
    stamp = first.stat().st_mtime_ns
    assert export_onnx(model, tmp_path, quantized=False).stat().st_mtime_ns == stamp
    assert not list(tmp_path.rglob("*.tmp"))
    vectors = OnnxEmbedder("all-MiniLM-L6-v2", False, tmp_path).encode(TEXTS[:2])
    torch_like = make_embedder("all-MiniLM-L6-v2").encode(TEXTS[:2])
    assert (vectors * torch_like).sum(axis=1).min() > 0.97


def test_keys_separate_vectors_that_differ() -> None:
    assert embedding_key("minilm", "torch") == embedding_key("all-MiniLM-L6-v2", "onnx")
    assert embedding_key("all-MiniLM-L6-v2", "onnx-int8") != embedding_key(
        "all-MiniLM-L6-v2", "torch"
    )


def test_bad_backend_and_unsupported_model_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NEWSBOT_EMBEDDING_BACKEND"):
        make_embedder("all-MiniLM-L6-v2", backend="gpu-magic")
    folder = tmp_path / "cls-model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "modules.json").write_text(
        json.dumps([{"type": "sentence_transformers.models.Transformer"}])
    )
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    with pytest.raises(ConfigError, match="NEWSBOT_EMBEDDING_BACKEND=torch"):
        OnnxEmbedder(str(folder), True, tmp_path / "cache").encode(["x"])


def test_search_refuses_an_index_built_with_other_vectors(
    tmp_path: Path, articles_dir: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    (articles_dir / "a.txt").write_text("Story\nThe council approved the budget on Monday.\n")
    settings = make_settings(tmp_path)
    build_index(settings, embedder=embedder)
    other = settings.model_copy(update={"embedding_backend": "torch"})
    service = build_service(other)  # nothing loaded yet: the check comes before any model
    with pytest.raises(ConfigError, match="newsbot index"):
        service.ask("What did the council approve?")
