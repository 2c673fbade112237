"""The interactive REPL: ask questions, see cited answers, inspect sources.

With a terminal it offers line editing and history; when stdin is a pipe it answers one question
per input line, so ``echo "question" | newsbot repl`` works in scripts.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from bot.answering.answer import Answer
from bot.answering.followup import HISTORY_TURNS, Turn
from bot.answering.service import AnswerService
from bot.errors import NewsbotError
from bot.frontends.render import StreamView, print_answer, print_sources

HELP = """Type a question and press Enter. Commands:
  :sources   show the full passages behind the last answer
  :new       start a new conversation (follow-ups no longer refer to earlier questions)
  :help      show this help
  :quit      leave (Ctrl-D works too)"""


class Repl:
    def __init__(self, service: AnswerService, console: Console, as_json: bool = False) -> None:
        self.service = service
        self.console = console
        self.as_json = as_json
        self.last: Answer | None = None
        self.history: list[Turn] = []
        self.stream = False  # show generated answers as they are written (interactive only)

    def handle(self, line: str) -> bool:
        """Handle one input line; returns False when the user asked to leave."""
        line = line.strip()
        if not line:
            return True
        if line in {":quit", ":q", ":exit"}:
            return False
        if line in {":help", ":h", "?"}:
            self._say(HELP)
        elif line == ":sources":
            self._sources()
        elif line == ":new":
            self.history = []
            self._say("New conversation.")
        elif line.startswith(":"):
            self._error(f"Unknown command {line!r}. Type :help for the list.")
        else:
            self._ask(line)
        return True

    def _ask(self, question: str) -> None:
        try:
            with self._streaming() as on_text:
                self.last = self.service.ask(question, history=self.history, on_text=on_text)
        except NewsbotError as error:
            self._error(str(error))
            return
        if self.as_json:
            self._json(self.last.as_dict())
        else:
            print_answer(self.console, self.last)
            self.console.print()
        self.history = [*self.history, (question, self.last.answer)][-HISTORY_TURNS:]

    def _say(self, message: str) -> None:
        """A message for the user: with ``--json`` one JSON object, so every line parses."""
        if self.as_json:
            self._json({"message": message})
        else:
            self.console.print(message, highlight=False, markup=False)

    def _error(self, message: str) -> None:
        """A problem with one input line: one JSON object with ``--json``, else red text."""
        if self.as_json:
            self._json({"error": message})
        else:
            self.console.print(f"[red]{escape(message)}[/red]", highlight=False)

    def _json(self, data: object) -> None:
        text = json.dumps(data, ensure_ascii=False)
        self.console.print(text, highlight=False, markup=False, soft_wrap=True)

    @contextlib.contextmanager
    def _streaming(self) -> Iterator[Callable[[str], None] | None]:
        if not self.stream:
            yield None
            return
        with StreamView(self.console) as view:
            yield view.push

    def _sources(self) -> None:
        """The whole passages behind the last answer (its citations, or the closest passages
        when it was not found)."""
        last = self.last
        if last is None:
            self._say("No answer yet: ask a question first.")
            return
        sources = self.service.sources(last.citations if last.found else last.passages)
        if self.as_json:
            self._json({"question": last.question, "sources": [s.as_dict() for s in sources]})
        else:
            print_sources(self.console, last, sources)

    def run_lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            if not self.handle(line):
                break

    def run_interactive(self, history: Path) -> None:
        import readline

        history.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            readline.read_history_file(history)
        self.console.print("Ask about the indexed news. :help for commands, :quit to leave.")
        self.stream = (
            self.service.answerer.streams and self.console.is_terminal and not self.as_json
        )
        try:
            while True:
                try:
                    line = input("newsbot> ")
                except EOFError:
                    self.console.print()
                    break
                except KeyboardInterrupt:
                    self.console.print()
                    continue
                if not self.handle(line):
                    break
        finally:
            readline.set_history_length(1000)
            readline.write_history_file(history)


def run(
    service: AnswerService,
    console: Console,
    history: Path,
    stdin: TextIO = sys.stdin,
    as_json: bool = False,
) -> None:
    repl = Repl(service, console, as_json)
    if stdin.isatty():  # load the model and the index while the first question is typed
        threading.Thread(target=service.warm_up, name="newsbot-warm-up", daemon=True).start()
        repl.run_interactive(history)
    else:
        repl.run_lines(stdin)
