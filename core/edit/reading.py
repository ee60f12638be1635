"""Reading a request from its dependency parse: the kind's structure and its slots.

Slots come from grammar, not word position: the owner is a possessor, a dative or a subject
(pronouns resolved through the cast), the attribute is an object or a predicate, places are
prepositional objects. `read_parsed` returns None when no structure fits; the caller then
asks the sentence encoder (core.edit.intents) or the writer. (Over 400 lines: one reader per
kind, each a few grammar patterns, tried in a fixed order; phrase helpers are in
core.edit.phrases.)
"""

from __future__ import annotations

from core.edit.cast import PRONOUN_OF_FORM, Cast
from core.edit.parsing import Parse, Word, children, root, subtree
from core.edit.phrases import (
    DETERMINERS,
    FILLERS,
    NOUNS,
    adjectives_of,
    complement_of,
    first_noun,
    first_thing,
    head_noun,
    last_conj,
    lemmas_of,
    noun_phrase,
    object_of,
    owner_named,
    place_named,
    possessor,
    words_text,
)
from core.edit.vocabulary import (
    ADD_VERBS,
    BIGGER,
    CAMERA_WORDS,
    DEFAULT_PLACE,
    FRAMING_VERBS,
    MOVE_VERBS,
    PICTURE_QUALITIES,
    PICTURE_WORDS,
    PLACES,
    REMOVE_VERBS,
    SIZE_VERBS,
    SMALLER,
    STYLE_NOUNS,
    WEAR_VERBS,
    WHOLE_PICTURE,
    global_look,
    mood_look,
)

Reading = dict  # the EditIntent fields a reader found

_ATTRIBUTE_VERBS = {"make", "paint", "turn", "colour", "color", "change", "dye", "recolor"}
_MODALS = {"should", "must", "need", "needs", "could", "ought", "have", "has"}
_WISHES = {"nice", "good", "great", "lovely", "cool", "fun", "perfect", "beautiful", "cute"}
_WORN_ON = {"on", "in", "onto", "around"}  # "put a scarf on him", "a lantern in his hand"


def read_parsed(parse: Parse, cast: Cast, scene: str = "") -> Reading | None:
    """The first structure that fits, as EditIntent fields, or None."""
    if not parse:
        return None
    for reader in (_framing, _style, _resize, _move, _removal, _correction, _attribute, _addition):
        found = reader(parse, cast, scene.lower())
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------------- readers


def _framing(parse: Parse, cast: Cast, scene: str) -> Reading | None:
    lemmas = lemmas_of(parse)
    words = [w.lower for w in parse]
    camera = bool(lemmas & CAMERA_WORDS) and bool(lemmas & (MOVE_VERBS | {"tilt", "pan"}))
    top = root(parse)
    if (
        top is not None
        and top.lemma in ("pull", "step", "back")
        and not children(parse, top, "dobj")
    ):
        camera = camera or bool({"back", "out", "away"} & set(lemmas_of(parse)))
    nearer = {"closer", "wider", "tighter"} & set(words)
    camera = camera or bool(nearer and (lemmas & CAMERA_WORDS or lemmas & {"come", "get", "go"}))
    if not (lemmas & FRAMING_VERBS or camera or {"close-up", "closeup"} & lemmas):
        said = " ".join(words)
        cued = any(cue in said for cue in ("close - up", "close-up", "wider shot", "widen"))
        if not cued and not (words and words[0] in ("closer", "wider")):
            return None
    direction = ""
    for word in words:
        if word in ("left", "right", "up", "down") and lemmas & {"pan", "tilt", *CAMERA_WORDS}:
            direction = word
            break
    if not direction:
        outward = {"out", "back", "wider", "widen", "wide", "more", "whole"}
        direction = "out" if outward & set(words) else "in"
    return {"kind": "framing", "direction": direction, "read_by": "parser"}


