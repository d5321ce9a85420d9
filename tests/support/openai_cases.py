"""The calls every `openai`-client instrumentor scenario makes against FakeOpenAI, each under a
root span `scenario <case>`, so different instrumentors describe exactly the same calls."""

from __future__ import annotations

from typing import Any

API_KEY = "sk-test-not-a-secret"
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def run_tool_stream_embedding_cases(tracer: Any, client: Any) -> None:
    """A tool round trip, a stream with usage, and an embeddings call."""
    with tracer.start_as_current_span("scenario tools"):
        asked = [{"role": "user", "content": "Weather in Paris?"}]
        first = client.chat.completions.create(model="gpt-4o-mini", messages=asked, tools=TOOLS)
        call = first.choices[0].message
        client.chat.completions.create(model="gpt-4o-mini", tools=TOOLS, messages=[
            *asked, call.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.tool_calls[0].id, "content": "sunny, 21C"}])
    with tracer.start_as_current_span("scenario stream"):
        stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                stream_options={"include_usage": True},
                                                messages=[{"role": "user", "content": "stream this"}])
        "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    with tracer.start_as_current_span("scenario embeddings"):
        client.embeddings.create(model="text-embedding-3-small", input=["first text", "second text"])
