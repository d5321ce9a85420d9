"""OTLP trace data (protobuf or JSON) and the SDK's console output, turned back into `ReadableSpan`s.

Why: the relay and `honeyhive-otel convert` must map spans that arrive over the wire or
from a file exactly as the in-process exporter maps live ones, so every detail the mapper
reads survives: attribute types (int/float/bool/str/bytes, arrays as tuples, kvlists as
dicts) and order, resource, instrumentation scope (name, version, schema URL, attributes),
kind, status, events, links, timestamps in nanoseconds, the parent and whether it is remote.

Accepted forms:
- OTLP protobuf `ExportTraceServiceRequest` (needs `opentelemetry-proto`, the
  `honeyhive-otel[relay]` extra);
- OTLP/JSON (`{"resourceSpans": [...]}`): lowerCamelCase or snake_case keys, hex ids
  (the OTLP spec) or base64 ids (protobuf's generic JSON mapping), 64-bit integers as
  numbers or strings, enums as integers or names. Pure Python, no extra needed;
- the SDK's `ConsoleSpanExporter` / `ReadableSpan.to_json()` objects (no scope; times in
  microseconds), as written to a file one after another.
Malformed input raises `OTLPError` with a message that says where.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

__all__ = ["OTLPError", "decode_request_protobuf", "encode_response_json", "encode_response_protobuf",
           "encode_status_json", "encode_status_protobuf", "iter_json_documents", "protobuf_available",
           "spans_from_console", "spans_from_document", "spans_from_json", "spans_from_protobuf",
           "spans_from_text"]

# OTLP Span.SpanKind numbers -> SDK kinds (0, unspecified, is INTERNAL as the spec advises).
_KINDS = {0: SpanKind.INTERNAL, 1: SpanKind.INTERNAL, 2: SpanKind.SERVER, 3: SpanKind.CLIENT,
          4: SpanKind.PRODUCER, 5: SpanKind.CONSUMER}
_KIND_NAMES = {"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2,
               "SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5}
_STATUS = {0: StatusCode.UNSET, 1: StatusCode.OK, 2: StatusCode.ERROR}
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
_MAX_DEPTH = 32  # nested AnyValue arrays/kvlists deeper than this are refused
_UNSET_STATUS = Status(StatusCode.UNSET)


class OTLPError(ValueError):
    """The payload is not valid OTLP trace data (answered 400 by the relay)."""


# ----------------------------------------------------------------------------- shared builders
def _context(trace_id: int, span_id: int, trace_state: str = "", flags: int = 0,
             is_remote: bool = False) -> SpanContext:
    state = TraceState.from_header([trace_state]) if trace_state else None
    trace_flags = TraceFlags(flags & 0xFF) if flags & 0xFF else TraceFlags(TraceFlags.SAMPLED)
    return SpanContext(trace_id, span_id, is_remote, trace_flags, state)


def _status(code: int, description: str) -> Status:
    status_code = _STATUS.get(code, StatusCode.UNSET)
    if status_code is StatusCode.UNSET:
        return _UNSET_STATUS
    # The SDK keeps a description only on ERROR; do the same so events match the in-process path.
    return Status(status_code, (description or None) if status_code is StatusCode.ERROR else None)


def _span(name: str, trace_id: int, span_id: int, parent_span_id: int, flags: int, trace_state: str,
          kind: int, start: int, end: int, attributes: dict[str, Any], events: tuple[Event, ...],
          links: tuple[Link, ...], status: Status, resource: Resource,
          scope: InstrumentationScope | None) -> ReadableSpan:
    if trace_id == 0 or span_id == 0:
        raise OTLPError(f"span {name!r} has an empty trace_id or span_id")
    parent = None
    if parent_span_id:
        parent = _context(trace_id, parent_span_id, "", 0, bool(flags & _HAS_IS_REMOTE and flags & _IS_REMOTE))
    return ReadableSpan(
        name=name, context=_context(trace_id, span_id, trace_state, flags), parent=parent, resource=resource,
        attributes=attributes, events=events, links=links, kind=_KINDS.get(kind, SpanKind.INTERNAL),
        status=status, start_time=start or None, end_time=end or None, instrumentation_scope=scope,
    )


# ----------------------------------------------------------------------------- protobuf
def protobuf_available() -> bool:
    """True when `opentelemetry-proto` (the `honeyhive-otel[relay]` extra) can be imported."""
    try:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2  # noqa: F401
    except ImportError:
        return False
    return True


def decode_request_protobuf(data: bytes) -> Any:
    """Parse an `ExportTraceServiceRequest`; raises OTLPError (bad bytes) or ImportError (no extra)."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise OTLPError(f"invalid ExportTraceServiceRequest protobuf: {error}") from None
    return request


