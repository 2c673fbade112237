from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.answering.service import build_service, build_store
from bot.errors import ConfigError
from index.build import build_index
from index.embedding import (
    OnnxEmbedder,
    SentenceEmbedder,
    _export_with_torch,
    cpu_info,
    embedding_key,
    export_onnx,
    machine_backend,
    make_embedder,
    resolve_model_path,
)
from index.onnx_export import write_bert_onnx
from index.passage import embedding_text
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]
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


# as after `make run`: PyTorch and sentence-transformers are not installed (this environment has
# them for the other tests; an import of a name set to None in sys.modules fails as if absent)
WITHOUT_TORCH = (
    "import sys\n"
    "for name in ('torch', 'sentence_transformers', 'transformers'):\n"
    "    sys.modules[name] = None\n"
)


def _without_torch(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH + code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_default_model_exports_and_embeds_without_torch(tmp_path: Path) -> None:
    done = _without_torch(
        "from pathlib import Path\n"
        "from index.embedding import OnnxEmbedder\n"
        f"vectors = OnnxEmbedder('all-MiniLM-L6-v2', True, Path({str(tmp_path)!r})).encode("
        f"{TEXTS[:2]!r})\n"
        "print(vectors.shape)\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(2, 384)"
    assert list(tmp_path.rglob("model-int8.onnx"))


def test_graph_written_from_the_weights_matches_the_torch_export(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    model = Path(resolve_model_path("all-MiniLM-L6-v2"))
    write_bert_onnx(model, tmp_path / "direct.onnx")
    _export_with_torch(model, tmp_path / "torch.onnx")
    # no "Loading weights" bar from transformers around `newsbot ask --json`'s output
    printed = capfd.readouterr()
    assert "Loading weights" not in printed.out + printed.err
    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    tokenizer.enable_padding()
    encoded = tokenizer.encode_batch(TEXTS)  # padded: the mask matters
    ids = np.array([e.ids for e in encoded], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    direct, via_torch = (
        ort.InferenceSession(str(tmp_path / name)).run(None, feed)[0]
        for name in ("direct.onnx", "torch.onnx")
    )
    real = mask[..., None].astype(bool)
    assert direct.shape == via_torch.shape
    assert float(np.abs((direct - via_torch) * real).max()) < 1e-4


def test_torch_backend_without_torch_names_the_install(tmp_path: Path) -> None:
    done = _without_torch(
        "from index.embedding import SentenceEmbedder\n"
        "from index.errors import ConfigError\n"
        "try:\n"
        "    SentenceEmbedder('all-MiniLM-L6-v2').encode(['x'])\n"
        "except ConfigError as error:\n"
        "    print(error)\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "NEWSBOT_EMBEDDING_BACKEND=torch needs PyTorch" in done.stdout
    assert "pip install -e '.[torch]'" in done.stdout


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


AVX2_ONLY = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2
processor\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2
"""


def test_cpu_info_names_the_processor_and_its_int8_instructions(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(AVX2_ONLY)
    cpu = cpu_info(cpuinfo)
    assert cpu.model == "AMD EPYC"
    assert cpu.vector_flags == ["sse4_2", "avx", "avx2", "fma", "f16c"]
    assert cpu.describe().endswith("sse4_2 avx avx2 fma f16c; no AVX-512; no VNNI")
    assert machine_backend(cpu) == "onnx-int8"
    cpuinfo.write_text("model name\t: Old Xeon\nflags\t\t: fpu sse sse2 sse4_2 avx\n")
    assert machine_backend(cpu_info(cpuinfo)) == "onnx", "no int8 instructions: float32"
    cpuinfo.write_text("processor\t: 0\nFeatures\t: fp asimd asimddp\nCPU part\t: 0xd0c\n")
    assert machine_backend(cpu_info(cpuinfo)) == "onnx-int8"
    assert cpu_info(tmp_path / "missing").flags == frozenset()


def test_repeated_texts_are_embedded_once_and_threads_change_no_vector(tmp_path: Path) -> None:
    one = OnnxEmbedder("all-MiniLM-L6-v2", True, tmp_path, threads=1)
    two = OnnxEmbedder("all-MiniLM-L6-v2", True, tmp_path, threads=2)
    texts = TEXTS + TEXTS[:2]
    seen: list[int] = []
    session = two.model.session

    class Counting:  # the real session, counting the texts it is given
        def run(self, outputs: Any, feed: dict[str, np.ndarray]) -> Any:
            seen.append(len(feed["input_ids"]))
            return session.run(outputs, feed)

    two.model.session = Counting()
    vectors = two.encode(texts)
    assert sum(seen) == len(TEXTS), "a repeated text was embedded again"
    assert np.array_equal(vectors[len(TEXTS) :], vectors[:2])
    assert np.allclose(one.encode(texts), vectors, atol=1e-6)


def _chunk_cosines(settings: Any, backend: str) -> np.ndarray:
    """Cosine of every live chunk's stored vector with ``backend``'s vector of its text."""
    store = build_store(settings)
    meta = store.meta()
    assert meta is not None
    rows = list(store.all_chunks(meta.generation))
    stored = store.vectors(meta.generation, [cid for cid, _, _ in rows])
    texts = [embedding_text(str(m["title"]), str(m["section"]), text) for _, m, text in rows]
    fresh = make_embedder("all-MiniLM-L6-v2", backend=backend).encode(texts)
    return np.array([float(stored[cid] @ v) for (cid, _, _), v in zip(rows, fresh, strict=True)])


def test_a_killed_build_with_other_vectors_is_not_resumed(
    tmp_path: Path, articles_dir: Path
) -> None:
    for n, topic in enumerate(["council budget", "river flood", "school strike"]):
        (articles_dir / f"{n}.txt").write_text(f"Story {n}\nThe {topic} was news on Monday.\n")

    def crash(done: int, total: int) -> None:
        raise KeyboardInterrupt  # killed after the first batch was written

    with pytest.raises(KeyboardInterrupt):
        build_index(make_settings(tmp_path, embedding_backend="onnx-int8"), progress=crash)
    float32 = make_settings(tmp_path, embedding_backend="onnx")
    report = build_index(float32)
    assert report.full and report.chunks_written == 3, "the int8 leftover was resumed"
    assert _chunk_cosines(float32, "onnx").min() > 0.9999
    assert build_store(float32).generations() == {build_store(float32).meta().generation}


def test_auto_keeps_the_backend_an_index_holds_until_a_full_rebuild(
    tmp_path: Path, articles_dir: Path
) -> None:
    (articles_dir / "a.txt").write_text("Budget\nThe council approved the budget on Monday.\n")
    build_index(make_settings(tmp_path, embedding_backend="onnx"))
    (articles_dir / "b.txt").write_text("Flood\nThe river flooded the old town on Tuesday.\n")
    auto = make_settings(tmp_path)
    assert auto.embedding_backend == "auto"
    report = build_index(auto)
    assert not report.full and report.added == 1, "auto re-embedded an index it can update"
    assert build_store(auto).meta().embedding_model == embedding_key("minilm", "onnx")
    assert _chunk_cosines(auto, "onnx").min() > 0.9999, "auto mixed in other vectors"
    service = build_service(auto)  # asks with the index's backend, not the machine's pick
    assert service.searcher.embedder.backend == "onnx"
    assert service.ask("What did the council approve?").found
    assert build_index(auto, full=True).full
    assert build_store(auto).meta().embedding_model == embedding_key("minilm", machine_backend())


def test_each_layer_attends_in_one_fused_operator_and_int8_keeps_it(tmp_path: Path) -> None:
    """ONNX Runtime's fused Attention (QAttention once quantized) instead of the textbook matrix
    products and softmax: the same vectors, less work (docs/benchmarks.md, issue 20)."""
    from collections import Counter

    import onnx

    from index.embedding import _quantize

    model = Path(resolve_model_path("all-MiniLM-L6-v2"))
    layers = json.loads((model / "config.json").read_text())["num_hidden_layers"]
    write_bert_onnx(model, tmp_path / "model.onnx")
    ops = Counter(n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node)
    assert ops["Attention"] == layers and "Softmax" not in ops
    _quantize(tmp_path / "model.onnx", tmp_path / "model-int8.onnx")
    ops = Counter(n.op_type for n in onnx.load(str(tmp_path / "model-int8.onnx")).graph.node)
    assert ops["QAttention"] == layers and "Attention" not in ops
