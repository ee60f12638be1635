"""Which failures count as a lost replica (retried once), and that the bot side stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.ray_engine import replica_lost

pytestmark = pytest.mark.ray


class OutOfMemoryError(RuntimeError):
    """Named like torch.cuda.OutOfMemoryError, which cannot be raised on this CPU machine."""


def test_dead_replicas_and_out_of_memory_are_retried_other_errors_are_not() -> None:
    from ray import exceptions

    assert replica_lost(exceptions.ActorDiedError()) == "replica died"
    assert replica_lost(exceptions.OutOfMemoryError("node memory")) == "out of memory"
    in_runner = exceptions.RayTaskError("call", "traceback", OutOfMemoryError("CUDA out of memory"))
    assert replica_lost(in_runner) == "out of memory"
    assert replica_lost(exceptions.RayTaskError("call", "traceback", ValueError("bad"))) is None
    assert replica_lost(ValueError("a bug in a request")) is None


def test_the_bot_side_of_the_ray_engine_imports_no_torch() -> None:
    code = (
        "import sys, bot.ray_worker, engine.ray_engine, engine.ray_deployment\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