def spans_from_protobuf(data: bytes | Any) -> list[ReadableSpan]:
    """Spans of a protobuf `ExportTraceServiceRequest` (bytes or an already parsed message)."""
    request = decode_request_protobuf(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    spans: list[ReadableSpan] = []
    for resource_spans in request.resource_spans:
        resource = Resource(_pb_attributes(resource_spans.resource.attributes), resource_spans.schema_url or None)
        for scope_spans in resource_spans.scope_spans:
            scope = _pb_scope(scope_spans)
            for span in scope_spans.spans:
                spans.append(_pb_span(span, resource, scope))
    return spans


def _pb_scope(scope_spans: Any) -> InstrumentationScope | None:
    if not scope_spans.HasField("scope"):
        return None
    scope = scope_spans.scope
    return InstrumentationScope(scope.name, scope.version or None, scope_spans.schema_url or None,
                                _pb_attributes(scope.attributes) or None)


def _pb_id(raw: bytes, size: int, what: str) -> int:
    if not raw:
        return 0
    if len(raw) != size:
        raise OTLPError(f"{what} must be {size} bytes, got {len(raw)}")
    return int.from_bytes(raw, "big")


def _pb_span(span: Any, resource: Resource, scope: InstrumentationScope | None) -> ReadableSpan:
    trace_id = _pb_id(span.trace_id, 16, "trace_id")
    events = tuple(Event(e.name, _pb_attributes(e.attributes), e.time_unix_nano or None) for e in span.events)
    links = tuple(
        Link(_context(_pb_id(link.trace_id, 16, "link trace_id"), _pb_id(link.span_id, 8, "link span_id"),
                      link.trace_state, link.flags, bool(link.flags & _HAS_IS_REMOTE and link.flags & _IS_REMOTE)),
             _pb_attributes(link.attributes))
        for link in span.links
    )
    status = _status(span.status.code, span.status.message) if span.HasField("status") else _UNSET_STATUS
    return _span(span.name, trace_id, _pb_id(span.span_id, 8, "span_id"), _pb_id(span.parent_span_id, 8,
                 "parent_span_id"), span.flags, span.trace_state, span.kind, span.start_time_unix_nano,
                 span.end_time_unix_nano, _pb_attributes(span.attributes), events, links, status, resource, scope)


def _pb_attributes(key_values: Any) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value, 0) for kv in key_values}


def _pb_value(value: Any, depth: int) -> Any:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind is None:
        return None
    if depth >= _MAX_DEPTH:
        raise OTLPError("attribute value nested too deeply")
    if kind == "array_value":
        return tuple(_pb_value(item, depth + 1) for item in value.array_value.values)
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return bytes(value.bytes_value)
    return None


