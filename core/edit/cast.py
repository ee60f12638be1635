"""The characters a request may mean by a pronoun: each with the pronoun the story uses."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The pronoun's every form, read from any of them.
PRONOUN_SETS = {
    "he": ("he", "him", "his", "himself"),
    "she": ("she", "her", "hers", "herself"),
    "they": ("they", "them", "their", "theirs", "themselves"),
    "it": ("it", "its", "itself"),
}
PRONOUN_OF_FORM = {form: base for base, forms in PRONOUN_SETS.items() for form in forms}


@dataclass(frozen=True)
class CastMember:
    """A character (or animal) of the story as a request may name it."""

    name: str  # "Tom", "sailor", "old sailor"
    pronoun: str = ""  # "he", "she", "they", "it", or "" when the story never says


@dataclass(frozen=True)
class Cast:
    """The characters in the picture being edited, the most prominent first."""

    members: tuple[CastMember, ...] = ()

    def by_pronoun(self, form: str) -> CastMember | None:
        """The member a pronoun form ("his", "her", "them") refers to, if the story says."""
        base = PRONOUN_OF_FORM.get(form.lower())
        if base is None:
            return None
        same = [m for m in self.members if m.pronoun == base]
        if same:
            return same[0]
        unknown = [m for m in self.members if not m.pronoun]
        return unknown[0] if unknown and base != "it" else None

    def by_name(self, words: str) -> CastMember | None:
        """The member a noun phrase names ("the old sailor", "Tom's", "the dog")."""
        said = set(re.findall(r"[a-z]+", words.lower()))
        for member in self.members:
            if set(member.name.lower().split()) & said:
                return member
        return None


def pronoun_in(text: str, name: str) -> str:
    """The pronoun the text uses for `name`: the first personal pronoun after its first
    mention, or "" ("Tom lived above the shop. He ..." -> "he")."""
    match = re.search(rf"\b{re.escape(name)}\b", text, re.I)
    if match is None:
        return ""
    for word in re.findall(r"[A-Za-z]+", text[match.end() :]):
        base = PRONOUN_OF_FORM.get(word.lower())
        if base in ("he", "she", "they"):
            return base
    return ""


def cast_of(names: list[str], text: str) -> Cast:
    """A cast from character names and the story text their pronouns are read from."""
    return Cast(tuple(CastMember(name, pronoun_in(text, name)) for name in names))
