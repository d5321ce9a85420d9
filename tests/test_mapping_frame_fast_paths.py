"""The mapper's frame (everything around the conventions) gives exactly what its plain forms gave.

The duration is rounded without `round(x, 3)` when that is exact; the event id is made from the
same hex digits `metadata.otel` carries (formatted from the ids' bytes when they are in range);
the NaN/infinity scan tests the common value types first; the names left unconsumed are compared
with the last answer before being frozen; the instrumentation scope's name and version are read
once per scope; the usage merge takes one step when nothing overlaps; the log store is asked with
one read when it is empty; the session metadata of a raw id alone skips the JSON walk. The
references below are the plain forms these replace.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

from honeyhive_otel.devserver import DevServer
from honeyhive_otel.exporter import HoneyHiveSpanExporter
from honeyhive_otel.ids import event_id_for, event_id_from_hex
from honeyhive_otel.logs import GenAILogStore
from honeyhive_otel.mapping import mapper as mapper_module
from honeyhive_otel.mapping.attributes import SpanAttributes, _finite_float, _has_non_finite
from honeyhive_otel.mapping.mapper import APPLY_ORDER, NAMING_ORDER, SpanMapper
from honeyhive_otel.sessions import SessionResolver

START = 1_795_486_649_863_480_123
RESOURCE = Resource.create({"service.name": "frame-test"})
SCOPE = InstrumentationScope("frame.test", "1.2.3")


def make_span(attributes: dict[str, Any], *, trace_id: int = 0x6BC1C6E3E5F04A4F9A3C0E1D2B3A4F5E,
              span_id: int = 0x1A2B3C4D5E6F7081, parent_span_id: int | None = None, start: int = START,
              end: int | None = None, scope: InstrumentationScope | None = SCOPE,
              kind: SpanKind = SpanKind.CLIENT, name: str = "chat") -> ReadableSpan:
    context = SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1))
    parent = SpanContext(trace_id, parent_span_id, is_remote=False) if parent_span_id else None
    return ReadableSpan(name=name, context=context, parent=parent, attributes=attributes, kind=kind,
                        start_time=start, end_time=start + 34_012_345 if end is None else end, resource=RESOURCE,
                        instrumentation_scope=scope)


# ----- durations --------------------------------------------------------------------------
def reference_times(start: int, end: int) -> tuple[float, float, float]:
    return start / 1e6, end / 1e6, round(end / 1e6 - start / 1e6, 3)


# Elapsed nanoseconds: all magnitudes, exact half microseconds (the ties of rounding to 3 decimals
# in milliseconds), and durations past the bound of the shortcut (2**40 microseconds).
DELTAS = st.one_of(
    st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=10**13),
    st.integers(min_value=0, max_value=10**9).map(lambda micros: micros * 1000 + 500),
    st.integers(min_value=2**40 * 1000 - 10**6, max_value=2**62),
)


@settings(max_examples=2000, deadline=None)
@given(start=st.one_of(st.integers(min_value=1, max_value=2**62), st.just(START)), delta=DELTAS)
def test_the_duration_is_round_of_the_millisecond_difference(start: int, delta: int) -> None:
    found = mapper_module._times(make_span({}, start=start, end=start + delta))
    expected = reference_times(start, start + delta)
    assert found == expected
    assert type(found[2]) is float and math.copysign(1.0, found[2]) == 1.0


def test_the_duration_of_tied_and_long_spans_and_of_the_event() -> None:
    for delta in (0, 1, 500, 1_500, 2_500, 999_999_500, 34_012_345, 2**40 * 1000, 2**40 * 1000 + 500, 10**17):
        span = make_span({}, end=START + delta)
        event = SpanMapper().map(span)
        assert event.duration == reference_times(START, START + delta)[2]
        assert (event.start_time, event.end_time) == reference_times(START, START + delta)[:2]
    # No end time, or an end before the start: a zero duration, as before.
    assert mapper_module._times(make_span({}, end=START - 5))[2] == 0.0


# ----- ids ----------------------------------------------------------------------------------
@settings(max_examples=500, deadline=None)
@given(trace_id=st.integers(min_value=0, max_value=2**130), span_id=st.integers(min_value=0, max_value=2**70))
def test_the_event_id_from_hex_digits_is_the_event_id(trace_id: int, span_id: int) -> None:
    assert event_id_from_hex(f"{trace_id:032x}", f"{span_id:016x}") == event_id_for(trace_id, span_id)


def test_ids_in_and_out_of_range_name_the_event_and_its_otel_metadata_alike() -> None:
    for trace_id, span_id in ((0x6BC1C6E3E5F04A4F9A3C0E1D2B3A4F5E, 0x1A2B3C4D5E6F7081), (1, 2), (2**128 - 1, 2**64 - 1),
                              (2**128 + 5, 2**64 + 7), (-3, 5), (1, 2**64)):
        event = SpanMapper().map(make_span({"gen_ai.operation.name": "chat"}, trace_id=trace_id, span_id=span_id,
                                           parent_span_id=0xABC))
        assert event.event_id == event_id_for(trace_id, span_id)
        assert event.parent_id == event_id_for(trace_id, 0xABC)
        otel = event.metadata["otel"]
        assert (otel["trace_id"], otel["span_id"]) == (f"{trace_id:032x}", f"{span_id:016x}")
        assert otel["parent_span_id"] == f"{0xABC:016x}"


# ----- non-finite floats ----------------------------------------------------------------------
# (the old `_finite` below uses the module's own `_has_non_finite` and `_finite_float`, unchanged)


def reference_finite(attrs: dict[str, Any]) -> dict[str, Any]:
    """The NaN/infinity replacement as one walk over every value."""
    fixed: dict[str, Any] = {}
    for key, value in attrs.items():
        if type(value) not in (str, int, bool) and _has_non_finite(value):
            if isinstance(value, float):
                fixed[key] = _finite_float(value)
            else:
                items = [_finite_float(item) if type(item) is float else item for item in value]
                fixed[key] = items if isinstance(value, list) else tuple(items)
    return {**attrs, **fixed}


class SubFloat(float):
    """A float subclass (numpy's float64 is one): replaced at the top level, kept inside sequences."""


SCALARS = st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.floats(), st.floats().map(SubFloat),
                    st.none())
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=6), st.lists(SCALARS, max_size=6).map(tuple),
                   st.tuples(st.tuples(st.floats())), st.dictionaries(st.text(max_size=3), st.floats(), max_size=2))


