"""Core actions posted to Discord: status messages edited in place, illustrations as files."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass

import discord

from adapters import chat_text
from adapters.discord import convert
from adapters.discord.interactions import (
    CandidatesButton,
    EnhanceButton,
    OriginalButton,
    RegenerateButton,
    StopButton,
    UndoButton,
    WhyButton,
    button_view,
)
from adapters.status import StatusBoard
from core.events import (
    Accepted,
    Action,
    CandidatesShown,
    ChannelRef,
    MessageRef,
    PostError,
    PostIllustrations,
    PostText,
    Progress,
    Refused,
)

log = logging.getLogger("inkwell.discord")


@dataclass(frozen=True)
class StatusState:
    text: str
    paragraph_id: str
    final: bool
    reply_to: int | None = None  # the message the status answers, on its first post


class DiscordPoster:
    """Turns actions into Discord messages through `client` (REST only, no gateway needed)."""

    def __init__(self, client: Callable[[], discord.Client], status_interval_s: float) -> None:
        self._client = client
        self._status: StatusBoard[StatusState] = StatusBoard(status_interval_s)

    async def close(self) -> None:
        await self._status.close()

    def channel(self, channel: ChannelRef) -> discord.PartialMessageable:
        return self._client().get_partial_messageable(convert.target_id(channel))

    async def send(self, action: Action) -> MessageRef | None:
        if isinstance(action, Progress):
            final = action.stage in chat_text.FINAL_STAGES
            line = chat_text.progress_line(action)
            await self.show_status(action.channel, StatusState(line, action.paragraph_id, final))
            return None
        if isinstance(action, Accepted):
            await self.accepted(action, None)
            return None
        if isinstance(action, PostIllustrations):
            return await self._illustrations(action)
        if isinstance(action, CandidatesShown):
            return await self._candidates(action)
        if isinstance(action, (PostText, PostError, Refused)):
            message = await self.channel(action.channel).send(chat_text.message_text(action))
            return MessageRef(action.channel, str(message.id))
        log.debug("nothing to show on Discord for %s", type(action).__name__)
        return None

    async def accepted(self, action: Accepted, reply_to: int | None) -> None:
        line = chat_text.accepted_line(action)
        state = StatusState(line, action.entry.paragraph_id, False, reply_to)
        await self.show_status(action.channel, state)

    async def show_status(self, channel: ChannelRef, state: StatusState) -> None:
        """One message per paragraph: posted on its first state, edited (throttled) after."""
        target = self.channel(channel)

        async def create(status: StatusState) -> str:
            reference = None
            if status.reply_to is not None:
                reference = discord.MessageReference(
                    message_id=status.reply_to, channel_id=target.id, fail_if_not_exists=False
                )
            message = await target.send(
                status.text,
                view=_status_view(status),  # type: ignore[arg-type]
                reference=reference,  # type: ignore[arg-type]
            )
            return str(message.id)

        async def edit(message_id: str, status: StatusState) -> None:
            message = target.get_partial_message(int(message_id))
            await message.edit(content=status.text, view=_status_view(status))

        await self._status.show(state.paragraph_id, state, create, edit, state.final)

    async def _illustrations(self, action: PostIllustrations) -> MessageRef:
        target = self.channel(action.channel)
        reference = None
        if action.reply_to is not None:
            reference = discord.MessageReference(
                message_id=int(action.reply_to.message_id),
                channel_id=target.id,
                fail_if_not_exists=False,
            )
        text = chat_text.clip(chat_text.illustrations_text(action), convert.MESSAGE_LIMIT)
        batches = convert.file_batches(len(action.images))
        posted: list[discord.Message] = []
        for number, batch in enumerate(batches):
            files = [
                discord.File(
                    io.BytesIO(action.images[i].png),
                    filename=convert.illustration_filename(i + 1),
                    description=chat_text.clip(action.images[i].caption, 1024),
                )
                for i in batch
            ]
            last = number == len(batches) - 1
            # The buttons go under the last picture, where a reader finishes looking.
            view = _illustration_view(action) if last else None
            posted.append(
                await target.send(
                    text if number == 0 else None,
                    files=files,
                    view=view,  # type: ignore[arg-type]
                    reference=reference if number == 0 else None,  # type: ignore[arg-type]
                    nonce=convert.delivery_nonce(action.delivery_id, number),  # type: ignore[arg-type]
                )
            )
        log.info("posted %d illustrations in %s", len(action.images), action.channel.key)
        return MessageRef(action.channel, str(posted[0].id))

    async def _candidates(self, action: CandidatesShown) -> MessageRef | None:
        """The candidates as files, ten to a message, each listed with its score."""
        target = self.channel(action.channel)
        first: discord.Message | None = None
        for batch in convert.file_batches(len(action.images)):
            shown = [action.images[i] for i in batch]
            files = [
                discord.File(io.BytesIO(image.png), filename=f"candidate-{i + 1:02d}.png")
                for i, image in zip(batch, shown, strict=True)
            ]
            text = chat_text.clip(
                "\n".join(image.caption for image in shown), convert.MESSAGE_LIMIT
            )
            message = await target.send(text, files=files)
            first = first or message
        return MessageRef(action.channel, str(first.id)) if first else None


def _status_view(status: StatusState) -> discord.ui.View | None:
    return None if status.final else button_view(StopButton(status.paragraph_id))


def _illustration_view(action: PostIllustrations) -> discord.ui.View:
    """A paragraph's pictures: redraw or ask why; an edited picture: undo or see the original."""
    paragraph = action.paragraph_id
    # Enhance acts on the message's picture, so only where there is one.
    single = [EnhanceButton(paragraph)] if len(action.images) == 1 else []
    if any(image.sentence_index is not None for image in action.images):
        return button_view(UndoButton(paragraph), OriginalButton(paragraph), *single)
    return button_view(
        RegenerateButton(paragraph), WhyButton(paragraph), CandidatesButton(paragraph), *single
    )
