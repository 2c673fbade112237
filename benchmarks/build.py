"""Index build throughput against the encode floor and a naive LangChain build; no-op rebuilds.

    python -m benchmarks.build                 # 150 dev pages (gold + distractors), 2 rounds
    python -m benchmarks.build --pages 400 --repeats 3 --write
    python -m benchmarks.build --quick         # a few pages, one round (run by the test suite)

Per round, in this order and each in a fresh process, on the same articles:
- floor: ``SentenceTransformer.encode`` (torch) of our chunks, model load excluded;
- naive: LangChain ``RecursiveCharacterTextSplitter(1000, 200)`` + ``HuggingFaceEmbeddings`` +
  ``Chroma.from_documents``, everything included;
- ours, for each embedding backend: ``build_index`` from the files, everything included; first
  the default (``auto``: the backend this machine picks), then the others.
With ``--scale N``, the default build also runs once on N pages, between two runs on the rounds'
pages, to compare the time per chunk of a large index with a small one's.
The no-op rebuild runs on the index the evaluation built for the whole distractor corpus
(``newsbot eval --distractors`` caches it), when it exists.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import common

MODULE = "benchmarks.build"
BACKENDS = ("onnx-int8", "onnx", "torch")
LABELS = {
    "floor": "floor: torch encode only (load excluded)",
    "naive": "naive LangChain build",
    "onnx-int8": "newsbot build, onnx-int8",
    "onnx": "newsbot build, onnx (float32)",
    "torch": "newsbot build, torch",
}


def backends() -> tuple[str, ...]:
    """``auto`` first, then every backend it did not pick on this machine."""
    from index.embedding import machine_backend

    return ("auto", *(b for b in BACKENDS if b != machine_backend()))


def _articles(corpus: Path) -> list[Any]:
    from index.sources import discover, read_file

    files, _ = discover([corpus])
    return [a for f in files for a in read_file(f, 50_000_000).articles]


def step_floor(corpus: Path) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    from index.chunking import chunk_article
    from index.embedding import resolve_model_path
    from index.passage import embedding_text

    texts = [
        embedding_text(a.title, c.section, c.text)
        for a in _articles(corpus)
        for c in chunk_article(a, 900, 1)
    ]
    clock = time.perf_counter()
    model = SentenceTransformer(resolve_model_path("all-MiniLM-L6-v2"), device="cpu")
    load = time.perf_counter() - clock
    clock, cpu = time.perf_counter(), time.process_time()
    model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    return {
        "chunks": len(texts),
        "seconds": time.perf_counter() - clock,
        "cpu": time.process_time() - cpu,
        "load": load,
    }


def step_naive(corpus: Path, data: Path) -> dict[str, Any]:
    clock, cpu = time.perf_counter(), time.process_time()
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from index.embedding import resolve_model_path

    docs = [Document(a.text, metadata={"title": a.title}) for a in _articles(corpus)]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(
        docs
    )
    embeddings = HuggingFaceEmbeddings(model_name=resolve_model_path("all-MiniLM-L6-v2"))
    Chroma.from_documents(splits, embeddings, persist_directory=str(data), collection_name="naive")
    return {
        "chunks": len(splits),
        "seconds": time.perf_counter() - clock,
        "cpu": time.process_time() - cpu,
    }


def _settings(corpus: Path, data: Path, backend: str) -> Any:
    from bot.settings import Settings

    return Settings(_env_file=None, data_dir=data, article_dirs=[corpus], embedding_backend=backend)


def step_ours(corpus: Path, data: Path, backend: str) -> dict[str, Any]:
    from index.build import build_index
    from index.store import Store

    clock, cpu = time.perf_counter(), time.process_time()
    settings = _settings(corpus, data, backend)
    report = build_index(settings)
    seconds, cpu = time.perf_counter() - clock, time.process_time() - cpu
    meta = Store.open(settings).meta()
    return {
        "chunks": report.chunks_written,
        "seconds": seconds,
        "cpu": cpu,
        "embedding_model": meta.embedding_model if meta else "",
    }


def step_noop(corpus: Path, data: Path, backend: str) -> dict[str, Any]:
    from bot.answering.service import build_embedder
    from index.build import build_index
    from index.store import Store

    settings = _settings(corpus, data, backend)
    embedder = build_embedder(settings, Store.open(settings))
    clock = time.perf_counter()
    report = build_index(settings, embedder=embedder)
    return {
        "seconds": time.perf_counter() - clock,
        "chunks_written": report.chunks_written,
        "articles": report.articles,
        "model_loaded": embedder.loaded,
    }


# -- the orchestrator ---------------------------------------------------------------------------


def _corpus(pages: int) -> Path:
    return common.write_pages(
        common.dev_pages(distractors=True, pages=pages), common.scratch("corpus") / "articles"
    )


def _ours(corpus: Path, backend: str) -> dict[str, Any]:
    data = common.scratch(backend)
    return common.run_step(
        MODULE, "--step", "ours", str(corpus), "--data", str(data), "--backend", backend
    )


def measure_builds(pages: int, repeats: int, backends: tuple[str, ...]) -> dict[str, Any]:
    corpus = _corpus(pages)
    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(repeats):
        runs.setdefault("floor", []).append(common.run_step(MODULE, "--step", "floor", str(corpus)))
        data = common.scratch("naive")
        runs.setdefault("naive", []).append(
            common.run_step(MODULE, "--step", "naive", str(corpus), "--data", str(data))
        )
        for backend in backends:
            runs.setdefault(backend, []).append(_ours(corpus, backend))
    return {"pages": pages, "repeats": repeats, "runs": runs}


def measure_scale(pages: int, large: int) -> dict[str, Any]:
    """The default build on ``large`` pages, between two default builds on ``pages``."""
    small, big = _corpus(pages), _corpus(large)
    runs = [_ours(small, "auto"), _ours(big, "auto"), _ours(small, "auto")]
    return {"pages": pages, "large": large, "runs": runs}


def measure_noop(eval_cache: Path, repeats: int) -> dict[str, Any] | None:
    """No-op rebuilds of the cached distractor index, in-process figure and whole-process wall."""
    from bot.evaluation.run import cache_key, select_corpus, write_corpus
    from bot.settings import Settings

    settings = Settings(_env_file=None)
    corpus = common.scratch("noop") / "realtimeqa-corpus"

    pages = select_corpus(common.SHARED_DEV, distractors=True)[0].pages
    key = cache_key(write_corpus(pages, corpus), settings)
    data = eval_cache / key
    if not data.is_dir():
        return None
    runs = []
    env = common.offline_env(NEWSBOT_DATA_DIR=str(data), NEWSBOT_ARTICLE_DIRS=str(corpus))
    for _ in range(repeats):
        step = common.run_step(
            MODULE,
            "--step",
            "noop",
            str(corpus),
            "--data",
            str(data),
            "--backend",
            settings.embedding_backend,
            env=env,
        )
        clock = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot.frontends.cli", "index", "--json"],
            env=env,
            cwd=common.ROOT,
            capture_output=True,
            check=True,
        )
        step["process_wall"] = time.perf_counter() - clock
        runs.append(step)
    return {"runs": runs}


def _label(name: str, runs: list[dict[str, Any]]) -> str:
    if name != "auto":
        return LABELS[name]
    from index.embedding import backend_of_key

    picked = backend_of_key("all-MiniLM-L6-v2", runs[0]["embedding_model"]) or "?"
    return f"newsbot build, default (auto: {picked})"


def render(
    builds: dict[str, Any], noop: dict[str, Any] | None, scale: dict[str, Any] | None = None
) -> str:
    runs = builds["runs"]
    floor = common.median([r["seconds"] for r in runs["floor"]])
    naive = common.median([r["seconds"] for r in runs["naive"]])
    naive_cpu = _cpu(runs["naive"])
    rows = []
    for name in runs:
        label = _label(name, runs[name])
        seconds = common.median([r["seconds"] for r in runs[name]])
        chunks = runs[name][0]["chunks"]
        rows.append(
            [
                label,
                chunks,
                f"{seconds:.1f} s",
                f"{chunks / seconds:.1f}",
                f"{seconds / floor:.2f}",
                f"{naive / seconds:.2f}×",
                _cpu_cell(_cpu(runs[name]), naive_cpu),
                f"{max(r['rss_mb'] for r in runs[name]):.0f} MiB",
            ]
        )
    spread = "; ".join(
        f"{name}: " + ", ".join(f"{r['seconds']:.1f}" for r in rs) for name, rs in runs.items()
    )
    out = [
        f"Machine: {common.machine()}.",
        "",
        f"{builds['pages']} RealTime QA dev pages (gold articles and distractors), "
        f"{builds['repeats']} interleaved round(s); medians. Run: `{builds['command']}`.",
        "",
        common.table(
            [
                "build",
                "chunks",
                "time",
                "chunks/s",
                "time ÷ floor",
                "speed vs naive (same articles)",
                "CPU (vs naive)",
                "peak RSS",
            ],
            rows,
        ),
        "",
        f"Every round, in seconds: {spread}.",
    ]
    if scale:
        out += ["", _render_scale(scale)]
    if noop:
        r = noop["runs"]
        out += [
            "",
            f"No-op rebuild of the whole distractor index ({r[0]['articles']} articles): "
            f"{common.median([x['seconds'] for x in r]):.2f} s of work (median of {len(r)}), "
            f"model loaded: {any(x['model_loaded'] for x in r)}, chunks written: "
            f"{sum(x['chunks_written'] for x in r)}; the whole `newsbot index` process: "
            f"{common.median([x['process_wall'] for x in r]):.2f} s wall.",
        ]
    return "\n".join(out)


def _cpu(runs: list[dict[str, Any]]) -> float | None:
    """The median CPU seconds of a step's runs (all its threads), None for older records."""
    values = [r["cpu"] for r in runs if "cpu" in r]
    return common.median(values) if values else None


