"""Whether Inkwell can work now: do the engine and storage answer, are the platform
connections up (for `/health`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any

from core.connections import CONNECTED, Connection
from core.engine import Engine
from storage.base import Storage

OK = "ok"


@dataclass(frozen=True)
class Health:
    """Each part's state: "ok", or what went wrong in words an operator can act on."""

    profile: str
    engine: str
    storage: str
    connections: tuple[tuple[str, str], ...] = ()  # (platform, "connected" or what is wrong)

    @property
    def ok(self) -> bool:
        linked = all(state == CONNECTED for _, state in self.connections)
        return self.engine == OK and self.storage == OK and linked


async def _answers(call: Awaitable[Any], timeout_s: float) -> str:
    try:
        await asyncio.wait_for(call, timeout_s)
    except TimeoutError:
        return f"no answer within {timeout_s:g} s (busy or stuck)"
    except Exception as error:  # any failure is the answer: reported, not raised
        return f"{type(error).__name__}: {error}"
    return OK


async def check_health(
    engine: Engine,
    storage: Storage,
    timeout_s: float = 10.0,
    connections: Iterable[Connection] = (),
) -> Health:
    """Ask both for real: a one-text CLIP embedding and a channel lookup, each time-bounded;
    the connections' states are as their supervisors last saw them."""
    engine_state, storage_state = await asyncio.gather(
        _answers(engine.embed_texts(["health check"]), timeout_s),
        _answers(storage.channels.get("health:check"), timeout_s),
    )
    linked = tuple((c.platform, c.describe()) for c in connections)
    return Health(engine.profile_name, engine_state, storage_state, linked)
