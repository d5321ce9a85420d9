"""Hostile input, property-based: whatever spans look like, the exporter sends schema-valid
requests or counts a drop, in bounded time, and never raises.

Spans are built as SDK `ReadableSpan`s directly, so attribute values can be anything an
instrumentation (or a bug) could hand over, not only what `set_attribute` lets through:
arbitrary types, invalid UTF-8 bytes, lone surrogates, NaN/Inf, huge ints, enormous strings,
JSON nested 10,000 deep, Python-repr strings (LiteLLM's `metadata.*`), index bombs, prototype-
pollution keys, cyclic and unprintable objects, in attributes and in span events, under the
keys of every convention we map. The devserver answers 400 to anything outside HoneyHive's
schema, and its fixture re-validates every request against the official OpenAPI file.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

from honeyhive_otel import HoneyHiveSpanExporter
from honeyhive_otel.ids import event_id_for

# A safety net, not a performance assertion: one span must never cost a second of CPU on the
# exporting thread (thread CPU time, so a loaded machine or the HTTP round trip does not count).
MAX_SECONDS_PER_SPAN = 1.0

CONVENTION_KEYS = [
    # GenAI semantic conventions
    "gen_ai.operation.name", "gen_ai.request.model", "gen_ai.system", "gen_ai.provider.name",
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.tool.definitions",
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons",
    "gen_ai.request.temperature", "gen_ai.tool.name", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
    "gen_ai.conversation.id", "gen_ai.prompt", "gen_ai.completion", "gen_ai.prompt.0.content",
    "gen_ai.prompt.999999999.role", "gen_ai.completion.0.tool_calls.99999.arguments", "gen_ai.headers",
    "gen_ai.retrieval.documents", "gen_ai.request.stop_sequences",
    # OpenInference
    "openinference.span.kind", "llm.model_name", "llm.input_messages", "llm.input_messages.0.message.role",
    "llm.input_messages.0.message.content", "llm.input_messages.999999999.message.role",
    "llm.input_messages.0.message.contents.999999.message_content.text",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments", "llm.invocation_parameters",
    "llm.token_count.prompt", "llm.token_count.completion", "llm.tools.0.tool.json_schema", "input.value",
    "output.value", "input.mime_type", "retrieval.documents.0.document.content",
    "embedding.embeddings.0.embedding.vector", "tool.parameters", "metadata", "tag.tags", "session.id",
    "user.id", "llm.headers", "llm.prompt_template.variables",
    # Traceloop / OpenLLMetry
    "traceloop.span.kind", "traceloop.entity.name", "traceloop.entity.input", "traceloop.entity.output",
    "llm.request.type", "llm.usage.total_tokens", "traceloop.association.properties.session_id",
    # OpenLIT
    "gen_ai.application_name", "gen_ai.environment", "gen_ai.usage.cost", "gen_ai.request.is_stream",
    # LiteLLM (its OTel callback writes Python reprs under metadata.*)
    "metadata.requester_metadata", "metadata.usage_object", "metadata.user_api_key_hash",
    "metadata.spend_logs_metadata", "metadata.applied_guardrails", "litellm.call_id", "litellm.cost.total",
    "hidden_params", "llm.litellm_params",
    # HoneyHive's own keys
    "honeyhive.session_id", "honeyhive.event_type", "honeyhive.session_name",
    # prototype pollution and odd shapes
    "__proto__", "constructor", "prototype", "__proto__.polluted", "metadata.__proto__", "", " ", "..", "a" * 5_000,
]
EVENT_NAMES = ["gen_ai.user.message", "gen_ai.system.message", "gen_ai.assistant.message", "gen_ai.tool.message",
               "gen_ai.choice", "gen_ai.content.prompt", "gen_ai.content.completion",
               "gen_ai.client.inference.operation.details", "exception", "anything"]
SCOPES = ["openinference.instrumentation.litellm", "openlit.otel.tracing", "opentelemetry.instrumentation.openai_v2",
          "opentelemetry.instrumentation.openai.v1", "litellm", "hostile"]


class Unprintable:
    """An object whose every conversion raises."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __iter__(self) -> Any:
        raise RuntimeError("no iter")


