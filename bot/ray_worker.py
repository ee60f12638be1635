"""The Ray side of the composition root: join or start a cluster, deploy, connect the bot."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from bot.config import Config, ConfigError

log = logging.getLogger("inkwell.bot")

APP_WAIT_S = 600.0  # how long the bot waits for `python -m bot worker` to deploy the engine
DELETE_WAIT_S = 30.0  # how long a stopping worker waits for its app to be removed


def deployment_settings(config: Config) -> Any:  # -> DeploymentSettings
    """The Serve deployment's settings: [models], [batching], [engine] and [edit_engine]."""
    from engine.ray_deployment import DeploymentSettings

    return DeploymentSettings(
        models=config.models,
        models_dir=str((config.data_path / "models").resolve()),
        batching=config.batching,
        engine=config.engine,
        edit=config.edit_engine,
    )


def join_cluster(config: Config, **options: Any) -> None:
    """ray.init on `engine.ray_address`; an empty address starts a Ray instance here."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "'engine.mode' is \"ray\": install the ray extra (pip install 'inkwell[ray]')"
        ) from None
    if ray.is_initialized():
        return
    address = config.engine.ray_address or None
    ray.init(address=address, log_to_driver=False, include_dashboard=False, **options)
    log.info("joined Ray cluster at %s", address or "(a new local instance)")


def deploy(config: Config) -> None:
    """Deploy (or update) the engine app on the joined cluster and wait until it is ready."""
    from ray import serve

    from engine.ray_deployment import build_app

    settings = deployment_settings(config)
    started = time.perf_counter()
    serve.run(build_app(settings), name=config.engine.app_name, route_prefix=None)
    log.info(
        "engine app %r ready in %.1fs: profile %r, %s-%s replicas, %g GPU each",
        *(config.engine.app_name, time.perf_counter() - started, config.models.profile),
        *(config.engine.min_replicas, config.engine.max_replicas, config.engine.num_gpus),
    )


async def connect_engine(config: Config) -> Any:  # -> RayEngine
    """The bot's engine for `engine.mode = "ray"`.

    With no `ray_address` the bot starts Ray and deploys the engine itself (one machine);
    otherwise it joins the cluster and waits for the app a `python -m bot worker` deployed.
    """
    from engine.ray_engine import RayEngine

    join_cluster(config)
    if not config.engine.ray_address:
        await asyncio.to_thread(deploy, config)
    deadline = time.monotonic() + APP_WAIT_S
    while True:
        try:
            return await RayEngine.connect(config.engine.app_name)
        except Exception as error:  # the app is not deployed yet, or still starting
            if time.monotonic() > deadline:
                raise ConfigError(
                    f"no engine app {config.engine.app_name!r} on the Ray cluster at "
                    f"{config.engine.ray_address!r}: is `python -m bot worker` running?"
                ) from error
            log.info("waiting for the engine app %r (%s)", config.engine.app_name, error)
            await asyncio.sleep(5)


def run_worker(config: Config) -> int:
    """`python -m bot worker`: join (or start) the cluster, deploy, serve until stopped."""
    import signal
    import threading

    from ray import serve

    join_cluster(config)
    deploy(config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    log.info("engine worker running; stop with Ctrl-C or SIGTERM")
    stop.wait()
    log.info("removing the engine app %r", config.engine.app_name)
    # Bounded: if the cluster itself is going down, the deletion may never be confirmed.
    deleting = threading.Thread(target=serve.delete, args=(config.engine.app_name,), daemon=True)
    deleting.start()
    deleting.join(DELETE_WAIT_S)
    return 0
