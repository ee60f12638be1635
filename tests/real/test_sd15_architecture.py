"""The SD 1.5 architecture with random weights: every capability on the real shapes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.engine import EditRequest, GenerationRequest, LookRef, StyleRef
from engine.attribute_edit import BranchPair
from engine.attribute_fusion import (
    CrossAttentionRecorder,
    DecoderFusion,
    attribute_mask,
    combine_masks,
    recording_cross_attention,
)
from engine.edit_settings import EditSettings
from engine.ip_style import METHOD, set_style_scale, style_layer
from engine.restorer import RestorerNet, restorer_dir, save_restorer
from engine.seeds import pictures_match
from engine.style_branch import StyledUNet, build_style_branch
from engine.style_features import STYLE_MAP_SIZE, VGGStyle
from training.style_branch import StyleTrainer, TrainingOptions, training_examples

# Minutes per test on a busy 2-core machine: above the suite's 300 s default.
pytestmark = [pytest.mark.real_architecture, pytest.mark.timeout(1200)]

PROMPT = "a knight with long hair in a forest"


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def style_png(seed: int) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def runner(real_runners, random_ip_adapter):  # -> ModelRunner with IP-Adapter for styles
    # The profile names a local folder in the hub's layout, loaded like the hub's adapter.
    folder = random_ip_adapter("sd15")
    return real_runners.get("sd15-arch", {"ip_adapter": str(folder)})


def test_the_profile_builds_the_published_sd15_architecture(runner) -> None:
    pipe = runner._pipe
    unet = pipe.unet.config
    assert list(unet.block_out_channels) == [320, 640, 1280, 1280]
    assert (unet.cross_attention_dim, unet.attention_head_dim) == (768, 8)
    assert not unet.use_linear_projection and len(pipe.unet.up_blocks) == 4
    assert sum(p.numel() for p in pipe.unet.parameters()) == 859_520_964
    text = pipe.text_encoder.config
    assert (text.hidden_size, text.num_hidden_layers, text.hidden_act) == (768, 12, "quick_gelu")
    assert type(pipe.scheduler).__name__ == "PNDMScheduler"
    assert pipe.unet.dtype == torch.float32  # stored in fp16, loaded at the runner's dtype
    assert runner.embed_dim == 512  # open_clip ViT-B-32
    assert runner.style_branch == "ip-adapter"


def test_generate_draws_each_seed_reproducibly(runner) -> None:
    [first] = runner.generate([GenerationRequest(PROMPT, (1, 2))])
    a, b = (pixels(image.png) for image in first)
    assert a.shape == (64, 64, 3) and not np.array_equal(a, b)
    [[again]] = runner.generate([GenerationRequest(PROMPT, (1,))])  # another batch
    assert pictures_match(a, pixels(again.png))
    assert first[0].provenance.steps == 2 and first[0].provenance.guidance_scale == 7.5


def test_img2img_and_inpainting_edits(runner) -> None:
    [[parent]] = runner.generate([GenerationRequest(PROMPT, (5,))])
    region = (0.0, 0.0, 0.5, 0.5)
    darker, added = runner.edit(
        [
            EditRequest("global", parent.png, parent.provenance, f"{PROMPT}, at night"),
            EditRequest(
                "add",
                parent.png,
                parent.provenance,
                f"{PROMPT}, a lantern",
                region=region,
                element="a lantern",
            ),
        ]
    )
    assert darker.provenance.edit["kind"] == "global"
    assert not pictures_match(pixels(darker.png), pixels(parent.png))
    before, after = pixels(parent.png), pixels(added.png)
    assert not np.array_equal(before[:32, :32], after[:32, :32])
    assert np.array_equal(before[40:, 40:], after[40:, 40:])  # outside the feathered box


def test_seed_003_fusion_on_the_real_decoder_blocks_and_attention(runner) -> None:
    pipe = runner._pipe
    pair = BranchPair(PROMPT, "a knight with long red hair in a forest", "", 11, 2, 64, 64, 7.5)
    size = pair.latent_size(pipe)
    recorder = CrossAttentionRecorder([[1, 2], [1, 2]], size)
    with torch.inference_mode():
        baseline = pair.run(pipe, output_type="latent").images
        with recording_cross_attention(pipe.unet, recorder):
            pair.run(pipe, output_type="latent", recorder=recorder)
        # 16 cross-attention layers (down 6, mid 1, up 9) in each UNet call (PNDM: 3 for 2
        # steps), every map on the latent grid
        assert recorder._counts == [16 * len(pipe.scheduler.timesteps)] * 2
        assert all(m is not None and m.shape == size for m in recorder.maps())
        # The mask the Editor's attribute edits take (engine.attribute_edit.attribute_masks).
        settings = EditSettings()
        mask = combine_masks(
            [attribute_mask(m, settings.mask_threshold) for m in recorder.maps()],
            settings.mask_combine,
        )
        assert mask.shape == size and 0 < float(mask.sum()) < size[0] * size[1]
        # Every decoder level, a zero mask: the fusion runs and changes nothing.
        zero = DecoderFusion(pipe.unet, [0, 1, 2, 3], torch.zeros(size), 0.2, {0, 1})
        assert torch.equal(pair.run(pipe, output_type="latent", fusion=zero).images, baseline)
        assert zero.fused == 8
        fused = DecoderFusion(pipe.unet, [1, 2], mask, 0.2, {0, 1})
        edited = pair.run(pipe, output_type="latent", fusion=fused).images
    # (The Editor's whole attribute path runs in the sd-turbo module.)
    assert not torch.equal(edited[0], baseline[0]) and torch.equal(edited[1], baseline[1])


def test_seed_004_style_branch_made_from_the_real_unet(runner, tmp_path: Path) -> None:
    pipe = runner._pipe
    branch = build_style_branch(pipe.unet)
    # The ControlNet copy has the UNet's real encoder: 3 + 3 + 3 + 3 skip outputs and the mid.
    assert len(branch.controlnet_down_blocks) == 12
    extractor = VGGStyle(None, 128, torch.device("cpu"))
    with Image.open(io.BytesIO(style_png(0))) as image:
        s = extractor.style_maps([image.convert("RGB")])
    assert s.shape == (1, 1, STYLE_MAP_SIZE, STYLE_MAP_SIZE)
    styled = StyledUNet(pipe.unet, branch)
    latent = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    text = pipe.encode_prompt([PROMPT], torch.device("cpu"), 1, False)[0]
    with torch.inference_mode():
        plain = pipe.unet(latent, 500, text).sample
        with styled.styles(s, torch.ones(1)):
            zero = styled(latent, 500, text).sample
        with torch.no_grad():
            for conv in [*branch.controlnet_down_blocks, branch.controlnet_mid_block]:
                conv.weight.normal_(std=0.02)
        with styled.styles(s, torch.ones(1)):
            steered = styled(latent, 500, text).sample
    assert torch.equal(zero, plain)  # a fresh branch adds exactly zero
    assert not torch.allclose(steered, plain)


def test_seed_004_training_steps_the_branch_of_the_real_unet(runner, tmp_path: Path) -> None:
    """training/style_branch.py on the real shapes: VAE latents, text, S, branch and UNet."""
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "a.png").write_bytes(style_png(2))
    (folder / "a.txt").write_text("a knight in a forest", encoding="utf-8")
    pipe = runner._pipe
    options = TrainingOptions(steps=1, batch_size=1, progress=False)
    trainer = StyleTrainer(
        pipe,
        build_style_branch(pipe.unet),
        VGGStyle(None, 128, torch.device("cpu")),
        training_examples(folder),
        options,
        (64, 64),
    )
    # SGD keeps no moment buffers: 2.9 GB less than AdamW for the 361M-parameter branch.
    trainer.optimizer = torch.optim.SGD(trainer.branch.parameters(), lr=1.0)
    latents, embeddings, maps = trainer.inputs([0])
    assert latents.shape == (1, 4, 8, 8) and embeddings.shape == (1, 77, 768)
    assert maps.shape == (1, 1, STYLE_MAP_SIZE, STYLE_MAP_SIZE)
    mid = trainer.branch.controlnet_mid_block.weight
    assert not mid.any()  # zero-initialised
    loss = trainer.train_step()
    assert np.isfinite(loss) and mid.detach().abs().sum() > 0  # the zero conv learned
    for frozen in (pipe.unet, pipe.vae, pipe.text_encoder):
        assert not any(p.requires_grad for p in frozen.parameters())
    del trainer


def test_style_reference_through_ip_adapter_on_the_style_layers(runner) -> None:
    request = GenerationRequest(PROMPT, (7,))
    [[plain]] = runner.generate([request])
    reference = StyleRef("style-1", style_png(1), 1.0)
    [[styled]] = runner.generate([GenerationRequest(PROMPT, (7,), style=reference)])
    assert not pictures_match(pixels(styled.png), pixels(plain.png))
    assert styled.provenance.style_method == METHOD and plain.provenance.style_method is None
    # Off: strength 0 silences the adapter; and unstyled pictures are untouched afterwards.
    [[silent]] = runner.generate(
        [GenerationRequest(PROMPT, (7,), style=StyleRef("style-1", style_png(1), 0.0))]
    )
    assert pictures_match(pixels(silent.png), pixels(plain.png))
    [[after]] = runner.generate([request])
    assert pictures_match(pixels(after.png), pixels(plain.png))
    assert all(
        type(p).__name__ != "IPAdapterAttnProcessor2_0"
        for p in runner._pipe.unet.attn_processors.values()
    )
    # InstantStyle: of the 16 IP-Adapter layers only the style layer speaks.
    style = runner._style_unit()
    assert style_layer(runner._pipe.unet) == "up_blocks.1.attentions.1"
    assert set_style_scale(style._processors, style._layer, 0.7) == 1
    # Requests of different strengths never share an IP-Adapter call.
    keys = {
        runner.sampling_key(GenerationRequest(PROMPT, (1,), style=StyleRef("s", b"", v)))
        for v in (0.5, 1.0)
    }
    assert len(keys) == 2


def test_the_casts_looks_through_the_same_ip_adapter_on_every_layer(runner) -> None:
    request = GenerationRequest(PROMPT, (7,))
    [[plain]] = runner.generate([request])
    look = LookRef("knight", "reference-1", style_png(2))
    with_look = GenerationRequest(PROMPT, (7,), looks=(look,), look_strength=0.6)
    [[looked]] = runner.generate([with_look])
    assert not pictures_match(pixels(looked.png), pixels(plain.png))
    assert looked.provenance.look_method.startswith("ip-adapter ")
    assert looked.provenance.looks == ("knight",)
    # One IP-Adapter (weights and ViT-H image encoder) for style references and looks.
    assert runner._look_adapter()._processors is runner._style_unit().parts()[0]
    # With an IP-Adapter style reference in the same request, the looks are recorded only.
    style = StyleRef("style-1", style_png(1), 1.0)
    [[both]] = runner.generate([GenerationRequest(PROMPT, (7,), style=style, looks=(look,),
                                                  look_strength=0.6)])  # fmt: skip
    assert (
        both.provenance.look_method == "none: the IP-Adapter carries this story's style reference"
    )
    [[after]] = runner.generate([request])
    assert pictures_match(pixels(after.png), pixels(plain.png))


def test_enhance_refines_with_img2img_until_the_restorer_is_trained(runner, tmp_path) -> None:
    from engine.restorer import LazyRestorer

    runner._restorer = LazyRestorer(tmp_path, torch.device("cpu"))
    [[parent]] = runner.generate([GenerationRequest(PROMPT, (9,))])
    assert runner.restorer_state == "img2img"
    [refined] = runner.restore([parent.png])
    assert pixels(refined).shape == (64, 64, 3) and not pictures_match(
        pixels(refined), pixels(parent.png)
    )
    trained = RestorerNet()
    torch.nn.init.normal_(trained.tail.weight, std=0.05)
    save_restorer(trained, restorer_dir(tmp_path), {"stage": "pixel"})
    assert runner.restorer_state == "trained"
    [restored] = runner.restore([parent.png])
    assert restored != refined and pixels(restored).shape == (64, 64, 3)