def _style(parse: Parse, cast: Cast, scene: str) -> Reading | None:
    for word in parse:
        phrase: list[Word] = []
        if word.lower in ("as", "like", "into") and (
            word.dep in ("prep", "mark", "advmod") or word.index == 0
        ):
            objects = children(parse, word, "pobj")
            phrase = subtree(parse, objects[0]) if objects else []
        elif word.lemma in ("style", "version", "rendition") and word.pos == "NOUN":
            of = [p for p in children(parse, word, "prep") if p.lower == "of"]
            inner = children(parse, of[0], "pobj") if of else []
            mods = children(parse, word, "compound", "amod", "nmod")
            phrase = (
                subtree(parse, inner[0]) if inner else [w for m in mods for w in subtree(parse, m)]
            )
        if not phrase:
            continue
        said = [w for w in phrase if w.lower not in DETERMINERS and w.dep != "punct"]
        if not said or mood_look([w.lower for w in said] + [w.lemma for w in said]):
            continue  # "like autumn", "into a rainy afternoon": a global change
        art = any(w.lemma in STYLE_NOUNS or w.lower in STYLE_NOUNS for w in [*said, word])
        bare = word.index == 0 and word.lower == "as"  # "as a linocut": nothing else asked
        if art or bare or any(w.pos == "PROPN" for w in said):
            return {"kind": "style", "style": words_text(said), "read_by": "parser"}
    top = root(parse)
    if top is not None and top.lemma in ("make", "turn", "redo", "render", "do"):
        it = [c for c in children(parse, top, "dobj", "nsubj") if c.lower in PICTURE_WORDS]
        for become in children(parse, top, "attr", "oprd", "ccomp", "xcomp", "dobj"):
            phrase = [w for w in subtree(parse, become) if w.lower not in DETERMINERS]
            named = any(w.lemma in STYLE_NOUNS for w in phrase)
            if it and become not in it and named and not mood_look([w.lower for w in phrase]):
                return {"kind": "style", "style": words_text(phrase), "read_by": "parser"}
    return None


def _resize(parse: Parse, cast: Cast, scene: str) -> Reading | None:
    for word in parse:
        size = word.lemma if word.lemma in BIGGER | SMALLER else ""
        predicative = word.dep in ("acomp", "oprd", "ccomp", "xcomp", "ROOT")
        if size and predicative and word.pos == "ADJ":
            too = any(c.lower == "too" for c in children(parse, word))
            bigger = (size in BIGGER) != too
            verb = parse[word.head]
            thing = first_thing(parse, children(parse, word, "nsubj")) or object_of(parse, verb)
            if thing is None and verb.head != verb.index:
                thing = object_of(parse, parse[verb.head])
            if thing is None or thing.lower in FILLERS or thing.pos not in (*NOUNS, "PRON"):
                thing = first_noun(parse, root(parse) or word)
        elif word.lemma in SIZE_VERBS and word.pos == "VERB":
            bigger = SIZE_VERBS[word.lemma]
            thing = object_of(parse, word)
        else:
            continue
        if thing is None or thing.lower in PICTURE_WORDS or thing.lower in PRONOUN_OF_FORM:
            continue
        size = "bigger" if bigger else "smaller"
        return {
            "kind": "resize",
            "element": noun_phrase(parse, thing),
            "attribute": f"{size} {noun_phrase(parse, thing, articles=False)}",
            "attribute_word": thing.lower,
            "direction": "bigger" if bigger else "smaller",
            "read_by": "parser",
        }
    return None


def _move(parse: Parse, cast: Cast, scene: str) -> Reading | None:
    top = root(parse)
    if top is None:
        return None
    if top.lemma in MOVE_VERBS:
        thing = first_thing(parse, children(parse, top, "dobj"))
        if thing is None:
            return None
        definite = any(
            c.lower in ("the", "his", "her", "their", "its") for c in children(parse, thing)
        )
        if not (definite or thing.lower in scene) or (
            top.lemma in ("put", "place") and (thing.lower not in scene)
        ):
            return None
    elif top.lemma in ("be", "belong", "go", "stand", "sit"):
        subjects = children(parse, top, "nsubj")
        thing = subjects[0] if subjects else None
        if (
            thing is None
            or thing.lower not in scene
            or any(c.dep == "neg" for c in children(parse, top))
        ):
            return None
    else:
        return None
    place = place_named(parse, [top, thing])
    if not place:
        return None
    return {
        "kind": "move",
        "element": noun_phrase(parse, thing),
        "place": place,
        "region": PLACES[place],
        "read_by": "parser",
    }


def _removal(parse: Parse, cast: Cast, scene: str) -> Reading | None:
    top = root(parse)
    if top is None:
        return None
    thing: Word | None = None
    particles = {c.lower for c in children(parse, top, "prt", "advmod")}
    if top.lemma in REMOVE_VERBS or (top.lemma == "take" and particles & {"away", "out", "off"}):
        thing = first_thing(parse, children(parse, top, "dobj"))
    elif top.lemma == "rid":
        of = [p for p in children(parse, top, "prep") if p.lower == "of"]
        thing = first_thing(parse, children(parse, of[0], "pobj")) if of else None
    elif top.lemma == "want" and any(c.dep == "neg" for c in children(parse, top)):
        thing = first_thing(parse, children(parse, top, "dobj"))
    elif top.lemma in ("have", "need") and any(
        c.lemma == "go" for c in children(parse, top, "xcomp")
    ):
        subjects = children(parse, top, "nsubj")
        thing = subjects[0] if subjects and subjects[0].pos in NOUNS else None
    elif top.lemma in ("go", "be") and (
        top.lemma == "go" or any(c.dep == "neg" for c in children(parse, top))
    ):
        subjects = children(parse, top, "nsubj")
        if subjects and subjects[0].pos in NOUNS:
            thing = subjects[0]
    if thing is None:
        nos = [w for w in parse if w.lower == "no" and w.dep == "det"]
        nos += [w for w in parse if w.lower == "without" and w.index == 0]
        for word in nos:
            target = parse[word.head] if word.dep == "det" else None
            if target is None:
                objects = children(parse, word, "pobj")
                target = objects[0] if objects else None
            if target is not None and target.pos in NOUNS:
                thing = target
                break
    if thing is None or thing.lower in PICTURE_WORDS:
        return None
    place = place_named(parse, [thing])
    return {
        "kind": "remove",
        "element": noun_phrase(parse, thing),
        "place": place,
        "region": PLACES.get(place, WHOLE_PICTURE),
        "read_by": "parser",
    }


