#!/usr/bin/env python
"""Record real spans from real GenAI instrumentors into ``tests/fixtures/spans/*.json``.

Every scenario runs in its own subprocess (instrumentors monkey-patch globals) with a fresh SDK
``TracerProvider`` + ``SimpleSpanProcessor(InMemorySpanExporter)`` (also installed as the global provider, since
LiteLLM's ``otel`` callback and OpenLIT pick the global one), an SDK ``LoggerProvider`` + in-memory log exporter
(global too, for instrumentors that emit content as log records), and a local :class:`FakeOpenAI` server.
Nothing talks to the network: every call goes to the fake server on 127.0.0.1 (or LiteLLM ``mock_response``).

Usage::

    python tools/capture_spans.py                 # all scenarios
    python tools/capture_spans.py openlit_chat litellm_otel_*   # a subset (fnmatch patterns)
    python tools/capture_spans.py --list
    python tools/capture_spans.py --out /tmp/spans  # somewhere else

Each fixture is ``{"scenario", "description", "generator": {package: version}, "env": {...},
"fake_server_requests": [{"path", "body"}], "spans": [...], "logs": [...]}`` where spans/logs use the JSON form of
``tests/support/spans.py`` (reload with ``tests.support.spans.load_spans``/``load_logs``). Attribute strings longer
than 20 KB are truncated (none are in practice).
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "tests" / "fixtures" / "spans"
API_KEY = "sk-test-not-a-secret"
MAX_STR_LEN = 20_000
CHILD_TIMEOUT_S = 180

GENERATOR_PACKAGES = [
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-semantic-conventions",
    "openai",
    "litellm",
    "opentelemetry-instrumentation-openai-v2",
    "opentelemetry-util-genai",
    "opentelemetry-instrumentation-openai",
    "opentelemetry-semantic-conventions-ai",
    "openinference-instrumentation-litellm",
    "openinference-instrumentation",
    "openinference-semantic-conventions",
    "openlit",
]

# env vars that would change instrumentor behaviour; the parent strips them before starting a child
_STRIP_PREFIXES = (
    "OTEL_",
    "TRACELOOP_",
    "LITELLM_",
    "OPENAI_",
    "OPENLIT_",
    "OPENINFERENCE_",
    "PHOENIX_",
    "USE_OTEL_",
)
_BASE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "OPENAI_API_KEY": API_KEY,
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "OTEL_SERVICE_NAME": "capture-spans",
    "OTEL_TRACES_EXPORTER": "none",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
    "TRACELOOP_METRICS_ENABLED": "false",
    "TRACELOOP_TELEMETRY": "false",
    "PYTHONWARNINGS": "ignore",
}

# --------------------------------------------------------------------------------------------- request data

SYSTEM = "You are a helpful assistant."
QUESTION = "What is the capital of France?"
WEATHER_Q = "What is the weather in Paris?"
TOOL_RESULT = "sunny, 21 C"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    }
]


def chat_messages() -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]


def tool_followup(first_messages: list[dict], tool_call_id: str, name: str, arguments: str) -> list[dict]:
    return first_messages + [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": tool_call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": tool_call_id, "content": TOOL_RESULT},
    ]


# --------------------------------------------------------------------------------------------- scenario registry


@dataclass
class Scenario:
    name: str
    func: Callable[[Ctx], Any]
    description: str
    env: dict[str, str] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, description: str, env: dict[str, str] | None = None):
    def deco(func: Callable[[Ctx], Any]) -> Callable[[Ctx], Any]:
        SCENARIOS[name] = Scenario(name, func, description, dict(env or {}))
        return func

    return deco


@dataclass
class Ctx:
    fake: Any
    tracer_provider: Any
    logger_provider: Any
    span_exporter: Any
    log_exporter: Any
    notes: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.fake.base_url

    def openai_client(self):
        import openai

        return openai.OpenAI(base_url=self.fake.base_url, api_key=API_KEY, max_retries=0)

    def async_openai_client(self):
        import openai

        return openai.AsyncOpenAI(base_url=self.fake.base_url, api_key=API_KEY, max_retries=0)

    def litellm_kwargs(self) -> dict[str, Any]:
        return {"api_base": self.fake.base_url, "api_key": API_KEY}


# --------------------------------------------------------------------------------------------- instrumentor setup


def setup_openai_v2(ctx: Ctx) -> None:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=ctx.tracer_provider, logger_provider=ctx.logger_provider)


def setup_traceloop(ctx: Ctx, use_attributes: bool = True) -> None:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor(use_attributes=use_attributes).instrument(
        tracer_provider=ctx.tracer_provider, logger_provider=ctx.logger_provider
    )


def setup_openinference_litellm(ctx: Ctx) -> None:
    from openinference.instrumentation.litellm import LiteLLMInstrumentor

    LiteLLMInstrumentor().instrument(tracer_provider=ctx.tracer_provider)


def setup_openlit(ctx: Ctx, enable: tuple[str, ...] = ("openai",)) -> None:
    import openlit
    from openlit._instrumentors import MODULE_NAME_MAP

    # no network: a local pricing file instead of the default GitHub download
    pricing = {
        "chat": {"gpt-4o-mini": {"promptPrice": 0.00015, "completionPrice": 0.0006}},
        "embeddings": {"text-embedding-3-small": 0.00002},
    }
    fd, path = tempfile.mkstemp(prefix="openlit-pricing-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(pricing, fh)
    # openlit instruments every library it finds (requests, httpx, urllib3, fastapi, mcp...): keep only `enable`
    disabled = [name for name in MODULE_NAME_MAP if name not in enable]
    openlit.init(
        service_name="capture-spans",
        environment="test",
        disable_metrics=True,
        pricing_json=path,
        disabled_instrumentors=disabled,
    )
    ctx.notes.append(
        f"openlit.init(disable_metrics=True, pricing_json=<local file>, enabled instrumentors={list(enable)})"
    )


def setup_litellm_otel(ctx: Ctx) -> Any:
    import litellm

    litellm.callbacks = ["otel"]
    return litellm


async def litellm_flush_async() -> None:
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

    await asyncio.sleep(0)
    await GLOBAL_LOGGING_WORKER.flush()


# --------------------------------------------------------------------------------------------- shared call bodies


def do_openai_chat(ctx: Ctx) -> None:
    client = ctx.openai_client()
    client.chat.completions.create(
        model="gpt-4o-mini", messages=chat_messages(), temperature=0.2, max_tokens=64
    )


def do_openai_tools(ctx: Ctx) -> None:
    client = ctx.openai_client()
    msgs = [{"role": "user", "content": WEATHER_Q}]
    r1 = client.chat.completions.create(model="gpt-4o-mini", messages=msgs, tools=TOOLS, tool_choice="auto")
    tc = r1.choices[0].message.tool_calls[0]
    msgs2 = tool_followup(msgs, tc.id, tc.function.name, tc.function.arguments)
    client.chat.completions.create(model="gpt-4o-mini", messages=msgs2, tools=TOOLS)


def do_openai_stream(ctx: Ctx) -> None:
    client = ctx.openai_client()
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=chat_messages(), stream=True, stream_options={"include_usage": True}
    )
    "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def do_openai_embeddings(ctx: Ctx) -> None:
    client = ctx.openai_client()
    client.embeddings.create(model="text-embedding-3-small", input=["hello world", "goodbye world"])


def do_openai_error(ctx: Ctx) -> None:
    import openai

    client = ctx.openai_client()
    try:
        client.chat.completions.create(model="error-400", messages=[{"role": "user", "content": QUESTION}])
    except openai.BadRequestError:
        pass
    else:  # pragma: no cover
        raise AssertionError("expected BadRequestError")


def do_litellm_chat(ctx: Ctx) -> None:
    import litellm

    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=chat_messages(),
        temperature=0.2,
        max_tokens=64,
        **ctx.litellm_kwargs(),
    )


def do_litellm_tools(ctx: Ctx) -> None:
    import litellm

    msgs = [{"role": "user", "content": WEATHER_Q}]
    r1 = litellm.completion(
        model="openai/gpt-4o-mini", messages=msgs, tools=TOOLS, tool_choice="auto", **ctx.litellm_kwargs()
    )
    tc = r1.choices[0].message.tool_calls[0]
    msgs2 = tool_followup(msgs, tc.id, tc.function.name, tc.function.arguments)
    litellm.completion(model="openai/gpt-4o-mini", messages=msgs2, tools=TOOLS, **ctx.litellm_kwargs())


def do_litellm_stream(ctx: Ctx) -> None:
    import litellm

    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=chat_messages(),
        stream=True,
        stream_options={"include_usage": True},
        **ctx.litellm_kwargs(),
    )
    "".join((c.choices[0].delta.content or "") for c in stream if c.choices)


def do_litellm_embedding(ctx: Ctx) -> None:
    import litellm

    litellm.embedding(
        model="openai/text-embedding-3-small", input=["hello world", "goodbye world"], **ctx.litellm_kwargs()
    )


async def _litellm_acompletion(ctx: Ctx, flush: bool) -> None:
    import litellm

    await litellm.acompletion(model="openai/gpt-4o-mini", messages=chat_messages(), **ctx.litellm_kwargs())
    if flush:
        await litellm_flush_async()


# --------------------------------------------------------------------------------------------- openai-v2 (official)

V2_LATEST = {
    "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
}


@scenario(
    "openai_v2_chat",
    "openai-v2 2.4b0, latest experimental semconv, SPAN_ONLY: one chat call (system+user)",
    V2_LATEST,
)
def s_v2_chat(ctx: Ctx) -> None:
    setup_openai_v2(ctx)
    do_openai_chat(ctx)


@scenario(
    "openai_v2_tools",
    "openai-v2, latest/SPAN_ONLY: tool round trip (call 1 returns a tool call, call 2 sends the tool result)",
    V2_LATEST,
)
def s_v2_tools(ctx: Ctx) -> None:
    setup_openai_v2(ctx)
    do_openai_tools(ctx)


@scenario(
    "openai_v2_stream",
    "openai-v2, latest/SPAN_ONLY: streamed chat with stream_options.include_usage",
    V2_LATEST,
)
def s_v2_stream(ctx: Ctx) -> None:
    setup_openai_v2(ctx)
    do_openai_stream(ctx)


@scenario("openai_v2_embeddings", "openai-v2, latest/SPAN_ONLY: embeddings of two inputs", V2_LATEST)
def s_v2_embeddings(ctx: Ctx) -> None:
    setup_openai_v2(ctx)
    do_openai_embeddings(ctx)


@scenario("openai_v2_error", "openai-v2, latest/SPAN_ONLY: chat call answered with HTTP 400", V2_LATEST)
def s_v2_error(ctx: Ctx) -> None:
    setup_openai_v2(ctx)
    do_openai_error(ctx)


@scenario(
    "openai_v2_legacy_events",
    "openai-v2 default (semconv 1.30 path) with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true: "
    "tool round trip with a system prompt; content goes to per-message log records (see 'logs')",
    {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"},
)
def s_v2_legacy(ctx: Ctx) -> None:
    setup_openai_v2(ctx)
    client = ctx.openai_client()
    msgs = chat_messages()[:1] + [{"role": "user", "content": WEATHER_Q}]
    r1 = client.chat.completions.create(model="gpt-4o-mini", messages=msgs, tools=TOOLS)
    tc = r1.choices[0].message.tool_calls[0]
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=tool_followup(msgs, tc.id, tc.function.name, tc.function.arguments),
        tools=TOOLS,
    )


@scenario(
    "openai_v2_span_and_event",
    "openai-v2, latest experimental, SPAN_AND_EVENT + OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT=true: one chat call; "
    "content on the span and in a gen_ai.client.inference.operation.details log record",
    {
        "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_AND_EVENT",
        "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT": "true",
    },
)
def s_v2_span_and_event(ctx: Ctx) -> None:
    setup_openai_v2(ctx)
    do_openai_chat(ctx)


# --------------------------------------------------------------------------------------------- Traceloop / OpenLLMetry

TL_ENV = {"TRACELOOP_TRACE_CONTENT": "true"}


@scenario(
    "traceloop_openai_chat", "Traceloop opentelemetry-instrumentation-openai 0.62.4: one chat call", TL_ENV
)
def s_tl_chat(ctx: Ctx) -> None:
    setup_traceloop(ctx)
    do_openai_chat(ctx)


@scenario("traceloop_openai_tools", "Traceloop openai 0.62.4: tool round trip", TL_ENV)
def s_tl_tools(ctx: Ctx) -> None:
    setup_traceloop(ctx)
    do_openai_tools(ctx)


@scenario("traceloop_openai_stream", "Traceloop openai 0.62.4: streamed chat with include_usage", TL_ENV)
def s_tl_stream(ctx: Ctx) -> None:
    setup_traceloop(ctx)
    do_openai_stream(ctx)


@scenario("traceloop_openai_embeddings", "Traceloop openai 0.62.4: embeddings of two inputs", TL_ENV)
def s_tl_embeddings(ctx: Ctx) -> None:
    setup_traceloop(ctx)
    do_openai_embeddings(ctx)


@scenario("traceloop_openai_error", "Traceloop openai 0.62.4: chat call answered with HTTP 400", TL_ENV)
def s_tl_error(ctx: Ctx) -> None:
    setup_traceloop(ctx)
    do_openai_error(ctx)


@scenario(
    "traceloop_openai_events",
    "Traceloop openai 0.62.4 with OpenAIInstrumentor(use_attributes=False) (the event path; 0.62.4 has no indexed "
    "gen_ai.prompt.N.* mode any more): tool round trip; content goes to log records (see 'logs')",
    TL_ENV,
)
def s_tl_events(ctx: Ctx) -> None:
    setup_traceloop(ctx, use_attributes=False)
    do_openai_tools(ctx)


# --------------------------------------------------------------------------------------------- OpenInference LiteLLM


@scenario(
    "openinference_litellm_chat",
    "openinference-instrumentation-litellm around litellm.completion (fake server)",
)
def s_oi_chat(ctx: Ctx) -> None:
    setup_openinference_litellm(ctx)
    do_litellm_chat(ctx)


@scenario(
    "openinference_litellm_tools", "openinference-instrumentation-litellm: litellm.completion tool round trip"
)
def s_oi_tools(ctx: Ctx) -> None:
    setup_openinference_litellm(ctx)
    do_litellm_tools(ctx)


@scenario(
    "openinference_litellm_stream",
    "openinference-instrumentation-litellm: streamed litellm.completion with include_usage",
)
def s_oi_stream(ctx: Ctx) -> None:
    setup_openinference_litellm(ctx)
    do_litellm_stream(ctx)


@scenario(
    "openinference_litellm_embedding",
    "openinference-instrumentation-litellm: litellm.embedding of two inputs",
)
def s_oi_embedding(ctx: Ctx) -> None:
    setup_openinference_litellm(ctx)
    do_litellm_embedding(ctx)


@scenario(
    "openinference_litellm_acompletion", "openinference-instrumentation-litellm: await litellm.acompletion"
)
def s_oi_acompletion(ctx: Ctx) -> None:
    setup_openinference_litellm(ctx)
    asyncio.run(_litellm_acompletion(ctx, flush=False))


@scenario(
    "openinference_litellm_genai_semconv",
    "openinference-instrumentation-litellm with OPENINFERENCE_ENABLE_GENAI_SEMCONV=true (OTel gen_ai.* alongside "
    "OpenInference attributes): tool round trip",
    {"OPENINFERENCE_ENABLE_GENAI_SEMCONV": "true"},
)
def s_oi_genai(ctx: Ctx) -> None:
    setup_openinference_litellm(ctx)
    do_litellm_tools(ctx)


# --------------------------------------------------------------------------------------------- OpenLIT


@scenario("openlit_chat", "openlit 1.45.0 openai instrumentation: one chat call")
def s_ol_chat(ctx: Ctx) -> None:
    setup_openlit(ctx)
    do_openai_chat(ctx)


@scenario("openlit_tools", "openlit 1.45.0 openai instrumentation: tool round trip")
def s_ol_tools(ctx: Ctx) -> None:
    setup_openlit(ctx)
    do_openai_tools(ctx)


@scenario("openlit_stream", "openlit 1.45.0 openai instrumentation: streamed chat with include_usage")
def s_ol_stream(ctx: Ctx) -> None:
    setup_openlit(ctx)
    do_openai_stream(ctx)


@scenario("openlit_embeddings", "openlit 1.45.0 openai instrumentation: embeddings of two inputs")
def s_ol_embeddings(ctx: Ctx) -> None:
    setup_openlit(ctx)
    do_openai_embeddings(ctx)


@scenario("openlit_error", "openlit 1.45.0 openai instrumentation: chat call answered with HTTP 400")
def s_ol_error(ctx: Ctx) -> None:
    setup_openlit(ctx)
    do_openai_error(ctx)


@scenario(
    "openlit_litellm",
    "openlit 1.45.0 with its litellm AND openai instrumentations enabled (what openlit.init() does by default): "
    "litellm.completion + litellm.embedding via the fake server",
)
def s_ol_litellm(ctx: Ctx) -> None:
    setup_openlit(ctx, enable=("litellm", "openai"))
    do_litellm_chat(ctx)
    do_litellm_embedding(ctx)


@scenario(
    "openlit_litellm_only",
    "openlit 1.45.0 with only its litellm instrumentation enabled: litellm.completion tool round trip",
)
def s_ol_litellm_only(ctx: Ctx) -> None:
    setup_openlit(ctx, enable=("litellm",))
    do_litellm_tools(ctx)


# --------------------------------------------------------------------------------------------- LiteLLM "otel" callback

LL_ENV = {"USE_OTEL_LITELLM_REQUEST_SPAN": "true"}


@scenario(
    "litellm_otel_completion",
    "litellm.callbacks=['otel'] (global provider set first): litellm.completion",
    LL_ENV,
)
def s_ll_completion(ctx: Ctx) -> None:
    setup_litellm_otel(ctx)
    do_litellm_chat(ctx)


@scenario(
    "litellm_otel_acompletion",
    "litellm otel callback: await litellm.acompletion (LoggingWorker flushed)",
    LL_ENV,
)
def s_ll_acompletion(ctx: Ctx) -> None:
    setup_litellm_otel(ctx)
    asyncio.run(_litellm_acompletion(ctx, flush=True))


@scenario(
    "litellm_otel_stream", "litellm otel callback: streamed litellm.completion with include_usage", LL_ENV
)
def s_ll_stream(ctx: Ctx) -> None:
    setup_litellm_otel(ctx)
    do_litellm_stream(ctx)


@scenario("litellm_otel_tools", "litellm otel callback: litellm.completion tool round trip", LL_ENV)
def s_ll_tools(ctx: Ctx) -> None:
    setup_litellm_otel(ctx)
    do_litellm_tools(ctx)


@scenario("litellm_otel_embedding", "litellm otel callback: litellm.embedding of two inputs", LL_ENV)
def s_ll_embedding(ctx: Ctx) -> None:
    setup_litellm_otel(ctx)
    do_litellm_embedding(ctx)


@scenario(
    "litellm_otel_failure",
    "litellm otel callback: litellm.completion(model='openai/error-503', num_retries=0) -> HTTP 503",
    LL_ENV,
)
def s_ll_failure(ctx: Ctx) -> None:
    import litellm

    setup_litellm_otel(ctx)
    try:
        litellm.completion(
            model="openai/error-503",
            messages=[{"role": "user", "content": QUESTION}],
            num_retries=0,
            **ctx.litellm_kwargs(),
        )
    except litellm.exceptions.ServiceUnavailableError:
        pass
    except Exception as exc:  # pragma: no cover - other mapping in other versions
        ctx.notes.append(f"failure raised {type(exc).__name__}")
    else:  # pragma: no cover
        raise AssertionError("expected a failure")


def _router_model_list(ctx: Ctx) -> list[dict]:
    params = {"model": "openai/gpt-4o-mini", "api_base": ctx.base_url, "api_key": API_KEY}
    return [
        {"model_name": "gpt-group", "litellm_params": dict(params), "model_info": {"id": "dep-a"}},
        {"model_name": "gpt-group", "litellm_params": dict(params), "model_info": {"id": "dep-b"}},
    ]


@scenario(
    "litellm_otel_router",
    "litellm otel callback: litellm.Router with two deployments (model_info ids dep-a/dep-b) of model group "
    "'gpt-group'; router.completion repeated (random.seed(0), at most 8 calls) until both deployments answered",
    LL_ENV,
)
def s_ll_router(ctx: Ctx) -> None:
    import random

    import litellm

    setup_litellm_otel(ctx)
    random.seed(0)  # simple-shuffle routing uses the random module
    router = litellm.Router(model_list=_router_model_list(ctx), num_retries=0)
    seen: list[str] = []
    for _ in range(8):
        r = router.completion(model="gpt-group", messages=[{"role": "user", "content": QUESTION}])
        seen.append((r._hidden_params or {}).get("model_id"))
        if {"dep-a", "dep-b"} <= set(seen):
            break
    ctx.notes.append(f"deployments hit in order: {seen}")


@scenario(
    "litellm_otel_router_fallback",
    "litellm otel callback: Router group 'broken-group' (openai/error-503, model_info id dep-broken) with "
    "fallbacks=[{'broken-group': ['gpt-group']}], num_retries=0: one router.completion that fails over",
    LL_ENV,
)
def s_ll_router_fallback(ctx: Ctx) -> None:
    import litellm

    setup_litellm_otel(ctx)
    broken = {
        "model_name": "broken-group",
        "litellm_params": {"model": "openai/error-503", "api_base": ctx.base_url, "api_key": API_KEY},
        "model_info": {"id": "dep-broken"},
    }
    router = litellm.Router(
        model_list=[broken] + _router_model_list(ctx)[:1],
        fallbacks=[{"broken-group": ["gpt-group"]}],
        num_retries=0,
        retry_after=0,
    )
    r = router.completion(model="broken-group", messages=[{"role": "user", "content": QUESTION}])
    ctx.notes.append(f"answered by deployment {(r._hidden_params or {}).get('model_id')}")


@scenario(
    "litellm_otel_semconv",
    "litellm otel callback with OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental: litellm.completion, then "
    "a tool round trip",
    {**LL_ENV, "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"},
)
def s_ll_semconv(ctx: Ctx) -> None:
    setup_litellm_otel(ctx)
    do_litellm_chat(ctx)
    do_litellm_tools(ctx)


# --------------------------------------------------------------------------------------------- combinations


@scenario(
    "openinference_and_litellm_otel",
    "OpenInference LiteLLMInstrumentor AND litellm.callbacks=['otel'] on one litellm.completion",
    LL_ENV,
)
def s_oi_and_ll(ctx: Ctx) -> None:
    setup_openinference_litellm(ctx)
    setup_litellm_otel(ctx)
    do_litellm_chat(ctx)


@scenario(
    "openlit_and_litellm_otel",
    "openlit (litellm + openai instrumentations) AND litellm.callbacks=['otel'] on one litellm.completion",
    LL_ENV,
)
def s_ol_and_ll(ctx: Ctx) -> None:
    setup_openlit(ctx, enable=("litellm", "openai"))
    setup_litellm_otel(ctx)
    do_litellm_chat(ctx)


# --------------------------------------------------------------------------------------------- child process


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for pkg in GENERATOR_PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _wait_quiet(get_count: Callable[[], int], quiet_s: float = 0.6, max_s: float = 15.0) -> None:
    """Wait until the exported-span count has not changed for ``quiet_s`` (LiteLLM's sync callbacks run on a pool)."""
    deadline = time.monotonic() + max_s
    last, since = get_count(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        n = get_count()
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return


def run_child(name: str, out_path: Path) -> int:
    sys.path.insert(0, str(REPO))
    from opentelemetry import _logs, trace
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tests.support.fake_openai import FakeOpenAI
    from tests.support.spans import log_record_to_dict, span_to_dict

    sc = SCENARIOS[name]
    resource = Resource.create({"service.name": "capture-spans", "service.instance.id": "capture-spans"})
    span_exporter = InMemorySpanExporter()
    tp = TracerProvider(resource=resource)
    tp.add_span_processor(SimpleSpanProcessor(span_exporter))
    trace.set_tracer_provider(tp)
    log_exporter = InMemoryLogRecordExporter()
    lp = LoggerProvider(resource=resource)
    lp.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    _logs.set_logger_provider(lp)

    with FakeOpenAI() as fake:
        ctx = Ctx(
            fake=fake,
            tracer_provider=tp,
            logger_provider=lp,
            span_exporter=span_exporter,
            log_exporter=log_exporter,
        )
        sc.func(ctx)
        _wait_quiet(lambda: len(span_exporter.get_finished_spans()) + len(log_exporter.get_finished_logs()))
        tp.force_flush()
        lp.force_flush()
        requests = [{"path": e["path"], "body": e["body"]} for e in fake.log if e["method"] == "POST"]

    spans = [span_to_dict(s, MAX_STR_LEN) for s in span_exporter.get_finished_spans()]
    logs = [log_record_to_dict(r, MAX_STR_LEN) for r in log_exporter.get_finished_logs()]
    doc: dict[str, Any] = {
        "scenario": name,
        "description": sc.description,
        "generator": _versions(),
        "env": {
            k: v
            for k, v in sorted({**_BASE_ENV, **sc.env}.items())
            if k not in ("PYTHONWARNINGS", "no_proxy")
        },
        "notes": ctx.notes,
        "fake_server_requests": requests,
        "spans": spans,
    }
    if logs:
        doc["logs"] = logs
    text = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False)
    out_path.write_text(text + "\n", encoding="utf-8")
    print(json.dumps({"scenario": name, "spans": len(spans), "logs": len(logs), "bytes": len(text)}))
    sys.stdout.flush()
    # LiteLLM / openlit leave atexit hooks and threads around; the fixture is written, leave now
    os._exit(0)


# --------------------------------------------------------------------------------------------- parent


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIP_PREFIXES)}
    env.update(_BASE_ENV)
    env.update(extra)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("patterns", nargs="*", help="scenario names or fnmatch patterns (default: all)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    ap.add_argument("--list", action="store_true", help="list scenarios and exit")
    ap.add_argument("--child", nargs=2, metavar=("SCENARIO", "OUTFILE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        return run_child(args.child[0], Path(args.child[1]))
    if args.list:
        for sc in SCENARIOS.values():
            print(f"{sc.name:40s} {sc.description}")
        return 0

    names = [n for n in SCENARIOS if not args.patterns or any(fnmatch.fnmatch(n, p) for p in args.patterns)]
    if not names:
        print("no scenario matches", args.patterns, file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failures = []
    for name in names:
        out = args.out / f"{name}.json"
        tmp = args.out / f".{name}.json.tmp"
        tmp.unlink(missing_ok=True)
        t0 = time.monotonic()
        try:
            proc = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", name, str(tmp)],
                env=_child_env(SCENARIOS[name].env),
                cwd=str(REPO),
                capture_output=True,
                text=True,
                timeout=CHILD_TIMEOUT_S,
            )
            ok = proc.returncode == 0 and tmp.exists()
            if ok:
                tmp.replace(out)
            summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        except subprocess.TimeoutExpired as exc:
            ok, summary, proc = False, f"timeout after {exc.timeout}s", None
        tmp.unlink(missing_ok=True)
        dt = time.monotonic() - t0
        if ok:
            print(f"ok   {name:40s} {dt:5.1f}s {summary}")
        else:
            failures.append(name)
            print(f"FAIL {name:40s} {dt:5.1f}s {summary}")
            if proc is not None:
                print(proc.stdout[-3000:], proc.stderr[-6000:], sep="\n", file=sys.stderr)
    if failures:
        print(f"{len(failures)} scenario(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
