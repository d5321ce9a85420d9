"""The official `opentelemetry-instrumentation-openai-v2` (latest experimental GenAI conventions,
content on spans) calling a local OpenAI-compatible server, through a real TracerProvider and
BatchSpanProcessor, into the devserver."""

from __future__ import annotations

import openai
import pytest
from opentelemetry.instrumentation._semconv import _OpenTelemetrySemanticConventionStability
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

from tests.support.fake_openai import FakeOpenAI
from tests.support.pipeline import make_pipeline

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


@pytest.fixture
def instrumented(devserver, monkeypatch):
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    # OpenTelemetry reads OTEL_SEMCONV_STABILITY_OPT_IN once per process: make it read ours.
    monkeypatch.setattr(_OpenTelemetrySemanticConventionStability, "_initialized", False)
    pipeline = make_pipeline(devserver.url, session_name="openai-v2 test")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=pipeline.provider)
    with FakeOpenAI() as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test-not-a-secret")
        yield pipeline, client
    instrumentor.uninstrument()
    pipeline.close()


def test_chat_tools_both_ways_stream_and_embeddings(instrumented, devserver):
    pipeline, client = instrumented
    with pipeline.tracer("app").start_as_current_span("weather workflow"):
        first = client.chat.completions.create(
            model="gpt-4o-mini", tools=TOOLS,
            messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Weather in Paris?"}])
        call = first.choices[0].message
        client.chat.completions.create(
            model="gpt-4o-mini", tools=TOOLS,
            messages=[{"role": "user", "content": "Weather in Paris?"}, call.model_dump(exclude_none=True),
                      {"role": "tool", "tool_call_id": call.tool_calls[0].id, "content": "sunny, 21C"}])
        stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                stream_options={"include_usage": True},
                                                messages=[{"role": "user", "content": "hello there"}])
        assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    pipeline.flush()

    events = devserver.store.events()
    workflow = next(e for e in events if e["event_name"] == "weather workflow")
    chats = sorted((e for e in events if e["event_name"] == "chat gpt-4o-mini"), key=lambda e: e["start_time"])
    embedding = next(e for e in events if e["event_name"].startswith("embeddings"))
    assert len(chats) == 3 and len(events) == 5

    # 1: the model asks for a tool call; arguments are one JSON encoding.
    ask = chats[0]
    assert ask["event_type"] == "model"
    assert ask["inputs"]["chat_history"] == [{"role": "system", "content": "Be terse."},
                                             {"role": "user", "content": "Weather in Paris?"}]
    assert ask["outputs"]["tool_calls"] == [{"id": "call_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city": "Paris"}'}}]
    assert ask["outputs"]["finish_reason"] == "tool_calls"
    assert ask["config"]["model"] == "gpt-4o-mini" and ask["config"]["provider"] == "openai"
    # 2: the tool result goes back to the model.
    answer = chats[1]
    history = answer["inputs"]["chat_history"]
    assert history[1]["tool_calls"][0]["function"]["arguments"] == '{"city": "Paris"}'
    assert history[2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"}
    assert answer["outputs"]["content"] == "Tool said: sunny, 21C"
    # 3: streaming still yields content and tokens.
    streamed = chats[2]
    assert streamed["outputs"]["content"] == "Echo: hello there"
    for chat in chats:
        meta = chat["metadata"]
        assert meta["total_tokens"] == meta["prompt_tokens"] + meta["completion_tokens"] > 0
        assert meta["response_id"].startswith("chatcmpl-fake-")
        assert chat["parent_id"] == workflow["event_id"]
        assert chat["session_id"] == workflow["session_id"]
        assert workflow["start_time"] <= chat["start_time"] <= chat["end_time"] <= workflow["end_time"]
    # 4: embeddings: dimension, no vectors.
    assert embedding["event_type"] == "model" and embedding["outputs"] == {"dimension": 8}
    assert workflow["event_type"] == "chain" and workflow["parent_id"] == workflow["session_id"]

    # The session was created once, before its first events, with the configured name.
    paths = [r.path for r in devserver.requests if r.method == "POST"]
    assert paths[0] == "/v1/sessions" and paths.count("/v1/sessions") == 1
    session = devserver.store.session(workflow["session_id"])
    assert session["session_name"] == "openai-v2 test"
    assert not devserver.store.duplicates()
