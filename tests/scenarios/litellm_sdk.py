"""LiteLLM SDK calls with `configure()` + `litellm.callbacks = ["otel"]`, exported to a devserver.

Run as a subprocess (configure() and LiteLLM's callbacks are process-global):
    python tests/scenarios/litellm_sdk.py <devserver_url>
`configure()` runs before `import litellm` (so our callback is registered by the import hook)
and `litellm.callbacks = ["otel"]` is assigned afterwards, as users write it. Each call passes
`metadata={"case": <name>, ...}`, which lands in the event's metadata, so tests find their
events. Real provider path against tests/support/fake_openai.py (no network).
Prints one JSON line: {"cases": {...}, "stats": handle stats}.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import honeyhive_otel  # noqa: E402
from tests.support.fake_openai import FakeOpenAI  # noqa: E402

API_KEY = "sk-test-not-a-secret"
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def call_id(response: Any) -> str | None:
    hidden = getattr(response, "_hidden_params", None) or {}
    return hidden.get("litellm_call_id")


def run(server_url: str) -> dict[str, Any]:
    handle = honeyhive_otel.configure(server_url=server_url, merge_window=0.3, session_name="litellm sdk")
    import litellm  # after configure(): the import hook registers our callback

    litellm.callbacks = ["otel"]  # replaces the list: our callback must survive this
    from opentelemetry import trace

    tracer = trace.get_tracer("user-app")
    cases: dict[str, Any] = {}
    with FakeOpenAI() as fake:
        common = {"model": "openai/gpt-4o-mini", "api_base": fake.base_url, "api_key": API_KEY}
        response = litellm.completion(
            messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hello there"}],
            temperature=0.2, max_tokens=50, user="end-user-1",
            metadata={"case": "completion", "session_id": "sdk-session-1", "user_id": "user-7", "feature": "search"},
            **common)
        cases["completion"] = call_id(response)
        response = asyncio.run(litellm.acompletion(
            messages=[{"role": "user", "content": "async hello"}], metadata={"case": "acompletion"}, **common))
        cases["acompletion"] = call_id(response)
        for _ in litellm.completion(messages=[{"role": "user", "content": "stream this"}], stream=True,
                                    stream_options={"include_usage": True}, metadata={"case": "stream"}, **common):
            pass
        asyncio.run(_astream(litellm, common))
        response = litellm.completion(messages=[{"role": "user", "content": "Weather in Paris?"}], tools=TOOLS,
                                      metadata={"case": "tools"}, **common)
        cases["tools"] = {"call_id": call_id(response),
                          "tool_call_ids": [call.id for call in response.choices[0].message.tool_calls]}
        response = asyncio.run(litellm.aembedding(model="openai/text-embedding-3-small", input=["first", "second"],
                                                  api_base=fake.base_url, api_key=API_KEY,
                                                  metadata={"case": "embedding"}))
        cases["embedding"] = call_id(response)
        try:
            litellm.completion(messages=[{"role": "user", "content": "fail please"}], num_retries=0,
                               metadata={"case": "failure"}, **{**common, "model": "openai/error-503"})
        except Exception as error:  # noqa: BLE001 - the failure is the point
            cases["failure"] = type(error).__name__
        with tracer.start_as_current_span("user_workflow_sync"):
            litellm.completion(messages=[{"role": "user", "content": "inside a span"}],
                               metadata={"case": "user_span_sync"}, **common)
        asyncio.run(_user_span_async(litellm, tracer, common))
        cases["router"] = asyncio.run(_router(litellm, fake))
        cases["retry_fallback"] = asyncio.run(_retry_fallback(litellm, fake))
    handle.force_flush(10_000)
    stats = handle.stats()
    handle.shutdown()
    return {"cases": cases, "stats": stats, "registrations": registrations(litellm)}


def registrations(litellm: Any) -> dict[str, int]:
    """How often our callback sits in each of LiteLLM's callback lists."""
    from honeyhive_otel.litellm.callback import CALLBACK_LISTS, get_callback

    ours = get_callback()
    return {name: sum(item is ours for item in getattr(litellm, name)) for name in ("callbacks", *CALLBACK_LISTS)}


async def _astream(litellm: Any, common: dict[str, Any]) -> None:
    stream = await litellm.acompletion(messages=[{"role": "user", "content": "async stream"}], stream=True,
                                       stream_options={"include_usage": True}, metadata={"case": "astream"},
                                       **common)
    async for _ in stream:
        pass


async def _user_span_async(litellm: Any, tracer: Any, common: dict[str, Any]) -> None:
    with tracer.start_as_current_span("user_workflow_async"):
        await litellm.acompletion(messages=[{"role": "user", "content": "inside an async span"}],
                                  metadata={"case": "user_span_async"}, **common)
    # The span closed before LiteLLM's logging worker ran the callback.


def _deployment(name: str, model: str, deployment_id: str, base_url: str) -> dict[str, Any]:
    return {"model_name": name, "model_info": {"id": deployment_id},
            "litellm_params": {"model": model, "api_base": base_url, "api_key": API_KEY}}


async def _router(litellm: Any, fake: Any) -> list[str]:
    router = litellm.Router(model_list=[
        _deployment("gpt-group", "openai/gpt-4o-mini", "dep-a", fake.base_url),
        _deployment("gpt-group", "openai/gpt-4o-mini", "dep-b", fake.base_url),
    ])
    ids = []
    for index in range(4):
        response = await router.acompletion(model="gpt-group", messages=[{"role": "user", "content": f"hi {index}"}],
                                            metadata={"case": "router"})
        ids.append(response._hidden_params.get("model_id"))
    return ids


async def _retry_fallback(litellm: Any, fake: Any) -> str:
    """broken-group (two failing deployments, one retry) falls back to backup-group."""
    router = litellm.Router(model_list=[
        _deployment("broken-group", "openai/error-503", "dep-broken-1", fake.base_url),
        _deployment("broken-group", "openai/error-503", "dep-broken-2", fake.base_url),
        _deployment("backup-group", "openai/gpt-4o-mini", "dep-backup", fake.base_url),
    ], fallbacks=[{"broken-group": ["backup-group"]}], num_retries=1, retry_after=0, allowed_fails=10)
    response = await router.acompletion(model="broken-group", messages=[{"role": "user", "content": "fall back"}],
                                        metadata={"case": "retry_fallback", "session_id": "sdk-fallback"})
    return str(response.choices[0].message.content)


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1])))
