"""Load: concurrent askers through the answer service for a minute, with a rebuild midway.

    python -m benchmarks.load                  # dev gold articles, 50 askers, 60 s
    python -m benchmarks.load --write
    python -m benchmarks.load --quick          # seed article, 5 askers, 5 s (test suite)

A load test, not a timed comparison. The articles are indexed once; then, for each way of
rebuilding, a copy of that index is loaded in a fresh process where ``--askers`` threads (a
ThreadPoolExecutor, as the Discord bot's ``asyncio.to_thread``) call ``AnswerService.ask`` in a
loop for ``--seconds``. Halfway through, a few new article files (and one changed article) are put
into the article folder and the index is rebuilt incrementally, either

- ``process``: by ``newsbot index`` in a separate process, the setup the README describes for the
  embedded store (one writing process, readers in another), or
- ``thread``: by ``index.build.build_index`` on a thread of the askers' process, sharing its
  embedder (the Discord bot's ``/reindex``).

Every answer's citations (and, when nothing was found, its closest passages) are checked after the
run: each must point to a version of an article that was indexed before the rebuild or after it,
with its quote equal to that version's text at ``[start:end]``, and every [n] marker must resolve.
A violation counts as an error, like an exception from ``ask``.

Corpus: the gold articles of the RealTime QA dev split (../shared/eval/realtimeqa/dev), five of
them held back and added during the run, with the answerable questions as the askers' questions;
``--quick`` uses the seed article and two small built-in articles instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks import common

MODULE = "benchmarks.load"
MODES = ("process", "thread")
STAGES = ("snapshot", "embed", "dense", "bm25", "fuse", "answer")
LATE_PAGES = 5
UPDATE_NOTE = (
    "Update: this article was revised after publication, while newsbot's load test was running."
)
# --quick: two small articles added during the run, with a question each.
QUICK_LATE = [
    (
        "Volcano erupts near Reykjavik",
        "A volcano erupted on the Reykjanes peninsula, sending lava toward the town of "
        "Grindavik. Officials evacuated residents and closed the Blue Lagoon spa. ",
        "Where did the volcano erupt near Reykjavik?",
    ),
    (
        "Teenager wins world chess championship",
        "A seventeen-year-old grandmaster from Chennai won the world chess championship after "
        "a tense tiebreak of rapid games. ",
        "Who won the world chess championship?",
    ),
]
_MARKER = re.compile(r"\[(\d+)\]")


# -- the measured step: askers and a rebuild, in one fresh process -------------------------------


def _settings(root: Path) -> Any:
    from bot.settings import Settings

    return Settings(_env_file=None, data_dir=root / "data", article_dirs=[root / "articles"])


@dataclass
class _Version:
    content_hash: str
    text: str


@dataclass
class _Record:
    started: float  # seconds since the load began
    latency: float
    question: int
    found: bool = False
    answer: str = ""
    citations: list[tuple[int, str, str, int, int, str]] = field(default_factory=list)
    passages: list[tuple[int, str, str, int, int, str]] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def _state(store: Any) -> dict[str, _Version]:
    """Every indexed article's live version: content hash and text (what citations point into)."""
    meta = store.meta()
    manifest = store.manifest(meta.generation)
    texts = store.article_texts(meta.generation, list(manifest))
    return {i: _Version(r.content_hash, texts.get(i, "")) for i, r in manifest.items()}


def _place_late_files(root: Path) -> list[str]:
    """Copy the prepared new and changed files into the article folder, each atomically."""
    names = []
    for file in sorted((root / "late").iterdir()):
        target = root / "articles" / file.name
        partial = target.with_name(f".{file.name}.partial")
        shutil.copyfile(file, partial)
        os.replace(partial, target)
        names.append(file.name)
    return names


