"""Writers see and steer the story's cast (its element library), and ask why a picture was
chosen: rename, merge, forget, pin, describe, give a pronoun, upload a reference picture."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import numpy as np

from core.edit.chain import current_versions
from core.engine import Engine
from core.events import (
    Action,
    Audience,
    CastLooksSet,
    ElementDescribeRequested,
    ElementForgetRequested,
    ElementMergeRequested,
    ElementPinRequested,
    ElementPronounRequested,
    ElementReferenceSet,
    ElementRenameRequested,
    ElementSummary,
    Event,
    LibraryRequested,
    LibraryShown,
    PostError,
    Refused,
    WhyRequested,
    WhyShown,
)
from core.router import Router, new_reference
from core.story.cast_prompts import PRONOUNS
from core.story.looks import LOOKS_KEY, LOOKS_USAGE, channel_look_strength, valid_look_strength
from core.style.reference import StyleImageRefused, normalise_style_image
from storage.base import ElementLook, ElementRecord, Storage

log = logging.getLogger("inkwell.cast")
MAX_DESCRIPTION = 200  # characters; the prompt's token budget trims further when drawing

# What "why" shows of an illustration's provenance, in this order.
WHY_FIELDS = (
    "drawing_mode",  # seed 001: direct, or composed with its stages below
    "composition",
    "branch",
    "screening",
    "selection",
    "elements",
    "drift",  # the drift check: each recurring element's likeness to its look
    "candidate_index",
    "candidate_scores",
    "image_text_scores",
    "retained",
    "seed",
    "steps",
    "profile",
    "style_ref",
    "style_method",
    "restorer",  # an enhanced version: what redrew it
    "genre",  # the genre adapter it was drawn with (seed 000 claim 16)
    "looks",  # the elements whose looks conditioned it,
    "look_strength",  # how strongly,
    "look_method",  # and through what (or why they did not)
    "request",  # an edit: what the writer asked,
    "read_as",  # and how Inkwell read it
)


class LibraryCommands:
    def __init__(self, storage: Storage, engine: Engine, look_strength: float = 0.6) -> None:
        self._storage = storage
        self._engine = engine
        self._look_strength = look_strength  # `story.cast.look_strength`: channels' default

    def register(self, router: Router) -> None:
        router.on(LibraryRequested, self.show)
        router.on(ElementRenameRequested, self.rename)
        router.on(ElementMergeRequested, self.merge)
        router.on(ElementForgetRequested, self.forget)
        router.on(ElementPinRequested, self.pin)
        router.on(ElementDescribeRequested, self.describe)
        router.on(ElementPronounRequested, self.set_pronoun)
        router.on(ElementReferenceSet, self.set_reference)
        router.on(WhyRequested, self.why)
        router.on(CastLooksSet, self.set_looks)

    async def show(self, event: Event, message: str = "") -> list[Action]:
        elements = await self._storage.elements.list(event.channel.key)
        summaries = [
            ElementSummary(
                e.name,
                e.kind,
                e.count,
                e.aliases,
                e.pinned,
                await self._thumbnail(e),
                e.description,
                e.pronoun,
                tuple(r.image_id for r in e.references),
            )
            for e in elements
        ]
        # A change is announced to the channel; a plain look is for the asker.
        audience = Audience.CHANNEL if message else Audience.WRITER
        strength = await channel_look_strength(
            self._storage, event.channel.key, self._look_strength
        )
        shown = LibraryShown(event.channel, tuple(summaries), message, strength, audience=audience)
        return [shown]

    async def set_looks(self, event: Event) -> list[Action]:
        """How strongly the cast's looks condition later drawings; None shows the cast."""
        assert isinstance(event, CastLooksSet)
        if event.strength is None:
            return await self.show(event)
        if not valid_look_strength(event.strength):
            return [Refused(event.channel, LOOKS_USAGE)]
        channel = event.channel
        await self._storage.channels.ensure(
            channel.key, channel.platform, channel.channel_id, channel.thread_id, channel.channel_id
        )
        await self._storage.channels.update_settings(channel.key, {LOOKS_KEY: event.strength})
        log.info("look strength %s in %s by %s", event.strength, channel.key, event.author.user_id)
        who = event.author.display_name
        if event.strength == 0:
            message = f"{who} turned the cast's looks off: later pictures follow the words alone."
        else:
            message = (
                f"{who} set the cast's looks to {event.strength:g}: later pictures of the story's "
                "characters, places and props are drawn from their reference pictures that much."
            )
        return await self.show(event, f"{message} Earlier illustrations keep how they were drawn.")

    async def rename(self, event: Event) -> list[Action]:
        assert isinstance(event, ElementRenameRequested)
        new_name = _clean(event.new_name)
        if not new_name:
            return [Refused(event.channel, "Give the element a new name.")]
        element, refusal = await self._find(event, event.name)
        if element is None:
            return refusal
        if await self._storage.elements.get(event.channel.key, new_name) is not None:
            return [Refused(event.channel, f"There is already a {new_name!r}; merge them instead.")]
        aliases = tuple(dict.fromkeys((*element.aliases, element.name)))
        await self._storage.elements.put(replace(element, name=new_name, aliases=aliases))
        await self._storage.elements.delete(event.channel.key, element.name)
        return await self.show(event, f"Renamed {element.name!r} to {new_name!r}.")

    async def merge(self, event: Event) -> list[Action]:
        assert isinstance(event, ElementMergeRequested)
        element, refusal = await self._find(event, event.name)
        if element is None:
            return refusal
        into, refusal = await self._find(event, event.into)
        if into is None:
            return refusal
        if into.name == element.name:
            return [Refused(event.channel, "Pick two different elements to merge.")]
        total = element.count + into.count
        # The merged feature and look weigh each side by how often it was drawn.
        feature = (into.feature * into.count + element.feature * element.count) / max(total, 1)
        look = into.look if element.look is None else element.look
        if into.look is not None and element.look is not None:
            look = (into.look * into.count + element.look * element.count) / max(total, 1)
        merged = replace(
            into,
            feature=np.asarray(feature, dtype=np.float32),
            look=None if look is None else np.asarray(look, dtype=np.float32),
            references=(*into.references, *element.references),
            description=into.description or element.description,
            pronoun=into.pronoun or element.pronoun,
            count=total,
            first_seen=min(into.first_seen, element.first_seen),
            last_seen=max(into.last_seen, element.last_seen),
            aliases=tuple(dict.fromkeys((*into.aliases, element.name, *element.aliases))),
        )
        await self._storage.elements.put(merged)
        await self._storage.elements.delete(event.channel.key, element.name)
        return await self.show(event, f"Merged {element.name!r} into {into.name!r}.")

    async def forget(self, event: Event) -> list[Action]:
        assert isinstance(event, ElementForgetRequested)
        element, refusal = await self._find(event, event.name)
        if element is None:
            return refusal
        await self._storage.elements.delete(event.channel.key, element.name)
        return await self.show(
            event, f"Forgot {element.name!r}; it will be learned afresh if it appears again."
        )

    async def pin(self, event: Event) -> list[Action]:
        assert isinstance(event, ElementPinRequested)
        element, refusal = await self._find(event, event.name)
        if element is None:
            return refusal
        await self._storage.elements.put(replace(element, pinned=event.pinned))
        verb = "Pinned" if event.pinned else "Unpinned"
        return await self.show(event, f"{verb} the look of {element.name!r}.")

    async def describe(self, event: Event) -> list[Action]:
        assert isinstance(event, ElementDescribeRequested)
        element, refusal = await self._find(event, event.name)
        if element is None:
            return refusal
        description = " ".join(event.description.split())
        if len(description) > MAX_DESCRIPTION:
            return [
                Refused(
                    event.channel,
                    f"A description can be at most {MAX_DESCRIPTION} characters; "
                    f"that one has {len(description)}.",
                )
            ]
        await self._storage.elements.put(replace(element, description=description))
        if not description:
            return await self.show(event, f"Cleared the description of {element.name!r}.")
        return await self.show(event, f"{element.name} is now drawn as: {description}.")

    async def set_pronoun(self, event: Event) -> list[Action]:
        assert isinstance(event, ElementPronounRequested)
        element, refusal = await self._find(event, event.name)
        if element is None:
            return refusal
        pronoun = PRONOUNS.get(event.pronoun.strip().lower())
        if pronoun is None:
            return [Refused(event.channel, "A pronoun is one of he, she, it or they.")]
        await self._storage.elements.put(replace(element, pronoun=pronoun))
        return await self.show(event, f"{pronoun.capitalize()} now refers to {element.name!r}.")

    async def set_reference(self, event: Event) -> list[Action]:
        """A writer's picture becomes the element's look (pinned, so drawing keeps it)."""
        assert isinstance(event, ElementReferenceSet)
        element, refusal = await self._find(event, event.name)
        if element is None:
            return refusal
        try:
            image = await asyncio.to_thread(normalise_style_image, event.image)
        except StyleImageRefused as refused:
            return [PostError(event.channel, message=str(refused), reference=new_reference())]
        [feature] = await self._engine.embed_images([image.png])
        image_id = await self._storage.images.put(image.png)
        reference = ElementLook(image_id, np.asarray(feature, np.float32), None)
        changed = replace(
            element,
            look=reference.feature,
            references=(*element.references, reference),
            pinned=True,
        )
        await self._storage.elements.put(changed)
        log.info("reference %s for %s in %s", image_id, element.name, event.channel.key)
        who = event.author.display_name
        message = f"{who} gave {element.name!r} a reference picture: its look from now on (pinned)."
        return await self.show(event, " ".join((message, *image.notes)))

    async def why(self, event: Event) -> list[Action]:
        assert isinstance(event, WhyRequested)
        if event.paragraph_id:
            paragraph = await self._storage.paragraphs.get(event.paragraph_id)
        else:  # the latest paragraph, for `/inkwell why` typed in a chat
            latest = await self._storage.paragraphs.page(event.channel.key, None, 1)
            paragraph = latest[0] if latest else None
            if paragraph is None:
                return [Refused(event.channel, "This story has no paragraphs yet.")]
        if paragraph is None or paragraph.channel_key != event.channel.key:
            return [Refused(event.channel, "That paragraph isn't part of this story.")]
        stored = await self._storage.illustrations.for_paragraphs([paragraph.id])
        details = tuple(
            {"text": record.text, "score": record.score}
            | {name: record.provenance[name] for name in WHY_FIELDS if name in record.provenance}
            for record in current_versions(stored[paragraph.id])
        )
        return [WhyShown(event.channel, paragraph.id, paragraph.text, paragraph.note, details)]

    async def _find(
        self, event: Event, name: str
    ) -> tuple[ElementRecord, list[Action]] | tuple[None, list[Action]]:
        cleaned = _clean(name)
        found = await self._storage.elements.get(event.channel.key, cleaned)
        if found is None:
            # Writers may use a longer name the library keeps as an alias.
            for element in await self._storage.elements.list(event.channel.key):
                if cleaned in element.aliases:
                    found = element
                    break
        if found is None:
            return None, [Refused(event.channel, f"The story has no element called {name!r}.")]
        return found, []

    async def _thumbnail(self, element: ElementRecord) -> str | None:
        if element.references:
            return element.references[-1].image_id
        if element.first_illustration_id is None:
            return None
        record = await self._storage.illustrations.get(element.first_illustration_id)
        return record.image_id if record is not None and record.image_id else None


def _clean(name: str) -> str:
    return " ".join(name.lower().split())[:60]