def _correction(parse: Parse, cast: Cast, scene: str) -> Reading | None:
    """A statement about a character ("she has red hair", "that is not Tom, he is old")."""
    if not cast.members:
        return None
    owner = ""
    for word in parse:  # "that is not Tom": the named one is who is meant
        if word.dep == "attr" and any(c.dep == "neg" for c in children(parse, parse[word.head])):
            member = cast.by_name(word.lower)
            if member is not None:
                owner = member.name.lower()
    for verb in parse:
        if verb.lemma not in ("be", "have", "suppose", "look", "wear"):
            continue
        if verb.dep not in ("ROOT", "ccomp", "conj") or verb.tag not in ("VBZ", "VBP", "VBN"):
            continue
        aux = {c.lemma for c in children(parse, verb, "aux", "auxpass")}
        if aux & {"should", "must", "could", "would", "need"}:
            continue
        subjects = children(parse, verb, "nsubj", "nsubjpass")
        if not subjects or subjects[0].lower in ("it", "that", "this", "there", "i", "you"):
            continue
        subject = subjects[0]
        who = owner_named(parse, subject, cast)
        member = cast.by_name(who) or cast.by_pronoun(subject.lower)
        if member is None:
            continue
        if verb.lemma == "suppose":
            inner = children(parse, verb, "xcomp")
            verb = inner[0] if inner else verb
        said = children(parse, verb, "attr", "acomp", "dobj")
        if not said:
            continue
        described = last_conj(parse, said[0])
        part = described.lower if described.pos in NOUNS else member.name.lower()
        attribute = (
            words_text(subtree(parse, said[0]))
            if said[0].pos in NOUNS
            else adjectives_of(parse, said)
        )
        return {
            "kind": "correction",
            "element": owner or member.name.lower(),
            "attribute": attribute,
            "attribute_word": part,
            "read_by": "parser",
        }
    return None


def _attribute(parse: Parse, cast: Cast, scene: str) -> Reading | None:
    top = root(parse)
    if top is None:
        return None
    # "give the old sailor a blue scarf", "give him slicked-back hair"
    if top.lemma == "give":
        whom = children(parse, top, "dative")
        what = children(parse, top, "dobj")
        animal = whom and whom[0].lower in ("it", "its") and cast.by_pronoun("it") is not None
        if whom and what and (whom[0].lower not in PICTURE_WORDS or animal):
            return _found(parse, cast, whom[0], what[0], words_text(subtree(parse, what[0])))
        if what and not whom:  # "give the princess braided hair" parsed as one phrase
            phrase = subtree(parse, what[0])
            named = [w for w in phrase if w.pos != "DET" and cast.by_name(w.lower)]
            if named and named[0] is not what[0]:
                rest = [w for w in phrase if w.index > named[0].index]
                return _found(parse, cast, named[0], what[0], words_text(rest))
        return None
    # "put a scarf on him": something worn, placed on a character
    if top.lemma in ("put", "place") and cast.members:
        what = children(parse, top, "dobj")
        for prep in children(parse, top, "prep"):
            if prep.lower not in _WORN_ON:
                continue
            for target in children(parse, prep, "pobj"):
                member = cast.by_pronoun(target.lower) or cast.by_name(target.lower)
                if what and member is not None:
                    return _found(parse, cast, target, what[0], words_text(subtree(parse, what[0])))
    # "she should wear a green cloak", "he needs a longer beard", "Tom should have curly hair"
    if top.lemma in WEAR_VERBS:
        subject = children(parse, top, "nsubj")
        what = children(parse, top, "dobj")
        if (
            subject
            and what
            and (subject[0].lower in PRONOUN_OF_FORM or cast.by_name(subject[0].lower))
        ):
            return _found(parse, cast, subject[0], what[0], words_text(subtree(parse, what[0])))
    # "make her hair silver", "paint his cap red", "change her boots to brown"
    if top.lemma in _ATTRIBUTE_VERBS:
        part = first_thing(parse, children(parse, top, "dobj", "nsubj"))
        complement = complement_of(parse, top)
        if part is None:  # "make the dragon's eyes glow red": the object is the clause's
            for clause in complement:
                part = part or first_thing(parse, children(parse, clause, "nsubj", "compound"))
        if part is None or part.lower in PICTURE_WORDS | PICTURE_QUALITIES or not complement:
            return None
        complement = [w for w in complement if w is not part]
        value = adjectives_of(parse, complement) or words_text(complement)
        owned = possessor(parse, part) is not None  # "make her hair darker": her hair's
        if not owned and mood_look([*value.split(), *(w.lemma for w in complement)]):
            return None  # "make the sea calmer": the mood of the whole picture
        return _found(
            parse, cast, part, part, f"{value} {part.lower}", owner_word=possessor(parse, part)
        )
    # "their shirts should be striped": the look as a participle
    if top.tag == "VBN" and children(parse, top, "auxpass"):
        modal = {c.lemma for c in children(parse, top, "aux")} & _MODALS
        subject = children(parse, top, "nsubjpass")
        if modal and subject and subject[0].pos in NOUNS:
            part = subject[0]
            rest = [w for p in children(parse, top, "prep", "agent") for w in subtree(parse, p)]
            value = f"{words_text([top, *rest])} {part.lower}"
            return _found(parse, cast, part, part, value, owner_word=possessor(parse, part))
    # "his coat should be yellow", "the knight's horse should be white"
    if top.lemma == "be":
        modal = {c.lemma for c in children(parse, top, "aux")} & _MODALS
        subject = children(parse, top, "nsubj")
        said = children(parse, top, "acomp", "attr")
        if modal and subject and said and subject[0].pos in NOUNS:
            part = subject[0]
            value = adjectives_of(parse, said) or words_text(subtree(parse, said[0]))
            return _found(
                parse, cast, part, part, f"{value} {part.lower}", owner_word=possessor(parse, part)
            )
    return None


