"""Turn one finished span into one HoneyHive event.

Pipeline: event type (SPEC §5) -> conventions fill a Draft (GenAI first, then the
family-specific modules) -> usage -> shape by type -> common fields (ids, times, error,
`metadata.otel`, unconsumed attributes). A convention that fails on hostile input leaves
a partial event and a `metadata.mapping_errors` note; mapping never raises.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind, StatusCode

from ..event import Event
from ..ids import event_id_for, event_id_from_hex, hex_ids, parent_event_id_for
from ..sessions import SessionResolver
from . import event_type, genai, litellm, openinference, openlit, traceloop, usage
from .attributes import SpanAttributes, worth_keeping
from .draft import Draft
from .limits import bound_event
from .shape import shape
from .values import as_list, is_blank, to_jsonable

_logger = logging.getLogger(__name__)

# Applied in this order: GenAI is the base that the families refine.
APPLY_ORDER = (genai, openinference, openlit, traceloop, litellm)
# The convention named in metadata.otel.convention: the most specific family that applies.
NAMING_ORDER = (litellm, openinference, openlit, traceloop, genai)

MAX_EXTRA_EVENTS = 32
# `_applicable`: answers kept (cleared when full).
MAX_APPLICABLE_KEPT = 64
MAX_STACKTRACE_CHARS = 8_000

SOURCE_KEYS = ("honeyhive.source", "honeyhive_source")
# Read from the span first, then from its resource.
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment", "gen_ai.environment")
_SOURCE_READ_KEYS = frozenset((*SOURCE_KEYS, *ENVIRONMENT_KEYS))
# Span kind -> its name: an enum member's `.name` is a Python-level property call (as is
# `StatusCode.name`: `_error` compares the member), and so is its hash: keyed by the member's id
# (members live as long as their enum).
_KIND_NAMES = {id(kind): kind.name for kind in SpanKind}
_STATUS_ERROR = StatusCode.ERROR  # (reading an enum member off its class is a descriptor call)
# `_times`: durations (in ms, times 1000) below this bound are rounded to 3 decimals without
# `round(x, 3)`, unless their fraction is within 2**-12 of a half.
_EXACT_SCALED_BOUND = float(2**40)
_BELOW_HALF, _ABOVE_HALF = 0.5 - 2.0**-12, 0.5 + 2.0**-12


@dataclass
class MappingOptions:
    """How spans are mapped; `source=None` means: from the span's environment, else production."""

    source: str | None = None
    debug: bool = False
    capture_content: bool = True
    max_value_chars: int = 4_000_000


