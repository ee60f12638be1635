"""LoRA adapters on tiny models: training moves only adapter weights, resume is exact, a saved
adapter loads into a pipeline and out again, and each genre draws with its own adapter."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from PIL import Image

from core.engine import AdapterInfo, EditRequest, GenerationRequest
from engine.lora import ADAPTER_FILE, AdapterShelf, adapter_dir, list_adapters
from engine.profiles import ModelProfile
from engine.seeds import pictures_match, seed_latents
from engine.tiny import ensure_tiny_models
from training.lora import LoraOptions, LoraTrainer, captioned
from training.style_branch import TrainingExample


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> list[TrainingExample]:
    """Four flat red-ish pictures, two captioned: a 'genre' a few steps can learn."""
    folder = tmp_path_factory.mktemp("genre-pictures")
    rng = np.random.default_rng(0)
    for index in range(4):
        pixels = np.zeros((64, 64, 3), np.uint8)
        pixels[..., 0] = 200 + index * 10
        pixels[..., 1:] = rng.integers(0, 40, (64, 64, 2), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"frame{index}.png")
    (folder / "frame0.txt").write_text("a fox in a forest\n", encoding="utf-8")
    return captioned(folder, "ember style")


def fresh_pipe(models_dir: Path) -> StableDiffusionPipeline:
    source = ensure_tiny_models(models_dir).generator
    pipe = StableDiffusionPipeline.from_pretrained(source, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def trainer(models_dir: Path, examples: list[TrainingExample], **options) -> LoraTrainer:
    settings = dict(batch_size=2, learning_rate=5e-2, rank=4, progress=False)
    return LoraTrainer(
        fresh_pipe(models_dir), examples, LoraOptions(**{**settings, **options}), (64, 64)
    )


def weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}


def draw(pipe: StableDiffusionPipeline, prompt: str = "a fox in a forest") -> np.ndarray:
    return draw_rows(pipe, [prompt])[0]


def draw_rows(pipe: StableDiffusionPipeline, prompts: list[str]) -> list[np.ndarray]:
    """Each prompt from the same seed, in one batch (classifier-free guidance on)."""
    latents = seed_latents([7], (4, 8, 8), torch.device("cpu"), torch.float32)
    with torch.inference_mode():
        images = pipe(
            prompt=prompts,
            num_inference_steps=2,
            guidance_scale=2.0,
            width=64,
            height=64,
            latents=latents.repeat(len(prompts), 1, 1, 1),
            generator=[torch.Generator().manual_seed(7) for _ in prompts],
            output_type="pil",
        ).images
    return [np.asarray(image.convert("RGB")) for image in images]


def info(name: str, kind: str = "genre") -> AdapterInfo:
    return AdapterInfo(name=name, kind=kind, profile="tiny", phrase=f"{name} style", steps=1)


@pytest.fixture(scope="module")
def adapters(models_dir: Path, examples, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two genres trained from different seeds into an adapters folder, and one attribute."""
    root = tmp_path_factory.mktemp("adapters")
    for kind, name, seed in (
        ("genre", "ember", 0),
        ("genre", "frost", 1),
        ("attribute", "blue", 2),
    ):
        trained = trainer(models_dir, examples, steps=30, seed=seed)
        trained.run(root / "work" / name)
        trained.save_adapter(adapter_dir(root, "tiny", kind, name), info(name, kind))
    return root


def test_captions_put_the_phrase_before_each_caption(examples: list[TrainingExample]) -> None:
    assert [e.caption for e in examples] == [
        "ember style, a fox in a forest",
        "ember style",
        "ember style",
        "ember style",
    ]


def test_training_lowers_the_loss_and_moves_only_adapter_weights(
    models_dir: Path, examples, tmp_path: Path
) -> None:
    lora = trainer(models_dir, examples, steps=30)
    pipe = lora.pipe
    frozen = {"vae": weights(pipe.vae), "text_encoder": weights(pipe.text_encoder)}
    unet_before = weights(pipe.unet)
    assert any("lora_" in name for name in unet_before)
    before = lora.evaluate()
    lora.run(tmp_path)
    after = lora.evaluate()
    assert after < before
    unet_after = weights(pipe.unet)
    changed = {n for n in unet_before if not torch.equal(unet_before[n], unet_after[n])}
    assert changed, "no adapter weight moved"
    assert all("lora_" in name for name in changed), sorted(changed)[:5]
    for name, state in frozen.items():
        module = getattr(pipe, name)
        now = weights(module)
        assert all(torch.equal(state[n], now[n]) for n in state), name
    assert all(p.requires_grad == ("lora_" in n) for n, p in pipe.unet.named_parameters())


def test_resume_takes_the_same_steps_as_an_uninterrupted_run(
    models_dir: Path, examples, tmp_path: Path
) -> None:
    straight = trainer(models_dir, examples, steps=4, checkpoint_every=2)
    straight.run(tmp_path / "straight")

    first = trainer(models_dir, examples, steps=2, checkpoint_every=2)
    first.run(tmp_path / "split")
    second = trainer(models_dir, examples, steps=4, checkpoint_every=2)
    assert second.resume(tmp_path / "split")
    assert second.step == 2
    second.run(tmp_path / "split")

    a, b = straight.adapter_state()["unet"], second.adapter_state()["unet"]
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert not trainer(models_dir, examples).resume(tmp_path / "nothing-here")


