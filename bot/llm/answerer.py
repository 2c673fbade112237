"""The language-model answerer: generate with the chain, verify every sentence, and fall back.

It implements the :class:`~bot.answering.answer.Answerer` protocol, plus streaming (``on_text``) and
follow-up rewriting. The extractive answerer runs first, on the same passages: when the passages
do not cover the question it refuses without calling the model, and it is the fallback whenever
the model is unavailable, too slow, fails, or writes nothing that verification can keep. Every
fallback says why in one line (``answer.note``).

A circuit breaker keeps a dead backend from costing every question its full timeout: after
``failures`` failures in a row the model is skipped for ``cooldown`` seconds, then tried again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from bot.answering.answer import Answer, Citation, ExtractiveAnswerer, OnText, ShortAnswer
from bot.answering.followup import HISTORY_TURNS, Turn, is_follow_up, standalone_query
from bot.llm.chain import ChainChunk, build_answer_chain
from bot.llm.prompting import load_prompt
from bot.llm.verify import Verifier
from bot.text import plural, shorten
from index.search import Hit

log = logging.getLogger(__name__)


@dataclass
class GeneratedAnswer(Answer):
    """An answer from the language-model answerer: verified, or a fallback with a ``note``
    saying why it is not the model's answer, or what verification changed."""

    verification: dict[str, Any] | None = None
    generation: dict[str, Any] = field(default_factory=dict)  # first_token_s, tokens, tokens_per_s

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        data.update(note=self.note, verification=self.verification, generation=self.generation)
        return data

    @classmethod
    def from_answer(cls, answer: Answer, **extra: Any) -> GeneratedAnswer:
        values = {f.name: getattr(answer, f.name) for f in fields(Answer)}
        return cls(**{**values, **extra})


class ModelFailure(Exception):
    """The model did not produce an answer (unavailable, timed out or failed)."""