# ----------------------------------------------------------------------------- OTLP/JSON
def _field(obj: Mapping[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    value = obj.get(camel)
    if value is None:
        value = obj.get(snake, default)
    return default if value is None else value


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise OTLPError(f"{where} must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise OTLPError(f"{where} must be an array")
    return value


def _json_int(value: Any, where: str) -> int:
    """64-bit integers arrive as numbers or (per proto3 JSON) decimal strings."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise OTLPError(f"{where} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise OTLPError(f"{where} must be an integer, got {value!r}")


def _json_enum(value: Any, names: dict[str, int], where: str) -> int:
    if isinstance(value, str) and value in names:
        return names[value]
    return _json_int(value, where)


def _json_id(value: Any, size: int, where: str) -> int:
    """Hex ids (OTLP/JSON) or base64 ids (protobuf's generic JSON mapping); empty is 0."""
    if value is None or value == "":
        return 0
    if not isinstance(value, str):
        raise OTLPError(f"{where} must be a string")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    if len(text) == size * 2:
        try:
            return int(text, 16)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == size:
        return int.from_bytes(raw, "big")
    raise OTLPError(f"{where} must be {size * 2} hex digits, got {value!r}")


def _json_value(value: Any, where: str, depth: int = 0) -> Any:
    """An OTLP/JSON AnyValue (`{"stringValue": ...}` etc.) as the Python value the SDK would hold."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise OTLPError(f"{where} must be an AnyValue object")
    if depth > _MAX_DEPTH:
        raise OTLPError(f"{where} is nested too deeply")
    for camel, snake in (("stringValue", "string_value"), ("boolValue", "bool_value"), ("intValue", "int_value"),
                         ("doubleValue", "double_value"), ("arrayValue", "array_value"),
                         ("kvlistValue", "kvlist_value"), ("bytesValue", "bytes_value")):
        if camel in value or snake in value:
            raw = value[camel] if camel in value else value[snake]
            return _json_typed(camel, raw, where, depth)
    return None


def _json_typed(kind: str, raw: Any, where: str, depth: int) -> Any:
    if kind == "stringValue":
        if not isinstance(raw, str):
            raise OTLPError(f"{where}.stringValue must be a string")
        return raw
    if kind == "boolValue":
        if not isinstance(raw, bool):
            raise OTLPError(f"{where}.boolValue must be a boolean")
        return raw
    if kind == "intValue":
        return _json_int(raw, f"{where}.intValue")
    if kind == "doubleValue":
        if isinstance(raw, str) and raw in ("NaN", "Infinity", "-Infinity"):
            return float(raw.replace("Infinity", "inf"))
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise OTLPError(f"{where}.doubleValue must be a number")
        try:
            return float(raw)
        except ValueError:
            raise OTLPError(f"{where}.doubleValue must be a number") from None
    if kind == "arrayValue":
        items = _list(_obj(raw, f"{where}.arrayValue").get("values"), f"{where}.arrayValue.values")
        return tuple(_json_value(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(items))
    if kind == "kvlistValue":
        items = _list(_obj(raw, f"{where}.kvlistValue").get("values"), f"{where}.kvlistValue.values")
        return _json_attributes(items, where, depth + 1)
    if not isinstance(raw, str):
        raise OTLPError(f"{where}.bytesValue must be a base64 string")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise OTLPError(f"{where}.bytesValue must be base64") from None


def _json_attributes(items: Any, where: str, depth: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for index, item in enumerate(_list(items, f"{where}.attributes")):
        item = _obj(item, f"{where}.attributes[{index}]")
        key = item.get("key")
        if not isinstance(key, str):
            raise OTLPError(f"{where}.attributes[{index}].key must be a string")
        result[key] = _json_value(item.get("value"), f"{where}.attributes[{key!r}]", depth)
    return result


def spans_from_json(document: Mapping[str, Any] | bytes | str) -> list[ReadableSpan]:
    """Spans of an OTLP/JSON `ExportTraceServiceRequest` / `TracesData` (`{"resourceSpans": [...]}`)."""
    if isinstance(document, (bytes, bytearray, str)):
        try:
            document = json.loads(document)
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise OTLPError(f"body is not valid JSON: {str(error)[:200]}") from None
    document = _obj(document, "request")
    spans: list[ReadableSpan] = []
    for r_index, resource_spans in enumerate(_list(_field(document, "resourceSpans", "resource_spans"),
                                                   "resourceSpans")):
        where = f"resourceSpans[{r_index}]"
        resource_spans = _obj(resource_spans, where)
        resource_doc = _obj(resource_spans.get("resource"), f"{where}.resource")
        resource = Resource(_json_attributes(resource_doc.get("attributes"), f"{where}.resource"),
                            _field(resource_spans, "schemaUrl", "schema_url") or None)
        for s_index, scope_spans in enumerate(_list(_field(resource_spans, "scopeSpans", "scope_spans"),
                                                    f"{where}.scopeSpans")):
            swhere = f"{where}.scopeSpans[{s_index}]"
            scope_spans = _obj(scope_spans, swhere)
            scope = _json_scope(scope_spans, swhere)
            for index, span in enumerate(_list(scope_spans.get("spans"), f"{swhere}.spans")):
                spans.append(_json_span(_obj(span, f"{swhere}.spans[{index}]"), f"{swhere}.spans[{index}]",
                                        resource, scope))
    return spans


def _json_scope(scope_spans: Mapping[str, Any], where: str) -> InstrumentationScope | None:
    if scope_spans.get("scope") is None:
        return None
    scope = _obj(scope_spans["scope"], f"{where}.scope")
    name = scope.get("name") or ""
    version = scope.get("version") or None
    if not isinstance(name, str) or not isinstance(version, (str, type(None))):
        raise OTLPError(f"{where}.scope name and version must be strings")
    return InstrumentationScope(name, version, _field(scope_spans, "schemaUrl", "schema_url") or None,
                                _json_attributes(scope.get("attributes"), f"{where}.scope") or None)


def _json_span(span: Mapping[str, Any], where: str, resource: Resource,
               scope: InstrumentationScope | None) -> ReadableSpan:
    name = span.get("name") or ""
    if not isinstance(name, str):
        raise OTLPError(f"{where}.name must be a string")
    trace_id = _json_id(_field(span, "traceId", "trace_id"), 16, f"{where}.traceId")
    events = tuple(
        Event(str(_obj(e, f"{where}.events[{i}]").get("name") or ""),
              _json_attributes(e.get("attributes"), f"{where}.events[{i}]"),
              _json_int(_field(e, "timeUnixNano", "time_unix_nano"), f"{where}.events[{i}].timeUnixNano") or None)
        for i, e in enumerate(_list(span.get("events"), f"{where}.events"))
    )
    links = []
    for i, link in enumerate(_list(span.get("links"), f"{where}.links")):
        link = _obj(link, f"{where}.links[{i}]")
        flags = _json_int(link.get("flags"), f"{where}.links[{i}].flags")
        context = _context(_json_id(_field(link, "traceId", "trace_id"), 16, f"{where}.links[{i}].traceId"),
                           _json_id(_field(link, "spanId", "span_id"), 8, f"{where}.links[{i}].spanId"),
                           _field(link, "traceState", "trace_state", ""), flags,
                           bool(flags & _HAS_IS_REMOTE and flags & _IS_REMOTE))
        links.append(Link(context, _json_attributes(link.get("attributes"), f"{where}.links[{i}]")))
    status_doc = _obj(span.get("status"), f"{where}.status")
    status = _status(_json_enum(status_doc.get("code"), _STATUS_NAMES, f"{where}.status.code"),
                     str(status_doc.get("message") or ""))
    trace_state = _field(span, "traceState", "trace_state", "")
    return _span(
        name, trace_id, _json_id(_field(span, "spanId", "span_id"), 8, f"{where}.spanId"),
        _json_id(_field(span, "parentSpanId", "parent_span_id"), 8, f"{where}.parentSpanId"),
        _json_int(span.get("flags"), f"{where}.flags"), trace_state if isinstance(trace_state, str) else "",
        _json_enum(span.get("kind"), _KIND_NAMES, f"{where}.kind"),
        _json_int(_field(span, "startTimeUnixNano", "start_time_unix_nano"), f"{where}.startTimeUnixNano"),
        _json_int(_field(span, "endTimeUnixNano", "end_time_unix_nano"), f"{where}.endTimeUnixNano"),
        _json_attributes(span.get("attributes"), where), events, tuple(links), status, resource, scope,
    )


# ----------------------------------------------------------------------------- console output
def _iso_ns(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise OTLPError(f"{where} must be an ISO 8601 time")
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise OTLPError(f"{where} must be an ISO 8601 time, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    delta = moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _console_attributes(value: Any, where: str) -> dict[str, Any]:
    # The SDK stores sequences as tuples; JSON turned them into lists.
    return {str(k): tuple(v) if isinstance(v, list) else v for k, v in _obj(value, where).items()}


def _console_trace_state(value: Any) -> str:
    # repr(TraceState) is "[]" or "[('k', 'v'), ...]"; keep it only when it parses back.
    if not isinstance(value, str) or value in ("", "[]"):
        return ""
    import ast

    try:
        pairs = ast.literal_eval(value)
        return ",".join(f"{k}={v}" for k, v in pairs)
    except (ValueError, SyntaxError, TypeError):
        return ""


def spans_from_console(objects: list[Mapping[str, Any]]) -> list[ReadableSpan]:
    """Spans from `ConsoleSpanExporter` / `ReadableSpan.to_json()` objects (no scope, microsecond times)."""
    spans = []
    resources: dict[str, Resource] = {}
    for index, span in enumerate(objects):
        where = f"span[{index}]"
        span = _obj(span, where)
        context = _obj(span.get("context"), f"{where}.context")
        resource_doc = _obj(span.get("resource"), f"{where}.resource")
        key = json.dumps(resource_doc, sort_keys=True)
        resource = resources.get(key)
        if resource is None:
            resource = resources[key] = Resource(_console_attributes(resource_doc.get("attributes"), where),
                                                 resource_doc.get("schema_url") or None)
        trace_id = _json_id(context.get("trace_id"), 16, f"{where}.context.trace_id")
        kind_name = str(span.get("kind") or "SpanKind.INTERNAL").rsplit(".", 1)[-1]
        status_doc = _obj(span.get("status"), f"{where}.status")
        status_code = {"UNSET": 0, "OK": 1, "ERROR": 2}.get(str(status_doc.get("status_code") or "UNSET"), 0)
        events = tuple(Event(str(e.get("name") or ""), _console_attributes(e.get("attributes"), where),
                             _iso_ns(e.get("timestamp"), f"{where}.events[{i}].timestamp"))
                       for i, e in enumerate(_list(span.get("events"), f"{where}.events")))
        links = tuple(Link(_context(_json_id(_obj(link.get("context"), where).get("trace_id"), 16, where),
                                    _json_id(_obj(link.get("context"), where).get("span_id"), 8, where)),
                           _console_attributes(link.get("attributes"), where))
                      for link in _list(span.get("links"), f"{where}.links"))
        spans.append(_span(
            str(span.get("name") or ""), trace_id, _json_id(context.get("span_id"), 8, f"{where}.context.span_id"),
            _json_id(span.get("parent_id"), 8, f"{where}.parent_id"), 0,
            _console_trace_state(context.get("trace_state")), _KIND_NAMES.get(f"SPAN_KIND_{kind_name}", 1),
            _iso_ns(span.get("start_time"), f"{where}.start_time") or 0,
            _iso_ns(span.get("end_time"), f"{where}.end_time") or 0,
            _console_attributes(span.get("attributes"), where), events, links,
            _status(status_code, str(status_doc.get("description") or "")), resource, None,
        ))
    return spans


# ----------------------------------------------------------------------------- files
def iter_json_documents(text: str) -> Iterator[Any]:
    """Every JSON value in `text`: one per line (JSON Lines), concatenated, or pretty-printed."""
    decoder = json.JSONDecoder()
    index, size = 0, len(text)
    while True:
        while index < size and text[index] in " \t\r\n\ufeff":
            index += 1
        if index >= size:
            return
        try:
            value, index = decoder.raw_decode(text, index)
        except (ValueError, RecursionError) as error:
            raise OTLPError(f"invalid JSON at character {index}: {str(error)[:200]}") from None
        yield value


def spans_from_document(document: Any) -> list[ReadableSpan]:
    """Spans of one parsed JSON value: OTLP (`resourceSpans`), a console span, or a list of either."""
    if isinstance(document, list):
        spans: list[ReadableSpan] = []
        for item in document:
            spans.extend(spans_from_document(item))
        return spans
    if not isinstance(document, Mapping):
        raise OTLPError("expected an object with resourceSpans, or a span object")
    if "resourceSpans" in document or "resource_spans" in document:
        return spans_from_json(document)
    if "context" in document and "name" in document:
        return spans_from_console([document])
    raise OTLPError("expected an object with resourceSpans (OTLP JSON) or a ConsoleSpanExporter span")


def spans_from_text(text: str) -> list[ReadableSpan]:
    """All spans in a file's text: Collector file exporter output or ConsoleSpanExporter output."""
    spans: list[ReadableSpan] = []
    for document in iter_json_documents(text):
        spans.extend(spans_from_document(document))
    return spans


# ----------------------------------------------------------------------------- responses
def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _pb_string(field_number: int, text: str) -> bytes:
    raw = text.encode("utf-8")
    return _varint(field_number << 3 | 2) + _varint(len(raw)) + raw


def encode_response_protobuf(rejected: int = 0, message: str = "") -> bytes:
    """An `ExportTraceServiceResponse`, optionally with `partial_success` (hand-encoded, no extra needed)."""
    if not rejected and not message:
        return b""
    inner = b""
    if rejected:
        inner += _varint(1 << 3) + _varint(rejected)
    if message:
        inner += _pb_string(2, message)
    return _varint(1 << 3 | 2) + _varint(len(inner)) + inner


def encode_response_json(rejected: int = 0, message: str = "") -> bytes:
    if not rejected and not message:
        return b"{}"
    partial: dict[str, Any] = {}
    if rejected:
        partial["rejectedSpans"] = str(rejected)
    if message:
        partial["errorMessage"] = message
    return json.dumps({"partialSuccess": partial}).encode("utf-8")


def encode_status_protobuf(code: int, message: str) -> bytes:
    """A `google.rpc.Status` (the OTLP/HTTP error body) with `code` and `message`."""
    return _varint(1 << 3) + _varint(code) + _pb_string(2, message)


def encode_status_json(code: int, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}).encode("utf-8")
