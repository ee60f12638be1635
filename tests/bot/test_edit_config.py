"""The [edit] and [edit_engine] sections: shipped defaults, what reaches the engine, bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from core.edit.policy import EditPolicy
from engine.edit_settings import EditSettings

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_edit_sections_are_the_defaults() -> None:
    config = load_config(REPO / "config.toml", environ={})
    assert (config.edit, config.edit_engine) == (EditPolicy(), EditSettings())


def test_the_engine_gets_its_section_as_read() -> None:
    overrides = {
        "edit_engine.fusion_alpha": 0.05,
        "edit_engine.decoder_blocks": [0],
        "edit_engine.mask_combine": "intersection",
    }
    settings = load_config(None, overrides, environ={}).edit_engine
    assert settings == EditSettings(
        fusion_alpha=0.05, decoder_blocks=(0,), mask_combine="intersection"
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("edit_engine.fusion_alpha", 0.5, "between 0 and 0.3"),
        ("edit.strength", 0.0, "more than 0"),
        ("edit.prototype_similarity", 2.0, "between -1 and 1"),
        ("edit_engine.decoder_blocks", [-1], "block indices"),
        ("edit_engine.decoder_blocks", [], "block indices"),
        ("edit_engine.decoder_blocks", [1.5], "a list of integers"),
        ("edit_engine.decoder_blocks", 1, "a list of integers"),
        ("edit_engine.fusion_steps", [0.8, 0.2], "start < end"),
        ("edit_engine.complex_steps", [0.0], "a list of 2 numbers"),
        ("edit_engine.mask_combine", "xor", "union or intersection"),
        ("edit_engine.mask_threshold", 0.0, "more than 0"),
        ("edit.fusion_alpha", 0.1, "unknown config key"),
        ("edit_engine.strength", 0.5, "unknown config key"),
    ],
)
def test_bad_edit_values_fail_naming_the_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(None, {key: value}, environ={})
    assert f"'{key}'" in str(raised.value) and message in str(raised.value)


def test_edit_settings_built_in_code_are_held_to_the_same_bounds() -> None:
    with pytest.raises(ValueError, match=r"'edit_engine\.fusion_alpha' must be between 0 and 0\.3"):
        EditSettings(fusion_alpha=0.31)
