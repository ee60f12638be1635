"""A story's drawing mode: direct (seed 000) or composed (seed 001), set by its writers."""

from __future__ import annotations

import logging

from core.compose.settings import COMPOSED, DIRECT, MODES
from core.events import Action, Audience, DrawingModeRequested, Event, PostText, Refused
from core.router import Router
from storage.base import Storage

log = logging.getLogger("inkwell.compose")

MODE_KEY = "drawing_mode"  # the channel setting
MEANING = {
    DIRECT: "each sentence's best candidate is its picture (seed 000)",
    COMPOSED: (
        "each picture is composed: the background and every foreground element drawn apart, "
        "merged where the first drawing put them, then rendered in a style chosen from the "
        "text (seed 001)"
    ),
}
USAGE = "Pick one with `/inkwell settings mode direct` or `/inkwell settings mode composed`."


async def drawing_mode(storage: Storage, channel_key: str, default: str) -> str:
    """The story's mode; `default` (`story.compose.mode`) until its writers pick one."""
    record = await storage.channels.get(channel_key)
    raw = record.settings.get(MODE_KEY) if record is not None else None
    return raw if raw in MODES else default


class DrawingModeCommands:
    def __init__(self, storage: Storage, default: str) -> None:
        self._storage = storage
        self._default = default

    def register(self, router: Router) -> None:
        router.on(DrawingModeRequested, self.handle)

    async def handle(self, event: Event) -> list[Action]:
        assert isinstance(event, DrawingModeRequested)
        channel = event.channel
        wanted = event.mode.strip().lower()
        if not wanted:
            mode = await drawing_mode(self._storage, channel.key, self._default)
            text = f"This story is drawn in the {mode} mode: {MEANING[mode]}. {USAGE}"
            return [PostText(channel, text, audience=Audience.WRITER)]
        if wanted not in MODES:
            return [Refused(channel, f"There is no drawing mode {wanted!r}. {USAGE}")]
        await self._storage.channels.ensure(
            channel.key, channel.platform, channel.channel_id, channel.thread_id, channel.channel_id
        )
        await self._storage.channels.update_settings(channel.key, {MODE_KEY: wanted})
        log.info("drawing mode %s in %s by %s", wanted, channel.key, event.author.user_id)
        who = event.author.display_name
        text = (
            f"{who} set the drawing mode to {wanted}: from the next paragraph on, "
            f"{MEANING[wanted]}. Earlier pictures keep how they were drawn."
        )
        return [PostText(channel, text)]
