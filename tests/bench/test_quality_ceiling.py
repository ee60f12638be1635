"""bench.quality --ceiling: what the oracle reads from renders and from their reconstructions."""

from __future__ import annotations

import pytest

from bench import quality


def test_ceiling_reads_renders_and_the_profiles_reconstructions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert quality.main(["--ceiling", "--captions", "6"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "autoencoder ceiling of picturebook on 6 held-out captions"
    renders = dict(field.split("=") for field in lines[1].split()[1:])
    rebuilt = dict(field.split("=") for field in lines[2].split()[1:])
    assert lines[1].split()[0] == "renders" and lines[2].split()[0] == "reconstructions"
    # The oracle reads the world's own renders' places (it is trained on them); the
    # reconstructions' numbers are whatever the autoencoder keeps, not asserted here.
    assert float(renders["place"]) >= 0.8
    assert set(rebuilt) == set(renders)
