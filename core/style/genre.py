"""A channel's genre (seed 000 claim 16): a trained genre adapter its drawings are made with."""

from __future__ import annotations

import logging
import re

from core.engine import ADAPTER_NAME, AdapterInfo, Engine
from core.events import (
    Action,
    Audience,
    ChannelRef,
    Event,
    GenreChoice,
    GenreChoices,
    GenreChoicesRequested,
    GenreRequested,
    PostText,
    Refused,
)
from core.router import Router
from storage.base import Storage

log = logging.getLogger("inkwell.style")

GENRE_KEY = "genre"  # the channel setting naming its genre adapter
NO_GENRE = ("none", "off")  # what a writer types to draw without a genre again
KEPT = "Earlier illustrations keep the genre they were drawn with."


async def channel_genre(storage: Storage, channel_key: str) -> str | None:
    """The genre the channel picked (it may since have been removed from the engine)."""
    record = await storage.channels.get(channel_key)
    raw = record.settings.get(GENRE_KEY) if record is not None else None
    return raw if isinstance(raw, str) and re.fullmatch(ADAPTER_NAME, raw) else None


async def genres(engine: Engine) -> list[AdapterInfo]:
    return [info for info in await engine.adapters() if info.kind == "genre"]


async def genre_for_drawing(storage: Storage, engine: Engine, channel_key: str) -> str | None:
    """The genre adapter the channel's next drawing uses; None without one, or when the
    picked genre is no longer among the engine's adapters (drawn without, and logged)."""
    name = await channel_genre(storage, channel_key)
    if name is None:
        return None
    if name not in {info.name for info in await genres(engine)}:
        log.error(
            "genre %r of %s is not among the engine's adapters; drawing without", name, channel_key
        )
        return None
    return name


def describe(info: AdapterInfo) -> str:
    trained = f"{info.pictures} pictures, {info.steps} steps"
    return f"**{info.name}**" + (f" ({info.phrase}; {trained})" if info.phrase else f" ({trained})")


class GenreCommands:
    """`/inkwell genre`: which genres are trained, which one the story uses, and picking one."""

    def __init__(self, storage: Storage, engine: Engine) -> None:
        self._storage = storage
        self._engine = engine

    def register(self, router: Router) -> None:
        router.on(GenreRequested, self.handle)
        router.on(GenreChoicesRequested, self.choices)

    async def choices(self, event: Event) -> list[Action]:
        """The picker's view: every trained genre, and the story's."""
        known = await genres(self._engine)
        current = await channel_genre(self._storage, event.channel.key)
        listed = tuple(GenreChoice(i.name, i.phrase, i.pictures, i.steps) for i in known)
        gone = current is not None and current not in {info.name for info in known}
        return [GenreChoices(event.channel, genres=listed, current=current, gone=gone)]

    async def handle(self, event: Event) -> list[Action]:
        assert isinstance(event, GenreRequested)
        name = event.name.strip().lower()
        if not name:
            return [await self._listing(event.channel)]
        if name in NO_GENRE:
            return await self._set(event, None)
        known = {info.name: info for info in await genres(self._engine)}
        if name not in known:
            return [
                Refused(event.channel, f"There is no trained genre {name!r}. {_choices(known)}")
            ]
        return await self._set(event, known[name])

    async def _listing(self, channel: ChannelRef) -> PostText:
        known = await genres(self._engine)
        current = await channel_genre(self._storage, channel.key)
        now = (
            f"This story is drawn in the genre **{current}**."
            if current
            else "This story is drawn without a genre."
        )
        if current and current not in {info.name for info in known}:
            now = f"This story picked the genre **{current}**, which is gone: drawn without."
        listed = "; ".join(describe(info) for info in known)
        trained = f"Trained genres: {listed}." if known else "No genres are trained yet."
        how = "Pick one with `/inkwell genre NAME` (`/inkwell genre none` for none)."
        return PostText(channel, f"{now} {trained} {how}", audience=Audience.WRITER)

    async def _set(self, event: GenreRequested, info: AdapterInfo | None) -> list[Action]:
        channel = event.channel
        await self._storage.channels.ensure(
            channel.key, channel.platform, channel.channel_id, channel.thread_id, channel.channel_id
        )
        await self._storage.channels.update_settings(
            channel.key, {GENRE_KEY: info.name if info else None}
        )
        who = event.author.display_name
        log.info(
            "genre %s in %s by %s", info.name if info else None, channel.key, event.author.user_id
        )
        if info is None:
            text = f"{who} turned the genre off: later illustrations are drawn without one. {KEPT}"
        else:
            text = (
                f"{who} picked the genre {describe(info)}: later pictures are drawn in it. {KEPT}"
            )
        return [PostText(channel, text)]


def _choices(known: dict[str, AdapterInfo]) -> str:
    if not known:
        return "No genres are trained yet (`python -m bot train-genre DIR --name NAME`)."
    return "Trained genres: " + ", ".join(sorted(known)) + "."