class _Rebuild:
    """Places the late files and rebuilds the index at ``at`` seconds, on a thread."""

    def __init__(self, root: Path, mode: str, settings: Any, embedder: Any) -> None:
        self.root, self.mode, self.settings, self.embedder = root, mode, settings, embedder
        self.started: float | None = None
        self.ended: float | None = None
        self.report: dict[str, Any] = {}
        self.error: str | None = None
        self.done = threading.Event()

    def run(self, origin: float, at: float) -> None:
        try:
            time.sleep(max(0.0, origin + at - time.perf_counter()))
            self.started = time.perf_counter() - origin
            self.report["files"] = _place_late_files(self.root)
            if self.mode == "thread":
                from index.build import build_index

                self.report.update(build_index(self.settings, embedder=self.embedder).as_dict())
            else:
                self._subprocess()
        except BaseException as error:  # reported, never raised from a thread
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self.ended = time.perf_counter() - origin
            self.done.set()

    def _subprocess(self) -> None:
        env = common.offline_env(
            NEWSBOT_DATA_DIR=str(self.root / "data"),
            NEWSBOT_ARTICLE_DIRS=str(self.root / "articles"),
        )
        out, err = self.root / "index.out", self.root / "index.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot.frontends.cli", "index", "--json"],
                cwd=self.root,  # no .env from the checkout
                env=env,
                stdout=stdout,
                stderr=stderr,
                text=True,
            )
            peak = 0.0
            while proc.poll() is None:  # its peak RSS, read while it runs
                peak = max(peak, common.hwm_rss_mb(proc.pid) or 0.0)
                time.sleep(0.1)
        self.report["writer_rss_mb"] = peak or None
        if proc.returncode != 0:
            raise RuntimeError(f"newsbot index exited {proc.returncode}: {err.read_text()[-1500:]}")
        self.report.update(json.loads(out.read_text().strip().splitlines()[-1]))


def _citations(items: list[Any]) -> list[tuple[int, str, str, int, int, str]]:
    return [(c.n, c.article_id, c.chunk_id, c.start, c.end, c.quote) for c in items]


def _violations(record: _Record, states: list[dict[str, _Version]]) -> list[str]:
    """What is wrong with an answer's citations: each must be an exact span of an article version
    indexed before or after the rebuild (never a half-built one), and every [n] must resolve."""
    problems = []
    for n, article_id, chunk_id, start, end, quote in record.citations + record.passages:
        head, _, rest = chunk_id.rpartition(":")[0].rpartition(":")
        version_ok = False
        for state in states:
            version = state.get(article_id)
            if version is None or head != article_id or not rest:
                continue
            if not version.content_hash.startswith(rest):
                continue
            if version.text[start:end] == quote:
                version_ok = True
                break
        if not version_ok:
            problems.append(f"[{n}] {chunk_id} is not an indexed version's exact span")
    if record.found:
        numbers = {c[0] for c in record.citations}
        text = record.answer
        for citation in record.citations:  # a quote may itself contain "[3]"
            text = text.replace(citation[5].strip(), " ")
        markers = {int(m) for m in _MARKER.findall(text)}
        if not record.citations or not markers <= numbers:
            problems.append(f"markers {sorted(markers)} do not match citations {sorted(numbers)}")
    return problems


