"""The style branch (seed 004): a ControlNet-like copy of the UNet's down and mid blocks fed S."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from diffusers import ControlNetModel, UNet2DConditionModel
from torch import nn

from core.engine import StyleBranchState
from engine.profiles import ModelProfile
from engine.tiny import TINY_VERSION, TinyPaths

logger = logging.getLogger("inkwell.models")

# One 3x3 convolution at latent resolution before the zero-initialised output convolution.
# ControlNet's default (16, 32, 96, 256) down-samples a pixel image 8x; S is resized to the
# latent size instead (see branch_input), so the embedding must keep the resolution.
EMBEDDING_CHANNELS = (32,)
_TINY_BRANCH_MARKER = "inkwell-style-branch.json"
_TINY_BRANCH_VERSION = 1
# The tiny branch's output convolutions get random weights of this scale instead of zeros,
# so the tiny profile shows that a style reaches the pictures (it cannot show it is right).
_TINY_OUTPUT_STD = 0.2


def build_style_branch(unet: UNet2DConditionModel) -> ControlNetModel:
    """A copy of `unet`'s down blocks and mid block whose five kinds of output are zero.

    Zero outputs mean the UNet's skip connections and mid output get exactly zero added: a
    fresh branch draws bit for bit what the base pipeline draws. The embedding's input
    convolution is random; it is seeded so every fresh branch (and training run) is the same.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return ControlNetModel.from_unet(
            unet, conditioning_channels=1, conditioning_embedding_out_channels=EMBEDDING_CHANNELS
        )


def branch_input(maps: torch.Tensor, size: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    """What the branch's embedding sees: log1p(S) resized bilinearly to the latent's size.

    Gram entries are non-negative and span orders of magnitude between blocks and images;
    log1p keeps them in a range a 3x3 convolution can learn from. At 512x512 the latent is
    64x64 like S, so the resize is the identity there.
    """
    return F.interpolate(torch.log1p(maps.float()), size=size, mode="bilinear").to(dtype)


class StandInUNet(nn.Module):
    """A module that stands in for a pipeline's UNet: it wraps `unet` and answers what the
    pipeline reads from its UNet (config, dtype, device)."""

    def __init__(self, unet: UNet2DConditionModel) -> None:
        super().__init__()
        self.unet = unet

    @property
    def config(self) -> Any:
        return self.unet.config

    @property
    def dtype(self) -> torch.dtype:
        return self.unet.dtype

    @property
    def device(self) -> torch.device:
        return self.unet.device


class StyledUNet(StandInUNet):
    """The UNet with the branch's residuals added; stands in for a pipeline's UNet.

    Set the batch's style maps and strengths with `styles(...)` around a pipeline call. Each
    sample has its own S and strength, so requests with different styles share a call.
    """

    def __init__(self, unet: UNet2DConditionModel, branch: ControlNetModel) -> None:
        super().__init__(unet)
        self.branch = branch
        self._maps: torch.Tensor | None = None
        self._strengths: torch.Tensor | None = None

    @contextmanager
    def styles(self, maps: torch.Tensor, strengths: torch.Tensor) -> Iterator[None]:
        """Style map (B, 1, 64, 64) and strength (B,) for each of the next calls' B samples."""
        if maps.shape[0] != strengths.shape[0]:
            raise ValueError("one strength per style map")
        self._maps, self._strengths = maps, strengths
        try:
            yield
        finally:
            self._maps = self._strengths = None

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float | int,
        encoder_hidden_states: torch.Tensor,
        **kwargs: Any,
    ) -> Any:
        if self._maps is None or self._strengths is None:
            raise RuntimeError("StyledUNet called outside styles(...)")
        # Classifier-free guidance stacks [unconditional; conditional] copies of the batch;
        # the style steers both halves, so guidance does not amplify it.
        repeat = sample.shape[0] // self._maps.shape[0]
        condition = branch_input(self._maps, tuple(sample.shape[-2:]), sample.dtype)
        condition = condition.repeat(repeat, 1, 1, 1)
        scale = self._strengths.to(sample.device, sample.dtype).repeat(repeat).view(-1, 1, 1, 1)
        shared = {k: kwargs.get(k) for k in ("timestep_cond", "added_cond_kwargs")}
        down, mid = self.branch(
            sample,
            timestep,
            encoder_hidden_states=encoder_hidden_states,
            controlnet_cond=condition.to(sample.device),
            cross_attention_kwargs=kwargs.get("cross_attention_kwargs"),
            return_dict=False,
            **shared,
        )
        return self.unet(
            sample,
            timestep,
            encoder_hidden_states,
            down_block_additional_residuals=[residual * scale for residual in down],
            mid_block_additional_residual=mid * scale,
            **kwargs,
        )


