"""RayEngine against a real local Ray Serve deployment of the tiny profile (CPU)."""

from __future__ import annotations

import asyncio
import os
import signal

import numpy as np
import pytest

from core.engine import (
    CancelToken,
    CompositionRequest,
    ForegroundElement,
    GenerationCancelled,
    GenerationRequest,
    StepProgress,
)
from engine.ray_engine import EngineUnavailable, RayEngine

pytestmark = [pytest.mark.ray, pytest.mark.asyncio]

SMALL = {"steps": 2, "width": 32, "height": 32}


async def test_the_four_calls_answer_like_the_local_engine(ray_app: str) -> None:
    engine = await RayEngine.connect(ray_app)
    assert (engine.profile_name, engine.style_branch) == ("tiny", "random")
    steps: list[StepProgress] = []
    [candidates] = await engine.generate(
        [GenerationRequest("a red kite", (3, 4), **SMALL)], progress=steps.append
    )
    assert [image.provenance.seed for image in candidates] == [3, 4]
    assert all(image.png.startswith(b"\x89PNG") for image in candidates)
    assert steps[-1] == StepProgress(2, 2)
    texts = await engine.embed_texts(["a red kite", "a grey sky"])
    images = await engine.embed_images([candidates[0].png])
    assert texts.shape[0] == 2 and images.shape == (1, texts.shape[1])
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-4)
    regions = await engine.embed_regions([candidates[0].png], [(0, 0, 1, 1), (0, 0, 0.5, 0.5)])
    assert regions.shape == (1, 2, texts.shape[1])
    assert np.allclose(regions[0, 0], images[0], atol=1e-4), "the whole picture's box"
    [screening] = await engine.screen(["A red kite flies over the harbour."])
    assert screening.generability in (0, 1, 2)


async def test_a_composition_runs_on_the_replica_with_its_stages(ray_app: str) -> None:
    """Seed 001 through Ray: every stage comes back, progress streams, records travel."""
    engine = await RayEngine.connect(ray_app)
    [[initial]] = await engine.generate([GenerationRequest("a red fox in a forest", (7,), **SMALL)])
    steps: list[StepProgress] = []
    request = CompositionRequest(
        initial=initial.png,
        provenance=initial.provenance,
        foreground=(ForegroundElement("fox", "a red fox"),),
        background_prompt="a forest",
        style="watercolor",
    )
    [composed] = await engine.compose([request], progress=steps.append)
    assert composed.picture.png.startswith(b"\x89PNG") and composed.sketch.startswith(b"\x89PNG")
    assert len(composed.cutouts) == len(composed.boxes) == 1
    record = composed.picture.provenance.composition
    assert record["render"]["method"] == "img2img from the merge"
    assert steps and steps[-1].step == steps[-1].total


async def test_concurrent_callers_share_batches_and_get_their_own_results(ray_app: str) -> None:
    engine = await RayEngine.connect(ray_app)
    prompts = [f"a lantern number {n}" for n in range(6)]
    answers = await asyncio.gather(
        *(engine.generate([GenerationRequest(p, (n,), **SMALL)]) for n, p in enumerate(prompts))
    )
    assert [a[0][0].provenance.prompt for a in answers] == prompts
    assert [a[0][0].provenance.seed for a in answers] == list(range(6))
    pair = await asyncio.gather(engine.embed_texts(["one"]), engine.embed_texts(["two", "three"]))
    assert [len(features) for features in pair] == [1, 2]


async def test_a_cancelled_call_stops_across_the_process_boundary(ray_app: str) -> None:
    engine = await RayEngine.connect(ray_app)
    cancel = CancelToken()
    steps: list[StepProgress] = []

    def on_step(update: StepProgress) -> None:
        steps.append(update)
        cancel.cancel()

    with pytest.raises(GenerationCancelled):
        await engine.generate(
            [GenerationRequest("a slow storm", (1,), steps=400, width=32, height=32)],
            progress=on_step,
            cancel=cancel,
        )
    assert 1 <= len(steps) < 400
    [[after]] = await engine.generate([GenerationRequest("calm water", (5,), **SMALL)])
    assert after.provenance.seed == 5


async def _kill_replica_on_first_step(engine: RayEngine, first_step: asyncio.Event) -> int:
    await first_step.wait()
    pid = (await engine._handle.describe.remote())["pid"]  # the one replica, busy drawing
    os.kill(pid, signal.SIGKILL)
    return pid


async def test_a_replica_killed_mid_request_is_retried_once_then_answered_clearly(
    ray_app: str,
) -> None:
    engine = await RayEngine.connect(ray_app)
    slow = [GenerationRequest("a long night", (7,), steps=200, width=32, height=32)]
    first_step = asyncio.Event()

    # One death: the request is retried on the fresh replica and answered.
    killer = asyncio.ensure_future(_kill_replica_on_first_step(engine, first_step))
    [[image]] = await engine.generate(slow, progress=lambda _: first_step.set())
    killed = await killer
    assert image.provenance.seed == 7 and engine.retried == 1
    assert (await engine._handle.describe.remote())["pid"] != killed

    # Two deaths: the caller gets a message a writer can read, not a Ray traceback.
    async def kill_twice() -> None:
        for _ in range(2):
            await _kill_replica_on_first_step(engine, first_step)
            first_step.clear()

    first_step.clear()
    killer = asyncio.ensure_future(kill_twice())
    with pytest.raises(EngineUnavailable, match="try again in a minute"):
        await engine.generate(slow, progress=lambda _: first_step.set())
    await killer
    assert engine.retried == 2

    # The engine keeps serving.
    [[after]] = await engine.generate([GenerationRequest("morning", (9,), **SMALL)])
    assert after.provenance.seed == 9


async def test_the_bot_builds_a_ray_engine_from_its_config(ray_app: str, tmp_path) -> None:
    from bot.config import load_config
    from bot.serve import build_engine

    path = tmp_path / "config.toml"
    path.write_text(f'[engine]\nmode = "ray"\nray_address = "auto"\napp_name = "{ray_app}"\n')
    engine = await build_engine(load_config(path, environ={}))
    assert isinstance(engine, RayEngine) and engine.profile_name == "tiny"
    await engine.close()


async def test_edit_and_restore_are_forwarded_to_the_runner(ray_app: str) -> None:
    from core.engine import EditRequest, ToneShift

    engine = await RayEngine.connect(ray_app)
    [[parent]] = await engine.generate([GenerationRequest("a girl on a bridge", (3,), **SMALL)])
    darker = EditRequest(
        "global", parent.png, parent.provenance, "a girl on a bridge, gloomy", tone=ToneShift(0.6)
    )
    steps: list[StepProgress] = []
    [dark] = await engine.edit([darker], progress=steps.append)
    assert dark.provenance.edit["kind"] == "global" and steps[-1].fraction == 1.0
    assert engine.restorer_state == "untrained"
    [restored] = await engine.restore([parent.png])
    assert restored.startswith(b"\x89PNG")
    assert await engine.adapters() == []  # the replica's adapters folder holds none