class SpanMapper:
    """Maps spans to events; holds only the session resolver's bounded state."""

    def __init__(self, options: MappingOptions | None = None, sessions: SessionResolver | None = None,
                 log_store: Any = None) -> None:
        self.options = options or MappingOptions()
        self.sessions = sessions or SessionResolver()
        # A `honeyhive_otel.logs.GenAILogStore`: GenAI content that arrived as log records.
        self.log_store = log_store
        # (resource, its environment attributes, its first environment, its service name): the
        # spans of a provider share one resource, read once.
        self._resource_info: tuple[Any, dict[str, Any], str | None, str | None] = (object(), {}, None, None)
        # (attribute names, scope name, id of the resource[, _NO_EVENTS]) -> (the resource, `_applicable`'s answer).
        self._applicable_by_key: dict[tuple[Any, ...], tuple[Any, tuple[tuple[Any, ...], str]]] = {}

    def map(self, span: Any, bound: bool = True) -> Event:
        """The event of `span`; `bound=False` skips the bounding walk (the exporter bounds an event
        only when its encoding fails or is too long: the common case needs no second walk)."""
        try:
            event = self._map(span)
            return bound_event(event, self.options.max_value_chars) if bound else event
        except Exception as error:  # noqa: BLE001 - never raise into the exporter
            _logger.debug("mapping failed for a span", exc_info=True)
            return self._fallback(span, error)

    # ------------------------------------------------------------------------------
    def _map(self, span: Any) -> Event:
        attrs = SpanAttributes(span.attributes, self.options.debug)  # (positional: no keyword dict per span)
        is_litellm_request = litellm.is_request_span(attrs, span)
        draft = Draft(event_type.decide(attrs, is_litellm_request), str(span.name or "span"))
        errors: list[str] = []
        resource = getattr(span, "resource", None)
        applicable, convention = self._applicable(attrs, span, resource)
        draft.convention = convention
        for module in applicable:
            try:
                module.apply(attrs, span, draft)
            except Exception as error:  # noqa: BLE001 - partial event beats no event
                errors.append(f"{module.CONVENTION}: {type(error).__name__}")
        context = span.context
        trace_id, span_id = context.trace_id, context.span_id
        log_store = self.log_store
        try:  # the GenAI log records kept for this span (taken: each is used once)
            log_events = log_store.take(trace_id, span_id) if log_store is not None else ()
        except Exception:  # noqa: BLE001 - records are extra content, never a reason to fail
            log_events = ()
        if log_events:
            try:  # after the span's own content: log records only fill what is still empty
                genai.content_from_events(log_events, draft, as_list(attrs.peek("gen_ai.response.finish_reasons")))
            except Exception as error:  # noqa: BLE001
                errors.append(f"logs: {type(error).__name__}")
        metadata = draft.metadata
        for field, value in usage.read_usage(attrs).items():  # what a convention already put there stays
            metadata.setdefault(field, value)
        if draft.event_type == event_type.MODEL:
            usage.complete_total(metadata)
        if draft.disposition == "absorb" and not attrs.has_prefix("honeyhive"):
            return self._absorbed(attrs, span, draft, trace_id, span_id)
        inputs, outputs = shape(draft)
        start_ms, end_ms, duration = _times(span)
        resource_info = self._resource_of(resource)
        source = self._source(attrs, resource_info)
        session = self.sessions.resolve(attrs, draft, trace_id, source, start_ms)
        parent = span.parent
        parent_span_id = (parent.span_id or None) if parent is not None else None
        span_events = attrs.events(span)
        error = _error(attrs, span, span_events)
        if draft.error and error in (None, "Error"):  # a convention's specific error beats a bare "Error"
            error = draft.error
        session_id = session.session_id
        # The ids' hex digits, formatted once: they name the event and go into metadata.otel.
        trace_hex, span_hex, parent_hex = hex_ids(trace_id, span_id, parent_span_id)
        # Positional, in the order of Event's fields: keyword arguments to a dataclass of 24 fields
        # cost about a microsecond per event.
        event = Event(
            event_id_from_hex(trace_hex, span_hex),  # event_id
            session_id,
            parent_event_id_for(trace_id, parent_span_id) if parent_span_id else session_id,  # parent_id
            draft.event_type,
            draft.event_name,
            source,
            start_ms,
            end_ms,
            duration,
            error,
            inputs,
            outputs,
            draft.config,
            draft.metadata,
            draft.metrics,
            {**session.user_properties, **draft.user_properties},
            draft.feedback,
            trace_id,
            span_id,
            parent_span_id,
            bool(parent is not None and parent.is_remote),  # parent_is_remote
            session,
            convention,
            draft.disposition,
        )
        if attrs.has_prefix("honeyhive"):  # (every key the buckets read starts with it)
            _honeyhive_buckets(attrs, event)
        metadata = event.metadata
        scope_name, scope_version = attrs.scope(span)
        kind = getattr(span, "kind", None)
        kind_name = _KIND_NAMES[id(kind)] if type(kind) is SpanKind else getattr(kind, "name", "INTERNAL")
        otel = metadata["otel"] = {"scope": {"name": scope_name, "version": scope_version},
                                   "convention": convention, "trace_id": trace_hex, "span_id": span_hex,
                                   "kind": kind_name}
        if parent_hex is not None:
            otel["parent_span_id"] = parent_hex
        service = resource_info[3]
        if service is not None:
            otel["service_name"] = service
        if log_events:
            otel["log_records"] = len(log_events)
        if span_events:
            extra_events = _extra_events(span_events)
            if extra_events:
                otel["events"] = extra_events
        if errors:
            metadata["mapping_errors"] = errors
        unconsumed = attrs.unconsumed_dict()
        if unconsumed:
            metadata["attributes"] = unconsumed
        if self.options.debug and attrs.sources:
            otel["sources"] = dict(attrs.sources)
        return event

    def _applicable(self, attrs: SpanAttributes, span: Any, resource: Any) -> tuple[tuple[Any, ...], str]:
        """(the conventions that apply to `span`, in APPLY_ORDER; the one that names the event).

        A convention's `applies` reads the span's attribute names, its scope name and its resource;
        besides, maybe its events (`attrs.events`) and the values of the attributes it lists in
        `APPLIES_VALUE_KEYS`. An answer is kept for the next spans with the same names, scope name,
        resource and values of those attributes: the spans of one instrumentation ask the same question.
        An answer that read the span's events is kept only when there were none, for spans that
        have none either (LiteLLM's raw request span: no `gen_ai.*` names, so GenAI looks at events)."""
        scope_name = attrs.scope_name(span)
        # (The resource's id, not the resource: an SDK resource's hash encodes its attributes as
        # JSON. The kept answer holds the resource, so its id is not reused while kept.)
        key = (attrs.names, scope_name, id(resource)) if type(scope_name) is str else None
        read = attrs.present(_APPLIES_VALUE_KEYS)
        if read and key is not None:  # (OpenLIT's `telemetry.sdk.name`: its value, typed: 1 == True)
            raw = attrs.raw
            key = (*key, tuple((name, type(raw[name]), raw[name]) for name in read))
            try:
                hash(key)
            except TypeError:  # a value no dict can hold (not an SDK span's): asked every time
                key = None
        kept_answers = self._applicable_by_key
        kept = kept_answers.get(key)
        if kept is not None:
            return kept[1]
        if key is not None:
            kept = kept_answers.get((*key, _NO_EVENTS))
            if kept is not None and not attrs.events(span):  # (read here only for names that need them)
                return kept[1]
        applicable = []
        decided = True
        for module in APPLY_ORDER:
            try:
                if module.applies(attrs, span):
                    applicable.append(module)
            except Exception:  # noqa: BLE001 - a convention that cannot tell does not apply
                decided = False
        found = tuple(applicable)
        answer = (found, _CONVENTION_NAMES[found])
        if key is not None and decided and worth_keeping(attrs.names.keys):
            if attrs.events_read:
                if attrs.events(span):
                    return answer  # (it may depend on the events' names)
                key = (*key, _NO_EVENTS)
            if len(kept_answers) >= MAX_APPLICABLE_KEPT:
                kept_answers.clear()  # many distinct keys (not a few instrumentations'): start over
            kept_answers[key] = (resource, answer)
        return answer

    def _absorbed(self, attrs: SpanAttributes, span: Any, draft: Draft, trace_id: int, span_id: int) -> Event:
        """The event of a span that only adds detail to its parent's (LiteLLM's raw request span).

        The coalescer reads only its span ids, type, metadata (usage) and disposition, to re-point
        its children to its parent, then drops it: it is never sent, so its content, event ids,
        times and source are not worked out (left empty). Its session is still resolved, which
        remembers a session the span names for the rest of its trace."""
        session_id = self.sessions.session_id(attrs, draft, trace_id)
        parent = span.parent
        parent_span_id = parent.span_id if parent is not None and parent.span_id else None
        # Positional, as in `_map`; the buckets an absorbed event does not fill start empty.
        return Event(
            "",  # event_id: never sent
            session_id,
            "",  # parent_id
            draft.event_type,
            draft.event_name,
            "",  # source
            0.0,  # start_time
            0.0,  # end_time
            0.0,  # duration
            draft.error,
            {}, {}, {},  # inputs, outputs, config
            draft.metadata,
            {}, {}, {},  # metrics, user_properties, feedback
            trace_id,
            span_id,
            parent_span_id,
            bool(parent is not None and parent.is_remote),  # parent_is_remote
            None,  # session
            draft.convention,
            draft.disposition,
        )

    def _source(self, attrs: SpanAttributes, resource_info: tuple[Any, dict[str, Any], str | None, str | None]) -> str:
        """`resource_info`: `_resource_of` the span's resource."""
        present = attrs.present(_SOURCE_READ_KEYS)
        explicit = attrs.get(*SOURCE_KEYS) if present else None
        if explicit is not None and not is_blank(explicit):
            return str(explicit)
        if self.options.source:
            return self.options.source
        if not present:  # the common case: the span names no environment, its resource may
            return resource_info[2] or "production"
        resource = resource_info[1]
        for key in ENVIRONMENT_KEYS:
            value = attrs.peek(key) if key in present else resource[key]
            if not is_blank(value):
                return str(value)
        return "production"

    def _resource_of(self, resource: Any) -> tuple[Any, dict[str, Any], str | None, str | None]:
        """(resource, its `ENVIRONMENT_KEYS` (absent ones are None), the first of them that is set,
        its service name), read once per resource."""
        cached = self._resource_info
        if cached[0] is not resource:  # spans decoded by the relay share one resource per batch part, not per process
            attributes = getattr(resource, "attributes", None) or {}
            try:  # an SDK resource's `BoundedAttributes`: its `get` is a Python-level Mapping method, its copy a dict
                attributes = attributes.copy()
            except Exception:  # noqa: BLE001 - a mapping without copy(): read as is
                pass
            environment = {key: attributes.get(key) for key in ENVIRONMENT_KEYS}
            first = None
            for value in environment.values():
                if not is_blank(value):
                    first = str(value)
                    break
            service = attributes.get("service.name")
            cached = self._resource_info = (resource, environment, first, None if is_blank(service) else str(service))
        return cached

    def _fallback(self, span: Any, error: Exception) -> Event:
        """A minimal, valid event for a span the full mapping could not handle."""
        try:
            trace_id, span_id = span.context.trace_id, span.context.span_id
        except Exception:  # noqa: BLE001
            trace_id, span_id = 0, 0
        start_ms, end_ms, duration = _times(span)
        session_id = self.sessions.default_session_id
        parent = getattr(span, "parent", None)
        parent_span_id = getattr(parent, "span_id", None) if parent is not None else None
        source = self.options.source or "production"
        from ..event import SessionInfo

        return Event(
            event_id=event_id_for(trace_id, span_id), session_id=session_id,
            parent_id=event_id_for(trace_id, parent_span_id) if parent_span_id else session_id,
            event_type="chain", event_name=str(getattr(span, "name", "span") or "span")[:1000], source=source,
            start_time=start_ms, end_time=end_ms, duration=duration,
            metadata={"mapping_errors": [f"mapper: {type(error).__name__}"]},
            trace_id=trace_id, span_id=span_id, parent_span_id=parent_span_id,
            session=SessionInfo(session_id, self.sessions.session_name, source, start_ms),
        )


