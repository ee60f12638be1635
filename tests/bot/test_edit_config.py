"""The [edit] section: shipped defaults, what reaches the engine, and bad values named."""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

import pytest

from bot.config import ConfigError, EditConfig, load_config
from bot.serve import edit_settings
from engine.edit_settings import EditSettings

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_edit_section_is_the_defaults() -> None:
    config = load_config(REPO / "config.toml", environ={})
    assert config.edit == EditConfig()
    assert 0.0 <= config.edit.fusion_alpha <= 0.3


def test_every_engine_setting_comes_from_the_config() -> None:
    config = load_config(
        None,
        {
            "edit.fusion_alpha": 0.05,
            "edit.decoder_blocks": [0],
            "edit.mask_combine": "intersection",
        },
        environ={},
    )
    settings = edit_settings(config)
    assert (settings.fusion_alpha, settings.decoder_blocks, settings.mask_combine) == (
        0.05,
        (0,),
        "intersection",
    )
    engine_keys = {f.name for f in fields(EditSettings)}
    assert engine_keys == set(asdict(config.edit)) - {"strength"}
    assert asdict(edit_settings(load_config(None, environ={}))) == asdict(EditSettings())


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("edit.fusion_alpha", 0.5, "between 0 and 0.3"),
        ("edit.strength", 0.0, "more than 0"),
        ("edit.decoder_blocks", [-1], "block indices"),
        ("edit.decoder_blocks", [1.5], "a list of integers"),
        ("edit.decoder_blocks", 1, "a list of integers"),
        ("edit.fusion_steps", [0.8, 0.2], "start < end"),
        ("edit.complex_steps", [0.0], "a list of 2 numbers"),
        ("edit.mask_combine", "xor", "union or intersection"),
        ("edit.mask_threshold", 0.0, "more than 0"),
        ("edit.flavour", 1, "unknown config key"),
    ],
)
def test_bad_edit_values_fail_naming_the_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(None, {key: value}, environ={})
    assert f"'{key}'" in str(raised.value) and message in str(raised.value)
