"""The drift check: a recurring element drawn unlike its look gets more candidates, boundedly.

After choosing, a sentence whose pick shows a recurring element with a look less alike than
`story.cast.drift_threshold` gets up to `story.cast.drift_extra` more candidates (at most
`story.candidates` per round), and the paragraph is chosen again. "Why" shows the check.
"""

from __future__ import annotations

from core.story.choosing import Chosen
from core.story.planning import Prompt
from core.story.settings import StorySettings


def drifting(
    prompts: list[Prompt], chosen: list[Chosen], extra: list[int], settings: StorySettings
) -> dict[int, int]:
    """Prompt number -> candidates to draw next, for the picks that drifted."""
    cast = settings.cast
    if cast.drift_threshold <= 0:
        return {}
    redraw = {}
    for number, (prompt, choice) in enumerate(zip(prompts, chosen, strict=True)):
        left = cast.drift_extra - extra[number]
        drifted = any(alike < cast.drift_threshold for _, alike in choice.looks)
        if drifted and left > 0 and prompt.forced is None:
            redraw[number] = min(left, settings.candidates)
    return redraw


def drift_record(choice: Chosen, extra: int, settings: StorySettings) -> dict:
    """The provenance "why" shows: the threshold, each recurring element's likeness, the
    candidates drawn beyond the first K."""
    if settings.cast.drift_threshold <= 0 or not choice.looks:
        return {}
    return {
        "drift": {
            "threshold": settings.cast.drift_threshold,
            "looks": dict(choice.looks),
            "extra_candidates": extra,
        }
    }
