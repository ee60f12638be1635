"""From a paragraph's sentences to the prompts it is illustrated with: seed 000's branches,
to any depth (a clause drawn anew runs the whole table again)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from core.engine import Engine, GeneratedImage, Screening
from core.story.branches import (
    MOST_DRAWABLE,
    Branch,
    ClauseOutcome,
    SentencePlan,
    branch,
    drawable_clauses,
    plan_sentence,
    settle,
    similar_pictures,
)
from core.story.chat_text import screening_text
from core.story.reader import StoryReader, load_reader
from core.story.settings import StorySettings
from core.story.thresholds import image_difference, row_means

# (prompt, its index in the paragraph, the clause it is or "") -> candidates, in one call.
Draw = Callable[[list[tuple[str, int, str]]], Awaitable[list[list[GeneratedImage]]]]


@dataclass(frozen=True)
class Prompt:
    """One illustration to choose: its text, its candidates, and how it came to be."""

    text: str
    candidates: list[GeneratedImage]
    branch: str
    screening: Screening
    forced: int | None = None  # a clause's similar picture, already chosen


@dataclass
class _Drawn:
    """A text drawn at some depth (0: a sentence), with what became of its clauses."""

    text: str
    index: int  # its sentence's place in the paragraph
    depth: int
    clauses: tuple[str, ...]  # drawable clauses to settle from its pictures (SPLIT)
    pictures: list[GeneratedImage] = field(default_factory=list)
    outcome: ClauseOutcome | None = None
    again: dict[str, _Drawn] = field(default_factory=dict)  # clauses that ran the table again


def _label(depth: int, what: str) -> str:
    if depth == 0:
        return "sentence"
    return f"clause: {what}" if depth == 1 else f"clause (depth {depth}): {what}"


class ParagraphPlanner:
    def __init__(
        self, engine: Engine, settings: StorySettings, reader: StoryReader | None = None
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._reader = reader

    async def reader(self) -> StoryReader:
        """The clause and noun reader, loaded on first use (seconds, off the event loop)."""
        if self._reader is None:
            self._reader = await asyncio.to_thread(load_reader, self._settings.parser)
        return self._reader

    async def plan(self, sentences: list[str]) -> tuple[list[SentencePlan], dict[str, Screening]]:
        """Screen every sentence and the clauses of several-clause sentences in one call."""
        clauses = await self._clauses(sentences)
        screenings: dict[str, Screening] = {}
        await self._screen([*sentences, *(c for s in sentences for c in clauses[s])], screenings)
        threshold = self._settings.index_threshold
        plans = [
            plan_sentence(s, screenings[s], clauses[s], screenings, threshold) for s in sentences
        ]
        if self._settings.draw_at_least_one:
            plans = at_least_one(plans, screenings)
        return plans, screenings

    async def prompts(
        self, plans: list[SentencePlan], screenings: dict[str, Screening], draw: Draw
    ) -> list[Prompt]:
        """Draw the drawable sentences, settle their clauses, and run the table again on the
        clauses that need it, one depth per drawing call, until none is left."""
        screenings = dict(screenings)
        roots = [
            _Drawn(plan.sentence, index, 0, plan.clauses)
            for index, plan in enumerate(plans)
            if plan.drawn
        ]
        level = roots
        while level:
            groups = await draw([(t.text, t.index, t.text if t.depth else "") for t in level])
            for drawn, group in zip(level, groups, strict=True):
                drawn.pictures = group
            splitting = [drawn for drawn in level if drawn.clauses]
            await self._settle(splitting)
            level = await self._again(splitting, screenings)
        return [prompt for root in roots for prompt in self._prompts_of(root, screenings)]

    async def _again(
        self, splitting: list[_Drawn], screenings: dict[str, Screening]
    ) -> list[_Drawn]:
        """The clauses that run the table again: each takes its own row, DRAW or SPLIT (it was
        drawable to be settled), its sub-clauses screened first, in one call for the depth."""
        pending = [
            (parent, clause)
            for parent in splitting
            for clause in (parent.outcome.again if parent.outcome else ())
        ]
        clauses = await self._clauses([clause for _, clause in pending])
        await self._screen([c for _, clause in pending for c in clauses[clause]], screenings)
        threshold = self._settings.index_threshold
        level = []
        for parent, clause in pending:
            row = branch(screenings[clause], len(clauses[clause]), threshold)
            own = clauses[clause] if row is Branch.SPLIT else []
            drawn = _Drawn(
                clause,
                parent.index,
                parent.depth + 1,
                drawable_clauses(own, screenings, threshold),
            )
            parent.again[clause] = drawn
            level.append(drawn)
        return level

    async def _settle(self, splitting: list[_Drawn]) -> None:
        """For split texts: each drawable clause's similar picture among the text's own, by
        its nouns, and whether those differ little enough (thr_2) to illustrate the clauses."""
        if not splitting:
            return
        reader = await self.reader()
        pictures = await self._engine.embed_images(
            [image.png for drawn in splitting for image in drawn.pictures]
        )
        nouns = await asyncio.to_thread(
            lambda: {c: reader.nouns(c) for drawn in splitting for c in drawn.clauses}
        )
        words = list(dict.fromkeys(noun for found in nouns.values() for noun in found))
        features = dict(zip(words, await self._engine.embed_texts(words), strict=True))
        offset = 0
        for drawn in splitting:
            rows = pictures[offset : offset + len(drawn.pictures)]
            offset += len(drawn.pictures)
            clause_nouns = [np.stack([features[n] for n in nouns[c]]) for c in drawn.clauses]
            similar = similar_pictures(clause_nouns, rows, self._settings.thr_1)
            found = [row_means(drawn.pictures[i].png) for i in similar if i is not None]
            difference = image_difference(found, self._settings.difference_mode)
            drawn.outcome = settle(drawn.clauses, similar, difference, self._settings.thr_2)

    def _prompts_of(self, drawn: _Drawn, screenings: dict[str, Screening]) -> list[Prompt]:
        """A drawn text's prompts in clause order: its own, or its clauses' at any depth."""
        if drawn.outcome is None:
            return [
                Prompt(drawn.text, drawn.pictures, _label(drawn.depth, "drawn anew"),
                       screenings[drawn.text])
            ]  # fmt: skip
        prompts = []
        for clause in drawn.clauses:
            if clause in drawn.outcome.keep:
                label = _label(drawn.depth + 1, "similar picture")
                forced = drawn.outcome.keep[clause]
                prompts.append(
                    Prompt(clause, drawn.pictures, label, screenings[clause], forced=forced)
                )
            elif clause in drawn.again:
                prompts += self._prompts_of(drawn.again[clause], screenings)
        return prompts

    async def _clauses(self, texts: list[str]) -> dict[str, list[str]]:
        """Each text's clauses when it has several that are each shorter than it, else none."""
        reader = await self.reader()

        def read() -> dict[str, list[str]]:
            found = {}
            for text in dict.fromkeys(texts):
                pieces = reader.clauses(text)
                several = len(pieces) > 1 and all(len(p) < len(text) for p in pieces)
                found[text] = pieces if several else []
            return found

        return await asyncio.to_thread(read)

    async def _screen(self, texts: list[str], screenings: dict[str, Screening]) -> None:
        """Screen the texts not screened yet, in one call."""
        new = [text for text in dict.fromkeys(texts) if text not in screenings]
        if new:
            screened = await self._engine.screen([screening_text(text) for text in new])
            screenings.update(zip(new, screened, strict=True))


