"""Works each story's stored events in order, under a lease, so no two processes share a story."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from core import metrics
from core.engine import CancelToken
from core.log_context import bind_job
from core.router import new_reference
from core.settings import setting
from core.turns import Turns
from storage.base import InboxItem, Storage
from storage.codec import now_utc

log = logging.getLogger("inkwell.inbox")


@dataclass(frozen=True)
class InboxSettings:
    """The `[inbox]` section: leases, retries and upkeep of the stored work."""

    lease_s: float = setting(
        30.0, "a story's work lease; a dead process's stories resume after this", at_least=1
    )
    sweep_interval_s: float = setting(
        5.0, "how often due retries and stories whose lease ran out are looked for", above=0
    )
    max_attempts: int = setting(3, "tries of a paragraph before the writers are told", at_least=1)
    retry_backoff_s: float = setting(
        30.0, "wait before the first retry; doubles each time", at_least=0
    )
    keep_finished_days: float = setting(
        7.0, "finished inbox entries are forgotten after this", above=0
    )
    stories_at_once: int = setting(
        8, "stories worked at the same time; the others wait their turn, served in turn", at_least=1
    )
    max_waiting_per_story: int = setting(
        50, "paragraphs and edits a story may have waiting; more are refused", at_least=1
    )
    max_waiting_per_writer: int = setting(
        5, "paragraphs one writer may have waiting in a story; more are refused", at_least=1
    )


class InboxHandler(Protocol):
    """Does one kind of work; `run` raising means the attempt failed."""

    async def run(self, item: InboxItem, cancel: CancelToken) -> None: ...

    async def retrying(self, item: InboxItem, delay_s: float) -> None:
        """Tell the writers the work will be tried again in `delay_s` seconds."""
        ...

    async def failed(self, item: InboxItem, reference: str) -> None:
        """Tell the writers the work gave up; `reference` is in the logs beside the error."""
        ...


@dataclass
class RunningItem:
    item: InboxItem
    cancel: CancelToken = field(default_factory=CancelToken)


class InboxWorker:
    """One drain task per channel in this process, and a lease per channel across processes.

    `notify` is the fast path (an event was just stored here); `sweep` is the slow path that
    finds work nobody is doing: events stored by another process, retries whose time came,
    and channels whose worker died and whose lease ran out.
    """

    def __init__(
        self,
        storage: Storage,
        handlers: dict[str, InboxHandler],
        settings: InboxSettings,
        owner: str | None = None,
        clock: Callable[[], datetime] = now_utc,
        on_start: Callable[[InboxItem], object] | None = None,
    ) -> None:
        self._storage = storage
        self._handlers = handlers
        self._settings = settings
        self.owner = owner or uuid.uuid4().hex
        self._clock = clock
        self._on_start = on_start
        self._drains: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._running: dict[str, RunningItem] = {}
        self._closed = False
        # One turn per item: a story that just had its turn queues behind every waiting
        # story, so stories are served in turn and a flood in one room can't starve others.
        self.turns = Turns(settings.stories_at_once)
        self.typical_item_s = 0.0  # running mean time of one item, for "try again in ..."

    def notify(self, channel_key: str) -> None:
        """There may be new work in this channel: drain it unless already draining here."""
        if self._closed:
            return
        if channel_key in self._drains:
            self._again.add(channel_key)  # look once more after the current pass
            return
        self._drains[channel_key] = asyncio.create_task(self._drain(channel_key))

    async def sweep(self) -> int:
        """Notify every channel with due work; returns how many had some."""
        keys = await self._storage.inbox.channels_with_due(self._clock())
        for key in keys:
            self.notify(key)
        return len(keys)

    def running(self, channel_key: str) -> RunningItem | None:
        return self._running.get(channel_key)

    async def join(self) -> None:
        """Wait until no channel is draining here (tests, graceful shutdown)."""
        while self._drains:
            await asyncio.gather(*list(self._drains.values()), return_exceptions=True)

    async def close(self) -> None:
        self._closed = True
        tasks = list(self._drains.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _drain(self, channel_key: str) -> None:
        try:
            while True:
                self._again.discard(channel_key)
                await self._drain_once(channel_key)
                if channel_key not in self._again:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("draining %s failed; the sweep will pick it up again", channel_key)
        finally:
            self._drains.pop(channel_key, None)

    async def _drain_once(self, channel_key: str) -> None:
        leases = self._storage.channels
        ttl = self._settings.lease_s
        if not await leases.try_lease(channel_key, self.owner, ttl, self._clock()):
            return  # another process works this story; the sweep retries if it dies
        lease_lost = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(channel_key, lease_lost))
        try:
            while not lease_lost.is_set():
                due = await self._storage.inbox.due(channel_key, self._clock(), limit=1)
                if not due:
                    return
                async with self.turns.turn(channel_key):
                    # A turn can take long to come: work only if this process still holds the
                    # story now (renewing says so), or the other owner and this one both would.
                    if lease_lost.is_set() or not await leases.try_lease(
                        channel_key, self.owner, ttl, self._clock()
                    ):
                        if not lease_lost.is_set():
                            log.error("lost the lease of %s while waiting for a turn", channel_key)
                        lease_lost.set()
                        return
                    await self._work(due[0])
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            if not lease_lost.is_set():
                await leases.release_lease(channel_key, self.owner)

    async def _keep_lease(self, channel_key: str, lost: asyncio.Event) -> None:
        interval = self._settings.lease_s / 3
        while True:
            await asyncio.sleep(interval)
            renewed = await self._storage.channels.try_lease(
                channel_key, self.owner, self._settings.lease_s, self._clock()
            )
            if not renewed:
                log.error("lost the lease of %s; stopping after the current event", channel_key)
                lost.set()
                return

    async def _work(self, item: InboxItem) -> None:
        handler = self._handlers.get(item.kind)
        if handler is None:
            log.error("no handler for inbox kind %r (item %s)", item.kind, item.id)
            await self._storage.inbox.mark_failed(item.id, f"unknown kind {item.kind!r}")
            return
        running = RunningItem(item)
        self._running[item.channel_key] = running
        bind_job(item.channel_key, item.id)  # this item's log lines carry its ids
        started = time.perf_counter()
        log.info("working %s %s in %s", item.kind, item.id, item.channel_key)
        try:
            if self._on_start is not None:
                await _maybe_await(self._on_start(item))
            await handler.run(item, running.cancel)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            metrics.job_finished(item.kind, "error", started)
            await self._after_failure(handler, item, error)
        else:
            metrics.job_finished(item.kind, "done", started)
            took = time.perf_counter() - started
            self.typical_item_s = (
                took if not self.typical_item_s else (0.9 * self.typical_item_s + 0.1 * took)
            )
            await self._storage.inbox.mark_done(item.id)
            depth = await self._storage.inbox.pending_count(item.channel_key)
            metrics.set_queue_depth(item.channel_key, depth)
        finally:
            self._running.pop(item.channel_key, None)
            log.info("finished %s %s in %s", item.kind, item.id, item.channel_key)

    async def _after_failure(
        self, handler: InboxHandler, item: InboxItem, error: Exception
    ) -> None:
        attempt = item.attempts + 1
        reference = new_reference()
        metrics.count_error(f"job:{type(error).__name__}")
        log.error(
            "%s %s in %s failed on attempt %d/%d (ref %s): %r",
            item.kind,
            item.id,
            item.channel_key,
            attempt,
            self._settings.max_attempts,
            reference,
            error,
            exc_info=error,
        )
        if attempt < self._settings.max_attempts:
            delay = self._settings.retry_backoff_s * 2 ** (attempt - 1)
            when = self._clock() + timedelta(seconds=delay)
            await self._storage.inbox.mark_retry(item.id, when, f"{error!r} (ref {reference})")
            await handler.retrying(item, delay)
        else:
            await self._storage.inbox.mark_failed(item.id, f"{error!r} (ref {reference})")
            await handler.failed(item, reference)
            metrics.count_error("job_failed")
            depth = await self._storage.inbox.pending_count(item.channel_key)
            metrics.set_queue_depth(item.channel_key, depth)


async def _maybe_await(value: object) -> None:
    if asyncio.iscoroutine(value):
        await value