@dataclass(frozen=True)
class BranchSource:
    """Where a profile's branch comes from; `path` None builds the zero branch from the UNet."""

    state: StyleBranchState
    path: Path | None
    looked_in: Path


def default_branch_dir(models_dir: Path, profile_name: str) -> Path:
    """Where `train-style` writes a profile's branch and where the runner looks for it."""
    return Path(models_dir) / "style-branch" / profile_name


def branch_source(profile: ModelProfile, models_dir: Path) -> BranchSource:
    """A trained branch if one is on disk; else the tiny random branch or the zero branch."""
    if profile.style_branch:
        trained = Path(profile.style_branch)
    else:
        trained = default_branch_dir(models_dir, profile.name)
    if (trained / "config.json").is_file():
        return BranchSource("trained", trained, trained)
    if profile.style_branch:
        logger.warning("configured style branch %s has no config.json", trained)
    if profile.is_tiny_generator:
        return BranchSource("random", tiny_branch_dir(models_dir), trained)
    if profile.ip_adapter is not None:
        logger.warning(
            "profile %r has no trained style branch (looked in %s): style references run "
            "through IP-Adapter %s on the style layers until `python -m bot train-style` "
            "trains one",
            *(profile.name, trained, profile.ip_adapter),
        )
        return BranchSource("untrained", None, trained)
    logger.warning(
        "profile %r has no trained style branch (looked in %s): style references will run "
        "with a zero branch and not change pictures until `python -m bot train-style` trains one",
        *(profile.name, trained),
    )
    return BranchSource("untrained", None, trained)


def load_branch(
    source: BranchSource, unet: UNet2DConditionModel, models_dir: Path
) -> ControlNetModel:
    """The branch `source` names, on the UNet's device and dtype."""
    if source.state == "trained" and source.path is not None:
        branch = ControlNetModel.from_pretrained(source.path, local_files_only=True)
    elif source.state == "random":
        path = ensure_tiny_style_branch(models_dir, unet)
        branch = ControlNetModel.from_pretrained(path, local_files_only=True)
    else:
        logger.warning(
            "style references run with an UNTRAINED (zero) style branch: they do not change "
            "pictures until one is trained (python -m bot train-style DIR; looked in %s)",
            source.looked_in,
        )
        branch = build_style_branch(unet)
    # ModelMixin.to warns on any dtype cast about fp32-only modules; ControlNet has none.
    branch = nn.Module.to(branch, unet.device, unet.dtype)
    return branch.eval().requires_grad_(False)


def tiny_branch_dir(models_dir: Path) -> Path:
    # Inside the tiny build: a rebuild of the tiny models takes the branch copied from the
    # old UNet away with it.
    return TinyPaths.under(Path(models_dir)).root / "style-branch"


def _is_current(root: Path) -> bool:
    try:
        marker = json.loads((root / _TINY_BRANCH_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker == {"tiny": TINY_VERSION, "branch": _TINY_BRANCH_VERSION}


def ensure_tiny_style_branch(models_dir: Path, unet: UNet2DConditionModel) -> Path:
    """Build the tiny profile's branch from the tiny UNet once, like the other tiny models.

    Its output convolutions are random rather than zero, so tiny runs show the style path
    changes pictures; staged in a temporary directory and renamed into place.
    """
    target = tiny_branch_dir(models_dir)
    if _is_current(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".style-branch-", dir=target.parent))
    try:
        branch = nn.Module.to(build_style_branch(unet), "cpu", torch.float32)
        generator = torch.Generator().manual_seed(0)
        outputs = [*branch.controlnet_down_blocks, branch.controlnet_mid_block]
        outputs.append(branch.controlnet_cond_embedding.conv_out)
        with torch.no_grad():
            for conv in outputs:
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator))
                conv.weight.mul_(_TINY_OUTPUT_STD)
        built = staging / "branch"
        branch.save_pretrained(built)
        marker = {"tiny": TINY_VERSION, "branch": _TINY_BRANCH_VERSION}
        (built / _TINY_BRANCH_MARKER).write_text(json.dumps(marker), encoding="utf-8")
        if target.exists():
            os.rename(target, staging / "stale")
        try:
            os.rename(built, target)
        except OSError:
            if not _is_current(target):  # another process won the race with an equal build
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("built the tiny style branch in %s", target)
    return target
