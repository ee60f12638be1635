"""The nightly restorer training: the engine trains when enough new writers' feedback came in.

The bot only reads the feedback and asks; the engine trains where its models live (in this
process with the local engine, on a replica with Ray), so the bot never imports torch for it.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config
from bot.restorer_verbs import new_feedback_since_last_training, restorer_training, stored_feedback
from core.engine import Engine
from storage.base import Storage
from storage.codec import now_utc

log = logging.getLogger("inkwell.jobs")

JOB_KIND = "train-restorer"


async def nightly_restorer_training(config: Config, storage: Storage, engine: Engine) -> str:
    """Train all stages if `min_new_feedback` texts arrived since the last run; says what it did."""
    count = await new_feedback_since_last_training(storage)
    needed = config.nightly_training.min_new_feedback
    if count < needed:
        log.info("restorer training skipped: %d new feedback texts, %d needed", count, needed)
        return "skipped"
    job = await storage.jobs.create(JOB_KIND, {"feedback": count}, now_utc())
    await storage.jobs.update(job.id, now_utc(), status="running")
    log.info("restorer training %s started on %d new feedback texts", job.id, count)
    try:
        request = restorer_training(config, await stored_feedback(storage))
        results = await engine.train_restorer(request)
    except Exception as error:
        log.exception("restorer training %s failed", job.id)
        await storage.jobs.update(job.id, now_utc(), status="failed", message=str(error))
        return "failed"
    summary = "; ".join(f"{r.stage} {r.steps} steps loss {r.final_loss:.4f}" for r in results)
    await storage.jobs.update(job.id, now_utc(), status="done", progress=1.0, message=summary)
    log.info("restorer training %s done: %s", job.id, summary)
    return "done"


def add_feedback_training(
    scheduler: AsyncIOScheduler, config: Config, storage: Storage, engine: Engine
) -> None:
    """Schedule the nightly check; nothing when `nightly_training.enabled` is off."""
    if not config.nightly_training.enabled:
        return
    scheduler.add_job(
        nightly_restorer_training,
        "cron",
        hour=config.nightly_training.hour,
        args=[config, storage, engine],
        id="restorer-training",
        name="train the restorer on new writers' feedback",
        max_instances=1,
        coalesce=True,
    )
    log.info(
        "restorer training checked nightly at %02d:00 (needs %d new feedback texts)",
        config.nightly_training.hour,
        config.nightly_training.min_new_feedback,
    )
