"""OpenLIT spans, current and old, through the real exporter into the devserver.

- openlit 1.45 around the real `openai` client (subprocess: OpenLIT patches globals) calling
  FakeOpenAI: chat, tools, stream, embeddings; prices from a local file, no network;
- spans recorded from openlit 1.33.0 (`tests/fixtures/spans/openlit_old_*.json`) replayed
  through `HoneyHiveSpanExporter.export`;
- OpenLIT shapes not covered by those (mistral's `str(inputs)`, tool calls as a Python repr,
  1.35+'s joined tool keys, agent/workflow extras) and hostile values, on real SDK spans.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

from honeyhive_otel import HoneyHiveSpanExporter
from tests.support.pipeline import make_pipeline
from tests.support.spans import load_spans

TESTS = Path(__file__).resolve().parent
SCENARIO = TESTS / "scenarios" / "openlit_openai.py"
FIXTURES = TESTS / "fixtures" / "spans"
# Attributes OpenLIT writes that no convention maps (generic OTel ones): allowed to stay.
UNMAPPED = {"server.address", "server.port", "openai.response.service_tier", "error.type"}
OPENLIT_KEYS = ("telemetry.sdk.name", "deployment.environment", "service.name", "gen_ai.environment",
                "gen_ai.application_name", "gen_ai.endpoint", "gen_ai.sdk.version", "gen_ai.request.is_stream",
                "gen_ai.request.stream", "gen_ai.client.token.usage", "gen_ai.server.time_per_output_token",
                "gen_ai.usage.cost", "openlit.agent.version_hash", "openai.api.type")


# ----- helpers ------------------------------------------------------------------------------
def scenario_env() -> dict[str, str]:
    """The test's environment without instrumentation switches that would change the scenario."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENLIT_", "TRACELOOP_"))}
    env.update(OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", PYTHONWARNINGS="ignore")
    return env


def run_scenario(script: Path, server_url: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(script), server_url], capture_output=True, text=True,
                          timeout=120, env=scenario_env(), cwd=TESTS.parent)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def by_case(events: list[dict]) -> dict[str, list[dict]]:
    """Events under each `scenario <case>` root span, in start order."""
    roots = {e["event_id"]: e["event_name"].removeprefix("scenario ") for e in events
             if e["event_name"].startswith("scenario ")}
    cases: dict[str, list[dict]] = {name: [] for name in roots.values()}
    for event in sorted(events, key=lambda e: e["start_time"]):
        if event["parent_id"] in roots:
            cases[roots[event["parent_id"]]].append(event)
    return cases


def assert_consumed(event: dict, keys: tuple[str, ...] = OPENLIT_KEYS) -> None:
    """Mapped attributes are not repeated in metadata.attributes; only generic leftovers stay."""
    leftovers = set(event["metadata"].get("attributes", {}))
    assert not leftovers & set(keys), leftovers
    assert leftovers <= UNMAPPED, leftovers


def tokens(event: dict) -> tuple[int | None, int | None, int | None]:
    meta = event["metadata"]
    return meta.get("prompt_tokens"), meta.get("completion_tokens"), meta.get("total_tokens")


def replay(devserver, fixture: str) -> list[dict]:
    """A recorded fixture's spans through a fresh exporter; its events, in start order."""
    session = str(uuid.uuid4())
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, session_id=session, merge_window=0.1)
    exporter.export(load_spans(FIXTURES / fixture))
    assert exporter.force_flush(5_000)
    exporter.shutdown()
    return sorted(devserver.store.events(session_id=session), key=lambda e: e["start_time"])


def only(devserver, name: str) -> dict:
    events = [e for e in devserver.store.events() if e["event_name"] == name]
    assert len(events) == 1, [e["event_name"] for e in devserver.store.events()]
    return events[0]


# ----- openlit 1.45 live ----------------------------------------------------------------------
def test_openlit_current_release_around_openai(devserver):
    run_scenario(SCENARIO, devserver.url)
    cases = by_case(devserver.store.events())
    models = [e for events in cases.values() for e in events]
    assert [len(cases[c]) for c in ("chat", "tools", "stream", "embeddings")] == [1, 2, 1, 1]
    for event in models:
        assert event["event_type"] == "model"
        assert event["metadata"]["otel"]["convention"] == "openlit"
        assert event["metadata"]["otel"]["scope"]["name"] == "openlit.instrumentation.openai"
        assert event["config"]["provider"] == "openai"
        assert event["metadata"]["environment"] == "staging" and event["source"] == "staging"
        assert event["metadata"]["application"] == "weather-app"
        assert event["metadata"]["sdk_version"]  # the openai package's version
        assert event["metadata"]["cost"] > 0
        assert event["metrics"]["time_to_first_token_s"] > 0
        assert_consumed(event)

    chat = cases["chat"][0]
    assert chat["inputs"] == {"chat_history": [{"role": "system", "content": "Be terse."},
                                               {"role": "user", "content": "hello there"}]}
    assert chat["outputs"] == {"role": "assistant", "content": "Echo: hello there", "finish_reason": "stop"}
    assert chat["config"]["model"] == "gpt-4o-mini" and chat["config"]["temperature"] == 0.2
    assert chat["config"]["max_tokens"] == 64 and chat["config"]["is_streaming"] is False
    assert tokens(chat) == (4, 3, 7)
    # OpenLIT's own price: (4 * 0.00015 + 3 * 0.0006) / 1000.
    assert chat["metadata"]["cost"] == pytest.approx(2.4e-06)
    assert chat["metadata"]["api_type"] == "chat_completions"

    ask, answer = cases["tools"]
    assert ask["outputs"]["tool_calls"] == [{"id": "call_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city": "Paris"}'}}]
    assert ask["outputs"]["finish_reason"] == "tool_calls" and ask["outputs"]["content"] is None
    # OpenLIT 1.45 itself drops the assistant tool-call message from the recorded input (it
    # keeps only messages with text parts), so the history goes from the question to the result.
    assert answer["inputs"]["chat_history"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"}]
    assert answer["outputs"] == {"role": "assistant", "content": "Tool said: sunny, 21C", "finish_reason": "stop"}

    stream = cases["stream"][0]
    assert stream["config"]["is_streaming"] is True
    assert stream["outputs"]["content"] == "Echo: stream this" and tokens(stream) == (2, 3, 5)
    assert stream["metrics"]["time_per_output_token_s"] > 0
    assert "time_per_output_token_s" not in chat["metrics"]  # OpenLIT writes 0 when nothing streamed

    embedding = cases["embeddings"][0]
    assert embedding["inputs"] == {"input": ["first text", "second text"]}
    assert embedding["outputs"] == {"dimension": 8, "vector_count": 2}
    assert embedding["config"]["model"] == "text-embedding-3-small"
    assert tokens(embedding) == (4, None, 4)
    assert not devserver.store.duplicates()


# ----- openlit 1.33.0, recorded -----------------------------------------------------------
def test_old_openlit_chat_from_role_lines(devserver):
    (chat,) = replay(devserver, "openlit_old_chat.json")
    assert chat["event_type"] == "model" and chat["event_name"] == "openai.chat.completions"
    assert chat["metadata"]["otel"]["convention"] == "openlit"
    assert chat["metadata"]["otel"]["scope"]["name"] == "openlit.otel.tracing"
    assert chat["inputs"] == {"chat_history": [{"role": "system", "content": "You are a helpful assistant."},
                                               {"role": "user", "content": "What is the capital of France?"}]}
    # The completion event has no finish reason; the span's gen_ai.response.finish_reasons does.
    assert chat["outputs"] == {"role": "assistant", "content": "Echo: What is the capital of France?",
                               "finish_reason": "stop"}
    # `seed=""` and `user=""` are placeholders: left out.
    assert chat["config"] == {"provider": "openai", "model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 64,
                              "top_p": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0,
                              "is_streaming": False}
    assert tokens(chat) == (11, 7, 18) and chat["metadata"]["cost"] == pytest.approx(5.85e-06)
    assert chat["metadata"]["environment"] == "test" and chat["source"] == "test"  # resource deployment.environment
    assert chat["metadata"]["application"] == "capture-spans"
    assert chat["metadata"]["endpoint"] == "openai.chat.completions"
    assert "attributes" not in chat["metadata"]  # every attribute of the old emitter is mapped


def test_old_openlit_tool_round_trip_keeps_no_placeholder(devserver):
    ask, answer = replay(devserver, "openlit_old_tools.json")
    # 1.33 recorded "Function called with tools" instead of the reply: that is not model output.
    for event in (ask, answer):
        assert event["outputs"] == {"role": "assistant", "content": None, "finish_reason": None}
        assert "max_tokens" not in event["config"]  # -1 placeholder
        assert_consumed(event)
    assert tokens(ask) == (6, 1, 7)
    # The tool-call message was formatted as "assistant: None": no content, not the word None.
    assert answer["inputs"]["chat_history"] == [{"role": "user", "content": "What is the weather in Paris?"},
                                                {"role": "assistant", "content": None},
                                                {"role": "tool", "content": "sunny, 21 C"}]


def test_old_openlit_stream_choices_and_embeddings(devserver):
    (stream,) = replay(devserver, "openlit_old_stream.json")
    assert stream["config"]["is_streaming"] is True
    assert stream["outputs"]["content"] == "Echo: What is the capital of France?"
    assert tokens(stream) == (17, 9, 26)  # OpenLIT 1.33 counted these itself with tiktoken

    (choices,) = replay(devserver, "openlit_old_chat_n2.json")
    assert [c["content"] for c in choices["outputs"]["choices"]] == [
        "Echo: What is the capital of France?", "Echo: What is the capital of France? (choice 1)"]
    assert choices["outputs"]["content"] == "Echo: What is the capital of France?"
    assert choices["outputs"]["finish_reason"] == "stop"

    (embedding,) = replay(devserver, "openlit_old_embeddings.json")
    assert embedding["inputs"] == {"input": ["hello world", "goodbye world"]}
    assert embedding["outputs"] == {"vector_count": 2}
    assert tokens(embedding) == (4, None, 4) and embedding["metadata"]["cost"] == pytest.approx(8e-08)
    assert embedding["config"]["model"] == "text-embedding-3-small"


# ----- synthetic OpenLIT shapes ----------------------------------------------------------------
@pytest.fixture
def openlit_pipeline(devserver):
    pipe = make_pipeline(devserver.url, resource={"service.name": "svc", "telemetry.sdk.name": "openlit",
                                                   "deployment.environment": "qa"})
    yield pipe
    pipe.close()


def test_mistral_embeddings_repr_and_old_prompt_event(openlit_pipeline, devserver):
    tracer = openlit_pipeline.tracer("openlit.instrumentation.mistral")
    for name, inputs in (("embeddings list", ["bonjour", "le monde"]), ("embeddings text", "bonjour")):
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT) as span:
            span.set_attribute("telemetry.sdk.name", "openlit")
            span.set_attribute("gen_ai.operation.name", "embeddings")
            span.set_attribute("gen_ai.provider.name", "mistral_ai")
            span.set_attribute("gen_ai.request.model", "mistral-embed")
            span.set_attribute("gen_ai.input.messages", str(inputs))  # what openlit's mistral module writes
            span.add_event("gen_ai.content.prompt", {"gen_ai.input.messages": str(inputs)})
            span.set_attribute("gen_ai.usage.input_tokens", 3)
            span.set_attribute("gen_ai.client.token.usage", 3)
    openlit_pipeline.flush()
    listed = only(devserver, "embeddings list")
    assert listed["inputs"] == {"input": ["bonjour", "le monde"]} and listed["outputs"] == {"vector_count": 2}
    assert listed["config"]["provider"] == "mistral" and tokens(listed) == (3, None, 3)
    assert only(devserver, "embeddings text")["inputs"] == {"input": "bonjour"}
    assert listed["source"] == "qa"  # the resource's deployment.environment
    assert_consumed(listed)


@pytest.mark.parametrize("encoded", [
    pytest.param(str([{"id": "call_9", "type": "function",
                       "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]), id="repr"),
    pytest.param(json.dumps([{"id": "call_9", "type": "function",
                              "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]), id="json"),
    pytest.param("[ChatCompletionMessageToolCall(id='call_9', function=Function(arguments='{\"city\": \"Rome\"}', "
                 "name='get_weather'), type='function')]", id="sdk-objects"),
])
def test_response_tool_calls_fill_the_output(openlit_pipeline, devserver, encoded):
    with openlit_pipeline.tracer("openlit.otel.tracing").start_as_current_span("openai.chat.completions") as span:
        span.set_attribute("telemetry.sdk.name", "openlit")
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.system", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.response.tool_calls", encoded)
        span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": "user: Weather in Rome?"})
        span.add_event("gen_ai.content.completion", {"gen_ai.completion": "Function called with tools"})
    openlit_pipeline.flush()
    event = only(devserver, "openai.chat.completions")
    assert event["inputs"]["chat_history"] == [{"role": "user", "content": "Weather in Rome?"}]
    assert event["outputs"] == {"role": "assistant", "content": None, "finish_reason": "tool_calls", "tool_calls": [
        {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]}
    assert_consumed(event, ("gen_ai.response.tool_calls",))


def test_joined_tool_keys_of_newer_builds(openlit_pipeline, devserver):
    """1.35+ write every call of a reply as ", "-joined names, ids and arguments on the model span."""
    with openlit_pipeline.tracer("openlit.instrumentation.openai").start_as_current_span("chat two") as span:
        span.set_attribute("telemetry.sdk.name", "openlit")
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.tool.name", "get_weather, get_time")
        span.set_attribute("gen_ai.tool.call.id", "call_1, call_2")
        span.set_attribute("gen_ai.tool.args", '{"city": "Paris, France"}, {"tz": "CET"}')
        span.set_attribute("gen_ai.response.finish_reasons", ("tool_calls",))
    openlit_pipeline.flush()
    event = only(devserver, "chat two")
    assert event["outputs"]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather",
                                                          "arguments": '{"city": "Paris, France"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": '{"tz": "CET"}'}}]
    assert event["outputs"]["finish_reason"] == "tool_calls"


def test_agent_and_workflow_extras(openlit_pipeline, devserver):
    with openlit_pipeline.tracer("openlit.instrumentation.crewai").start_as_current_span("invoke_agent planner") as span:
        span.set_attribute("telemetry.sdk.name", "openlit")
        span.set_attribute("gen_ai.operation.name", "invoke_agent")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.agent.name", "planner")
        span.set_attribute("gen_ai.agent.role", "Senior planner")
        span.set_attribute("gen_ai.agent.task.id", "t-1")
        span.set_attribute("gen_ai.agent.tools", json.dumps(["search", "calc"]))
        span.set_attribute("gen_ai.agent.allow_delegation", False)
        span.set_attribute("gen_ai.workflow.type", "sequential")
        span.set_attribute("gen_ai.workflow.input", json.dumps({"topic": "rivers"}))
        span.set_attribute("gen_ai.workflow.output", "a plan")
        span.set_attribute("gen_ai.usage.prompt_tokens_details.audio_tokens", 0)
        span.set_attribute("gen_ai.usage.completion_tokens_details.audio_tokens", 2)
    openlit_pipeline.flush()
    event = only(devserver, "invoke_agent planner")
    assert event["event_type"] == "chain" and event["config"]["model"] == "gpt-4o-mini"
    assert event["inputs"] == {"topic": "rivers"} and event["outputs"] == {"output": "a plan"}
    meta = event["metadata"]
    assert meta["agent_name"] == "planner" and meta["agent_role"] == "Senior planner"
    assert meta["agent_task_id"] == "t-1" and meta["agent_tools"] == ["search", "calc"]
    assert meta["agent_allow_delegation"] is False and meta["workflow_type"] == "sequential"
    assert meta["prompt_audio_tokens"] == 0 and meta["completion_audio_tokens"] == 2
    assert "attributes" not in meta


def test_detection_needs_genai_content_under_an_openlit_resource(openlit_pipeline, devserver):
    tracer = openlit_pipeline.tracer("my.app")
    with tracer.start_as_current_span("handle request"):
        with tracer.start_as_current_span("llm call") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            span.set_attribute("gen_ai.client.token.usage", 12)
    openlit_pipeline.flush()
    assert only(devserver, "handle request")["metadata"]["otel"]["convention"] == "otel"
    llm = only(devserver, "llm call")
    assert llm["metadata"]["otel"]["convention"] == "openlit"
    assert llm["metadata"]["total_tokens"] == 12  # the only usage OpenLIT gave


def test_hostile_openlit_values_give_partial_events_fast(openlit_pipeline, devserver):
    tracer = openlit_pipeline.tracer("openlit.otel.tracing")
    with tracer.start_as_current_span("hostile") as span:
        span.set_attribute("telemetry.sdk.name", "openlit")
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.response.tool_calls", "[{'id': 'call_1', 'function': ")  # cut repr
        span.set_attribute("gen_ai.tool.name", "a, b, c")
        span.set_attribute("gen_ai.tool.args", "{not json")
        span.set_attribute("gen_ai.server.time_per_output_token", "fast")
        span.set_attribute("gen_ai.client.token.usage", -5)
        span.set_attribute("gen_ai.application_name", 7)
        span.set_attribute("gen_ai.agent.tools", "[" * 5_000)
        span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": "user: " + "x" * 200_000})
        span.add_event("gen_ai.content.completion.999999999", {"gen_ai.completion": "ignored"})
        span.add_event("gen_ai.content.completion.3", {"gen_ai.completion": ("not", "text")})
        for index in (0, 10**9):
            span.add_event(f"gen_ai.content.completion.{index}", {"gen_ai.completion": f"choice {index}"})
    started = time.monotonic()
    openlit_pipeline.flush()
    assert time.monotonic() - started < 5
    event = only(devserver, "hostile")
    assert event["event_type"] == "model" and "mapping_errors" not in event["metadata"]
    assert event["metadata"]["application"] == "7"
    # The cut repr maps to nothing; the joined names cannot be split against unparsable args: one call.
    assert event["outputs"]["tool_calls"] == [{"id": "", "type": "function",
                                               "function": {"name": "a, b, c", "arguments": "{not json"}}]
    assert [c["content"] for c in event["outputs"]["choices"]] == ["choice 0", '["not", "text"]']
    assert "time_per_output_token_s" not in event["metrics"] and "total_tokens" not in event["metadata"]
    assert event["metadata"]["agent_tools"] == "[" * 5_000
