"""Privacy: capture_content=False, a redact callable that fails closed, and the secrets redactor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.trace import SpanKind

import honeyhive_otel
from honeyhive_otel.privacy import default_redactor
from tests.support.fake_openai import FakeOpenAI
from tests.support.pipeline import Pipeline, make_pipeline

MARK = "PRIVATE"  # every piece of content below contains it; none may reach the server
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": f"{MARK} description",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": MARK}}}}}]


def emit_content_spans(pipe: Pipeline) -> None:
    """Content in every place a convention can put it, plus places no convention maps."""
    tracer = pipe.tracer("app")
    with tracer.start_as_current_span("agent run") as agent:
        agent.set_attribute("openinference.span.kind", "AGENT")
        agent.set_attribute("input.value", json.dumps({"question": f"{MARK} question"}))
        agent.set_attribute("output.value", f"{MARK} final answer")
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            chat.set_attribute("gen_ai.system_instructions", json.dumps([{"type": "text", "content": f"{MARK} sys"}]))
            chat.set_attribute("gen_ai.input.messages", json.dumps([
                {"role": "user", "parts": [{"type": "text", "content": f"{MARK} weather?"}]},
                {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather",
                                                 "arguments": {"city": f"{MARK} Paris"}}]},
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1",
                                            "response": f"{MARK} sunny"}]}]))
            chat.set_attribute("gen_ai.output.messages", json.dumps([
                {"role": "assistant", "finish_reason": "tool_call",
                 "parts": [{"type": "text", "content": f"{MARK} thinking"},
                           {"type": "tool_call", "id": "call_2", "name": "get_weather",
                            "arguments": {"city": f"{MARK} Rome"}}]}]))
            chat.set_attribute("gen_ai.tool.definitions", json.dumps(TOOLS))
            chat.set_attribute("gen_ai.usage.input_tokens", 11)
            chat.set_attribute("gen_ai.usage.output_tokens", 7)
            chat.set_attribute("app.raw_prompt", f"{MARK} unmapped attribute")
            chat.add_event("debug", {"note": f"{MARK} event attribute"})
        with tracer.start_as_current_span("execute_tool get_weather") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "get_weather")
            tool.set_attribute("gen_ai.tool.call.arguments", json.dumps({"city": f"{MARK} Rome"}))
            tool.set_attribute("gen_ai.tool.call.result", f"{MARK} rainy")
        with tracer.start_as_current_span("embed") as embed:
            embed.set_attribute("openinference.span.kind", "EMBEDDING")
            embed.set_attribute("embedding.model_name", "text-embedding-3-small")
            embed.set_attribute("embedding.embeddings.0.embedding.text", f"{MARK} one")
            embed.set_attribute("embedding.embeddings.1.embedding.text", f"{MARK} two")


@pytest.fixture
def openai_v2(monkeypatch) -> Iterator[None]:
    """The official instrumentation with content capture on (its spans carry messages)."""
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    yield
    OpenAIInstrumentor().uninstrument()


def real_openai_call(pipe: Pipeline) -> None:
    OpenAIInstrumentor().instrument(tracer_provider=pipe.provider)
    with FakeOpenAI() as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test-not-a-secret")
        client.chat.completions.create(model="gpt-4o-mini", tools=TOOLS, messages=[
            {"role": "system", "content": f"{MARK} be terse"}, {"role": "user", "content": f"{MARK} weather?"}])
    OpenAIInstrumentor().uninstrument()


def all_bodies(devserver) -> str:
    return json.dumps([request.body for request in devserver.requests])


def test_capture_content_false_sends_structure_tokens_and_no_content(devserver, openai_v2):
    pipe = make_pipeline(devserver.url, capture_content=False)
    try:
        emit_content_spans(pipe)
        real_openai_call(pipe)
        pipe.flush()
    finally:
        pipe.close()

    assert MARK not in all_bodies(devserver)
    events = devserver.store.events()
    assert len(events) == 5
    chat = next(e for e in events if e["event_name"] == "chat gpt-4o-mini" and e["metadata"].get("prompt_tokens") == 11)
    assert chat["inputs"]["chat_history"] == [
        {"role": "system"}, {"role": "user"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather"}}]},
        {"role": "tool", "tool_call_id": "call_1"}]
    assert chat["inputs"]["tools"] == [{"type": "function", "function": {"name": "get_weather"}}]
    assert chat["outputs"]["role"] == "assistant"
    assert chat["outputs"]["tool_calls"][0]["function"] == {"name": "get_weather"}
    assert chat["metadata"]["total_tokens"] == 18 and chat["metadata"]["content_omitted"] is True
    assert chat["config"]["model"] == "gpt-4o-mini"
    assert chat["metadata"]["otel"]["events"] == [{"name": "debug", "time": chat["metadata"]["otel"]["events"][0]["time"]}]
    tool = next(e for e in events if e["event_type"] == "tool")
    assert tool["inputs"] == {} and tool["outputs"] == {} and tool["config"]["tool_name"] == "get_weather"
    embed = next(e for e in events if e["event_name"] == "embed")
    assert embed["inputs"] == {"input_count": 2}
    real = next(e for e in events if e["metadata"]["otel"]["scope"]["name"].startswith("opentelemetry."))
    assert [m["role"] for m in real["inputs"]["chat_history"]] == ["system", "user"]
    assert real["metadata"]["total_tokens"] > 0


def test_redact_secrets_masks_keys_tokens_and_emails_but_keeps_the_text(devserver):
    secrets = {
        "openai": "sk-proj-AbCdEf0123456789AbCdEf0123456789",
        "anthropic": "sk-ant-api03-AbCdEf0123456789AbCdEf01234",
        "aws": "AKIAIOSFODNN7EXAMPLE",
        "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "email": "jane.doe@example.com",
        "bearer": "Bearer abcdefghijklmnop0123",
        "honeyhive": "hh_abcdefghijklmnopqrstuvwxyz012345",
    }
    pipe = make_pipeline(devserver.url, redact=honeyhive_otel.redact_secrets)
    try:
        with pipe.tracer("app").start_as_current_span("chat") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.input.messages", json.dumps([{"role": "user", "parts": [
                {"type": "text", "content": "my keys: " + " ".join(secrets.values())}]}]))
            span.set_attribute("app.config", json.dumps({"api_key": "plain-value-without-a-pattern"}))
            span.set_attribute("honeyhive_metadata.password", "hunter2hunter2")
        pipe.flush()
    finally:
        pipe.close()

    bodies = all_bodies(devserver)
    for name, secret in secrets.items():
        assert secret.split()[-1] not in bodies, name
    assert "hunter2hunter2" not in bodies
    [event] = devserver.store.events()
    content = event["inputs"]["chat_history"][0]["content"]
    assert content.startswith("my keys: [REDACTED]") and "Bearer [REDACTED]" in content


def test_a_custom_redactor_changes_what_is_sent(devserver):
    def redact(event: dict[str, Any]) -> dict[str, Any]:
        event["inputs"] = {"chat_history": [{"role": m["role"], "content": "<hidden>"}
                                            for m in event["inputs"].get("chat_history", [])]}
        event["metadata"]["redacted_by"] = "app"
        return event

    pipe = make_pipeline(devserver.url, redact=redact)
    try:
        emit_content_spans(pipe)
        pipe.flush()
    finally:
        pipe.close()
    chat = next(e for e in devserver.store.events() if e["event_name"] == "chat gpt-4o-mini")
    assert {m["content"] for m in chat["inputs"]["chat_history"]} == {"<hidden>"}
    assert chat["metadata"]["redacted_by"] == "app"


@pytest.mark.parametrize("broken", ["raises", "returns None"])
def test_a_failing_redactor_drops_the_content_not_the_event(devserver, broken):
    def redact(event: dict[str, Any]) -> dict[str, Any] | None:
        if broken == "raises":
            raise RuntimeError("bug in the redactor")
        return None

    pipe = make_pipeline(devserver.url, redact=redact)
    try:
        emit_content_spans(pipe)
        pipe.flush()
        stats = pipe.processor.stats.snapshot()
    finally:
        pipe.close()

    events = devserver.store.events()
    assert len(events) == 4  # agent, chat, tool, embedding: every event still sent
    for event in events:
        assert event["inputs"] == {} and event["outputs"] == {}
        assert event["metadata"]["redaction_failed"] is True and "attributes" not in event["metadata"]
    assert stats["redaction_failures"] == 4 and stats["dropped_total"] == 0
    assert MARK not in all_bodies(devserver)


def test_default_redactor_leaves_ids_numbers_and_clean_text_alone():
    event = {"event_id": "e", "session_id": "s", "inputs": {"text": "hello"}, "metadata": {"prompt_tokens": 3},
             "config": {"headers": {"Authorization": "Token abc"}}}
    redacted = default_redactor(event)
    assert redacted["inputs"] == {"text": "hello"} and redacted["metadata"] == {"prompt_tokens": 3}
    assert redacted["config"]["headers"]["Authorization"] == "[REDACTED]"
    assert redacted["event_id"] == "e"
