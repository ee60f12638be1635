"""The cast ablation's references: before a story is told, each of its recurring elements gets
a reference picture, a render of the element from the world, as a writer's upload would give it
(pinned; its CLIP feature is the look). Benchmarks only: the product learns looks as it draws.
"""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime

import numpy as np

from core.engine import Engine
from core.story.elements import head_noun
from picturebook.render import render
from picturebook.stories import Story
from picturebook.world import COLOURS, Scene, Thing, is_character
from storage.base import ElementLook, ElementRecord, Storage
from training.ip_adapter import crop_of, figure_box

REFERENCE_SEED = 20_261_204


def reference_thing(story: Story, kind: str, rng: random.Random) -> Thing:
    """The element as the story states it (its colour, a hat), else as chance gives it."""
    said = [t for s in story.sentences for t in s.facts.things if t.kind == kind]
    colour = story.cast().get(kind) or rng.choice(COLOURS)
    hat = is_character(kind) and any(t.hat for t in said)
    return Thing(kind, colour, hat, "big", "centre")


def reference_png(thing: Thing) -> bytes:
    """The element alone, big, in the middle of a plain daytime scene, cut out around it."""
    scene = Scene("village", "day", "clear", "flat", (thing,))
    crop = crop_of(render(scene), figure_box(thing.position, thing.size))
    buffer = io.BytesIO()
    crop.save(buffer, format="PNG")
    return buffer.getvalue()


async def give_references(
    storage: Storage, engine: Engine, channel_key: str, story: Story
) -> list[str]:
    """Every recurring element of `story` entered in the channel's cast with its reference;
    the names entered."""
    rng = random.Random(f"{REFERENCE_SEED}:{story.title}")
    now = datetime.now(UTC)
    names = []
    for kind in story.recurring():
        thing = reference_thing(story, kind, rng)
        png = reference_png(thing)
        name = head_noun(kind)
        [look] = await engine.embed_images([png])
        [text] = await engine.embed_texts([name])
        image_id = await storage.images.put(png)
        look = np.asarray(look, np.float32)
        await storage.elements.put(
            ElementRecord(
                channel_key=channel_key,
                name=name,
                kind="character" if is_character(kind) else "prop",
                feature=np.asarray(text, np.float32),
                count=1,
                first_seen=now,
                last_seen=now,
                aliases=(kind,) if kind != name else (),
                pinned=True,
                look=look,
                references=(ElementLook(image_id, look, None),),
                description=story.cast().get(kind, ""),
            )
        )
        names.append(name)
    return names