def test_a_saved_adapter_loads_changes_pictures_and_unloads_to_the_base(
    models_dir: Path, adapters: Path
) -> None:
    directory = adapter_dir(adapters, "tiny", "genre", "ember")
    assert (directory / ADAPTER_FILE).is_file()
    pipe = fresh_pipe(models_dir)
    base = draw(pipe)
    pipe.load_lora_weights(str(directory), weight_name=ADAPTER_FILE, adapter_name="genre-ember")
    loaded = draw(pipe)
    assert not pictures_match(base, loaded)
    pipe.disable_lora()
    assert pictures_match(base, draw(pipe))
    pipe.enable_lora()
    assert pictures_match(loaded, draw(pipe))
    pipe.unload_lora_weights()
    assert pictures_match(base, draw(pipe))


def test_adapters_are_listed_per_profile_once_complete(adapters: Path, tmp_path: Path) -> None:
    assert [(a.kind, a.name) for a in list_adapters(adapters, "tiny")] == [
        ("genre", "ember"),
        ("genre", "frost"),
        ("attribute", "blue"),
    ]
    assert list_adapters(adapters, "picturebook") == []
    half = adapter_dir(tmp_path, "tiny", "genre", "half")
    half.mkdir(parents=True)
    (half / ADAPTER_FILE).write_bytes(b"")  # weights written, description not yet
    assert list_adapters(tmp_path, "tiny") == []
    with pytest.raises(ValueError, match="lower-case"):
        adapter_dir(tmp_path, "tiny", "genre", "Bad Name")


def test_a_batch_of_two_genres_draws_each_with_its_own_adapter(
    models_dir: Path, tiny_profile: ModelProfile, adapters: Path
) -> None:
    from engine.runner import ModelRunner

    runner = ModelRunner.load(tiny_profile, models_dir, device="cpu", adapters=adapters)
    try:
        requests = [
            GenerationRequest("a fox in a forest", (3,), genre="ember"),
            GenerationRequest("a fox in a forest", (3,), genre="frost"),
            GenerationRequest("a fox in a forest", (3,)),
        ]
        assert len({runner.sampling_key(r) for r in requests}) == 3  # never one model call
        together = runner.generate(requests)
        alone = [runner.generate([request])[0] for request in reversed(requests)][::-1]
        pictures = [[_pixels(image.png) for image in row] for row in together]
        for row, solo in zip(pictures, alone, strict=True):
            assert pictures_match(row[0], _pixels(solo[0].png))
        ember, frost, bare = (row[0] for row in pictures)
        assert not pictures_match(ember, frost)
        assert not pictures_match(ember, bare)
        assert not pictures_match(frost, bare)
        assert [row[0].provenance.genre for row in together] == ["ember", "frost", None]
        assert [a.name for a in runner.adapters()] == ["ember", "frost", "blue"]
        with pytest.raises(ValueError, match="no trained genre adapter 'gone'"):
            runner.generate([GenerationRequest("a fox", (1,), genre="gone")])
    finally:
        runner.close()


def _pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def test_an_attribute_generator_acts_on_the_feature_branch_only(
    models_dir: Path, adapters: Path
) -> None:
    pipe = fresh_pipe(models_dir)
    shelf = AdapterShelf(pipe, adapters, "tiny")
    base = draw(pipe)
    with shelf.active("attribute", "blue"):
        blue = draw(pipe)
    with shelf.active("genre", "ember"):
        ember = draw(pipe)
    assert not pictures_match(base, blue)
    with shelf.per_branch(pipe, "blue", None):
        original, feature = draw_rows(pipe, ["a fox in a forest"] * 2)
    assert pictures_match(original, base) and pictures_match(feature, blue)
    with shelf.per_branch(pipe, "blue", "ember"):
        original, feature = draw_rows(pipe, ["a fox in a forest"] * 2)
    assert pictures_match(original, ember) and pictures_match(feature, blue)
    assert pictures_match(draw(pipe), base), "no adapter is left on afterwards"


def test_an_attribute_edit_names_its_feature_branch(
    models_dir: Path, tiny_profile: ModelProfile, adapters: Path
) -> None:
    from engine.runner import ModelRunner

    runner = ModelRunner.load(tiny_profile, models_dir, device="cpu", adapters=adapters)
    try:
        [parent] = runner.generate([GenerationRequest("a fox in a forest", (5,))])[0:1]
        request = EditRequest(
            kind="attribute",
            image=parent[0].png,
            provenance=parent[0].provenance,
            prompt="a blue fox in a forest",
            attribute="blue",
            attribute_word="fox",
        )
        [prompted] = runner.edit([request])
        [generated] = runner.edit([dataclasses.replace(request, attribute_adapter="blue")])
        assert prompted.provenance.edit["feature_branch"] == "prompt only"
        assert generated.provenance.edit["feature_branch"] == "attribute generator blue"
        assert not pictures_match(_pixels(prompted.png), _pixels(generated.png))
    finally:
        runner.close()


def test_a_saved_adapter_loads_back_exactly_with_convolutions_too(
    models_dir: Path, examples, tmp_path: Path
) -> None:
    from peft.utils import get_peft_model_state_dict

    lora = trainer(models_dir, examples, steps=2, convolutions=True)
    lora.run(tmp_path / "work")
    lora.save_adapter(tmp_path / "out", info("conv"))
    pipe = fresh_pipe(models_dir)
    pipe.load_lora_weights(str(tmp_path / "out"), weight_name=ADAPTER_FILE, adapter_name="g")
    loaded = get_peft_model_state_dict(pipe.unet, adapter_name="g")
    mine = lora.adapter_state()["unet"]
    assert any("conv1" in key for key in mine)
    assert loaded.keys() == mine.keys()
    assert all(torch.equal(loaded[key], mine[key]) for key in mine)