def step_load(root: Path, mode: str, askers: int, seconds: float) -> dict[str, Any]:
    from bot.answering.service import build_embedder, build_service

    questions: list[dict[str, Any]] = json.loads((root / "questions.json").read_text())
    settings = _settings(root)
    embedder = build_embedder(settings)
    service = build_service(settings, embedder=embedder)

    def ask(index: int) -> Any:
        q = questions[index]
        today = date.fromisoformat(q["date"]) if q.get("date") else None
        return service.ask(q["question"], today=today)

    clock = time.perf_counter()
    ask(0)  # loads the model and the BM25 snapshot
    first = time.perf_counter() - clock
    # One asker, every question once: the reference for what concurrency adds.
    sequential = []
    clock = time.perf_counter()
    for index in range(len(questions)):
        started = time.perf_counter()
        ask(index)
        sequential.append(time.perf_counter() - started)
    sequential_rate = len(questions) / (time.perf_counter() - clock)
    before = _state(service.searcher.store)

    rebuild = _Rebuild(root, mode, settings, embedder)
    records: list[_Record] = []
    tail = max(1.0, seconds / 10)  # keep asking this long after a rebuild that ends late
    cpu_start, load_start = os.times(), os.getloadavg()[0]
    origin = time.perf_counter()
    deadline = origin + seconds
    builder = threading.Thread(target=rebuild.run, args=(origin, seconds / 2), daemon=True)
    builder.start()

    def keep_asking() -> bool:
        now = time.perf_counter()
        if now < deadline:
            return True
        return not rebuild.done.is_set() or (
            rebuild.ended is not None and now - origin < rebuild.ended + tail
        )

    def asker(number: int) -> None:
        index = number
        while keep_asking():
            question = index % len(questions)
            index += askers
            started = time.perf_counter()
            try:
                answer = ask(question)
            except Exception as error:  # counted and classified, the load goes on
                records.append(
                    _Record(
                        started - origin,
                        time.perf_counter() - started,
                        question,
                        error=f"{type(error).__name__}: {str(error)[:160]}",
                    )
                )
                continue
            records.append(
                _Record(
                    started - origin,
                    time.perf_counter() - started,
                    question,
                    found=answer.found,
                    answer=answer.answer,
                    citations=_citations(answer.citations),
                    passages=_citations(answer.passages),
                    stages={s: answer.timings.get(s, 0.0) for s in STAGES},
                )
            )

    with ThreadPoolExecutor(max_workers=askers, thread_name_prefix="asker") as pool:
        for future in [pool.submit(asker, n) for n in range(askers)]:
            future.result()
    elapsed = time.perf_counter() - origin
    cpu_end, load_end = os.times(), os.getloadavg()[0]
    builder.join()
    result_rss = common.hwm_rss_mb()

    after = _state(service.searcher.store)
    return _summarise(
        records,
        questions,
        before,
        after,
        rebuild,
        {
            "mode": mode,
            "askers": askers,
            "seconds": seconds,
            "elapsed": elapsed,
            "first_answer": first,
            "sequential_rate": sequential_rate,
            "sequential_p50": common.percentile(sequential, 50) * 1000,
            "cpu_askers": (cpu_end.user + cpu_end.system - cpu_start.user - cpu_start.system)
            / elapsed,
            "cpu_writer": (
                cpu_end.children_user
                + cpu_end.children_system
                - cpu_start.children_user
                - cpu_start.children_system
            ),
            "load_start": load_start,
            "load_end": load_end,
            "writer_rss_mb": rebuild.report.get("writer_rss_mb"),
            "cpus": os.cpu_count(),
            "askers_rss_mb": result_rss or common.peak_rss_mb(),
        },
    )


