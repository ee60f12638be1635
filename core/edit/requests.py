"""Reading one request with everything at hand: quality words, the parse, the encoder."""

from __future__ import annotations

from dataclasses import replace

from core.edit.cast import Cast
from core.edit.intents import IntentModel, KindScores
from core.edit.parsing import Parser
from core.edit.understanding import (
    EXAMPLES,
    EditIntent,
    history_of,
    normalised,
    understand,
    wants_enhance,
)
from core.edit.vocabulary import global_look
from core.feedback import is_quality_complaint

# Below this share of the encoder for the kind read, the reply says it may be wrong.
UNSURE_BELOW = 0.35
# The encoder alone acts on a global change only when at least this sure of it.
ENCODER_ACTS_AT = 0.5
ASK = {
    "add": "Did you want something added? Name it, like 'add a lantern on the left'. ",
    "remove": "Did you want something removed? Name it, like 'remove the car'. ",
    "attribute": "Did you want to change someone's look? Say whose and what, like "
    "'give him a red scarf'. ",
    "correction": "Did you want to correct how someone looks? Say who and how, like "
    "'Tom has a grey beard'. ",
    "framing": "Did you want the picture framed differently? Say 'zoom in', 'zoom out' or "
    "'pan left'. ",
    "resize": "Did you want something bigger or smaller? Say what, like 'make the boat bigger'. ",
    "move": "Did you want something moved? Say what and where, like 'move the boat to the left'. ",
    "style": "Did you want another style? Name it, like 'as a watercolour'. ",
}
OFFERS = {
    "global": "make it darker",
    "style": "as a watercolour",
    "framing": "zoom in",
    "add": "add a lantern on the left",
    "remove": "remove the lantern",
    "attribute": "give him a red scarf",
    "resize": "make the boat bigger",
    "move": "move the boat to the left",
    "correction": "Tom has a grey beard",
}


class RequestReader:
    """Reads replies: restorer words first, then the parse (or word rules), then the encoder
    for what the grammar could not place, and the encoder's share as the reading's
    confidence."""

    def __init__(self, parser: Parser | None, intents: IntentModel | None) -> None:
        self.parser = parser
        self.intents = intents

    @property
    def models(self) -> str:
        """Which models read requests, for "why" and the logs."""
        parts = [f"spaCy {self.parser.name}" if self.parser else "word rules"]
        if self.intents is not None and self.intents.available:
            parts.append("the screening sentence encoder")
        return " + ".join(parts)

    async def read(self, text: str, cast: Cast | None = None, scene: str = "") -> EditIntent:
        history = history_of(normalised(text))
        if history is not None:
            return EditIntent(history)  # type: ignore[arg-type]
        if wants_enhance(text) or is_quality_complaint(text):
            return EditIntent("quality")
        intent = understand(text, self.parser, cast, scene)
        said = normalised(text)
        if not said or intent.kind in ("undo", "redo", "original", "unsupported"):
            return intent
        scores = await self.intents.scores([said]) if self.intents is not None else None
        if scores is None:
            return intent
        return _weighed(intent, said, scores[0])


def _weighed(intent: EditIntent, said: str, scores: KindScores) -> EditIntent:
    """The grammar's reading with the encoder's share, or the encoder's own guess."""
    if intent.kind != "question":
        read_by = f"{intent.read_by}+encoder"
        return replace(intent, confidence=round(scores.share(intent.kind), 3), read_by=read_by)
    guess = scores.best
    if guess == "global" and scores.confidence >= ENCODER_ACTS_AT:
        looks = global_look(said.split())
        return EditIntent(
            "global",
            words=said,
            confidence=round(scores.confidence, 3),
            read_by="encoder",
            tone=None if not looks else understand(said).tone,
        )
    if guess == "unsupported" and scores.confidence >= ENCODER_ACTS_AT:
        return EditIntent(
            "unsupported",
            question="Inkwell edits still pictures only: it can't animate them or add sound. "
            + EXAMPLES,
            confidence=round(scores.confidence, 3),
            read_by="encoder",
        )
    if guess in ASK and scores.confidence >= ENCODER_ACTS_AT:
        return replace(intent, question=ASK[guess] + EXAMPLES, read_by="encoder")
    return intent


def unsure_note(intent: EditIntent) -> str:
    """What the reply adds when a reading is unsure: how to take it back and say it plainly."""
    if intent.confidence >= UNSURE_BELOW or intent.read_by == "rules":
        return ""
    example = OFFERS.get(intent.kind, "make it darker")
    return (
        f" I'm not sure I read that right: if not, reply 'undo' and say it like the examples "
        f"(for this kind: '{example}')."
    )
