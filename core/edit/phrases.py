"""Noun phrases, owners, places and complements found in a request's dependency parse."""

from __future__ import annotations

from core.edit.cast import PRONOUN_OF_FORM, Cast
from core.edit.parsing import Parse, Word, children, subtree
from core.edit.vocabulary import PICTURE_WORDS, PLACE_ALIASES, PLACES

FILLERS = {"lot", "bit", "little", "way", "touch"}  # "a lot smaller", "a bit bigger"
DETERMINERS = {"a", "an", "the", "some", "this", "that", "these", "those"}
NOUNS = ("NOUN", "PROPN")


def words_text(words: list[Word]) -> str:
    """The words as written (hyphens and "'s" kept), lower case, without end punctuation."""
    kept = [w for w in words if not (w.dep == "punct" and w.text in ",.!?;:")]
    said = "".join(
        w.lower + (w.space if i + 1 < len(kept) and kept[i + 1].index == w.index + 1 else " ")
        for i, w in enumerate(kept)
    )
    return " ".join(said.split())


def noun_phrase(parse: Parse, noun: Word, *, articles: bool = True) -> str:
    """A noun's phrase without its relative clauses and prepositions ("the old sailor")."""
    kept = [noun]
    for child in children(parse, noun, "det", "amod", "compound", "nummod", "poss", "case"):
        kept.extend(subtree(parse, child))
    words = sorted(kept, key=lambda w: w.index)
    if not articles:
        words = [w for w in words if w.lower not in DETERMINERS]
    return words_text(words)


def lemmas_of(parse: Parse) -> set[str]:
    return {w.lemma for w in parse} | {w.lower for w in parse}


def place_name(word: str) -> str:
    return PLACE_ALIASES.get(word, word)


def first_thing(parse: Parse, words: list[Word]) -> Word | None:
    nouns = [w for w in words if w.pos in (*NOUNS, "PRON") or w.dep in ("dobj", "pobj")]
    return nouns[0] if nouns else None


def first_noun(parse: Parse, after: Word, *, skip_preps: bool = True) -> Word | None:
    """The first noun after `after` that is no filler ("a lot") nor inside a prepositional
    phrase: where a parse misattached the object, its words are still in order."""
    inside_prep = set()
    if skip_preps:
        for prep in (w for w in parse if w.dep == "prep"):
            inside_prep.update(w.index for w in subtree(parse, prep))
    for word in parse[after.index + 1 :]:
        if word.pos in NOUNS and word.lower not in FILLERS and word.index not in inside_prep:
            return word
    return None


def noun_in(parse: Parse, word: Word) -> Word:
    """`word` if it is a noun, else the last noun hanging from it ("matching ... raincoats")."""
    if word.pos in NOUNS:
        return word
    nouns = [w for w in subtree(parse, word) if w.pos in NOUNS]
    return nouns[-1] if nouns else word


def head_noun(parse: Parse, word: Word) -> Word:
    """The last noun of a phrase outside its prepositions ("a silver tiara" -> tiara)."""
    inner = set()
    for prep in (w for w in subtree(parse, word) if w.dep == "prep" and w is not word):
        inner.update(w.index for w in subtree(parse, prep))
    nouns = [w for w in subtree(parse, word) if w.pos in NOUNS and w.index not in inner]
    return nouns[-1] if nouns else noun_in(parse, word)


def object_of(parse: Parse, verb: Word) -> Word | None:
    found = children(parse, verb, "dobj", "nsubj", "attr", "nsubjpass", "oprd")
    nouns = [w for w in found if w.pos in (*NOUNS, "PRON")]
    return nouns[0] if nouns else (found[0] if found else None)


def place_named(parse: Parse, near: list[Word]) -> str:
    """A named place among the prepositions that hang from `near` ("on the left")."""
    for head in near:
        for prep in children(parse, head, "prep", "advmod", "prt", "dative"):
            for word in subtree(parse, prep):
                if word.lower in PLACES and word.lower not in PICTURE_WORDS:
                    return place_name(word.lower)
    return ""


def owner_named(parse: Parse, said: Word, cast: Cast) -> str:
    """Who a possessor, dative or subject names: a cast member for a pronoun or a name."""
    if said.lower in PRONOUN_OF_FORM:
        member = cast.by_pronoun(said.lower)
        return member.name.lower() if member else said.lower
    phrase = noun_phrase(parse, said, articles=False).removesuffix("'s").strip()
    member = cast.by_name(phrase)
    return member.name.lower() if member else said.lower


def possessor(parse: Parse, noun: Word) -> Word | None:
    found = children(parse, noun, "poss")
    return found[0] if found else None


def last_conj(parse: Parse, noun: Word) -> Word:
    conj = children(parse, noun, "conj")
    return last_conj(parse, conj[-1]) if conj else noun


def complement_of(parse: Parse, verb: Word) -> list[Word]:
    """What a make/paint/be clause says something becomes: "red", "to brown", "glow red"."""
    found = []
    for child in children(parse, verb, "acomp", "oprd", "ccomp", "xcomp", "attr", "advcl"):
        if child.pos in ("ADJ", "NOUN", "PROPN", "VERB", "AUX"):
            found.append(child)
    for prep in children(parse, verb, "prep"):
        if prep.lower in ("to", "into"):
            found.extend(children(parse, prep, "pobj", "amod"))
    return found


def adjectives_of(parse: Parse, words: list[Word]) -> str:
    """The describing words of a complement: adjectives with their own modifiers."""
    kept: list[Word] = []
    for word in words:
        if word.pos == "ADJ" or word.dep in ("acomp", "oprd"):
            kept.extend(w for w in subtree(parse, word) if w.dep not in ("prep", "cc"))
        for inner in children(parse, word, "acomp", "oprd", "ccomp"):
            kept.extend(subtree(parse, inner))
    unique = sorted({w.index: w for w in kept}.values(), key=lambda w: w.index)
    return words_text(unique)
