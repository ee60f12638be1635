"""[engine] and [batching]: local or Ray, where the cluster is, replicas, shared model calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_engine_runs_in_process_unless_ray_is_chosen() -> None:
    engine = load_config(REPO / "config.toml", environ={}).engine
    assert (engine.mode, engine.ray_address, engine.num_gpus) == ("local", "", 0.0)
    assert (engine.min_replicas, engine.max_replicas) == (1, 1)


def test_ray_settings_are_read(tmp_path: Path) -> None:
    text = (
        '[engine]\nmode = "ray"\nray_address = "ray://head:10001"\nnum_gpus = 1\n'
        "min_replicas = 1\nmax_replicas = 4\n"
    )
    engine = load_config(write(tmp_path, text), environ={}).engine
    assert (engine.mode, engine.ray_address) == ("ray", "ray://head:10001")
    assert (engine.num_gpus, engine.max_replicas) == (1.0, 4)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[engine]\nmode = "cluster"\n', "'engine.mode'"),
        ("[engine]\nnum_gpus = -1\n", "'engine.num_gpus'"),
        ("[engine]\nmin_replicas = 0\n", "'engine.min_replicas'"),
        ("[engine]\nmin_replicas = 3\nmax_replicas = 2\n", "'engine.max_replicas'"),
        ("[batching]\nbatch_wait_s = 0.01\n", "'batching.batch_wait_s': it was removed"),
        ("[batching]\nmax_batch = 0\n", "'batching.max_batch'"),
        ("[engine]\nbatch_wait_s = 0.1\n", "unknown config key 'engine.batch_wait_s': it was"),
        ("[models]\nmax_batch = 4\n", "unknown config key 'models.max_batch'"),
        ('[engine]\napp_name = "  "\n', "'engine.app_name' must be a non-empty name"),
        ('[engine]\nrayaddress = "auto"\n', "'engine.rayaddress'"),
    ],
)
def test_bad_engine_settings_fail_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(write(tmp_path, text), environ={})


def test_the_deployment_takes_the_model_settings_and_the_replica_resources(
    tmp_path: Path,
) -> None:
    pytest.importorskip("ray.serve")
    from bot.ray_worker import deployment_settings

    text = (
        '[bot]\ndata_dir = "/srv/inkwell"\n[models]\nprofile = "tiny"\n[batching]\nmax_batch = 4\n'
        '[engine]\nmode = "ray"\nnum_gpus = 0.5\nmax_replicas = 3\n'
    )
    config = load_config(write(tmp_path, text), environ={})
    settings = deployment_settings(config)
    assert (settings.models.profile, settings.batching.max_batch, settings.models_dir) == (
        "tiny",
        4,
        "/srv/inkwell/models",
    )
    assert (settings.engine, settings.edit) == (config.engine, config.edit_engine)
    assert (settings.engine.num_gpus, settings.engine.max_replicas) == (0.5, 3)
