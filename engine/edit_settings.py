"""How the engine carries out edits (seeds 001 and 003): fusion, masks and inpainting settings."""

from __future__ import annotations

from dataclasses import dataclass

MASK_COMBINES = ("union", "intersection")


@dataclass(frozen=True)
class EditSettings:
    """The `[edit]` config as the model runner uses it; see config.toml for each key.

    Decoder blocks are indices into the UNet's `up_blocks` (0 = the lowest resolution).
    Step ranges are fractions of the denoising steps: step i fuses when start <= i/n < end.
    An attribute edit is "complex" when it names several attribute words or its joint mask
    covers more than `complex_area` of the picture; complex edits fuse at `complex_blocks`
    during `complex_steps` instead ([0107]-[0121]: more fusions for harder edits).
    """

    fusion_alpha: float = 0.2
    decoder_blocks: tuple[int, ...] = (1,)
    fusion_steps: tuple[float, float] = (0.0, 0.8)
    complex_blocks: tuple[int, ...] = (0, 1)
    complex_steps: tuple[float, float] = (0.0, 1.0)
    complex_area: float = 0.25
    mask_combine: str = "union"
    mask_threshold: float = 0.3
    inpaint_strength: float = 1.0
    region_feather: float = 0.05

    def __post_init__(self) -> None:
        problems = {
            "fusion_alpha": 0.0 <= self.fusion_alpha <= 0.3,
            "decoder_blocks": bool(self.decoder_blocks) and min(self.decoder_blocks) >= 0,
            "complex_blocks": bool(self.complex_blocks) and min(self.complex_blocks) >= 0,
            "fusion_steps": _is_range(self.fusion_steps),
            "complex_steps": _is_range(self.complex_steps),
            "complex_area": 0.0 <= self.complex_area <= 1.0,
            "mask_combine": self.mask_combine in MASK_COMBINES,
            "mask_threshold": 0.0 < self.mask_threshold <= 1.0,
            "inpaint_strength": 0.0 < self.inpaint_strength <= 1.0,
            "region_feather": 0.0 <= self.region_feather <= 0.5,
        }
        bad = [key for key, ok in problems.items() if not ok]
        if bad:
            raise ValueError(f"edit settings out of range: {', '.join(bad)} ({self})")

    def check_blocks(self, up_blocks: int) -> None:
        """Fail naming the key when a configured block is not among the UNet's `up_blocks`."""
        for key in ("decoder_blocks", "complex_blocks"):
            blocks = getattr(self, key)
            if max(blocks) >= up_blocks:
                raise ValueError(
                    f"'edit.{key}' = {list(blocks)}: this UNet has decoder blocks "
                    f"0..{up_blocks - 1}"
                )


def _is_range(steps: tuple[float, float]) -> bool:
    return len(steps) == 2 and 0.0 <= steps[0] < steps[1] <= 1.0
