"""Command-line verbs and the flags that override config.toml."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from bot.calibrate_verb import add_calibrate_verb, run_calibrate
from bot.config import Config, ConfigError, load_config
from bot.doctor import add_doctor_verb, run_doctor
from bot.edit_pairs_verb import EDIT_PAIR_VERBS, add_edit_pair_verbs, run_edit_pair_verb
from bot.look_verbs import LOOK_VERBS, add_look_verbs, run_look_verb
from bot.lora_verbs import LORA_VERBS, add_lora_verbs, run_lora_verb
from bot.picturebook_verbs import PICTUREBOOK_VERBS, add_picturebook_verbs, run_picturebook_verb
from bot.restorer_verbs import RESTORER_VERBS, add_restorer_verbs, run_restorer_verb
from bot.screening_verbs import SCREENING_VERBS, add_screening_verbs, run_screening_verb
from bot.story_verbs import STORY_VERBS, add_story_verbs, run_story_verb
from bot.style_verbs import STYLE_VERBS, add_style_verbs, run_style_verb

DEFAULT_CONFIG = Path("config.toml")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Inkwell: illustrations for collaborative stories."
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("INKWELL_CONFIG", DEFAULT_CONFIG)),
        help="config file (default: ./config.toml when present, or $INKWELL_CONFIG)",
    )
    parser.add_argument("--profile", help="model profile, e.g. tiny, sd-turbo, sd15")
    parser.add_argument("--data-dir", help="where models, the database and images live")
    parser.add_argument("--host", help="address the web story room binds to")
    parser.add_argument("--port", type=int, help="port of the web story room")
    verbs = parser.add_subparsers(dest="verb")
    verbs.add_parser("serve", help="run the bot and the web story room (the default)")
    add_story_verbs(verbs)
    add_style_verbs(verbs)
    add_screening_verbs(verbs)
    add_calibrate_verb(verbs)
    verbs.add_parser(
        "worker", help="join (or start) the Ray cluster at engine.ray_address and deploy the engine"
    )
    add_restorer_verbs(verbs)
    add_picturebook_verbs(verbs)
    add_doctor_verb(verbs)
    add_lora_verbs(verbs)
    add_look_verbs(verbs)
    add_edit_pair_verbs(verbs)
    return parser


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    flags = {
        "models.profile": args.profile,
        "bot.data_dir": args.data_dir,
        "web.host": args.host,
        "web.port": args.port,
    }
    return {key: value for key, value in flags.items() if value is not None}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config_path: Path | None = args.config
    if config_path == DEFAULT_CONFIG and not config_path.exists():
        config_path = None
    try:
        config = load_config(config_path, overrides_from(args))
    except ConfigError as error:
        print(f"inkwell: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(config)
    if args.verb == "doctor":
        return run_doctor(args, config)
    if args.verb == "calibrate":
        return run_calibrate(args, config, config_path)
    if args.verb in STORY_VERBS:
        return run_story_verb(args, config)
    if args.verb in STYLE_VERBS:
        return run_style_verb(args, config)
    if args.verb in SCREENING_VERBS:
        return run_screening_verb(args, config)
    if args.verb == "worker":
        from bot.ray_worker import run_worker

        try:
            return run_worker(config)
        except ConfigError as error:
            print(f"inkwell: configuration error: {error}", file=sys.stderr)
            return 2
    if args.verb in RESTORER_VERBS:
        return run_restorer_verb(args, config)
    if args.verb in EDIT_PAIR_VERBS:
        return run_edit_pair_verb(args, config)
    if args.verb in LORA_VERBS:
        return run_lora_verb(args, config)
    if args.verb in PICTUREBOOK_VERBS:
        return run_picturebook_verb(args, config)
    if args.verb in LOOK_VERBS:
        return run_look_verb(args, config)
    from bot.serve import serve

    try:
        asyncio.run(serve(config))
    except ConfigError as error:
        print(f"inkwell: configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def configure_logging(config: Config) -> None:
    logging.basicConfig(
        level=config.bot.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    add_job_context(config.bot.log_format)
    # APScheduler logs every run of every job; the upkeep jobs log what they do themselves.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # open_clip reports every loading step on the root logger; keep its warnings only.
    for handler in logging.getLogger().handlers:
        handler.addFilter(_QuietRootInfo())


class _QuietRootInfo(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != "root" or record.levelno >= logging.WARNING


def add_job_context(log_format: str) -> None:
    """Every log line names its channel and job (core.log_context); "json": as JSON lines."""
    from core.log_context import JobContext, JsonLines

    text = logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s", defaults={"context": ""}
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(JobContext())
        handler.setFormatter(JsonLines() if log_format == "json" else text)
