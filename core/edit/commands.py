"""Edit requests at the door: find the picture, read the request, queue the work in order."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import uuid

from core.edit.intents import IntentModel
from core.edit.parsing import load_parser
from core.edit.policy import EditPolicy
from core.edit.prompts import cast_for, owner_of
from core.edit.prototypes import nearest_prototype
from core.edit.requests import RequestReader, unsure_note
from core.edit.understanding import EditIntent, wants_enhance
from core.engine import Engine, ToneShift
from core.events import (
    Action,
    Audience,
    EditRequested,
    EnhanceRequested,
    Event,
    PostText,
    Refused,
)
from core.router import Router
from core.story.queue import StoryQueue
from storage.base import IllustrationRecord, Storage

log = logging.getLogger("inkwell.edit")

EDIT = "edit"  # the inbox kind
NOT_FOUND = (
    "I can't find that picture in this story. Reply to one of Inkwell's illustrations with "
    "what should change."
)
_NUMBERED = re.compile(r"^\s*(?:#|picture\s*|pic\s*)?(\d{1,2})\s*[:.)\-]\s*(.*)$", re.I | re.S)


class EditCommands:
    def __init__(
        self, storage: Storage, engine: Engine, queue: StoryQueue, policy: EditPolicy
    ) -> None:
        self._storage = storage
        self._engine = engine
        self._queue = queue
        self._policy = policy
        self._request_reader: RequestReader | None = None

    def register(self, router: Router) -> None:
        self._router = router
        router.on(EditRequested, self.request)

    async def request(self, event: Event) -> list[Action]:
        assert isinstance(event, EditRequested)
        channel = event.channel
        target, text = await self._target(event)
        if isinstance(target, str):
            return [Refused(channel, target)]
        cast = await cast_for(self._storage, target)
        intent = await (await self._reader()).read(text, cast, target.text)
        if intent.kind == "quality":
            return await self._restore(event, target, text)
        if intent.kind == "question" and self._policy.read_by_prototypes:
            guess = await nearest_prototype(
                self._engine,
                text,
                self._policy.prototype_similarity,
                self._policy.prototype_margin,
            )
            intent = guess or intent
        if intent.kind in ("question", "unsupported"):
            # A question back is for the asker; how a request was read is news for everyone.
            return [
                PostText(channel, intent.question, target.paragraph_id, audience=Audience.WRITER)
            ]
        payload = {
            "paragraph_id": target.paragraph_id,
            "illustration_id": target.id,
            "text": text,
            "intent": intent_to_payload(intent),
            "author_id": event.author.user_id,
            "author_name": event.author.display_name,
            "reply_to": event.message.message_id if event.message else None,
        }
        request = event.request_id or (event.message.message_id if event.message else "")
        dedupe = f"{channel.platform}:{request}" if request else uuid.uuid4().hex
        ahead = await self._queue.submit_work(channel, EDIT, payload, f"{EDIT}:{dedupe}")
        queued = f" ({ahead} ahead of it)" if ahead else ""
        log.info("edit of %s queued in %s: %s", target.id, channel.key, intent.kind)
        owner = ""
        if intent.kind in ("attribute", "correction"):  # whose look: "him" -> the character
            owner = await owner_of(self._storage, target, intent.element)
        read = intent.describe(owner)
        unsure = unsure_note(intent)
        return [PostText(channel, f"I read this as: {read}.{queued}{unsure}", target.paragraph_id)]

    async def _restore(self, event: EditRequested, target: IllustrationRecord, text: str) -> list:
        """Seed 002: "too blurry" is training signal and a job for the restorer."""
        log.info("restorer asked for %s in %s", target.id, event.channel.key)
        complaint = "" if wants_enhance(text) else text
        enhance = EnhanceRequested(
            event.channel, event.author, target.id, complaint=complaint, message=event.message
        )
        return await self._router.dispatch(enhance)

    async def _reader(self) -> RequestReader:
        """The reader, its parser loaded on first use (a second or so, off the event loop)."""
        if self._request_reader is None:
            parser = await asyncio.to_thread(load_parser, self._policy.parser)
            self._request_reader = RequestReader(parser, IntentModel(self._engine))
            log.info("edit requests are read by %s", self._request_reader.models)
        return self._request_reader

    async def _target(self, event: EditRequested) -> tuple[IllustrationRecord | str, str]:
        """The picture the request is about, and the request (without the picture's number
        when it names one of a message's several pictures)."""
        text, picture = event.text, event.picture
        channel = event.channel
        if event.illustration_id:
            record = await self._storage.illustrations.get(event.illustration_id)
            if record is None or record.channel_key != channel.key:
                return NOT_FOUND, text
            return record, text
        if not event.message_id:
            return NOT_FOUND, text
        shown = await self._storage.illustrations.by_message(
            channel.key, channel.platform, event.message_id
        )
        if not shown:
            return NOT_FOUND, text
        if len(shown) == 1:
            return shown[0], text
        numbered = _NUMBERED.match(text)
        if picture is None and numbered:
            picture, text = int(numbered.group(1)), numbered.group(2)
        if picture is None or not 1 <= picture <= len(shown):
            return (
                f"That message has {len(shown)} pictures. Start your reply with the picture's "
                f"number, like '2: {text.strip() or 'make it darker'}'.",
                text,
            )
        return shown[picture - 1], text


def intent_to_payload(intent: EditIntent) -> dict:
    return dataclasses.asdict(intent)


def intent_from_payload(data: dict) -> EditIntent:
    tone = data.get("tone")
    region = data.get("region")
    return EditIntent(
        **{
            **data,
            "tone": ToneShift(**tone) if tone else None,
            "region": tuple(region) if region else None,
        }
    )
