"""Structured logs: the channel and job a log line belongs to, carried by context variables."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar

_channel: ContextVar[str] = ContextVar("inkwell_channel", default="")
_job: ContextVar[str] = ContextVar("inkwell_job", default="")


def bind_job(channel_key: str, job_id: str) -> None:
    """Tag this task's later log lines (and tasks it starts) with a channel and a job."""
    _channel.set(channel_key)
    _job.set(job_id)


class JobContext(logging.Filter):
    """Adds `channel`, `job` and `context` (" [channel=.. job=..]" or "") to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        channel = getattr(record, "channel", None) or _channel.get()
        job = getattr(record, "job", None) or _job.get()
        record.channel, record.job = channel, job
        parts = [f"channel={channel}" if channel else "", f"job={job}" if job else ""]
        record.context = f" [{' '.join(p for p in parts if p)}]" if channel or job else ""
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, channel, job, error."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "channel": getattr(record, "channel", "") or _channel.get(),
            "job": getattr(record, "job", "") or _job.get(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)
