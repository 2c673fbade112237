"""The answers the Discord bot gave and the 👍 / 👎 votes on them, in a SQLite file.

Kept in the data directory (``feedback.sqlite3``) so bad answers can be found later with
``newsbot feedback``. The same records give a thread its conversation so far (for follow-up
questions) and ``/sources`` the passages behind the last answer, also after a restart.

Each call opens its own short connection, so the store can be used from any thread.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from bot.answering.answer import Answer, Citation
from bot.answering.followup import HISTORY_TURNS, Turn
from bot.sqlite_file import transaction

log = logging.getLogger(__name__)

FILENAME = "feedback.sqlite3"
UP, DOWN = 1, -1
VOTES = {"👍": UP, "👎": DOWN}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    created TEXT NOT NULL,
    guild_id INTEGER,
    channel_id INTEGER NOT NULL,      -- where the conversation goes on (the thread, or a DM)
    parent_id INTEGER,                -- the channel the question was asked in, when different
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    found INTEGER NOT NULL,
    model TEXT NOT NULL,
    query TEXT,
    sources TEXT NOT NULL             -- JSON list of citations (or the closest passages)
);
CREATE INDEX IF NOT EXISTS answers_channel ON answers (channel_id, id);
CREATE INDEX IF NOT EXISTS answers_parent ON answers (parent_id, id);
CREATE TABLE IF NOT EXISTS answer_messages (
    message_id INTEGER PRIMARY KEY,
    answer_id INTEGER NOT NULL REFERENCES answers (id)
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id INTEGER NOT NULL REFERENCES answers (id),
    user_id INTEGER NOT NULL,
    vote INTEGER NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
"""


@dataclass(frozen=True)
class StoredAnswer:
    id: int
    created: str
    question: str
    answer: str
    found: bool
    model: str
    sources: list[Citation]
    query: str | None = None  # the standalone query searched, when a follow-up was rewritten


@dataclass(frozen=True)
class FeedbackRow:
    answer: StoredAnswer
    up: int
    down: int

    def as_dict(self) -> dict[str, Any]:
        a = self.answer
        return {
            "answer_id": a.id,
            "created": a.created,
            "question": a.question,
            "answer": a.answer,
            "found": a.found,
            "model": a.model,
            "query": a.query,
            "up": self.up,
            "down": self.down,
            "sources": [c.as_dict() for c in a.sources],
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _citations(raw: str) -> list[Citation]:
    """Citations saved as JSON (lists come back as lists; the dataclass holds tuples)."""
    return [
        Citation(**{**item, "other_urls": tuple(item.get("other_urls", ()))})
        for item in json.loads(raw)
    ]


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FeedbackStore:
        return cls(data_dir / FILENAME)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path, _SCHEMA)

    def record_answer(
        self,
        answer: Answer,
        *,
        channel_id: int,
        message_ids: Sequence[int],
        guild_id: int | None = None,
        parent_id: int | None = None,
    ) -> int:
        """Store an answer and the ids of the messages that show it; returns its id."""
        shown = answer.citations if answer.found else answer.passages
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO answers (created, guild_id, channel_id, parent_id, question, answer, "
                "found, model, query, sources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    guild_id,
                    channel_id,
                    parent_id,
                    answer.question,
                    answer.answer,
                    int(answer.found),
                    answer.answerer,
                    answer.query,
                    json.dumps([c.as_dict() for c in shown], ensure_ascii=False),
                ),
            )
            answer_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT OR REPLACE INTO answer_messages (message_id, answer_id) VALUES (?, ?)",
                [(m, answer_id) for m in message_ids],
            )
        return answer_id

    def vote(self, message_id: int, user_id: int, vote: int) -> bool:
        """Record a user's 👍 (1) or 👎 (-1) on the answer shown by ``message_id``; a later vote
        replaces an earlier one. Returns False when the message is not an answer."""
        with self._connect() as db:
            row = db.execute(
                "SELECT answer_id FROM answer_messages WHERE message_id = ?", (message_id,)
            ).fetchone()
            if row is None:
                return False
            db.execute(
                "INSERT OR REPLACE INTO votes (answer_id, user_id, vote, created) "
                "VALUES (?, ?, ?, ?)",
                (row["answer_id"], user_id, vote, _now()),
            )
        return True

    def unvote(self, message_id: int, user_id: int, vote: int) -> bool:
        """Withdraw a vote (the reaction was removed)."""
        with self._connect() as db:
            cursor = db.execute(
                "DELETE FROM votes WHERE user_id = ? AND vote = ? AND answer_id = "
                "(SELECT answer_id FROM answer_messages WHERE message_id = ?)",
                (user_id, vote, message_id),
            )
            return cursor.rowcount > 0

    def turns(self, channel_id: int, limit: int = HISTORY_TURNS) -> list[Turn]:
        """The conversation in a thread so far: (question, answer) pairs, earliest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT question, answer FROM answers WHERE channel_id = ? ORDER BY id DESC LIMIT ?",
                (channel_id, limit),
            ).fetchall()
        return [(r["question"], r["answer"]) for r in reversed(rows)]

    def answers(self, channel_id: int) -> list[StoredAnswer]:
        """Every answer in a conversation (a thread or a DM), earliest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM answers WHERE channel_id = ? ORDER BY id", (channel_id,)
            ).fetchall()
        return [_stored(r) for r in rows]

    def last_answer(self, channel_id: int) -> StoredAnswer | None:
        """The latest answer given in a channel, a thread, or a thread opened from the channel."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM answers WHERE channel_id = ? OR parent_id = ? ORDER BY id DESC LIMIT 1",
                (channel_id, channel_id),
            ).fetchone()
        return _stored(row) if row else None

    def feedback(self, include_up: bool = False, limit: int = 50) -> list[FeedbackRow]:
        """Answers with votes, newest first: those with a 👎 (or, with ``include_up``, any vote)."""
        if not self.path.exists():
            return []
        having = "SUM(v.vote = 1) + SUM(v.vote = -1) > 0" if include_up else "SUM(v.vote = -1) > 0"
        with self._connect() as db:
            rows = db.execute(
                "SELECT a.*, SUM(v.vote = 1) AS up, SUM(v.vote = -1) AS down "
                "FROM answers a JOIN votes v ON v.answer_id = a.id "
                f"GROUP BY a.id HAVING {having} ORDER BY a.id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [FeedbackRow(_stored(r), int(r["up"]), int(r["down"])) for r in rows]


def _stored(row: sqlite3.Row) -> StoredAnswer:
    return StoredAnswer(
        id=row["id"],
        created=row["created"],
        question=row["question"],
        answer=row["answer"],
        found=bool(row["found"]),
        model=row["model"],
        sources=_citations(row["sources"]),
        query=row["query"],
    )


def print_feedback(console: Console, rows: Sequence[FeedbackRow]) -> None:
    """Feedback for a person: one block per answer, votes first."""
    if not rows:
        console.print("No rated answers yet.")
        return
    for row in rows:
        a = row.answer
        console.print(
            f"[bold]#{a.id}[/bold] {a.created}  👍 {row.up}  👎 {row.down}  ({escape(a.model)})",
            highlight=False,
        )
        console.print(f"  Q: {escape(a.question)}", highlight=False)
        console.print(f"  A: {escape(a.answer)}", highlight=False)
        for c in a.sources:
            where = " · ".join(p for p in (c.title, c.published or "", c.url or "") if p)
            console.print(
                f"     {escape(f'[{c.n}]')} {escape(where)}", style="cyan", highlight=False
            )
        console.print()
