"""The interactive REPL: ask questions, see cited answers, inspect sources.

With a terminal it offers line editing and history; when stdin is a pipe it answers one question
per input line, so ``echo "question" | newsbot repl`` works in scripts.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from rich.console import Console

from bot.answer import Answer
from bot.errors import NewsbotError
from bot.render import print_answer
from bot.service import AnswerService

HELP = """Type a question and press Enter. Commands:
  :sources   show the full passages behind the last answer
  :help      show this help
  :quit      leave (Ctrl-D works too)"""


class Repl:
    def __init__(self, service: AnswerService, console: Console, as_json: bool = False) -> None:
        self.service = service
        self.console = console
        self.as_json = as_json
        self.last: Answer | None = None

    def handle(self, line: str) -> bool:
        """Handle one input line; returns False when the user asked to leave."""
        line = line.strip()
        if not line:
            return True
        if line in {":quit", ":q", ":exit"}:
            return False
        if line in {":help", ":h", "?"}:
            self.console.print(HELP, highlight=False)
        elif line == ":sources":
            self._sources()
        elif line.startswith(":"):
            self.console.print(
                f"Unknown command {line!r}. Type :help for the list.", highlight=False
            )
        else:
            self._ask(line)
        return True

    def _ask(self, question: str) -> None:
        try:
            self.last = self.service.ask(question)
        except NewsbotError as error:
            self.console.print(f"[red]{error}[/red]", highlight=False)
            return
        if self.as_json:
            self.console.print(
                json.dumps(self.last.as_dict(), ensure_ascii=False), highlight=False, soft_wrap=True
            )
        else:
            print_answer(self.console, self.last)
            self.console.print()

    def _sources(self) -> None:
        if self.last is None:
            self.console.print("No answer yet: ask a question first.")
            return
        print_answer(self.console, self.last, full_quotes=True)

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
    if stdin.isatty():
        repl.run_interactive(history)
    else:
        repl.run_lines(stdin)
