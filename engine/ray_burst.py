"""The bot side of Ray calls: calls made in the same event-loop turn travel to a replica together.

Channels that post at the same moment call the engine in the same turn of the bot's event
loop. Sent one by one, the first would reach an idle replica alone and start a model call of
its own before the others arrive; sent as one burst (one streamed replica call carrying every
caller's items), the replica queues them at once and runs them as one batch. Each caller keeps
its own progress, result, error and cancellation; a burst whose replica is lost is sent again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from core import metrics
from core.engine import CancelToken, ProgressCallback, StepProgress
from engine.batching import Gathering, answer_of
from engine.ray_calls import StepEvent

logger = logging.getLogger("inkwell.models")


class EngineUnavailable(RuntimeError):
    """The engine's workers failed this call twice; the message is meant for writers."""


WRITER_MESSAGE = (
    "The drawing engine stopped while working on this ({kind}) and stopped again on a retry. "
    "Your text is kept; please try again in a minute."
)


def replica_lost(error: BaseException) -> str | None:
    """'replica died' or 'out of memory' when `error` means the replica failed, else None."""
    from ray import exceptions

    if isinstance(error, exceptions.OutOfMemoryError):
        return "out of memory"
    if isinstance(error, exceptions.RayTaskError):
        cause = getattr(error, "cause", None)
        if cause is not None and "OutOfMemoryError" in type(cause).__name__:
            return "out of memory"  # torch.cuda.OutOfMemoryError inside the runner
    lost = (
        exceptions.RayActorError,
        exceptions.ActorUnavailableError,
        exceptions.WorkerCrashedError,
        exceptions.NodeDiedError,
    )
    if isinstance(error, lost) or "OutOfMemoryError" in type(error).__name__:
        return "replica died" if isinstance(error, lost) else "out of memory"
    return None


@dataclass(eq=False)
class Caller:
    """One engine call waiting for its answer from a burst."""

    items: list[Any]
    progress: ProgressCallback | None
    cancel: CancelToken | None
    future: asyncio.Future[Any]
    gone: bool = False  # the caller stopped waiting (cancelled)
    stream: Stream | None = None  # the replica call it is part of now

    def waiting(self) -> bool:
        return not self.gone and not self.future.done()

    def settle(self, value: Any = None, error: BaseException | None = None) -> None:
        if self.waiting():
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(value)

    def leave(self) -> None:
        self.gone = True
        if self.stream is not None:
            self.stream.left()


@dataclass(eq=False)
class Stream:
    """One streamed replica call and the callers it answers."""

    response: Any
    callers: list[Caller]

    def left(self) -> None:
        """A caller left: once every caller still unanswered has, the replica may stop."""
        if all(c.gone for c in self.callers if not c.future.done()):
            self.response.cancel()


Failure = tuple[Caller, BaseException]


class Bursts:
    """Gathers each turn's calls per kind and streams them to a replica as one call."""

    def __init__(self, handle: Any, retries: int = 1, cancel_poll_s: float = 0.05) -> None:
        self._handle = handle
        self._streaming = handle.options(stream=True)  # made once: options() costs per call
        self._retries = retries
        self._poll = cancel_poll_s
        self._gathering: dict[str, Gathering[Caller]] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self.retried = 0  # bursts sent again after a replica failure

    async def call(
        self,
        name: str,
        items: list[Any],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Any:
        """Join this turn's burst of `name` calls and wait for this caller's answer."""
        loop = asyncio.get_running_loop()
        caller = Caller(items, progress, cancel, loop.create_future())
        if name not in self._gathering:
            self._gathering[name] = Gathering(lambda callers: self._send(name, callers))
        self._gathering[name].add(caller)
        return await answer_of(caller.future, cancel, self._poll, caller.leave)

    def _send(self, name: str, callers: list[Caller]) -> None:
        task = asyncio.ensure_future(self._run(name, callers))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _run(self, name: str, callers: list[Caller]) -> None:
        """Stream the burst; callers whose replica was lost are sent again, once."""
        job_id = uuid.uuid4().hex[:12]
        try:
            for attempt in range(self._retries + 1):
                callers = [c for c in callers if c.waiting()]
                if not callers:
                    return
                started = time.perf_counter()
                failures = await self._stream(name, callers, job_id)
                callers = self._answer_failures(failures, last=attempt == self._retries)
                if callers:
                    logger.warning(
                        "engine job %s: %d %s calls lost their replica after %.1fs (attempt %d)",
                        *(job_id, len(callers), name, time.perf_counter() - started, attempt + 1),
                    )
                    self.retried += 1
        except asyncio.CancelledError:
            for caller in callers:  # nobody may be left waiting forever
                if caller.waiting():
                    caller.future.cancel()
            raise
        except Exception as error:  # a bug here: its callers hear of it, nobody waits forever
            logger.exception("engine job %s: %s burst failed", job_id, name)
            for caller in callers:
                caller.settle(error=error)

    def _answer_failures(self, failures: list[Failure], *, last: bool) -> list[Caller]:
        """Fail the callers whose errors are final; return those to send again."""
        again: list[Caller] = []
        for caller, error in failures:
            kind = replica_lost(error)
            metrics.count_error(f"engine:{kind or type(error).__name__}")
            if kind is not None and not last:
                again.append(caller)
            elif kind is not None:
                metrics.count_error("engine:unavailable")
                unavailable = EngineUnavailable(WRITER_MESSAGE.format(kind=kind))
                unavailable.__cause__ = error
                caller.settle(error=unavailable)
            else:
                caller.settle(error=error)
        return again

    async def _stream(self, name: str, callers: list[Caller], job_id: str) -> list[Failure]:
        """One streamed replica call for `callers`; returns the callers it failed, with why."""
        started = time.perf_counter()
        # Step events are streamed only to callers that show progress: each costs a message.
        # A burst nobody watches is answered in one reply, cheaper than a stream.
        watched = [c.progress is not None for c in callers]
        items = [c.items for c in callers]
        if any(watched):
            response = self._streaming.call.remote(name, items, watched)
            messages = response
        else:
            response = self._handle.answer.remote(name, items)
            messages = _one_reply(response)
        stream = Stream(response, callers)
        for caller in callers:
            caller.stream = stream
        answered: set[int] = set()
        failures: list[Failure] = []
        try:
            async for message in messages:
                for event in message:
                    caller = callers[event.part]
                    if isinstance(event, StepEvent):
                        _report(caller, event)
                        continue
                    answered.add(event.part)
                    if event.error is not None:
                        failures.append((caller, event.error))
                    else:
                        metrics.engine_batch(name, event.batch_size)
                        metrics.engine_call(name, started)
                        caller.settle(event.value)
                if len(answered) == len(callers):
                    return failures  # the stream only has its end left to send
        except asyncio.CancelledError:
            response.cancel()
            raise
        except Exception as error:
            unanswered = [c for n, c in enumerate(callers) if n not in answered]
            # Every caller left and the stream was cancelled for them: nothing failed.
            return failures + [(c, error) for c in unanswered if c.waiting()]
        missing = EngineUnavailable(f"the engine ended job {job_id} without an answer")
        return failures + [(c, missing) for n, c in enumerate(callers) if n not in answered]


async def _one_reply(response: Any) -> AsyncIterator[list[Any]]:
    yield await response


def _report(caller: Caller, event: StepEvent) -> None:
    if caller.progress is None or not caller.waiting():
        return
    try:
        caller.progress(StepProgress(event.step, event.total))
    except Exception:
        logger.exception("progress callback failed")
