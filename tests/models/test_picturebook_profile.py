"""The picturebook profile: committed weights load like any profile's and draw 64x64 pictures."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.engine import GenerationRequest
from engine.loading import generator_source, load_clip, load_pipeline
from engine.profiles import PICTUREBOOK_WEIGHTS, resolve_profile
from engine.runner import ModelRunner
from picturebook.dataset import pairs

PROFILE = resolve_profile("picturebook")


def test_weights_are_committed_safetensors_within_50_mb() -> None:
    files = [path for path in PICTUREBOOK_WEIGHTS.rglob("*") if path.is_file()]
    weights = [path for path in files if path.suffix in {".safetensors", ".bin", ".pt", ".ckpt"}]
    assert weights and all(path.suffix == ".safetensors" for path in weights)
    assert sum(path.stat().st_size for path in files) <= 50 * 1024 * 1024


def test_profile_names_local_weights_and_never_the_hub(tmp_path: Path) -> None:
    source, extra = generator_source(PROFILE, tmp_path)
    assert Path(source) == PICTUREBOOK_WEIGHTS / "generator"
    assert extra == {"local_files_only": True}
    missing = resolve_profile("picturebook", {"generator": str(tmp_path / "nowhere")})
    with pytest.raises(FileNotFoundError, match="train-picturebook"):
        generator_source(missing, tmp_path)


def test_pipeline_draws_and_clip_reads_the_world(tmp_path: Path) -> None:
    pipe, source = load_pipeline(PROFILE, tmp_path, torch.device("cpu"), torch.float32)
    assert source == str(PICTUREBOOK_WEIGHTS / "generator")
    assert pipe.tokenizer.model_max_length == 77 and len(pipe.tokenizer) == 49408
    clip, preprocess, tokenizer, described = load_clip(PROFILE, tmp_path, torch.device("cpu"))
    assert "inkwell-picturebook-clip" in described
    images = pipe(
        ["A red fox in a snowy forest.", "A boat in the harbour at night."],
        num_inference_steps=PROFILE.steps,
        guidance_scale=PROFILE.guidance_scale,
        height=PROFILE.height,
        width=PROFILE.width,
        generator=[torch.Generator().manual_seed(s) for s in (1, 2)],
    ).images
    assert [image.size for image in images] == [(64, 64), (64, 64)]
    # The scorer reads the world: on held-out renders, a picture's own caption mostly wins.
    held_out = pairs(32, seed=4242)
    with torch.no_grad():
        image_features = clip.encode_image(torch.stack([preprocess(i) for i, _, _ in held_out]))
        text_features = clip.encode_text(tokenizer([text for _, text, _ in held_out]))
    image_features = image_features / image_features.norm(dim=-1, keepdim=True)
    text_features = text_features / text_features.norm(dim=-1, keepdim=True)
    best = (image_features @ text_features.T).argmax(dim=1)
    assert (best == torch.arange(32)).float().mean() >= 0.3  # chance: 1/32


def test_runner_draws_with_the_profile_defaults(tmp_path: Path) -> None:
    runner = ModelRunner.load(PROFILE, tmp_path, device="cpu")
    try:
        request = GenerationRequest("A green dragon in the village.", (3, 4))
        [candidates] = runner.generate([request])
    finally:
        runner.close()
    for image in candidates:
        assert image.provenance.profile == "picturebook"
        assert (image.provenance.steps, image.provenance.width) == (PROFILE.steps, 64)
        with Image.open(io.BytesIO(image.png)) as picture:
            assert np.asarray(picture.convert("RGB")).shape == (64, 64, 3)
