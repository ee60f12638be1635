"""Keeps the Discord gateway alive: unreadable events are skipped, failures restart it.

discord.py ends the whole client when one gateway event fails to parse (an interaction
without `version`, say), and `connect()` then raises; nothing would reconnect. Here every
parser is guarded, so a bad event is logged at ERROR and skipped, and a supervisor restarts
the connection with a fresh client after any failure, pausing longer each time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from core import metrics
from core.connections import Backoff, Connection

log = logging.getLogger("inkwell.discord")


def skip_unreadable_events(client: discord.Client) -> None:
    """Wrap each gateway event parser of `client` so its failure skips that event only."""
    parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
    for name, parse in list(parsers.items()):
        parsers[name] = _guarded(name, parse)


def _guarded(name: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def guarded(data: Any) -> None:
        try:
            parse(data)
        except Exception as error:
            metrics.count_error("discord:unreadable_event")
            shown = {k: data[k] for k in ("id", "type") if isinstance(data, dict) and k in data}
            log.error(
                "skipped a %s event discord.py could not read (%s: %s) %s",
                name,
                type(error).__name__,
                error,
                shown,
                exc_info=error,
            )

    return guarded


class GatewaySupervisor:
    """Runs `client.connect()`, and after any failure a fresh client from `login`, forever;
    `connection` shows where it stands, `backoff` spaces the restarts."""

    def __init__(
        self,
        login: Callable[[], Awaitable[discord.Client]],
        connection: Connection,
        backoff: Backoff,
    ) -> None:
        self._login = login
        self.connection = connection
        self._backoff = backoff
        self._stopping = False

    def connected(self) -> None:
        """Called by the client once ready (or resumed)."""
        self.connection.connected()
        self._backoff.reset()

    async def run(self, client: discord.Client) -> None:
        while True:
            cause = await self._connect(client)
            if self._stopping:
                return
            pause = self._backoff.next_pause()
            self.connection.failed(cause)
            log.error(
                "the Discord connection ended (%s); restart %d in %.1f s",
                cause,
                self.connection.restarts,
                pause,
            )
            await client.close()
            client = await self._fresh_client(pause)
            if client is None:
                return

    async def stop(self) -> None:
        self._stopping = True
        self.connection.stopped()

    async def _connect(self, client: discord.Client) -> str:
        try:
            await client.connect()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not self._stopping:
                log.error("the Discord gateway failed", exc_info=error)
            return f"{type(error).__name__}: {error}"
        return "the gateway connection closed"

    async def _fresh_client(self, pause: float) -> discord.Client | None:
        """A logged-in client after `pause`, retrying (with growing pauses) until one is."""
        while not self._stopping:
            await asyncio.sleep(pause)
            if self._stopping:
                return None
            try:
                return await self._login()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                pause = self._backoff.next_pause()
                self.connection.failed(f"{type(error).__name__}: {error}")
                log.error("logging in to Discord failed; next try in %.1f s", pause, exc_info=error)
        return None
