"""Periodic upkeep on APScheduler: find unowned and retryable work, forget old inbox items."""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.inbox import InboxSettings
from core.inkwell import Inkwell

log = logging.getLogger("inkwell.jobs")


def start_jobs(inkwell: Inkwell, config: InboxSettings) -> AsyncIOScheduler:
    """Schedule the upkeep jobs on the running event loop and start them.

    The jobs are registered afresh at every start (an in-memory job store): their schedule
    comes from config.toml, and the state they act on (inbox, leases) lives in storage.
    """
    scheduler = AsyncIOScheduler()
    scheduler.add_job(
        inkwell.sweep,
        "interval",
        seconds=config.sweep_interval_s,
        id="sweep",
        name="start due retries and stories whose lease ran out",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        inkwell.prune,
        "interval",
        hours=1,
        args=[config.keep_finished_days],
        id="prune",
        name="forget finished inbox items",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    log.info(
        "upkeep every %.1fs (sweep) and hourly (prune after %.1f days)",
        config.sweep_interval_s,
        config.keep_finished_days,
    )
    return scheduler
