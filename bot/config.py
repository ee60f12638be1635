"""Reads config.toml into frozen dataclasses; unknown keys and bad values fail loudly."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints


class ConfigError(ValueError):
    """A configuration problem; the message names the offending key."""


@dataclass(frozen=True)
class BotConfig:
    data_dir: str = "data"
    log_level: str = "INFO"
    log_format: str = "text"  # "text", or "json": one object per line with channel and job ids


@dataclass(frozen=True)
class ModelsConfig:
    profile: str = "sd-turbo"
    device: str = "auto"
    max_batch: int = 16
    # Each override replaces the named field of the chosen profile (see engine/profiles.py).
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoryConfig:
    candidates: int = 4
    max_sentences: int = 12
    max_paragraph_chars: int = 4000
    progress_interval_s: float = 0.25
    thr_1: float = 0.2  # seed 000: least image-text similarity for a candidate to be retained
    presence_threshold: float = 0.2  # least similarity for an element to count as drawn
    index_threshold: int = 1  # seed 000: sentences screened at or below this are not drawn
    thr_2: float = 500.0  # seed 000: most image difference for clauses to share one drawing
    difference_mode: str = "variance"  # claim 6 ("variance") or [0083]'s reading ("pairwise")


@dataclass(frozen=True)
class StorageConfig:
    backend: str = "sqlite"
    path: str = ""  # sqlite: the database file; default <data_dir>/inkwell.sqlite3
    database: str = "inkwell"  # mongodb: the database name
    max_image_bytes_per_channel: int = 0  # past it a story's oldest pictures go (0: no limit)
    # Never in the file: read from MONGODB_URI.
    uri: str = field(default="", metadata={"secret": "MONGODB_URI"})


@dataclass(frozen=True)
class InboxConfig:
    lease_s: float = 30.0  # a channel's work lease; a dead process's lease runs out after this
    sweep_interval_s: float = 5.0  # how often unowned work and expired leases are looked for
    max_attempts: int = 3  # tries of an event before the writer is told it failed
    retry_backoff_s: float = 30.0  # first retry delay; doubles with every attempt
    keep_finished_days: float = 7.0  # done and failed inbox items are deleted after this


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8080
    # Never in the file: read from INKWELL_WEB_TOKEN.
    token: str = field(default="", metadata={"secret": "INKWELL_WEB_TOKEN"})


@dataclass(frozen=True)
class DiscordConfig:
    enabled: bool = False
    api_base: str = ""  # REST base URL; empty means discord.com (tests point it at a fake)
    max_attachment_bytes: int = 8 * 1024 * 1024  # pictures handed to Inkwell, at most
    status_interval_s: float = 2.0  # least time between two edits of one status message
    sync_commands: bool = True  # register `/inkwell` with Discord at start-up
    # Never in the file: read from DISCORD_TOKEN.
    token: str = field(default="", metadata={"secret": "DISCORD_TOKEN"})


@dataclass(frozen=True)
class SlackConfig:
    enabled: bool = False
    mode: str = "http"  # "http": Slack POSTs to the web room's /slack/events; "socket": Socket Mode
    api_base: str = ""  # Web API base URL; empty means slack.com (tests point it at a fake)
    max_attachment_bytes: int = 8 * 1024 * 1024
    status_interval_s: float = 2.0
    # Never in the file: read from SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN.
    bot_token: str = field(default="", metadata={"secret": "SLACK_BOT_TOKEN"})
    signing_secret: str = field(default="", metadata={"secret": "SLACK_SIGNING_SECRET"})
    app_token: str = field(default="", metadata={"secret": "SLACK_APP_TOKEN"})


@dataclass(frozen=True)
class EngineConfig:
    mode: str = "local"  # "local": in this process; "ray": a Ray Serve deployment
    # "": start a Ray instance in this process and deploy there (one machine);
    # "auto": join the cluster this machine is a node of; "ray://host:10001" or "host:6379".
    ray_address: str = ""
    app_name: str = "inkwell"  # the Serve application `python -m bot worker` deploys
    num_gpus: float = 0.0  # per replica; 1 on a GPU node
    num_cpus: float = 1.0  # per replica
    min_replicas: int = 1  # autoscaling bounds; equal bounds mean a fixed number of replicas
    max_replicas: int = 1
    max_ongoing_requests: int = 64  # calls one replica holds at once (batches are cut from these)


@dataclass(frozen=True)
class EditConfig:
    """Edits by reply (seeds 001 and 003); mirrored by engine.edit_settings.EditSettings."""

    strength: float = 0.55  # how much a global update ("I prefer darker") may change the picture
    fusion_alpha: float = 0.2  # seed 003's a: share of the original kept inside the mask
    decoder_blocks: tuple[int, ...] = (1,)  # UNet up blocks fused (0 = lowest resolution)
    fusion_steps: tuple[float, float] = (0.0, 0.8)  # fused steps, as fractions [start, end)
    complex_blocks: tuple[int, ...] = (0, 1)  # several attributes or a large region fuse more
    complex_steps: tuple[float, float] = (0.0, 1.0)
    complex_area: float = 0.25  # joint-mask share of the picture above which an edit is complex
    mask_combine: str = "union"  # joint mask of the two branches: "union" or "intersection"
    mask_threshold: float = 0.3  # share of its range where the attention map becomes the mask
    inpaint_strength: float = 1.0  # added / removed elements are redrawn from this much noise
    region_feather: float = 0.05  # softened edge of an inpainted region, share of the picture


@dataclass(frozen=True)
class FeedbackConfig:
    """Seed 002: when and how the restorer learns from writers' feedback."""

    nightly_training: bool = True
    min_new_feedback: int = 20  # the nightly run trains only after this many new texts
    training_hour: int = 3  # local hour of the nightly check (0-23)
    image_size: int = 64  # training crops, in pixels
    pairs: int = 256  # clean pictures (each damaged once) per run
    pixel_steps: int = 300
    scorer_steps: int = 150
    joint_steps: int = 150
    text_weight: float = 0.1  # the text term's weight beside the pixel loss's 1 [0148]
    pixel_loss: str = "l1"  # "l1" (eq. 1) or "mse" (eq. 2)
    clean_images: str = ""  # a folder of clean pictures; default <data_dir>/restorer-images


