"""Keyword rules for quality feedback ([0136]-[0144], [0188]-[0198]): class and reverse text.

A writer's text about a picture is a *positive evaluation* when it agrees with the picture's
real quality, which for a picture someone complains about means it names a defect ("her face
is not clear", "too blurry"): it holds a word with a negative meaning. Its *reverse
evaluation* says the opposite ("her face is clear", "sharp"), and that is the restorer's
target text. A text without such a word ("hair is clear") is a reverse evaluation already;
its opposite is made by adding the negation ([0197]). Pure string rules; no models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Defect adjectives and phrases -> the quality they lack.
_DEFECT_WORDS: dict[str, str] = {
    "blurry": "sharp",
    "blurred": "sharp",
    "blury": "sharp",
    "fuzzy": "sharp",
    "unsharp": "sharp",
    "hazy": "clear",
    "unclear": "clear",
    "indistinct": "distinct",
    "noisy": "clean",
    "grainy": "smooth",
    "pixelated": "smooth",
    "pixelly": "smooth",
    "blocky": "smooth",
    "scratched": "free of scratches",
    "scratchy": "free of scratches",
    "smudged": "crisp",
    "smudgy": "crisp",
    "smeared": "crisp",
    "smeary": "crisp",
    "muddy": "crisp",
    "out of focus": "in focus",
    "low resolution": "high resolution",
    "low-resolution": "high resolution",
    "low res": "high resolution",
    "low-res": "high resolution",
    "low quality": "high quality",
    "low-quality": "high quality",
    "poor quality": "high quality",
    "bad quality": "good quality",
    "washed out": "vivid",
    "washed-out": "vivid",
    "damaged": "intact",
    "degraded": "clean",
}
# Defect nouns: "there is noise" -> "there is no noise".
_DEFECT_NOUNS = (
    "noise",
    "grain",
    "scratches",
    "scratch",
    "artifacts",
    "artefacts",
    "compression artifacts",
    "jpeg artifacts",
    "blur",
    "smudges",
    "streaks",
    "missing patches",
    "missing parts",
    "missing pieces",
)
# Qualities a picture should have: "is clear" is good, "is not clear" names a defect.
_GOOD_WORDS: dict[str, str] = {
    "clear": "unclear",
    "sharp": "blurry",
    "crisp": "blurry",
    "clean": "noisy",
    "smooth": "grainy",
    "in focus": "out of focus",
    "focused": "out of focus",
    "distinct": "indistinct",
    "detailed": "blurry",
    "visible": "hard to see",
    "high resolution": "low resolution",
    "high quality": "low quality",
    "good quality": "bad quality",
    "vivid": "washed out",
    "intact": "damaged",
    "clearer": "less clear",
    "sharper": "blurrier",
    "crisper": "blurrier",
    "cleaner": "noisier",
    "smoother": "grainier",
}
# Asking for the fix names the defect too.
_REQUEST_WORDS = (
    "sharpen",
    "deblur",
    "unblur",
    "denoise",
    "de-noise",
    "enhance",
    "restore",
    "upscale",
    "less blurry",
    "less noisy",
    "less grainy",
    "more detail",
    "more detailed",
    "clearer",
    "sharper",
    "crisper",
    "hard to see",
    "can't see",
    "cannot see",
    "can not see",
    "can barely see",
    "can hardly see",
)
_COPULAS = r"is|are|was|were|looks|look|seems|seem|appears|appear"
_CONTRACTED = {"isn't": "is", "aren't": "are", "wasn't": "was", "weren't": "were"}
_INTENSIFIERS = (
    r"(?:way too|much too|far too|too|very|so|really|quite|a bit|a little|a little bit|"
    r"kind of|kinda|sort of|pretty|overly|rather|super|extremely|slightly|somewhat)"
)
_QUANTITIES = (
    r"(?:some|a lot of|lots of|many|a few|too much|too many|so much|so many|plenty of|"
    r"visible|heavy|strong|a little|a bit of)"
)
_NEGATORS = r"(?:no|not|without|free of|less|zero|n't|never)"


def _alternation(words: object) -> str:
    ordered = sorted(words, key=len, reverse=True)  # type: ignore[arg-type]
    return "|".join(re.escape(word) for word in ordered)


_DEFECT_WORD = _alternation(_DEFECT_WORDS)
_DEFECT_NOUN = _alternation(_DEFECT_NOUNS)
_GOOD_WORD = _alternation(_GOOD_WORDS)
_DEFECT_ANY = rf"(?:{_DEFECT_WORD}|{_DEFECT_NOUN})"
_NEGATED_GOOD = re.compile(
    rf"\b(?:(?:{_COPULAS})\s+not|isn't|aren't|wasn't|weren't|not|doesn't look|don't look|"
    rf"never)\s+(?:{_INTENSIFIERS}\s+|enough\s+)?(?:{_GOOD_WORD})\b",
    re.IGNORECASE,
)
_UNNEGATED_DEFECT = re.compile(
    rf"(?<![\w'])(?<!no )(?<!not )(?<!without )(?<!free of )(?<!inexistence of )(?<!less )"
    rf"(?:{_DEFECT_ANY})(?![\w-])(?!\s+of\s)",  # "the noise of the city" is the story's
    re.IGNORECASE,
)
_CANT_SEE = re.compile(
    r"\b(?:i\s+)?(?:can't|cannot|can not|can barely|can hardly|couldn't)\s+(?:really\s+)?see\s+",
    re.IGNORECASE,
)
_LOST_DETAIL = re.compile(
    r"\b(?:(?:no|not enough|lacks?|lacking|lost|missing)\s+(?:fine\s+)?details?"
    r"|details?\s+(?:are|is)\s+(?:lost|missing|gone|smeared))\b",
    re.IGNORECASE,
)
_REQUEST = re.compile(rf"(?<![\w'])(?:{_alternation(_REQUEST_WORDS)})(?![\w'])", re.IGNORECASE)
_NEGATED_DEFECT_BEFORE = re.compile(rf"\b{_NEGATORS}\s+(?:{_INTENSIFIERS}\s+)?$", re.IGNORECASE)

ASPECTS: dict[str, tuple[str, ...]] = {
    "blur": (
        *("blur", "fuzzy", "resolution", "low-res", "see", "unsharp", "focus"),
        *("unclear", "hazy", "clear", "sharp", "crisp"),
    ),
    "noise": ("nois", "grain", "artifact", "artefact", "pixel", "blocky"),
    "scratches": ("scratch", "streak", "smudg", "smear", "damaged"),
    "missing": ("missing",),
}


@dataclass(frozen=True)
class QualityFeedback:
    """One text about a picture's quality, classified by the keyword rules.

    `positive`: the text agrees with the picture's real (poor) quality, i.e. names a defect;
    its label against that picture is 1 and the opposite text's is 0 ([0195]).
    `target`: the reverse evaluation the restorer aims for ([0141]-[0144]).
    """

    text: str
    complaint: bool
    positive: bool
    opposite: str
    aspects: tuple[str, ...]

    @property
    def target(self) -> str:
        return self.opposite if self.positive else self.text

    @property
    def label(self) -> int:
        """How `text` describes the picture it was written about: 1 yes, 0 no."""
        return 1 if self.positive else 0


def _clean(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split())


def _names_defect(text: str) -> bool:
    if _NEGATED_GOOD.search(text) or _CANT_SEE.search(text) or _LOST_DETAIL.search(text):
        return True
    if "hard to see" in text.lower():
        return True
    for match in _UNNEGATED_DEFECT.finditer(text):
        if not _NEGATED_DEFECT_BEFORE.search(text[: match.start()]):
            return True
    return False


def is_quality_complaint(text: str) -> bool:
    """Whether a reply speaks of the picture's quality (blur, noise, scratches, detail).

    True for "too blurry", "her face is not clear", "it's noisy", "there are scratches",
    "looks grainy", "make it sharper"; False for content or tone edits such as
    "make it darker" or "give him a hat", and for praise such as "nice and sharp".
    """
    text = _clean(text)
    return bool(text) and (_names_defect(text) or bool(_REQUEST.search(text)))


def _aspects(text: str) -> tuple[str, ...]:
    lowered = text.lower()
    return tuple(
        aspect for aspect, stems in ASPECTS.items() if any(stem in lowered for stem in stems)
    )


def _sub(pattern: str, replace: object, text: str) -> str:
    return re.sub(pattern, replace, text, flags=re.IGNORECASE)  # type: ignore[call-overload]


def _detail_kept(match: re.Match[str]) -> str:
    said = match.group(0).lower()
    if said.startswith("detail"):
        return "details are visible"
    return "has fine details" if said.startswith("lack") else "fine details"


def _to_reverse(text: str) -> str:
    """Positive evaluation -> reverse: negative words become positive ones ([0196])."""
    text = _LOST_DETAIL.sub(_detail_kept, text)
    text = _sub(r"\bexistence of\b", "inexistence of", text)
    text = _sub(r"\bhard to see\b", "easy to see", text)
    unseen = _CANT_SEE.search(text)
    if unseen:
        rest = text[unseen.end() :].rstrip(" .!")
        text = f"{text[: unseen.start()]}{rest} is clearly visible"
    text = _sub(
        rf"\b(?:remove|fix|get rid of|clean up|take out|erase)\s+(?:all\s+)?(?:the\s+)?"
        rf"({_DEFECT_NOUN})\b",
        r"no \1",
        text,
    )
    text = _sub(
        rf"\b({_COPULAS})\s+not\s+(?:{_INTENSIFIERS}\s+)?(?=(?:{_GOOD_WORD})\b)", r"\1 ", text
    )
    text = _sub(
        rf"\b(isn't|aren't|wasn't|weren't)\s+(?:{_INTENSIFIERS}\s+)?(?=(?:{_GOOD_WORD})\b)",
        lambda m: _CONTRACTED[m.group(1).lower()] + " ",
        text,
    )
    text = _sub(rf"\b(doesn't|don't)\s+look\s+(?=(?:{_GOOD_WORD})\b)", "looks ", text)
    text = _sub(rf"\b(?:not|never)\s+(?:{_INTENSIFIERS}\s+)?(?=(?:{_GOOD_WORD})\b)", "", text)
    text = _sub(rf"\b(?:{_GOOD_WORD})\s+enough\b", lambda m: m.group(0).rsplit(" ", 1)[0], text)
    text = _sub(rf"\b(?:{_INTENSIFIERS})\s+(?=(?:{_DEFECT_WORD})(?![\w-]))", "", text)
    text = _sub(
        rf"(?<![\w-])({_DEFECT_WORD})(?![\w-])",
        lambda m: _DEFECT_WORDS[m.group(1).lower()],
        text,
    )
    text = _sub(rf"\b(with|full of)\s+(?:{_QUANTITIES}\s+)?({_DEFECT_NOUN})\b", r"without \2", text)
    text = _sub(
        rf"\b(there(?:'s| is| are)|it has|has|have|got|shows?)\s+(?:{_QUANTITIES}\s+)?"
        rf"({_DEFECT_NOUN})\b",
        r"\1 no \2",
        text,
    )
    text = _sub(
        rf"(?<!\bno )(?<!without )(?<!inexistence of )\b(?:{_QUANTITIES}\s+)?"
        rf"({_DEFECT_NOUN})\b(?!\s+is\b)",
        r"no \1",
        text,
    )
    return text.replace("no no ", "no ")


def _to_positive(text: str) -> str:
    """Reverse evaluation -> positive: positive words get their negation ([0197])."""
    changed = _sub(r"\binexistence of\b", "existence of", text)
    changed = _sub(rf"\b(?:no|zero)\s+({_DEFECT_NOUN})\b", r"\1", changed)
    changed = _sub(rf"\bwithout\s+({_DEFECT_NOUN})\b", r"with \1", changed)
    changed = _sub(rf"\bfree of\s+({_DEFECT_NOUN})\b", r"full of \1", changed)
    if changed != text:
        return changed
    good_after_copula = rf"\b({_COPULAS})\s+(?=(?:{_INTENSIFIERS}\s+)?(?:{_GOOD_WORD})\b)"
    changed = _sub(good_after_copula, r"\1 not ", text)
    if changed != text:
        return changed
    changed = _sub(
        rf"(?<![\w-])({_GOOD_WORD})(?![\w-])", lambda m: _GOOD_WORDS[m.group(1).lower()], text
    )
    return changed if changed != text else f"not {text}"


def classify_feedback(text: str) -> QualityFeedback:
    """Class, opposite text, target and aspects of one writer's text about a picture."""
    cleaned = _clean(text)
    positive = _names_defect(cleaned)
    opposite = _to_reverse(cleaned) if positive else _to_positive(cleaned)
    return QualityFeedback(
        text=cleaned,
        complaint=is_quality_complaint(cleaned),
        positive=positive,
        opposite=_clean(opposite),
        aspects=_aspects(cleaned),
    )


def reverse_evaluation(text: str) -> str:
    """The text the restorer should aim for: "too blurry" -> "sharp" ([0143]-[0144])."""
    return classify_feedback(text).target
