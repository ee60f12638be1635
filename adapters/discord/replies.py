"""Answers to Discord interactions: core actions as text, sent as follow-ups or channel posts."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import discord

from adapters import chat_text
from adapters.discord import convert
from core.events import (
    Action,
)

log = logging.getLogger("inkwell.discord")

# Interaction tokens live 15 minutes; past this age a follow-up goes to the channel instead.
TOKEN_LIFETIME = timedelta(minutes=14, seconds=30)


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


def _files(picture: bytes | None, filename: str) -> list[discord.File]:
    # A fresh File each send: discord.py consumes the stream it wraps.
    if picture is None:
        return []
    return [discord.File(io.BytesIO(picture), filename=filename)]
