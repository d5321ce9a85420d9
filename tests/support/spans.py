"""Serialise OpenTelemetry SDK spans (and log records) to JSON and rebuild real SDK objects from it.

Fixtures in ``tests/fixtures/spans/*.json`` are written with :func:`span_to_dict` by ``tools/capture_spans.py``
and replayed with :func:`load_spans`, which returns genuine ``opentelemetry.sdk.trace.ReadableSpan`` objects
(with ``Resource``, ``InstrumentationScope``, ``SpanContext``, ``Event``, ``Link`` and ``Status``), so they can be
fed to any ``SpanExporter.export()`` / ``SpanProcessor.on_end()`` exactly as if produced live.

JSON form of attribute values (the SDK only stores primitives and homogeneous tuples; log records may also
carry nested AnyValue maps/lists and bytes):

* ``str`` / ``int`` / ``bool`` / ``None``: as is; finite ``float``: as is (Python's JSON float repr
  round-trips exactly, and ``1.0`` stays a float);
* non-finite float: ``{"$float": "nan" | "inf" | "-inf"}``;
* ``tuple``: ``{"$tuple": [...]}`` (restored as a tuple); ``list``: a plain JSON list (restored as a list);
* ``bytes``: ``{"$bytes": "<base64>"}``;
* ``dict``: a plain JSON object, or ``{"$map": {...}}`` when the dict itself looks like one of these tags.
"""

from __future__ import annotations

import base64
import json
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

__all__ = [
    "CapturingExporter",
    "decode_value",
    "dict_to_log_record",
    "dict_to_span",
    "encode_value",
    "load_fixture",
    "load_logs",
    "load_spans",
    "log_record_to_dict",
    "logs_to_json",
    "span_to_dict",
    "spans_to_json",
]

_TAGS = ("$tuple", "$float", "$bytes", "$map")
TRUNCATION_MARKER = "...[truncated by span_to_dict: {n} chars total]"


# --------------------------------------------------------------------------------------------- values


