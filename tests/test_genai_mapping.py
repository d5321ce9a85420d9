"""OpenTelemetry GenAI spans, in every form in use, through a real pipeline into the devserver."""

from __future__ import annotations

import json
import time

import pytest
from opentelemetry.trace import Status, StatusCode

from tests.support.pipeline import make_pipeline


@pytest.fixture
def pipeline(devserver):
    pipe = make_pipeline(devserver.url)
    yield pipe
    pipe.close()


def _only_event(devserver, name: str) -> dict:
    events = [e for e in devserver.store.events() if e["event_name"] == name]
    assert len(events) == 1, [e["event_name"] for e in devserver.store.events()]
    return events[0]


def test_latest_json_messages_become_openai_chat(pipeline, devserver):
    tracer = pipeline.tracer()
    with tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", "OpenAI")
        span.set_attribute("gen_ai.request.model", "gpt-4o")
        span.set_attribute("gen_ai.request.temperature", 0.2)
        span.set_attribute("gen_ai.request.max_tokens", -1)  # an instrumentor's placeholder
        span.set_attribute("gen_ai.request.stop_sequences", ("END",))
        span.set_attribute("gen_ai.request.seed", 7)
        span.set_attribute("gen_ai.system_instructions", json.dumps([{"type": "text", "content": "Be terse."}]))
        span.set_attribute("gen_ai.input.messages", json.dumps([
            {"role": "user", "parts": [{"type": "text", "content": "Weather in"}, {"type": "text", "content": "Paris?"}]},
            {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather",
                                             "arguments": {"city": "Paris"}}]},
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": {"temp_c": 14}}]},
            {"role": "user", "parts": [{"type": "uri", "modality": "image", "uri": "https://x/cat.png"},
                                       {"type": "hologram", "payload": 1}]},
        ]))
        span.set_attribute("gen_ai.output.messages", json.dumps([
            {"role": "assistant", "parts": [{"type": "reasoning", "content": "think"},
                                            {"type": "text", "content": "14°C"}], "finish_reason": "stop"},
        ]))
        span.set_attribute("gen_ai.tool.definitions", json.dumps([
            {"type": "function", "name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}]))
        span.set_attribute("gen_ai.usage.input_tokens", 30)
        span.set_attribute("gen_ai.usage.output_tokens", 0)
        span.set_attribute("gen_ai.usage.cache_read.input_tokens", 10)
        span.set_attribute("gen_ai.usage.reasoning.output_tokens", 0)
        span.set_attribute("gen_ai.response.model", "gpt-4o-2024-08-06")
        span.set_attribute("gen_ai.response.id", "chatcmpl-1")
        span.set_attribute("gen_ai.response.finish_reasons", ("stop",))
        span.set_attribute("server.address", "api.openai.com")
    pipeline.flush()
    event = _only_event(devserver, "chat gpt-4o")
    assert event["event_type"] == "model"
    history = event["inputs"]["chat_history"]
    assert history[0] == {"role": "system", "content": "Be terse."}
    assert history[1] == {"role": "user", "content": "Weather in\nParis?"}
    assert history[2]["tool_calls"] == [{"id": "call_1", "type": "function",
                                         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]
    assert history[3] == {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 14}'}
    assert history[4]["content"][0] == {"type": "image_url", "image_url": {"url": "https://x/cat.png"}}
    assert history[4]["content"][1] == {"type": "hologram", "payload": 1}  # unknown part kept
    assert event["inputs"]["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}}]
    assert event["outputs"] == {"role": "assistant", "content": "14°C", "reasoning_content": "think",
                                "finish_reason": "stop"}
    assert event["config"] == {"provider": "openai", "model": "gpt-4o", "temperature": 0.2, "stop": ["END"],
                               "seed": 7}
    metadata = event["metadata"]
    assert (metadata["prompt_tokens"], metadata["completion_tokens"], metadata["total_tokens"]) == (30, 0, 30)
    assert metadata["cache_read_tokens"] == 10 and metadata["reasoning_tokens"] == 0
    assert metadata["response_model"] == "gpt-4o-2024-08-06" and metadata["response_id"] == "chatcmpl-1"
    assert metadata["finish_reasons"] == ["stop"]
    assert metadata["otel"]["convention"] == "genai"
    assert metadata["attributes"] == {"server.address": "api.openai.com"}  # consumed keys are not repeated


def test_calls_beside_parts_are_kept_and_calls_given_as_parts_win(pipeline, devserver):
    """A `tool_calls`/`tool_call_id` field next to a message's parts (LiteLLM's form) is read; when the
    parts hold calls too, those are the message's calls (the same calls are never listed twice)."""
    beside = [{"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": '{"q": 1}'}}]
    tracer = pipeline.tracer()
    with tracer.start_as_current_span("chat beside") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.input.messages", json.dumps([
            {"role": "assistant", "parts": [], "tool_calls": beside},
            {"role": "tool", "parts": [{"type": "text", "content": "42"}], "tool_call_id": "call_9"},
            {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather",
                                             "arguments": {"city": "Paris"}}], "tool_calls": beside},
        ]))
    pipeline.flush()
    history = _only_event(devserver, "chat beside")["inputs"]["chat_history"]
    assert history[0] == {"role": "assistant", "content": None, "tool_calls": beside}
    assert history[1] == {"role": "tool", "content": "42", "tool_call_id": "call_9"}
    assert [call["id"] for call in history[2]["tool_calls"]] == ["call_1"]


