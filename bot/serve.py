"""Wires storage, the engine, the core and the adapters together and runs until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

from bot.config import Config, ConfigError
from bot.feedback_jobs import add_feedback_training
from bot.jobs import start_jobs
from bot.platforms import chat_adapters
from core.edit.policy import EditPolicy
from core.engine import Engine
from core.inkwell import Inkwell
from storage import open_storage

log = logging.getLogger("inkwell.bot")


def edit_policy(config: Config) -> EditPolicy:
    """`[edit]`, reading by CLIP prototypes only where CLIP is trained."""
    from engine.profiles import resolve_profile  # plain data: no torch

    try:
        profile = resolve_profile(config.models.profile, config.models.overrides)
    except ValueError as error:
        raise ConfigError(f"'models.profile': {error}") from None
    trained = config.edit.read_by_prototypes and not profile.is_tiny_clip
    return replace(config.edit, read_by_prototypes=trained)


async def build_engine(config: Config) -> Engine:
    """The local engine for the configured profile; torch is imported only here."""
    if config.engine.mode == "ray":
        from bot.ray_worker import connect_engine

        return await connect_engine(config)  # the models run in the cluster, not here
    from engine.local_engine import LocalEngine
    from engine.lora import adapters_root
    from engine.profiles import resolve_profile

    try:
        profile = resolve_profile(config.models.profile, config.models.overrides)
    except ValueError as error:
        raise ConfigError(f"'models.profile': {error}") from None
    models_dir = config.data_path / "models"
    log.info(
        "model profile %r: generator %s, scorer %s/%s%s",
        profile.name,
        profile.generator or "(built locally, random weights)",
        profile.clip_model,
        profile.clip_pretrained or "random",
        " -- images will be noise" if profile.name == "tiny" else "",
    )
    engine = LocalEngine.for_profile(
        profile,
        models_dir,
        config.models.device,
        config.batching.max_batch,
        edit_settings=config.edit_engine,
        adapters=adapters_root(config.models.adapters_dir, models_dir),
    )
    await engine.start()
    return engine


async def serve(config: Config, ready: asyncio.Event | None = None) -> None:
    """Run Inkwell until SIGINT/SIGTERM; `ready` is set once every adapter listens."""
    config.data_path.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        options = {
            "path": config.storage.path,
            "database": config.storage.database,
            "uri": config.storage.uri,
        }
        try:
            storage = await open_storage(config.storage.backend, config.data_path, options)
        except ValueError as error:
            raise ConfigError(f"'storage.backend': {error}") from None
        stack.push_async_callback(storage.close)
        engine = await build_engine(config)
        stack.push_async_callback(engine.close)

        inkwell = Inkwell(
            engine,
            storage,
            config.story,
            config.inbox,
            edit_policy(config),
        )
        if config.web.enabled:
            from adapters.web.adapter import WebAdapter
            from core.health import check_health

            web = WebAdapter(
                config.web.host,
                config.web.port,
                config.web.token,
                storage.images.get,
                engine.profile_name,
                health=lambda: check_health(engine, storage, connections=inkwell.connections()),
            )
            inkwell.attach(web)
            room = _mount_training_room(web, config, storage, engine)
            stack.push_async_callback(room.close)
        for adapter in chat_adapters(
            config, web if config.web.enabled else None, storage.images.get
        ):
            inkwell.attach(adapter)
        await inkwell.start()
        stack.push_async_callback(inkwell.stop)
        scheduler = start_jobs(inkwell, config.inbox)
        add_feedback_training(scheduler, config, storage, engine)
        stack.callback(scheduler.shutdown, wait=False)
        if config.web.enabled:
            log.info("Inkwell is ready: story room at %s", web.url)
        if ready is not None:
            ready.set()
        await _until_stopped()
        log.info("stopping")


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _mount_training_room(web: Any, config: Config, storage: Any, engine: Engine) -> Any:
    """Seed 002's training room at /training on the story room's server; it trains where
    the engine's models live (Engine.open_training_room)."""
    from adapters.web.training import TrainingRoom
    from bot.restorer_verbs import training_room_session

    room = TrainingRoom(
        storage, lambda: training_room_session(config, storage, engine), engine.profile_name
    )
    room.watch_restorer(lambda: engine.restorer_state)
    web.add_room(room.mount, frozenset({room.page}))
    return room
