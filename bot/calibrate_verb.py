"""`python -m bot calibrate PAIRS`: thr_1 and thr_2 from a folder of pictures and captions."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import Config
from core.engine import Engine
from core.story.calibration import calibrate_pairs, recall_table, with_thresholds
from core.story.thresholds import Calibration

PICTURES = (".png", ".jpg", ".jpeg", ".webp")


def add_calibrate_verb(verbs: argparse._SubParsersAction) -> None:
    verb = verbs.add_parser(
        "calibrate", help="compute seed 000's thr_1 and thr_2 from pictures with captions"
    )
    verb.add_argument("pairs", type=Path, help="a folder of pictures, each with a same-named .txt")
    verb.add_argument(
        "--write", action="store_true", help="write the thresholds into the config file"
    )


def read_pairs(folder: Path) -> list[tuple[bytes, str]]:
    """(picture bytes, caption) for every picture in `folder` that has a caption."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of pictures and captions")
    pairs = []
    for picture in sorted(folder.iterdir()):
        caption = picture.with_suffix(".txt")
        if picture.suffix.lower() in PICTURES and caption.exists():
            pairs.append((picture.read_bytes(), caption.read_text(encoding="utf-8").strip()))
    if not pairs:
        raise FileNotFoundError(f"{folder} has no picture with a same-named .txt caption")
    return pairs


async def calibrate_folder(engine: Engine, folder: Path, mode: str) -> Calibration:
    return await calibrate_pairs(engine, read_pairs(folder), mode)


def run_calibrate(args: argparse.Namespace, config: Config, config_path: Path | None) -> int:
    from bot.serve import build_engine

    async def run() -> Calibration:
        engine = await build_engine(config)
        try:
            return await calibrate_folder(engine, args.pairs, config.story.difference_mode)
        finally:
            await engine.close()

    try:
        result = asyncio.run(run())
    except FileNotFoundError as error:
        print(f"inkwell: {error}", file=sys.stderr)
        return 2
    print(f"{result.recalled} pairs recalled at thr_1; recall by threshold:")
    print(recall_table(result))
    print(f"thr_1 = {result.thr_1:.2f}")
    print(f"thr_2 = {result.thr_2:.1f}")
    if args.write:
        target = config_path or Path("config.toml")
        text = target.read_text(encoding="utf-8") if target.exists() else ""
        target.write_text(with_thresholds(text, result.thr_1, result.thr_2), encoding="utf-8")
        print(f"written to {target}")
    return 0
