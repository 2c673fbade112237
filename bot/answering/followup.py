"""Follow-up questions: turn "what did she say about tariffs?" into a standalone query.

Without a language model a simple rule does it: a question that leans on the conversation
(a pronoun or a demonstrative, "what about …", "and …", or very few content words) is searched
together with the content words of the previous question. Answerers with a model may rewrite
better; they receive the same history.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.search import tokenize

Turn = tuple[str, str]  # (question, answer text), earliest first
# How much of a conversation a follow-up is read against: the rule looks at the last turn, a
# language model's rewrite at this many (the REPL and the Discord threads keep as many).
HISTORY_TURNS = 3

_LEANS_ON_CONTEXT = re.compile(
    r"^\s*(and|but|also|so|what about|how about|then)\b|"
    r"\b(he|she|they|them|him|her|his|hers|their|theirs|it|its|this|that|these|those|"
    r"there|the same|the other)\b",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    return bool(_LEANS_ON_CONTEXT.search(question)) or len(set(tokenize(question))) <= 2


def standalone_query(question: str, history: Sequence[Turn] | None) -> str:
    """The query to search for. Unchanged unless the question is a follow-up to a previous turn."""
    if not history or not is_follow_up(question):
        return question
    previous = history[-1][0]
    own = set(tokenize(question))
    context = [
        w for w in re.findall(r"[\w’'-]+", previous) if tokenize(w) and not set(tokenize(w)) <= own
    ]
    if not context:
        return question
    return f"{question} ({' '.join(context)})"