def _cyclic_list() -> list[Any]:
    value: list[Any] = ["cycle"]
    value.append(value)
    return value


def _cyclic_dict() -> dict[str, Any]:
    value: dict[str, Any] = {"role": "user"}
    value["self"] = value
    return value


DEEP_JSON = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT_JSON = '{"a":' * 10_000 + "1" + "}" * 10_000
DEEP_REPR = "{'messages': " + "[" * 5_000 + "]" * 5_000 + "}"
SPECIALS = st.sampled_from([
    DEEP_JSON, DEEP_OBJECT_JSON, DEEP_REPR, "[" * 100_000, '{"role": "user", "content": ' * 2_000,
    b"\xff\xfe\xfa not utf-8", "\ud800 lone surrogate", "nul\x00byte", math.nan, math.inf, -math.inf, 2**200,
    -(2**70), "NaN", "Infinity", "{'__proto__': {'polluted': True}}", '{"__proto__": {"polluted": true}}',
    '{"constructor": {"prototype": {"x": 1}}}', "[" + ",".join(["1e999"] * 50) + "]",
    '[{"role": "user", "parts": [{"type": "text", "content": NaN}]}]',
    "{'headers': {'Authorization': 'Bearer sk-hostile-0000', 'Cookie': 'x=1'}}",
])
BIG = st.sampled_from(["x" * 300_000, "é" * 200_000, "🙂" * 100_000])


def _weird_objects() -> st.SearchStrategy[Any]:
    return st.sampled_from(["cyclic-list", "cyclic-dict", "unprintable", "set", "bytes-list", "nested-tuple"]).map(
        lambda kind: {
            "cyclic-list": _cyclic_list,
            "cyclic-dict": _cyclic_dict,
            "unprintable": Unprintable,
            "set": lambda: {1, 2, "three"},
            "bytes-list": lambda: [b"\x80\x81", bytearray(b"\xc3\x28")],
            "nested-tuple": lambda: (("a", 1), (None, 2.5), ({"k": object()},)),
        }[kind]())


SCALARS = st.one_of(st.text(max_size=50), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), st.none(), st.binary(max_size=20), SPECIALS)
VALUES = st.one_of(
    SCALARS,
    st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.tuples(inner, inner),
                                                   st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                 max_leaves=12),
    _weird_objects(),
    st.builds(lambda items: str(items), st.dictionaries(st.text(max_size=10), SCALARS, max_size=4)),  # reprs
)
ATTRIBUTES = st.dictionaries(st.one_of(st.sampled_from(CONVENTION_KEYS), st.text(max_size=40)), VALUES,
                             max_size=12)


@st.composite
def hostile_span(draw: Any, span_id: int) -> ReadableSpan:
    attributes = draw(ATTRIBUTES)
    if draw(st.integers(0, 9)) == 0:  # now and then one enormous value
        attributes[draw(st.sampled_from(CONVENTION_KEYS))] = draw(BIG)
    events = [Event(draw(st.sampled_from(EVENT_NAMES)), draw(ATTRIBUTES), timestamp=time.time_ns())
              for _ in range(draw(st.integers(0, 2)))]
    name = draw(st.one_of(st.text(max_size=30), st.sampled_from(["litellm_request", "chat gpt-4o", "ChatOpenAI"])))
    trace_id = draw(st.integers(1, 2**128 - 1))
    start = time.time_ns() - draw(st.integers(0, 10**9))
    end_offset = draw(st.one_of(st.none(), st.just(0), st.integers(-(10**6), 10**9)))  # None: never ended
    end = None if end_offset is None else start + end_offset
    return ReadableSpan(
        name=name,
        context=SpanContext(trace_id=trace_id, span_id=span_id, is_remote=False, trace_flags=TraceFlags(1)),
        parent=None,
        resource=Resource.create({"service.name": "hostile"}),
        attributes=attributes,
        events=events,
        kind=draw(st.sampled_from(list(SpanKind))),
        status=Status(draw(st.sampled_from(list(StatusCode)))),
        start_time=start,
        end_time=end,
        instrumentation_scope=InstrumentationScope(draw(st.sampled_from(SCOPES)), "0.0.0"),
    )


