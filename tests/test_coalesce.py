"""Same-call model spans become one event, and usage is counted once, across export batches."""

from __future__ import annotations

import json

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from honeyhive_otel import HoneyHiveSpanExporter
from tests.support.spans import load_spans

FIXTURES = "tests/fixtures/spans"


def _record() -> tuple[TracerProvider, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def _framework_llm_around_sdk_span(provider: TracerProvider) -> None:
    framework = provider.get_tracer("openinference.instrumentation.langchain")
    sdk = provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    with framework.start_as_current_span("ChatOpenAI") as outer:
        outer.set_attribute("openinference.span.kind", "LLM")
        outer.set_attribute("llm.model_name", "gpt-4o-mini")
        outer.set_attribute("llm.token_count.prompt", 11)
        outer.set_attribute("llm.token_count.completion", 4)
        outer.set_attribute("langchain.run_id", "run-1")
        with sdk.start_as_current_span("chat gpt-4o-mini") as inner:
            inner.set_attribute("gen_ai.operation.name", "chat")
            inner.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            inner.set_attribute("gen_ai.provider.name", "openai")
            inner.set_attribute("gen_ai.usage.input_tokens", 11)
            inner.set_attribute("gen_ai.usage.output_tokens", 4)
            inner.set_attribute("gen_ai.input.messages", json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]))
            inner.set_attribute("gen_ai.output.messages", json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}], "finish_reason": "stop"}]))


def _model_events(devserver) -> list[dict]:
    return [e for e in devserver.store.events() if e["event_type"] == "model"]


def test_nested_same_call_spans_in_one_batch_become_one_event(devserver):
    provider, memory = _record()
    _framework_llm_around_sdk_span(provider)
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=2)
    exporter.export(memory.get_finished_spans())
    exporter.shutdown()
    [event] = _model_events(devserver)
    assert event["event_name"] == "ChatOpenAI"  # the outer span's identity
    assert event["inputs"]["chat_history"] == [{"role": "user", "content": "hi"}]  # from the inner span
    assert event["outputs"]["content"] == "hello"
    assert event["config"]["provider"] == "openai"
    assert (event["metadata"]["prompt_tokens"], event["metadata"]["completion_tokens"]) == (11, 4)
    assert event["metadata"]["otel"]["merged"][0]["scope"]["name"] == "opentelemetry.instrumentation.openai_v2"
    assert len(devserver.store.events()) == 1


def test_pair_split_over_two_export_batches_still_merges(devserver):
    provider, memory = _record()
    _framework_llm_around_sdk_span(provider)
    inner, outer = memory.get_finished_spans()  # the inner span ends first
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=5)
    exporter.export([inner])
    assert devserver.store.events() == []  # held: its parent may be the same call
    exporter.export([outer])
    assert len(_model_events(devserver)) == 1
    exporter.shutdown()
    assert len(devserver.store.events()) == 1


def test_litellm_child_exported_after_its_openinference_parent(devserver):
    spans = load_spans(f"{FIXTURES}/openinference_and_litellm_otel.json")
    by_scope = {span.instrumentation_scope.name: span for span in spans}
    parent = by_scope["openinference.instrumentation.litellm"]
    children = [span for span in spans if span is not parent]
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=5)
    exporter.export([parent])
    exporter.export(children)
    exporter.shutdown()
    events = devserver.store.events()
    assert [e["event_type"] for e in events] == ["model"]  # raw_gen_ai_request absorbed too
    event = events[0]
    assert event["event_name"] == parent.name
    assert event["metadata"]["total_tokens"] > 0 and "cost" in event["metadata"]


def test_agent_usage_is_not_counted_twice(devserver):
    provider, memory = _record()
    tracer = provider.get_tracer("agents")
    with tracer.start_as_current_span("invoke_agent helper") as agent:
        agent.set_attribute("gen_ai.operation.name", "invoke_agent")
        agent.set_attribute("gen_ai.usage.input_tokens", 30)
        agent.set_attribute("gen_ai.usage.output_tokens", 9)
        for index in range(2):
            with tracer.start_as_current_span(f"chat {index}") as chat:
                chat.set_attribute("gen_ai.operation.name", "chat")
                chat.set_attribute("gen_ai.usage.input_tokens", 15)
                chat.set_attribute("gen_ai.usage.output_tokens", 4 + index)
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=2)
    exporter.export(memory.get_finished_spans())
    exporter.shutdown()
    events = {e["event_name"]: e for e in devserver.store.events()}
    agent_event = events["invoke_agent helper"]
    assert "prompt_tokens" not in agent_event["metadata"]
    assert agent_event["metadata"]["aggregated_usage"]["prompt_tokens"] == 30
    total = sum(e["metadata"].get("total_tokens", 0) for e in events.values())
    assert total == 15 + 4 + 15 + 5


def test_held_events_are_released_after_the_window(devserver):
    provider, memory = _record()
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("long running request"):
        with tracer.start_as_current_span("chat") as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
    chat_span = memory.get_finished_spans()[0]
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=0.3)
    exporter.export([chat_span])  # its parent is still running
    events = devserver.wait_for_events(1, timeout=5)
    assert events[0]["event_name"] == "chat"
    exporter.shutdown()
