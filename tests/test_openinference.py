"""OpenInference spans -> HoneyHive events, through real SDK pipelines into the devserver.

The LiteLLM instrumentor runs in a subprocess (it patches LiteLLM's globals); synthetic
spans cover the kinds and attributes LiteLLM does not emit, and hostile input.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider

from honeyhive_otel import HoneyHiveSpanExporter, HoneyHiveSpanProcessor
from tests.support.fake_openai import EMBEDDING_DIM
from tests.support.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "tests" / "scenarios" / "openinference_litellm.py"
KIND = "openinference.span.kind"
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
# Attributes the mapping consumes: none may reappear under metadata.attributes.
MAPPED_PREFIXES = ("llm.", "input.", "output.", "embedding.", "retrieval.", "reranker.", "tool.", "tag.",
                   "user.id", "metadata", "openinference.span.kind", "session.id", "agent.name", "graph.node.")


# ----- helpers ----------------------------------------------------------------------------
def _pipeline(devserver: Any) -> Pipeline:
    """A pipeline whose provider keeps thousands of attributes (flattened OpenInference spans)."""
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=0.2)
    processor = HoneyHiveSpanProcessor(exporter)
    provider = TracerProvider(resource=Resource.create({"service.name": "oi-tests"}),
                              span_limits=SpanLimits(max_attributes=50_000))
    provider.add_span_processor(processor)
    return Pipeline(provider, processor, exporter)


@pytest.fixture
def pipeline(devserver: Any) -> Iterator[Pipeline]:
    pipe = _pipeline(devserver)
    yield pipe
    pipe.close()


def emit(pipe: Pipeline, name: str, attributes: dict[str, Any]) -> None:
    """One finished span carrying `attributes`, set one by one as instrumentors do."""
    with pipe.tracer("openinference-synthetic").start_as_current_span(name) as span:
        for key, value in attributes.items():
            span.set_attribute(key, value)


def event_named(devserver: Any, name: str) -> dict[str, Any]:
    matches = [event for event in devserver.store.events() if event["event_name"] == name]
    assert len(matches) == 1, [event["event_name"] for event in devserver.store.events()]
    return matches[0]


def leftover(event: dict[str, Any]) -> dict[str, Any]:
    return event["metadata"].get("attributes", {})


def assert_nothing_mapped_is_repeated(event: dict[str, Any], allowed: tuple[str, ...] = ()) -> None:
    repeated = [key for key in leftover(event) if key.startswith(MAPPED_PREFIXES) and key not in allowed]
    assert not repeated, repeated


def float_lists(value: Any, minimum: int = EMBEDDING_DIM) -> list[list[float]]:
    """Every list of at least `minimum` floats anywhere in a JSON value (vectors)."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            if len(item) >= minimum and all(isinstance(x, float) for x in item):
                found.append(item)
            stack.extend(item)
        elif isinstance(item, str) and item[:1] in "[{(":
            try:
                stack.append(json.loads(item))
            except ValueError:
                pass
    return found


# ----- the real instrumentor ----------------------------------------------------------------
@pytest.fixture(scope="module")
def litellm_run() -> Iterator[dict[str, Any]]:
    """Run the LiteLLM scenario once into one devserver; tests read what it stored."""
    from honeyhive_otel.devserver import DevServer
    from tests.support import openapi_check

    server = DevServer().start()
    try:
        done = subprocess.run([sys.executable, str(SCENARIO), server.url], capture_output=True, text=True,
                              timeout=120, cwd=REPO)
        assert done.returncode == 0, done.stderr[-4000:]
        fake_requests = json.loads(done.stdout.strip().splitlines()[-1])["fake_requests"]
        yield {"server": server, "events": server.store.events(), "fake_requests": fake_requests}
        openapi_check.check_recorded_requests(server.requests)
    finally:
        server.stop()


def children(run: dict[str, Any], scenario: str) -> list[dict[str, Any]]:
    parent = next(e for e in run["events"] if e["event_name"] == f"scenario {scenario}")
    found = [e for e in run["events"] if e["parent_id"] == parent["event_id"]]
    return sorted(found, key=lambda e: e["start_time"])


