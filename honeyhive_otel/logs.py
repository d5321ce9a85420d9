"""Recover GenAI content that official instrumentations emit as log records, not on spans.

The official `opentelemetry-instrumentation-*` GenAI packages (openai-v2 and friends, in
their default mode) put prompts and completions in log records (`gen_ai.user.message`,
`gen_ai.choice`, ..., or `gen_ai.client.inference.operation.details`), which a span
exporter never sees. `GenAILogRecordProcessor`, added to the SDK `LoggerProvider`, keeps
those records in a `GenAILogStore` keyed by the (trace_id, span_id) of the span that was
current when they were emitted; the exporter calls `store.take(trace_id, span_id)` when it
maps that span and folds the records in as if they were span events.

Timing: the instrumentations emit every record before they end the span (input messages
when the request starts, choices when the response or the stream completes), and a span
is mapped only after it ended (on the BatchSpanProcessor's thread), so the records are in
the store when the span is mapped. A record that arrives after its span was mapped, or
whose span is never exported, waits until it expires (`ttl_seconds` after its span's last
record) or is evicted by the count/size bounds; both are counted in `stats()`.

Everything is bounded: spans held, records per span, total bytes (estimated), and age;
beyond a bound the oldest span's records are dropped and counted.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk._logs import LogRecordProcessor

from .mapping.genai import CHOICE_EVENT, COMPLETION_EVENT, DETAILS_EVENT, MESSAGE_EVENTS, PROMPT_EVENT
from .mapping.values import parse_json, to_jsonable
from .stats import ExportStats

__all__ = ["CAPTURED_EVENTS", "GenAILogRecordProcessor", "GenAILogStore", "LogEvent", "log_record_event"]

CAPTURED_EVENTS = frozenset({DETAILS_EVENT, *MESSAGE_EVENTS, CHOICE_EVENT, PROMPT_EVENT, COMPLETION_EVENT})
EVENT_NAME_ATTRIBUTES = ("event.name", "gen_ai.event.name")

# (event name, attributes) in the form span events have: the body's fields flattened in.
LogEvent = tuple[str, dict[str, Any]]


class _Entry:
    __slots__ = ("touched", "records", "size")

    def __init__(self, now: float) -> None:
        self.touched = now
        self.records: list[LogEvent] = []
        self.size = 0


class GenAILogStore:
    """Log-record content per span, bounded in spans, records per span, bytes and age. Thread-safe."""

    def __init__(self, max_spans: int = 10_000, max_records_per_span: int = 512, max_bytes: int = 64 * 2**20,
                 ttl_seconds: float = 900.0, stats: ExportStats | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_spans = max(1, max_spans)
        self.max_records_per_span = max(1, max_records_per_span)
        self.max_bytes = max(1, max_bytes)
        self.ttl_seconds = ttl_seconds
        self.stats = stats
        self._clock = clock
        self._entries: OrderedDict[tuple[int, int], _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.counters: dict[str, int] = {"stored": 0, "taken": 0}

    # ----- writes --------------------------------------------------------------------
    def add(self, trace_id: int, span_id: int, name: str, attributes: dict[str, Any]) -> bool:
        """Keep one record for the span; returns False when it was refused (counted)."""
        size = estimate_size(attributes) + len(name)
        now = self._clock()
        with self._lock:
            self._expire(now)
            if size > self.max_bytes:
                self._count("too_large")
                return False
            key = (trace_id, span_id)
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(now)
            elif len(entry.records) >= self.max_records_per_span:
                self._count("over_records_per_span")
                return False
            elif entry.size + size > self.max_bytes:
                self._count("too_large")
                return False
            entry.records.append((name, attributes))
            entry.size += size
            entry.touched = now
            self._entries.move_to_end(key)
            self._bytes += size
            self.counters["stored"] += 1
            self._evict()
        return True

    def take(self, trace_id: int, span_id: int) -> list[LogEvent]:
        """The span's records in emission order, removed from the store (empty when none)."""
        if not self._entries:  # asked for every span, usually empty: one read, no lock needed for it
            return []
        with self._lock:
            entry = self._entries.pop((trace_id, span_id), None)
            if entry is None:
                return []
            self._bytes -= entry.size
            self.counters["taken"] += len(entry.records)
            return entry.records

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    # ----- reads ---------------------------------------------------------------------
    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def snapshot(self) -> dict[str, Any]:
        """Counters (stored, taken, and every drop reason), spans held and bytes held."""
        with self._lock:
            return {**self.counters, "spans_held": len(self._entries), "bytes_held": self._bytes}

    # ----- bounds (caller holds the lock) -----------------------------------------------
    def _expire(self, now: float) -> None:
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if now - entry.touched <= self.ttl_seconds:
                return
            self._drop(key, "expired")

    def _evict(self) -> None:
        """Drop the least recently written spans beyond the bounds (never the newest one)."""
        while (len(self._entries) > self.max_spans or self._bytes > self.max_bytes) and len(self._entries) > 1:
            self._drop(next(iter(self._entries)), "evicted")

    def _drop(self, key: tuple[int, int], reason: str) -> None:
        entry = self._entries.pop(key)
        self._bytes -= entry.size
        self._count(reason, len(entry.records))

    def _count(self, reason: str, count: int = 1) -> None:
        self.counters[reason] = self.counters.get(reason, 0) + count
        if self.stats is not None and reason != "expired":
            self.stats.drop(f"log_records_{reason}", count)


