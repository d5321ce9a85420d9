"""Quickstart: real LiteLLM calls, traced by LiteLLM's own `otel` callback, sent to HoneyHive.

Runs offline with no account: unless HONEYHIVE_SERVER_URL is set, it starts the local
devserver in-process (a real server speaking HoneyHive's API) and prints the session it
received as a tree of events.

    python examples/quickstart.py
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download

import json  # noqa: E402
import urllib.request  # noqa: E402

import honeyhive_otel  # noqa: E402
from honeyhive_otel.devserver import DevServer  # noqa: E402
from honeyhive_otel.tree import render_tree  # noqa: E402


def main() -> None:
    local = None
    if not os.environ.get("HONEYHIVE_SERVER_URL"):
        local = DevServer().start()
        os.environ["HONEYHIVE_SERVER_URL"] = local.url
        print(f"local HoneyHive devserver at {local.url}")

    handle = honeyhive_otel.configure(session_name="quickstart")

    import litellm
    from opentelemetry import trace

    litellm.callbacks = ["otel"]
    tracer = trace.get_tracer("quickstart")
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]

    with tracer.start_as_current_span("plan trip"):
        litellm.completion(
            model="gpt-4o-mini", mock_response="Paris is lovely in spring.",
            messages=[{"role": "system", "content": "You are a travel agent."},
                      {"role": "user", "content": "Where should I go in April?"}],
        )
        question = [{"role": "user", "content": "And the weather there?"}]
        call = {"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
        litellm.completion(model="gpt-4o-mini", tools=tools, messages=question, mock_tool_calls=[call])
        litellm.completion(
            model="gpt-4o-mini", tools=tools, mock_response="It is 18°C and sunny in Paris.",
            messages=[*question, {"role": "assistant", "content": None, "tool_calls": [call]},
                      {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 18, "sky": "sunny"}'}],
        )

    handle.force_flush(10_000)
    server = os.environ["HONEYHIVE_SERVER_URL"]
    with urllib.request.urlopen(f"{server}/v1/sessions/{handle.session_id}", timeout=10) as response:
        payload = json.load(response)
    print(render_tree(payload.get("session"), payload.get("events", [])))
    handle.shutdown()
    if local is not None:
        local.stop()


if __name__ == "__main__":
    main()
