"""Reads config.toml into the settings dataclasses the code uses; each section is one of them.

A setting is defined once, on its dataclass field (default, meaning, valid values; see
core/settings.py): core's sections live in core, the engine's in engine, training's in
training, the bot's own here. `load_config` checks every key and value against those fields,
so unknown keys and bad values stop start-up with a message naming the key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from core.edit.policy import EditPolicy
from core.feedback.training_settings import TrainingSettings
from core.inbox import InboxSettings
from core.settings import expectation, is_valid, setting
from core.story.settings import StorySettings
from engine.edit_settings import EditSettings
from engine.settings import BatchingSettings, EngineSettings, ModelSettings


class ConfigError(ValueError):
    """A configuration problem; the message names the offending key."""


@dataclass(frozen=True)
class BotConfig:
    data_dir: str = setting("data", "models built for tiny, the database, the images")
    log_level: str = setting("INFO", "log level", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    log_format: str = setting(
        "text",
        "text, or json: one object per line with channel and job ids",
        choices=("text", "json"),
    )


@dataclass(frozen=True)
class StorageConfig:
    backend: str = setting("sqlite", "sqlite or mongodb", choices=("sqlite", "mongodb"))
    path: str = setting("", "sqlite: the database file; default <data_dir>/inkwell.sqlite3")
    database: str = setting("inkwell", "mongodb: the database name")
    uri: str = setting("", "the MongoDB connection string", secret="MONGODB_URI")


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = setting(True, "serve the web story room")
    host: str = setting("127.0.0.1", "any address other than loopback needs INKWELL_WEB_TOKEN")
    port: int = setting(8080, "the room's port", at_least=0, at_most=65535)
    token: str = setting("", "the room's access token", secret="INKWELL_WEB_TOKEN")


@dataclass(frozen=True)
class DiscordConfig:
    enabled: bool = setting(False, "connect to Discord")
    api_base: str = setting("", "REST base URL; empty means discord.com (tests use a fake)")
    max_attachment_bytes: int = setting(
        8 * 1024 * 1024, "largest picture Inkwell takes from a message", at_least=1
    )
    status_interval_s: float = setting(
        2.0, "least time between two edits of one status message", at_least=0
    )
    sync_commands: bool = setting(True, "register /inkwell with Discord at start-up")
    token: str = setting("", "the Discord bot token", secret="DISCORD_TOKEN")


@dataclass(frozen=True)
class SlackConfig:
    enabled: bool = setting(False, "connect to Slack")
    mode: str = setting(
        "http",
        "http (Slack POSTs to /slack/events) or socket (Socket Mode)",
        choices=("http", "socket"),
    )
    api_base: str = setting("", "Web API base URL; empty means slack.com (tests use a fake)")
    max_attachment_bytes: int = setting(
        8 * 1024 * 1024, "largest picture Inkwell takes from a message", at_least=1
    )
    status_interval_s: float = setting(
        2.0, "least time between two updates of one status message", at_least=0
    )
    bot_token: str = setting("", "the Slack bot token", secret="SLACK_BOT_TOKEN")
    signing_secret: str = setting("", "the app's signing secret", secret="SLACK_SIGNING_SECRET")
    app_token: str = setting("", "the app-level token", secret="SLACK_APP_TOKEN")


@dataclass(frozen=True)
class NightlyTrainingConfig:
    """When the restorer learns from writers' feedback without being asked (seed 002)."""

    enabled: bool = setting(True, "check at night whether enough new feedback came in")
    min_new_feedback: int = setting(
        20, "new feedback texts since the last run needed to train", at_least=1
    )
    hour: int = setting(3, "local hour of the nightly check", at_least=0, at_most=23)