class GenAILogRecordProcessor(LogRecordProcessor):
    """An SDK LogRecordProcessor that keeps GenAI content records for the span exporter.

    Add it to the `LoggerProvider` the instrumentations use (before instrumenting). It only
    copies the record into the store: cheap, and it never raises into the application.
    """

    def __init__(self, store: GenAILogStore | None = None, event_names: frozenset[str] = CAPTURED_EVENTS) -> None:
        self.store = store if store is not None else GenAILogStore()
        self.event_names = event_names
        self._shutdown = False

    def on_emit(self, log_record: Any) -> None:
        if self._shutdown:
            return
        try:
            found = log_record_event(log_record, self.event_names)
            if found is not None:
                trace_id, span_id, name, attributes = found
                self.store.add(trace_id, span_id, name, attributes)
        except Exception:  # noqa: BLE001 - never raise into the application
            return

    # SDK < 1.35 called `emit(log_data)`.
    emit = on_emit

    def shutdown(self) -> None:
        """Stop accepting records; what is held stays for spans still to be exported."""
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def log_record_event(data: Any, event_names: frozenset[str] = CAPTURED_EVENTS) -> tuple[int, int, str, dict] | None:
    """(trace_id, span_id, event name, attributes) of a GenAI content record, else None.

    Accepts the SDK's ReadWriteLogRecord (1.39+), LogData (older) or a bare LogRecord. The
    body's fields are flattened into the attributes, the way span events carry them.
    """
    record = getattr(data, "log_record", data)
    attributes = dict(getattr(record, "attributes", None) or {})
    name = getattr(record, "event_name", None)
    for key in EVENT_NAME_ATTRIBUTES:
        value = attributes.pop(key, None)
        if not name and isinstance(value, str):
            name = value
    if not isinstance(name, str) or name not in event_names:
        return None
    trace_id = getattr(record, "trace_id", None) or 0
    span_id = getattr(record, "span_id", None) or 0
    flags = getattr(record, "trace_flags", None)
    if not trace_id or not span_id or (flags is not None and not int(flags) & 0x01):
        return None  # no span to join, or a span that is not sampled (never exported)
    merged = to_jsonable(attributes)
    content = merged.pop("gen_ai.event.content", None)
    if isinstance(content, str) and isinstance(parse_json(content), dict):
        merged = {**merged, **parse_json(content)}
    body = getattr(record, "body", None)
    if isinstance(body, dict):
        merged.update(to_jsonable(body))
    elif body is not None:
        merged.setdefault("content", to_jsonable(body))
    return int(trace_id), int(span_id), name, merged


def estimate_size(value: Any, limit: int = 1 << 40) -> int:
    """A cheap byte estimate of a JSON-safe value (iterative, no serialisation)."""
    total = 0
    stack = [value]
    while stack and total < limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2
            for key, inner in item.items():
                total += len(str(key)) + 4
                stack.append(inner)
        elif isinstance(item, (list, tuple)):
            total += 2
            stack.extend(item)
        else:
            total += 8
    return total
