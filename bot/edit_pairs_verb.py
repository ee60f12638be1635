"""`export-edit-pairs OUT`: seed 003's kept edit pairs in the layout diffusers' InstructPix2Pix
training reads.

    python -m bot export-edit-pairs pairs/ [--channel web:tale]
    python -m bot train-edit-model pairs/ --name edits   # Inkwell's own (bot/lora_verbs.py)
    accelerate launch train_instruct_pix2pix.py --train_data_dir pairs/ ...

OUT/train/metadata.jsonl has one line per pair: `input_image_file_name` and
`edited_image_file_name` (the datasets ImageFolder loader turns them into the script's default
`input_image` and `edited_image` columns), `edit_prompt` (the writer's request) and where the
pair came from (channel, illustration, attribute, how the feature branch was drawn).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bot.config import Config
from storage import open_storage
from storage.base import Storage

EDIT_PAIR_VERBS = frozenset({"export-edit-pairs"})


def add_edit_pair_verbs(verbs: Any) -> None:
    export = verbs.add_parser(
        "export-edit-pairs",
        help="write the kept attribute-edit pairs as an InstructPix2Pix training folder",
    )
    export.add_argument("out", type=Path, help="folder to write (its train/ split)")
    export.add_argument("--channel", help="only this channel's pairs (e.g. web:tale)")


def run_edit_pair_verb(args: argparse.Namespace, config: Config) -> int:
    written, missing = asyncio.run(_export(args, config))
    print(f"{written} edit pairs written to {args.out / 'train'}", end="")
    print(f"; {missing} skipped (a picture is missing)" if missing else "")
    return 0


async def _export(args: argparse.Namespace, config: Config) -> tuple[int, int]:
    options = {
        "path": config.storage.path,
        "database": config.storage.database,
        "uri": config.storage.uri,
    }
    storage = await open_storage(config.storage.backend, config.data_path, options)
    try:
        return await export_pairs(storage, args.out, args.channel)
    finally:
        await storage.close()


async def export_pairs(storage: Storage, out: Path, channel: str | None = None) -> tuple[int, int]:
    """Write every kept pair (of `channel`, or all); returns (written, skipped)."""
    split = Path(out) / "train"
    for folder in ("input", "edited"):
        (split / folder).mkdir(parents=True, exist_ok=True)
    written = skipped = 0
    lines = []
    for pair in await storage.edit_pairs.list(channel):
        original = await storage.images.get(pair.original_image_id)
        edited = await storage.images.get(pair.edited_image_id)
        if original is None or edited is None:
            print(f"inkwell: pair {pair.id}: a picture is missing; skipped", file=sys.stderr)
            skipped += 1
            continue
        name = f"{pair.id}.png"
        (split / "input" / name).write_bytes(original)
        (split / "edited" / name).write_bytes(edited)
        lines.append(
            {
                "input_image_file_name": f"input/{name}",
                "edited_image_file_name": f"edited/{name}",
                "edit_prompt": pair.edit_prompt,
                "channel": pair.channel_key,
                "illustration_id": pair.illustration_id,
                "request": pair.request,
                "attribute": pair.attribute,
                "attribute_word": pair.attribute_word,
                "feature_branch": pair.feature_branch,
                "created_at": pair.created_at.isoformat(),
            }
        )
        written += 1
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    (split / "metadata.jsonl").write_text(text, encoding="utf-8")
    return written, skipped