def _naming_convention(applicable: tuple[Any, ...]) -> str:
    """The most specific family that applies (NAMING_ORDER), else "otel"."""
    for module in NAMING_ORDER:
        if module in applicable:
            return module.CONVENTION
    return "otel"


# `_naming_convention` of every subset of the conventions that can apply to a span, in APPLY_ORDER
# (the order `_map` finds them in): 32 of them, worked out once.
_CONVENTION_NAMES = {applicable: _naming_convention(applicable) for size in range(len(APPLY_ORDER) + 1)
                     for applicable in itertools.combinations(APPLY_ORDER, size)}
# `_applicable`'s key of an answer that read the span's events, and found none.
_NO_EVENTS = "no events"
# The attributes whose values (not only their presence) some convention's `applies` reads.
_APPLIES_VALUE_KEYS = frozenset().union(*(getattr(module, "APPLIES_VALUE_KEYS", ()) for module in APPLY_ORDER))


def _times(span: Any) -> tuple[float, float, float]:
    """Start and end in epoch milliseconds, and the duration `round(end - start, 3)` between them;
    a span without an end time gets a zero duration."""
    start = getattr(span, "start_time", None)
    end = getattr(span, "end_time", None)
    if not isinstance(start, int) or start <= 0:
        start = end if isinstance(end, int) and end > 0 else time.time_ns()
    if not isinstance(end, int) or end < start:
        end = start
    start_ms, end_ms = start / 1e6, end / 1e6
    elapsed = end_ms - start_ms
    # `round(elapsed, 3)` without its decimal conversion: it is the float nearest to n / 1000, n the
    # integer nearest to elapsed * 1000. Below 2**40 the float product is within 2**-14 of the exact
    # one, so when its fraction is not within 2**-12 of a half, n is its floor or the next integer
    # (and an exact integer divided by 1000 is rounded to the nearest float, as the conversion is).
    scaled = elapsed * 1000.0
    fraction = scaled % 1.0
    if scaled < _EXACT_SCALED_BOUND:
        if fraction < _BELOW_HALF:
            return start_ms, end_ms, (scaled - fraction) / 1000.0
        if fraction > _ABOVE_HALF:
            return start_ms, end_ms, (scaled - fraction + 1.0) / 1000.0
    return start_ms, end_ms, round(elapsed, 3)


