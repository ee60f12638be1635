"""Styled generation for a runner: style maps of requests' references and a branch-fed pipeline."""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline

from core.engine import StyleRef
from engine.profiles import ModelProfile
from engine.style_branch import BranchSource, StyledUNet, load_branch
from engine.style_features import VGGStyle, open_rgb

logger = logging.getLogger("inkwell.models")


class StyleUnit:
    """A second pipeline over the same components whose UNet is the StyledUNet.

    Loaded on the first styled request, so runners that never see a style pay nothing.
    Style maps are cached by image content: a channel's reference is used for every sentence.
    """

    def __init__(
        self,
        extractor: VGGStyle,
        styled_unet: StyledUNet,
        pipeline: StableDiffusionPipeline,
        cache_size: int = 64,
    ) -> None:
        self._extractor = extractor
        self._unet = styled_unet
        self._pipeline = pipeline
        self._cache: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def load(
        cls,
        profile: ModelProfile,
        source: BranchSource,
        models_dir: Path,
        pipe: StableDiffusionPipeline,
    ) -> StyleUnit:
        branch = load_branch(source, pipe.unet, models_dir)
        styled_unet = StyledUNet(pipe.unet, branch)
        components = {**pipe.components, "unet": styled_unet}
        pipeline = StableDiffusionPipeline(**components, requires_safety_checker=False)
        pipeline.set_progress_bar_config(disable=True)
        extractor = VGGStyle(profile.vgg_weights, profile.style_image_size, pipe.unet.device)
        logger.info(
            "style branch ready (%s, from %s); VGG19 weights %s at %d px",
            source.state,
            source.path or "the UNet, zero-initialised",
            profile.vgg_weights or "random",
            profile.style_image_size,
        )
        return cls(extractor, styled_unet, pipeline)

    @property
    def pipeline(self) -> StableDiffusionPipeline:
        return self._pipeline

    def maps(self, styles: Sequence[StyleRef]) -> torch.Tensor:
        """S for each reference, (B, 1, 64, 64) float32; each distinct image computed once."""
        keys = [hashlib.sha256(style.image).digest() for style in styles]
        missing = {key: style for key, style in zip(keys, styles, strict=True)}
        missing = {key: style for key, style in missing.items() if key not in self._cache}
        if missing:
            computed = self._extractor.style_maps([open_rgb(s.image) for s in missing.values()])
            for key, style_map in zip(missing, computed, strict=True):
                self._cache[key] = style_map
        for key in keys:
            self._cache.move_to_end(key)
        maps = torch.stack([self._cache[key] for key in keys])
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return maps

    @contextmanager
    def applied(self, styles: Sequence[StyleRef]) -> Iterator[StableDiffusionPipeline]:
        """The styled pipeline, set up for one call whose samples carry `styles` in order."""
        strengths = torch.tensor([style.strength for style in styles], dtype=torch.float32)
        with self._unet.styles(self.maps(styles), strengths):
            yield self._pipeline