class CircuitBreaker:
    """Closed → open after ``failures`` consecutive failures; half-open after ``cooldown`` s."""

    def __init__(
        self,
        failures: int = 2,
        cooldown: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = max(1, failures)
        self.cooldown = cooldown
        self.clock = clock
        self._count = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()
        self.last_error = ""

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            return self.clock() - self._opened_at >= self.cooldown  # half-open: one more try

    def success(self) -> None:
        with self._lock:
            self._count, self._opened_at = 0, None

    def failure(self, error: str) -> None:
        with self._lock:
            self._count += 1
            self.last_error = error
            if self._count >= self.failures:
                self._opened_at = self.clock()

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self.allow() else "open"


class LLMAnswerer:
    """Answers with a language model through :func:`~bot.llm.chain.build_answer_chain`."""

    streams = True

    def __init__(
        self,
        model: Any,
        label: str,
        extractive: ExtractiveAnswerer,
        verifier: Verifier,
        timeout: float = 60.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.model = model
        self.name = label
        self.extractive = extractive
        self.verifier = verifier
        self.timeout = timeout
        self.breaker = breaker or CircuitBreaker()
        self.chain = build_answer_chain(model, verifier)

    # -- answering --------------------------------------------------------------------------------

    def answer(self, question: str, hits: list[Hit], on_text: OnText | None = None) -> Answer:
        baseline = self.extractive.answer(question, hits)
        if not baseline.found:  # the passages do not cover it: refuse without the model
            return GeneratedAnswer.from_answer(baseline, answerer=self.name)
        if not self.breaker.allow():
            return self._fallback(
                baseline,
                f"The language model is paused after repeated failures "
                f"({self.breaker.last_error}); showing quoted sentences instead.",
            )
        try:
            text, verification, stats = self._generate(question, hits, on_text)
        except ModelFailure as error:
            self.breaker.failure(str(error))
            log.warning("language model failed: %s", error)
            return self._fallback(baseline, f"{error}; showing quoted sentences instead.")
        self.breaker.success()
        details = verification.as_dict()
        if verification.refused:
            closest = baseline.citations or baseline.passages
            return GeneratedAnswer(
                question,
                "The sources do not say.",
                False,
                passages=closest,
                answerer=self.name,
                verification=details,
                generation=stats,
            )
        if not verification.citations:  # no sentence survived verification
            return self._fallback(
                baseline,
                "None of the model's sentences could be verified against the sources; "
                "showing quoted sentences instead.",
                verification=details,
                generation={**stats, "raw": text},
            )
        note = None
        if verification.changed:
            dropped = details["totals"]["unsupported"]
            note = _change_note(dropped, details["totals"]["recited"], verification.mode)
        short = verified_short_answer(baseline.short_answer, verification.citations)
        return GeneratedAnswer(
            question,
            f"{short.text} [{short.n}]\n{verification.text}" if short else verification.text,
            True,
            citations=verification.citations,
            answerer=self.name,
            note=note,
            verification=details,
            generation={**stats, "raw": text},
            short_answer=short,
        )

    def _fallback(self, baseline: Answer, note: str, **extra: Any) -> GeneratedAnswer:
        return GeneratedAnswer.from_answer(baseline, note=note, **extra)

    def _generate(
        self, question: str, hits: list[Hit], on_text: OnText | None
    ) -> tuple[str, Any, dict[str, Any]]:
        """Run the chain in a worker thread, streaming to ``on_text``, within the timeout."""
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                for chunk in self.chain.stream({"question": question, "hits": hits}):
                    events.put(("chunk", chunk))
                    if stop.is_set():
                        break
                events.put(("done", None))
            except Exception as error:  # reported to the waiting thread
                events.put(("error", error))

        started = time.perf_counter()
        deadline = time.monotonic() + self.timeout
        threading.Thread(target=work, name="newsbot-llm", daemon=True).start()
        total = ChainChunk()
        first_token: float | None = None
        tokens = 0
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    kind, value = events.get(timeout=max(remaining, 0.0))
                except queue.Empty:
                    raise ModelFailure(
                        f"The language model did not answer within {self.timeout:g} s"
                    ) from None
                if kind == "error":
                    raise ModelFailure(f"The language model failed ({_describe(value)})")
                if kind == "done":
                    break
                total = total + value
                if value.text:
                    tokens += 1
                    first_token = first_token or time.perf_counter() - started
                    if on_text is not None:
                        on_text(total.text)
        finally:
            stop.set()
        if total.verification is None or total.context is None:
            raise ModelFailure("The language model returned no answer")
        seconds = time.perf_counter() - started
        decode = seconds - (first_token or seconds)
        stats = {
            "first_token_s": round(first_token, 4) if first_token is not None else None,
            "seconds": round(seconds, 4),
            "tokens": tokens,
            "tokens_per_s": round((tokens - 1) / decode, 2) if tokens > 1 and decode > 0 else None,
        }
        return total.text, total.verification, stats

    # -- follow-ups -------------------------------------------------------------------------------

    def rewrite(self, question: str, history: Sequence[Turn] | None) -> str:
        """A standalone query for a follow-up question, written by the model; the simple rule of
        :func:`bot.answering.followup.standalone_query` when the model is unavailable or says nothing
        usable."""
        rule = standalone_query(question, history)
        if not history or not is_follow_up(question) or not self.breaker.allow():
            return rule
        conversation = "\n".join(f"Q: {q}\nA: {shorten(a)}" for q, a in history[-HISTORY_TURNS:])
        system, user = load_prompt("rewrite").render(conversation=conversation, question=question)
        try:
            reply = self._invoke_text(system, user)
        except ModelFailure as error:
            self.breaker.failure(str(error))
            log.warning("follow-up rewrite failed, using the rule: %s", error)
            return rule
        self.breaker.success()
        line = next((ln.strip() for ln in reply.splitlines() if ln.strip()), "")
        line = line.strip('"').strip()
        if not line or len(line) > 3 * max(len(question), 100):
            return rule
        return line

    def _invoke_text(self, system: str, user: str) -> str:
        from langchain_core.messages import HumanMessage, SystemMessage

        result: queue.Queue[tuple[str, Any]] = queue.Queue()

        def work() -> None:
            try:
                message = self.model.invoke(
                    [SystemMessage(content=system), HumanMessage(content=user)]
                )
                result.put(("ok", str(message.content)))
            except Exception as error:
                result.put(("error", error))

        threading.Thread(target=work, name="newsbot-llm-rewrite", daemon=True).start()
        try:
            kind, value = result.get(timeout=self.timeout)
        except queue.Empty:
            raise ModelFailure(f"no rewrite within {self.timeout:g} s") from None
        if kind == "error":
            raise ModelFailure(_describe(value))
        return str(value)


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    name = type(error).__name__
    return f"{name}: {text[:160]}" if text else name


def _change_note(dropped: int, recited: int, mode: str) -> str | None:
    parts = []
    if dropped:
        verb = "removed" if mode == "drop" else "marked [unverified]"
        parts.append(f"{plural(dropped, 'sentence')} not found in the sources {verb}")
    if recited:
        parts.append(f"{plural(recited, 'citation')} corrected")
    return "Checked against the sources: " + "; ".join(parts) + "." if parts else None


def verified_short_answer(
    short: ShortAnswer | None, citations: list[Citation]
) -> ShortAnswer | None:
    """The extractive short answer, kept for a generated answer only when a verified citation of
    that answer quotes the very span (so it is a verified span of a cited passage), renumbered
    to that citation; else None."""
    if short is None:
        return None
    for c in citations:
        if c.article_id == short.article_id and c.start <= short.start and short.end <= c.end:
            return replace(short, n=c.n)
    return None
