"""Model profiles: the built-in table, lookup errors and field overrides."""

from __future__ import annotations

import pytest

from engine.profiles import PROFILES, TINY_CLIP_MODEL, resolve_profile


def test_builtin_profiles() -> None:
    assert set(PROFILES) >= {"tiny", "sd-turbo", "sd15"}
    tiny = resolve_profile("tiny")
    assert tiny.generator is None and tiny.clip_model == TINY_CLIP_MODEL
    assert tiny.is_tiny_generator and tiny.is_tiny_clip
    assert (tiny.steps, tiny.width, tiny.height) == (2, 64, 64)
    turbo = resolve_profile("sd-turbo")
    assert turbo.generator == "stabilityai/sd-turbo"
    assert (turbo.steps, turbo.guidance_scale, turbo.width) == (1, 0.0, 512)
    assert (turbo.clip_model, turbo.clip_pretrained) == ("ViT-B-32", "laion2b_s34b_b79k")
    sd15 = resolve_profile("sd15")
    assert sd15.generator == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert (sd15.steps, sd15.guidance_scale, sd15.height) == (25, 7.5, 512)
    assert not sd15.is_tiny_generator and not sd15.is_tiny_clip


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'sdxl'") as info:
        resolve_profile("sdxl")
    for name in PROFILES:
        assert name in str(info.value)


def test_overrides_replace_fields() -> None:
    profile = resolve_profile("sd-turbo", {"generator": "/srv/models/sd-turbo", "steps": 2})
    assert profile.generator == "/srv/models/sd-turbo"
    assert profile.steps == 2
    assert profile.name == "sd-turbo"
    assert resolve_profile("sd-turbo") == PROFILES["sd-turbo"]  # the table is untouched
    assert resolve_profile("sd15", {"guidance_scale": 5}).guidance_scale == 5.0
    assert resolve_profile("tiny", {}) == PROFILES["tiny"]


def test_unknown_override_field_is_named() -> None:
    with pytest.raises(ValueError, match="'sampler'"):
        resolve_profile("tiny", {"sampler": "euler"})


@pytest.mark.parametrize(
    "overrides",
    [{"steps": 0}, {"steps": True}, {"width": "512"}, {"guidance_scale": "7"}, {"clip_model": ""}],
)
def test_bad_override_values(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(overrides))):
        resolve_profile("sd15", overrides)
