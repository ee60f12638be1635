"""The cast's looks condition generation through the tiny profile's IP-Adapter (random weights
in the hub's layout): per sample, per strength, and recorded in provenance."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.engine import GenerationRequest, LookRef
from engine.looks import TRAINED_MARKER, look_source, tiny_look_dir
from engine.profiles import ModelProfile, resolve_profile
from engine.runner import ModelRunner
from engine.seeds import pictures_match, seed_latents


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def reference(colour: tuple[int, int, int], name: str = "fox") -> LookRef:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), colour).save(buffer, format="PNG")
    return LookRef(name, f"{name}-{colour}", buffer.getvalue())


RED, BLUE, GREEN = reference((220, 30, 30)), reference((30, 30, 220)), reference((30, 200, 40))


def draw(runner: ModelRunner, *requests: GenerationRequest) -> list[np.ndarray]:
    return [pixels(row[0].png) for row in runner.generate(list(requests))]


def test_a_look_changes_the_picture_and_different_looks_differ(runner: ModelRunner) -> None:
    bare, red, blue = draw(
        runner,
        GenerationRequest("a fox", (5,)),
        GenerationRequest("a fox", (5,), looks=(RED,), look_strength=1.0),
        GenerationRequest("a fox", (5,), looks=(BLUE,), look_strength=1.0),
    )
    assert not pictures_match(bare, red)
    assert not pictures_match(red, blue)


def test_strength_zero_through_the_adapter_equals_no_adapter(runner: ModelRunner) -> None:
    """At scale 0 the adapter's processors leave attention as the base pipeline has it."""
    pipe = runner._pipe
    unet = pipe.unet
    shape = (unet.config.in_channels, 8, 8)

    def call(**extra: object) -> np.ndarray:
        latents = seed_latents([3], shape, runner.device, unet.dtype)
        with torch.inference_mode():
            out = pipe("a fox", num_inference_steps=2, guidance_scale=2.0, width=64,
                       height=64, latents=latents, output_type="np", **extra)  # fmt: skip
        return (out.images[0] * 255).round().astype(np.int16)

    base = call()
    with runner._look_adapter().applied([[RED]], 0.0, guided=True) as args:
        silent = call(**args)
    with runner._look_adapter().applied([[RED]], 1.0, guided=True) as args:
        speaking = call(**args)
    assert pictures_match(base, silent)
    assert not pictures_match(base, speaking)
    assert pictures_match(base, call())  # the base processors are back


def test_stronger_looks_move_the_picture_further(runner: ModelRunner) -> None:
    bare, weak, strong = draw(
        runner,
        GenerationRequest("a fox", (8,)),
        GenerationRequest("a fox", (8,), looks=(RED,), look_strength=0.3),
        GenerationRequest("a fox", (8,), looks=(RED,), look_strength=2.0),
    )
    assert np.abs(weak - bare).mean() < np.abs(strong - bare).mean()


def test_two_channels_in_one_batch_are_drawn_each_with_its_own_look(
    runner: ModelRunner,
) -> None:
    red = GenerationRequest("a fox", (21, 22), looks=(RED,), look_strength=1.0)
    blue = GenerationRequest("a fox", (21, 22), looks=(BLUE,), look_strength=1.0)
    calls: list[int] = []
    original = runner._run_pipeline

    def counting(key, chunk, *args):  # type: ignore[no-untyped-def]
        calls.append(len(chunk))
        return original(key, chunk, *args)

    runner._run_pipeline = counting  # type: ignore[method-assign]
    try:
        together = runner.generate([red, blue])
    finally:
        del runner._run_pipeline
    assert calls == [4]  # one call: same strength and number of references
    alone = [runner.generate([red])[0], runner.generate([blue])[0]]
    for shared, single in zip(together, alone, strict=True):
        for a, b in zip(shared, single, strict=True):
            assert pictures_match(pixels(a.png), pixels(b.png))
    assert not pictures_match(pixels(together[0][0].png), pixels(together[1][0].png))


