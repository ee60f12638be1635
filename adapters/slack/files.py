"""Fetching a picture a writer shared on Slack: files.info for its facts, then url_private."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from adapters import chat_text
from adapters.slack import convert

log = logging.getLogger("inkwell.slack")

_CHUNK = 64 * 1024


class FileRefused(Exception):
    """The shared file can't be taken; the message is for the writer."""


async def fetch_picture(
    client: AsyncWebClient, file_id: str, max_bytes: int, api_base: str
) -> tuple[str, bytes]:
    """(name, bytes) of a shared picture, checked by its declared type and size before any
    byte is fetched, and cut off if the download runs past `max_bytes` anyway."""
    info = (await client.files_info(file=file_id))["file"]
    name, kind, size, url = convert.file_facts(info)
    problem = chat_text.attachment_problem(name, kind, size, max_bytes)
    if problem:
        raise FileRefused(problem)
    if not url or not convert.may_carry_token(url, api_base):
        log.warning("refusing to send the bot token to %r for file %s", url, file_id)
        raise FileRefused(f"Inkwell couldn't fetch `{name}` from Slack.")
    headers = {"Authorization": f"Bearer {client.token}"}
    timeout = aiohttp.ClientTimeout(total=60)
    # No redirects: the token must not follow the request to another host.
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers=headers, allow_redirects=False) as response,
    ):
        # Without the files:read scope Slack answers with its sign-in page, not the file.
        if response.status != 200 or response.content_type.startswith("text/"):
            log.warning("file %s: HTTP %s %s", file_id, response.status, response.content_type)
            raise FileRefused(
                f"Inkwell couldn't fetch `{name}` from Slack (does the app have the "
                "`files:read` scope?)."
            )
        data = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            data += chunk
            if len(data) > max_bytes:  # the file was larger than Slack said
                raise FileRefused(chat_text.attachment_problem(name, kind, len(data), max_bytes))
    return name, bytes(data)