@dataclass(frozen=True)
class Config:
    """config.toml: one field per section, each section the dataclass its users take."""

    bot: BotConfig = field(default_factory=BotConfig)
    models: ModelSettings = field(default_factory=ModelSettings)
    batching: BatchingSettings = field(default_factory=BatchingSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    story: StorySettings = field(default_factory=StorySettings)
    storage: StorageConfig = field(default_factory=StorageConfig)
    inbox: InboxSettings = field(default_factory=InboxSettings)
    web: WebConfig = field(default_factory=WebConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    edit: EditPolicy = field(default_factory=EditPolicy)
    edit_engine: EditSettings = field(default_factory=EditSettings)
    restorer_training: TrainingSettings = field(default_factory=TrainingSettings)
    nightly_training: NightlyTrainingConfig = field(default_factory=NightlyTrainingConfig)

    @property
    def data_path(self) -> Path:
        return Path(self.bot.data_dir).expanduser()


# Keys of earlier config files, and where they went (not read: the message says where).
MOVED = {
    "models.max_batch": "batching.max_batch",
    "storage.max_image_bytes_per_channel": "story.max_image_bytes",
    **{f"edit.{spec.name}": f"edit_engine.{spec.name}" for spec in fields(EditSettings)},
    "feedback": "restorer_training (the run) and nightly_training (when)",
}
# Keys of earlier config files that no longer exist, and why.
REMOVED = {
    key: "a batch closes when no more work is waiting, with no timer"
    for key in ("engine.batch_wait_s", "batching.batch_wait_s")
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
        *sections, key = dotted.split(".")
        table = raw
        for section in sections:
            table = table.setdefault(section, {})
        table[key] = value
    config = _build(Config(), raw, "")
    config = _with_secrets(config, os.environ if environ is None else environ)
    _check_web_exposure(config.web)
    _check_chat_platforms(config)
    _check_engine(config.engine)
    return config


def _build(base: Any, raw: Mapping[str, Any], prefix: str) -> Any:
    """`base` with the keys of `raw` replaced, each checked against its field's metadata."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"[{prefix.rstrip('.')}] must be a table")
    hints = get_type_hints(type(base))
    known = {spec.name: spec for spec in fields(base)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        spec = known.get(key)
        if spec is None:
            moved = f": it is now {MOVED[dotted]!r}" if dotted in MOVED else ""
            moved = f": it was removed ({REMOVED[dotted]})" if dotted in REMOVED else moved
            raise ConfigError(
                f"unknown config key {dotted!r}{moved}; known here: {', '.join(known)}"
            )
        if spec.metadata.get("secret"):
            env = spec.metadata["secret"]
            raise ConfigError(f"{dotted!r} is a secret: set the {env} environment variable instead")
        if dataclasses.is_dataclass(hints[key]):
            values[key] = _build(getattr(base, key), value, f"{dotted}.")
            continue
        values[key] = _coerce(dotted, hints[key], value)
        if not is_valid(spec, values[key]):
            raise ConfigError(f"{dotted!r} must be {expectation(spec)}, got {value!r}")
    return replace(base, **values)


def _coerce(dotted: str, kind: Any, value: Any) -> Any:
    origin = get_origin(kind) or kind
    if origin is tuple:
        return _coerce_tuple(dotted, kind, value)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{dotted!r} must be a table, got {value!r}")
        return dict(value)
    if origin is Literal:
        kind = type(get_args(kind)[0])  # the allowed values are the field's choices
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
    return value


def _coerce_tuple(dotted: str, kind: Any, value: Any) -> tuple:
    """A TOML array of numbers: `tuple[int, ...]` any length, `tuple[float, float]` exactly."""
    args = get_args(kind)
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
    return tuple(items)


def _with_secrets(config: Config, environ: Mapping[str, str]) -> Config:
    """Every field marked secret, from its environment variable (absent: empty)."""
    sections = {}
    for section in fields(config):
        current = getattr(config, section.name)
        secrets = {
            spec.name: environ.get(spec.metadata["secret"], "")
            for spec in fields(current)
            if spec.metadata.get("secret")
        }
        if secrets:
            sections[section.name] = replace(current, **secrets)
    return replace(config, **sections)


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


def _check_engine(engine: EngineSettings) -> None:
    if engine.min_replicas > engine.max_replicas:
        raise ConfigError(
            f"'engine.min_replicas' ({engine.min_replicas}) is more than "
            f"'engine.max_replicas' ({engine.max_replicas})"
        )