def _error(attrs: SpanAttributes, span: Any, span_events: Any = None) -> str | None:
    """`"<ExceptionType>: <message>"` from the exception event, else the status, else error.type.

    `span_events`: `span.events` when the caller already has it (the SDK copies it on each read)."""
    for event in (span.events if span_events is None else span_events) or ():
        if getattr(event, "name", "") == "exception":
            attributes = event.attributes or {}
            kind = attributes.get("exception.type") or "Exception"
            message = attributes.get("exception.message") or ""
            return f"{kind}: {message}" if message else str(kind)
    status = getattr(span, "status", None)
    code = getattr(status, "status_code", None)
    if (code is _STATUS_ERROR) if type(code) is StatusCode else getattr(code, "name", "") == "ERROR":
        error_type = attrs.peek("error.type")
        description = getattr(status, "description", None)
        kind = str(error_type) if not is_blank(error_type) else "Error"
        if error_type is not None:
            attrs.consume("error.type")
        return f"{kind}: {description}" if description else kind
    return None


def _honeyhive_buckets(attrs: SpanAttributes, event: Event) -> None:
    """HoneyHive-native `honeyhive_<bucket>.<path>` attributes land in their bucket, nested;
    `honeyhive.user_id` and `honeyhive.event_name` override the mapped values."""
    for bucket in ("inputs", "outputs", "config", "metadata", "metrics", "feedback", "user_properties"):
        for prefix in (f"honeyhive_{bucket}.", f"honeyhive.{bucket}."):
            for path, value in attrs.prefixed(prefix).items():
                target = getattr(event, bucket)
                parts = [part for part in path.split(".") if part]
                for part in parts[:-1]:
                    nxt = target.get(part)
                    if not isinstance(nxt, dict):
                        nxt = target[part] = {}
                    target = nxt
                if parts:
                    target[parts[-1]] = to_jsonable(value)
    user_id = attrs.get("honeyhive.user_id", "honeyhive_user_id")
    if not is_blank(user_id):
        event.user_properties["user_id"] = str(user_id)
    name = attrs.get("honeyhive.event_name", "honeyhive_event_name")
    if not is_blank(name):
        event.event_name = str(name)


def _extra_events(span_events: Any) -> list[dict[str, Any]]:
    """Span events no convention consumed (not gen_ai.*, not exception), bounded."""
    extra = []
    for event in span_events or ():
        name = getattr(event, "name", "")
        if name.startswith("gen_ai.") or name == "exception" or name.endswith(".completion.chunk"):
            continue  # content events (mapped) and per-chunk stream markers (noise)
        if len(extra) >= MAX_EXTRA_EVENTS:
            break
        extra.append({"name": name, "time": (event.timestamp or 0) / 1e6,
                      "attributes": to_jsonable(dict(event.attributes or {}))})
    return extra
