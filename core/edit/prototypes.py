"""The nearest-prototype reading of a reply the rules could not place, with the engine's CLIP."""

from __future__ import annotations

import numpy as np

from core.edit.understanding import EXAMPLES, EditIntent, normalised
from core.engine import Engine

# A few phrasings per kind; a reply is compared with each kind's mean feature.
PROTOTYPES: dict[str, tuple[str, ...]] = {
    "global": (
        "change the mood and lighting of the whole picture",
        "make the whole scene look different, in another style",
        "make the atmosphere more dramatic",
    ),
    "add": ("add a new thing to the picture", "put another character into the scene"),
    "remove": ("take that thing out of the picture", "there should be nobody there"),
    "attribute": ("change the colour of his clothes", "give her a different hairstyle"),
}
ASK = {
    "add": "Did you want something added? Name it, like 'add a lantern on the left'. ",
    "remove": "Did you want something removed? Name it, like 'remove the car'. ",
    "attribute": "Did you want to change someone's look? Say whose and what, like "
    "'give him a red scarf'. ",
}


async def nearest_prototype(
    engine: Engine, text: str, min_similarity: float, min_margin: float
) -> EditIntent | None:
    """A global change worded by the reply itself, a question naming the guess, or None.

    None means no prototype is clearly nearest; the caller keeps its own question. Only a
    global change is acted on: the other kinds need a named target the rules could not find.
    """
    said = normalised(text)
    if not said:
        return None
    kinds = list(PROTOTYPES)
    phrases = [phrase for kind in kinds for phrase in PROTOTYPES[kind]]
    features = await engine.embed_texts([said, *phrases])
    request, rest = features[0], features[1:]
    scores, start = [], 0
    for kind in kinds:
        count = len(PROTOTYPES[kind])
        mean = rest[start : start + count].mean(axis=0)
        start += count
        scores.append(float(request @ mean / (np.linalg.norm(mean) or 1.0)))
    order = np.argsort(scores)[::-1]
    best, second = scores[order[0]], scores[order[1]]
    if best < min_similarity or best - second < min_margin:
        return None
    kind = kinds[order[0]]
    if kind == "global":
        return EditIntent("global", words=said)
    return EditIntent("question", question=ASK[kind] + EXAMPLES)
