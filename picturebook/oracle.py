"""The oracle: a small CNN that reads a picture's scene back, for tests and benchmarks only.

It reads place, time, weather and style from the whole picture, and for each of the three
positions (left, centre, right) which kind stands there (or nothing) and its colour, hat and
size. The product never imports this module (tests/picturebook/test_oracle_isolation.py).

Train (seeded, bounded): python -m picturebook.oracle train [--steps N] [--out PATH]
Evaluate on held-out renders: python -m picturebook.oracle evaluate
"""

from __future__ import annotations

import argparse
import logging
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F

from picturebook.dataset import scenes as sample_scenes
from picturebook.render import render
from picturebook.world import (
    COLOURS,
    KINDS,
    PLACES,
    POSITIONS,
    SIZES,
    STYLES,
    TIMES,
    WEATHERS,
    ReadScene,
    Scene,
    Thing,
    is_character,
)

log = logging.getLogger(__name__)

WEIGHTS = Path(__file__).parent / "weights" / "oracle-v1.safetensors"
SLOT_KINDS: tuple[str, ...] = ("nothing", *KINDS)
SCENE_HEADS: dict[str, tuple[str, ...]] = {
    "place": PLACES,
    "time": TIMES,
    "weather": WEATHERS,
    "style": STYLES,
}
SLOT_HEADS: dict[str, int] = {"kind": len(SLOT_KINDS), "colour": len(COLOURS), "hat": 2, "size": 2}
HELD_OUT_SEED = 20_261_202  # evaluation scenes; training seeds are small integers
IGNORE = -100