def test_system_instructions_already_in_messages_are_not_duplicated(pipeline, devserver):
    with pipeline.tracer().start_as_current_span("chat") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.system_instructions", "You are terse.")
        span.set_attribute("gen_ai.input.messages", json.dumps(
            [{"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
             {"role": "user", "parts": [{"type": "text", "content": "hi"}]}]))
    pipeline.flush()
    history = _only_event(devserver, "chat")["inputs"]["chat_history"]
    assert [m["role"] for m in history] == ["system", "user"]


def test_per_message_span_events_and_choice(pipeline, devserver):
    with pipeline.tracer().start_as_current_span("chat old") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.system", "az.ai.openai")
        span.set_attribute("gen_ai.usage.prompt_tokens", 4)
        span.set_attribute("gen_ai.usage.completion_tokens", 2)
        span.add_event("gen_ai.system.message", {"content": "sys"})
        span.add_event("gen_ai.user.message", {"content": "hello"})
        span.add_event("gen_ai.assistant.message", {"tool_calls": json.dumps(
            [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}])})
        span.add_event("gen_ai.tool.message", {"content": "42", "id": "c1"})
        span.add_event("gen_ai.choice", {"index": 0, "finish_reason": "tool_calls",
                                         "message": json.dumps({"role": "assistant", "content": None}),
                                         "tool_calls": json.dumps([{"id": "c2", "type": "function",
                                                                    "function": {"name": "g", "arguments": {"b": 2}}}])})
    pipeline.flush()
    event = _only_event(devserver, "chat old")
    assert [m["role"] for m in event["inputs"]["chat_history"]] == ["system", "user", "assistant", "tool"]
    assert event["inputs"]["chat_history"][2]["tool_calls"][0]["function"]["arguments"] == '{"a": 1}'
    assert event["inputs"]["chat_history"][3]["tool_call_id"] == "c1"
    assert event["outputs"]["tool_calls"][0]["function"] == {"name": "g", "arguments": '{"b": 2}'}
    assert event["outputs"]["finish_reason"] == "tool_calls"
    assert event["config"]["provider"] == "azure"
    assert event["metadata"]["total_tokens"] == 6


