"""The illustration loop: a stored paragraph in, its chosen illustrations posted and stored."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from core.engine import (
    CancelToken,
    Engine,
    GeneratedImage,
    GenerationCancelled,
    GenerationRequest,
    StepProgress,
)
from core.events import (
    Action,
    ChannelRef,
    IllustrationImage,
    MessageRef,
    PostError,
    PostIllustrations,
    PostText,
    Progress,
    utc_now,
)
from core.router import new_reference
from core.story.clauses import split_sentences
from core.story.selection import Choice, best_by_text_similarity
from storage.base import IllustrationRecord, ParagraphRecord, Storage

log = logging.getLogger("inkwell.loop")

Send = Callable[[Action], Awaitable[None]]

# Share of the progress bar each stage fills; drawing dominates the time.
_GENERATING_SHARE = 0.85


@dataclass(frozen=True)
class StorySettings:
    candidates: int = 4
    max_sentences: int = 12
    max_paragraph_chars: int = 4000
    progress_interval_s: float = 0.25


@dataclass
class ParagraphJob:
    paragraph: ParagraphRecord
    channel: ChannelRef
    reply_to: MessageRef | None = None
    cancel: CancelToken = field(default_factory=CancelToken)

    @property
    def job_id(self) -> str:
        return self.paragraph.id


def candidate_seeds(paragraph_id: str, sentence_index: int, count: int) -> tuple[int, ...]:
    """Seeds fixed by the paragraph and sentence, so a rerun draws the same candidates."""
    seeds = []
    for candidate in range(count):
        digest = hashlib.sha256(f"{paragraph_id}:{sentence_index}:{candidate}".encode()).digest()
        seeds.append(int.from_bytes(digest[:4], "big") & 0x7FFFFFFF)
    return tuple(seeds)


class IllustrationLoop:
    def __init__(self, engine: Engine, storage: Storage, send: Send, settings: StorySettings):
        self._engine = engine
        self._storage = storage
        self._send = send
        self._settings = settings

    async def illustrate(self, job: ParagraphJob) -> None:
        """Draw one paragraph; every outcome is recorded and told to the writers."""
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
        except Exception:
            reference = new_reference()
            log.exception(
                "illustrating paragraph %s in %s failed (ref %s)",
                paragraph.id,
                channel.key,
                reference,
            )
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
                )
            )
        else:
            log.info(
                "paragraph %s in %s illustrated in %.2fs",
                paragraph.id,
                channel.key,
                time.perf_counter() - started,
            )

    async def _illustrate(self, job: ParagraphJob) -> None:
        paragraph, channel = job.paragraph, job.channel
        sentences = split_sentences(paragraph.text)
        note = ""
        if len(sentences) > self._settings.max_sentences:
            note = (
                f"Only the first {self._settings.max_sentences} of {len(sentences)} sentences "
                "are illustrated; post the rest as a new paragraph."
            )
            sentences = sentences[: self._settings.max_sentences]
        await self._storage.paragraphs.set_status(paragraph.id, "illustrating", note)
        await self._send(Progress(channel, paragraph.id, "generating", 0.0, detail="Drawing"))
        if job.cancel.cancelled:
            raise GenerationCancelled

        requests = [
            GenerationRequest(
                prompt=sentence,
                seeds=candidate_seeds(paragraph.id, index, self._settings.candidates),
            )
            for index, sentence in enumerate(sentences)
        ]
        reporter = _ProgressReporter(
            self._send, channel, paragraph.id, self._settings.progress_interval_s
        )
        try:
            candidates = await self._engine.generate(requests, reporter.on_step, job.cancel)
        finally:
            await reporter.flush()
        if job.cancel.cancelled:
            raise GenerationCancelled

        await self._send(
            Progress(channel, paragraph.id, "scoring", _GENERATING_SHARE, detail="Choosing")
        )
        choices, image_features = await self._choose(sentences, candidates)
        images = await self._store(paragraph, sentences, candidates, choices, image_features)

        await self._storage.paragraphs.set_status(paragraph.id, "done", note)
        await self._send(
            PostIllustrations(
                channel,
                paragraph_id=paragraph.id,
                images=tuple(images),
                profile=self._engine.profile_name,
                reply_to=job.reply_to,
            )
        )
        if note:
            await self._send(PostText(channel, note, paragraph.id))
        await self._send(Progress(channel, paragraph.id, "done", 1.0, detail="Done"))

    async def _choose(
        self, sentences: list[str], candidates: list[list[GeneratedImage]]
    ) -> tuple[list[Choice], np.ndarray]:
        """One embedding call for every candidate, one for every sentence."""
        flat = [image.png for group in candidates for image in group]
        image_features = await self._engine.embed_images(flat)
        text_features = await self._engine.embed_texts(sentences)
        choices = []
        offset = 0
        for index, group in enumerate(candidates):
            rows = image_features[offset : offset + len(group)]
            choices.append(best_by_text_similarity(rows, text_features[index]))
            offset += len(group)
        return choices, image_features

    async def _store(
        self,
        paragraph: ParagraphRecord,
        sentences: list[str],
        candidates: list[list[GeneratedImage]],
        choices: list[Choice],
        image_features: np.ndarray,
    ) -> list[IllustrationImage]:
        images = []
        offset = 0
        for index, (sentence, group, choice) in enumerate(
            zip(sentences, candidates, choices, strict=True)
        ):
            chosen = group[choice.index]
            image_id = await self._storage.images.put(chosen.png)
            illustration_id = uuid.uuid4().hex
            await self._storage.illustrations.add(
                IllustrationRecord(
                    id=illustration_id,
                    channel_key=paragraph.channel_key,
                    paragraph_id=paragraph.id,
                    sentence_index=index,
                    text=sentence,
                    image_id=image_id,
                    score=choice.score,
                    provenance={
                        **chosen.provenance.to_dict(),
                        "candidate_scores": list(choice.scores),
                        "candidate_index": choice.index,
                    },
                    clip_feature=image_features[offset + choice.index],
                    created_at=utc_now(),
                )
            )
            offset += len(group)
            images.append(
                IllustrationImage(illustration_id, image_id, chosen.png, sentence, choice.score)
            )
        return images


class _ProgressReporter:
    """Carries step progress from the model thread to the event loop, throttled."""

    def __init__(self, send: Send, channel: ChannelRef, paragraph_id: str, interval_s: float):
        self._send = send
        self._channel = channel
        self._paragraph_id = paragraph_id
        self._interval_s = interval_s
        self._loop = asyncio.get_running_loop()
        self._last = 0.0
        self._pending: set[asyncio.Future[None]] = set()

    def on_step(self, progress: StepProgress) -> None:
        now = time.monotonic()
        if progress.step < progress.total and now - self._last < self._interval_s:
            return
        self._last = now
        action = Progress(
            self._channel,
            self._paragraph_id,
            "generating",
            round(progress.fraction * _GENERATING_SHARE, 3),
            detail="Drawing",
        )
        self._loop.call_soon_threadsafe(self._schedule, action)

    def _schedule(self, action: Progress) -> None:
        task = asyncio.ensure_future(self._send(action))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        """Let updates already scheduled land before later stages are announced."""
        await asyncio.sleep(0)  # run callbacks the worker thread queued just before finishing
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
