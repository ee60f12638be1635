"""Edits that stick: a reply that changes (or corrects) how an element looks changes its cast
entry too, so later pictures inherit it ("give her a green scarf": she is drawn with it)."""

from __future__ import annotations

from dataclasses import replace

from core.story.choosing import StoryMemory
from core.story.elements import head_noun

STICKING_KINDS = ("attribute", "correction")


def with_part(description: str, part: str, word: str) -> str:
    """`description` with `part` in place of any part about `word` ("scarf"), else added."""
    parts = [p.strip() for p in description.split(",") if p.strip()]
    kept = [p for p in parts if not (word and word.lower() in p.lower().split())]
    return ", ".join([*kept, part])


def stick(memory: StoryMemory, owner: str, kind: str, attribute: str, word: str) -> str | None:
    """Write an edit's change into the entry of the element it changed; its name, or None.

    The description gains the change ("with a green scarf", replacing what it said of the
    scarf before); the look becomes the element's region in the edited picture when the
    picture shows it (the writer asked for this look, so it replaces the running one).
    """
    if kind not in STICKING_KINDS or not attribute.strip() or not owner.strip():
        return None
    name = head_noun(owner.lower())
    element = memory.elements.get(name)
    if element is None:
        return None
    attribute = " ".join(attribute.split())
    part = attribute if attribute.startswith(("with ", "in ")) else f"with {attribute}"
    crop = memory.crops.get(name)
    memory.elements[name] = replace(
        element,
        description=with_part(element.description, part, word),
        look=element.look if crop is None else crop.feature,
    )
    memory.changed.add(name)
    return name