def test_semconv_1_26_content_events(pipeline, devserver):
    with pipeline.tracer().start_as_current_span("openai.chat") as span:
        span.set_attribute("gen_ai.system", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-4")
        span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": "system: be nice\nuser: hi\nthere"})
        span.add_event("gen_ai.content.completion", {"gen_ai.completion": "hello!"})
    pipeline.flush()
    event = _only_event(devserver, "openai.chat")
    assert event["event_type"] == "model"
    assert event["inputs"]["chat_history"] == [{"role": "system", "content": "be nice"},
                                               {"role": "user", "content": "hi\nthere"}]
    assert event["outputs"]["content"] == "hello!"


def test_indexed_prompt_and_completion_attributes(pipeline, devserver):
    with pipeline.tracer().start_as_current_span("openai.chat") as span:
        span.set_attribute("llm.request.type", "chat")
        span.set_attribute("gen_ai.prompt.0.role", "user")
        span.set_attribute("gen_ai.prompt.0.content", "What is 2+2?")
        span.set_attribute("gen_ai.prompt.1.role", "assistant")
        span.set_attribute("gen_ai.prompt.1.tool_calls.0.id", "t1")
        span.set_attribute("gen_ai.prompt.1.tool_calls.0.name", "calc")
        span.set_attribute("gen_ai.prompt.1.tool_calls.0.arguments", '"{\\"x\\": 2}"')  # double-encoded
        span.set_attribute("gen_ai.prompt.2.role", "tool")
        span.set_attribute("gen_ai.prompt.2.tool_call_id", "t1")
        span.set_attribute("gen_ai.prompt.2.content", "4")
        span.set_attribute("gen_ai.completion.0.role", "assistant")
        span.set_attribute("gen_ai.completion.0.content", "4")
        span.set_attribute("gen_ai.completion.0.finish_reason", "stop")
        span.set_attribute("gen_ai.completion.1.content", "four")
        span.set_attribute("gen_ai.completion.1.finish_reason", "stop")
    pipeline.flush()
    event = _only_event(devserver, "openai.chat")
    history = event["inputs"]["chat_history"]
    assert history[0] == {"role": "user", "content": "What is 2+2?"}
    assert history[1]["tool_calls"][0]["function"]["arguments"] == '{"x": 2}'  # decoded once, encoded once
    assert history[2] == {"role": "tool", "content": "4", "tool_call_id": "t1"}
    assert event["outputs"]["content"] == "4"
    assert [c["content"] for c in event["outputs"]["choices"]] == ["4", "four"]
    assert "attributes" not in event["metadata"]


def test_tool_agent_and_embedding_spans(pipeline, devserver):
    tracer = pipeline.tracer()
    with tracer.start_as_current_span("invoke_agent planner") as agent:
        agent.set_attribute("gen_ai.operation.name", "invoke_agent")
        agent.set_attribute("gen_ai.agent.name", "planner")
        agent.set_attribute("gen_ai.request.model", "gpt-4o")
        with tracer.start_as_current_span("execute_tool google_search") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "google_search")
            tool.set_attribute("gen_ai.tool.call.id", "call_9")
            tool.set_attribute("gen_ai.tool.call.arguments", '{"q": "otel"}')
            tool.set_attribute("gen_ai.tool.call.result", '{"hits": 3}')
        with tracer.start_as_current_span("embeddings text-embedding-3-small") as emb:
            emb.set_attribute("gen_ai.operation.name", "embeddings")
            emb.set_attribute("gen_ai.request.model", "text-embedding-3-small")
            emb.set_attribute("gen_ai.embeddings.dimension.count", 1536)
            emb.set_attribute("gen_ai.usage.input_tokens", 8)
    pipeline.flush()
    events = {e["event_name"]: e for e in devserver.store.events()}
    agent_event = events["invoke_agent planner"]
    tool_event = events["google_search"]
    embedding = events["embeddings text-embedding-3-small"]
    assert agent_event["event_type"] == "chain"
    assert tool_event["event_type"] == "tool"
    assert tool_event["inputs"] == {"q": "otel"} and tool_event["outputs"] == {"message": {"hits": 3}}
    assert tool_event["config"]["tool_name"] == "google_search"
    assert tool_event["parent_id"] == agent_event["event_id"]
    assert agent_event["parent_id"] == agent_event["session_id"]
    assert embedding["event_type"] == "model" and embedding["outputs"] == {"dimension": 1536}
    assert embedding["metadata"]["prompt_tokens"] == 8 and embedding["metadata"]["total_tokens"] == 8


def test_times_are_epoch_milliseconds_and_errors_are_strings(pipeline, devserver):
    before = time.time() * 1000
    with pipeline.tracer().start_as_current_span("chat failing") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        try:
            raise TimeoutError("upstream slow")
        except TimeoutError as error:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, "upstream slow"))
    after = time.time() * 1000
    pipeline.flush()
    event = _only_event(devserver, "chat failing")
    assert before - 1 <= event["start_time"] <= event["end_time"] <= after + 1
    assert event["duration"] == pytest.approx(event["end_time"] - event["start_time"], abs=0.01)
    assert event["error"] == "TimeoutError: upstream slow"
