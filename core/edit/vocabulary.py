"""Words an edit request is read with: tone, time, season, style, emotion (seed 001) and places."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Look:
    """What one word of a request asks of the picture: prompt words and a tone change."""

    words: str
    brightness: float = 1.0
    saturation: float = 1.0
    warmth: float = 0.0


# Tone, lighting and colour: "I prefer darker", "more colourful", "warmer".
TONE: dict[str, Look] = {
    "darker": Look("dark, dim lighting", brightness=0.72),
    "dark": Look("dark, dim lighting", brightness=0.72),
    "dimmer": Look("dim lighting", brightness=0.8),
    "gloomier": Look("gloomy, overcast", brightness=0.75, saturation=0.85),
    "moodier": Look("moody lighting, deep shadows", brightness=0.8),
    "brighter": Look("bright, well lit", brightness=1.25),
    "lighter": Look("bright, soft light", brightness=1.2),
    "sunnier": Look("sunny, bright daylight", brightness=1.25, warmth=0.2),
    "colourful": Look("vivid colours", saturation=1.35),
    "colorful": Look("vivid colours", saturation=1.35),
    "vivid": Look("vivid colours", saturation=1.35),
    "saturated": Look("saturated colours", saturation=1.35),
    "muted": Look("muted colours", saturation=0.6),
    "desaturated": Look("muted colours", saturation=0.5),
    "grayscale": Look("black and white", saturation=0.0),
    "greyscale": Look("black and white", saturation=0.0),
    "monochrome": Look("black and white", saturation=0.0),
    "warmer": Look("warm light", warmth=0.5),
    "cooler": Look("cool light", warmth=-0.5),
    "colder": Look("cold light", warmth=-0.5),
}

# Time of day and season: "make it a winter night".
TIME_AND_SEASON: dict[str, Look] = {
    "night": Look("at night, moonlight", brightness=0.6, warmth=-0.3),
    "midnight": Look("at midnight, moonlight", brightness=0.55, warmth=-0.3),
    "evening": Look("in the evening, golden light", brightness=0.85, warmth=0.3),
    "dusk": Look("at dusk, fading light", brightness=0.8, warmth=0.2),
    "sunset": Look("at sunset, golden light", brightness=0.9, warmth=0.4),
    "dawn": Look("at dawn, soft pink light", brightness=0.95, warmth=0.2),
    "morning": Look("in the morning light", brightness=1.1),
    "daytime": Look("in daylight", brightness=1.15),
    "noon": Look("at noon, bright sunlight", brightness=1.2),
    "winter": Look("winter, snow", warmth=-0.3),
    "snowy": Look("snow falling", warmth=-0.3),
    "autumn": Look("autumn, falling leaves", warmth=0.3),
    "fall": Look("autumn, falling leaves", warmth=0.3),
    "summer": Look("summer, lush and green", brightness=1.1, warmth=0.2),
    "spring": Look("spring, blossoms", saturation=1.1),
    "rainy": Look("rain, wet streets", brightness=0.85, saturation=0.85),
    "foggy": Look("fog, mist", saturation=0.8),
    "stormy": Look("storm clouds, lightning", brightness=0.7),
}

# Rendering styles: "as a watercolour".
STYLE: dict[str, Look] = {
    "watercolour": Look("watercolour painting"),
    "watercolor": Look("watercolor painting"),
    "oil": Look("oil painting"),
    "sketch": Look("pencil sketch", saturation=0.3),
    "pencil": Look("pencil drawing", saturation=0.3),
    "ink": Look("ink drawing", saturation=0.2),
    "anime": Look("anime style"),
    "comic": Look("comic book style"),
    "cartoon": Look("cartoon style", saturation=1.2),
    "pixel": Look("pixel art"),
    "realistic": Look("photorealistic"),
    "photo": Look("photograph"),
    "pastel": Look("pastel colours", saturation=0.75, brightness=1.1),
    "noir": Look("film noir, black and white", brightness=0.7, saturation=0.0),
}

# Seed 001 [0033]: emotion words become image elements and a style.
EMOTION: dict[str, Look] = {
    "sad": Look("dark clouds, light rain", brightness=0.8, saturation=0.8),
    "sadder": Look("dark clouds, light rain", brightness=0.8, saturation=0.8),
    "melancholy": Look("grey sky, light rain", brightness=0.82, saturation=0.75),
    "happy": Look("sunshine, blooming flowers", brightness=1.15, saturation=1.15),
    "happier": Look("sunshine, blooming flowers", brightness=1.15, saturation=1.15),
    "cheerful": Look("sunshine, bright colours", brightness=1.15, saturation=1.2),
    "scary": Look("fog, long shadows", brightness=0.7, warmth=-0.3),
    "scarier": Look("fog, long shadows", brightness=0.7, warmth=-0.3),
    "spooky": Look("fog, long shadows", brightness=0.7, warmth=-0.3),
    "creepy": Look("fog, long shadows", brightness=0.7, warmth=-0.3),
    "calm": Look("soft light, still water", saturation=0.9),
    "calmer": Look("soft light, still water", saturation=0.9),
    "peaceful": Look("soft light, still water", saturation=0.9),
    "romantic": Look("warm glow, rose petals", warmth=0.4),
    "angry": Look("storm, red sky", saturation=1.2, warmth=0.3),
    "tense": Look("harsh shadows", brightness=0.85),
    "dreamy": Look("soft focus, glowing haze", brightness=1.1, saturation=0.85),
}

GLOBAL_WORDS: dict[str, Look] = {**TONE, **TIME_AND_SEASON, **STYLE, **EMOTION}

# Where "add a dog on the left" places the new element: (x0, y0, x1, y1) in 0..1.
PLACES: dict[str, tuple[float, float, float, float]] = {
    "left": (0.0, 0.3, 0.5, 1.0),
    "right": (0.5, 0.3, 1.0, 1.0),
    "top": (0.2, 0.0, 0.8, 0.45),
    "sky": (0.1, 0.0, 0.9, 0.4),
    "above": (0.2, 0.0, 0.8, 0.45),
    "bottom": (0.2, 0.55, 0.8, 1.0),
    "ground": (0.15, 0.6, 0.85, 1.0),
    "floor": (0.15, 0.6, 0.85, 1.0),
    "foreground": (0.2, 0.5, 0.8, 1.0),
    "background": (0.2, 0.1, 0.8, 0.55),
    "center": (0.3, 0.3, 0.7, 0.8),
    "centre": (0.3, 0.3, 0.7, 0.8),
    "middle": (0.3, 0.3, 0.7, 0.8),
    "distance": (0.2, 0.15, 0.8, 0.5),
    "horizon": (0.0, 0.3, 1.0, 0.55),
}
# A new foreground element with no place named: the lower middle, where foregrounds sit.
DEFAULT_PLACE = (0.25, 0.4, 0.75, 0.95)
WHOLE_PICTURE = (0.0, 0.0, 1.0, 1.0)

PRONOUNS = {"him", "her", "them", "he", "she", "they", "his", "their", "hers", "theirs", "it"}

# Requests a still-picture editor can't do; answered plainly instead of guessed at.
UNSUPPORTED = ("animate", "animated", "animation", "video", "gif", "moving", "sound", "music", "3d")

# Verbs (lemmas) that carry a kind when a parse shows their object (core.edit.reading).
ADD_VERBS = {"add", "put", "place", "include", "insert", "draw", "stick"}
REMOVE_VERBS = {"remove", "delete", "erase", "lose", "drop", "clear", "cut", "eliminate", "hide"}
MOVE_VERBS = {"move", "shift", "slide", "put", "place", "position", "drag", "push", "pull"}
WEAR_VERBS = {"have", "wear", "need", "get", "carry", "hold"}
FRAMING_VERBS = {"zoom", "pan", "crop", "tilt", "reframe", "frame"}
CAMERA_WORDS = {"camera", "view", "frame", "shot", "framing", "viewpoint"}
# Size words (lemmas): predicative "the boat should be bigger", or verbs ("shrink the sail").
BIGGER = {"big", "large", "huge", "tall", "giant", "enormous", "massive", "high"}
SMALLER = {"small", "tiny", "little", "short", "miniature", "low"}
SIZE_VERBS = {"enlarge": True, "grow": True, "magnify": True, "shrink": False, "reduce": False}
# Nouns that name a way of drawing: "as a woodcut print", "in anime style".
STYLE_NOUNS = {
    *STYLE,
    "painting", "drawing", "print", "art", "illustration", "engraving", "etching",
    "photograph", "mosaic", "style", "version", "rendering", "cartoon", "strip",
}  # fmt: skip
# The picture itself, not a thing in it: "give it ...", "make the scene ...".
PICTURE_WORDS = {
    "it", "this", "that", "picture", "image", "scene", "one", "drawing", "everything", "thing",
    "story", "pictures", "thanks",
}  # fmt: skip
# Places named in other words: "in the distance" is the background.
PLACE_ALIASES = {"distance": "background", "horizon": "background", "centre": "center"}
# What a global change changes: "add some drama to the lighting".
PICTURE_QUALITIES = {
    "light", "lighting", "mood", "atmosphere", "colour", "color", "tone", "palette",
    "contrast", "drama", "feel", "feeling", "vibe", "warmth", "shadow", "saturation",
}  # fmt: skip


def global_look(words: list[str]) -> list[Look]:
    """The looks a request's words ask for, comparatives read by their base ("gloomy")."""
    looks = []
    for word in dict.fromkeys(words):
        look = GLOBAL_WORDS.get(word) or GLOBAL_WORDS.get(_BASES.get(word, ""))
        if look is not None:
            looks.append(look)
    return looks


def mood_look(words: list[str]) -> list[Look]:
    """`global_look` without the rendering styles: tone, time, season, weather, emotion."""
    return [look for look in global_look(words) if look not in STYLE.values()]


# "gloomy" -> "gloomier": comparatives in the vocabulary, reachable from their base word.
_BASES = {
    **{word[:-3] + "y": word for word in GLOBAL_WORDS if word.endswith("ier")},
    **{word[:-2]: word for word in GLOBAL_WORDS if word.endswith("er") and len(word) > 5},
}