def assert_litellm_model_event(event: dict[str, Any]) -> None:
    """What every LiteLLM call through the OpenInference instrumentor must carry."""
    assert event["event_type"] == "model"
    assert event["metadata"]["otel"]["convention"] == "openinference"
    assert event["metadata"]["otel"]["scope"]["name"] == "openinference.instrumentation.litellm"
    assert event["config"]["provider"] == "openai"
    meta = event["metadata"]
    assert meta["total_tokens"] == meta["prompt_tokens"] + meta.get("completion_tokens", 0) > 0
    assert meta["cost"] > 0
    assert "attributes" not in meta, leftover(event)  # every attribute was mapped


def test_litellm_chat(litellm_run):
    [chat] = children(litellm_run, "chat")
    assert_litellm_model_event(chat)
    assert chat["event_name"] == "completion"
    assert chat["inputs"] == {"chat_history": [{"role": "system", "content": "Be terse."},
                                               {"role": "user", "content": "hello there"}]}
    assert chat["outputs"] == {"role": "assistant", "content": "Echo: hello there", "finish_reason": "stop"}
    config = chat["config"]
    assert config["model"] == "openai/gpt-4o-mini"
    assert config["temperature"] == 0.2 and config["max_tokens"] == 50 and config["is_streaming"] is False
    assert "messages" not in config and "api_key" not in config
    assert chat["metadata"]["prompt_tokens"] == 4 and chat["metadata"]["completion_tokens"] == 3
    assert chat["metadata"]["finish_reasons"] == ["stop"]


