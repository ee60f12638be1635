"""Bursts: one turn's calls share one streamed replica call (a scripted replica stands in)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from core.engine import CancelToken, GenerationCancelled, StepProgress
from engine.ray_burst import Bursts, EngineUnavailable
from engine.ray_calls import CallResult, StepEvent

pytestmark = pytest.mark.asyncio

END = object()


class Response:
    """A replica call whose events the test sends one by one: streamed, or one reply."""

    def __init__(self, method: str, name: str, parts: list[list[Any]]) -> None:
        self.method, self.name, self.parts = method, name, parts
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.cancelled = False
        self.watched: list[bool] = []

    def send(self, *events: Any) -> None:
        for event in events:
            self.events.put_nowait(event)

    def cancel(self) -> None:
        self.cancelled = True
        self.send(RuntimeError("request cancelled"))

    async def _next(self) -> Any:
        event = await self.events.get()
        if event is END:
            raise StopAsyncIteration
        if isinstance(event, BaseException):
            raise event
        return event

    def __aiter__(self) -> Response:
        return self

    async def __anext__(self) -> list[Any]:
        return [await self._next()]  # the replica streams lists of events

    def __await__(self) -> Any:
        return self._reply().__await__()

    async def _reply(self) -> list[Any]:
        """The one reply: every event sent before END."""
        events = []
        with contextlib.suppress(StopAsyncIteration):
            while True:
                events.append(await self._next())
        return events


class Method:
    def __init__(self, replica: Replica, name: str) -> None:
        self.replica, self.name = replica, name

    def remote(self, name: str, parts: list[list[Any]], watched: Any = None) -> Response:
        response = Response(self.name, name, parts)
        response.watched = watched
        self.replica.responses.append(response)
        self.replica.changed.set()
        return response


class Replica:
    """Stands in for the deployment handle: records every call it is sent."""

    def __init__(self) -> None:
        self.responses: list[Response] = []
        self.changed = asyncio.Event()  # set on every call sent
        self.call = Method(self, "call")  # streamed
        self.answer = Method(self, "answer")  # one reply

    def options(self, stream: bool) -> Replica:
        return self

    async def sent(self, count: int) -> Response:
        async with asyncio.timeout(5):
            while len(self.responses) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.responses[count - 1]


def answer(part: int, value: Any) -> CallResult:
    return CallResult(value, batch_size=3, part=part)


async def test_calls_made_in_one_turn_travel_as_one_replica_call() -> None:
    replica = Replica()
    bursts = Bursts(replica, cancel_poll_s=0.01)
    calls = [asyncio.ensure_future(bursts.call("embed_texts", [word])) for word in "abc"]
    first = await replica.sent(1)
    assert (first.name, first.parts) == ("embed_texts", [["a"], ["b"], ["c"]])
    assert first.method == "answer"  # nobody shows progress: one reply, no stream
    first.send(answer(2, "C"), answer(0, "A"), answer(1, "B"), END)
    assert await asyncio.wait_for(asyncio.gather(*calls), 5) == ["A", "B", "C"]

    later = asyncio.ensure_future(bursts.call("embed_texts", ["d"]))
    second = await replica.sent(2)
    assert second.parts == [["d"]]
    second.send(answer(0, "D"), END)
    assert second.method == "answer"
    assert await asyncio.wait_for(later, 5) == "D"


async def test_progress_and_errors_reach_only_their_own_caller() -> None:
    replica = Replica()
    bursts = Bursts(replica, cancel_poll_s=0.01)
    seen: dict[str, list[int]] = {"kite": [], "boat": []}

    def noting(name: str) -> Any:
        return lambda update: seen[name].append(update.step)

    kite = asyncio.ensure_future(bursts.call("generate", ["kite"], noting("kite")))
    boat = asyncio.ensure_future(bursts.call("generate", ["boat"], noting("boat")))
    response = await replica.sent(1)
    assert (response.method, response.watched) == ("call", [True, True])
    response.send(StepEvent(1, 2, part=1), StepEvent(2, 2, part=1))
    response.send(CallResult(part=0, error=ValueError("no kites today")), answer(1, "a boat"))
    with pytest.raises(ValueError, match="no kites"):
        await asyncio.wait_for(kite, 5)
    assert await asyncio.wait_for(boat, 5) == "a boat"
    assert seen == {"kite": [], "boat": [1, 2]}


async def test_the_replica_call_is_cancelled_once_every_caller_left() -> None:
    replica = Replica()
    bursts = Bursts(replica, cancel_poll_s=0.01)
    first, second = CancelToken(), CancelToken()
    steps: list[StepProgress] = []
    a = asyncio.ensure_future(bursts.call("generate", ["a"], steps.append, cancel=first))
    b = asyncio.ensure_future(bursts.call("generate", ["b"], cancel=second))
    response = await replica.sent(1)
    first.cancel()
    with pytest.raises(GenerationCancelled):
        await asyncio.wait_for(a, 5)
    response.send(StepEvent(1, 4, part=0))
    assert not response.cancelled  # b still waits for the shared call
    second.cancel()
    with pytest.raises(GenerationCancelled):
        await asyncio.wait_for(b, 5)
    assert response.cancelled and steps == []


async def test_a_caller_whose_task_is_cancelled_leaves_its_burst() -> None:
    replica = Replica()
    bursts = Bursts(replica, cancel_poll_s=0.01)
    call = asyncio.ensure_future(bursts.call("generate", ["a"]))
    response = await replica.sent(1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert response.cancelled


async def test_a_lost_replica_is_retried_once_for_the_unanswered_callers() -> None:
    exceptions = pytest.importorskip("ray.exceptions")
    replica = Replica()
    bursts = Bursts(replica, retries=1, cancel_poll_s=0.01)
    shown: list[StepProgress] = []
    answered = asyncio.ensure_future(bursts.call("generate", ["kite"], shown.append))
    retried = asyncio.ensure_future(bursts.call("generate", ["boat"], shown.append))
    first = await replica.sent(1)
    first.send(answer(0, "a kite"), exceptions.ActorDiedError())
    assert await asyncio.wait_for(answered, 5) == "a kite"
    second = await replica.sent(2)
    assert (second.method, second.parts) == ("call", [["boat"]])
    second.send(answer(0, "a boat"))
    assert await asyncio.wait_for(retried, 5) == "a boat"
    assert bursts.retried == 1

    # Lost twice: a message a writer can read, not a Ray traceback.
    unlucky = asyncio.ensure_future(bursts.call("generate", ["storm"]))
    (await replica.sent(3)).send(exceptions.ActorDiedError())
    (await replica.sent(4)).send(exceptions.ActorDiedError())
    with pytest.raises(EngineUnavailable, match="try again in a minute"):
        await asyncio.wait_for(unlucky, 5)
    assert bursts.retried == 2


async def test_other_errors_are_not_retried() -> None:
    replica = Replica()
    bursts = Bursts(replica, cancel_poll_s=0.01)
    call = asyncio.ensure_future(bursts.call("screen", ["a sentence"]))
    (await replica.sent(1)).send(TypeError("a bug in a request"))
    with pytest.raises(TypeError, match="a bug"):
        await asyncio.wait_for(call, 5)
    assert len(replica.responses) == 1 and bursts.retried == 0


async def test_a_stream_ending_without_an_answer_is_said_plainly() -> None:
    replica = Replica()
    bursts = Bursts(replica, cancel_poll_s=0.01)
    call = asyncio.ensure_future(bursts.call("screen", ["a sentence"]))
    (await replica.sent(1)).send(END)
    with pytest.raises(EngineUnavailable, match="without an answer"):
        await asyncio.wait_for(call, 5)
