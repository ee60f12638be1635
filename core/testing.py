"""An in-process adapter for tests, so a core conversation reads like a chat transcript."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from core.adapter import Capabilities, Dispatch
from core.events import Action, Author, ChannelRef, Event, MessageRef, ParagraphPosted

ActionT = TypeVar("ActionT", bound=Action)


class FakeAdapter:
    """Records every action the core sends; `post` plays a writer."""

    name = "fake"
    capabilities = Capabilities(edits=True, threads=True, buttons=True)

    def __init__(self) -> None:
        self.sent: list[Action] = []
        self.message_ids: list[str] = []  # where each sent action landed, in the same order
        self._dispatch: Dispatch | None = None
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)

    async def start(self, dispatch: Dispatch) -> None:
        self._dispatch = dispatch

    async def stop(self) -> None:
        self._dispatch = None

    async def send(self, action: Action) -> MessageRef:
        ref = MessageRef(action.channel, f"m{next(self._ids)}")
        async with self._changed:
            self.sent.append(action)
            self.message_ids.append(ref.message_id)
            self._changed.notify_all()
        return ref

    def message_of(self, action: Action) -> str:
        """The message id `send` returned for this action."""
        return self.message_ids[self.sent.index(action)]

    def channel(self, name: str = "story") -> ChannelRef:
        return ChannelRef(self.name, name)

    async def dispatch(self, event: Event) -> list[Action]:
        assert self._dispatch is not None, "adapter not started"
        return await self._dispatch(event)

    async def post(self, text: str, channel: str = "story", author: str = "ana") -> list[Action]:
        message = MessageRef(self.channel(channel), f"in{next(self._ids)}")
        event = ParagraphPosted(
            self.channel(channel), Author(author, author.title()), text=text, message=message
        )
        return await self.dispatch(event)

    def of_type(self, kind: type[ActionT]) -> list[ActionT]:
        return [action for action in self.sent if isinstance(action, kind)]

    async def wait_for(
        self, kind: type[ActionT], count: int = 1, timeout: float = 30
    ) -> list[ActionT]:
        """Wait until at least `count` actions of `kind` were sent; returns them all."""

        async def enough() -> list[ActionT]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.of_type(kind)) >= count)
            return self.of_type(kind)

        return await asyncio.wait_for(enough(), timeout)


class ManualClock:
    """A clock that moves only when told: lease expiry and retry delays without real waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ManualTimer:
    """A monotonic clock (seconds, as time.monotonic) and its `sleep`, moving only when told:
    throttles and timers are tested without real waiting. `advance` wakes every sleeper whose
    time has come; they run at the caller's next await."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, woken))
        await woken

    @property
    def sleeping(self) -> int:
        """Sleepers not woken yet (cancelled ones included until their time comes)."""
        return sum(1 for _, woken in self._sleepers if not woken.done())

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [(at, woken) for at, woken in self._sleepers if at <= self.now]
        self._sleepers = [(at, woken) for at, woken in self._sleepers if at > self.now]
        for _, woken in sorted(due, key=lambda pair: pair[0]):
            if not woken.done():
                woken.set_result(None)