@st.composite
def span_batch(draw: Any) -> list[ReadableSpan]:
    span_ids = draw(st.lists(st.integers(1, 2**64 - 1), min_size=1, max_size=3, unique=True))
    return [draw(hostile_span(span_id)) for span_id in span_ids]


@pytest.fixture
def exporter(devserver):
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=0, timeout=30,
                                     max_value_chars=500_000)
    yield exporter
    exporter.shutdown()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spans=span_batch())
def test_hostile_spans_become_valid_events_or_counted_drops(devserver, exporter, spans):
    before = exporter.stats.snapshot()
    requests_before = len(devserver.requests)
    started = time.thread_time()
    exporter.export(spans)  # must not raise, whatever the result
    elapsed = time.thread_time() - started
    after = exporter.stats.snapshot()

    assert elapsed / len(spans) < MAX_SECONDS_PER_SPAN, elapsed
    new_requests = devserver.requests[requests_before:]
    rejected = [(r.path, r.status, r.schema_error) for r in new_requests if r.status and r.status >= 400]
    assert not rejected, rejected  # the devserver enforces HoneyHive's schema: nothing invalid was sent
    # Every span became an event: values are bounded and made JSON-safe, so none needs dropping
    # (a drop would be counted, but none is expected for any of these inputs).
    assert after["dropped_total"] == before["dropped_total"], after["dropped"]
    for span in spans:
        event = devserver.store.event(event_id_for(span.context.trace_id, span.context.span_id))
        assert event is not None
        assert "__proto__" not in _keys(event)  # renamed for JavaScript consumers (as a value it is harmless)


def _keys(value: Any) -> set[str]:
    """Every mapping key anywhere in a JSON document."""
    if isinstance(value, dict):
        return set(value).union(*(_keys(child) for child in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(child) for child in value))
    return set()


def test_a_span_with_every_bomb_at_once_is_exported(devserver, exporter):
    """The deterministic worst case, so a regression does not depend on what hypothesis draws."""
    attributes: dict[str, Any] = {key: DEEP_JSON for key in CONVENTION_KEYS[:40]}
    attributes.update({
        "llm.input_messages.999999999.message.role": "user",
        "gen_ai.prompt.999999999.content": "bomb",
        "metadata.requester_metadata": DEEP_REPR,
        "__proto__": {"polluted": True},
        "constructor": _cyclic_dict(),
        "weird": Unprintable(),
        "bytes": b"\xff\xfe",
        "surrogate": "\udcff",
        "nan": math.nan,
        "big": "z" * 1_000_000,
    })
    span = ReadableSpan(
        name="every bomb", context=SpanContext(trace_id=7, span_id=7, is_remote=False, trace_flags=TraceFlags(1)),
        parent=None, attributes=attributes, kind=SpanKind.CLIENT, start_time=time.time_ns(),
        end_time=time.time_ns(), events=[Event("gen_ai.user.message", {"content": DEEP_JSON, "x": _cyclic_list()})],
        instrumentation_scope=InstrumentationScope("openinference.instrumentation.litellm"))
    started = time.thread_time()
    exporter.export([span])
    assert time.thread_time() - started < 5 * MAX_SECONDS_PER_SPAN
    event = devserver.store.event(event_id_for(7, 7))
    assert event is not None, exporter.stats.snapshot()
    assert event["event_name"] == "every bomb"
