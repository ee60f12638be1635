"""Start-up cost of the tiny profile: building its models once vs finding them already built.

Run: .venv/bin/python -m bench.startup [--rounds 5]
The first build writes the random-weight models; every later start only checks the version
marker, which should cost a small fraction of the build. Ends with `found_vs_build=R`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from engine.tiny import ensure_tiny_models


def timed(models_dir: Path) -> float:
    started = time.perf_counter()
    ensure_tiny_models(models_dir)
    return time.perf_counter() - started


def main() -> None:
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--rounds", type=int, default=5)
    args = parse.parse_args()
    builds, finds = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="inkwell-bench-") as scratch:
            builds.append(timed(Path(scratch)))
            finds.append(statistics.median(timed(Path(scratch)) for _ in range(10)))
    build, found = statistics.median(builds), statistics.median(finds)
    print(f"{'':>24} {'median s':>10}")
    print(f"{'build tiny models':>24} {build:>10.4f}")
    print(f"{'find them built':>24} {found:>10.4f}")
    print(f"found_vs_build={found / build:.6f}")


if __name__ == "__main__":
    main()
