"""Whether OpenLIT and Traceloop apply is decided from cached per-name-set answers.

`openlit.applies` and `traceloop.applies` ask `SpanAttributes.present` which of their marker keys a
span has (one cached answer per set of attribute names) instead of intersecting the span's keys
each time; `traceloop.apply` reads every name-only decision from one plan. The references are the
per-span set tests they replace, on real spans with scopes and resources that do and do not name
the instrumentations.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import openlit, traceloop
from honeyhive_otel.mapping.attributes import SpanAttributes
from tests.support.spans import dict_to_span


def reference_openlit_applies(attrs: SpanAttributes, span: Any) -> bool:
    raw = attrs.raw
    if not raw.keys().isdisjoint(openlit.DETECT_KEYS):
        return True
    if openlit.SDK_NAME in raw and openlit._is_openlit_name(raw[openlit.SDK_NAME]):
        return True
    if attrs.scope_name(span).startswith("openlit"):
        return True
    resource = span.resource.attributes.get(openlit.SDK_NAME)
    return openlit._is_openlit_name(resource) and openlit._has_genai(attrs, span)


def reference_traceloop_applies(attrs: SpanAttributes, span: Any) -> bool:
    if not attrs.raw.keys().isdisjoint(traceloop.MARKER_KEYS):
        return True
    if attrs.has_prefix(traceloop.TRACELOOP_PREFIX) or attrs.has_prefix(traceloop.FUNCTIONS_PREFIX):
        return True
    return attrs.scope_name(span).startswith(traceloop.INSTRUMENTATION_SCOPE) and attrs.has_prefix("gen_ai.prompt.")


KEYS = [*openlit.DETECT_KEYS, openlit.SDK_NAME, *traceloop.MARKER_KEYS, "traceloop.entity.name",
        "llm.request.functions.0.name", "gen_ai.prompt.0.content", "gen_ai.request.model", "app.route", "traceloop"]
VALUES = st.sampled_from(["openlit", " OpenLIT ", "opentelemetry", "", "x", 1, True])
SCOPES = st.sampled_from(["", "openlit.otel.tracing", "opentelemetry.instrumentation.openai.v1", "tests", "OpenLIT"])
RESOURCES = st.sampled_from([{}, {"telemetry.sdk.name": "openlit"}, {"telemetry.sdk.name": "opentelemetry"},
                             {"telemetry.sdk.name": " OPENLIT "}, {"service.name": "app"}])


def span_of(attributes: dict[str, Any], scope: str, resource: dict[str, Any], events: list[str]) -> Any:
    context = {"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "00000000000000c1", "trace_flags": 1,
               "trace_state": [], "is_remote": False}
    return dict_to_span({
        "name": "span", "context": context, "parent": None, "kind": "INTERNAL",
        "start_time": 1_795_486_649_863_480_000, "end_time": 1_795_486_649_897_492_000,
        "status": {"code": "UNSET", "description": None}, "attributes": attributes,
        "events": [{"name": name, "timestamp": 1_795_486_649_863_480_001, "attributes": {}} for name in events],
        "links": [], "resource": {"attributes": resource, "schema_url": ""},
        "instrumentation_scope": {"name": scope, "version": "", "schema_url": "", "attributes": {}},
    })


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=6).map(dict), SCOPES, RESOURCES,
       st.lists(st.sampled_from(["gen_ai.choice", "log"]), max_size=2))
def test_applies_as_the_per_span_set_tests_do(attributes: dict[str, Any], scope: str, resource: dict[str, Any],
                                              events: list[str]) -> None:
    span = span_of(attributes, scope, resource, events)
    for applies, reference in ((openlit.applies, reference_openlit_applies),
                               (traceloop.applies, reference_traceloop_applies)):
        assert applies(SpanAttributes(span.attributes), span) == reference(SpanAttributes(span.attributes), span)


def test_the_plan_of_a_traceloop_span() -> None:
    attributes = {"traceloop.entity.name": "wf", "llm.request.type": "chat", "llm.request.model": "m",
                  "llm.response.model": "m-1", "llm.request.max_tokens": 5, "llm.request.functions.0.name": "f",
                  "gen_ai.completion.0.content": "hi", "app.route": "/"}
    plan = SpanAttributes(attributes).derived(traceloop._make_plan)
    assert plan.read == {"traceloop.entity.name", "llm.request.model", "llm.response.model"}
    assert plan.traceloop and plan.functions
    assert plan.model_keys == traceloop.MODEL_KEYS
    assert plan.request_keys == ("llm.request.functions.0.name", "llm.request.max_tokens", "llm.request.model",
                                 "llm.request.type")
    assert plan.request_params == (("llm.request.max_tokens", "max_tokens"),)
    assert plan.completion_keys == ("gen_ai.completion.0.content",)
