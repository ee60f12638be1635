"""The Adapter protocol every platform integration implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from core.events import Action, Event, MessageRef

Dispatch = Callable[[Event], Awaitable[list[Action]]]
"""Hands an event to the core; returns the immediate replies for the requester.

Long work (illustrations, progress) arrives later through `Adapter.send`.
"""

ImageLoader = Callable[[str], Awaitable[bytes | None]]
"""Reads a stored picture (PNG bytes) by its image id; None when it is gone."""


@dataclass(frozen=True)
class Capabilities:
    edits: bool = False
    threads: bool = False
    buttons: bool = False
    max_upload_bytes: int = 8 * 1024 * 1024
    # Inkwell listens in a channel only after a manager enables it there (chat platforms, where
    # most channels are not stories); the web room's rooms are always stories.
    opt_in: bool = False


class Adapter(Protocol):
    @property
    def name(self) -> str:
        """The platform name used in `ChannelRef.platform`."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def start(self, dispatch: Dispatch) -> None:
        """Connect to the platform, then return; events flow to `dispatch` afterwards."""
        ...

    async def stop(self) -> None: ...

    async def send(self, action: Action) -> MessageRef | None:
        """Deliver an action; returns where it was posted, when the platform says."""
        ...
