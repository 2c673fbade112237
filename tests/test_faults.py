"""Faults: a real `newsbot index` killed with SIGKILL mid-rebuild, and askers during a rebuild.

The build pauses at a named point when run by tests/pausing.py with NEWSBOT_TEST_PAUSE_AT (see
``index.build.CHECKPOINTS``); the test waits for it to say so on stderr, then SIGKILLs it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.answering.service import AnswerService, build_embedder, build_service, status_of
from bot.settings import Settings
from index.build import build_index
from index.embedding import Embedder
from index.store import Store
from tests.conftest import settings_for
from tests.pausing import PAUSE_ENV, SCRIPT

pytestmark = pytest.mark.slow

TOPICS = {
    "volcano": (
        "Volcano erupts near Reykjavik",
        "A volcano erupted on the Reykjanes peninsula, sending lava toward the town of Grindavik. "
        "Officials evacuated residents and closed the Blue Lagoon spa. ",
    ),
    "wheat": (
        "Wheat harvest hit by drought in Kansas",
        "Farmers in Kansas reported the smallest wheat harvest in a decade after months of "
        "drought. Grain prices rose sharply on the Chicago exchange. ",
    ),
    "chess": (
        "Teenager wins world chess championship",
        "A seventeen-year-old grandmaster from Chennai won the world chess championship after "
        "a tense tiebreak of rapid games. ",
    ),
    "bridge": (
        "City opens new suspension bridge over the river",
        "The new suspension bridge over the Danube opened to traffic on Monday, cutting commutes "
        "across the city by twenty minutes. ",
    ),
}


def _write(folder: Path, name: str, extra: str = "") -> None:
    title, body = TOPICS[name]
    (folder / f"{name}.txt").write_text(f"{title}\n\n{body * 12}{extra}\n", encoding="utf-8")


@pytest.fixture(scope="module")
def default_embedder() -> Embedder:
    """The embedder the `newsbot index` subprocess uses (the default settings)."""
    return build_embedder(Settings(_env_file=None))


def _env(settings: Settings, pause: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NEWSBOT_DATA_DIR=str(settings.data_dir),
        NEWSBOT_ARTICLE_DIRS=",".join(str(p) for p in settings.article_dirs),
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    if settings.chroma_host:
        env.update(
            CHROMA_HOST=settings.chroma_host,
            CHROMA_PORT=str(settings.chroma_port),
            NEWSBOT_COLLECTION_PREFIX=settings.collection_prefix,
        )
    env.pop(PAUSE_ENV, None)
    if pause:
        env[PAUSE_ENV] = pause
    return env


def _newsbot(*args: str) -> list[str]:
    return [sys.executable, str(SCRIPT), *args]


def _index(settings: Settings, *extra: str) -> None:
    """Run `newsbot index` in another process to the end; it must succeed."""
    done = subprocess.run(
        _newsbot("index", *extra),
        env=_env(settings, None),
        cwd=settings.data_dir.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _kill_at(settings: Settings, point: str, *extra: str) -> None:
    """Run `newsbot index` until it reaches ``point``, then SIGKILL it."""
    process = subprocess.Popen(
        _newsbot("index", *extra),
        env=_env(settings, point),
        cwd=settings.data_dir.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 180
    seen: list[str] = []
    try:
        for line in process.stderr:
            seen.append(line)
            if line.startswith(f"newsbot-paused-at {point}"):
                break
            if time.monotonic() > deadline:
                break
        else:
            pytest.fail(f"the build ended before reaching {point!r}: {''.join(seen)[-2000:]}")
        assert any(s.startswith("newsbot-paused-at") for s in seen), "".join(seen)[-2000:]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _cited(service: AnswerService, question: str) -> set[str]:
    answer = service.ask(question)
    return {c.title for c in answer.citations}


def _indexed(settings: Settings, embedder: Embedder, *names: str) -> Path:
    """The article folder, holding the named stories, indexed; returns the folder."""
    folder = settings.article_dirs[0]
    folder.mkdir()
    for name in names:
        _write(folder, name)
    build_index(settings, embedder=embedder)
    return folder


def _store(settings: Settings) -> Store:
    return Store.open(settings)


def _restart() -> None:
    """Forget this process's open embedded stores, as a restarted bot would.

    Chroma's embedded store caches its vector index per process; another process writing to it
    (here, the killed build) is only seen after a restart, which is why the embedded store is
    single-process and a Chroma server is needed for several processes (docs/deploy.md)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def _assert_consistent(settings: Settings, embedder: Embedder, expected: set[str]) -> None:
    """A fresh service answers, every indexed article has all its chunks, and no others exist."""
    store = _store(settings)
    meta = store.meta()
    assert meta is not None
    manifest = store.manifest(meta.generation)
    assert {r.title for r in manifest.values()} == {TOPICS[n][0] for n in expected}
    per_article: dict[str, int] = {}
    for _cid, aid, _h in store.chunk_keys(meta.generation):
        per_article[aid] = per_article.get(aid, 0) + 1
    for record in manifest.values():
        assert per_article.get(record.id, 0) >= record.chunks, record.title
    service = build_service(settings, store=store, embedder=embedder)
    for name in expected:
        title = TOPICS[name][0]
        assert title in _cited(service, title), name


