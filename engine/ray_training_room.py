"""The training room on a Ray cluster: its session in an actor beside the replicas' models.

A room's session keeps state between requests (the trainer, its samples, the running stage),
which a Serve deployment can't hold for one caller (any replica answers any call). So the bot
asks a replica where its models live (node, models folder, profile, device) and starts an
actor there that holds one TrainingSession; its stages write checkpoints into that models
folder, where the replicas' `restore` loads them. The actor belongs to the bot: it ends with
the bot, or when the room is closed. Nothing here imports torch on the bot's side.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from core.engine import RestorerTrainingRequest

logger = logging.getLogger("inkwell.training")

# The actor answers the page (snapshot, pictures) while a stage or a first model load runs.
CONCURRENT_CALLS = 4


class TrainingRoomHost:
    """The actor's class: one TrainingSession, built from plain data on the engine's node."""

    def __init__(
        self,
        request: RestorerTrainingRequest,
        profile: str,
        overrides: dict[str, Any],
        models_dir: str,
        device: str,
    ) -> None:
        from engine.profiles import resolve_profile
        from training.restorer_session import session_for

        resolved = resolve_profile(profile, overrides)
        self._session = session_for(request, resolved, Path(models_dir), device)

    def snapshot(self) -> dict[str, Any]:
        return self._session.snapshot()

    def start(self, stage: str) -> None:
        self._session.start(stage)

    def stop(self) -> bool:
        return self._session.stop()

    def samples(self) -> list[dict[str, Any]]:
        return self._session.samples()

    def picture(self, sample_id: str, kind: str) -> bytes | None:
        return self._session.picture(sample_id, kind)

    def add_feedback(self, sample_id: str, text: str) -> tuple[str, bytes] | None:
        return self._session.bind_feedback(sample_id, text)

    def join(self) -> None:
        """Return once no stage runs (the actor serves other calls meanwhile)."""
        self._session.join()


class RayTrainingRoom:
    """TrainingRoomControls over a TrainingRoomHost actor; errors arrive as raised there."""

    def __init__(self, actor: Any) -> None:
        self._actor = actor

    @classmethod
    async def open(cls, handle: Any, request: RestorerTrainingRequest) -> RayTrainingRoom:
        """A room whose actor runs on the node of the replica that answers `handle`."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        where = await handle.describe.remote()
        host = ray.remote(TrainingRoomHost).options(
            num_cpus=0,  # it shares the node's CPUs (and the replica's device) when it trains
            max_concurrency=CONCURRENT_CALLS,
            scheduling_strategy=NodeAffinitySchedulingStrategy(where["node_id"], soft=False),
        )
        actor = host.remote(
            request, where["profile"], where["overrides"], where["models_dir"], where["device"]
        )
        logger.info(
            "training room opened beside the engine's models in %s (node %s)",
            *(where["models_dir"], where["node_id"][:12]),
        )
        return cls(actor)

    async def _call(self, method: str, *args: Any) -> Any:
        from ray.exceptions import RayTaskError

        try:
            return await getattr(self._actor, method).remote(*args)
        except RayTaskError as error:
            cause = error.cause
            # What the session raised (an unknown stage, a busy room), not Ray's wrapper.
            if isinstance(cause, Exception):
                raise cause from None
            raise

    async def snapshot(self) -> dict[str, Any]:
        return await self._call("snapshot")

    async def start(self, stage: str) -> None:
        await self._call("start", stage)

    async def stop(self) -> bool:
        return await self._call("stop")

    async def samples(self) -> list[dict[str, Any]]:
        return await self._call("samples")

    async def picture(self, sample_id: str, kind: str) -> bytes | None:
        return await self._call("picture", sample_id, kind)

    async def add_feedback(self, sample_id: str, text: str) -> tuple[str, bytes] | None:
        return await self._call("add_feedback", sample_id, text)

    async def join(self) -> None:
        await self._call("join")

    async def close(self) -> None:
        """Stop the running stage (its checkpoint is kept) and end the actor."""
        import ray

        await self._call("stop")
        await self._call("join")
        ray.kill(self._actor)
