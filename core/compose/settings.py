"""The `[story.compose]` section: seed 001's composed pictures and how each stage is drawn."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import setting

DIRECT, COMPOSED = "direct", "composed"
MODES = (DIRECT, COMPOSED)


@dataclass(frozen=True)
class CompositionSettings:
    mode: str = setting(
        DIRECT,
        "drawing mode of a story that picked none: direct (seed 000: the chosen candidate is "
        "the picture) or composed (seed 001: background and foreground drawn apart, merged, "
        "rendered in a style chosen from the text)",
        choices=MODES,
    )
    tables: str = setting(
        "",
        "folder whose elements.tsv, topics.tsv, emotions.tsv and styles.tsv replace the "
        'shipped tables (core/compose/); "": the shipped ones',
    )
    max_foreground: int = setting(
        3, "most foreground elements drawn on their own per picture", at_least=1, at_most=8
    )
    cutout: str = setting(
        "attention",
        "how an element drawn alone is cut out: attention (its word's cross-attention) or "
        "backdrop (its difference from the plain backdrop)",
        choices=("attention", "backdrop"),
    )
    mask_threshold: float = setting(
        0.5,
        "share of its range at which a word's cross-attention becomes the element's mask",
        above=0,
        at_most=1,
    )
    reuse_cutouts: bool = setting(
        True,
        "an element drawn alone once is merged as drawn into the story's later pictures, so "
        "its look is kept by construction",
    )
    element_strength: float = setting(
        0.6,
        "img2img strength an element is drawn from its cast look with (when it has one)",
        above=0,
        at_most=1,
    )
    background_strength: float = setting(
        0.6,
        "img2img strength of a background redrawn for a new background element",
        above=0,
        at_most=1,
    )
    render_strength: float = setting(
        0.5,
        "how much rendering the sketch in the style changes the merge (img2img or ControlNet "
        "img2img strength)",
        above=0,
        at_most=1,
    )
    edge_threshold: float = setting(
        0.2,
        "share of the strongest edge at which the Sobel gradient of the merge is sketched",
        above=0,
        at_most=1,
    )
