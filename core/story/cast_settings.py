"""The `[story.cast]` section: how the story's cast keeps characters, places and props alike."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import setting


@dataclass(frozen=True)
class CastSettings:
    mode: str = setting(
        "looks",
        "seed: seed 000's library (each element's CLIP text feature, scored where a candidate "
        "shows it); looks: also each element's look, the CLIP feature of its own region",
        choices=("seed", "looks"),
    )
    grid: int = setting(
        3, "regions per side searched for an element in a picture (grid x grid)", at_least=1
    )
    region_size: float = setting(
        0.5, "side of a searched region, as a share of the picture's side", above=0, at_most=1
    )
    describe: bool = setting(
        True, "an element's description joins the prompt of a sentence that names it"
    )
    prompt_tokens: int = setting(
        77, "the text encoder's token budget; descriptions never push a prompt past it", at_least=8
    )
    drift_threshold: float = setting(
        0.0,
        "drift check: least similarity of a recurring element's region to its look; under it "
        "more candidates are drawn and the choice made again (0: no check)",
        at_least=0,
        at_most=1,
    )
    drift_extra: int = setting(
        4, "most extra candidates the drift check draws for one sentence", at_least=0, at_most=64
    )
    look_strength: float = setting(
        0.6,
        "how strongly the looks of the elements a sentence names condition its drawing through "
        "the image-prompt adapter, where a channel set none (0: off)",
        at_least=0,
        at_most=2,
    )
