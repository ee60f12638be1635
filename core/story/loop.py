"""The illustration loop: a stored paragraph in, its chosen illustrations posted and stored."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import numpy as np

from core.compose.drawing import Cast as CompositionCast
from core.compose.drawing import Composed, Composing
from core.compose.mode import drawing_mode
from core.compose.settings import COMPOSED, DIRECT
from core.edit.preference import story_preference, with_preference
from core.engine import (
    CancelToken,
    Engine,
    GeneratedImage,
    GenerationCancelled,
    GenerationRequest,
    Screening,
)
from core.events import (
    Action,
    Audience,
    ChannelRef,
    IllustrationImage,
    MessageRef,
    PostError,
    PostText,
    Progress,
)
from core.story.branches import SentencePlan
from core.story.cast_prompts import CastPrompts
from core.story.chat_text import drawing_text
from core.story.choosing import Chosen, ConsistentChooser
from core.story.clauses import split_sentences
from core.story.drift import drift_record, drifting
from core.story.looks import CastLooks
from core.story.planning import ParagraphPlanner, Prompt, skipped_note
from core.story.posting import (
    Deliver,
    illustration_id_for,
    mark_drawn,
    post_once,
    stored_drawing,
)
from core.story.progress import GENERATING_SHARE, ProgressReporter
from core.story.retention import keep_within_budget
from core.story.settings import StorySettings
from core.style.genre import genre_for_drawing
from core.style.settings import style_for_drawing
from storage.base import IllustrationRecord, ParagraphRecord, Storage
from storage.codec import now_utc

log = logging.getLogger("inkwell.loop")

Send = Callable[[Action], Awaitable[None]]


@dataclass
class ParagraphJob:
    paragraph: ParagraphRecord
    channel: ChannelRef
    reply_to: MessageRef | None = None
    cancel: CancelToken = field(default_factory=CancelToken)
    variation: str = ""  # set when a writer asks for a redraw: the same paragraph, fresh seeds

    @property
    def job_id(self) -> str:
        return self.paragraph.id


def candidate_seeds(
    paragraph_id: str, sentence_index: int, count: int, variation: str = ""
) -> tuple[int, ...]:
    """Seeds fixed by the paragraph and sentence, so a rerun draws the same candidates.

    A `variation` names a redraw: its seeds differ from the first drawing's, and are as
    reproducible, since provenance records each chosen seed.
    """
    stem = f"{paragraph_id}/{variation}" if variation else paragraph_id
    seeds = []
    for candidate in range(count):
        digest = hashlib.sha256(f"{stem}:{sentence_index}:{candidate}".encode()).digest()
        seeds.append(int.from_bytes(digest[:4], "big") & 0x7FFFFFFF)
    return tuple(seeds)


class IllustrationLoop:
    def __init__(
        self,
        engine: Engine,
        storage: Storage,
        send: Send,
        settings: StorySettings,
        deliver: Deliver | None = None,
    ):
        self._engine = engine
        self._storage = storage
        self._send = send
        self._settings = settings
        self._deliver = deliver or _delivering(send)
        self._chooser = ConsistentChooser(
            engine,
            storage,
            settings.thr_1,
            settings.presence_threshold,
            settings.cast,
            text_term=settings.text_term,
        )
        self._planner = ParagraphPlanner(engine, settings)
        self._composing = Composing(engine, storage, settings.compose)

    async def illustrate(self, job: ParagraphJob) -> None:
        """Draw one paragraph and post it; a stop is recorded here, failures are raised."""
        paragraph, channel = job.paragraph, job.channel
        started = time.perf_counter()
        try:
            await self._illustrate(job)
        except GenerationCancelled:
            await self._storage.paragraphs.set_status(paragraph.id, "cancelled", "Stopped.")
            await self._send(Progress(channel, paragraph.id, "cancelled", 0.0, detail="Stopped"))
            await self._send(
                PostText(channel, "Stopped. The paragraph is kept in the story.", paragraph.id)
            )
            log.info("paragraph %s cancelled in %s", paragraph.id, channel.key)
        else:
            log.info(
                "paragraph %s in %s illustrated in %.2fs",
                paragraph.id,
                channel.key,
                time.perf_counter() - started,
            )

    async def report_failure(self, job: ParagraphJob, reference: str) -> None:
        """The last attempt failed: record it and tell the writers, the paragraph kept."""
        paragraph, channel = job.paragraph, job.channel
        note = f"Couldn't draw this paragraph (ref {reference})."
        await self._storage.paragraphs.set_status(paragraph.id, "failed", note)
        await self._send(Progress(channel, paragraph.id, "failed", 0.0, detail=note))
        await self._send(
            PostError(
                channel,
                message="Inkwell couldn't draw this paragraph. It is kept in the story; "
                "try again later.",
                reference=reference,
                paragraph_id=paragraph.id,
                audience=Audience.CHANNEL,  # sent later, to everyone following the story
            )
        )

    async def _illustrate(self, job: ParagraphJob) -> None:
        paragraph, channel = job.paragraph, job.channel
        cleaned = (drawing_text(sentence) for sentence in split_sentences(paragraph.text))
        sentences = [sentence for sentence in cleaned if sentence]
        note = ""
        if len(sentences) > self._settings.max_sentences:
            note = (
                f"Only the first {self._settings.max_sentences} of {len(sentences)} sentences "
                "are illustrated; post the rest as a new paragraph."
            )
            sentences = sentences[: self._settings.max_sentences]
        plans, screenings = await self._planner.plan(sentences)
        note = " ".join(part for part in (note, skipped_note(plans)) if part)
        await self._storage.paragraphs.set_status(paragraph.id, "illustrating", note)
        images = await stored_drawing(self._storage, job)
        # A stored drawing means an earlier attempt reached the post: it may have landed.
        again = images is not None
        if images is None and any(plan.drawn for plan in plans):
            images = await self._draw(job, plans, screenings)
        # Done before posting: the inbox item, not the status, is what a crash resumes from.
        await self._storage.paragraphs.set_status(paragraph.id, "done", note)
        if images:
            await post_once(
                self._storage, self._deliver, job, images, self._engine.profile_name, again
            )
        await keep_within_budget(
            self._storage, paragraph.channel_key, self._settings.max_image_bytes
        )
        if note:
            await self._send(PostText(channel, note, paragraph.id))
        await self._send(Progress(channel, paragraph.id, "done", 1.0, detail="Done"))

    async def _draw(
        self, job: ParagraphJob, plans: list[SentencePlan], screenings: dict[str, Screening]
    ) -> list[IllustrationImage]:
        paragraph, channel = job.paragraph, job.channel
        await self._send(Progress(channel, paragraph.id, "generating", 0.0, detail="Drawing"))
        if job.cancel.cancelled:
            raise GenerationCancelled

        # Read when drawing starts: a reference set while this paragraph waited applies to it.
        style = await style_for_drawing(self._storage, paragraph.channel_key)
        genre = await genre_for_drawing(self._storage, self._engine, paragraph.channel_key)
        # Global edits writers asked to keep ("I prefer darker") shape every later drawing.
        look = await story_preference(self._storage, paragraph.channel_key)
        # The cast's descriptions join the prompts that name (or refer to) an element.
        cast = await CastPrompts.load(self._storage, paragraph.channel_key, self._settings.cast)
        # Seed 001: composed pictures start from a first drawing whose prompt also carries
        # what the text's topics and emotion add ("sad": dark clouds, light rain).
        mode = await drawing_mode(self._storage, paragraph.channel_key, self._settings.compose.mode)
        composition_cast = (
            await CompositionCast.load(self._storage, paragraph.channel_key)
            if mode == COMPOSED
            else None
        )

        def prompt_for(text: str) -> str:
            prompt = with_preference(cast.prompt(text, reserved=look), look)
            if composition_cast is None:
                return prompt
            reading = self._composing.read(text, composition_cast)
            return self._composing.initial_prompt(prompt, reading)

        # ... and their looks condition the drawing, at the channel's strength.
        looks = await CastLooks.load(
            self._storage, paragraph.channel_key, self._settings.cast.look_strength
        )
        reporter = ProgressReporter(
            self._send, channel, paragraph.id, self._settings.progress_interval_s
        )

        async def draw(items: list[tuple]) -> list[list[GeneratedImage]]:
            """One batched call: every prompt's K candidates, each seed fixed by its place.

            An item is (text, index, clause) or, for the drift check, (text, prompt number,
            round, count)."""
            prompts = [prompt_for(item[0]) for item in items]
            requests = [
                GenerationRequest(
                    prompt=prompt,
                    seeds=candidate_seeds(
                        paragraph.id,
                        index,
                        item[3] if len(item) > 3 else self._settings.candidates,
                        f"{job.variation}|{clause}" if clause else job.variation,
                    ),
                    style=style,
                    genre=genre,
                    looks=await looks.of(cast.elements(text)),
                    look_strength=looks.strength,
                )
                for item, prompt in zip(items, prompts, strict=True)
                for text, index, clause in [item[:3]]
            ]
            try:
                return await self._engine.generate(requests, reporter.on_step, job.cancel)
            finally:
                await reporter.flush()

        prompts = await self._planner.prompts(plans, screenings, draw)
        if job.cancel.cancelled:
            raise GenerationCancelled

        await self._send(
            Progress(channel, paragraph.id, "scoring", GENERATING_SHARE, detail="Choosing")
        )
        ids = [illustration_id_for(job, number) for number in range(len(prompts))]
        extra = [0] * len(prompts)
        while True:
            chosen, image_features, memory = await self._chooser.choose(
                paragraph.channel_key,
                [prompt.text for prompt in prompts],
                [prompt.candidates for prompt in prompts],
                ids,
                now_utc(),
                forced={n: p.forced for n, p in enumerate(prompts) if p.forced is not None},
                pronouns=cast.learned_pronouns,
            )
            redraw = drifting(prompts, chosen, extra, self._settings)
            if not redraw:
                break
            # The drift check: more candidates for the sentences whose cast drifted, then
            # the whole paragraph is chosen again (its library updates depend on each pick).
            more = await draw(
                [(prompts[n].text, n, f"drift|{extra[n]}", count) for n, count in redraw.items()]
            )
            for (n, count), group in zip(redraw.items(), more, strict=True):
                prompts[n] = replace(prompts[n], candidates=[*prompts[n].candidates, *group])
                extra[n] += count
            if job.cancel.cancelled:
                raise GenerationCancelled
        composed = None
        if mode == COMPOSED:
            await self._send(
                Progress(channel, paragraph.id, "generating", GENERATING_SHARE, detail="Composing")
            )
            initials = [
                p.candidates[c.selection.index] for p, c in zip(prompts, chosen, strict=True)
            ]
            composed = await self._composing.compose(
                paragraph.channel_key, [p.text for p in prompts], initials, None, job.cancel
            )
        images = await self._store(job, prompts, chosen, image_features, extra, composed)
        await mark_drawn(self._storage, job)
        # After the illustrations: a retry that reuses them must not update the library twice.
        await memory.save(self._storage)
        return images

    async def _store(
        self,
        job: ParagraphJob,
        prompts: list[Prompt],
        chosen: list[Chosen],
        image_features: np.ndarray,
        extra: list[int],
        composed: list[Composed] | None = None,
    ) -> list[IllustrationImage]:
        paragraph = job.paragraph
        images, records = [], []
        offset = 0
        # A composed picture is what the story keeps; its features are its own.
        final_features = (
            await self._engine.embed_images([c.png for c in composed]) if composed else None
        )
        for index, (prompt, choice) in enumerate(zip(prompts, chosen, strict=True)):
            sentence, group = prompt.text, prompt.candidates
            selection = choice.selection
            picture = group[selection.index]
            png, provenance = picture.png, {**picture.provenance.to_dict(), "drawing_mode": DIRECT}
            size = len(png)
            if composed is not None:
                png, provenance = composed[index].png, composed[index].provenance
                size = composed[index].image_bytes
            image_id = await self._storage.images.put(png)
            illustration_id = illustration_id_for(job, index)
            records.append(
                IllustrationRecord(
                    id=illustration_id,
                    channel_key=paragraph.channel_key,
                    paragraph_id=paragraph.id,
                    sentence_index=index,
                    text=sentence,
                    image_id=image_id,
                    score=selection.score,
                    provenance={
                        **provenance,
                        "selection": selection.rule,
                        "candidate_index": selection.index,
                        "candidate_seeds": [c.provenance.seed for c in group],
                        "candidate_scores": list(selection.total),
                        "image_text_scores": list(selection.image_text),
                        "retained": list(selection.retained),
                        "elements": list(choice.elements),
                        **drift_record(choice, extra[index], self._settings),
                        "branch": prompt.branch,
                        "screening": {
                            "generability": prompt.screening.generability,
                            "verb_included": prompt.screening.verb_included,
                        },
                    },
                    clip_feature=(
                        final_features[index]
                        if final_features is not None
                        else image_features[offset + selection.index]
                    ),
                    created_at=now_utc(),
                    image_bytes=size,
                )
            )
            offset += len(group)
            images.append(
                IllustrationImage(illustration_id, image_id, png, sentence, selection.score)
            )
        # All of a paragraph's illustrations at once: a crash leaves all or none.
        await self._storage.illustrations.add_many(records)
        return images


def _delivering(send: Send) -> Deliver:
    """A deliver built on a plain send, for callers that don't track platform message ids."""

    async def deliver(action: Action) -> MessageRef | None:
        await send(action)
        return None

    return deliver
