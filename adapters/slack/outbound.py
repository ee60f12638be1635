"""Core actions posted to Slack: a status message updated in place, pictures by files_upload_v2."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from adapters import chat_text
from adapters.slack import convert
from adapters.slack.markup import escaped
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

log = logging.getLogger("inkwell.slack")


@dataclass(frozen=True)
class StatusState:
    text: str
    paragraph_id: str
    stage: str


class SlackPoster:
    def __init__(self, client: AsyncWebClient, status_interval_s: float) -> None:
        self._client = client
        self._status: StatusBoard[StatusState] = StatusBoard(status_interval_s)

    async def close(self) -> None:
        await self._status.close()

    async def send(self, action: Action) -> MessageRef | None:
        if isinstance(action, Progress):
            line = chat_text.progress_line(action)
            await self.show_status(
                action.channel, StatusState(line, action.paragraph_id, action.stage)
            )
            return None
        if isinstance(action, Accepted):
            line = chat_text.accepted_line(action)
            await self.show_status(
                action.channel, StatusState(line, action.entry.paragraph_id, "queued")
            )
            return None
        if isinstance(action, PostIllustrations):
            return await self._illustrations(action)
        if isinstance(action, CandidatesShown):
            return await self._candidates(action)
        if isinstance(action, (PostText, PostError, Refused)):
            return await self.post_text(action.channel, chat_text.message_text(action))
        log.debug("nothing to show on Slack for %s", type(action).__name__)
        return None

    async def _earlier_upload(
        self, channel: ChannelRef, thread: str | None, first_filename: str
    ) -> str | None:
        """A post resent after a crash: the file id of its upload if it landed before."""
        if thread:
            found = await self._client.conversations_replies(
                channel=channel.channel_id, ts=thread, limit=convert.RECENT_MESSAGES
            )
        else:
            found = await self._client.conversations_history(
                channel=channel.channel_id, limit=convert.RECENT_MESSAGES
            )
        return convert.earlier_upload(found.get("messages") or [], first_filename)

    async def post_text(self, channel: ChannelRef, text: str) -> MessageRef:
        response = await self._client.chat_postMessage(
            channel=channel.channel_id, thread_ts=channel.thread_id, text=escaped(text)
        )
        return MessageRef(channel, str(response["ts"]))

    async def show_status(self, channel: ChannelRef, state: StatusState) -> None:
        async def create(status: StatusState) -> str:
            response = await self._client.chat_postMessage(
                channel=channel.channel_id,
                thread_ts=channel.thread_id,
                text=escaped(status.text),
                blocks=convert.status_blocks(
                    escaped(status.text), status.paragraph_id, status.stage
                ),
            )
            return str(response["ts"])

        async def edit(ts: str, status: StatusState) -> None:
            await self._client.chat_update(
                channel=channel.channel_id,
                ts=ts,
                text=escaped(status.text),
                blocks=convert.status_blocks(
                    escaped(status.text), status.paragraph_id, status.stage
                ),
            )

        final = state.stage in chat_text.FINAL_STAGES
        await self._status.show(state.paragraph_id, state, create, edit, final)

    async def _illustrations(self, action: PostIllustrations) -> MessageRef:
        uploads = [
            {
                "file": image.png,
                "filename": convert.illustration_filename(index, action.delivery_id),
                "title": chat_text.clip(image.caption, 250),
                "alt_txt": chat_text.clip(image.caption, 1000),
            }
            for index, image in enumerate(action.images, start=1)
        ]
        thread = action.channel.thread_id
        if action.reply_to is not None and any(i.sentence_index is not None for i in action.images):
            thread = action.reply_to.message_id  # an edit goes into the thread that asked for it
        if action.again and action.delivery_id:
            earlier = await self._earlier_upload(action.channel, thread, uploads[0]["filename"])
            if earlier is not None:
                log.info("the illustrations were already uploaded in %s", action.channel.key)
                return MessageRef(action.channel, earlier)
        response = await self._client.files_upload_v2(
            file_uploads=uploads,
            channel=action.channel.channel_id,
            thread_ts=thread,
            initial_comment=escaped(chat_text.clip(chat_text.illustrations_text(action), 4000)),
        )
        files = response.get("files") or []
        log.info("uploaded %d illustrations in %s", len(files), action.channel.key)
        return MessageRef(action.channel, str(files[0]["id"]) if files else "")

    async def _candidates(self, action: CandidatesShown) -> MessageRef:
        uploads = [
            {
                "file": image.png,
                "filename": f"candidate-{index:02d}.png",
                "title": chat_text.clip(image.caption, 250),
            }
            for index, image in enumerate(action.images, start=1)
        ]
        response = await self._client.files_upload_v2(
            file_uploads=uploads,
            channel=action.channel.channel_id,
            thread_ts=action.channel.thread_id,
            initial_comment="The candidates, drawn again from their seeds:",
        )
        files = response.get("files") or []
        return MessageRef(action.channel, str(files[0]["id"]) if files else "")

    async def post_picture(
        self, channel: ChannelRef, text: str, picture: bytes, filename: str, title: str
    ) -> None:
        """A picture with its text for the whole channel (the cast's thumbnails)."""
        await self._client.files_upload_v2(
            file=picture,
            filename=filename,
            title=title,
            channel=channel.channel_id,
            thread_ts=channel.thread_id,
            initial_comment=escaped(chat_text.clip(text, 4000)),
        )
        log.info("posted %s in %s", filename, channel.key)

    async def post_style(self, channel: ChannelRef, text: str, picture: bytes | None) -> None:
        """The style reference as it now stands, for the whole channel: a change of look
        concerns every writer, and Slack can't show a picture only to one person."""
        if picture is None:
            await self.post_text(channel, text)  # escaped there
            return
        await self._client.files_upload_v2(
            file=picture,
            filename=chat_text.STYLE_PICTURE,
            title="Style reference",
            channel=channel.channel_id,
            thread_ts=channel.thread_id,
            initial_comment=escaped(chat_text.clip(text, 4000)),
        )
        log.info("posted the style reference in %s", channel.key)
