"""A fake Slack Web API and Socket Mode websocket on 127.0.0.1, shaped as Slack documents them."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes import slack_payloads as payloads
from tests.fakes.fake_http import Recorder, ServedFiles
from tests.fakes.slack_payloads import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER,
    CHANNEL,
    MANAGER,
    READER,
    TEAM,
)


@dataclass
class SlackMessage:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    user: str | None = None  # set for ephemeral messages: who sees it
    files: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[float, str]] = field(default_factory=list)

    def action_ids(self) -> list[str]:
        return [
            element["action_id"]
            for block in self.blocks
            if block.get("type") == "actions"
            for element in block["elements"]
        ]


class FakeSlack(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[SlackMessage] = []
        self.ephemeral: list[SlackMessage] = []
        self.responses: list[dict[str, Any]] = []  # posted to response_url
        self.calls: list[str] = []  # Web API methods, in order
        self.acks: list[dict[str, Any]] = []  # Socket Mode envelope acknowledgements
        self.sockets_opened = 0  # Socket Mode connections made, reconnections included
        self._uploads: dict[str, dict[str, Any]] = {}
        self.files = ServedFiles(BOT_TOKEN)  # what writers shared, at their url_private
        self.shared: dict[str, dict[str, Any]] = {}  # file id -> file object (files.info)
        self._sockets: list[web.WebSocketResponse] = []
        self._clock = time.time()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{command}", self._respond)
        app.router.add_get("/socket", self._socket)
        self.files.mount(app)
        app.router.add_route("*", "/api/{method}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def next_ts(self) -> str:
        self._clock += 0.001
        return f"{self._clock:.6f}"

    # ------------------------------------------------------------------ payloads a test sends

    def message_event(self, user: str, text: str, channel: str = CHANNEL, **extra: Any) -> dict:
        return payloads.message_event(self.next_ts(), user, text, channel, **extra)

    def command(self, user: str, text: str, channel: str = CHANNEL) -> dict[str, str]:
        return payloads.command(self.port, user, text, channel)

    def click(self, user: str, message: SlackMessage, action_id: str) -> dict[str, Any]:
        return payloads.block_actions(self.port, self.next_ts(), user, message, action_id)

    def share(self, name: str, mimetype: str, data: bytes, size: int | None = None) -> dict:
        """A file a writer shares; `size` is what Slack declares (default: the real size)."""
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        url = self.files.url(self.port, file_id)
        self.files.data[file_id] = data
        self.shared[file_id] = payloads.file_object(file_id, name, mimetype, len(data), url)
        if size is not None:
            self.shared[file_id]["size"] = size
        return self.shared[file_id]

    async def push(self, kind: str, payload: dict[str, Any]) -> str:
        """Send an envelope over every Socket Mode connection; returns its id."""
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,  # events_api, slash_commands or interactive
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        for socket in list(self._sockets):
            await socket.send_str(json.dumps(envelope))
        return envelope_id

    async def push_raw(self, frame: str) -> None:
        """Send a frame as is (e.g. one that isn't JSON) over every Socket Mode connection."""
        for socket in list(self._sockets):
            await socket.send_str(frame)

    async def drop_sockets(self) -> None:
        """Close every Socket Mode connection, as Slack does when it refreshes them."""
        for socket in list(self._sockets):
            await socket.close()

    # ------------------------------------------------------------------ Web API

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        self.calls.append(method)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        result = await handler(args)
        await self._note()
        return web.json_response({"ok": True, **result})

    async def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://storyclub.slack.com/",
            "team": "Story Club",
            "user": "inkwell",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": "B0INKWELL",
            "is_enterprise_install": False,
        }

    async def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args["user"]
        name = {MANAGER: "Ana", READER: "Bo"}.get(user, user)
        return {
            "user": {
                "id": user,
                "team_id": TEAM,
                "name": name.lower(),
                "real_name": name,
                "is_admin": False,
                "is_owner": False,
                "is_bot": False,
                "profile": {"display_name": name, "real_name": name},
            }
        }

    async def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args["channel"]
        return {
            "channel": {
                "id": channel,
                "name": "story" if channel == CHANNEL else "chat",
                "is_channel": True,
                "is_member": True,
                "creator": MANAGER,
                "created": 1700000000,
            }
        }

    async def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        message = SlackMessage(
            args["channel"],
            self.next_ts(),
            args.get("text") or "",
            args.get("blocks") or [],
            args.get("thread_ts"),
        )
        self.messages.append(message)
        return {"channel": message.channel, "ts": message.ts, "message": {"text": message.text}}

    async def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        message = SlackMessage(
            args["channel"], self.next_ts(), args.get("text") or "", [], args.get("thread_ts")
        )
        message.user = args["user"]
        self.ephemeral.append(message)
        return {"message_ts": message.ts}

    async def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = next(m for m in self.messages if m.ts == args["ts"])
        message.text = args.get("text") or message.text
        message.blocks = args.get("blocks") or message.blocks
        message.updates.append((time.monotonic(), message.text))
        return {"channel": message.channel, "ts": message.ts, "text": message.text}

    async def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        self._uploads[file_id] = {"id": file_id, "name": args["filename"], "data": None}
        upload_url = f"http://127.0.0.1:{self.port}/upload/{file_id}"
        return {"upload_url": upload_url, "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        self._uploads[request.match_info["file_id"]]["data"] = await request.read()
        return web.Response(text="OK - " + str(request.content_length))

    async def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = [{**self._uploads[f["id"]], "title": f.get("title")} for f in args["files"]]
        message = SlackMessage(
            args["channel_id"],
            self.next_ts(),
            args.get("initial_comment") or "",
            [],
            args.get("thread_ts"),
        )
        message.files = files
        self.messages.append(message)
        return {"files": [{"id": f["id"], "name": f["name"], "title": f["title"]} for f in files]}

    async def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent first, then its replies (only Inkwell's own posts are kept)."""
        thread = [
            m
            for m in self.messages
            if m.channel == args["channel"] and args["ts"] in (m.ts, m.thread_ts)
        ]
        limit = int(args.get("limit") or 1000)
        return {"messages": [_as_history(m) for m in thread][:limit], "has_more": False}

    async def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """A channel's top-level messages, newest first (only Inkwell's own posts are kept)."""
        top = [m for m in self.messages if m.channel == args["channel"] and not m.thread_ts]
        limit = int(args.get("limit") or 100)
        return {"messages": [_as_history(m) for m in reversed(top)][:limit], "has_more": False}

    async def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"file": self.shared[args["file"]]}

    async def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/socket"}

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        await self._note()
        return web.Response(text="ok")

    # ------------------------------------------------------------------ Socket Mode

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        self.sockets_opened += 1
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "fake", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A0INKWELL"},
        }
        await socket.send_str(json.dumps(hello))
        await self._note()
        try:
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(frame.data))
                    await self._note()
        finally:
            self._sockets.remove(socket)
        return socket


def _as_history(message: SlackMessage) -> dict[str, Any]:
    """A message of the bot's as conversations.replies describes it."""
    data: dict[str, Any] = {
        "type": "message",
        "ts": message.ts,
        "text": message.text,
        "user": BOT_USER,
        "bot_id": "B0INKWELL",
    }
    if message.thread_ts:
        data["thread_ts"] = message.thread_ts
    if message.files:
        data["files"] = [
            {"id": f["id"], "name": f["name"], "title": f["title"]} for f in message.files
        ]
    return data


async def _arguments(request: web.Request) -> dict[str, Any]:
    """Form, JSON or query arguments; JSON-valued fields (blocks, files) decoded."""
    if request.content_type == "application/json":
        args = dict(await request.json())
    elif request.method == "POST":
        args = dict(await request.post())
    else:
        args = {}
    args.update(request.query)
    for key in ("blocks", "files"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args
