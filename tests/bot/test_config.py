"""config.toml parsing: defaults, overrides, secrets, and errors that name the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, overrides_from
from bot.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_config_loads_with_its_documented_defaults() -> None:
    config = load_config(REPO / "config.toml", environ={})
    assert config.models.profile == "sd-turbo"
    assert config.web.host == "127.0.0.1"
    assert config.storage.backend == "sqlite"


def test_command_line_flags_override_the_file(tmp_path: Path) -> None:
    args = build_parser().parse_args(["--profile", "tiny", "--port", "9000", "--data-dir", "/d"])
    config = load_config(write(tmp_path, "[web]\nport = 8081\n"), overrides_from(args), {})
    assert (config.models.profile, config.web.port, config.bot.data_dir) == ("tiny", 9000, "/d")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[web]\nprot = 1\n", "'web.prot'"),
        ("[weeb]\nport = 1\n", "'weeb'"),
        ("[web]\nport = 'eighty'\n", "'web.port'"),
        ("[web]\nport = 70000\n", "'web.port'"),
        ("[story]\ncandidates = 0\n", "'story.candidates'"),
        ("[story]\nprogress_interval_s = true\n", "'story.progress_interval_s'"),
        ("[models]\ndevice = 'tpu'\n", "'models.device'"),
        (
            "[story]\ndifference_mode = 'max'\n",
            "'story.difference_mode' must be variance or pairwise",
        ),
        ("[inbox]\nsweep_interval_s = 0\n", "'inbox.sweep_interval_s' must be more than 0"),
        ("[storage]\nmax_image_bytes_per_channel = 1\n", "now 'story.max_image_bytes'"),
        ("[models]\nmax_batch = 4\n", "'models.max_batch': it is now 'batching.max_batch'"),
        ("[edit]\nmask_combine = 'union'\n", "now 'edit_engine.mask_combine'"),
        ("[web]\ntoken = 'hunter2'\n", "INKWELL_WEB_TOKEN"),
        ("web = 3\n", "[web]"),
        ("[web\n", "not valid TOML"),
    ],
)
def test_bad_config_fails_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        load_config(write(tmp_path, text), environ={})


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    config = load_config(None, environ={"INKWELL_WEB_TOKEN": "s3cret"})
    assert config.web.token == "s3cret"


def test_binding_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="INKWELL_WEB_TOKEN"):
        load_config(None, {"web.host": "0.0.0.0"}, environ={})
    config = load_config(None, {"web.host": "0.0.0.0"}, environ={"INKWELL_WEB_TOKEN": "t"})
    assert config.web.host == "0.0.0.0"


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_the_tiny_profile_reads_unclear_edits_by_rules_only() -> None:
    from bot.serve import edit_policy

    tiny = edit_policy(load_config(None, {"models.profile": "tiny"}, environ={}))
    real = edit_policy(load_config(None, {"models.profile": "sd-turbo"}, environ={}))
    assert not tiny.read_by_prototypes and real.read_by_prototypes
    off = {"models.profile": "sd-turbo", "edit.read_by_prototypes": False}
    assert not edit_policy(load_config(None, off, environ={})).read_by_prototypes


def test_reading_the_config_imports_no_model_library() -> None:
    # The sections come from engine/ and training/ too; with a remote engine the bot stays light.
    code = (
        "import sys\nimport bot.config\n"
        "print(','.join(m for m in ('torch', 'diffusers', 'open_clip', 'ray') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == ""
