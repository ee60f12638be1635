"""Answers to Discord interactions: core actions as text, sent as follow-ups or channel posts."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

import discord

from adapters import chat_text
from adapters.discord import convert
from core.events import (
    Action,
)

log = logging.getLogger("inkwell.discord")

# Interaction tokens live 15 minutes; past this age a follow-up goes to the channel instead.
TOKEN_LIFETIME = timedelta(minutes=14, seconds=30)
# How long an answer is awaited before "Inkwell is thinking…" is shown instead: Discord drops
# an interaction not acknowledged within 3 seconds, and the core answers commands in well
# under 200 ms (python -m bench.responsiveness), so nearly every answer is the acknowledgement.
ANSWER_WINDOW_S = 1.0
# What a deferred "thinking" message becomes when the answer is for the other audience.
ANSWERED_PRIVATELY = "Answered privately."
POSTED_FOR_ALL = "Posted in the channel."
DONE = "Done."

T = TypeVar("T")


def render(action: Action) -> str:
    return chat_text.answer_text(action, convert.MESSAGE_LIMIT, "Discord")


async def follow_up(
    interaction: discord.Interaction,
    text: str,
    private: bool,
    picture: bytes | None = None,
    filename: str = chat_text.STYLE_PICTURE,
) -> None:
    """A follow-up while the token lives; after that, or if it is refused, a channel post."""
    age = discord.utils.utcnow() - interaction.created_at
    if age < TOKEN_LIFETIME:
        try:
            await interaction.followup.send(
                text, ephemeral=private, files=_files(picture, filename)
            )
            return
        except discord.HTTPException as error:
            if error.status not in (401, 404):
                raise
            log.info("interaction %s expired (%s); posting instead", interaction.id, error)
    channel = interaction.channel
    if channel is not None and hasattr(channel, "send"):
        # Addressed to the asker, who alone may be notified, whatever the text echoes.
        await channel.send(  # type: ignore[union-attr]
            f"<@{interaction.user.id}> {text}",
            files=_files(picture, filename),
            allowed_mentions=discord.AllowedMentions.none().merge(
                discord.AllowedMentions(users=[interaction.user])
            ),
        )


class InteractionAnswer:
    """The answers to one command, each seen by whom the core says (its audience).

    Discord fixes who sees an interaction's first answer when it is acknowledged: a deferred
    "Inkwell is thinking…" keeps the visibility it was deferred with, and the first follow-up
    replaces it with that visibility, whatever its own flags say (so a refusal after a public
    defer was public). The answer is therefore awaited for `ANSWER_WINDOW_S` first: in time,
    it is the acknowledgement itself, with its own visibility. Otherwise the interaction is
    deferred with the likelier visibility, and an answer for the other audience first turns
    the thinking message into a short note, then goes out as a follow-up of its own (only the
    first follow-up inherits the defer's visibility).
    """

    def __init__(self, interaction: discord.Interaction, likely_private: bool) -> None:
        self._interaction = interaction
        self._likely_private = likely_private
        self._thinking: bool | None = None  # deferred and unresolved: with this visibility
        self._sent = 0

    async def within(self, work: Awaitable[T], window_s: float = ANSWER_WINDOW_S) -> T:
        """`work`'s result; the interaction is deferred if it takes longer than `window_s`
        (at once if `window_s` is 0)."""
        task = asyncio.ensure_future(work)
        try:
            late = window_s <= 0 or not (await asyncio.wait({task}, timeout=window_s))[0]
            if late and not self._interaction.response.is_done():
                await self._interaction.response.defer(
                    thinking=True, ephemeral=self._likely_private
                )
                self._thinking = self._likely_private
            return await task
        finally:
            task.cancel()  # a no-op once done; stops the work if this wait was cancelled

    async def send(
        self,
        text: str,
        private: bool,
        picture: bytes | None = None,
        filename: str = chat_text.STYLE_PICTURE,
    ) -> None:
        """One answer, seen by the asker alone when `private`, else by the channel."""
        self._sent += 1
        response = self._interaction.response
        if not response.is_done():
            files = _files(picture, filename)
            await response.send_message(text, ephemeral=private, files=files)
            return
        if self._thinking is not None and self._thinking != private:
            await self._resolve_thinking(ANSWERED_PRIVATELY if private else POSTED_FOR_ALL)
        self._thinking = None
        await follow_up(self._interaction, text, private, picture, filename)

    async def finish(self) -> None:
        """An interaction the core answered with nothing to show still gets its answer."""
        if self._sent:
            return
        if not self._interaction.response.is_done():
            await self._interaction.response.send_message(DONE, ephemeral=True)
        elif self._thinking is not None:
            await self._resolve_thinking(DONE)

    async def _resolve_thinking(self, note: str) -> None:
        self._thinking = None
        try:
            await self._interaction.edit_original_response(content=note)
        except discord.HTTPException as error:  # expired: the follow-up posts in the channel
            log.info("couldn't resolve interaction %s: %s", self._interaction.id, error)


def _files(picture: bytes | None, filename: str) -> list[discord.File]:
    # A fresh File each send: discord.py consumes the stream it wraps.
    if picture is None:
        return []
    return [discord.File(io.BytesIO(picture), filename=filename)]