@settings(max_examples=1000, deadline=None)
@given(attributes=st.dictionaries(st.text(max_size=8), VALUES, max_size=12))
def test_non_finite_floats_are_replaced_as_a_full_walk_does(attributes: dict[str, Any]) -> None:
    found = SpanAttributes(attributes).raw
    expected = reference_finite(dict(attributes))
    assert list(found) == list(expected)
    for key, value in expected.items():
        # (`==` holds for the NaN both keep: the same object; a type change would show)
        assert found[key] == value and type(found[key]) is type(value)


# ----- names left unconsumed -------------------------------------------------------------------
NAMES = [f"k{index}" for index in range(8)]


@settings(max_examples=300, deadline=None)
@given(rounds=st.lists(st.sets(st.sampled_from(NAMES)), min_size=1, max_size=12))
def test_unconsumed_attributes_follow_each_spans_own_consumption(rounds: list[set[str]]) -> None:
    """Spans with the same names share the last answer: any consumption, in any order, gets its own."""
    for number, consumed in enumerate(rounds):
        attrs = {name: f"{name}-{number}" for name in NAMES}
        view = SpanAttributes(attrs)
        view.consume(*consumed)
        expected = {key: value for key, value in attrs.items() if key not in consumed}
        assert list(view.unconsumed_dict().items()) == list(expected.items())


# ----- scope, kind, naming ---------------------------------------------------------------------
def test_scope_and_kind_of_alternating_spans() -> None:
    scopes = [SCOPE, InstrumentationScope("other.scope", None), None, InstrumentationScope("frame.test", "2.0"),
              InstrumentationScope("openlit.otel.tracing", "1.0")]
    mapper = SpanMapper()
    for _ in range(2):
        for scope in scopes:
            for kind in SpanKind:
                event = mapper.map(make_span({"gen_ai.operation.name": "chat"}, scope=scope, kind=kind))
                otel = event.metadata["otel"]
                name = (scope.name if scope is not None else "") or ""
                assert otel["scope"] == {"name": name, "version": (scope.version if scope else None) or ""}
                assert otel["kind"] == kind.name
                assert otel["convention"] == ("openlit" if name.startswith("openlit") else "genai")


def test_the_naming_table_names_the_most_specific_convention_of_every_subset() -> None:
    for size in range(len(APPLY_ORDER) + 1):
        for applicable in itertools.combinations(APPLY_ORDER, size):
            named = [module.CONVENTION for module in NAMING_ORDER if module in applicable]
            assert mapper_module._CONVENTION_NAMES[applicable] == (named[0] if named else "otel")