def encode_value(value: Any, max_str_len: int | None = None) -> Any:
    """Encode one attribute / AnyValue into JSON-safe data (see module docstring)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        if max_str_len is not None and len(value) > max_str_len:
            return value[:max_str_len] + TRUNCATION_MARKER.format(n=len(value))
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return {"$float": "nan"}
        if math.isinf(value):
            return {"$float": "inf" if value > 0 else "-inf"}
        return value
    if isinstance(value, tuple):
        return {"$tuple": [encode_value(v, max_str_len) for v in value]}
    if isinstance(value, list):
        return [encode_value(v, max_str_len) for v in value]
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        enc = {str(k): encode_value(v, max_str_len) for k, v in value.items()}
        if len(enc) == 1 and next(iter(enc)) in _TAGS:
            return {"$map": enc}
        return enc
    # other sequences (e.g. a custom Sequence type) -> tuple, like the SDK does
    if isinstance(value, Sequence):
        return {"$tuple": [encode_value(v, max_str_len) for v in value]}
    raise TypeError(f"cannot encode attribute value of type {type(value).__name__}: {value!r}")


def decode_value(data: Any) -> Any:
    """Inverse of :func:`encode_value`."""
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if isinstance(data, dict):
        if len(data) == 1:
            ((tag, inner),) = data.items()
            if tag == "$tuple":
                return tuple(decode_value(v) for v in inner)
            if tag == "$float":
                return float(inner)
            if tag == "$bytes":
                return base64.b64decode(inner)
            if tag == "$map":
                return {k: decode_value(v) for k, v in inner.items()}
        return {k: decode_value(v) for k, v in data.items()}
    return data


def _encode_attrs(attrs: Mapping[str, Any] | None, max_str_len: int | None = None) -> dict[str, Any]:
    return {str(k): encode_value(v, max_str_len) for k, v in (attrs or {}).items()}


def _decode_attrs(data: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: decode_value(v) for k, v in (data or {}).items()}


def _frozen(data: Mapping[str, Any] | None) -> BoundedAttributes:
    # what the SDK stores on ended spans/events/links: an immutable BoundedAttributes (no limits here)
    return BoundedAttributes(maxlen=None, attributes=_decode_attrs(data), immutable=True)


# --------------------------------------------------------------------------------------------- contexts


def _ctx_to_dict(ctx: SpanContext) -> dict[str, Any]:
    return {
        "trace_id": trace_api.format_trace_id(ctx.trace_id),
        "span_id": trace_api.format_span_id(ctx.span_id),
        "trace_flags": int(ctx.trace_flags),
        "trace_state": [[k, v] for k, v in (ctx.trace_state or {}).items()],
        "is_remote": bool(ctx.is_remote),
    }


def _dict_to_ctx(d: Mapping[str, Any], trace_id: str | None = None) -> SpanContext:
    return SpanContext(
        trace_id=int(d.get("trace_id") or trace_id, 16),
        span_id=int(d["span_id"], 16),
        is_remote=bool(d.get("is_remote", False)),
        trace_flags=TraceFlags(int(d.get("trace_flags", 1))),
        trace_state=TraceState([tuple(kv) for kv in d.get("trace_state") or []]),
    )


def _resource_to_dict(resource: Resource | None) -> dict[str, Any]:
    if resource is None:
        return {"attributes": {}, "schema_url": ""}
    return {"attributes": _encode_attrs(resource.attributes), "schema_url": resource.schema_url or ""}


def _dict_to_resource(d: Mapping[str, Any] | None) -> Resource:
    d = d or {}
    return Resource(_decode_attrs(d.get("attributes")), d.get("schema_url") or None)


def _scope_to_dict(scope: InstrumentationScope | None) -> dict[str, Any] | None:
    if scope is None:
        return None
    return {
        "name": scope.name,
        "version": scope.version,
        "schema_url": scope.schema_url or "",
        "attributes": _encode_attrs(scope.attributes),
    }


def _dict_to_scope(d: Mapping[str, Any] | None) -> InstrumentationScope | None:
    if d is None:
        return None
    return InstrumentationScope(
        d["name"], d.get("version"), d.get("schema_url") or None, _decode_attrs(d.get("attributes")) or None
    )


# --------------------------------------------------------------------------------------------- spans


def span_to_dict(span: ReadableSpan, max_str_len: int | None = None) -> dict[str, Any]:
    """A faithful JSON-able dict of an SDK ``ReadableSpan``.

    ``max_str_len`` (off by default) truncates attribute strings longer than that, appending a marker.
    """
    ctx = span.context
    parent = span.parent
    status = span.status
    return {
        "name": span.name,
        "context": _ctx_to_dict(ctx) if ctx is not None else None,
        "parent": _ctx_to_dict(parent) if parent is not None else None,
        "kind": span.kind.name,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": {"code": status.status_code.name, "description": status.description},
        "attributes": _encode_attrs(span.attributes, max_str_len),
        "events": [
            {"name": e.name, "timestamp": e.timestamp, "attributes": _encode_attrs(e.attributes, max_str_len)}
            for e in span.events
        ],
        "links": [
            {"context": _ctx_to_dict(link.context), "attributes": _encode_attrs(link.attributes, max_str_len)}
            for link in span.links
        ],
        "resource": _resource_to_dict(span.resource),
        "instrumentation_scope": _scope_to_dict(span.instrumentation_scope),
    }


def dict_to_span(d: Mapping[str, Any]) -> ReadableSpan:
    """Rebuild a real ``opentelemetry.sdk.trace.ReadableSpan`` from :func:`span_to_dict` output."""
    ctx = _dict_to_ctx(d["context"]) if d.get("context") else None
    parent = None
    if d.get("parent"):
        parent = _dict_to_ctx(d["parent"], trace_id=d["context"]["trace_id"] if d.get("context") else None)
    status_d = d.get("status") or {}
    code = StatusCode[status_d.get("code", "UNSET")]
    # Status() drops (and warns about) a description on non-ERROR codes; only pass it where the SDK keeps it
    status = Status(code, status_d.get("description") if code is StatusCode.ERROR else None)
    events = [
        Event(e["name"], _frozen(e.get("attributes")), e.get("timestamp")) for e in d.get("events") or []
    ]
    links = [Link(_dict_to_ctx(lk["context"]), _frozen(lk.get("attributes"))) for lk in d.get("links") or []]
    return ReadableSpan(
        name=d["name"],
        context=ctx,
        parent=parent,
        resource=_dict_to_resource(d.get("resource")),
        attributes=_frozen(d.get("attributes")),
        events=tuple(events),
        links=tuple(links),
        kind=SpanKind[d.get("kind", "INTERNAL")],
        status=status,
        start_time=d.get("start_time"),
        end_time=d.get("end_time"),
        instrumentation_scope=_dict_to_scope(d.get("instrumentation_scope")),
    )


def spans_to_json(
    spans: Iterable[ReadableSpan], indent: int | None = 1, max_str_len: int | None = None
) -> str:
    return json.dumps(
        [span_to_dict(s, max_str_len) for s in spans], indent=indent, ensure_ascii=False, allow_nan=False
    )


def load_fixture(path: str | Path) -> dict[str, Any]:
    """The raw fixture document (``{"scenario", "generator", "env", "spans", ["logs"]}``)."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if isinstance(data, list):  # a bare spans_to_json() dump
        return {"spans": data}
    return data