def _cpu_cell(cpu: float | None, naive: float | None) -> str:
    """CPU seconds and the naive build's CPU ÷ this one's: the work done, which a busy machine
    changes less than the wall clock (the other jobs take turns on the cores, not work)."""
    if cpu is None:
        return "-"
    return f"{cpu:.1f} s ({naive / cpu:.2f}×)" if naive else f"{cpu:.1f} s"


def _render_scale(scale: dict[str, Any]) -> str:
    before, big, after = scale["runs"]
    small_ms = common.median(
        [1000 * r["seconds"] / r["chunks"] for r in (before, after) if r["chunks"]]
    )
    big_ms = 1000 * big["seconds"] / big["chunks"]
    cpu = ""
    if all("cpu" in r for r in scale["runs"]):
        small_cpu = common.median(
            [1000 * r["cpu"] / r["chunks"] for r in (before, after) if r["chunks"]]
        )
        big_cpu = 1000 * big["cpu"] / big["chunks"]
        cpu = (
            f" CPU per chunk: {big_cpu:.1f} ms large, {small_cpu:.1f} ms small "
            f"({big_cpu / small_cpu:.2f}×)."
        )
    return (
        f"Scale, default build: {scale['large']} pages ({big['chunks']:,} chunks) in "
        f"{big['seconds']:.0f} s, {big_ms:.1f} ms per chunk, peak RSS {big['rss_mb']:.0f} MiB; "
        f"{scale['pages']} pages ({before['chunks']} chunks) just before and after it: "
        f"{before['seconds']:.1f} s and {after['seconds']:.1f} s, {small_ms:.1f} ms per chunk. "
        f"Per chunk, the large build took {big_ms / small_ms:.2f}× the small one's time.{cpu}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("corpus", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--pages", type=int, default=150, help="dev pages to build (default 150)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument(
        "--quick", action="store_true", help="8 pages, one round, the default only, no no-op run"
    )
    parser.add_argument(
        "--eval-cache",
        type=Path,
        default=None,
        help="where `newsbot eval` cached its indexes (default: data dir)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        metavar="N",
        help="also build N pages with the default backend (the dev split has about 1,900)",
    )
    parser.add_argument(
        "--backends",
        help="comma-separated backends to build with (default: auto, then the others)",
    )
    parser.add_argument(
        "--no-noop", action="store_true", help="skip the no-op rebuild of the eval's index"
    )
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if args.step:
        steps = {
            "floor": lambda: step_floor(args.corpus),
            "naive": lambda: step_naive(args.corpus, args.data),
            "ours": lambda: step_ours(args.corpus, args.data, args.backend),
            "noop": lambda: step_noop(args.corpus, args.data, args.backend),
        }
        common.emit(steps[args.step]())
        return
    pages, repeats = (8, 1) if args.quick else (args.pages, args.repeats)
    chosen = tuple(args.backends.split(",")) if args.backends else backends()
    builds = measure_builds(pages, repeats, ("auto",) if args.quick else chosen)
    builds["command"] = " ".join(["python -m benchmarks.build", *sys.argv[1:]])
    scale = measure_scale(pages, args.scale) if args.scale and not args.quick else None
    noop = None
    if not args.quick and not args.no_noop:
        from bot.settings import Settings

        cache = args.eval_cache or Settings().data_dir / "eval-cache"
        noop = measure_noop(cache, 3)
    markdown = render(builds, noop, scale)
    print(markdown)
    if args.write:
        common.write_section("build", markdown)


if __name__ == "__main__":
    main()
