"""Shared parts of the reliability suite: a real pipeline, span production timed on the app thread,
and the per-scenario result rows printed at the end of the run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span

from honeyhive_otel import HoneyHiveSpanExporter, HoneyHiveSpanProcessor
from honeyhive_otel.devserver import DevServer
from honeyhive_otel.ids import event_id_for

ROWS: list[Row] = []
HEADER = ("scenario", "spans", "stored", "dups", "dropped", "uncounted", "max_block_ms", "seconds", "guarantee")


@dataclass
class Row:
    """One scenario's outcome; `uncounted` = produced - stored - dropped must be 0."""

    scenario: str
    produced: int
    stored: int
    duplicates: int
    dropped: dict[str, int]
    max_block_ms: float
    seconds: float
    guarantee: str

    @property
    def uncounted(self) -> int:
        return self.produced - self.stored - sum(self.dropped.values())

    def cells(self) -> tuple[str, ...]:
        dropped = ",".join(f"{k}={v}" for k, v in sorted(self.dropped.items())) or "0"
        return (self.scenario, str(self.produced), str(self.stored), str(self.duplicates), dropped,
                str(self.uncounted), f"{self.max_block_ms:.2f}", f"{self.seconds:.1f}", self.guarantee)


def record(row: Row) -> Row:
    """Keep the row for the end-of-run table and print it now (visible with `pytest -s`)."""
    ROWS.append(row)
    print("RELIABILITY " + " | ".join(f"{h}={c}" for h, c in zip(HEADER, row.cells(), strict=True)))
    return row


def table(rows: list[Row]) -> list[str]:
    cells = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return lines


@dataclass
class Pipeline:
    """TracerProvider -> HoneyHiveSpanProcessor(BatchSpanProcessor) -> HoneyHiveSpanExporter -> devserver."""

    provider: TracerProvider
    processor: HoneyHiveSpanProcessor
    exporter: HoneyHiveSpanExporter
    produced: list[str] = field(default_factory=list)
    produced_count: int = 0
    max_end_seconds: float = 0.0
    keep: bool = True  # False (soak): count spans and keep the slowest span.end(), not every id

    def produce(self, count: int, prefix: str = "span", **attributes: Any) -> list[str]:
        """End `count` spans on this thread (a chain root with a model child and a tool child per
        three spans), timing every `span.end()`; returns their event ids, in the order they ended."""
        tracer = self.provider.get_tracer("reliability")
        names: list[str] = []
        index = 0
        while index < count:
            root = tracer.start_span(f"{prefix} {index}")
            index += 1
            children = []
            for kind in ("model", "tool"):
                if index >= count:
                    break
                child = tracer.start_span(f"{prefix} {index}", context=_context_of(root))
                if kind == "model":
                    child.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                                          "gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 2})
                else:
                    child.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"})
                child.set_attributes(attributes)
                children.append(child)
                index += 1
            for span in [*children, root]:
                self._end(span)
                if self.keep:
                    context = span.get_span_context()
                    names.append(event_id_for(context.trace_id, context.span_id))
        self.produced.extend(names)
        self.produced_count += count
        return names

    def _end(self, span: Span) -> None:
        started = time.perf_counter()
        span.end()
        self.max_end_seconds = max(self.max_end_seconds, time.perf_counter() - started)

    @property
    def max_block_ms(self) -> float:
        return self.max_end_seconds * 1000

    def stats(self) -> dict[str, Any]:
        return self.exporter.stats.snapshot()

    def close(self) -> None:
        self.provider.shutdown()


def _context_of(span: Span) -> Any:
    from opentelemetry import trace

    return trace.set_span_in_context(span)


def make_pipeline(server: DevServer | str, **exporter_options: Any) -> Pipeline:
    url = server if isinstance(server, str) else server.url
    exporter_options.setdefault("merge_window", 0.3)
    exporter_options.setdefault("timeout", 10)
    exporter = HoneyHiveSpanExporter(server_url=url, **exporter_options)
    processor = HoneyHiveSpanProcessor(exporter)
    provider = TracerProvider(resource=Resource.create({"service.name": "reliability"}))
    provider.add_span_processor(processor)
    return Pipeline(provider, processor, exporter)


def stored_ids(server: DevServer) -> list[str]:
    return [event["event_id"] for event in server.store.events()]


def sent_event_ids(server: DevServer) -> set[str]:
    """Every event id any batch request carried (failed attempts included)."""
    ids: set[str] = set()
    for request in server.requests:
        if request.path == "/v1/events/batch" and isinstance(request.body, dict):
            ids.update(str(e.get("event_id")) for e in request.body.get("events") or [] if isinstance(e, dict))
    return ids


def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
