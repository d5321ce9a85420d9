"""OpenInference's LiteLLMInstrumentor around real LiteLLM calls, exported to a devserver.

Run as a subprocess (the instrumentor patches LiteLLM's module globals):
    python tests/scenarios/openinference_litellm.py <devserver_url>
Each call runs under a root span named `scenario <name>` so the test can find its events.
Prints one JSON line: the request bodies FakeOpenAI received.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402
from openinference.instrumentation.litellm import LiteLLMInstrumentor  # noqa: E402

from tests.support.fake_openai import FakeOpenAI  # noqa: E402
from tests.support.pipeline import make_pipeline  # noqa: E402

API_KEY = "sk-test-not-a-secret"
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def run(server_url: str) -> list[dict]:
    pipeline = make_pipeline(server_url, session_name="openinference litellm")
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(tracer_provider=pipeline.provider)
    tracer = pipeline.tracer("scenario")
    with FakeOpenAI() as fake:
        common = {"model": "openai/gpt-4o-mini", "api_base": fake.base_url, "api_key": API_KEY}
        with tracer.start_as_current_span("scenario chat"):
            litellm.completion(messages=[{"role": "system", "content": "Be terse."},
                                         {"role": "user", "content": "hello there"}],
                               temperature=0.2, max_tokens=50, **common)
        with tracer.start_as_current_span("scenario tools"):
            asked = [{"role": "user", "content": "Weather in Paris?"}]
            first = litellm.completion(messages=asked, tools=TOOLS, **common)
            call = first.choices[0].message
            litellm.completion(messages=[*asked, call.model_dump(),
                                         {"role": "tool", "tool_call_id": call.tool_calls[0].id,
                                          "content": "sunny, 21C"}], tools=TOOLS, **common)
        with tracer.start_as_current_span("scenario stream"):
            chunks = litellm.completion(messages=[{"role": "user", "content": "stream this"}], stream=True,
                                        stream_options={"include_usage": True}, **common)
            for _ in chunks:
                pass
        with tracer.start_as_current_span("scenario embedding"):
            litellm.embedding(model="openai/text-embedding-3-small", input=["first text", "second text"],
                              api_base=fake.base_url, api_key=API_KEY)
        with tracer.start_as_current_span("scenario async"):
            asyncio.run(litellm.acompletion(messages=[{"role": "user", "content": "async hello"}], **common))
        with tracer.start_as_current_span("scenario mock"):
            litellm.completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "mock me"}],
                               mock_response="mocked answer")
        requests = list(fake.requests)
    instrumentor.uninstrument()
    pipeline.flush()
    pipeline.close()
    return requests


if __name__ == "__main__":
    print(json.dumps({"fake_requests": run(sys.argv[1])}))
