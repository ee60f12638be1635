"""The story room's I/O: HTTP routes, the websocket per reader, broadcasting to a room."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from adapters.web import convert
from adapters.web.style import CastReferenceUpload, StyleUpload
from core.adapter import Capabilities, Dispatch
from core.events import (
    Accepted,
    Action,
    Audience,
    Author,
    ChannelList,
    ChannelsRequested,
    GenreChoices,
    GenreChoicesRequested,
    MessageRef,
    PostError,
    PostText,
    StoryPage,
    StoryRequested,
    StyleReferenceRequested,
)
from core.health import Health
from core.style.reference import StyleLimits

log = logging.getLogger("inkwell.web")

STATIC_DIR = Path(__file__).parent / "static"
MAX_MESSAGE_BYTES = 1024 * 1024
# One byte over the core's own limit, so the core's message (with the file's size) answers
# files just over it, and aiohttp's 413 only far bigger ones.
MAX_UPLOAD_BYTES = StyleLimits().max_bytes + 1
TOKEN_MISSING = "This story room needs its access token in the link."
TOKEN_REFUSED = 4401  # websocket close code; the page stops reconnecting on it
_OPEN_PATHS = frozenset({"/", "/health", "/ws"})
ImageLoader = Callable[[str], Awaitable[bytes | None]]


class _Reader:
    """One open page: its socket, the room it joined and who is writing."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        self.socket = socket
        self.room: str | None = None
        self.author = "Writer"
        self._lock = asyncio.Lock()

    async def send(self, payload: dict[str, Any]) -> None:
        async with self._lock:
            if not self.socket.closed:
                await self.socket.send_str(json.dumps(payload))


