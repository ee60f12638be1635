"""Does a reference picture steer what is drawn? Held-out scenes' things drawn from a caption
that names the thing but not its colour, once bare and once with a reference of the thing in a
chosen colour (the same seeds); the oracle reads what each picture shows.

Run: .venv/bin/python -m bench.looks [--profile picturebook] [--count 60] [--strength 1.0]
The last line: `looks: method=... present_bare=A present_looks=B colour_bare=C colour_looks=D`
(present: the thing is seen; colour: among those, seen in the reference's colour; chance is
1/6 over the world's six colours).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from PIL import Image

from bench.engines import data_dir_for
from bench.references import reference_png
from core.engine import GenerationRequest, LookRef
from engine.looks import look_source
from engine.profiles import resolve_profile
from engine.runner import ModelRunner
from picturebook import oracle
from picturebook.world import COLOURS, Thing, sample_scene

HELD_OUT_SEED = 20_261_205


def cases(count: int) -> list[tuple[str, str, Thing]]:
    """(caption without colour, the thing's kind, the reference thing in a random colour)."""
    rng = random.Random(HELD_OUT_SEED)
    found = []
    while len(found) < count:
        scene = sample_scene(rng)
        thing = scene.things[rng.randrange(len(scene.things))]
        article = "An" if thing.kind[0] in "aeiou" else "A"
        caption = f"{article} {thing.kind} in the {scene.place}."
        reference = Thing(thing.kind, rng.choice(COLOURS), thing.hat, "big", "centre")
        found.append((caption, thing.kind, reference))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="picturebook")
    parser.add_argument("--data-dir", help="where the profile's models are (default as bench)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--strength", type=float, default=1.0)
    args = parser.parse_args(argv)
    profile = resolve_profile(args.profile)
    data, temporary = data_dir_for(args.profile, args.data_dir)
    models = Path(data) / "models"
    source = look_source(profile, models)
    method = source.method if source else "none"
    runner = ModelRunner.load(profile, models, device=args.device, max_batch=32)
    model = oracle.load()
    rows = cases(args.count)
    requests = []
    for number, (caption, _, reference) in enumerate(rows):
        look = LookRef(reference.kind, f"reference-{number}", reference_png(reference))
        requests.append(GenerationRequest(caption, (number,)))
        requests.append(
            GenerationRequest(caption, (number,), looks=(look,), look_strength=args.strength)
        )
    drawn = runner.generate(requests)
    runner.close()
    if temporary is not None:
        temporary.cleanup()
    pictures = [Image.open(io.BytesIO(group[0].png)).convert("RGB") for group in drawn]
    readings = oracle.read_many(pictures, model)
    counts = {"bare": [0, 0], "looks": [0, 0]}
    for number, (_, kind, reference) in enumerate(rows):
        for side, reading in (("bare", readings[2 * number]), ("looks", readings[2 * number + 1])):
            seen = reading.thing(kind)
            counts[side][0] += seen is not None
            counts[side][1] += seen is not None and seen.colour == reference.colour
    share = {side: (p / len(rows), c / max(1, p)) for side, (p, c) in counts.items()}
    print(f"profile {profile.name}, {len(rows)} captions, looks through: {method}")
    for side, (present, colour) in share.items():
        print(f"{side:>6}: thing seen {present:.3f}, in the reference's colour {colour:.3f}")
    print(
        f"looks: method={method.replace(' ', '_')} present_bare={share['bare'][0]:.3f} "
        f"present_looks={share['looks'][0]:.3f} colour_bare={share['bare'][1]:.3f} "
        f"colour_looks={share['looks'][1]:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