def _summarise(
    records: list[_Record],
    questions: list[dict[str, Any]],
    before: dict[str, _Version],
    after: dict[str, _Version],
    rebuild: _Rebuild,
    result: dict[str, Any],
) -> dict[str, Any]:
    errors: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for record in records:
        problems = [record.error] if record.error else _violations(record, [before, after])
        for problem in problems:
            kind = "citation violation" if not record.error else problem.split(":", 1)[0]
            errors[kind] += 1
            examples.setdefault(kind, problem)
    if rebuild.error:
        errors["rebuild failed"] += 1
        examples["rebuild failed"] = rebuild.error
    new_ids = set(after) - set(before)
    changed = {i for i in before if i in after and before[i].content_hash != after[i].content_hash}
    late_expected = sum(1 for q in questions if q["late"])
    start = rebuild.started if rebuild.started is not None else float("inf")
    end = rebuild.ended if rebuild.ended is not None else float("inf")
    answered = [r for r in records if r.error is None]
    phases = {
        "before": [r for r in records if r.started < start],
        "during": [r for r in records if start <= r.started < end],
        "after": [r for r in records if r.started >= end],
    }
    late_after = [r for r in phases["after"] if r.error is None and questions[r.question]["late"]]
    fresh = [r for r in late_after if r.found and any(c[1] in new_ids for c in r.citations)]
    latencies = [r.latency * 1000 for r in records]
    return {
        **result,
        "questions": len(questions),
        "answers": len(answered),
        "throughput": len(answered) / result["elapsed"],
        "p50": common.percentile(latencies, 50),
        "p95": common.percentile(latencies, 95),
        "p99": common.percentile(latencies, 99),
        "max": max(latencies, default=float("nan")),
        "phases": {
            name: {
                "n": len(rows),
                "p50": common.percentile([r.latency * 1000 for r in rows], 50),
                "p95": common.percentile([r.latency * 1000 for r in rows], 95),
                "not_found": sum(1 for r in rows if r.error is None and not r.found),
            }
            for name, rows in phases.items()
        },
        "stages_p50": {
            s: common.percentile([r.stages[s] * 1000 for r in answered], 50) for s in STAGES
        },
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "error_examples": examples,
        "not_found": sum(1 for r in answered if not r.found),
        "citations_checked": sum(len(r.citations) + len(r.passages) for r in answered),
        "articles_before": len(before),
        "articles_after": len(after),
        "articles_new": len(new_ids),
        "articles_changed": len(changed),
        "rebuild_start": rebuild.started,
        "rebuild_end": rebuild.ended,
        "rebuild_report": rebuild.report,
        "late_questions": late_expected,
        "late_after": len(late_after),
        "late_fresh": len(fresh),
    }


def step_build(root: Path) -> dict[str, Any]:
    from index.build import build_index

    report = build_index(_settings(root))
    return {"articles": report.articles, "chunks": report.chunks_written, "seconds": report.seconds}


# -- the orchestrator ---------------------------------------------------------------------------


def _page(title: str, body: str) -> Any:
    from bot.evaluation.dataset import Page

    return Page(url="", title=title, text=body, published=None)


def _prepare_quick(root: Path) -> str:
    from bot.evaluation.dataset import write_records

    seed = next(iter(sorted(common.SEEDS.iterdir())))
    shutil.copy(seed, root / "articles" / seed.name)
    text = seed.read_text(encoding="utf-8").rstrip()
    (root / "late" / seed.name).write_text(f"{text}\n\n{UPDATE_NOTE}\n", encoding="utf-8")
    questions = [{"question": q, "date": None, "late": False} for q in common.SEED_QUESTIONS]
    for number, (title, body, question) in enumerate(QUICK_LATE):
        write_records([_page(title, body * 12)], root / "late" / f"late-{number}.jsonl")
        questions.append({"question": question, "date": None, "late": True})
    (root / "questions.json").write_text(json.dumps(questions))
    return "seed article"


def _prepare_dev(root: Path) -> str:
    """Dev gold articles: all but LATE_PAGES indexed at first; those and one changed article
    are placed in the folder during the run."""
    from bot.evaluation.dataset import has_article_text, load_dataset, write_records
    from bot.evaluation.run import write_corpus

    corpus = load_dataset(common.SHARED_DEV)
    answerable = corpus.answerable()
    late: list[str] = []
    step = len(answerable) / LATE_PAGES
    for number in range(LATE_PAGES):
        for url in corpus.gold_page_urls(answerable[int(step * number + step / 2)]):
            if url not in late and len(late) < LATE_PAGES:
                late.append(url)
    initial = [p for p in corpus.pages if p.url not in late]
    write_corpus(initial, root / "articles")
    changed = next(i for i, p in enumerate(initial) if has_article_text(p.text))
    initial[changed] = replace(initial[changed], text=f"{initial[changed].text}\n\n{UPDATE_NOTE}")
    staging = common.scratch("load-staging")
    write_corpus(initial, staging)
    for file in staging.iterdir():  # only the corpus file that holds the changed article
        if file.read_bytes() != (root / "articles" / file.name).read_bytes():
            shutil.copy(file, root / "late" / file.name)
    shutil.rmtree(staging)
    pages = corpus.page_map()
    for number, url in enumerate(late):
        write_records([pages[url]], root / "late" / f"late-{number}.jsonl")
    questions = [
        {
            "question": q.sentence,
            "date": q.date.isoformat(),
            "late": set(corpus.gold_page_urls(q)) <= set(late),
        }
        for q in answerable
    ]
    (root / "questions.json").write_text(json.dumps(questions))
    return f"RealTime QA dev gold articles ({len(initial)} + {len(late)} added)"


