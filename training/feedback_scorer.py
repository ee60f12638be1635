"""Seed 002's scorer: does a text describe a picture? A CLIP-structured model with a cosine.

[0164]-[0206], [0330]: an image encoder, a text encoder and a similarity module, trained on
(picture, text, label 1/0). It starts from the profile's CLIP (so real profiles start from
real CLIP weights) and learns a scale and offset that turn the cosine into a 0..1 score.
Frozen, it scores the restorer's output against the target text in the third stage.

CLIP sees pictures resized to its input size, where fine blur, noise and scratches are hard to
see, so the image encoder adds a small detail adapter: a CNN over the picture's high
frequencies at full size, added to CLIP's image feature. Its last layer starts at zero, so a
new scorer is exactly the profile's CLIP.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from torch import nn

from engine.profiles import ModelProfile
from engine.restorer import restorer_dir

logger = logging.getLogger("inkwell.models")

SCORER_CHECKPOINT = "scorer.pt"


class DetailAdapter(nn.Module):
    """High-frequency statistics of a picture -> a correction to CLIP's image feature."""

    def __init__(self, embed_dim: int, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.out = nn.Linear(2 * width, embed_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        detail = pixels - F.avg_pool2d(pixels, 3, stride=1, padding=1, count_include_pad=False)
        maps = self.features(detail * 8)
        return self.out(torch.cat([maps.mean((2, 3)), maps.amax((2, 3))], dim=1))


class FeedbackScorer(nn.Module):
    """Pairs of (pictures in 0..1, texts) -> probability that each text describes its picture."""

    def __init__(self, clip: nn.Module, tokenizer: Callable[..., torch.Tensor], clip_name: str):
        super().__init__()
        self.clip = clip
        self.tokenizer = tokenizer
        self.clip_name = clip_name
        size = clip.visual.image_size
        self.image_size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        self.register_buffer("mean", torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1))
        with torch.no_grad():
            embed_dim = int(clip.encode_text(tokenizer([""])).shape[-1])
        self.detail = DetailAdapter(embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(10.0))
        self.logit_bias = nn.Parameter(torch.tensor(0.0))

    @classmethod
    def from_clip(
        cls, clip: nn.Module, tokenizer: Callable[..., torch.Tensor], clip_name: str
    ) -> FeedbackScorer:
        """A scorer starting from a copy of `clip`; the engine's own model is not touched."""
        return cls(copy.deepcopy(clip).float().train(), tokenizer, clip_name)

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Differentiable: pictures (B, 3, H, W) in 0..1 -> L2-normalised image features."""
        resized = F.interpolate(pixels, size=self.image_size, mode="bilinear", align_corners=False)
        features = self.clip.encode_image((resized - self.mean) / self.std)
        features = F.normalize(features, dim=-1) + self.detail(pixels)
        return F.normalize(features, dim=-1)

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        tokens = self.tokenizer(list(texts)).to(self.mean.device)
        return F.normalize(self.clip.encode_text(tokens), dim=-1)

    def logits(self, pixels: torch.Tensor, texts: Sequence[str]) -> torch.Tensor:
        """One logit per (picture i, text i): scale * cosine + offset."""
        cosine = (self.encode_pixels(pixels) * self.encode_texts(texts)).sum(-1)
        return self.logit_scale * cosine + self.logit_bias

    def similarity(self, pixels: torch.Tensor, texts: Sequence[str]) -> torch.Tensor:
        """In 0..1, as [0147] wants it to weigh against the pixel loss."""
        return torch.sigmoid(self.logits(pixels, texts))

    def freeze(self) -> FeedbackScorer:
        """No gradients into the scorer; gradients still flow through it to its inputs."""
        self.eval()
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        return self

    def unfreeze(self) -> FeedbackScorer:
        self.train()
        for parameter in self.parameters():
            parameter.requires_grad_(True)
        return self


def save_scorer(scorer: FeedbackScorer, directory: Path, meta: dict | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SCORER_CHECKPOINT
    partial = path.with_suffix(".partial")
    payload = {"clip_name": scorer.clip_name, "state": scorer.state_dict(), "meta": meta or {}}
    torch.save(payload, partial)
    partial.replace(path)
    return path


def load_scorer(profile: ModelProfile, models_dir: Path, device: torch.device) -> FeedbackScorer:
    """The trained scorer if one is on disk, else a new one from the profile's CLIP."""
    from engine.loading import load_clip  # diffusers and all: only when needed

    clip, _, tokenizer, described = load_clip(profile, Path(models_dir), device)
    path = restorer_dir(models_dir) / SCORER_CHECKPOINT
    scorer = FeedbackScorer.from_clip(clip, tokenizer, profile.clip_model)
    if path.is_file():
        payload: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        if payload["clip_name"] == profile.clip_model:
            scorer.load_state_dict(payload["state"])
            logger.info("feedback scorer loaded from %s", path)
            return scorer.to(device)
        logger.warning(
            "scorer at %s was trained on %s, not %s: starting again from CLIP",
            *(path, payload["clip_name"], profile.clip_model),
        )
    logger.info("feedback scorer starts from %s (not trained on feedback yet)", described)
    return scorer.to(device)