def load_spans(path: str | Path) -> list[ReadableSpan]:
    """The spans of a fixture file (or of a bare ``spans_to_json`` list), as real SDK ReadableSpans, in order."""
    return [dict_to_span(d) for d in load_fixture(path).get("spans", [])]


# --------------------------------------------------------------------------------------------- log records


def log_record_to_dict(record: Any, max_str_len: int | None = None) -> dict[str, Any]:
    """JSON-able dict of an SDK ``ReadableLogRecord`` / ``ReadWriteLogRecord`` (or a bare API ``LogRecord``)."""
    lr = getattr(record, "log_record", record)
    resource = getattr(record, "resource", None)
    scope = getattr(record, "instrumentation_scope", None)
    sev = lr.severity_number
    return {
        "event_name": getattr(lr, "event_name", None),
        "timestamp": lr.timestamp,
        "observed_timestamp": lr.observed_timestamp,
        "trace_id": trace_api.format_trace_id(lr.trace_id) if lr.trace_id else None,
        "span_id": trace_api.format_span_id(lr.span_id) if lr.span_id else None,
        "trace_flags": int(lr.trace_flags) if lr.trace_flags is not None else None,
        "severity_text": lr.severity_text,
        "severity_number": sev.name if sev is not None else None,
        "body": encode_value(lr.body, max_str_len),
        "attributes": _encode_attrs(lr.attributes, max_str_len),
        "resource": _resource_to_dict(resource),
        "instrumentation_scope": _scope_to_dict(scope),
    }


def dict_to_log_record(d: Mapping[str, Any]) -> Any:
    """Rebuild an SDK ``ReadableLogRecord`` (trace/span ids restored via a non-recording span context)."""
    from opentelemetry._logs import LogRecord, SeverityNumber
    from opentelemetry.sdk._logs import ReadableLogRecord

    context = None
    if d.get("trace_id") and d.get("span_id"):
        sc = SpanContext(
            int(d["trace_id"], 16),
            int(d["span_id"], 16),
            is_remote=False,
            trace_flags=TraceFlags(d.get("trace_flags") or 0),
        )
        context = trace_api.set_span_in_context(trace_api.NonRecordingSpan(sc))
    else:
        context = trace_api.set_span_in_context(trace_api.INVALID_SPAN)
    attrs = BoundedAttributes(
        maxlen=None, attributes=_decode_attrs(d.get("attributes")), immutable=True, extended_attributes=True
    )
    lr = LogRecord(
        timestamp=d.get("timestamp"),
        observed_timestamp=d.get("observed_timestamp"),
        context=context,
        severity_text=d.get("severity_text"),
        severity_number=SeverityNumber[d["severity_number"]] if d.get("severity_number") else None,
        body=decode_value(d.get("body")),
        attributes=attrs,
        event_name=d.get("event_name"),
    )
    return ReadableLogRecord(
        log_record=lr,
        resource=_dict_to_resource(d.get("resource")),
        instrumentation_scope=_dict_to_scope(d.get("instrumentation_scope")),
    )


def logs_to_json(records: Iterable[Any], indent: int | None = 1, max_str_len: int | None = None) -> str:
    return json.dumps(
        [log_record_to_dict(r, max_str_len) for r in records],
        indent=indent,
        ensure_ascii=False,
        allow_nan=False,
    )


def load_logs(path: str | Path) -> list[Any]:
    """The ``"logs"`` of a fixture file as SDK ``ReadableLogRecord`` objects (empty list if none)."""
    return [dict_to_log_record(d) for d in load_fixture(path).get("logs", [])]


# --------------------------------------------------------------------------------------------- exporter


class CapturingExporter(SpanExporter):
    """A thread-safe in-order span sink (InMemorySpanExporter plus a few conveniences).

    ``fail=True`` makes ``export`` return FAILURE (while still recording), to test error paths.
    """

    def __init__(self, fail: bool = False) -> None:
        self._lock = threading.Lock()
        self._spans: list[ReadableSpan] = []
        self.batches: list[int] = []
        self.fail = fail
        self.shutdown_called = False
        self.force_flush_calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.shutdown_called:
            return SpanExportResult.FAILURE
        with self._lock:
            self._spans.extend(spans)
            self.batches.append(len(spans))
        return SpanExportResult.FAILURE if self.fail else SpanExportResult.SUCCESS

    @property
    def spans(self) -> list[ReadableSpan]:
        with self._lock:
            return list(self._spans)

    def get_finished_spans(self) -> tuple[ReadableSpan, ...]:  # InMemorySpanExporter compatibility
        return tuple(self.spans)

    def names(self) -> list[str]:
        return [s.name for s in self.spans]

    def by_name(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [span_to_dict(s) for s in self.spans]

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()
            self.batches.clear()

    def shutdown(self) -> None:
        self.shutdown_called = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.force_flush_calls += 1
        return True
