"""One question in, one answer out: the part shared by mentions and ``/ask``.

The answer service runs in a worker thread (``asyncio.to_thread``) so the event loop, and with it
Discord's heartbeat, never waits for embedding or generation. While it runs, the first message
shows the answer so far (:class:`~bot.discord_bot.streaming.LiveEdit`); then it shows the final
answer, and further messages carry the rest of a long answer and its sources.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord

from bot.answer import Answer
from bot.discord_bot.formatting import NO_MENTIONS, Reply, answer_replies, preview
from bot.discord_bot.streaming import LiveEdit
from bot.followup import Turn
from bot.service import AnswerService

log = logging.getLogger(__name__)

Show = Callable[[Reply], Awaitable[Any]]  # edits the first message (placeholder / response)
Send = Callable[[Reply], Awaitable[Any]]  # sends one more message

THUMBS = ("👍", "👎")


def message_kwargs(reply: Reply) -> dict[str, Any]:
    """Arguments for send/edit: never mention anyone, and clear what a placeholder showed."""
    return {"content": reply.content, "embeds": reply.embeds, "allowed_mentions": NO_MENTIONS}


async def produce_answer(
    service: AnswerService,
    question: str,
    history: Sequence[Turn],
    show: Show,
    send: Send,
    edit_interval: float = 1.0,
) -> tuple[Answer, list[Any]]:
    """Answer ``question`` and post it; returns the answer and the messages that show it."""
    loop = asyncio.get_running_loop()
    live = LiveEdit(lambda text: show(Reply(content=preview(text))), loop, edit_interval)
    try:
        answer = await asyncio.to_thread(
            service.ask, question, history=list(history), on_text=live.push
        )
    finally:
        await live.close()
    replies = answer_replies(answer)
    messages = [await show(replies[0])]
    for reply in replies[1:]:
        messages.append(await send(reply))
    return answer, messages


async def add_vote_reactions(message: Any) -> None:
    """Offer 👍 / 👎 under an answer (best effort: a missing permission is only logged)."""
    try:
        for emoji in THUMBS:
            await message.add_reaction(emoji)
    except discord.HTTPException as error:
        log.info("could not add the rating reactions: %s", error)
