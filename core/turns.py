"""Stories take turns at the engine: at most N at once, the rest served first come, first
served, one item per turn, so a story that just had its turn waits behind the others."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turns:
    def __init__(self, at_once: int) -> None:
        self._free = at_once
        self._line: deque[tuple[str, asyncio.Future[None]]] = deque()
        self._joined = asyncio.Event()  # set whenever a story joins the line

    @property
    def waiting(self) -> list[str]:
        """The stories waiting for a turn, first in line first."""
        return [key for key, _ in self._line]

    async def until_waiting(self, channel_key: str) -> None:
        """Return once the story waits in line (for observers; callers bound the wait)."""
        while channel_key not in self.waiting:
            self._joined.clear()  # no await between the check and the clear: nothing is missed
            await self._joined.wait()

    @asynccontextmanager
    async def turn(self, channel_key: str) -> AsyncIterator[None]:
        if self._free > 0 and not self._line:
            self._free -= 1
        else:
            ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (channel_key, ticket)
            self._line.append(entry)
            self._joined.set()
            try:
                await ticket  # its turn is handed over by `_pass_on`, the slot with it
            except BaseException:
                if entry in self._line:
                    self._line.remove(entry)
                elif ticket.done() and not ticket.cancelled():
                    self._pass_on()  # handed a turn it can no longer take
                raise
        try:
            yield
        finally:
            self._pass_on()

    def _pass_on(self) -> None:
        while self._line:
            _, ticket = self._line.popleft()
            if not ticket.done():
                ticket.set_result(None)
                return
        self._free += 1
