"""The sd-turbo (SD 2.1) architecture with random weights, through the engine as served."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.engine import EditRequest, GenerationRequest, StyleRef
from engine.local_engine import LocalEngine
from engine.profiles import resolve_profile
from engine.seeds import pictures_match

# Minutes per test on a busy 2-core machine: above the suite's 300 s default.
pytestmark = [pytest.mark.real_architecture, pytest.mark.timeout(1200)]

PROMPT = "a girl with short hair on a bridge"


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_the_profile_builds_the_published_sd_turbo_architecture(real_runners) -> None:
    runner = real_runners.get("sd-turbo-arch")
    pipe = runner._pipe
    unet = pipe.unet.config
    assert list(unet.block_out_channels) == [320, 640, 1280, 1280]
    assert list(unet.attention_head_dim) == [5, 10, 20, 20]
    assert unet.cross_attention_dim == 1024 and unet.use_linear_projection
    assert sum(p.numel() for p in pipe.unet.parameters()) == 865_910_724
    text = pipe.text_encoder.config
    assert (text.hidden_size, text.num_hidden_layers, text.hidden_act) == (1024, 23, "gelu")
    assert type(pipe.scheduler).__name__ == "EulerDiscreteScheduler"
    assert pipe.scheduler.config.timestep_spacing == "trailing"
    # No IP-Adapter is published for SD 2.x: references need a trained branch here.
    assert runner.style_branch == "untrained"


@pytest.mark.asyncio
async def test_the_engine_draws_edits_and_enhances_on_sd_turbo(
    real_runners, arch_models_dir: Path, tmp_path: Path
) -> None:
    real_runners.release()  # the engine loads its own copy on its worker thread
    models = tmp_path / "models"
    (models / "architectures").mkdir(parents=True)
    # The built architecture is shared; restorer and style branch folders are this test's.
    (models / "architectures" / "sd-turbo").symlink_to(
        arch_models_dir / "architectures" / "sd-turbo"
    )
    profile = resolve_profile("sd-turbo-arch")
    engine = LocalEngine.for_profile(profile, models, "cpu", 4)
    await engine.start()
    try:
        [[parent, other]] = await engine.generate([GenerationRequest(PROMPT, (3, 4))])
        assert parent.provenance.steps == 1 and parent.provenance.guidance_scale == 0.0
        assert not pictures_match(pixels(parent.png), pixels(other.png))
        provenance = parent.provenance
        darker, removed, curly = await engine.edit(
            [
                EditRequest("global", parent.png, provenance, f"{PROMPT}, gloomy", strength=0.5),
                EditRequest(
                    "remove",
                    parent.png,
                    provenance,
                    PROMPT,
                    region=(0.5, 0.5, 1.0, 1.0),
                    element="the bridge",
                ),
                EditRequest(
                    "attribute",
                    parent.png,
                    provenance,
                    "a girl with short curly hair on a bridge",
                    attribute="curly hair",
                    attribute_word="hair",
                ),
            ]
        )
        assert darker.provenance.edit == {"kind": "global", "strength": 0.5, "steps": 2}
        assert not pictures_match(pixels(darker.png), pixels(parent.png))
        assert np.array_equal(pixels(removed.png)[:24, :24], pixels(parent.png)[:24, :24])
        assert curly.provenance.edit["kind"] == "attribute"
        assert curly.provenance.edit["steps"] == [0]  # sd-turbo's one step is fused
        # A style reference on the zero branch: kept, recorded, and no change yet.
        style = StyleRef("style-1", parent.png, 1.0)
        [[styled]] = await engine.generate([GenerationRequest(PROMPT, (3,), style=style)])
        assert engine.style_branch == "untrained"
        assert styled.provenance.style_method == "seed 004 style branch (untrained)"
        assert pictures_match(pixels(styled.png), pixels(parent.png))
        # Enhance without a trained restorer: img2img at low strength, and it says so.
        assert engine.restorer_state == "img2img"
        [refined] = await engine.restore([parent.png])
        assert pixels(refined).shape == (64, 64, 3)
        assert not pictures_match(pixels(refined), pixels(parent.png))
        # Screening and CLIP on the real ViT-B-32 with random weights.
        features = await engine.embed_texts([PROMPT])
        assert features.shape == (1, 512)
        assert np.isclose(np.linalg.norm(features[0]), 1.0, atol=1e-4)
    finally:
        await engine.close()
    assert torch.get_num_threads() == 1
