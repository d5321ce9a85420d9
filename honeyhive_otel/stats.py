"""Export statistics and rate-limited logging: every dropped span is counted and reported.

One `ExportStats` is shared by the processor, the exporter and the transport, so a single
`handle.stats()` answers "what was exported, retried, dropped, and why".
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

logger = logging.getLogger("honeyhive_otel")


class ExportStats:
    """Thread-safe counters; `snapshot()` returns a plain dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans_received = 0
        self.events_exported = 0
        self.sessions_created = 0
        self.requests = 0
        self.retries = 0
        # The on-disk spool (not losses): events written there, and events from it later accepted.
        self.spooled = 0
        self.replayed = 0
        # Not losses: spans the filter or the sampler chose not to export, events whose redactor failed.
        self.spans_filtered = 0
        self.spans_sampled_out = 0
        self.redaction_failures = 0
        self.dropped: dict[str, int] = {}
        self.last_error: str | None = None
        self.last_error_time: float | None = None

    def add(self, name: str, count: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + count)

    def drop(self, reason: str, count: int = 1) -> None:
        if count <= 0:
            return
        with self._lock:
            self.dropped[reason] = self.dropped.get(reason, 0) + count

    def error(self, message: str) -> None:
        with self._lock:
            self.last_error = message
            self.last_error_time = time.time()

    @property
    def dropped_total(self) -> int:
        with self._lock:
            return sum(self.dropped.values())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "spans_received": self.spans_received,
                "events_exported": self.events_exported,
                "sessions_created": self.sessions_created,
                "requests": self.requests,
                "retries": self.retries,
                "spooled": self.spooled,
                "replayed": self.replayed,
                "spans_filtered": self.spans_filtered,
                "spans_sampled_out": self.spans_sampled_out,
                "redaction_failures": self.redaction_failures,
                "dropped": dict(self.dropped),
                "dropped_total": sum(self.dropped.values()),
                "last_error": self.last_error,
                "last_error_time": self.last_error_time,
            }


class RateLimitedLog:
    """Logs a message at most once per `interval` seconds per key, counting what it suppressed."""

    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: Any) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return
            suppressed = self._suppressed.pop(key, 0)
            self._last[key] = now
        if suppressed:
            message += " (%d similar messages suppressed)"
            args = (*args, suppressed)
        logger.warning(message, *args)

    def once(self, key: str, message: str, *args: Any, level: int = logging.ERROR) -> None:
        """Log only the first time `key` is seen (e.g. a rejected API key)."""
        with self._lock:
            if key in self._last:
                return
            self._last[key] = time.monotonic()
        logger.log(level, message, *args)
