"""`python -m bot export ROOM` and `import FILE`: move a story between backends."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import Config
from bot.transfer import TransferError, describe, export_story, import_story
from storage import open_storage

STORY_VERBS = {"export", "import"}


def add_story_verbs(verbs: argparse._SubParsersAction) -> None:
    exporting = verbs.add_parser("export", help="write one story (and its images) to a zip")
    exporting.add_argument("room", help="the story: a web room name, or a channel key")
    exporting.add_argument("--out", type=Path, help="zip to write (default: ROOM.zip)")
    importing = verbs.add_parser("import", help="load a story exported by `export`")
    importing.add_argument("file", type=Path)
    importing.add_argument("--as", dest="as_channel", help="give the story another channel id")


def run_story_verb(args: argparse.Namespace, config: Config) -> int:
    try:
        message = asyncio.run(_run(args, config))
    except (TransferError, FileNotFoundError) as error:
        print(f"inkwell: {error}", file=sys.stderr)
        return 2
    print(message)
    return 0


async def _run(args: argparse.Namespace, config: Config) -> str:
    options = {
        "path": config.storage.path,
        "database": config.storage.database,
        "uri": config.storage.uri,
    }
    storage = await open_storage(config.storage.backend, config.data_path, options)
    try:
        if args.verb == "export":
            # A bare room name means the web room of that name.
            key = args.room if ":" in args.room else f"web:{args.room}"
            out = args.out or Path(f"{args.room.replace('/', '_').replace(':', '_')}.zip")
            await export_story(storage, key, out)
            return f"exported {describe(out)} to {out}"
        key = await import_story(storage, args.file, args.as_channel)
        return f"imported {describe(args.file)} as {key}"
    finally:
        await storage.close()
