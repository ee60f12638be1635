"""The story room's picture uploads (the style picture, an element's reference picture): HTTP
POSTs whose answer the whole room sees."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.web import convert
from core.events import Action, Event, LibraryShown, PostError, Refused, StyleReferenceShown

Core = Callable[[Event], Awaitable[list[Action]]]
SendToRoom = Callable[[str, dict[str, Any]], Awaitable[None]]


class StyleUpload:
    """POST /api/rooms/{room}/style?author=NAME with the picture as the raw body."""

    def __init__(self, core: Core, send_to_room: SendToRoom, max_bytes: int) -> None:
        self._core = core
        self._send_to_room = send_to_room
        self._max_bytes = max_bytes  # the app's client_max_size

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            room = convert.room_name(request.match_info["room"])
            author = convert.author_name(request.query.get("author"))
            body = await request.read()
            event = convert.style_upload_event(room, author, request.content_type, body)
        except convert.ClientMessageError as error:
            return web.json_response({"error": str(error)}, status=400)
        except web.HTTPRequestEntityTooLarge:
            limit = (self._max_bytes - 1) / 2**20
            message = f"That file is too large; a style picture can be at most {limit:.0f} MB."
            return web.json_response({"error": message}, status=413)
        replies = await self._core(event)
        shown = next((r for r in replies if isinstance(r, StyleReferenceShown)), None)
        if shown is None:
            refusal = next((r for r in replies if isinstance(r, PostError)), None)
            message = refusal.message if refusal else "Inkwell couldn't set the style picture."
            return web.json_response({"error": message}, status=400)
        payload = convert.action_json(shown)
        await self._send_to_room(room, payload)
        return web.json_response(payload)


class CastReferenceUpload:
    """POST /api/rooms/{room}/cast/{name}/reference?author=NAME with the picture as the raw
    body: the element's reference picture; the room sees the cast as it now stands."""

    def __init__(self, core: Core, send_to_room: SendToRoom, max_bytes: int) -> None:
        self._core = core
        self._send_to_room = send_to_room
        self._max_bytes = max_bytes

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            room = convert.room_name(request.match_info["room"])
            author = convert.author_name(request.query.get("author"))
            body = await request.read()
            event = convert.cast_reference_event(
                room, author, request.match_info["name"], request.content_type, body
            )
        except convert.ClientMessageError as error:
            return web.json_response({"error": str(error)}, status=400)
        except web.HTTPRequestEntityTooLarge:
            limit = (self._max_bytes - 1) / 2**20
            message = f"That file is too large; a reference picture can be at most {limit:.0f} MB."
            return web.json_response({"error": message}, status=413)
        replies = await self._core(event)
        shown = next((r for r in replies if isinstance(r, LibraryShown)), None)
        if shown is None:
            refusal = next((r for r in replies if isinstance(r, (PostError, Refused))), None)
            message = refusal.message if refusal else "Inkwell couldn't keep that picture."
            return web.json_response({"error": message}, status=400)
        payload = convert.action_json(shown)
        await self._send_to_room(room, payload)
        return web.json_response(payload)