def test_litellm_tool_round_trip(litellm_run):
    ask, answer = children(litellm_run, "tools")
    for event in (ask, answer):
        assert_litellm_model_event(event)
        assert event["inputs"]["tools"] == [WEATHER_TOOL]
        assert "tools" not in event["config"]
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    assert ask["outputs"] == {"role": "assistant", "content": None, "tool_calls": [call],
                              "finish_reason": "tool_calls"}
    assert ask["metadata"]["response_id"].startswith("chatcmpl-fake-")
    assert ask["metadata"]["response_model"] == "gpt-4o-mini"
    history = answer["inputs"]["chat_history"]
    assert history == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "content": "sunny, 21C", "tool_call_id": "call_1"},
    ]
    assert json.loads(history[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
    assert answer["outputs"]["content"] == "Tool said: sunny, 21C"


def test_litellm_streaming_async_and_mock(litellm_run):
    [streamed] = children(litellm_run, "stream")
    [async_call] = children(litellm_run, "async")
    [mocked] = children(litellm_run, "mock")
    for event in (streamed, async_call, mocked):
        assert_litellm_model_event(event)
    assert streamed["config"]["is_streaming"] is True
    assert streamed["outputs"]["content"] == "Echo: stream this"
    assert streamed["metadata"]["completion_tokens"] == 3
    assert async_call["event_name"] == "acompletion"
    assert async_call["inputs"]["chat_history"] == [{"role": "user", "content": "async hello"}]
    assert async_call["outputs"]["content"] == "Echo: async hello"
    assert mocked["outputs"]["content"] == "mocked answer"
    assert mocked["config"]["model"] == "openai/gpt-4o-mini"


def test_litellm_embedding_never_exports_vectors(litellm_run):
    [embedding] = children(litellm_run, "embedding")
    assert_litellm_model_event(embedding)
    assert embedding["inputs"] == {"input": ["first text", "second text"]}
    assert embedding["outputs"] == {"vector_count": 2, "dimension": EMBEDDING_DIM}
    assert embedding["config"]["model"] == "text-embedding-3-small"
    vectors_sent = [vector for request in litellm_run["server"].requests for vector in float_lists(request.body)]
    assert not vectors_sent
    assert not any("embedding.vector" in json.dumps(request.body) for request in litellm_run["server"].requests)
    assert any(request.get("input") == ["first text", "second text"] for request in litellm_run["fake_requests"])


def test_litellm_events_all_parented_and_unique(litellm_run):
    model_events = [e for e in litellm_run["events"] if e["event_type"] == "model"]
    assert len(model_events) == 7
    assert not litellm_run["server"].store.duplicates()


# ----- synthetic spans: every kind ------------------------------------------------------------
def test_tool_span(pipeline, devserver):
    emit(pipeline, "tool span", {
        KIND: "TOOL", "tool.name": "get_weather", "tool.description": "Current weather", "tool.id": "call_9",
        "tool.parameters": json.dumps(WEATHER_TOOL["function"]["parameters"]),
        "input.value": '{"city": "Paris"}', "input.mime_type": "application/json",
        "output.value": "sunny", "output.mime_type": "text/plain",
    })
    pipeline.flush()
    event = event_named(devserver, "get_weather")
    assert event["event_type"] == "tool"
    assert event["inputs"] == {"city": "Paris"}
    assert event["outputs"] == {"message": "sunny"}
    assert event["config"]["tool_name"] == "get_weather"
    assert event["config"]["tool_description"] == "Current weather"
    assert event["config"]["tool_parameters"]["required"] == ["city"]
    assert event["metadata"]["tool_call_id"] == "call_9"
    assert event["metadata"]["otel"]["convention"] == "openinference"
    assert "attributes" not in event["metadata"]


def test_retriever_and_reranker_spans(pipeline, devserver):
    emit(pipeline, "retrieve", {
        KIND: "RETRIEVER", "input.value": "capital of France",
        "retrieval.documents.0.document.id": "doc-1", "retrieval.documents.0.document.score": 0.9,
        "retrieval.documents.0.document.content": "Paris is the capital.",
        "retrieval.documents.0.document.metadata": '{"source": "wiki"}',
        "retrieval.documents.1.document.id": 2, "retrieval.documents.1.document.content": "Lyon is big.",
    })
    emit(pipeline, "rerank", {
        KIND: "RERANKER", "reranker.query": "capital", "reranker.model_name": "rerank-v3", "reranker.top_k": 1,
        "reranker.input_documents.0.document.content": "a", "reranker.input_documents.1.document.content": "b",
        "reranker.output_documents.0.document.content": "b", "reranker.output_documents.0.document.score": 0.7,
    })
    pipeline.flush()
    retrieve = event_named(devserver, "retrieve")
    assert retrieve["event_type"] == "tool"
    assert retrieve["inputs"] == {"query": "capital of France"}
    assert retrieve["outputs"]["documents"] == [
        {"id": "doc-1", "score": 0.9, "content": "Paris is the capital.", "metadata": {"source": "wiki"}},
        {"id": 2, "content": "Lyon is big."},
    ]
    rerank = event_named(devserver, "rerank")
    assert rerank["event_type"] == "tool"
    assert rerank["inputs"] == {"query": "capital", "documents": [{"content": "a"}, {"content": "b"}]}
    assert rerank["outputs"]["documents"] == [{"content": "b", "score": 0.7}]
    assert rerank["config"]["model"] == "rerank-v3" and rerank["config"]["top_k"] == 1
    for event in (retrieve, rerank):
        assert "attributes" not in event["metadata"]


def test_chain_and_agent_spans_follow_mime_types(pipeline, devserver):
    emit(pipeline, "chain json", {
        KIND: "CHAIN", "input.value": '{"question": "hi", "history": []}', "input.mime_type": "application/json",
        "output.value": '["a", "b"]', "output.mime_type": "application/json",
    })
    emit(pipeline, "chain text", {
        KIND: "CHAIN", "input.value": "[1, 2] is text here", "input.mime_type": "text/plain",
        "output.value": '{"answer": 42}',  # no mime type, but a JSON object
    })
    emit(pipeline, "agent run", {
        KIND: "AGENT", "agent.name": "planner", "graph.node.id": "n1", "graph.node.parent_id": "n0",
        "input.value": "plan a trip", "output.value": '["not", "an", "object"]',
    })
    pipeline.flush()
    json_chain = event_named(devserver, "chain json")
    assert json_chain["event_type"] == "chain"
    assert json_chain["inputs"] == {"question": "hi", "history": []}
    assert json_chain["outputs"] == {"output": ["a", "b"]}
    text_chain = event_named(devserver, "chain text")
    assert text_chain["inputs"] == {"input": "[1, 2] is text here"}
    assert text_chain["outputs"] == {"answer": 42}
    agent = event_named(devserver, "agent run")
    assert agent["event_type"] == "chain"
    assert agent["inputs"] == {"input": "plan a trip"}
    assert agent["outputs"] == {"output": '["not", "an", "object"]'}  # text/plain by default: kept as text
    assert agent["metadata"]["agent_name"] == "planner"
    assert agent["metadata"]["graph_node"] == {"id": "n1", "parent_id": "n0"}
    for event in (json_chain, text_chain, agent):
        assert "attributes" not in event["metadata"]
        assert event["metadata"]["otel"]["convention"] == "openinference"


def test_embedding_span_keeps_count_and_dimension_only(pipeline, devserver):
    vector = tuple(float(i) / 7 for i in range(16))
    emit(pipeline, "embed one", {
        KIND: "EMBEDDING", "embedding.model_name": "text-embedding-3-large",
        "embedding.invocation_parameters": '{"model": "text-embedding-3-large", "dimensions": 16}',
        "embedding.embeddings.0.embedding.text": "only text", "embedding.embeddings.0.embedding.vector": vector,
        "input.value": "only text",
        "output.value": json.dumps({"data": [{"embedding": list(vector)}]}), "output.mime_type": "application/json",
        "llm.token_count.prompt": 2, "llm.token_count.total": 2,
    })
    emit(pipeline, "embed from output", {
        KIND: "EMBEDDING", "embedding.model_name": "m", "input.value": '["x", "y"]',
        "output.value": json.dumps({"data": [{"embedding": list(vector)}, {"embedding": list(vector)}]}),
    })
    pipeline.flush()
    one = event_named(devserver, "embed one")
    assert one["event_type"] == "model"
    assert one["inputs"] == {"input": "only text"}
    assert one["outputs"] == {"vector_count": 1, "dimension": 16}
    assert one["config"]["model"] == "text-embedding-3-large" and one["config"]["dimensions"] == 16
    assert one["metadata"]["prompt_tokens"] == 2
    assert "attributes" not in one["metadata"]
    other = event_named(devserver, "embed from output")
    assert other["inputs"] == {"input": ["x", "y"]}
    assert other["outputs"] == {"vector_count": 2, "dimension": 16}
    assert not [v for r in devserver.requests for v in float_lists(r.body)]


def test_context_prompt_template_cost_and_secrets(pipeline, devserver):
    emit(pipeline, "llm with context", {
        KIND: "LLM", "llm.model_name": "claude-3-5-sonnet", "llm.provider": "aws", "llm.system": "anthropic",
        "llm.invocation_parameters": json.dumps({
            "temperature": 0, "api_key": "sk-live-secret-1", "stream": False,
            "extra_headers": {"Authorization": "Bearer secret-2", "x-trace": "ok"}}),
        "llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "hi",
        "llm.output_messages.0.message.role": "assistant", "llm.output_messages.0.message.content": "hello",
        "llm.prompt_template.template": "Say {greeting}", "llm.prompt_template.variables": '{"greeting": "hi"}',
        "llm.prompt_template.version": "v2",
        "llm.token_count.prompt": 3, "llm.token_count.completion": 1,
        "llm.cost.prompt": 0.003, "llm.cost.completion": 0.001, "llm.cost.prompt_details.cache_read": 0.0005,
        "user.id": "user-7", "session.id": "conversation-42", "tag.tags": ("beta", "eval"),
        "metadata": json.dumps({"team": "search", "prompt_tokens": 999, "nested": {"a": 1}}),
    })
    pipeline.flush()
    event = event_named(devserver, "llm with context")
    assert event["config"]["provider"] == "bedrock" and event["config"]["model"] == "claude-3-5-sonnet"
    assert event["config"]["temperature"] == 0 and event["config"]["is_streaming"] is False
    assert event["config"]["extra_headers"] == {"x-trace": "ok"}
    assert event["config"]["prompt_template"] == {"template": "Say {greeting}", "version": "v2",
                                                  "variables": {"greeting": "hi"}}
    meta = event["metadata"]
    assert meta["prompt_tokens"] == 3 and meta["total_tokens"] == 4
    assert meta["cost"] == pytest.approx(0.004)
    assert meta["cost_details"] == {"prompt": 0.003, "completion": 0.001, "prompt_details": {"cache_read": 0.0005}}
    assert meta["tags"] == ["beta", "eval"]
    assert meta["team"] == "search" and meta["nested"] == {"a": 1}
    assert meta["metadata"] == {"prompt_tokens": 999}  # would have shadowed a mapped field
    assert event["user_properties"]["user_id"] == "user-7"
    session = devserver.store.session(event["session_id"])
    assert session["metadata"]["raw_session_id"] == "conversation-42"
    assert "attributes" not in meta
    sent = json.dumps([request.body for request in devserver.requests])
    assert "secret-1" not in sent and "secret-2" not in sent


def test_llm_span_from_values_prompts_and_multimodal_parts(pipeline, devserver):
    emit(pipeline, "llm values", {
        KIND: "LLM", "llm.model_name": "gpt-4o", "llm.system": "openai",
        "input.value": json.dumps({"messages": [{"role": "user", "content": "from value"}]}),
        "input.mime_type": "application/json", "output.value": "plain answer",
    })
    emit(pipeline, "llm prompts", {
        KIND: "LLM", "llm.model_name": "davinci", "llm.prompts.0.prompt.text": "Once upon",
        "llm.choices.0.completion.text": " a time", "llm.finish_reason": "length",
    })
    emit(pipeline, "llm image", {
        KIND: "LLM", "llm.request.model_name": "gpt-4o", "llm.response.model_name": "gpt-4o-2024-08-06",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.contents.0.message_content.type": "text",
        "llm.input_messages.0.message.contents.0.message_content.text": "What is this?",
        "llm.input_messages.0.message.contents.1.message_content.type": "image",
        "llm.input_messages.0.message.contents.1.message_content.image.image.url": "https://x.test/cat.png",
        "llm.input_messages.1.message.role": "user", "llm.input_messages.1.message.content": '{"looks": "like json"}',
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.contents.0.message_content.type": "reasoning",
        "llm.output_messages.0.message.contents.0.message_content.text": "thinking",
        "llm.output_messages.0.message.contents.1.message_content.type": "text",
        "llm.output_messages.0.message.contents.1.message_content.text": "A cat.",
        "llm.output_messages.0.message.function_call_name": "legacy_fn",
        "llm.output_messages.0.message.function_call_arguments_json": '{"x": 1}',
        "llm.tools.0.tool.json_schema": json.dumps(WEATHER_TOOL),
    })
    pipeline.flush()
    from_values = event_named(devserver, "llm values")
    assert from_values["inputs"]["chat_history"] == [{"role": "user", "content": "from value"}]
    assert from_values["outputs"]["content"] == "plain answer"
    assert from_values["config"]["provider"] == "openai"
    prompts = event_named(devserver, "llm prompts")
    assert prompts["inputs"] == {"prompt": "Once upon"}
    assert prompts["outputs"] == {"role": "assistant", "content": " a time", "finish_reason": "length"}
    image = event_named(devserver, "llm image")
    assert image["config"]["model"] == "gpt-4o"
    assert image["metadata"]["response_model"] == "gpt-4o-2024-08-06"
    assert image["inputs"]["chat_history"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "https://x.test/cat.png"}}]},
        {"role": "user", "content": '{"looks": "like json"}'},
    ]
    assert image["inputs"]["tools"] == [WEATHER_TOOL]
    assert image["outputs"]["content"] == "A cat."
    assert image["outputs"]["reasoning_content"] == "thinking"
    assert image["outputs"]["tool_calls"] == [
        {"id": "", "type": "function", "function": {"name": "legacy_fn", "arguments": '{"x": 1}'}}]
    for event in (from_values, prompts, image):
        assert "attributes" not in event["metadata"]