def test_strengths_and_reference_counts_never_share_a_call(runner: ModelRunner) -> None:
    keys = {
        runner.sampling_key(GenerationRequest("a", (1,), looks=(RED,), look_strength=1.0)),
        runner.sampling_key(GenerationRequest("a", (1,), looks=(RED,), look_strength=0.5)),
        runner.sampling_key(GenerationRequest("a", (1,), looks=(RED, BLUE), look_strength=1.0)),
        runner.sampling_key(GenerationRequest("a", (1,))),
    }
    assert len(keys) == 4
    # Strength 0 is no look at all: the base pipeline's key.
    off = GenerationRequest("a", (1,), looks=(RED,), look_strength=0.0)
    assert runner.sampling_key(off) == runner.sampling_key(GenerationRequest("a", (1,)))


def test_several_looks_per_picture(runner: ModelRunner) -> None:
    one, two = draw(
        runner,
        GenerationRequest("a fox and a cat", (9,), looks=(RED,), look_strength=1.0),
        GenerationRequest(
            "a fox and a cat", (9,), looks=(RED, reference((0, 0, 0), "cat")), look_strength=1.0
        ),
    )
    assert not pictures_match(one, two)


def test_provenance_names_the_looks_their_strength_and_method(runner: ModelRunner) -> None:
    request = GenerationRequest("a fox", (4,), looks=(RED, GREEN), look_strength=0.7)
    [[image]] = runner.generate([request])
    provenance = image.provenance
    assert provenance.looks == ("fox", "fox")
    assert provenance.look_images == (RED.image_id, GREEN.image_id)
    assert provenance.look_strength == 0.7
    assert provenance.look_method == "ip-adapter (random test weights)"
    assert provenance.to_dict()["looks"] == ["fox", "fox"]
    [[bare]] = runner.generate([GenerationRequest("a fox", (4,))])
    assert (bare.provenance.looks, bare.provenance.look_method) == ((), None)


def test_the_tiny_adapter_is_in_the_hubs_layout(runner: ModelRunner, models_dir: Path) -> None:
    runner._look_adapter()
    folder = tiny_look_dir(models_dir)
    assert (folder / "models" / "ip-adapter_sd15.safetensors").is_file()
    assert (folder / "models" / "image_encoder" / "config.json").is_file()


def test_where_each_profile_finds_its_look_adapter(tmp_path: Path) -> None:
    sd15 = look_source(resolve_profile("sd15"), tmp_path)
    assert sd15 is not None and sd15.folder == "h94/IP-Adapter"
    assert sd15.weight == "models/ip-adapter_sd15.safetensors"
    assert look_source(resolve_profile("sd-turbo"), tmp_path) is None  # none for SD 2.x
    assert look_source(resolve_profile("picturebook"), tmp_path) is None  # until trained
    trained = tmp_path / "look-adapter" / "picturebook"
    trained.mkdir(parents=True)
    (trained / TRAINED_MARKER).write_text(json.dumps({"profile": "picturebook", "steps": 300}))
    source = look_source(resolve_profile("picturebook"), tmp_path)
    assert source is not None and source.encoder == "open_clip"
    assert source.method == "look adapter trained for picturebook (300 steps)"
    custom = resolve_profile("sd-turbo", {"look_adapter": "someone/sd21-ip-adapter"})
    assert look_source(custom, tmp_path).folder == "someone/sd21-ip-adapter"  # type: ignore[union-attr]


def test_without_an_adapter_the_looks_are_recorded_as_not_drawn(
    models_dir: Path, tiny_profile: ModelProfile
) -> None:
    plain = ModelRunner.load(tiny_profile, models_dir, device="cpu")
    plain._look_source = None  # as on sd-turbo, which has no IP-Adapter
    try:
        request = GenerationRequest("a fox", (4,), looks=(RED,), look_strength=1.0)
        [[image]] = plain.generate([request])
        [[bare]] = plain.generate([GenerationRequest("a fox", (4,))])
    finally:
        plain.close()
    assert image.provenance.look_method == "none: no image-prompt adapter for tiny"
    assert pictures_match(pixels(image.png), pixels(bare.png))
    assert image.provenance.look_images == (RED.image_id,), "recorded, to say what was asked"
    unlooked = dataclasses.replace(
        image.provenance, looks=(), look_images=(), look_strength=None, look_method=None
    )
    assert unlooked == bare.provenance
