"""What one picture-book training run does: its stages' sizes, step counts and rates."""

from __future__ import annotations

from dataclasses import dataclass

# The UNet runs on 16x16 latents of 64x64 renders: NOTES found that 2 CPU cores learn captions
# there in tens of minutes, and that spending the budget on steps beats spending it on pixels.
IMAGE_SIZE = 64
LATENT_SIZE = 16
CONTEXT_LENGTH = 77  # CLIP's; diffusers pads every prompt to it
CLIP_VOCAB_SIZE = 49408  # the real CLIP BPE vocabulary (open_clip's bundled file)


@dataclass(frozen=True)
class Architecture:
    """Model sizes; `small()` shrinks them for tests."""

    vae_channels: tuple[int, ...] = (16, 32, 64)
    vae_groups: int = 16
    vae_layers_per_block: int = 1
    latent_channels: int = 4
    text_width: int = 64
    text_layers: int = 3
    text_heads: int = 4
    unet_channels: tuple[int, ...] = (48, 96, 128)
    unet_groups: int = 16
    unet_layers_per_block: int = 1
    clip_embed: int = 64
    clip_vision_width: int = 128
    clip_vision_layers: int = 4
    clip_text_width: int = 64
    clip_text_layers: int = 2

    @classmethod
    def small(cls) -> Architecture:
        return cls(
            vae_channels=(8, 8, 8),
            vae_groups=4,
            vae_layers_per_block=1,
            latent_channels=4,
            text_width=16,
            text_layers=1,
            text_heads=2,
            unet_channels=(8, 16, 16),
            unet_groups=4,
            clip_embed=8,
            clip_vision_width=16,
            clip_vision_layers=1,
            clip_text_width=16,
            clip_text_layers=1,
        )


@dataclass(frozen=True)
class TrainingPlan:
    """Steps, batches and rates of every stage; the defaults fit ~80 minutes on one CPU core."""

    seed: int = 0
    scenes: int = 16000  # rendered once, re-captioned at every step
    autoencoder_steps: int = 1600
    autoencoder_batch: int = 32
    autoencoder_crop: int = 32  # trained on crops: a quarter of the pixels per picture
    autoencoder_lr: float = 2e-3
    kl_weight: float = 1e-6
    diffusion_steps: int = 2600
    diffusion_batch: int = 64
    diffusion_lr: float = 1e-3
    warmup_steps: int = 100
    empty_caption_share: float = 0.1  # for classifier-free guidance
    snr_gamma: float = 0.0  # min-SNR loss weighting (0: plain MSE, as v1 was trained; 5 is usual)
    ema_decay: float = 0.999
    clip_steps: int = 400
    clip_batch: int = 128
    clip_lr: float = 5e-4
    held_out: int = 256  # fresh scenes the scorer's retrieval accuracy is measured on
    checkpoint_every: int = 100
    sample_every: int = 300  # diffusion steps between sample grids (0: none)
    sample_steps: int = 25
    guidance_scale: float = 3.0
    threads: int = 1
    progress: bool = True
    architecture: Architecture = Architecture()
