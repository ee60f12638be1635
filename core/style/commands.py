"""The style commands of a channel: set, show, clear and strength of its style reference."""

from __future__ import annotations

import asyncio
import logging

from core.engine import Engine
from core.events import (
    Action,
    Audience,
    ChannelRef,
    Event,
    PostError,
    StyleReferenceCleared,
    StyleReferenceRequested,
    StyleReferenceSet,
    StyleReferenceShown,
    StyleStrengthSet,
)
from core.router import Router, new_reference
from core.style.reference import StyleImageRefused, StyleLimits, normalise_style_image
from core.style.settings import (
    MAX_STRENGTH,
    MIN_STRENGTH,
    STYLE_KEY,
    ChannelStyle,
    channel_style,
    valid_strength,
)
from storage.base import Storage
from storage.codec import now_utc

log = logging.getLogger("inkwell.style")

KEPT = "Earlier illustrations keep the look they were drawn with."


def branch_note(engine: Engine) -> str:
    """What writers should expect from a style reference with the models now running."""
    state = engine.style_branch
    if state == "untrained":
        return (
            f"The {engine.profile_name} models have no trained style branch yet, so the "
            "reference is kept but does not change the pictures until one is trained."
        )
    if state == "ip-adapter":
        return (
            f"The {engine.profile_name} models have no trained style branch yet, so the "
            "reference steers the pictures through IP-Adapter on the style layers only "
            "(InstantStyle) until one is trained."
        )
    if state == "random":
        return (
            "The tiny test models have random weights: a reference changes the pictures, "
            "but not toward its look."
        )
    return ""


class StyleCommands:
    """Handlers for the style events; a reference applies to drawings that start after it."""

    def __init__(self, storage: Storage, engine: Engine, limits: StyleLimits | None = None):
        self._storage = storage
        self._engine = engine
        self._limits = limits or StyleLimits()

    def register(self, router: Router) -> None:
        router.on(StyleReferenceSet, self.set_reference)
        router.on(StyleReferenceRequested, self.show)
        router.on(StyleReferenceCleared, self.clear)
        router.on(StyleStrengthSet, self.set_strength)

    async def set_reference(self, event: Event) -> list[Action]:
        assert isinstance(event, StyleReferenceSet)
        channel = event.channel
        try:
            # Decoding a large picture takes a while; the event loop serves others meanwhile.
            image = await asyncio.to_thread(normalise_style_image, event.image, self._limits)
        except StyleImageRefused as refused:
            log.info("style image refused in %s: %s", channel.key, refused)
            return [PostError(channel, message=str(refused), reference=new_reference())]
        await self._ensure(channel)
        image_id = await self._storage.images.put(image.png)
        before = await channel_style(self._storage, channel.key)
        who = event.author.display_name
        style = ChannelStyle(image_id, before.strength, who, now_utc().isoformat())
        await self._save(channel, style)
        log.info("style reference %s set in %s by %s", image_id, channel.key, event.author.user_id)
        done = f"{who} set the style reference: later illustrations are drawn like it."
        message = " ".join((done, KEPT, *image.notes))
        return [self._shown(channel, style, changed=True, message=message)]

    async def show(self, event: Event) -> list[Action]:
        style = await channel_style(self._storage, event.channel.key)
        if style.image_id is None:
            message = "This story has no style reference; upload a picture to set one."
        else:
            who = style.set_by or "a writer"
            message = (
                f"Illustrations here are drawn like the style reference {who} set, "
                f"at strength {style.strength:g}."
            )
        return [self._shown(event.channel, style, changed=False, message=message)]

    async def clear(self, event: Event) -> list[Action]:
        channel = event.channel
        style = await channel_style(self._storage, channel.key)
        if style.image_id is None:
            message = "This story has no style reference to clear."
            return [self._shown(channel, style, changed=False, message=message)]
        cleared = ChannelStyle(strength=style.strength)
        await self._save(channel, cleared)
        log.info("style reference cleared in %s by %s", channel.key, event.author.user_id)
        who = event.author.display_name
        message = f"{who} cleared the style reference: later illustrations have none. {KEPT}"
        return [self._shown(channel, cleared, changed=True, message=message)]

    async def set_strength(self, event: Event) -> list[Action]:
        assert isinstance(event, StyleStrengthSet)
        channel = event.channel
        if not valid_strength(event.strength):
            message = (
                f"Style strength goes from {MIN_STRENGTH:g} (off) to {MAX_STRENGTH:g}; "
                "1 is the strength the style branch was trained at."
            )
            return [PostError(channel, message=message, reference=new_reference())]
        await self._ensure(channel)
        style = await channel_style(self._storage, channel.key)
        strength = round(float(event.strength), 3)
        updated = ChannelStyle(style.image_id, strength, style.set_by, style.set_at)
        await self._save(channel, updated)
        log.info("style strength %g in %s by %s", strength, channel.key, event.author.user_id)
        message = f"{event.author.display_name} set the style strength to {strength:g}"
        message += "." if style.image_id else "; it applies once a style reference is set."
        return [self._shown(channel, updated, changed=True, message=f"{message} {KEPT}")]

    async def _ensure(self, channel: ChannelRef) -> None:
        await self._storage.channels.ensure(
            channel.key, channel.platform, channel.channel_id, channel.thread_id, channel.channel_id
        )

    async def _save(self, channel: ChannelRef, style: ChannelStyle) -> None:
        await self._storage.channels.update_settings(channel.key, {STYLE_KEY: style.to_settings()})

    def _shown(
        self, channel: ChannelRef, style: ChannelStyle, *, changed: bool, message: str
    ) -> StyleReferenceShown:
        return StyleReferenceShown(
            channel,
            image_id=style.image_id,
            strength=style.strength,
            set_by=style.set_by,
            changed=changed,
            message=message,
            note=branch_note(self._engine),
            # A change of look concerns every writer; showing it answers only the asker.
            audience=Audience.CHANNEL if changed else Audience.WRITER,
        )