def measure(quick: bool, askers: int, seconds: float, modes: list[str]) -> dict[str, Any]:
    machine = common.machine()  # before the load, for its load average
    base = common.scratch("load")
    for folder in ("articles", "late"):
        (base / folder).mkdir()
    label = _prepare_quick(base) if quick else _prepare_dev(base)
    built = common.run_step(MODULE, "--step", "build", str(base))
    late = sum(1 for f in (base / "late").iterdir() if f.name.startswith("late-"))
    runs = []
    for mode in modes:
        root = common.scratch(f"load-{mode}")
        shutil.copytree(base, root, dirs_exist_ok=True)
        result = common.run_step(
            MODULE,
            "--step",
            "load",
            str(root),
            "--mode",
            mode,
            "--askers",
            str(askers),
            "--seconds",
            str(seconds),
        )
        if (result["articles_new"], result["articles_changed"]) != (late, 1) or result[
            "articles_after"
        ] != built["articles"] + late:
            result["errors"] += 1
            result["error_kinds"]["rebuild incomplete"] = 1
            result["error_examples"]["rebuild incomplete"] = (
                f"{result['articles_new']} of {late} new and {result['articles_changed']} of 1 "
                f"changed articles indexed; {result['articles_after']} articles in all"
            )
        runs.append(result)
        shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)
    return {
        "corpus": label,
        "articles": built["articles"],
        "chunks": built["chunks"],
        "late_files": late,
        "quick": quick,
        "machine": machine,
        "runs": runs,
    }


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value == value else "–"  # NaN: no answers in that phase


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f} s"


def _errors(run: dict[str, Any]) -> str:
    if not run["errors"]:
        return "none"
    return "; ".join(
        f"{kind} ×{count} (e.g. {run['error_examples'].get(kind, '')[:120]})"
        for kind, count in sorted(run["error_kinds"].items())
    )


