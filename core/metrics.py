"""Prometheus metrics of this process: queue depth, job latency, engine batches, errors."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate_latest

QUEUE_DEPTH = Gauge(
    "inkwell_queue_depth",
    "Paragraphs stored and not finished in a channel, the one being drawn included",
    ["channel"],
)
JOB_SECONDS = Histogram(
    "inkwell_job_seconds",
    "Time from starting an inbox item (e.g. illustrating a paragraph) to its outcome",
    ["kind", "outcome"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
)
ENGINE_BATCH_SIZE = Histogram(
    "inkwell_engine_batch_size",
    "Items (candidates for generate) in one batched model call",
    ["call"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
ENGINE_CALL_SECONDS = Histogram(
    "inkwell_engine_call_seconds",
    "One caller's engine call, queueing and transport included",
    ["call"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
ERRORS = Counter("inkwell_errors_total", "Failures by kind", ["kind"])
CONNECTION_UP = Gauge(
    "inkwell_connection_up", "1 while a platform connection is connected, else 0", ["platform"]
)
CONNECTION_RESTARTS = Counter(
    "inkwell_connection_restarts_total",
    "Times a platform connection failed and was restarted",
    ["platform"],
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


def set_queue_depth(channel_key: str, depth: int) -> None:
    QUEUE_DEPTH.labels(channel_key).set(depth)


def job_finished(kind: str, outcome: str, started: float) -> None:
    """Record one inbox item's latency; `started` is a time.perf_counter() reading."""
    JOB_SECONDS.labels(kind, outcome).observe(time.perf_counter() - started)


def engine_batch(call: str, size: int) -> None:
    ENGINE_BATCH_SIZE.labels(call).observe(size)


def engine_call(call: str, started: float) -> None:
    ENGINE_CALL_SECONDS.labels(call).observe(time.perf_counter() - started)


def count_error(kind: str) -> None:
    ERRORS.labels(kind).inc()


def connection_state(platform: str, up: bool) -> None:
    CONNECTION_UP.labels(platform).set(1 if up else 0)


def connection_restarted(platform: str) -> None:
    CONNECTION_RESTARTS.labels(platform).inc()


def exposition() -> bytes:
    """Every metric of this process in Prometheus' text format."""
    return _generate_latest(REGISTRY)