def at_least_one(plans: list[SentencePlan], screenings: dict[str, Screening]) -> list[SentencePlan]:
    """When screening left nothing to draw, the most drawable sentence is drawn after all,
    with the reason recorded: a paragraph never ends without a picture."""
    if not plans or any(plan.drawn for plan in plans):
        return plans
    best = max(range(len(plans)), key=lambda i: drawability(screenings[plans[i].sentence]))
    chosen = plans[best]
    share = drawability(screenings[chosen.sentence])
    fallback = SentencePlan(chosen.sentence, (), fallback=f"{MOST_DRAWABLE} ({share:.0%})")
    return [fallback if i == best else plan for i, plan in enumerate(plans)]


def drawability(screening: Screening) -> float:
    """How drawable the screening found a sentence: index 2's share, half of index 1's."""
    probs = screening.generability_probs
    return probs[2] + 0.5 * probs[1]


def skipped_note(plans: list[SentencePlan]) -> str:
    """What the writers are told about sentences that were not drawn, and why."""
    notes = [
        f'Not drawn: "{plan.sentence}" ({plan.skip_reason}).' for plan in plans if not plan.drawn
    ]
    notes += [f'Drawn: "{plan.sentence}" ({plan.fallback}).' for plan in plans if plan.fallback]
    return " ".join(notes)