def render(result: dict[str, Any], askers: int, seconds: float) -> str:
    runs = result["runs"]
    label = {
        "process": "`newsbot index` in a separate process",
        "thread": "`build_index` on a thread of the askers' process",
    }
    main_rows, rebuild_rows = [], []
    for r in runs:
        main_rows.append(
            [
                label[r["mode"]],
                f"{r['answers']:,} in {r['elapsed']:.0f} s",
                f"**{r['throughput']:.1f}**",
                _ms(r["p50"]),
                _ms(r["p95"]),
                _ms(r["p99"]),
                f"**{r['errors']}**",
                f"{r['not_found']:,} ({r['not_found'] / max(1, r['answers']):.0%})",
                f"{r['askers_rss_mb']:.0f} MiB"
                + (f" (writer {r['writer_rss_mb']:.0f} MiB)" if r["writer_rss_mb"] else ""),
            ]
        )
        phases = r["phases"]
        rebuild = r["rebuild_report"]
        rebuild_rows.append(
            [
                r["mode"],
                f"{_seconds(r['rebuild_start'])}–{_seconds(r['rebuild_end'])} "
                f"({rebuild.get('added', 0)} added, {rebuild.get('updated', 0)} changed, "
                f"{rebuild.get('chunks_written', 0)} chunks)",
                " / ".join(
                    f"{_ms(phases[p]['p50'])} ({phases[p]['n']:,})"
                    for p in ("before", "during", "after")
                ),
                " / ".join(
                    f"{phases[p]['not_found'] / max(1, phases[p]['n']):.0%}"
                    for p in ("before", "during", "after")
                ),
                " / ".join(f"{r['stages_p50'][s]:.1f}" for s in STAGES),
                f"{r['late_fresh']} of {r['late_after']}",
                f"{r['cpu_askers']:.2f}"
                + (f" + writer {r['cpu_writer']:.0f} s" if r["mode"] == "process" else ""),
                f"{r['load_start']:.1f} → {r['load_end']:.1f}",
            ]
        )
    errors = [f"- {r['mode']}: {_errors(r)}" for r in runs]
    sequential = ", ".join(
        f"{r['mode']} run {r['sequential_rate']:.1f} answers/s, p50 {r['sequential_p50']:.0f} ms"
        for r in runs
    )
    checked = sum(r["citations_checked"] for r in runs)
    quick = " --quick" if result["quick"] else ""
    return "\n".join(
        [
            f"Machine: {result['machine']}.",
            "",
            f"Run: `python -m benchmarks.load{quick} --write`. {askers} askers (threads of a "
            f"ThreadPoolExecutor calling `AnswerService.ask`, extractive answerer) for "
            f"{seconds:.0f} s, each run in a fresh process on its own copy of the index: "
            f"{result['corpus']}, {result['articles']:,} articles and {result['chunks']:,} chunks "
            f"at the start, {runs[0]['questions'] if runs else 0} questions asked in turn. At "
            f"{seconds / 2:.0f} s, {result['late_files']} new article files and one changed "
            "article are placed in the article folder and the index is rebuilt incrementally. "
            "Latency is the wall time of one `ask` call.",
            "",
            common.table(
                [
                    "rebuild by",
                    "answers",
                    "answers/s",
                    "p50",
                    "p95",
                    "p99",
                    "errors",
                    "found=False",
                    "peak RSS",
                ],
                main_rows,
            ),
            "",
            common.table(
                [
                    "rebuild",
                    "rebuild ran (s into the run)",
                    "p50 before / during / after the rebuild (answers)",
                    "found=False before / during / after",
                    "p50 snapshot / embed / dense / BM25 / fuse / answer (ms)",
                    "questions on new articles answered from them after the rebuild",
                    "CPU used (cores)",
                    "load average",
                ],
                rebuild_rows,
            ),
            "",
            f"Errors (exceptions from `ask`, and citations that are not an exact span of an "
            f"article version indexed before or after the rebuild; {checked:,} citations "
            "and passages checked):",
            *errors,
            "",
            f"One asker in the same process, every question once before the load: {sequential}.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--askers", type=int, default=None, help="concurrent askers (50)")
    parser.add_argument("--seconds", type=float, default=None, help="how long to ask (60)")
    parser.add_argument(
        "--rebuild",
        choices=[*MODES, "both"],
        default="both",
        help="how the index is rebuilt midway: a separate process, a thread, or both (default)",
    )
    parser.add_argument("--quick", action="store_true", help="seed article, 5 askers, 5 s")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    askers = args.askers or (5 if args.quick else 50)
    seconds = args.seconds or (5.0 if args.quick else 60.0)
    if args.step == "build":
        common.emit(step_build(args.path))
        return
    if args.step == "load":
        common.emit(step_load(args.path, args.mode, askers, seconds))
        return
    if not args.quick and not common.SHARED_DEV.is_dir():
        print(
            f"skipped: {common.SHARED_DEV} is missing; the load test reads the RealTime QA dev "
            "split there (or run it with --quick, on the seed article)."
        )
        return
    modes = list(MODES) if args.rebuild == "both" else [args.rebuild]
    result = measure(args.quick, askers, seconds, modes)
    markdown = render(result, askers, seconds)
    print(markdown)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.write:
        common.write_section("load", markdown)


if __name__ == "__main__":
    main()
