"""The inbox handler for edits: draw the new version, keep the chain, post it exactly once."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.compose.drawing import STAGED_EDITS, Composing
from core.compose.settings import COMPOSED
from core.edit.chain import can_redo, current_version, original, redo, undo
from core.edit.commands import intent_from_payload
from core.edit.effects import steps_for
from core.edit.generators import NEWEST, attribute_generator, edit_method_words, edit_model
from core.edit.pairs import keep_pair
from core.edit.preference import remember_preference
from core.edit.prompts import edited_prompt, library_text, owner_of
from core.edit.understanding import EditIntent
from core.engine import (
    CancelToken,
    EditRequest,
    Engine,
    GeneratedImage,
    GenerationCancelled,
    Provenance,
)
from core.events import (
    Action,
    Audience,
    ChannelRef,
    IllustrationImage,
    MessageRef,
    PostError,
    PostIllustrations,
    PostText,
    Progress,
)
from core.story.cast_edits import stick
from core.story.choosing import ConsistentChooser
from core.story.posting import Deliver
from core.story.progress import ProgressReporter, Send
from core.style.settings import style_for_drawing
from storage.base import IllustrationRecord, InboxItem, Storage
from storage.codec import now_utc

log = logging.getLogger("inkwell.edit")

GONE = (
    "That picture was removed to save space, so it can't be changed. Redraw the paragraph "
    "to get a new one."
)
_PROVENANCE_FIELDS = set(Provenance.__dataclass_fields__)


def genre_gone(genre: str) -> str:
    return (
        f"That picture was drawn in the genre '{genre}', which is no longer trained here (its "
        "adapter was removed), so it can't be changed as it was drawn. Redraw the paragraph "
        "to get a new one."
    )


@dataclass(frozen=True)
class EditTask:
    item: InboxItem
    channel: ChannelRef
    target: IllustrationRecord
    intent: EditIntent
    reply_to: MessageRef | None

    @property
    def child_id(self) -> str:
        # Starts with the paragraph id, like every illustration id.
        return f"{self.target.paragraph_id}:edit-{self.item.id}"


class EditWork:
    def __init__(
        self,
        engine: Engine,
        storage: Storage,
        chooser: ConsistentChooser,
        send: Send,
        deliver: Deliver,
        strength: float = 0.55,
        progress_interval_s: float = 0.25,
        edit_model: str = NEWEST,
        composing: Composing | None = None,
    ) -> None:
        self._engine = engine
        self._edit_model = edit_model  # `[edit] edit_model`
        self._composing = composing
        self._storage = storage
        self._chooser = chooser
        self._send = send
        self._deliver = deliver
        self._strength = strength
        self._interval = progress_interval_s

    async def run(self, item: InboxItem, cancel: CancelToken) -> None:
        task = await self._task(item)
        if task is None:
            return
        kind = task.intent.kind
        if kind in ("undo", "redo", "original"):
            await self._history(task)
            return
        genre = await self._removed_genre(task)
        if genre is not None:
            await self._send(PostText(task.channel, genre_gone(genre), task.target.paragraph_id))
            return
        try:
            record, png = await self._draw(task, cancel)
        except GenerationCancelled:
            await self._send(PostText(task.channel, "Stopped the edit.", task.target.paragraph_id))
            return
        if record is None:
            await self._send(PostText(task.channel, GONE, task.target.paragraph_id))
            return
        caption = f"{task.target.text} (edited: {task.intent.describe()})"
        await self._post(task, record, png, caption)

    async def _removed_genre(self, task: EditTask) -> str | None:
        """The genre the picture was drawn in when its adapter is gone (the edit would redraw
        with it) and the edit is not already drawn; otherwise None."""
        genre = task.target.provenance.get("genre")
        if not genre or await self._storage.illustrations.get(task.child_id) is not None:
            return None
        trained = {info.name for info in await self._engine.adapters() if info.kind == "genre"}
        return None if genre in trained else str(genre)

    async def retrying(self, item: InboxItem, delay_s: float) -> None:
        task = await self._task(item)
        if task is not None:
            note = f"Inkwell hit a problem with this edit; it will try again in {delay_s:.0f} s."
            await self._send(PostText(task.channel, note, task.target.paragraph_id))

    async def failed(self, item: InboxItem, reference: str) -> None:
        task = await self._task(item)
        if task is not None:
            await self._send(
                PostError(
                    task.channel,
                    message="Inkwell couldn't make that edit. The picture is unchanged and "
                    "your request is kept; try again later.",
                    reference=reference,
                    paragraph_id=task.target.paragraph_id,
                    audience=Audience.CHANNEL,  # sent later, to everyone following the story
                )
            )

    async def _task(self, item: InboxItem) -> EditTask | None:
        payload = item.payload
        target = await self._storage.illustrations.get(payload["illustration_id"])
        channel = await self._storage.channels.get(item.channel_key)
        if target is None or channel is None:
            log.error("edit %s names a picture or channel that is gone", item.id)
            return None
        ref = ChannelRef.of(channel)
        reply = payload.get("reply_to")
        return EditTask(
            item,
            ref,
            target,
            intent_from_payload(payload["intent"]),
            MessageRef(ref, reply) if reply else None,
        )

    async def _draw(
        self, task: EditTask, cancel: CancelToken
    ) -> tuple[IllustrationRecord | None, bytes]:
        """The stored new version (made now, or by an attempt a crash interrupted)."""
        done = await self._storage.illustrations.get(task.child_id)
        if done is not None:
            png = await self._storage.images.get(done.image_id) if done.image_id else None
            if png is not None:
                return done, png
        target, intent = task.target, task.intent
        parent_png = await self._storage.images.get(target.image_id) if target.image_id else None
        if parent_png is None:
            return None, b""
        parent = Provenance.from_dict(
            {k: v for k, v in target.provenance.items() if k in _PROVENANCE_FIELDS}
        )
        owner = await owner_of(self._storage, target, intent.element)
        style = await style_for_drawing(self._storage, target.channel_key)
        paragraph_id = target.paragraph_id
        await self._send(Progress(task.channel, paragraph_id, "editing", 0.0, detail="Editing"))
        reporter = ProgressReporter(self._send, task.channel, paragraph_id, self._interval)
        image = parent_png
        generator = model = None
        if intent.kind == "attribute":
            # A trained edit model draws it from the picture and the words; without one the
            # two branches fuse, the feature branch with the attribute's generator if trained.
            model = await edit_model(self._engine, self._edit_model)
            if model is None:
                generator = await attribute_generator(self._engine, intent.attribute)
        words = task.item.payload.get("text", "")
        composed = None
        try:
            if (
                self._composing is not None
                and target.provenance.get("drawing_mode") == COMPOSED
                and intent.kind in STAGED_EDITS
            ):
                # Seed 001's additional input re-enters the composition at the stage it
                # changes; None when the stages are gone: the pixels are edited instead.
                composed = await self._composing.edit(target, intent, reporter.on_step, cancel)
            if composed is not None:
                result = GeneratedImage(
                    composed.png,
                    Provenance.from_dict(
                        {k: v for k, v in composed.provenance.items() if k in _PROVENANCE_FIELDS}
                    ),
                )
            for step in steps_for(intent, owner) if composed is None else ():
                request = EditRequest(
                    kind=step.intent.kind,  # type: ignore[arg-type]
                    image=step.prepare(image) if step.prepare else image,
                    provenance=parent,
                    prompt=edited_prompt(parent.prompt, step.intent, owner),
                    strength=self._strength if step.strength is None else step.strength,
                    region=step.intent.region,
                    element=step.intent.element,
                    attribute=step.intent.attribute,
                    attribute_word=step.intent.attribute_word,
                    tone=step.intent.tone,
                    style=style,
                    attribute_adapter=generator if step.intent.kind == "attribute" else None,
                    edit_model=model if step.intent.kind == "attribute" else None,
                    instruction=words,
                )
                [result] = await self._engine.edit([request], reporter.on_step, cancel)
                image = result.png
        finally:
            await reporter.flush()
        chosen, features, memory = await self._chooser.choose(
            target.channel_key,
            [library_text(target.text, intent, owner)],
            [[result]],
            [task.child_id],
            now_utc(),
            forced={0: 0},
        )
        # A change to how an element looks sticks to the story's cast entry of it.
        stick(memory, owner, intent.kind, intent.attribute, intent.attribute_word)
        image_id = await self._storage.images.put(result.png)
        method = f"; {edit_method_words(model, generator)}" if intent.kind == "attribute" else ""
        record = IllustrationRecord(
            id=task.child_id,
            channel_key=target.channel_key,
            paragraph_id=paragraph_id,
            sentence_index=target.sentence_index,
            text=target.text,
            image_id=image_id,
            score=chosen[0].selection.score,
            provenance={
                **(composed.provenance if composed is not None else result.provenance.to_dict()),
                "edit_chain": [*target.provenance.get("edit_chain", []), target.id],
                "request": task.item.payload.get("text", ""),
                "read_as": intent.describe(owner) + method,
                "read_by": intent.read_by,
                "read_confidence": intent.confidence,
                "requested_by": task.item.payload.get("author_name", ""),
                "elements": list(chosen[0].elements),
            },
            clip_feature=features[0],
            created_at=now_utc(),
            parent_id=target.id,
            image_bytes=composed.image_bytes if composed is not None else len(result.png),
        )
        await self._storage.illustrations.add(record)
        if intent.kind == "attribute":
            await keep_pair(
                *(self._storage, record, parent_png, result.png, words),
                intent.attribute,
                intent.attribute_word,
                generator,
                model,
            )
        await memory.save(self._storage)
        if intent.kind in ("global", "style") and intent.keep:
            by = task.item.payload.get("author_name", "")
            await remember_preference(self._storage, target.channel_key, intent.words, by)
        await self._send(Progress(task.channel, paragraph_id, "done", 1.0, detail="Edited"))
        log.info("edit %s of %s drawn (%s)", record.id, target.id, intent.kind)
        return record, result.png

    async def _history(self, task: EditTask) -> None:
        kind, target = task.intent.kind, task.target
        delivery_id = f"{task.item.kind}:{task.item.id}"
        earlier = await self._storage.deliveries.get(delivery_id)
        if earlier is not None:
            # A retry: the change was made before the crash; show where it left the picture.
            if earlier.status == "posted":
                return
            shown: IllustrationRecord | None = (
                await original(self._storage, target)
                if kind == "original"
                else await current_version(self._storage, target)
            )
        else:
            shown = await self._change_history(task, delivery_id)
        if shown is None:
            nothing = {
                "undo": "There's no edit to undo.",
                "redo": "There's no undone edit to bring back.",
            }
            await self._send(PostText(task.channel, nothing[kind], target.paragraph_id))
            return
        png = await self._storage.images.get(shown.image_id) if shown.image_id else None
        if png is None:
            await self._send(PostText(task.channel, GONE, target.paragraph_id))
            return
        caption = {
            "undo": "Undone: back to the previous version.",
            "redo": "Redone.",
            "original": "The original picture.",
        }[kind]
        await self._post(task, shown, png, f"{caption} {shown.text}")

    async def _change_history(self, task: EditTask, delivery_id: str) -> IllustrationRecord | None:
        """Undo or redo once; the delivery intent, recorded first, marks it as done."""
        kind, target = task.intent.kind, task.target
        if kind == "original":
            return await original(self._storage, target)
        now = now_utc()
        if kind == "undo":
            current = await current_version(self._storage, target)
            if current.parent_id is None:
                return None
            await self._storage.deliveries.record_intent(delivery_id, target.channel_key, now)
            return await undo(self._storage, target)
        if not await can_redo(self._storage, target):
            return None
        await self._storage.deliveries.record_intent(delivery_id, target.channel_key, now)
        return await redo(self._storage, target)

    async def _post(
        self, task: EditTask, record: IllustrationRecord, png: bytes, caption: str
    ) -> None:
        """Intent, post, record where it landed: a retry never posts the same edit twice."""
        delivery_id = f"{task.item.kind}:{task.item.id}"
        delivery = await self._storage.deliveries.record_intent(
            delivery_id, task.target.channel_key, now_utc()
        )
        if delivery.status == "posted":
            return
        image = IllustrationImage(
            record.id, record.image_id, png, caption, record.score, record.sentence_index
        )
        action: Action = PostIllustrations(
            task.channel,
            paragraph_id=record.paragraph_id,
            images=(image,),
            profile=self._engine.profile_name,
            reply_to=task.reply_to,
        )
        where = await self._deliver(action)
        if where is not None:
            await self._storage.illustrations.record_message(
                [record.id], task.channel.platform, where.message_id
            )
        message_ids = (where.message_id,) if where is not None else ()
        await self._storage.deliveries.record_posted(delivery_id, message_ids, now_utc())
