"""The sd-turbo architecture served by a Ray Serve replica: real shapes across the process line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.engine import EditRequest, GenerationRequest

pytestmark = [
    pytest.mark.real_architecture,  # not `ray`: `pytest -m ray` stays the light Ray tests
    pytest.mark.asyncio,
    pytest.mark.timeout(1200),
]

APP = "inkwell-real-architecture"


async def test_a_ray_replica_draws_edits_and_enhances_on_sd_turbo(
    real_runners, arch_models_dir: Path
) -> None:
    ray = pytest.importorskip("ray", reason="the Ray tests need the 'ray' extra (install.sh)")
    serve = pytest.importorskip("ray.serve")
    from engine.ray_deployment import DeploymentSettings, build_app
    from engine.ray_engine import RayEngine
    from engine.settings import BatchingSettings, EngineSettings, ModelSettings

    real_runners.release()  # the replica loads its own copy (~5 GB) in its own process
    settings = DeploymentSettings(
        ModelSettings(profile="sd-turbo-arch", device="cpu"),
        str(arch_models_dir),  # the session's build, shared with the replica
        BatchingSettings(max_batch=4),
        EngineSettings(num_cpus=0),
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        serve.run(build_app(settings), name=APP, route_prefix=None)
        engine = await RayEngine.connect(APP)
        assert (engine.profile_name, engine.style_branch) == ("sd-turbo-arch", "untrained")
        [[parent]] = await engine.generate([GenerationRequest("a lighthouse at night", (5,))])
        assert parent.png.startswith(b"\x89PNG") and parent.provenance.steps == 1
        [curly] = await engine.edit(
            [
                EditRequest(
                    "attribute",
                    parent.png,
                    parent.provenance,
                    "a lighthouse with a red light at night",
                    attribute="red light",
                    attribute_word="light",
                )
            ]
        )
        assert curly.provenance.edit["kind"] == "attribute"
        assert engine.restorer_state == "img2img"
        [refined] = await engine.restore([parent.png])
        assert refined.startswith(b"\x89PNG") and refined != parent.png
        features = await engine.embed_images([parent.png])
        assert features.shape == (1, 512)
        assert np.isclose(np.linalg.norm(features[0]), 1.0, atol=1e-4)
    finally:
        serve.shutdown()
        ray.shutdown()
