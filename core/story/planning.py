"""From a paragraph's sentences to the prompts it is illustrated with: seed 000's branches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.engine import Engine, GeneratedImage, Screening
from core.story.branches import (
    MOST_DRAWABLE,
    ClauseOutcome,
    SentencePlan,
    plan_sentence,
    similar_pictures,
    split_or_keep,
)
from core.story.chat_text import screening_text
from core.story.clauses import split_clauses
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


class ParagraphPlanner:
    def __init__(self, engine: Engine, settings: StorySettings) -> None:
        self._engine = engine
        self._settings = settings

    async def plan(self, sentences: list[str]) -> tuple[list[SentencePlan], dict[str, Screening]]:
        """Screen every sentence and the clauses of several-clause sentences in one call."""
        clauses = [c for s in sentences for c in split_clauses(s) if len(split_clauses(s)) > 1]
        texts = list(dict.fromkeys([*sentences, *clauses]))
        screened = await self._engine.screen([screening_text(text) for text in texts])
        screenings = dict(zip(texts, screened, strict=True))
        plans = [
            plan_sentence(s, screenings[s], screenings, self._settings.index_threshold)
            for s in sentences
        ]
        if self._settings.draw_at_least_one:
            plans = at_least_one(plans, screenings)
        return plans, screenings

    async def prompts(
        self, plans: list[SentencePlan], screenings: dict[str, Screening], draw: Draw
    ) -> list[Prompt]:
        """Draw the drawable sentences, settle their clauses, redraw clauses that need it."""
        drawn = [(index, plan) for index, plan in enumerate(plans) if plan.drawn]
        first = await draw([(plan.sentence, index, "") for index, plan in drawn])
        outcomes = await self._settle_clauses(
            [(plan, group) for (_, plan), group in zip(drawn, first, strict=True)]
        )
        redraw = [
            (clause, index)
            for index, plan in drawn
            for clause in (outcomes[plan.sentence].redraw if plan.sentence in outcomes else ())
        ]
        second = await draw([(clause, index, clause) for clause, index in redraw]) if redraw else []
        redrawn = {clause: group for (clause, _), group in zip(redraw, second, strict=True)}

        prompts: list[Prompt] = []
        for (_, plan), group in zip(drawn, first, strict=True):
            outcome = outcomes.get(plan.sentence)
            if outcome is None:
                prompts.append(Prompt(plan.sentence, group, "sentence", screenings[plan.sentence]))
                continue
            for clause in plan.clauses:
                if clause in outcome.keep:
                    prompts.append(
                        Prompt(
                            clause,
                            group,
                            "clause: similar picture",
                            screenings[clause],
                            forced=outcome.keep[clause],
                        )
                    )
                else:
                    prompts.append(
                        Prompt(clause, redrawn[clause], "clause: drawn anew", screenings[clause])
                    )
        return prompts

    async def _settle_clauses(
        self, drawn: list[tuple[SentencePlan, list[GeneratedImage]]]
    ) -> dict[str, ClauseOutcome]:
        """For several-clause sentences: each kept clause's similar picture, and whether those
        differ little enough (thr_2) to illustrate the clauses."""
        checking = [(plan, group) for plan, group in drawn if plan.clauses]
        if not checking:
            return {}
        pictures = await self._engine.embed_images(
            [image.png for _, group in checking for image in group]
        )
        clause_texts = [clause for plan, _ in checking for clause in plan.clauses]
        clause_features = await self._engine.embed_texts(clause_texts)
        outcomes: dict[str, ClauseOutcome] = {}
        picture_offset = clause_offset = 0
        for plan, group in checking:
            rows = pictures[picture_offset : picture_offset + len(group)]
            texts = clause_features[clause_offset : clause_offset + len(plan.clauses)]
            picture_offset += len(group)
            clause_offset += len(plan.clauses)
            similar = similar_pictures(texts, rows, self._settings.thr_1)
            found = [row_means(group[i].png) for i in similar if i is not None]
            difference = image_difference(found, self._settings.difference_mode)
            outcomes[plan.sentence] = split_or_keep(
                plan.clauses, similar, difference, self._settings.thr_2
            )
        return outcomes


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
