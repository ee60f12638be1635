"""Screening's drawn / not-drawn decision on hand-labelled Chinese sentences.

    python -m bench.screening_zh

Runs the tiny profile's LocalEngine (its screening encoder, all-MiniLM-L6-v2, is real) and
prints how many Chinese characters the encoder reads as [UNK], the decision accuracy, and
the majority baseline. No multilingual encoder that ships its weights offline was found.
"""

from __future__ import annotations

import asyncio
import csv
import tempfile
from pathlib import Path

from core.story.settings import StorySettings

DATA = Path(__file__).with_name("data") / "screening_zh.tsv"


def read_labelled(path: Path = DATA) -> list[tuple[str, int]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line[:1] != "#"]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    return [(row["text"], int(row["drawable"])) for row in rows]


async def run() -> float:
    from engine.local_engine import LocalEngine
    from engine.profiles import resolve_profile
    from engine.sentence_encoder import encoder_source

    rows = read_labelled()
    threshold = StorySettings().index_threshold
    with tempfile.TemporaryDirectory() as root:
        profile = resolve_profile("tiny")
        engine = LocalEngine.for_profile(profile, Path(root) / "models", "cpu")
        await engine.start()
        try:
            screenings = await engine.screen([text for text, _ in rows])
        finally:
            await engine.close()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(encoder_source(profile.screening_encoder))
    tokens = [t for text, _ in rows for t in tokenizer.tokenize(text)]
    unknown = sum(t == tokenizer.unk_token for t in tokens) / max(len(tokens), 1)
    decided = [int(s.generability > threshold) for s in screenings]
    right = sum(d == label for d, (_, label) in zip(decided, rows, strict=True))
    drawable = sum(label for _, label in rows)
    majority = max(drawable, len(rows) - drawable) / len(rows)
    accuracy = right / len(rows)
    print(f"[UNK] share of the encoder's tokens: {unknown:.2f}")
    print(f"drawn: {sum(decided)} of {len(rows)} (labelled drawable: {drawable})")
    print(f"majority baseline: {majority:.3f}")
    print(f"screening_zh: accuracy={accuracy:.3f} n={len(rows)}")
    return accuracy


if __name__ == "__main__":
    asyncio.run(run())