def _found(
    parse: Parse,
    cast: Cast,
    who: Word,
    what: Word,
    attribute: str,
    *,
    owner_word: Word | None = None,
) -> Reading:
    """An attribute reading: whose look (a cast member where one is meant) and what."""
    if who is what:  # the part names itself: its possessor, if any, is the owner
        owner = owner_named(parse, owner_word, cast) if owner_word is not None else ""
        if not owner:
            owner = owner_named(parse, what, cast)
    else:
        owner = owner_named(parse, who, cast)
    return {
        "kind": "attribute",
        "element": owner,
        "attribute": attribute.strip(),
        "attribute_word": head_noun(parse, last_conj(parse, what)).lower,
        "read_by": "parser",
    }


def _addition(parse: Parse, cast: Cast, scene: str) -> Reading | None:
    top = root(parse)
    if top is None:
        return None
    thing: Word | None = None
    if top.lemma in ADD_VERBS or (
        top.lemma in ("want", "like", "love")
        and not any(c.dep == "neg" for c in children(parse, top))
    ):
        thing = first_thing(parse, children(parse, top, "dobj"))
    elif top.lemma == "give":
        whom = children(parse, top, "dative")
        if whom and whom[0].lower in PICTURE_WORDS:
            thing = first_thing(parse, children(parse, top, "dobj"))
    elif top.lemma in ("need", "be") and children(parse, top, "expl"):
        inner = children(parse, top, "xcomp")
        verb = inner[0] if inner else top
        thing = first_thing(parse, children(parse, verb, "attr"))
    elif top.lemma == "be":  # "a kite above them would be nice"
        subjects = children(parse, top, "nsubj")
        wished = any(c.lemma in _WISHES for c in children(parse, top, "acomp", "attr"))
        thing = subjects[0] if wished and subjects and subjects[0].pos in NOUNS else None
    elif top.pos in NOUNS or top.lemma == "please":  # "some boats in the harbor please"
        nouns = [w for w in parse if w.pos in NOUNS and w.dep in ("ROOT", "nsubj", "dobj")]
        placed = bool(nouns and children(parse, nouns[0], "prep", "acl"))  # "... in the harbor"
        thing = nouns[0] if nouns and placed and len(parse) > 2 else None
    if thing is None and top.lemma in ADD_VERBS:  # "add rain falling on ...": misattached
        thing = first_noun(parse, top)
    if thing is None or thing.lower in PICTURE_WORDS:
        return None
    if thing.lemma in PICTURE_QUALITIES or global_look([w.lower for w in subtree(parse, thing)]):
        return None  # "add some drama to the lighting", "a foggy morning feel": global
    place = place_named(parse, [top, thing, *children(parse, thing, "acl", "relcl")])
    return {
        "kind": "add",
        "element": noun_phrase(parse, thing),
        "place": place,
        "region": PLACES.get(place, DEFAULT_PLACE),
        "read_by": "parser",
    }
