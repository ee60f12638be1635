"""Bounded waiting for a condition another thread makes true (it has no event to await)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(check: Callable[[], bool], timeout: float = 5) -> None:
    """Return once `check()` holds; raise TimeoutError after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.001)
