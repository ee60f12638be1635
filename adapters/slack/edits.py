"""Thread replies to Inkwell's pictures on Slack: which threads hang under a picture, cached."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("inkwell.slack")


class PictureThreads:
    """Answers "is this thread's parent one of Inkwell's picture messages?" with the id of its
    first file (what the core knows the pictures by), remembering the answers it looked up."""

    def __init__(self, client: AsyncWebClient, limit: int = 4096) -> None:
        self._client = client
        self._limit = limit
        self._known: OrderedDict[tuple[str, str], str | None] = OrderedDict()

    async def picture_of(
        self, channel: str, thread_ts: str, bot_user: str, bot_id: str
    ) -> str | None:
        key = (channel, thread_ts)
        if key in self._known:
            self._known.move_to_end(key)
            return self._known[key]
        try:
            response = await self._client.conversations_replies(
                channel=channel, ts=thread_ts, limit=1
            )
        except SlackApiError as error:
            # Without channels:history the parent can't be read; the reply stays a paragraph.
            log.warning("couldn't read the parent of thread %s: %s", thread_ts, error)
            return None
        found = parent_picture(response.get("messages") or [], thread_ts, bot_user, bot_id)
        self._known[key] = found
        if len(self._known) > self._limit:
            self._known.popitem(last=False)
        return found


def parent_picture(
    messages: list[dict[str, Any]], thread_ts: str, bot_user: str, bot_id: str
) -> str | None:
    """The first file id of the thread's parent when Inkwell posted it with pictures."""
    parent = next((m for m in messages if m.get("ts") == thread_ts), None)
    if parent is None or not parent.get("files"):
        return None
    mine = (bot_user and parent.get("user") == bot_user) or (
        bot_id and parent.get("bot_id") == bot_id
    )
    return str(parent["files"][0]["id"]) if mine else None
