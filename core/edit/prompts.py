"""The prompt of an edited picture, and whose look a local edit changes."""

from __future__ import annotations

import re
from dataclasses import replace

from core.edit.cast import Cast, cast_of
from core.edit.understanding import EditIntent
from core.edit.vocabulary import PRONOUNS
from core.story.elements import head_noun, noun_elements
from storage.base import IllustrationRecord, Storage


async def owner_of(storage: Storage, record: IllustrationRecord, owner: str) -> str:
    """'him' / 'her' become the picture's character from the library ("the knight")."""
    if owner not in PRONOUNS:
        return owner
    drawn = list(record.provenance.get("elements", []))
    kinds = {e.name: e.kind for e in await storage.elements.list(record.channel_key)}
    characters = [name for name in drawn if kinds.get(name) == "character"]
    if characters:
        return f"the {characters[0]}"
    nouns = noun_elements(record.text)
    return nouns[0] if nouns else "the person"


async def cast_for(storage: Storage, record: IllustrationRecord) -> Cast:
    """Who a pronoun in a request about this picture may mean: the library's characters
    drawn in it, then the things its sentence names; pronouns as its text uses them."""
    drawn = list(record.provenance.get("elements", []))
    entries = {e.name: e for e in await storage.elements.list(record.channel_key)}
    characters = [name for name in drawn if name in entries and entries[name].kind == "character"]
    named = [n for n in noun_elements(record.text) if n not in characters]
    read = cast_of([*characters, *named], record.text)
    # A pronoun the story's cast knows (told by writers, or learned) wins over this text's.
    return Cast(
        tuple(
            replace(m, pronoun=entries[m.name].pronoun)
            if m.name in entries and entries[m.name].pronoun
            else m
            for m in read.members
        )
    )


def edited_prompt(parent_prompt: str, intent: EditIntent, owner: str) -> str:
    """What the new version is drawn from (the branch that carries the change)."""
    if intent.kind == "global":
        return f"{parent_prompt}, {intent.words}" if intent.words else parent_prompt
    if intent.kind == "add":
        return f"{parent_prompt}, {intent.element}" if intent.element else parent_prompt
    if intent.kind == "remove":
        return without(parent_prompt, intent.element)
    if intent.kind == "attribute":
        return f"{parent_prompt}, {owner} with {intent.attribute}"
    raise ValueError(f"{intent.kind!r} is not drawn")


def without(prompt: str, element: str) -> str:
    """`prompt` with every mention of the element's head noun (and its article) taken out."""
    noun = head_noun(element) or element
    pattern = rf"\b(?:(?:a|an|the|some|his|her|their)\s+)?(?:\w+\s+)?{re.escape(noun)}(?:s|es)?\b"
    cleaned = re.sub(pattern, "", prompt, flags=re.I)
    return re.sub(r"\s+([,.;])", r"\1", re.sub(r"\s{2,}", " ", cleaned)).strip(" ,")


def library_text(sentence: str, intent: EditIntent, owner: str) -> str:
    """What the library reads the new picture as: the sentence plus what the edit added."""
    if intent.kind in ("add", "move") and intent.element:
        return f"{sentence} {intent.element}."
    if intent.kind in ("attribute", "resize", "correction"):
        return f"{sentence} {owner} with {intent.attribute}."
    return sentence
