"""The state of each platform connection (a gateway, a socket), for `/health` and `/metrics`.

An adapter that holds a connection owns one `Connection` and reports to it; a supervisor
restarts the connection when it fails, with a growing pause between tries (`Backoff`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from core import metrics

log = logging.getLogger("inkwell.connections")

CONNECTING = "connecting"
CONNECTED = "connected"
RESTARTING = "restarting"
STOPPED = "stopped"


@dataclass
class Connection:
    """One platform connection: its state, why it last failed, how often it was restarted."""

    platform: str
    state: str = CONNECTING
    cause: str = ""
    restarts: int = 0

    _waiters: list[tuple[str, asyncio.Future[None]]] = field(default_factory=list, repr=False)

    def connected(self) -> None:
        self._become(CONNECTED, "")
        metrics.connection_state(self.platform, up=True)

    def failed(self, cause: str) -> None:
        """The connection ended by a failure; the supervisor is about to restart it."""
        self.restarts += 1
        self._become(RESTARTING, cause)
        metrics.connection_state(self.platform, up=False)
        metrics.connection_restarted(self.platform)

    def stopped(self) -> None:
        self._become(STOPPED, "")
        metrics.connection_state(self.platform, up=False)

    async def reached(self, state: str, timeout_s: float) -> None:
        """Wait (at most `timeout_s`, else TimeoutError) until the connection is in `state`."""
        if self.state == state:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = (state, future)
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(future, timeout_s)
        finally:
            self._waiters.remove(waiter)

    def _become(self, state: str, cause: str) -> None:
        self.state, self.cause = state, cause
        for wanted, future in self._waiters:
            if wanted == state and not future.done():
                future.set_result(None)

    def describe(self) -> str:
        """ "connected", or the state with its cause, in words for an operator."""
        if self.state == CONNECTED:
            return CONNECTED
        return f"{self.state}: {self.cause}" if self.cause else self.state


@dataclass
class Backoff:
    """Pauses between restarts: `first_s`, doubling up to `most_s`; reset once connected."""

    first_s: float = 1.0
    most_s: float = 60.0
    _next: float = field(default=0.0, init=False)

    def next_pause(self) -> float:
        pause = self._next or self.first_s
        self._next = min(pause * 2, self.most_s)
        return pause

    def reset(self) -> None:
        self._next = 0.0
