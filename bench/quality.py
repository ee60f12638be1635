"""The picture-book quality benchmark: stories through the real loop vs bare generation.

Run: .venv/bin/python -m bench.quality --oracle          the oracle's held-out accuracy
     .venv/bin/python -m bench.quality [--profile picturebook] [--quick] [--save DIR]
     .venv/bin/python -m bench.quality --composed     + the stories composed (seed 001)
The stories (picturebook/stories.py) are posted paragraph by paragraph through Inkwell
(LocalEngine, SQLite storage, selection, element library, a fake chat adapter) and, for
comparison, drawn bare: each sentence once by the same engine with the loop's first
candidate seed, nothing chosen. The oracle (tests and benchmarks only) reads every picture;
picturebook/measures.py turns readings into alignment, consistency and edit success. Numbers
mean something only on a profile trained on the world (`picturebook`); on `tiny` the whole
path runs, on noise. The last line is the summary.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from PIL import Image

from bench.engines import data_dir_for
from bench.references import give_references
from core.engine import GenerationRequest
from core.events import Accepted, Author, EditRequested, MessageRef, PostIllustrations
from core.inkwell import Inkwell
from core.story.cast_settings import CastSettings
from core.story.loop import StorySettings, candidate_seeds
from core.testing import FakeAdapter
from engine.local_engine import LocalEngine
from engine.looks import look_source
from engine.profiles import resolve_profile
from picturebook import measures, oracle
from picturebook.captions import Caption, compose
from picturebook.measures import EDITS, Consistency, EditCase
from picturebook.render import render
from picturebook.stories import QUICK, STORIES, Story
from picturebook.world import Facts, Scene, sample_scene
from storage.sqlite import SQLiteStorage

log = logging.getLogger("bench.quality")
CAPTION_SEED = 20_261_203


@dataclass
class Drawn:
    """Every picture the benchmark drew, as PNG bytes (None where the loop drew none)."""

    inkwell: dict[tuple[str, int, int], bytes | None] = field(default_factory=dict)
    bare: dict[tuple[str, int, int], bytes] = field(default_factory=dict)
    edits: dict[str, tuple[bytes | None, bytes | None]] = field(default_factory=dict)
    # The cast's ablation: the stories through the loop under each variant's cast settings.
    ablation: dict[str, dict[tuple[str, int, int], bytes | None]] = field(default_factory=dict)
    captions: list[tuple[Facts, bytes]] = field(default_factory=list)
    seconds: float = 0.0
    # Seed 001: the stories through the loop in the composed mode (--composed).
    composed: dict[tuple[str, int, int], bytes | None] = field(default_factory=dict)
    # Time to draw the stories: through the loop (direct), bare, and composed.
    times: dict[str, float] = field(default_factory=dict)
    look_method: str = ""  # what carries the image-prompt looks on this profile


def held_out_scenes(count: int) -> list[tuple[Scene, Caption]]:
    """Scenes no training seed draws, with their captions (the grammar's said and unsaid)."""
    rng = random.Random(CAPTION_SEED)
    scenes = []
    for _ in range(count):
        scene = sample_scene(rng)
        scenes.append((scene, compose(scene, rng)))
    return scenes


def held_out_captions(count: int) -> list[Caption]:
    return [caption for _, caption in held_out_scenes(count)]


def print_ceiling(profile_name: str, count: int, model: oracle.Oracle) -> None:
    """What the oracle reads of the held-out captions' facts from their renders, and from the
    profile autoencoder's reconstructions of those renders: no UNet drawing in that latent space
    can state more than the second row."""
    import torch
    from diffusers import AutoencoderKL

    profile = resolve_profile(profile_name)
    vae = AutoencoderKL.from_pretrained(profile.generator, subfolder="vae").float().eval()
    pairs = held_out_scenes(count)
    renders = np.stack([np.asarray(render(scene).convert("RGB")) for scene, _ in pairs])
    with torch.no_grad():
        x = torch.from_numpy(renders).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        back = vae.decode(vae.encode(x).latent_dist.mean).sample.clamp(-1, 1)
    rebuilt = ((back + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    print(f"autoencoder ceiling of {profile_name} on {count} held-out captions")
    for name, pictures in (("renders", renders), ("reconstructions", rebuilt)):
        seen = oracle.read_many([Image.fromarray(p) for p in pictures], model)
        table = measures.alignment_table(
            [(c.facts, r) for (_, c), r in zip(pairs, seen, strict=True)]
        )
        print(f"{name:>16} " + " ".join(f"{k}={v:.3f}" for k, (v, _) in table.items()))


async def draw_captions(engine, count: int, drawn: Drawn) -> None:
    """Bare generation of held-out captions, one seed each."""
    captions = held_out_captions(count)
    requests = [GenerationRequest(c.text, (n,)) for n, c in enumerate(captions)]
    for start in range(0, len(requests), 32):
        batch = await engine.generate(requests[start : start + 32])
        for caption, [picture] in zip(captions[start : start + 32], batch, strict=True):
            drawn.captions.append((caption.facts, picture.png))


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


async def tell(chat: FakeAdapter, story: Story) -> list[str]:
    """Post a story's paragraphs in order in its own channel; their paragraph ids."""
    ids = []
    for paragraph in story.paragraphs:
        actions = await chat.post(" ".join(paragraph), channel=f"story-{story.title}")
        [accepted] = [a for a in actions if isinstance(a, Accepted)]
        ids.append(accepted.entry.paragraph_id)
    return ids


def pictures_of(chat: FakeAdapter, paragraph_id: str) -> dict[str, bytes]:
    """The first picture posted for each caption of a paragraph."""
    found: dict[str, bytes] = {}
    for post in chat.of_type(PostIllustrations):
        if post.paragraph_id == paragraph_id:
            for image in post.images:
                found.setdefault(image.caption, image.png)
    return found


def seeded_ids(storage: SQLiteStorage, seed: int = CAPTION_SEED) -> None:
    """Paragraph ids from a seeded source: candidate seeds derive from them, so every run (and
    every ablation variant, each on its own storage) draws the same stories with the same seeds.
    The stories are posted one after the other, so each paragraph gets the same id each time."""
    rng = random.Random(seed)
    storage.paragraphs.new_id = lambda: f"{rng.getrandbits(128):032x}"


async def tell_all(chat: FakeAdapter, stories: tuple[Story, ...]) -> list[list[str]]:
    """Every story told in its own channel, one story after another (drawing runs meanwhile)."""
    return [await tell(chat, story) for story in stories]


async def draw_stories(inkwell, chat, engine, stories, k: int, timeout: float, drawn: Drawn):
    """Both sides of every story: through the loop, and bare with the loop's first seed."""
    started = time.perf_counter()
    paragraph_ids = await tell_all(chat, stories)
    await asyncio.wait_for(inkwell.idle(), timeout)
    drawn.times["direct"] = time.perf_counter() - started
    requests, keys = [], []
    for story, ids in zip(stories, paragraph_ids, strict=True):
        for sentence in story.sentences:
            pid = ids[sentence.paragraph]
            key = (story.title, sentence.paragraph, sentence.index)
            drawn.inkwell[key] = pictures_of(chat, pid).get(sentence.text)
            seed = candidate_seeds(pid, sentence.index, k)[0]
            requests.append(GenerationRequest(sentence.text, (seed,)))
            keys.append(key)
    started = time.perf_counter()
    for start in range(0, len(requests), 32):
        batch = await engine.generate(requests[start : start + 32])
        for key, [picture] in zip(keys[start : start + 32], batch, strict=True):
            drawn.bare[key] = picture.png
    drawn.times["bare"] = time.perf_counter() - started


@dataclass(frozen=True)
class Variant:
    """One row of the cast's ablation: its cast settings, and whether each story's recurring
    elements are given a reference picture before it is told (bench/references.py)."""

    label: str
    cast: CastSettings
    references: bool = False


def ablation_variants(drift: float, look_strength: float) -> tuple[Variant, ...]:
    """The cast's parts added one by one, the seed's own library first; the image-prompt
    looks last (every earlier row draws from words alone: look strength 0)."""
    off = {"look_strength": 0.0}
    full = CastSettings(mode="looks", describe=True, drift_threshold=drift, **off)
    return (
        Variant("seed's mode alone", CastSettings(mode="seed", describe=False, **off)),
        Variant("+ looks", CastSettings(mode="looks", describe=False, **off)),
        Variant("+ descriptions", CastSettings(mode="looks", describe=True, **off)),
        Variant("+ drift check", full),
        Variant("+ references", full, references=True),
        Variant("+ image-prompt looks", replace(full, look_strength=look_strength), True),
    )


async def draw_variant(
    engine,
    stories,
    settings: StorySettings,
    scratch: Path,
    timeout: float,
    references: bool = False,
):
    """The stories through a fresh loop (own storage) with these settings: key -> picture."""
    storage = await SQLiteStorage.open(scratch / "v.sqlite3", scratch / "img")
    seeded_ids(storage)
    inkwell = Inkwell(engine, storage, settings)
    chat = FakeAdapter()
    inkwell.attach(chat)
    await inkwell.start()
    try:
        for story in stories if references else ():
            key = chat.channel(f"story-{story.title}").key
            await give_references(storage, engine, key, story)
        paragraph_ids = await tell_all(chat, stories)
        await asyncio.wait_for(inkwell.idle(), timeout)
    finally:
        await inkwell.stop()
        await storage.close()
    drawn = {}
    for story, ids in zip(stories, paragraph_ids, strict=True):
        for sentence in story.sentences:
            pictures = pictures_of(chat, ids[sentence.paragraph])
            drawn[(story.title, sentence.paragraph, sentence.index)] = pictures.get(sentence.text)
    return drawn


async def run_edit(inkwell, chat: FakeAdapter, case: EditCase, timeout: float):
    """A fixed sentence drawn, then the fixed request as a reply; both pictures (or None)."""
    channel = f"edit-{case.name}"
    await chat.post(case.sentence, channel=channel)
    await asyncio.wait_for(inkwell.idle(), timeout)
    ref = chat.channel(channel)
    posts = [p for p in chat.of_type(PostIllustrations) if p.channel == ref]
    if not posts:
        return None, None
    before = posts[-1].images[0]
    await chat.dispatch(
        EditRequested(
            ref,
            Author("bench", "Bench"),
            text=case.request,
            illustration_id=before.illustration_id,
            message=MessageRef(ref, f"reply-{case.name}"),
        )
    )
    await asyncio.wait_for(inkwell.idle(), timeout)
    posts = [p for p in chat.of_type(PostIllustrations) if p.channel == ref]
    after = posts[-1].images[0] if len(posts) > 1 else None
    return before.png, after.png if after else None


async def draw_everything(args, stories: tuple[Story, ...]) -> Drawn:
    profile = resolve_profile(args.profile)
    data, temporary = data_dir_for(args.profile, args.data_dir)
    drawn = Drawn()
    source = look_source(profile, data / "models")
    drawn.look_method = (
        source.method if source else f"none (no image-prompt adapter for {profile.name})"
    )
    with tempfile.TemporaryDirectory(prefix="inkwell-quality-") as scratch:
        engine = LocalEngine.for_profile(profile, data / "models", args.device, args.max_batch)
        await engine.start()
        storage = await SQLiteStorage.open(Path(scratch) / "q.sqlite3", Path(scratch) / "img")
        seeded_ids(storage)
        # The loop as configured by default, looks included (where the profile has an adapter).
        settings = StorySettings(
            candidates=args.candidates, progress_interval_s=0, text_term=args.text_term
        )
        inkwell = Inkwell(engine, storage, settings)
        chat = FakeAdapter()
        inkwell.attach(chat)
        await inkwell.start()
        started = time.perf_counter()
        try:
            await draw_captions(engine, args.captions, drawn)
            await draw_stories(inkwell, chat, engine, stories, args.candidates, args.timeout, drawn)
            for case in EDITS:
                drawn.edits[case.name] = await run_edit(inkwell, chat, case, args.timeout)
            drawn.seconds = time.perf_counter() - started
            if args.composed:
                # Seed 001: the same stories, seeds and settings, each picture composed.
                composed = replace(settings, compose=replace(settings.compose, mode="composed"))
                began = time.perf_counter()
                drawn.composed = await draw_variant(
                    engine, stories, composed, Path(scratch) / "composed", args.timeout
                )
                drawn.times["composed"] = time.perf_counter() - began
            for number, variant in enumerate(ablation_variants(args.drift, args.look_strength)):
                if not args.ablation:
                    break
                folder = Path(scratch) / f"variant-{number}"
                drawn.ablation[variant.label] = await draw_variant(
                    engine,
                    stories,
                    replace(settings, cast=variant.cast),
                    folder,
                    args.timeout,
                    variant.references,
                )
        finally:
            await inkwell.stop()
            await engine.close()
            await storage.close()
    if temporary is not None:
        temporary.cleanup()
    return drawn


def read_pngs(pngs: list[bytes], model: oracle.Oracle) -> list[oracle.ReadScene]:
    return oracle.read_many([Image.open(io.BytesIO(png)) for png in pngs], model)


def measure(stories: tuple[Story, ...], drawn: Drawn, model: oracle.Oracle) -> dict[str, object]:
    """Oracle readings of every picture, turned into the benchmark's numbers."""
    keys = list(drawn.bare)
    bare = dict(zip(keys, read_pngs([drawn.bare[k] for k in keys], model), strict=True))
    drawn_keys = [k for k in keys if drawn.inkwell.get(k) is not None]
    ours = dict(
        zip(drawn_keys, read_pngs([drawn.inkwell[k] for k in drawn_keys], model), strict=True)
    )
    sides: dict[str, dict] = {"bare": bare, "inkwell": ours}
    result: dict[str, object] = {"undrawn": len(keys) - len(drawn_keys), "sentences": len(keys)}
    for side, readings in sides.items():
        pairs, total = [], Consistency(0, 0)
        for story in stories:
            told = [
                (s.facts, readings.get((story.title, s.paragraph, s.index)))
                for s in story.sentences
            ]
            pairs += told
            total = total + measures.consistency(told)
        result[f"alignment_{side}"] = measures.alignment(pairs)
        result[f"table_{side}"] = measures.alignment_table(pairs)
        result[f"consistency_{side}"] = total
        # The same, over only the sentences the loop drew (screening left the others out).
        facts = {(st.title, s.paragraph, s.index): s.facts for st in stories for s in st.sentences}
        result[f"alignment_drawn_{side}"] = measures.alignment(
            [(facts[k], readings.get(k)) for k in drawn_keys]
        )
    edit_rows = []
    for case in EDITS:
        before_png, after_png = drawn.edits.get(case.name, (None, None))
        if before_png is None or after_png is None:
            edit_rows.append((case, False, None))
            continue
        before_px, after_px = pixels(before_png), pixels(after_png)
        before, after = read_pngs([before_png, after_png], model)
        ok = measures.edit_succeeded(case, before, after, before_px, after_px)
        region = measures.edit_region(case, before)
        outside = measures.changed_outside(before_px, after_px, region) if region else None
        edit_rows.append((case, ok, outside))
    result["edit_rows"] = edit_rows
    captions = read_pngs([png for _, png in drawn.captions], model)
    result["captions"] = measures.alignment_table(
        [(facts, seen) for (facts, _), seen in zip(drawn.captions, captions, strict=True)]
    )
    result["caption_count"] = len(drawn.captions)
    result["seconds"] = drawn.seconds
    result["edits"] = float(np.mean([ok for _, ok, _ in edit_rows]))
    rows = []
    for label, pictures in drawn.ablation.items():
        keys = [k for k, png in pictures.items() if png is not None]
        readings = dict(zip(keys, read_pngs([pictures[k] for k in keys], model), strict=True))
        pairs, total = [], Consistency(0, 0)
        for story in stories:
            told = [
                (s.facts, readings.get((story.title, s.paragraph, s.index)))
                for s in story.sentences
            ]
            pairs += told
            total = total + measures.consistency(told)
        rows.append((label, total, measures.alignment(pairs)))
    result["ablation"] = rows
    if drawn.composed:
        keys = [k for k, png in drawn.composed.items() if png is not None]
        pngs = [drawn.composed[k] for k in keys]
        readings = dict(zip(keys, read_pngs(pngs, model), strict=True))  # type: ignore[arg-type]
        pairs, total = [], Consistency(0, 0)
        for story in stories:
            told = [
                (s.facts, readings.get((story.title, s.paragraph, s.index)))
                for s in story.sentences
            ]
            pairs += told
            total = total + measures.consistency(told)
        result["alignment_composed"] = measures.alignment(pairs)
        result["table_composed"] = measures.alignment_table(pairs)
        result["consistency_composed"] = total
    result["times"] = dict(drawn.times)
    result["look_method"] = drawn.look_method
    return result


def print_report(result: dict[str, object], profile: str) -> None:
    print(f"profile {profile}: drawn in {result['seconds']:.0f} s")
    print(f"\nbare generation of {result['caption_count']} held-out captions (stated facts read)")
    for label, (share, count) in result["captions"].items():
        print(f"{label:>10} {share:8.3f} {count:6d}")
    print(f"\nstories: {result['sentences']} sentences, {result['undrawn']} not drawn by the loop")
    print("(screened out; counted as misses on its side)")
    print("\nalignment (share of stated facts the oracle reads in the picture)")
    print(f"{'check':>10} {'bare':>8} {'inkwell':>8} {'count':>6}")
    bare, ours = result["table_bare"], result["table_inkwell"]
    labels = ("place", "time", "weather", "style", "present", "colour", "hat", "size", "position")
    for label in (*labels, "thing"):
        if label in bare:
            print(f"{label:>10} {bare[label][0]:8.3f} {ours[label][0]:8.3f} {bare[label][1]:6d}")
    print(
        f"{'all':>10} {result['alignment_bare']:8.3f} {result['alignment_inkwell']:8.3f}\n"
        f"{'drawn':>10} {result['alignment_drawn_bare']:8.3f} "
        f"{result['alignment_drawn_inkwell']:8.3f}  (only sentences the loop drew)"
    )
    print("\nconsistency (later appearances of recurring elements matching the first)")
    for side in ("bare", "inkwell"):
        c = result[f"consistency_{side}"]
        print(f"{side:>10} {c.share:8.3f} ({c.matched}/{c.later})")
    if result["ablation"]:
        print("\nthe cast, part by part (stories through the loop)")
        print(f"image-prompt looks through: {result['look_method']}")
        print(f"{'variant':>20} {'consistency':>12} {'(matched/later)':>15} {'alignment':>10}")
        rows = [("bare", result["consistency_bare"], result["alignment_bare"])]
        for label, c, alignment in [*rows, *result["ablation"]]:
            counts = f"({c.matched}/{c.later})"
            print(f"{label:>20} {c.share:12.3f} {counts:>15} {alignment:10.3f}")
    print("\nedits (change read by the oracle; share of pixels changed outside the region)")
    for case, ok, outside in result["edit_rows"]:
        where = "-" if outside is None else f"{outside:.3f}"
        print(f"{case.name:>10} {'yes' if ok else 'no':>4} {where:>7}  {case.request!r}")
    summary = (
        f"quality: alignment_bare={result['alignment_bare']:.3f} "
        f"alignment_inkwell={result['alignment_inkwell']:.3f} "
        f"consistency_bare={result['consistency_bare'].share:.3f} "
        f"consistency_inkwell={result['consistency_inkwell'].share:.3f} "
        f"edits={result['edits']:.3f}"
    )
    if "alignment_composed" in result:
        print_composed(result)
        summary += (
            f" consistency_composed={result['consistency_composed'].share:.3f}"
            f" alignment_composed={result['alignment_composed']:.3f}"
        )
    print(summary)


def print_composed(result: dict[str, object]) -> None:
    """Seed 001's composed pictures beside the direct loop and bare generation."""
    times = result["times"]
    print("\ncomposed (seed 001) vs direct (seed 000's loop) vs bare, on the same stories")
    print(f"{'side':>10} {'alignment':>10} {'consistency':>12} {'(matched/later)':>15} {'s':>7}")
    for side, name in (("bare", "bare"), ("direct", "inkwell"), ("composed", "composed")):
        c = result[f"consistency_{name}"]
        counts = f"({c.matched}/{c.later})"
        seconds = times.get(side, float("nan"))
        alignment = result[f"alignment_{name}"]
        print(f"{side:>10} {alignment:10.3f} {c.share:12.3f} {counts:>15} {seconds:7.1f}")
    composed, direct = result["table_composed"], result["table_inkwell"]
    shown = [f"{k} {direct[k][0]:.3f}->{composed[k][0]:.3f}" for k in composed if k in direct]
    print("by check (direct -> composed): " + ", ".join(shown))
    aligned = result["alignment_composed"] - result["alignment_inkwell"]
    consistent = result["consistency_composed"].share - result["consistency_inkwell"].share
    ratio = times["composed"] / times["direct"] if times.get("direct") else float("nan")
    print(
        f"note: against direct, composed changes alignment by {aligned:+.3f} and consistency "
        f"by {consistent:+.3f}, and takes {ratio:.2f}x its time (direct's includes loading the "
        "screening and parsing models on first use; bare: each sentence drawn once, nothing "
        "chosen)"
    )


def save_sheets(stories: tuple[Story, ...], drawn: Drawn, folder: Path) -> None:
    """One contact sheet per story: loop pictures above, bare ones below."""
    folder.mkdir(parents=True, exist_ok=True)
    for story in stories:
        sentences = story.sentences
        sheet = Image.new("RGB", (64 * len(sentences), 128), (255, 255, 255))
        for n, s in enumerate(sentences):
            key = (story.title, s.paragraph, s.index)
            for row, png in enumerate((drawn.inkwell.get(key), drawn.bare.get(key))):
                if png is not None:
                    picture = Image.open(io.BytesIO(png)).convert("RGB").resize((64, 64))
                    sheet.paste(picture, (64 * n, 64 * row))
        sheet.save(folder / f"{story.title.replace(' ', '-').replace(chr(39), '')}.png")


def print_oracle(model: oracle.Oracle, name: str, count: int) -> None:
    table = oracle.evaluate(model, count=count)
    print(f"oracle {name} on {count} held-out renders (seed {oracle.HELD_OUT_SEED})")
    for name, value in table.items():
        print(f"{name:>10} {value:.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oracle", action="store_true", help="only the oracle's accuracy")
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="only what the oracle reads from renders and the autoencoder's reconstructions",
    )
    parser.add_argument("--profile", default="picturebook")
    parser.add_argument("--quick", action="store_true", help=f"{len(QUICK)} stories, fewer renders")
    parser.add_argument("--data-dir", help="default: a temporary dir (tiny) or ./data")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--captions", type=int, help="held-out captions drawn bare (200; 40 quick)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per wait for the loop")
    parser.add_argument("--save", type=Path, help="write a contact sheet per story here")
    parser.add_argument("--oracle-weights", type=Path, default=oracle.WEIGHTS)
    parser.add_argument(
        "--no-ablation", dest="ablation", action="store_false", help="skip the cast's ablation"
    )
    parser.add_argument(
        "--text-term",
        default=StorySettings().text_term,
        choices=("nouns", "sentence+nouns"),
        help="the loop's story.text_term (the default is the setting's)",
    )
    parser.add_argument("--drift", type=float, default=0.85, help="the ablation's drift threshold")
    parser.add_argument(
        "--composed",
        action="store_true",
        help="also draw the stories in the composed mode (seed 001) and compare",
    )
    parser.add_argument(
        "--look-strength",
        type=float,
        default=1.0,
        help="the ablation's image-prompt look strength (1: as the adapter was trained)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.oracle_weights.exists():
        print(f"no oracle weights at {args.oracle_weights}: python -m picturebook.oracle train")
        return 1
    model = oracle.load(args.oracle_weights)
    if args.oracle:
        print_oracle(model, args.oracle_weights.name, 500 if args.quick else 2000)
        return 0
    if args.ceiling:
        print_ceiling(args.profile, args.captions or (40 if args.quick else 200), model)
        return 0
    stories = QUICK if args.quick else STORIES
    if args.captions is None:
        args.captions = 40 if args.quick else 200
    try:
        resolve_profile(args.profile)
    except ValueError as unknown:  # `picturebook` comes with the trained world models
        print(f"{unknown}; try --profile tiny (runs the whole path, on noise)")
        return 2
    drawn = asyncio.run(draw_everything(args, stories))
    if args.save:
        save_sheets(stories, drawn, args.save)
    print_report(measure(stories, drawn, model), args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