class Oracle(nn.Module):
    """Convolutions down to an 8x8 map, flattened so the heads know where things are."""

    def __init__(self) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.trunk = nn.Sequential(
            *block(3, 24),
            nn.MaxPool2d(2),
            *block(24, 48),
            *block(48, 48),
            nn.MaxPool2d(2),
            *block(48, 96),
            *block(96, 96),
            nn.MaxPool2d(2),
            *block(96, 128),
            nn.Conv2d(128, 32, 1),
            nn.ReLU(),
        )
        self.hidden = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(32 * 8 * 8, 384))
        self.scene_heads = nn.ModuleDict(
            {name: nn.Linear(384, len(values)) for name, values in SCENE_HEADS.items()}
        )
        self.slot_heads = nn.ModuleDict(
            {name: nn.Linear(384, size * len(POSITIONS)) for name, size in SLOT_HEADS.items()}
        )

    def forward(self, pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per head; slot heads are shaped (batch, position, classes)."""
        h = F.relu(self.hidden(self.trunk(pixels * 2 - 1)))
        out = {name: head(h) for name, head in self.scene_heads.items()}
        for name, head in self.slot_heads.items():
            out[name] = head(h).view(len(pixels), len(POSITIONS), SLOT_HEADS[name])
        return out


def to_tensor(images: list[Image.Image]) -> torch.Tensor:
    """RGB pictures as a float batch in [0, 1], resized to 64x64 when needed."""
    arrays = [
        np.asarray(
            im.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR)
            if im.size != (64, 64)
            else im.convert("RGB")
        )
        for im in images
    ]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255


def labels(scene_list: list[Scene]) -> dict[str, torch.Tensor]:
    """Target class indices per head; IGNORE where a head has nothing to say."""
    out: dict[str, list] = {name: [] for name in (*SCENE_HEADS, *SLOT_HEADS)}
    for scene in scene_list:
        for name, values in SCENE_HEADS.items():
            out[name].append(values.index(getattr(scene, name)))
        rows = {name: [] for name in SLOT_HEADS}
        for position in POSITIONS:
            thing = scene.at(position)
            rows["kind"].append(SLOT_KINDS.index(thing.kind) if thing else 0)
            rows["colour"].append(COLOURS.index(thing.colour) if thing else IGNORE)
            rows["size"].append(SIZES.index(thing.size) if thing else IGNORE)
            rows["hat"].append(int(thing.hat) if thing and is_character(thing.kind) else IGNORE)
        for name, row in rows.items():
            out[name].append(row)
    return {name: torch.tensor(values) for name, values in out.items()}


def decode(logits: dict[str, torch.Tensor]) -> list[ReadScene]:
    """The most likely reading of each picture in a batch."""
    best = {name: value.argmax(-1).tolist() for name, value in logits.items()}
    readings = []
    for i in range(len(best["place"])):
        things = []
        for p, position in enumerate(POSITIONS):
            kind = SLOT_KINDS[best["kind"][i][p]]
            if kind == "nothing":
                continue
            hat = bool(best["hat"][i][p]) and is_character(kind)
            colour, size = COLOURS[best["colour"][i][p]], SIZES[best["size"][i][p]]
            things.append(Thing(kind, colour, hat, size, position))
        settings = {name: SCENE_HEADS[name][best[name][i]] for name in SCENE_HEADS}
        readings.append(ReadScene(**settings, things=tuple(things)))
    return readings


@lru_cache(maxsize=2)
def load(path: Path = WEIGHTS) -> Oracle:
    """The trained oracle in eval mode, on the CPU."""
    model = Oracle()
    state = {k: v.float() for k, v in load_file(str(path)).items()}
    model.load_state_dict(state)
    return model.eval()


def read_many(images: list[Image.Image], model: Oracle | None = None) -> list[ReadScene]:
    """The oracle's reading of each picture."""
    model = model or load()
    readings: list[ReadScene] = []
    with torch.inference_mode():
        for start in range(0, len(images), 256):
            readings += decode(model(to_tensor(images[start : start + 256])))
    return readings


def read(image: Image.Image) -> ReadScene:
    """The oracle's reading of one picture."""
    return read_many([image])[0]


# --- training -----------------------------------------------------------------------------


def augment(pixels: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Slight shifts, blur, coarser resampling and noise, so generated pictures read too."""
    n = len(pixels)
    padded = F.pad(pixels, (3, 3, 3, 3), mode="replicate")
    dx, dy = torch.randint(0, 7, (2, n), generator=gen)
    pixels = torch.stack([padded[i, :, dy[i] : dy[i] + 64, dx[i] : dx[i] + 64] for i in range(n)])
    roll = torch.rand(n, generator=gen)
    blurred = F.avg_pool2d(F.pad(pixels, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    coarse = F.interpolate(F.avg_pool2d(pixels, 2), scale_factor=2, mode="bilinear")
    pixels = torch.where((roll < 0.2)[:, None, None, None], blurred, pixels)
    pixels = torch.where(((roll >= 0.2) & (roll < 0.4))[:, None, None, None], coarse, pixels)
    gain = 1 + 0.06 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    sigma = 0.05 * torch.rand(n, 1, 1, 1, generator=gen)
    noise = torch.randn(pixels.shape, generator=gen) * sigma
    return (pixels * gain + noise).clamp(0, 1)


# The hat is the smallest detail (a few pixels on a small figure): its head learns slowest.
LOSS_WEIGHTS: dict[str, float] = {"hat": 2.0}


def loss_of(logits: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> torch.Tensor:
    total = sum(F.cross_entropy(logits[name], target[name]) for name in SCENE_HEADS)
    for name in SLOT_HEADS:
        total = total + LOSS_WEIGHTS.get(name, 1.0) * F.cross_entropy(
            logits[name].flatten(0, 1), target[name].flatten(), ignore_index=IGNORE
        )
    return total


def rendered(count: int, seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """count fresh random scenes rendered at 64x64 (uint8) with their labels."""
    scene_list = sample_scenes(count, seed)
    pixels = torch.from_numpy(np.stack([np.asarray(render(s)) for s in scene_list]))
    return pixels.permute(0, 3, 1, 2).contiguous(), labels(scene_list)


def train(
    steps: int = 2000,
    pictures: int = 14_000,
    batch: int = 64,
    seed: int = 0,
    max_seconds: float = 1200.0,
) -> Oracle:
    """Train an oracle on `pictures` renders for `steps` steps.

    max_seconds bounds this process's CPU time (not wall time: the machine is shared), and
    stops training early when reached.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    started = time.process_time()
    wall = time.perf_counter()
    pixels, target = rendered(pictures, seed)
    log.info("rendered %d pictures in %.0f CPU s", pictures, time.process_time() - started)
    model = Oracle()
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, 2e-3, total_steps=steps)
    model.train()
    for step in range(steps):
        index = torch.randint(0, pictures, (batch,), generator=gen)
        x = augment(pixels[index].float() / 255, gen)
        loss = loss_of(model(x), {name: value[index] for name, value in target.items()})
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 200 == 0 or step == steps - 1:
            spent = time.process_time() - started
            log.info("step %d loss %.4f (%.0f CPU s)", step, loss.item(), spent)
        if time.process_time() - started > max_seconds:
            log.warning("stopped at step %d of %d: past %.0f s", step, steps, max_seconds)
            break
    log.info(
        "trained in %.0f CPU s (%.0f s wall)",
        time.process_time() - started,
        time.perf_counter() - wall,
    )
    return model.eval()


def save(model: Oracle, path: Path = WEIGHTS) -> None:
    """Weights in half precision (the oracle reads the same; the file is half as large)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().half() if v.is_floating_point() else v for k, v in model.state_dict().items()
    }
    save_file(state, str(path))


def accuracy(readings: list[ReadScene], scene_list: list[Scene]) -> dict[str, float]:
    """Share right per attribute: settings per picture, things per position that holds one.

    `kind` also counts empty positions read as empty; colour, size and hat count the things
    whose kind was read right (hat only on characters).
    """
    right: dict[str, list[bool]] = {name: [] for name in (*SCENE_HEADS, *SLOT_HEADS)}
    for reading, scene in zip(readings, scene_list, strict=True):
        for name in SCENE_HEADS:
            right[name].append(getattr(reading, name) == getattr(scene, name))
        for position in POSITIONS:
            truth, seen = scene.at(position), reading.at(position)
            right["kind"].append((truth and truth.kind) == (seen and seen.kind))
            if truth is None or seen is None or seen.kind != truth.kind:
                continue
            right["colour"].append(seen.colour == truth.colour)
            right["size"].append(seen.size == truth.size)
            if is_character(truth.kind):
                right["hat"].append(seen.hat == truth.hat)
    table = {name: float(np.mean(values)) for name, values in right.items()}
    table["overall"] = float(np.mean([v for values in right.values() for v in values]))
    return table


def evaluate(
    model: Oracle | None = None, count: int = 2000, seed: int = HELD_OUT_SEED
) -> dict[str, float]:
    """Accuracy per attribute on held-out renders (scenes no training seed draws)."""
    scene_list = sample_scenes(count, seed)
    readings = read_many([render(s) for s in scene_list], model)
    return accuracy(readings, scene_list)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m picturebook.oracle")
    parser.add_argument("command", choices=("train", "evaluate"))
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--pictures", type=int, default=14_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=1200.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    if args.command == "train":
        model = train(args.steps, args.pictures, seed=args.seed, max_seconds=args.max_seconds)
        save(model, args.out)
        model = load(args.out)
    else:
        model = load(args.out)
    for name, value in evaluate(model).items():
        print(f"{name:>8} {value:.4f}")


if __name__ == "__main__":
    main()