@pytest.mark.parametrize(
    ("point", "full", "store_kind"),
    [
        ("batch", False, "embedded"),
        ("removed", False, "embedded"),
        ("publish", False, "embedded"),
        ("batch", True, "embedded"),
        ("publish", True, "embedded"),
        ("batch", False, "server"),
        ("publish", True, "server"),
    ],
)
def test_killed_rebuild_keeps_old_index_and_next_build_completes_it(
    tmp_path: Path,
    default_embedder: Embedder,
    point: str,
    full: bool,
    store_kind: str,
    request: pytest.FixtureRequest,
) -> None:
    settings = settings_for(store_kind, tmp_path, request)
    folder = _indexed(settings, default_embedder, "volcano", "wheat", "chess")
    before = _store(settings).meta()
    assert before is not None

    # Change the folder: one article updated, one removed, one added.
    _write(folder, "volcano", "A second eruption followed on Tuesday.")
    (folder / "wheat.txt").unlink()
    _write(folder, "bridge")
    _kill_at(settings, point, "--prune", *(["--full"] if full else []))  # 1 of 3 removed
    _restart()

    after_kill = _store(settings).meta()
    assert after_kill is not None
    assert after_kill.revision == before.revision, "a killed build must not publish"
    # The previous index still answers; every article it holds is whole.
    store = _store(settings)
    service = build_service(settings, store=store, embedder=default_embedder)
    assert TOPICS["chess"][0] in _cited(service, "Who won the world chess championship?")
    assert TOPICS["volcano"][0] in _cited(service, "Where did the volcano erupt?")
    status = status_of(settings, store)
    assert status["articles"] >= 2

    report = build_index(settings, prune=True, embedder=default_embedder)
    assert report.problems == []
    _assert_consistent(settings, default_embedder, {"volcano", "chess", "bridge"})
    final = _store(settings).meta()
    assert final is not None and final.revision > before.revision and not final.dirty
    # The removed article is never cited after the rebuild completes.
    service = build_service(settings, store=_store(settings), embedder=default_embedder)
    assert TOPICS["wheat"][0] not in _cited(service, "How was the wheat harvest in Kansas?")


def test_askers_during_a_rebuild_see_whole_articles_only(
    tmp_path: Path, default_embedder: Embedder, store_kind: str, request: pytest.FixtureRequest
) -> None:
    settings = settings_for(store_kind, tmp_path, request)
    folder = _indexed(settings, default_embedder, "volcano", "wheat", "chess")
    service = build_service(settings, store=_store(settings), embedder=default_embedder)
    _write(folder, "volcano", "A second eruption followed on Tuesday.")
    (folder / "wheat.txt").unlink()
    _write(folder, "bridge")

    done = threading.Event()
    errors: list[BaseException] = []
    citations: list[set[str]] = []
    questions = ["Where did the volcano erupt?", "How was the wheat harvest?", "Who won at chess?"]

    def asker(question: str) -> None:
        while not done.is_set():
            try:
                answer = service.ask(question)
                for c in answer.citations:
                    assert c.quote.strip(), "a citation without text"
                citations.append({c.title for c in answer.citations})
            except BaseException as error:  # collected and reported below
                errors.append(error)
                return

    threads = [threading.Thread(target=asker, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    other = subprocess.Popen(  # a second process asking while the rebuild runs
        _newsbot("ask", "--json", "Where did the volcano erupt?"),
        env=_env(settings, None),
        cwd=settings.data_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        build_index(settings, prune=True, embedder=default_embedder)  # 1 of 3 removed
    finally:
        out, err = other.communicate(timeout=180)
        done.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors
    assert other.returncode == 0, err[-2000:]
    assert "Reykjavik" in out
    assert citations, "no asker finished a question"
    # Once the rebuild is published, the removed article is never cited again.
    after = [_cited(service, q) for q in questions]
    assert all(TOPICS["wheat"][0] not in titles for titles in after)
    assert TOPICS["bridge"][0] in _cited(service, "Which bridge opened over the Danube?")


def test_a_running_service_sees_what_another_process_indexed(
    tmp_path: Path, default_embedder: Embedder, store_kind: str, request: pytest.FixtureRequest
) -> None:
    """`newsbot watch` or `newsbot index` in one process, the bot in another: no restart needed."""
    settings = settings_for(store_kind, tmp_path, request)
    folder = _indexed(settings, default_embedder, "volcano", "wheat")
    service = build_service(settings, store=_store(settings), embedder=default_embedder)
    assert TOPICS["volcano"][0] in _cited(service, "Where did the volcano erupt?")

    _write(folder, "chess")
    _write(folder, "volcano", "A second eruption followed on Tuesday.")
    (folder / "wheat.txt").unlink()
    _index(settings, "--prune")  # 1 of 2 removed

    question = "Who won the world chess championship?"
    assert TOPICS["chess"][0] in _cited(service, question)
    dense = [h for h in service.searcher.search(question).hits if h.dense_rank is not None]
    assert dense and dense[0].meta["title"] == TOPICS["chess"][0], "vector search is stale"
    changed = service.ask("When did the second eruption follow?")
    assert any("second eruption" in c.quote for c in changed.citations)
    assert TOPICS["wheat"][0] not in _cited(service, "How was the wheat harvest in Kansas?")