# ----- usage merge -----------------------------------------------------------------------------
def test_a_conventions_usage_field_is_kept_over_the_usage_tables() -> None:
    """OpenInference adds the cost parts when no total is given; the table's own cost source
    (gen_ai.usage.cost) does not replace what the convention already put in metadata."""
    event = SpanMapper().map(make_span({
        "openinference.span.kind": "LLM", "llm.cost.prompt": 0.25, "llm.cost.completion": 0.5, "gen_ai.usage.cost": 9.0,
        "llm.token_count.prompt": 3, "llm.token_count.completion": 4,
    }))
    metadata = event.metadata
    assert metadata["cost"] == 0.75
    assert (metadata["prompt_tokens"], metadata["completion_tokens"], metadata["total_tokens"]) == (3, 4, 7)
    assert "gen_ai.usage.cost" not in metadata.get("attributes", {})


# ----- log records -----------------------------------------------------------------------------
def test_log_records_are_taken_for_their_span_only() -> None:
    store = GenAILogStore()
    mapper = SpanMapper(log_store=store)
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
    assert "log_records" not in mapper.map(make_span(attributes, span_id=1)).metadata["otel"]  # empty store
    store.add(0x6BC1C6E3E5F04A4F9A3C0E1D2B3A4F5E, 2, "gen_ai.user.message", {"content": "hello"})
    assert "log_records" not in mapper.map(make_span(attributes, span_id=1)).metadata["otel"]
    assert len(store) == 1  # another span's records stay
    event = mapper.map(make_span(attributes, span_id=2))
    assert event.metadata["otel"]["log_records"] == 1
    assert event.inputs["chat_history"] == [{"role": "user", "content": "hello"}]
    assert len(store) == 0


# ----- sessions ----------------------------------------------------------------------------------
def test_session_metadata_with_and_without_a_raw_id() -> None:
    configured = SpanMapper(sessions=SessionResolver(metadata={"tags": ("a", "b")}))
    event = configured.map(make_span({"session.id": "chat-1"}))
    assert event.session.metadata == {"tags": ["a", "b"], "raw_session_id": "chat-1"}  # walked: the tuple is a list
    event = configured.map(make_span({"session.id": "0f8e4c6a-8d3b-4d0e-9a55-3c1b2a4e5f60"}, trace_id=9))
    assert event.session.metadata == {"tags": ["a", "b"]}
    plain = SpanMapper()
    named = plain.map(make_span({"session.id": " chat-2 "}, trace_id=7))
    assert named.session.metadata == {"raw_session_id": "chat-2"}
    joined = plain.map(make_span({}, trace_id=7, span_id=3))  # the same trace: the session it named
    assert joined.session_id == named.session_id and joined.session.metadata == {"raw_session_id": "chat-2"}
    other = plain.map(make_span({}, trace_id=8, span_id=4))
    assert other.session_id == plain.sessions.default_session_id and other.session.metadata == {}


# ----- end to end ---------------------------------------------------------------------------------
def test_exported_events_carry_the_same_ids_times_and_scope(devserver: DevServer) -> None:
    spans = [make_span({"gen_ai.operation.name": "chat", "gen_ai.request.temperature": float("nan"),
                        "gen_ai.response.finish_reasons": ("stop",)}, span_id=span_id, end=START + delta,
                       parent_span_id=parent, scope=scope)
             for span_id, delta, parent, scope in ((0x11, 1_500, None, SCOPE), (0x12, 2**40 * 1000 + 500, 0x11, None),
                                                   (0x13, 34_012_345, 0x11, InstrumentationScope("x", "9")))]
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=0)
    exporter.export(spans)
    exporter.force_flush()
    exporter.shutdown()
    events = {event["event_id"]: event for event in devserver.store.events()}
    for span in spans:
        event = events[event_id_for(span.context.trace_id, span.context.span_id)]
        assert event["duration"] == reference_times(span.start_time, span.end_time)[2]
        scope = span.instrumentation_scope
        assert event["metadata"]["otel"]["scope"] == {"name": scope.name if scope else "",
                                                      "version": (scope.version if scope else "") or ""}
        assert event["metadata"]["otel"]["span_id"] == f"{span.context.span_id:016x}"
        assert event["config"]["temperature"] == "NaN"