def test_redacted_values_are_absent_not_text(pipeline, devserver):
    emit(pipeline, "llm redacted", {
        KIND: "LLM", "llm.model_name": "gpt-4o-mini",
        "llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "__REDACTED__",
        "llm.output_messages.0.message.role": "assistant", "llm.output_messages.0.message.content": "__REDACTED__",
        "input.value": "__REDACTED__", "output.value": "__REDACTED__",
    })
    emit(pipeline, "tool redacted", {KIND: "TOOL", "tool.name": "lookup", "input.value": "__REDACTED__",
                                     "output.value": "__REDACTED__"})
    pipeline.flush()
    llm = event_named(devserver, "llm redacted")
    assert llm["inputs"]["chat_history"] == [{"role": "user", "content": None}]
    assert llm["outputs"]["content"] is None
    assert llm["metadata"]["redacted_content"] is True
    tool = event_named(devserver, "lookup")
    assert tool["inputs"] == {} and tool["outputs"] == {}
    assert "__REDACTED__" not in json.dumps([llm, tool])


# ----- hostile input ----------------------------------------------------------------------
def test_malformed_attributes_give_partial_events_quickly(pipeline, devserver):
    attributes: dict[str, Any] = {
        KIND: "LLM", "llm.model_name": 12345, "llm.invocation_parameters": "{not json",
        "metadata": "[1, 2", "tag.tags": "solo-tag", "llm.provider": "",
        "llm.input_messages.0.message.role": "system", "llm.input_messages.0.message.content": "rules",
        # an index gap, a non-numeric index, an index far beyond any bound, mixed types:
        "llm.input_messages.5.message.role": 7, "llm.input_messages.5.message.content": 3.5,
        "llm.input_messages.x.message.role": "user", "llm.input_messages.1000000000.message.content": "bomb",
        "llm.input_messages.999999999.message.content": "also ignored",
        "llm.input_messages.6.message.content": ("tuple", "content"),
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "f",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": json.dumps('{"a": 1}'),
        "llm.output_messages.0.message.tool_calls.3.tool_call.id": "call_3",
        "llm.tools.0.tool.json_schema": "{broken", "llm.tools.1.tool.name": "by_name",
        "retrieval.documents.0.document.metadata": "not an object",
        "llm.token_count.prompt": "seven", "llm.token_count.completion": -3,
    }
    for index in range(3_000):  # many flattened slots, most beyond the rebuilt bound
        attributes[f"llm.input_messages.{index * 7 + 10}.message.content"] = "filler"
    started = time.monotonic()
    emit(pipeline, "llm malformed", attributes)
    pipeline.flush()
    elapsed = time.monotonic() - started
    event = event_named(devserver, "llm malformed")
    assert elapsed < 10
    assert event["event_type"] == "model" and event["config"]["model"] == "12345"
    history = event["inputs"]["chat_history"]
    assert history[0] == {"role": "system", "content": "rules"}
    assert history[1] == {"role": "user", "content": 3.5}  # a non-text role reads as the default
    assert history[2] == {"role": "user", "content": "tuple\ncontent"}
    assert all(message["content"] in ("filler",) for message in history[3:])
    assert len(history) <= 3 + 10_001 // 7 + 1
    calls = event["outputs"]["tool_calls"]
    assert calls[0]["function"] == {"name": "f", "arguments": '{"a": 1}'}  # double encoding undone once
    assert calls[1]["id"] == "call_3"
    assert event["inputs"]["tools"] == [{"type": "function", "function": {"name": "by_name"}}]
    assert event["metadata"]["tags"] == ["solo-tag"]
    # Values that could not be read stay visible instead of vanishing.
    assert leftover(event)["llm.invocation_parameters"] == "{not json"
    assert leftover(event)["metadata"] == "[1, 2"
    assert "prompt_tokens" not in event["metadata"]
    assert "mapping_errors" not in event["metadata"]
