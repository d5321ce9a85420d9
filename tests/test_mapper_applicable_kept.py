"""The mapper keeps which conventions apply per (attribute names, scope name, resource, values of the
attributes an `applies` reads: OpenLIT's `telemetry.sdk.name`). What else a convention's `applies`
reads (the span's events: GenAI's span-event fallback) must never be answered from a kept answer: a
span mapped after another with the same key gets the conventions a fresh mapper gives it."""

from __future__ import annotations

import glob
import itertools
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, TraceFlags
from support.spans import load_spans

from honeyhive_otel.mapping.mapper import SpanMapper

FIXTURES = sorted(glob.glob(str(Path(__file__).parent / "fixtures" / "spans" / "*.json")))
OPENLIT_RESOURCE = Resource.create({"telemetry.sdk.name": "openlit", "service.name": "svc"})
PLAIN_RESOURCE = Resource.create({"service.name": "svc"})
SCOPES = ("openlit.otel.tracing", "opentelemetry.instrumentation.openai_v2", "litellm", "app")
_ids = itertools.count(1)


def _span(attributes: dict[str, Any], genai_event: bool, resource: Resource, scope: str) -> ReadableSpan:
    span_id = next(_ids)
    events = [Event("gen_ai.user.message", {"content": "hi"}, timestamp=2)] if genai_event else []
    return ReadableSpan(
        name="chat", context=SpanContext(7, span_id, False, TraceFlags(1)), attributes=attributes,
        events=events, resource=resource, instrumentation_scope=InstrumentationScope(scope, "1"),
        start_time=1_000_000, end_time=2_000_000)


def _convention(mapper: SpanMapper, span: ReadableSpan) -> str:
    return mapper.map(span).metadata["otel"]["convention"]


def _check_pair(first: ReadableSpan, second: ReadableSpan) -> None:
    mapper = SpanMapper()
    for span in (first, second, first):
        assert _convention(mapper, span) == _convention(SpanMapper(), span)


def test_genai_span_events_are_asked_per_span() -> None:
    names = {"llm.model": "m"}
    with_events = _span(dict(names), True, PLAIN_RESOURCE, "app")
    without = _span(dict(names), False, PLAIN_RESOURCE, "app")
    assert _convention(SpanMapper(), with_events) == "genai"
    _check_pair(with_events, without)
    _check_pair(without, with_events)


def test_openlit_sdk_name_value_is_read_per_span() -> None:
    openlit = _span({"telemetry.sdk.name": "openlit", "gen_ai.request.model": "m"}, False, PLAIN_RESOURCE, "app")
    other = _span({"telemetry.sdk.name": "opentelemetry", "gen_ai.request.model": "m"}, False, PLAIN_RESOURCE, "app")
    assert _convention(SpanMapper(), openlit) == "openlit"
    _check_pair(openlit, other)
    _check_pair(other, openlit)


def test_openlit_answers_are_kept_per_sdk_name_value() -> None:
    mapper = SpanMapper()
    spans = [_span({"telemetry.sdk.name": value, "gen_ai.request.model": "m"}, False, PLAIN_RESOURCE, "app")
             for value in ("openlit", "opentelemetry", True, 1, "openlit")]
    assert [_convention(mapper, span) for span in spans] == [_convention(SpanMapper(), span) for span in spans]
    assert len(mapper._applicable_by_key) == 4  # one answer per distinct (typed) value


def test_an_unhashable_value_is_asked_every_time() -> None:
    mapper = SpanMapper()
    span = _span({"telemetry.sdk.name": ["openlit"], "gen_ai.request.model": "m"}, False, PLAIN_RESOURCE, "app")
    assert _convention(mapper, span) == _convention(mapper, span) == "genai"
    assert not mapper._applicable_by_key


def test_resource_and_scope_are_part_of_the_key() -> None:
    attributes = {"gen_ai.request.model": "m", "gen_ai.operation.name": "chat"}
    for a, b in itertools.permutations([_span(dict(attributes), False, resource, scope)
                                        for resource in (OPENLIT_RESOURCE, PLAIN_RESOURCE) for scope in SCOPES], 2):
        _check_pair(a, b)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sets(st.sampled_from(["gen_ai.request.model", "llm.model", "openinference.span.kind",
                                                   "traceloop.span.kind", "litellm.call_id", "telemetry.sdk.name",
                                                   "gen_ai.prompt.0.content"])),
                          st.booleans(), st.booleans(), st.sampled_from(SCOPES),
                          st.sampled_from(["openlit", "opentelemetry", ""])), min_size=1, max_size=6))
def test_a_kept_answer_is_the_fresh_answer(shapes: list[tuple[set[str], bool, bool, str, str]]) -> None:
    mapper = SpanMapper()
    for names, genai_event, openlit_resource, scope, sdk_name in shapes:
        attributes = {name: (sdk_name if name == "telemetry.sdk.name" else "LLM") for name in sorted(names)}
        span = _span(attributes, genai_event, OPENLIT_RESOURCE if openlit_resource else PLAIN_RESOURCE, scope)
        assert _convention(mapper, span) == _convention(SpanMapper(), span)


def test_captured_spans_get_the_fresh_conventions() -> None:
    spans = [span for path in FIXTURES for span in load_spans(path)]
    mapper = SpanMapper()
    for span in spans + spans:  # (the second round answers from kept answers)
        event, fresh = mapper.map(span), SpanMapper().map(span)
        assert (event.convention, event.event_type) == (fresh.convention, fresh.event_type)