class WebAdapter:
    name = convert.PLATFORM
    capabilities = Capabilities(edits=True, threads=False, buttons=True)

    def __init__(
        self,
        host: str,
        port: int,
        token: str,
        load_image: ImageLoader,
        profile_name: str,
        health: Callable[[], Awaitable[Health]],
    ) -> None:
        self._host = host
        self._health_check = health
        self._port = port
        self._token = token
        self._load_image = load_image
        self._profile = profile_name
        self._dispatch: Dispatch | None = None
        self._rooms: dict[str, set[_Reader]] = defaultdict(set)
        self._runner: web.AppRunner | None = None
        self._open_paths = _OPEN_PATHS
        self.app = self._build_app()
        self.bound_port: int | None = None

    def _build_app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._require_token],
            client_max_size=max(MAX_MESSAGE_BYTES, MAX_UPLOAD_BYTES),
        )
        app.router.add_get("/", self._index)
        app.router.add_get("/health", self._health)
        app.router.add_get("/api/rooms", self._rooms_list)
        app.router.add_get("/images/{image_id}.png", self._image)
        upload = StyleUpload(self._core, self.send_to_room, MAX_UPLOAD_BYTES)
        app.router.add_post("/api/rooms/{room}/style", upload.handle)
        reference = CastReferenceUpload(self._core, self.send_to_room, MAX_UPLOAD_BYTES)
        app.router.add_post("/api/rooms/{room}/cast/{name}/reference", reference.handle)
        app.router.add_get("/ws", self._websocket)
        app.router.add_static("/static/", STATIC_DIR)
        app.router.add_get("/metrics", self._metrics)
        return app

    def add_signed_route(self, path: str, handler: Callable[[web.Request], Awaitable[Any]]) -> None:
        """A POST route for a platform's webhooks, which authenticate themselves (signatures),
        so the room's token does not apply. Call before `start`."""
        self.app.router.add_post(path, handler)
        self._open_paths = self._open_paths | {path}

    def add_room(
        self, mount: Callable[[web.Application], None], pages: frozenset[str] = frozenset()
    ) -> None:
        """Mount another page's routes (e.g. the training room); `pages` hold no data, so
        they load without the token like the story room's page. Call before `start`."""
        mount(self.app)
        self._open_paths = self._open_paths | pages

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.bound_port}/"

    async def start(self, dispatch: Dispatch) -> None:
        self._dispatch = dispatch
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.bound_port = self._runner.addresses[0][1]
        log.info("story room listening on %s (models: %s)", self.url, self._profile)

    async def stop(self) -> None:
        for readers in list(self._rooms.values()):
            for reader in list(readers):
                await reader.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def send(self, action: Action) -> MessageRef | None:
        await self.send_to_room(action.channel.channel_id, convert.action_json(action))
        return None

    # ------------------------------------------------------------------ HTTP

    @web.middleware
    async def _require_token(self, request: web.Request, handler: Any) -> web.StreamResponse:
        # The page and its assets hold no story data; everything else needs the token when set.
        # /ws checks it itself, so the page learns why in a way browsers let it read.
        guarded = not request.path.startswith("/static/") and request.path not in self._open_paths
        if guarded and not self._token_ok(request):
            return web.json_response({"error": TOKEN_MISSING}, status=401)
        return await handler(request)

    def _token_ok(self, request: web.Request) -> bool:
        if not self._token:
            return True
        given = request.query.get("token", "")
        return hmac.compare_digest(given.encode(), self._token.encode())

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def _health(self, request: web.Request) -> web.StreamResponse:
        """200 when the engine and storage answer and every platform connection is up,
        else 503 saying which is not."""
        health = await self._health_check()
        body = {
            "ok": health.ok,
            "profile": health.profile,
            "engine": health.engine,
            "storage": health.storage,
            "connections": dict(health.connections),
        }
        return web.json_response(body, status=200 if health.ok else 503)

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        from core import metrics

        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response

    async def _rooms_list(self, request: web.Request) -> web.StreamResponse:
        replies = await self._core(ChannelsRequested(convert.channel(""), Author("web", "web")))
        listing = next((r for r in replies if isinstance(r, ChannelList)), None)
        if listing is None:
            return web.json_response({"error": _first_error(replies)}, status=500)
        rooms = [
            {"id": c.channel_id, "title": c.title, "paragraphs": c.paragraphs}
            for c in listing.channels
        ]
        return web.json_response({"rooms": rooms, "profile": self._profile})

    async def _image(self, request: web.Request) -> web.StreamResponse:
        png = await self._load_image(request.match_info["image_id"])
        if png is None:
            return web.json_response({"error": "That picture no longer exists."}, status=404)
        return web.Response(
            body=png,
            content_type="image/png",
            headers={"Cache-Control": "private, max-age=31536000, immutable"},
        )

    # ------------------------------------------------------------------ websocket

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_MESSAGE_BYTES)
        await socket.prepare(request)
        if not self._token_ok(request):
            await socket.close(code=TOKEN_REFUSED, message=TOKEN_MISSING.encode())
            return socket
        reader = _Reader(socket)
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    await self._on_text(reader, message.data)
                elif message.type == WSMsgType.BINARY:
                    await reader.send(
                        convert.error_json("The room only reads text; paste your paragraph.")
                    )
                elif message.type == WSMsgType.ERROR:
                    log.warning("websocket error: %s", socket.exception())
        finally:
            self._leave(reader)
        return socket

    async def _on_text(self, reader: _Reader, raw: str) -> None:
        client_id = None
        try:
            message = convert.parse_client_message(raw)
            client_id = convert.client_id_of(message.data)
            if message.type == "join":
                await self._join(reader, message.data)
                return
            if reader.room is None:
                raise convert.ClientMessageError("Open a room before posting.")
            event = convert.to_event(message, reader.room, reader.author)
        except convert.ClientMessageError as error:
            await reader.send(convert.error_json(str(error), client_id))
            return
        replies = await self._core(event)
        if message.type == convert.GENRE_SET:
            await self._genre_picked(reader, event, replies, client_id)
            return
        await self._reply(reader, replies, client_id, getattr(event, "before_seq", None))

    async def _genre_picked(
        self, reader: _Reader, event: Any, replies: list[Action], client_id: str | None
    ) -> None:
        """A genre was picked (or refused): every reader's picker shows the story's genre as
        it now stands, with the core's news beside it (a refusal goes to the asker)."""
        picked = [a for a in replies if isinstance(a, PostText) and a.audience is Audience.CHANNEL]
        news = [action.text for action in picked]
        others = [action for action in replies if action not in picked]
        await self._reply(reader, others, client_id, None)
        if not news:
            return
        for action in await self._core(GenreChoicesRequested(event.channel, event.author)):
            if isinstance(action, GenreChoices):
                payload = convert.genres_json(action, " ".join(news))
                await self.send_to_room(action.channel.channel_id, payload)

    async def _join(self, reader: _Reader, data: dict[str, Any]) -> None:
        room = convert.room_name(data.get("room"))
        self._leave(reader)
        reader.room = room
        reader.author = convert.author_name(data.get("author"))
        self._rooms[room].add(reader)
        await reader.send({"type": "joined", "room": room, "profile": self._profile})
        replies = await self._core(StoryRequested(convert.channel(room), Author("web", "web")))
        await self._reply(reader, replies, None, None)
        style = await self._core(
            StyleReferenceRequested(convert.channel(room), Author("web", "web"))
        )
        await self._reply(reader, style, None, None)
        genres = await self._core(
            GenreChoicesRequested(convert.channel(room), Author("web", "web"))
        )
        await self._reply(reader, genres, None, None)

    async def _reply(
        self, reader: _Reader, replies: list[Action], client_id: str | None, before: int | None
    ) -> None:
        """Send the core's immediate replies: the asker's to the asker, news to the room."""
        for action in replies:
            payload = convert.action_json(action, client_id)
            if isinstance(action, StoryPage):
                payload["before_seq"] = before
            if action.audience is Audience.CHANNEL and not isinstance(action, Accepted):
                # News for the whole room, the sender included.
                await self.send_to_room(action.channel.channel_id, payload)
                continue
            await reader.send(payload)
            if isinstance(action, Accepted) and not action.again:
                # A resent post was shown to the room the first time.
                posted = {"type": "posted", "entry": convert.entry_json(action.entry)}
                await self.send_to_room(action.channel.channel_id, posted)

    async def send_to_room(self, room: str, payload: dict[str, Any]) -> None:
        readers = list(self._rooms.get(room, ()))
        await asyncio.gather(*(self._deliver(reader, payload) for reader in readers))

    async def _deliver(self, reader: _Reader, payload: dict[str, Any]) -> None:
        try:
            await reader.send(payload)
        except (ConnectionError, RuntimeError) as error:
            log.info("dropping a closed reader in %s: %s", reader.room, error)
            self._leave(reader)

    def _leave(self, reader: _Reader) -> None:
        if reader.room is not None:
            readers = self._rooms.get(reader.room)
            if readers is not None:
                readers.discard(reader)
                if not readers:
                    del self._rooms[reader.room]

    async def _core(self, event: Any) -> list[Action]:
        if self._dispatch is None:
            raise RuntimeError("the story room is not started")
        return await self._dispatch(event)


def _first_error(replies: list[Action]) -> str:
    for action in replies:
        if isinstance(action, PostError):
            return f"{action.message} (ref {action.reference})"
    return "Inkwell couldn't list the rooms."
