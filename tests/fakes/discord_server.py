"""A fake Discord on 127.0.0.1: the gateway websocket and the REST routes discord.py calls."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes import discord_payloads as shapes
from tests.fakes.discord_payloads import FakeUser, Posted, snowflake
from tests.fakes.fake_http import Recorder, ServedFiles, exact_json, read_discord_body

EPHEMERAL = 1 << 6


class FakeDiscord(Recorder):
    """One guild with a story channel, a quiet channel and a thread; a manager and a reader."""

    def __init__(self) -> None:
        super().__init__()
        self.app_id = snowflake()
        self.bot = FakeUser(snowflake(), "Inkwell", bot=True)
        self.manager = FakeUser(snowflake(), "Ana", shapes.VIEW_SEND | shapes.MANAGE_CHANNELS)
        self.reader = FakeUser(snowflake(), "Bo")
        self.guild_id = snowflake()
        self.story = shapes.text_channel(snowflake(), self.guild_id, "story")
        self.quiet = shapes.text_channel(snowflake(), self.guild_id, "general")
        self.thread = shapes.thread(
            snowflake(), self.guild_id, self.story["id"], self.manager.id, "side-quest"
        )
        self.posted: list[Posted] = []
        self.nonce_repeats = 0  # messages answered with an earlier one of the same nonce
        self.callbacks: list[dict[str, Any]] = []
        self.synced_commands: list[dict[str, Any]] = []
        self.identifies: list[dict[str, Any]] = []
        self.dispatched: list[tuple[str, dict[str, Any]]] = []  # gateway events sent, in order
        self.interaction_channels: dict[str, str] = {}  # token -> channel its follow-ups go to
        self.dispatched_at: dict[str, float] = {}  # token -> when the interaction was sent
        self.expire_follow_ups = False  # answer follow-ups as Discord does after 15 minutes
        # token -> the flags of a deferred response whose "thinking" message is unresolved
        self._thinking: dict[str, int] = {}
        self.cdn = ServedFiles()  # attachment bytes, served where their `url` points
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        api = "/api/v10"
        app.router.add_get(f"{api}/gateway/bot", self._gateway_bot)
        app.router.add_get(f"{api}/users/@me", self._me)
        app.router.add_get(f"{api}/oauth2/applications/@me", self._application)
        app.router.add_put(f"{api}/applications/{{app}}/commands", self._sync)
        app.router.add_post(f"{api}/channels/{{channel}}/messages", self._create)
        app.router.add_patch(f"{api}/channels/{{channel}}/messages/{{message}}", self._edit)
        app.router.add_post(f"{api}/interactions/{{id}}/{{token}}/callback", self._callback)
        app.router.add_post(f"{api}/webhooks/{{app}}/{{token}}", self._followup)
        original = f"{api}/webhooks/{{app}}/{{token}}/messages/@original"
        app.router.add_patch(original, self._edit_original)
        app.router.add_get("/gateway", self._gateway)
        self.cdn.mount(app)
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

    # ------------------------------------------------------------------ what a test does

    async def say(
        self,
        user: FakeUser,
        content: str,
        channel: dict[str, Any] | None = None,
        *,
        mention: bool = False,
        attachments: list[dict[str, Any]] = (),  # type: ignore[assignment]
        reply_to: Posted | None = None,
        mentions: list[FakeUser] = (),  # type: ignore[assignment]
    ) -> str:
        """A user posts a message (a reply when `reply_to` is given); returns its id."""
        channel = channel or self.story
        text = f"<@{self.bot.id}> {content}" if mention else content
        message_id = snowflake()
        data = shapes.message(
            message_id,
            channel["id"],
            self.guild_id,
            user,
            text,
            mentions=([self.bot] if mention else []) + list(mentions),
            attachments=attachments,
            reference=_reference_to(reply_to.data) if reply_to else None,
            referenced=reply_to.data if reply_to else None,
        )
        await self.dispatch("MESSAGE_CREATE", data)
        return message_id

    def attachment(
        self, filename: str, content_type: str | None, size: int, data: bytes = b""
    ) -> dict[str, Any]:
        """An attachment as Discord describes it; `data`, if any, is served at its url."""
        key = f"{snowflake()}-{filename}"
        self.cdn.data[key] = data
        return shapes.attachment(filename, content_type, size, self.cdn.url(self.port, key))

    async def slash(
        self,
        user: FakeUser,
        subcommand: str,
        channel: dict[str, Any] | None = None,
        *,
        created_ms: int | None = None,
        options: list[dict[str, Any]] | None = None,
        resolved: dict[str, Any] | None = None,
    ) -> str:
        """`/inkwell <subcommand>`, or a subcommand group's `options`; returns the token."""
        command = next(c for c in self.synced_commands if c["name"] == "inkwell")
        data = {
            "id": command["id"],
            "name": "inkwell",
            "type": 1,  # CHAT_INPUT; a global command's data carries no guild_id
            "options": options or [{"name": subcommand, "type": 1, "options": []}],
        }
        if resolved:
            data["resolved"] = resolved
        return await self._interact(2, user, channel or self.story, data, None, created_ms)

    async def click(self, user: FakeUser, posted: Posted, custom_id: str) -> str:
        channel = self.thread if posted.data["channel_id"] == self.thread["id"] else self.story
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(3, user, channel, data, posted.data, None)

    async def _interact(self, kind, user, channel, data, message, created_ms) -> str:
        token = f"tok-{uuid.uuid4().hex}"
        payload = shapes.interaction(
            kind,
            self.app_id,
            self.guild_id,
            channel,
            user,
            data,
            token=token,
            message=message,
            created_ms=created_ms,
        )
        self.interaction_channels[token] = channel["id"]
        self.dispatched_at[token] = time.monotonic()
        await self.dispatch("INTERACTION_CREATE", payload)
        return token

    async def click_foreign(self, user: FakeUser, posted: Posted, custom_id: str) -> str:
        """A click on a component whose custom id is not Inkwell's (another bot's button)."""
        return await self.click(user, posted, custom_id)

    async def unreadable_interaction(self, user: FakeUser) -> str:
        """An interaction in the docs' older shape, without `version`, which discord.py's
        Interaction can't read (a KeyError inside its parser)."""
        token = f"tok-{uuid.uuid4().hex}"
        data = {"custom_id": "inkwell:why:ab", "component_type": 2}
        payload = shapes.interaction(
            3, self.app_id, self.guild_id, self.story, user, data, token=token
        )
        del payload["version"]
        await self.dispatch("INTERACTION_CREATE", payload)
        return token

    async def drop_gateway(self, code: int) -> None:
        """Close every gateway connection with `code` (4014: intents disallowed, which
        discord.py does not resume from: its client ends)."""
        for socket in list(self._sockets):
            await socket.close(code=code, message=b"dropped by the fake")

    def followups(self, token: str) -> list[Posted]:
        """An interaction's answers: its response message, the resolved "thinking" message
        and its follow-ups, in order."""
        return [p for p in self.posted if p.token == token]

    async def followups_of(self, token: str) -> list[Posted]:
        """Wait for the answer to an interaction."""
        return await self.until(lambda: self.followups(token))

    # ------------------------------------------------------------------ gateway

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.dispatched.append((event, data))
        for socket in list(self._sockets):
            await self._send(socket, {"op": 0, "t": event, "d": data})

    async def _send(self, socket: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        if payload["op"] == 0:
            self._seq += 1
            payload["s"] = self._seq
        else:
            payload.setdefault("s", None)
            payload.setdefault("t", None)
        await socket.send_str(json.dumps(payload))

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await self._send(socket, {"op": 10, "d": {"heartbeat_interval": 41250}})  # HELLO
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(frame.data)
                if payload["op"] == 1:  # HEARTBEAT
                    await self._send(socket, {"op": 11})
                elif payload["op"] == 2:  # IDENTIFY
                    await self._identify(socket, payload["d"])
        finally:
            if socket in self._sockets:
                self._sockets.remove(socket)
        return socket

    async def _identify(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        self._sockets.append(socket)
        ready = {
            "v": 10,
            "user": self.bot.user(),
            "guilds": [{"id": self.guild_id, "unavailable": True}],
            "session_id": uuid.uuid4().hex,
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
            "shard": data.get("shard", [0, 1]),
            "application": {"id": self.app_id, "flags": 0},
        }
        await self._send(socket, {"op": 0, "t": "READY", "d": ready})
        full = shapes.guild(self.guild_id, self.manager.id, [self.story, self.quiet], [self.thread])
        await self._send(socket, {"op": 0, "t": "GUILD_CREATE", "d": full})
        await self._note()

    # ------------------------------------------------------------------ REST

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        url = f"ws://127.0.0.1:{self.port}/gateway"
        return exact_json({"url": url, "shards": 1, "session_start_limit": limit})

    async def _me(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bot fake-discord-token":
            return exact_json({"message": "401: Unauthorized", "code": 0}, status=401)
        return exact_json(self.bot.user())

    async def _application(self, request: web.Request) -> web.Response:
        return exact_json(shapes.application(self.app_id, self.manager))

    async def _sync(self, request: web.Request) -> web.Response:
        commands = await request.json()
        for command in commands:
            command.update(id=snowflake(), application_id=self.app_id, version=snowflake())
        self.synced_commands = commands
        await self._note()
        return exact_json(commands)

    async def _create(self, request: web.Request) -> web.Response:
        body, files = await read_discord_body(request)
        channel, nonce = request.match_info["channel"], body.get("nonce")
        if nonce and body.get("enforce_nonce"):
            # Discord: the same author's message with this nonce (within minutes) is returned
            # instead of a new one.
            for earlier in self.posted:
                if earlier.data["channel_id"] == channel and earlier.data.get("nonce") == nonce:
                    self.nonce_repeats += 1
                    return exact_json(earlier.data)
        posted = self._store(channel, body, files)
        if nonce:
            posted.data["nonce"] = nonce
        return exact_json(posted.data)

    async def _edit(self, request: web.Request) -> web.Response:
        body, _ = await read_discord_body(request)
        posted = next(p for p in self.posted if p.data["id"] == request.match_info["message"])
        for key in ("content", "components"):
            if key in body:
                posted.data[key] = body[key] if body[key] is not None else []
        posted.data["edited_timestamp"] = shapes.iso_now()
        posted.edits.append((time.monotonic(), dict(body)))
        await self._note()
        return exact_json(posted.data)

    async def _callback(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body, files = await read_discord_body(request)
        body["token"] = token
        body["at"] = time.monotonic()
        self.callbacks.append(body)
        data = body.get("data") or {}
        flags = data.get("flags", 0)
        if body["type"] == 5:  # DEFERRED_CHANNEL_MESSAGE: "thinking", seen as `flags` say
            self._thinking[token] = flags
        elif body["type"] == 4 and token in self.interaction_channels:  # a message at once
            posted = self._store(self.interaction_channels[token], data, files, via="response")
            posted.token = token
        await self._note()
        interaction = {
            "id": request.match_info["id"],
            "type": body["type"],
            "response_message_loading": body["type"] == 5,
            "response_message_ephemeral": bool(flags & EPHEMERAL),
        }
        return exact_json({"interaction": interaction, "resource": {"type": body["type"]}})

    async def _followup(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if self.expire_follow_ups:
            return _expired()
        body, files = await read_discord_body(request)
        if token in self._thinking:
            # As Discord does: the first follow-up after a defer resolves the "thinking"
            # message, with the defer's visibility whatever its own flags say.
            body["flags"] = self._thinking.pop(token)
        posted = self._store(self.interaction_channels[token], body, files, via="followup")
        posted.token = token
        return exact_json(posted.data)

    async def _edit_original(self, request: web.Request) -> web.Response:
        """PATCH @original: resolves a "thinking" message (keeping its visibility) or edits
        the interaction's first answer."""
        token = request.match_info["token"]
        if self.expire_follow_ups:
            return _expired()
        body, files = await read_discord_body(request)
        if token in self._thinking:
            body["flags"] = self._thinking.pop(token)  # it keeps the defer's visibility
            posted = self._store(self.interaction_channels[token], body, files, via="original")
            posted.token = token
            return exact_json(posted.data)
        first = next((p for p in self.posted if p.token == token), None)
        if first is None:
            return exact_json({"message": "Unknown Message", "code": 10008}, status=404)
        if "content" in body:
            first.data["content"] = body["content"] or ""
        first.edits.append((time.monotonic(), dict(body)))
        await self._note()
        return exact_json(first.data)

    def _store(self, channel_id: str, body: dict, files: list, via: str = "channel") -> Posted:
        reference = body.get("message_reference")
        if reference:  # Discord answers with string ids, whatever the client sent
            reference = {k: str(v) if k.endswith("_id") else v for k, v in reference.items()}
        uploaded = [
            shapes.attachment(name, "image/png", len(data), f"http://127.0.0.1/{name}")
            for name, data in files
        ]
        data = shapes.message(
            snowflake(),
            channel_id,
            self.guild_id,
            self.bot,
            body.get("content") or "",
            attachments=uploaded,
            components=body.get("components") or [],
            reference=reference,
            flags=body.get("flags", 0),
        )
        posted = Posted(data, files, via=via, allowed_mentions=body.get("allowed_mentions"))
        self.posted.append(posted)
        asyncio.get_running_loop().create_task(self._note())
        return posted


def _expired() -> web.Response:
    """What Discord answers for an interaction token older than 15 minutes."""
    return exact_json({"message": "Invalid Webhook Token", "code": 50027}, status=401)


def _reference_to(message: dict[str, Any]) -> dict[str, Any]:
    reference = {"message_id": message["id"], "channel_id": message["channel_id"]}
    if message.get("guild_id"):
        reference["guild_id"] = message["guild_id"]
    return reference
