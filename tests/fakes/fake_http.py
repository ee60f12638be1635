"""What the fake platform servers share: waiting on their records, and reading requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web


class Recorder:
    """A fake server's records can be waited on: every change wakes `until`."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()

    async def until(self, check: Callable[[], Any], timeout: float = 20) -> Any:
        """Wait until `check()` returns something truthy, re-checked on every change."""

        async def wait() -> Any:
            async with self._changed:
                while not (found := check()):
                    await self._changed.wait()
                return found

        return await asyncio.wait_for(wait(), timeout)

    async def _note(self) -> None:
        async with self._changed:
            self._changed.notify_all()


async def read_discord_body(request: web.Request) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """JSON, or multipart with `payload_json` and `files[n]` parts, as discord.py sends."""
    if not request.content_type.startswith("multipart/"):
        return await request.json(), []
    body: dict[str, Any] = {}
    files: list[tuple[str, bytes]] = []
    reader = await request.multipart()
    async for part in reader:
        if part.name == "payload_json":
            body = json.loads(await part.text())
        else:
            files.append((part.filename or part.name or "file", await part.read()))
    return body, files


def exact_json(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json": discord.py compares the header verbatim, as Discord sends it.
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers={"Content-Type": "application/json"})


class ServedFiles:
    """Bytes a fake serves at GET /files/{key}, as a platform's file host would; `token`, when
    set, is the bearer token a download must carry (Slack's url_private)."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.data: dict[str, bytes] = {}
        self.downloads: list[str] = []  # keys fetched, in order

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/files/{key}", self._serve)

    def url(self, port: int, key: str) -> str:
        return f"http://127.0.0.1:{port}/files/{key}"

    async def _serve(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if (
            self.token is not None
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            # Slack answers a download without the token with its sign-in page.
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        if key not in self.data:
            return web.Response(status=404)
        self.downloads.append(key)
        return web.Response(body=self.data[key], content_type="application/octet-stream")
