"""Random-weight tiny models of the real classes, built offline once, loaded by from_pretrained."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.profiles import TINY_CLIP_MODEL

logger = logging.getLogger("inkwell.models")

# Bump when the recipe below changes so that stale builds on disk are replaced.
TINY_VERSION = 1
_MARKER = "inkwell-tiny.json"

# Sizes from diffusers' own Stable Diffusion fast tests; the text encoder keeps the real CLIP
# vocabulary so that real prompts tokenise exactly as they would for SD 1.5.
_UNET = dict(
    block_out_channels=(4, 8),
    layers_per_block=1,
    sample_size=32,
    in_channels=4,
    out_channels=4,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    cross_attention_dim=8,
    norm_num_groups=2,
)
_VAE = dict(
    block_out_channels=[4, 8],
    in_channels=3,
    out_channels=3,
    down_block_types=["DownEncoderBlock2D"] * 2,
    up_block_types=["UpDecoderBlock2D"] * 2,
    latent_channels=4,
    norm_num_groups=2,
)
_CLIP_VOCAB_SIZE = 49408
_CONTEXT_LENGTH = 77
_OPEN_CLIP_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 32, "head_width": 16, "layers": 1},
    "text_cfg": {
        "context_length": _CONTEXT_LENGTH,
        "vocab_size": _CLIP_VOCAB_SIZE,
        "width": 32,
        "heads": 4,
        "layers": 1,
    },
}


@dataclass(frozen=True)
class TinyPaths:
    """Where the tiny models live once built."""

    root: Path
    generator: Path  # a StableDiffusionPipeline directory for from_pretrained
    clip_config: Path  # open_clip model config json, named after the model
    clip_weights: Path  # open_clip state dict, passed as `pretrained=`
    clip_model: str = TINY_CLIP_MODEL

    @classmethod
    def under(cls, models_dir: Path) -> TinyPaths:
        root = Path(models_dir) / "tiny"
        clip = root / "clip"
        return cls(
            root=root,
            generator=root / "generator",
            clip_config=clip / f"{TINY_CLIP_MODEL}.json",
            clip_weights=clip / "open_clip_model.safetensors",
        )


def _is_current(root: Path) -> bool:
    try:
        marker = json.loads((root / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("version") == TINY_VERSION


def ensure_tiny_models(models_dir: Path) -> TinyPaths:
    """Build the tiny models under `models_dir/tiny` unless a current build is already there.

    The build goes to a temporary sibling directory that is renamed into place, so a crash or a
    concurrent builder never leaves a half-written model behind.
    """
    paths = TinyPaths.under(models_dir)
    if _is_current(paths.root):
        return paths
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tiny-build-", dir=models_dir))
    try:
        _build(TinyPaths.under(staging).root)
        built = staging / "tiny"
        if paths.root.exists() and not _is_current(paths.root):
            # A stale recipe: move it aside first, since rename cannot replace a non-empty dir.
            os.rename(paths.root, staging / "stale")
        try:
            os.rename(built, paths.root)
        except OSError:
            # Another process won the race; its build is equally good.
            if not _is_current(paths.root):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("built tiny models in %s", paths.root)
    return paths


def _build(root: Path) -> None:
    paths = TinyPaths.under(root.parent)
    _build_generator(paths.generator)
    _build_clip(paths)
    (root / _MARKER).write_text(json.dumps({"version": TINY_VERSION}), encoding="utf-8")


def write_clip_tokenizer_files(target: Path) -> None:
    """vocab.json + merges.txt for transformers' CLIPTokenizer from open_clip's bundled BPE file."""
    from open_clip.tokenizer import SimpleTokenizer

    bpe = SimpleTokenizer()
    rename = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    vocab = {rename.get(token, token): index for token, index in bpe.encoder.items()}
    merges = [" ".join(pair) for pair, _ in sorted(bpe.bpe_ranks.items(), key=lambda kv: kv[1])]
    target.mkdir(parents=True, exist_ok=True)
    (target / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (target / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8"
    )


def _build_generator(target: Path) -> None:
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    token_files = target.parent / "tokenizer-src"
    write_clip_tokenizer_files(token_files)
    # Without model_max_length the tokenizer reports a huge max length and diffusers'
    # encode_prompt overflows.
    tokenizer = CLIPTokenizer.from_pretrained(token_files, model_max_length=_CONTEXT_LENGTH)

    torch.manual_seed(0)
    unet = UNet2DConditionModel(**_UNET)
    torch.manual_seed(0)
    vae = AutoencoderKL(**_VAE)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            hidden_size=8,
            intermediate_size=16,
            num_attention_heads=2,
            num_hidden_layers=2,
            vocab_size=_CLIP_VOCAB_SIZE,
            max_position_embeddings=_CONTEXT_LENGTH,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,  # SD 1.5's value; 0 draws a deprecation warning from diffusers
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(target)
    shutil.rmtree(token_files)


def _build_clip(paths: TinyPaths) -> None:
    import open_clip
    import torch
    from safetensors.torch import save_file

    paths.clip_config.parent.mkdir(parents=True, exist_ok=True)
    paths.clip_config.write_text(json.dumps(_OPEN_CLIP_CFG, indent=2), encoding="utf-8")
    torch.manual_seed(0)
    model = open_clip.model.CLIP(
        embed_dim=_OPEN_CLIP_CFG["embed_dim"],
        vision_cfg=_OPEN_CLIP_CFG["vision_cfg"],
        text_cfg=_OPEN_CLIP_CFG["text_cfg"],
    )
    # safetensors refuses shared or non-contiguous tensors; every CLIP tensor is its own.
    state = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    save_file(state, str(paths.clip_weights))


def register_tiny_clip(paths: TinyPaths) -> None:
    """Make the tiny config known to open_clip by name (once per process)."""
    import open_clip

    if paths.clip_model not in open_clip.list_models():
        open_clip.add_model_config(paths.clip_config)