@dataclass(frozen=True)
class Config:
    bot: BotConfig = field(default_factory=BotConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    story: StoryConfig = field(default_factory=StoryConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    inbox: InboxConfig = field(default_factory=InboxConfig)
    web: WebConfig = field(default_factory=WebConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    edit: EditConfig = field(default_factory=EditConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)

    @property
    def data_path(self) -> Path:
        return Path(self.bot.data_dir).expanduser()


_CHECKS: dict[str, tuple[Any, str]] = {
    "bot.log_level": (
        lambda v: v in {"DEBUG", "INFO", "WARNING", "ERROR"},
        "one of DEBUG, INFO, WARNING, ERROR",
    ),
    "bot.log_format": (lambda v: v in {"text", "json"}, "text or json"),
    "models.device": (
        lambda v: v == "auto" or v == "cpu" or v.startswith("cuda"),
        "auto, cpu or cuda[:N]",
    ),
    "models.max_batch": (lambda v: v >= 1, "at least 1"),
    "story.candidates": (lambda v: 1 <= v <= 64, "between 1 and 64"),
    "story.max_sentences": (lambda v: v >= 1, "at least 1"),
    "story.max_paragraph_chars": (lambda v: v >= 1, "at least 1"),
    "story.progress_interval_s": (lambda v: v >= 0, "zero or more"),
    "story.thr_1": (lambda v: -1 <= v <= 1, "a similarity between -1 and 1"),
    "story.presence_threshold": (lambda v: -1 <= v <= 1, "a similarity between -1 and 1"),
    "story.index_threshold": (lambda v: v in (0, 1, 2), "0, 1 or 2"),
    "story.thr_2": (lambda v: v >= 0, "zero or more"),
    "story.difference_mode": (lambda v: v in {"variance", "pairwise"}, "variance or pairwise"),
    "web.port": (lambda v: 0 <= v <= 65535, "a port number (0-65535)"),
    "discord.max_attachment_bytes": (lambda v: v >= 1, "at least 1"),
    "discord.status_interval_s": (lambda v: v >= 0, "zero or more"),
    "slack.mode": (lambda v: v in {"http", "socket"}, "http or socket"),
    "slack.max_attachment_bytes": (lambda v: v >= 1, "at least 1"),
    "slack.status_interval_s": (lambda v: v >= 0, "zero or more"),
    "storage.backend": (lambda v: v in {"sqlite", "mongodb"}, "sqlite or mongodb"),
    "storage.max_image_bytes_per_channel": (lambda v: v >= 0, "zero (no limit) or more"),
    "inbox.lease_s": (lambda v: v >= 1, "at least 1"),
    "inbox.sweep_interval_s": (lambda v: v > 0, "more than 0"),
    "inbox.max_attempts": (lambda v: v >= 1, "at least 1"),
    "inbox.retry_backoff_s": (lambda v: v >= 0, "zero or more"),
    "inbox.keep_finished_days": (lambda v: v > 0, "more than 0"),
    "engine.mode": (lambda v: v in {"local", "ray"}, "local or ray"),
    "engine.app_name": (lambda v: bool(v.strip()), "a non-empty name"),
    "engine.num_gpus": (lambda v: v >= 0, "zero or more"),
    "engine.num_cpus": (lambda v: v >= 0, "zero or more"),
    "engine.min_replicas": (lambda v: v >= 1, "at least 1"),
    "engine.max_replicas": (lambda v: v >= 1, "at least 1"),
    "engine.max_ongoing_requests": (lambda v: v >= 1, "at least 1"),
    "edit.strength": (lambda v: 0 < v <= 1, "more than 0 and at most 1"),
    "edit.fusion_alpha": (lambda v: 0 <= v <= 0.3, "between 0 and 0.3 (seed 003)"),
    "edit.decoder_blocks": (lambda v: len(v) >= 1 and min(v) >= 0, "block indices, 0 or more"),
    "edit.complex_blocks": (lambda v: len(v) >= 1 and min(v) >= 0, "block indices, 0 or more"),
    "edit.fusion_steps": (
        lambda v: 0 <= v[0] < v[1] <= 1,
        "[start, end] with 0 <= start < end <= 1",
    ),
    "edit.complex_steps": (
        lambda v: 0 <= v[0] < v[1] <= 1,
        "[start, end] with 0 <= start < end <= 1",
    ),
    "edit.complex_area": (lambda v: 0 <= v <= 1, "between 0 and 1"),
    "edit.mask_combine": (lambda v: v in {"union", "intersection"}, "union or intersection"),
    "edit.mask_threshold": (lambda v: 0 < v <= 1, "more than 0 and at most 1"),
    "edit.inpaint_strength": (lambda v: 0 < v <= 1, "more than 0 and at most 1"),
    "edit.region_feather": (lambda v: 0 <= v <= 0.5, "between 0 and 0.5"),
    "feedback.min_new_feedback": (lambda v: v >= 1, "at least 1"),
    "feedback.training_hour": (lambda v: 0 <= v <= 23, "an hour between 0 and 23"),
    "feedback.image_size": (lambda v: 16 <= v <= 1024, "between 16 and 1024"),
    "feedback.pairs": (lambda v: v >= 1, "at least 1"),
    "feedback.pixel_steps": (lambda v: v >= 0, "zero or more"),
    "feedback.scorer_steps": (lambda v: v >= 0, "zero or more"),
    "feedback.joint_steps": (lambda v: v >= 0, "zero or more"),
    "feedback.text_weight": (lambda v: 0 <= v <= 1, "between 0 and 1"),
    "feedback.pixel_loss": (lambda v: v in {"l1", "mse"}, "l1 or mse"),
}


def load_config(
    path: Path | None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the config from the file (if any), then secrets from `environ`, then `overrides`.

    `overrides` maps dotted keys ("models.profile") to values, as given on the command line.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path} is not valid TOML: {error}") from None
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        raw.setdefault(section, {})[key] = value
    config = _build(Config, raw, "")
    config = _with_secrets(config, os.environ if environ is None else environ)
    _check_web_exposure(config.web)
    _check_chat_platforms(config)
    _check_engine(config.engine)
    return config


def _build(cls: type, raw: Mapping[str, Any], prefix: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"[{prefix.rstrip('.')}] must be a table")
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"unknown config key {dotted!r}; known here: {', '.join(known)}")
        if known[key].metadata.get("secret"):
            env = known[key].metadata["secret"]
            raise ConfigError(f"{dotted!r} is a secret: set the {env} environment variable instead")
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            values[key] = _build(kind, value, f"{dotted}.")
        else:
            values[key] = _coerce(dotted, kind, value)
    return cls(**values)


def _coerce(dotted: str, kind: Any, value: Any) -> Any:
    origin = getattr(kind, "__origin__", kind)
    if origin is tuple:
        return _coerce_tuple(dotted, kind, value)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{dotted!r} must be a table, got {value!r}")
        return dict(value)
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConfigError(f"{dotted!r} must be a {kind.__name__}, got {value!r}")
    check = _CHECKS.get(dotted)
    if check is not None and not check[0](value):
        raise ConfigError(f"{dotted!r} must be {check[1]}, got {value!r}")
    return value


def _coerce_tuple(dotted: str, kind: Any, value: Any) -> tuple:
    """A TOML array of numbers: `tuple[int, ...]` any length, `tuple[float, float]` exactly."""
    args = kind.__args__
    element = args[0]
    length = None if len(args) == 2 and args[1] is Ellipsis else len(args)
    name = "integers" if element is int else "numbers"
    wanted = f"a list of {length} {name}" if length else f"a list of {name}"
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise ConfigError(f"{dotted!r} must be {wanted}, got {value!r}")
    items = []
    for item in value:
        ok = isinstance(item, int) or (element is float and isinstance(item, float))
        if not ok or isinstance(item, bool):
            raise ConfigError(f"{dotted!r} must be {wanted}, got {value!r}")
        items.append(element(item))
    check = _CHECKS.get(dotted)
    if check is not None and not check[0](items):
        raise ConfigError(f"{dotted!r} must be {check[1]}, got {value!r}")
    return tuple(items)


def _with_secrets(config: Config, environ: Mapping[str, str]) -> Config:
    token = environ.get("INKWELL_WEB_TOKEN", "")
    uri = environ.get("MONGODB_URI", "")
    slack = replace(
        config.slack,
        bot_token=environ.get("SLACK_BOT_TOKEN", ""),
        signing_secret=environ.get("SLACK_SIGNING_SECRET", ""),
        app_token=environ.get("SLACK_APP_TOKEN", ""),
    )
    return replace(
        config,
        web=replace(config.web, token=token),
        storage=replace(config.storage, uri=uri),
        discord=replace(config.discord, token=environ.get("DISCORD_TOKEN", "")),
        slack=slack,
    )


def _check_chat_platforms(config: Config) -> None:
    """An enabled platform needs its secrets, and Slack's HTTP mode needs the web server."""
    if config.discord.enabled and not config.discord.token:
        raise ConfigError("'discord.enabled' is true: set the DISCORD_TOKEN environment variable")
    slack = config.slack
    if not slack.enabled:
        return
    needed = ["SLACK_BOT_TOKEN"] if not slack.bot_token else []
    if slack.mode == "socket" and not slack.app_token:
        needed.append("SLACK_APP_TOKEN")
    if slack.mode == "http" and not slack.signing_secret:
        needed.append("SLACK_SIGNING_SECRET")
    if needed:
        raise ConfigError(f"'slack.enabled' is true: set {' and '.join(needed)}")
    if slack.mode == "http" and not config.web.enabled:
        raise ConfigError(
            "'slack.mode' is \"http\": Slack posts to the web server, so set 'web.enabled'"
        )


def _check_web_exposure(web: WebConfig) -> None:
    if web.enabled and not _is_loopback(web.host) and not web.token:
        raise ConfigError(
            f"'web.host' is {web.host!r}, reachable from other machines: set the "
            "INKWELL_WEB_TOKEN environment variable so only people with the token can post"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_engine(engine: EngineConfig) -> None:
    if engine.min_replicas > engine.max_replicas:
        raise ConfigError(
            f"'engine.min_replicas' ({engine.min_replicas}) is more than "
            f"'engine.max_replicas' ({engine.max_replicas})"
        )
