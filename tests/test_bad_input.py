"""Bad input gets a partial event, never an exception, in bounded time and memory."""

from __future__ import annotations

import json
import time

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

from honeyhive_otel import HoneyHiveSpanExporter
from tests.support.pipeline import make_pipeline


def _event(devserver, name: str) -> dict:
    return next(e for e in devserver.store.events() if e["event_name"] == name)


def test_wrong_types_invalid_json_and_unknown_parts(devserver):
    pipeline = make_pipeline(devserver.url)
    with pipeline.tracer().start_as_current_span("chat broken") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", 42)  # wrong type
        span.set_attribute("gen_ai.usage.input_tokens", "not a number")
        span.set_attribute("gen_ai.usage.output_tokens", 7.0)
        span.set_attribute("gen_ai.input.messages", '[{"role": "user", "parts": [')  # invalid JSON
        span.set_attribute("gen_ai.output.messages", json.dumps([{"role": "assistant", "parts": [
            {"type": "telepathy", "signal": [1, 2]}, "bare string part", 17]}]))
        span.set_attribute("gen_ai.tool.definitions", "{{{")
        span.set_attribute("gen_ai.system_instructions", json.dumps({"unexpected": "object"}))
        span.set_attribute("gen_ai.response.finish_reasons", "stop")
    pipeline.flush()
    pipeline.close()
    event = _event(devserver, "chat broken")
    assert event["event_type"] == "model"
    assert event["config"]["model"] == "42"
    assert event["metadata"]["completion_tokens"] == 7 and "prompt_tokens" not in event["metadata"]
    assert event["outputs"]["content"][0] == {"type": "telepathy", "signal": [1, 2]}
    assert event["metadata"]["finish_reasons"] == ["stop"]


def test_huge_values_are_truncated_with_a_marker(devserver):
    pipeline = make_pipeline(devserver.url, max_value_chars=10_000)
    huge = "y" * 200_000
    with pipeline.tracer().start_as_current_span("chat huge") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.input.messages", json.dumps([{"role": "user", "parts": [
            {"type": "text", "content": huge}]}]))
        span.set_attribute("custom.blob", huge)
    pipeline.flush()
    pipeline.close()
    event = _event(devserver, "chat huge")
    content = event["inputs"]["chat_history"][0]["content"]
    assert content.startswith("y" * 10_000) and content.endswith("[truncated by honeyhive-otel: 200000 chars]")
    assert event["metadata"]["attributes"]["custom.blob"].endswith("200000 chars]")


def test_index_bombs_and_gaps_cost_nothing(devserver):
    pipeline = make_pipeline(devserver.url)
    started = time.monotonic()
    with pipeline.tracer().start_as_current_span("chat bombs") as span:
        span.set_attribute("llm.request.type", "chat")
        span.set_attribute("gen_ai.prompt.999999999.role", "user")
        span.set_attribute("gen_ai.prompt.999999999.content", "bomb")
        span.set_attribute("gen_ai.prompt.0.content", "first")
        span.set_attribute("gen_ai.prompt.7.content", "after a gap")
        span.set_attribute("gen_ai.prompt.x.content", "not an index")
    pipeline.flush()
    pipeline.close()
    assert time.monotonic() - started < 5
    history = _event(devserver, "chat bombs")["inputs"]["chat_history"]
    assert [m["content"] for m in history] == ["first", "after a gap"]


def _span(name: str, end_time: int | None, attributes: dict) -> ReadableSpan:
    context = SpanContext(trace_id=0x1234, span_id=abs(hash(name)) % 2**63 or 1, is_remote=False, trace_flags=TraceFlags(1))
    return ReadableSpan(name=name, context=context, parent=None, attributes=attributes, kind=SpanKind.CLIENT,
                        start_time=time.time_ns(), end_time=end_time,
                        instrumentation_scope=InstrumentationScope("raw"))


def test_missing_end_time_and_unserialisable_values(devserver):
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=0)
    spans = [
        _span("never ended", None, {"gen_ai.operation.name": "chat"}),
        _span("nan values", time.time_ns(), {"gen_ai.request.temperature": float("nan"),
                                             "gen_ai.usage.input_tokens": float("inf"),
                                             "weird.bytes": b"\xff\xfe not utf-8"}),
    ]
    exporter.export(spans)
    exporter.shutdown()
    never = _event(devserver, "never ended")
    assert never["duration"] == 0 and never["end_time"] == never["start_time"]
    nan = _event(devserver, "nan values")
    assert nan["config"]["temperature"] == "NaN"
    assert "prompt_tokens" not in nan["metadata"]


def test_exporter_survives_objects_that_break_on_access(devserver):
    class Hostile(dict):
        def items(self):
            raise RuntimeError("boom")

    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=0)
    span = _span("hostile", time.time_ns(), {})
    span._attributes = Hostile(a=1)  # an attribute mapping whose items() explodes
    exporter.export([span])
    exporter.shutdown()
    assert _event(devserver, "hostile")["event_type"] == "chain"
