"""The picture-book generator as a normal diffusers StableDiffusionPipeline, and its parts."""

from __future__ import annotations

import tempfile
from pathlib import Path

from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from engine.tiny import write_clip_tokenizer_files
from training.picturebook.options import (
    CLIP_VOCAB_SIZE,
    CONTEXT_LENGTH,
    LATENT_SIZE,
    Architecture,
)

# A cosine schedule keeps some signal at small t on tiny latents (NOTES: the 16x16 check used it).
_SCHEDULE = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")


def clip_tokenizer() -> CLIPTokenizer:
    """The real CLIP BPE tokenizer, written from open_clip's bundled vocabulary."""
    with tempfile.TemporaryDirectory(prefix="clip-tokenizer-") as folder:
        write_clip_tokenizer_files(Path(folder))
        # Without model_max_length diffusers' encode_prompt overflows.
        return CLIPTokenizer.from_pretrained(folder, model_max_length=CONTEXT_LENGTH)


def build_text_encoder(arch: Architecture, tokenizer: CLIPTokenizer) -> CLIPTextModel:
    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=CLIP_VOCAB_SIZE,
            hidden_size=arch.text_width,
            intermediate_size=4 * arch.text_width,
            num_hidden_layers=arch.text_layers,
            num_attention_heads=arch.text_heads,
            max_position_embeddings=CONTEXT_LENGTH,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )


def build_unet(arch: Architecture) -> UNet2DConditionModel:
    # Cross-attention at the two lower levels (8x8 and 4x4), plain convolutions at 16x16.
    levels = len(arch.unet_channels)
    down = ("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (levels - 1)
    up = ("CrossAttnUpBlock2D",) * (levels - 1) + ("UpBlock2D",)
    return UNet2DConditionModel(
        sample_size=LATENT_SIZE,
        in_channels=arch.latent_channels,
        out_channels=arch.latent_channels,
        down_block_types=down,
        up_block_types=up,
        block_out_channels=arch.unet_channels,
        layers_per_block=arch.unet_layers_per_block,
        norm_num_groups=arch.unet_groups,
        cross_attention_dim=arch.text_width,
        attention_head_dim=8,
    )


def training_scheduler() -> DDPMScheduler:
    return DDPMScheduler(**_SCHEDULE, clip_sample=False)


def sampling_scheduler() -> DDIMScheduler:
    """DDIM on the training schedule with SD 1.x's spacing ("leading", offset 1).

    Not "trailing": that starts at t=999, where the cosine schedule's alpha_bar is 2e-9, and
    the x0 estimate of an epsilon model divides by its square root (samples blow up to noise).
    """
    return DDIMScheduler(
        **_SCHEDULE,
        clip_sample=False,
        set_alpha_to_one=False,
        timestep_spacing="leading",
        steps_offset=1,
    )


def assemble_pipeline(
    vae: AutoencoderKL,
    text_encoder: CLIPTextModel,
    tokenizer: CLIPTokenizer,
    unet: UNet2DConditionModel,
) -> StableDiffusionPipeline:
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=sampling_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe
