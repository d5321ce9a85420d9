"""Traceloop / OpenLLMetry spans through the real exporter into the devserver.

- `opentelemetry-instrumentation-openai` 0.62.4 around the real `openai` client (subprocess)
  calling FakeOpenAI: chat, tools, stream, embeddings, and its `use_attributes=False` mode.
  0.62.4 has no switch back to the indexed `gen_ai.prompt.N.*` attributes;
- `traceloop-sdk` entity spans (workflow, agent, task, tool) and an indexed-era LLM span. Their
  attributes copy what traceloop-sdk / opentelemetry-instrumentation-openai 0.47.3 recorded for
  decorated functions calling FakeOpenAI (scope names, keys, value encodings), on real SDK spans;
- hostile values: truncated JSON, index gaps and bombs, wrong types.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind

from tests.support.pipeline import make_pipeline
from tests.test_openlit import by_case, only, run_scenario, tokens

SCENARIO = Path(__file__).resolve().parent / "scenarios" / "traceloop_openai.py"
UNMAPPED = {"openai.response.service_tier", "server.address", "server.port", "error.type"}
ASSOCIATION = {"traceloop.association.properties.session_id": "sess-1",
               "traceloop.association.properties.user_id": "u-7",
               "traceloop.association.properties.customer_id": "c-9",
               "traceloop.association.properties.tenant": "acme"}
SECRET = "sk-live-DO-NOT-LEAK"
WEATHER_PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def leftovers(event: dict) -> set[str]:
    return set(event["metadata"].get("attributes", {}))


# ----- opentelemetry-instrumentation-openai 0.62.4 live ------------------------------------------
def test_traceloop_openai_instrumentation(devserver):
    run_scenario(SCENARIO, devserver.url)
    cases = by_case(devserver.store.events())
    assert [len(cases[c]) for c in ("chat", "tools", "stream", "embeddings", "events")] == [1, 2, 1, 1, 1]
    for event in (e for events in cases.values() for e in events):
        assert event["event_type"] == "model"
        assert event["metadata"]["otel"]["convention"] == "traceloop"  # 0.62 writes no traceloop.* key
        assert event["metadata"]["otel"]["scope"]["name"] == "opentelemetry.instrumentation.openai.v1"
        assert event["metadata"]["api_base"].startswith("http://127.0.0.1:")
        assert event["config"]["provider"] == "openai"
        assert leftovers(event) <= UNMAPPED, leftovers(event)

    chat = cases["chat"][0]
    assert chat["inputs"] == {"chat_history": [{"role": "system", "content": "Be terse."},
                                               {"role": "user", "content": "hello there"}]}
    assert chat["outputs"] == {"role": "assistant", "content": "Echo: hello there", "finish_reason": "stop"}
    assert chat["config"] == {"provider": "openai", "model": "gpt-4o-mini", "max_tokens": 64, "temperature": 0.2,
                              "is_streaming": False}
    assert tokens(chat) == (4, 3, 7) and chat["user_properties"]["user_id"] == "user-42"

    ask, answer = cases["tools"]
    assert ask["inputs"]["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather", "parameters": WEATHER_PARAMETERS}}]
    assert ask["outputs"] == {"role": "assistant", "content": None, "finish_reason": "tool_calls", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    assert answer["inputs"]["chat_history"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": ask["outputs"]["tool_calls"]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"}]
    assert answer["outputs"]["content"] == "Tool said: sunny, 21C" and tokens(answer) == (8, 4, 12)

    stream = cases["stream"][0]
    assert stream["config"]["is_streaming"] is True and stream["outputs"]["content"] == "Echo: stream this"
    assert tokens(stream) == (2, 3, 5)
    assert stream["metrics"]["time_to_first_token_s"] > 0  # from the first chunk event

    embedding = cases["embeddings"][0]
    assert embedding["inputs"] == {"input": ["first text", "second text"]}
    assert embedding["outputs"] == {"vector_count": 2} and tokens(embedding) == (4, None, 4)

    # use_attributes=False: content goes to log records; the span still gives model and usage.
    events_mode = cases["events"][0]
    assert events_mode["config"]["model"] == "gpt-4o-mini" and tokens(events_mode) == (1, 2, 3)
    assert not devserver.store.duplicates()


# ----- traceloop-sdk entity spans (shapes of 0.47.3) ------------------------------------------
@pytest.fixture
def pipeline(devserver):
    pipe = make_pipeline(devserver.url)
    yield pipe
    pipe.close()


def entity(tracer, kind: str, name: str, call: dict | str, result: str, **extra) -> object:
    """A span as traceloop-sdk's decorators make it: `<name>.<kind>`, entity input and output."""
    span = tracer.start_span(f"{name}.{kind}")
    for key, value in {**ASSOCIATION, "traceloop.span.kind": kind, "traceloop.entity.name": name,
                       "traceloop.entity.input": call if isinstance(call, str) else json.dumps(call),
                       "traceloop.entity.output": result, **extra}.items():
        span.set_attribute(key, value)
    return span


def legacy_llm_span(tracer) -> None:
    """An OpenAI chat span of opentelemetry-instrumentation-openai 0.47.3 (indexed attributes)."""
    with tracer.start_as_current_span("openai.chat", kind=SpanKind.CLIENT) as span:
        for key, value in {
            **ASSOCIATION, "llm.request.type": "chat", "traceloop.workflow.name": "research_flow",
            "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.request.temperature": 0.3,
            "llm.user": "llm-user", "llm.headers": "{'Authorization': 'Bearer " + SECRET + "'}",
            "llm.is_streaming": False, "llm.frequency_penalty": 0.5, "llm.presence_penalty": 0.1, "llm.top_k": 40,
            "llm.chat.stop_sequences": ("END",), "llm.request.reasoning_effort": (),
            "gen_ai.openai.api_base": "http://127.0.0.1:9/v1/", "gen_ai.openai.api_version": "2024-06-01",
            "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "Be brief.",
            "gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": "weather?",
            "gen_ai.prompt.2.role": "assistant", "gen_ai.prompt.2.tool_calls.0.id": "call_0",
            "gen_ai.prompt.2.tool_calls.0.name": "get_weather",
            "gen_ai.prompt.2.tool_calls.0.arguments": '{"city": "Oslo"}',
            "gen_ai.prompt.3.role": "tool", "gen_ai.prompt.3.tool_call_id": "call_0",
            "gen_ai.prompt.3.content": "snow",
            "llm.request.functions.0.name": "get_weather", "llm.request.functions.0.description": "Get weather",
            "llm.request.functions.0.parameters": json.dumps(WEATHER_PARAMETERS),
            "gen_ai.response.model": "gpt-4o-mini", "gen_ai.response.id": "chatcmpl-fake-2",
            "gen_ai.openai.system_fingerprint": "fp_fake_openai", "llm.usage.total_tokens": 9,
            "gen_ai.usage.completion_tokens": 1, "gen_ai.usage.prompt_tokens": 8,
            "gen_ai.usage.cache_read_input_tokens": 0, "llm.usage.reasoning_tokens": 0,
            "gen_ai.response.stop_reason": "end_turn",
            "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.tool_calls.0.id": "call_1",
            "gen_ai.completion.0.tool_calls.0.name": "get_weather",
            "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Paris"}',
            "gen_ai.completion.0.content_filter_results": json.dumps({"hate": {"filtered": False}}),
        }.items():
            span.set_attribute(key, value)


def test_traceloop_sdk_workflow_agent_task_tool_and_legacy_llm(pipeline, devserver):
    tracer = pipeline.tracer("traceloop.tracer")
    with tracer.start_as_current_span("research_flow.workflow") as workflow:
        for key, value in {**ASSOCIATION, "traceloop.span.kind": "workflow", "traceloop.entity.name": "research_flow",
                           "traceloop.workflow.name": "research_flow",
                           "traceloop.entity.input": json.dumps({"args": ["paris"], "kwargs": {}}),
                           "traceloop.entity.output": json.dumps("summary of Echo: paris")}.items():
            workflow.set_attribute(key, value)
        # A CrewAI-like agent: it names its model, yet it is an agent (openllmetry#3824).
        agent = entity(tracer, "agent", "researcher", {"args": ["paris"], "kwargs": {"depth": 2}},
                       json.dumps("summary of Echo: paris"), **{"gen_ai.request.model": "gpt-4o-mini",
                                                               "gen_ai.system": "crewai",
                                                               "gen_ai.agent.name": "researcher",
                                                               "traceloop.workflow.name": "research_flow"})
        with _use(agent):
            tool = entity(tracer, "tool", "google_search", {"args": ["paris"], "kwargs": {"top_k": 2}},
                          json.dumps({"results": ["PARIS"]}))
            tool.end()
            legacy_llm_span(tracer)
            task = entity(tracer, "task", "summarise", {"args": ["Echo: paris"], "kwargs": {}},
                          json.dumps("summary of Echo: paris"),
                          **{"traceloop.entity.path": "research_flow.researcher", "traceloop.entity.version": 3})
            task.end()
        agent.end()
    pipeline.flush()

    events = devserver.store.events()
    assert len(events) == 5
    flow, agent_event = only(devserver, "research_flow.workflow"), only(devserver, "researcher.agent")
    tool_event, task_event = only(devserver, "google_search"), only(devserver, "summarise.task")
    llm = only(devserver, "openai.chat")

    assert flow["event_type"] == "chain" and flow["inputs"] == {"args": ["paris"]}
    assert flow["outputs"] == {"output": "summary of Echo: paris"}
    assert agent_event["event_type"] == "chain"
    assert agent_event["config"] == {"provider": "crewai", "model": "gpt-4o-mini"}
    assert agent_event["inputs"] == {"depth": 2, "args": ["paris"]}
    assert tool_event["event_type"] == "tool" and tool_event["config"]["tool_name"] == "google_search"
    assert tool_event["inputs"] == {"top_k": 2, "args": ["paris"]}
    assert tool_event["outputs"] == {"message": {"results": ["PARIS"]}}
    assert task_event["event_type"] == "chain" and task_event["inputs"] == {"args": ["Echo: paris"]}
    assert task_event["metadata"]["entity_path"] == "research_flow.researcher"
    assert task_event["metadata"]["entity_version"] == "3"

    session = str(uuid.uuid5(uuid.NAMESPACE_URL, "sess-1"))
    for event in events:
        assert event["metadata"]["otel"]["convention"] == "traceloop"
        assert event["session_id"] == session
        assert event["user_properties"] == {"user_id": "u-7", "customer_id": "c-9"}  # beats llm.user
        assert event["metadata"]["tenant"] == "acme"
        assert leftovers(event) <= UNMAPPED, leftovers(event)
        assert SECRET not in json.dumps(event)
    for event in (flow, agent_event, tool_event, task_event):
        assert event["metadata"]["entity_name"] in event["event_name"]
    assert agent_event["metadata"]["workflow_name"] == "research_flow"
    assert llm["parent_id"] == agent_event["event_id"] == tool_event["parent_id"]
    assert all(SECRET not in json.dumps(request.body) for request in devserver.requests)

    assert llm["event_type"] == "model"
    assert llm["inputs"]["chat_history"] == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "content": "snow", "tool_call_id": "call_0"}]
    assert llm["inputs"]["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Get weather", "parameters": WEATHER_PARAMETERS}}]
    assert llm["outputs"] == {"role": "assistant", "content": None, "finish_reason": "stop", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    assert llm["config"] == {"provider": "openai", "model": "gpt-4o-mini", "temperature": 0.3,
                             "frequency_penalty": 0.5, "presence_penalty": 0.1, "top_k": 40, "stop": ["END"],
                             "is_streaming": False}
    assert tokens(llm) == (8, 1, 9)
    meta = llm["metadata"]
    assert meta["api_base"] == "http://127.0.0.1:9/v1/" and meta["api_version"] == "2024-06-01"
    assert meta["stop_reason"] == "end_turn" and meta["workflow_name"] == "research_flow"
    assert meta["content_filter_results"] == {"0": {"hate": {"filtered": False}}}
    assert meta["system_fingerprint"] == "fp_fake_openai"


class _use:
    """Make a started span current (the SDK's use_span without ending it)."""

    def __init__(self, span) -> None:
        from opentelemetry import trace

        self._manager = trace.use_span(span, end_on_exit=False)

    def __enter__(self) -> None:
        self._manager.__enter__()

    def __exit__(self, *exc) -> None:
        self._manager.__exit__(*exc)


def test_langchain_entity_forms_and_legacy_embeddings(pipeline, devserver):
    tracer = pipeline.tracer("opentelemetry.instrumentation.langchain")
    chain = entity(tracer, "task", "RunnableSequence",
                   {"inputs": {"question": "why?"}, "tags": [], "metadata": {}, "kwargs": {"run_type": None}},
                   json.dumps({"outputs": {"answer": "because"}, "kwargs": {"tags": []}}))
    chain.end()
    tool = entity(tracer, "tool", "calculator",
                  {"input_str": "{'a': 1, 'b': 2}", "tags": [], "metadata": {}, "inputs": {}, "kwargs": {}},
                  json.dumps({"output": "3", "kwargs": {"name": "calculator"}}))
    tool.end()
    with pipeline.tracer("opentelemetry.instrumentation.openai.v1").start_as_current_span("openai.embeddings") as span:
        for key, value in {"llm.request.type": "embedding", "gen_ai.system": "openai",
                           "gen_ai.request.model": "text-embedding-3-small", "llm.headers": "None",
                           "gen_ai.prompt.0.content": "a b", "gen_ai.prompt.1.content": "c",
                           "llm.usage.total_tokens": 3, "gen_ai.usage.prompt_tokens": 3}.items():
            span.set_attribute(key, value)
    pipeline.flush()
    assert only(devserver, "RunnableSequence.task")["inputs"] == {"question": "why?"}
    assert only(devserver, "RunnableSequence.task")["outputs"] == {"answer": "because"}
    calculator = only(devserver, "calculator")
    assert calculator["inputs"] == {"a": 1, "b": 2} and calculator["outputs"] == {"message": "3"}
    embedding = only(devserver, "openai.embeddings")
    assert embedding["event_type"] == "model" and embedding["inputs"] == {"input": ["a b", "c"]}
    assert embedding["outputs"] == {"vector_count": 2} and tokens(embedding) == (3, None, 3)
    assert "attributes" not in embedding["metadata"]


def test_hostile_traceloop_values_give_partial_events_fast(pipeline, devserver):
    tracer = pipeline.tracer("traceloop.tracer")
    cut = json.dumps({"args": ["x" * 50], "kwargs": {"doc": "y" * 100}})[:60]  # the attribute length limit
    entity(tracer, "task", "truncated", cut, '{"answer": "cut her').end()
    entity(tracer, "tool", "cut_tool", cut, "not json at all").end()
    entity(tracer, "workflow", "single_dict", {"args": [{"city": "Paris"}], "kwargs": {}}, "null").end()
    entity(tracer, "task", "args_named_args", {"args": [1, 2], "kwargs": {"args": "mine"}}, "[1, 2]").end()
    entity(tracer, "task", "not_a_call", {"args": "scalar", "kwargs": ["not", "a", "dict"]}, "7").end()
    entity(tracer, "task", "wrong_types", json.dumps([1, 2, 3]), "{}",
           **{"traceloop.association.properties.user_id": 12345, "traceloop.entity.path": ("a", "b")}).end()
    with tracer.start_as_current_span("openai.chat") as span:
        span.set_attribute("llm.request.type", "chat")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.prompt.0.role", "user")
        span.set_attribute("gen_ai.prompt.0.content", "first")
        span.set_attribute("gen_ai.prompt.7.role", "user")  # a gap: 1-6 missing
        span.set_attribute("gen_ai.prompt.7.content", "eighth")
        span.set_attribute("gen_ai.prompt.999999999.content", "index bomb")
        span.set_attribute("gen_ai.completion.0.content", "fine")
        span.set_attribute("llm.request.functions.0.name", "f")
        span.set_attribute("llm.request.functions.0.parameters", "{broken")
        span.set_attribute("llm.request.functions.1000000000.name", "bomb")
        span.set_attribute("llm.request.functions.2.description", "no name")
        span.set_attribute("llm.usage.total_tokens", "many")
        span.set_attribute("gen_ai.response.stop_reason", 3)
        span.set_attribute("traceloop.association.properties.", "empty name")
    started = time.monotonic()
    pipeline.flush()
    assert time.monotonic() - started < 5
    events = devserver.store.events()
    assert len(events) == 7 and all("mapping_errors" not in e["metadata"] for e in events)

    truncated = only(devserver, "truncated.task")
    assert truncated["inputs"] == {"input": cut}  # kept as text, not lost
    assert truncated["outputs"] == {"output": '{"answer": "cut her'}
    cut_tool = only(devserver, "cut_tool")
    assert cut_tool["inputs"] == {"arguments": cut} and cut_tool["outputs"] == {"message": "not json at all"}
    assert only(devserver, "single_dict.workflow")["inputs"] == {"city": "Paris"}
    assert only(devserver, "args_named_args.task")["inputs"] == {"args": "mine", "positional_args": [1, 2]}
    assert only(devserver, "not_a_call.task")["inputs"] == {"args": ["scalar"]}
    wrong = only(devserver, "wrong_types.task")
    assert wrong["inputs"] == {"input": [1, 2, 3]} and wrong["user_properties"]["user_id"] == "12345"
    assert wrong["metadata"]["entity_path"] == ["a", "b"]

    llm = only(devserver, "openai.chat")
    assert llm["inputs"]["chat_history"] == [{"role": "user", "content": "first"},
                                             {"role": "user", "content": "eighth"}]
    assert llm["inputs"]["tools"] == [{"type": "function", "function": {"name": "f", "parameters": "{broken"}}]
    assert llm["outputs"]["content"] == "fine" and llm["outputs"]["finish_reason"] == "3"
    assert "total_tokens" not in llm["metadata"]
