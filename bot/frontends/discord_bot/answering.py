"""One question in, one answer out: the part shared by mentions and ``/ask``.

The answer service runs in a worker thread (``asyncio.to_thread``) so the event loop, and with it
Discord's heartbeat, never waits for embedding or generation. While it runs, the first message
shows the answer so far (:class:`~bot.frontends.discord_bot.streaming.LiveEdit`); then it shows the final
answer, and further messages carry the rest of a long answer and its sources.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import discord

from bot.answering.answer import Answer
from bot.answering.followup import Turn
from bot.answering.service import AnswerService
from bot.frontends.discord_bot.formatting import (
    NO_MENTIONS,
    Reply,
    answer_replies,
    preview,
    thread_name,
)
from bot.frontends.discord_bot.streaming import LiveEdit

log = logging.getLogger(__name__)

Show = Callable[[Reply], Awaitable[Any]]  # edits the first message (placeholder / response)
Send = Callable[[Reply], Awaitable[Any]]  # sends one more message

THUMBS = ("👍", "👎")
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440  # a day


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


async def open_thread(message: discord.Message, question: str) -> discord.Thread | None:
    """A thread named after the question on ``message``, where follow-ups can go on; None when
    Discord refuses (the answer then stays in the channel)."""
    try:
        return await message.create_thread(
            name=thread_name(question), auto_archive_duration=THREAD_ARCHIVE_MINUTES
        )
    except discord.HTTPException as error:
        log.warning("could not open a thread, answering in the channel: %s", error)
        return None


async def respond(interaction: discord.Interaction, text: str) -> None:
    """Tell the user something about their command, whether or not it was answered already."""
    try:
        if interaction.response.is_done():
            await interaction.edit_original_response(
                content=text, embeds=[], allowed_mentions=NO_MENTIONS
            )
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
    except discord.HTTPException as error:
        log.warning("could not reply to a command: %s", error)
