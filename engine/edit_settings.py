"""The `[edit_engine]` section: how the engine carries out edits (seeds 001 and 003)."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import check_settings, setting

MASK_COMBINES = ("union", "intersection")
BLOCKS = "block indices, 0 or more"
# A step range: fractions of the denoising steps, rising strictly.
STEP_RANGE = {
    "at_least": 0,
    "at_most": 1,
    "increasing": True,
    "expect": "[start, end] with 0 <= start < end <= 1",
}


@dataclass(frozen=True)
class EditSettings:
    """Fusion, masks and inpainting settings, as the model runner uses them.

    Decoder blocks are indices into the UNet's `up_blocks` (0 = the lowest resolution).
    Step ranges are fractions of the denoising steps: step i fuses when start <= i/n < end.
    An attribute edit is "complex" when it names several attribute words or its joint mask
    covers more than `complex_area` of the picture; complex edits fuse at `complex_blocks`
    during `complex_steps` instead ([0107]-[0121]: more fusions for harder edits).
    """

    fusion_alpha: float = setting(
        0.2, "seed 003's a: share of the original kept inside the mask", at_least=0, at_most=0.3
    )
    decoder_blocks: tuple[int, ...] = setting(
        (1,), "UNet decoder (up) blocks fused, 0 = lowest resolution", at_least=0, expect=BLOCKS
    )
    fusion_steps: tuple[float, float] = setting(
        (0.0, 0.8), "fused denoising steps as fractions [start, end) of all steps", **STEP_RANGE
    )
    complex_blocks: tuple[int, ...] = setting(
        (0, 1), "blocks fused for several attributes or a large region", at_least=0, expect=BLOCKS
    )
    complex_steps: tuple[float, float] = setting(
        (0.0, 1.0), "fused steps of complex edits", **STEP_RANGE
    )
    complex_area: float = setting(
        0.25, "share of the picture above which an attribute region is large", at_least=0, at_most=1
    )
    mask_combine: str = setting(
        "union", "joint mask of the original and attribute branches", choices=MASK_COMBINES
    )
    mask_threshold: float = setting(
        0.3,
        "share of its range where the word's attention map becomes the mask",
        above=0,
        at_most=1,
    )
    inpaint_strength: float = setting(
        1.0, "added / removed elements are redrawn from this much noise", above=0, at_most=1
    )
    region_feather: float = setting(
        0.05, "softened edge of an inpainted region, share of the picture", at_least=0, at_most=0.5
    )
    instruct_guidance: float = setting(
        7.5, "text guidance of an attribute edit drawn by a trained edit model", at_least=0
    )
    instruct_image_guidance: float = setting(
        1.5, "picture guidance of an edit model: higher keeps more of the original", at_least=0
    )

    def __post_init__(self) -> None:
        check_settings(self, "edit_engine")  # settings built in code are held to the same bounds

    def check_blocks(self, up_blocks: int) -> None:
        """Fail naming the key when a configured block is not among the UNet's `up_blocks`."""
        for key in ("decoder_blocks", "complex_blocks"):
            blocks = getattr(self, key)
            if max(blocks) >= up_blocks:
                raise ValueError(
                    f"'edit_engine.{key}' = {list(blocks)}: this UNet has decoder blocks "
                    f"0..{up_blocks - 1}"
                )
