"""One logical call, four instrumentors, one event.

The same requests (same FakeOpenAI replies) go through OpenInference's LiteLLM instrumentor,
OpenLIT's openai instrumentation, Traceloop's openai instrumentation and the official
openai-v2 instrumentation (latest experimental conventions, content on spans). The stored
events must agree on `inputs.chat_history`, `outputs` (role, content, finish_reason,
tool_calls), `config.model` and the token counts.

Each instrumentor runs in its own subprocess (they patch globals): this file is also the
scenario script, `python tests/test_same_call_conventions.py <instrumentor> <devserver_url>
<session_id>`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
INSTRUMENTORS = ("openinference", "openlit", "traceloop", "openai_v2")
API_KEY = "sk-test-not-a-secret"
MODEL = "gpt-4o-mini"
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
CHAT = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "What is the capital of France?"}]
ASK = [{"role": "user", "content": "Weather in Paris?"}]
COMPARED_OUTPUT = ("role", "content", "finish_reason", "tool_calls")


# ----- the scenario (runs in a subprocess) ----------------------------------------------------
def tool_followup(call_id: str, name: str, arguments: str) -> list[dict[str, Any]]:
    """The second request of the tool round trip, as plain dicts (the same for every client)."""
    return [*ASK, {"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21C"}]


def instrument(name: str, pipeline: Any) -> Any:
    """Install one instrumentor on the pipeline; returns a callable(messages, **kw) -> response."""
    if name == "openinference":
        import litellm
        from openinference.instrumentation.litellm import LiteLLMInstrumentor

        LiteLLMInstrumentor().instrument(tracer_provider=pipeline.provider)
        return lambda base_url, **kw: litellm.completion(model=MODEL, api_base=base_url, api_key=API_KEY, **kw)
    if name == "openlit":
        from tests.scenarios.openlit_openai import start_openlit

        start_openlit(pipeline, environment="test")
    elif name == "traceloop":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=pipeline.provider)
    elif name == "openai_v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as OfficialInstrumentor

        OfficialInstrumentor().instrument(tracer_provider=pipeline.provider)
    else:
        raise SystemExit(f"unknown instrumentor {name}")
    import openai

    def call(base_url: str, **kw: Any) -> Any:
        client = openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
        return client.chat.completions.create(model=MODEL, **kw)

    return call


def scenario(name: str, server_url: str, session_id: str) -> None:
    from tests.support.fake_openai import FakeOpenAI
    from tests.support.pipeline import make_pipeline

    pipeline = make_pipeline(server_url, session_id=session_id, session_name=f"same call {name}")
    call = instrument(name, pipeline)
    tracer = pipeline.tracer("scenario")
    with FakeOpenAI() as fake:
        with tracer.start_as_current_span("scenario chat"):
            call(fake.base_url, messages=CHAT, temperature=0.2, max_tokens=64)
        with tracer.start_as_current_span("scenario tools"):
            first = call(fake.base_url, messages=ASK, tools=TOOLS)
            tool = first.choices[0].message.tool_calls[0]
            call(fake.base_url, messages=tool_followup(tool.id, tool.function.name, tool.function.arguments),
                 tools=TOOLS)
        requests = list(fake.requests)
    pipeline.flush()
    pipeline.close()
    print(json.dumps({"fake_requests": requests}))
    sys.stdout.flush()
    os._exit(0)  # OpenLIT and LiteLLM leave threads and atexit hooks behind


# ----- the test --------------------------------------------------------------------------------
def run_all(server_url: str) -> dict[str, str]:
    """Every instrumentor in its own subprocess, in parallel; returns instrumentor -> session id."""
    from tests.test_openlit import scenario_env

    sessions = {name: str(uuid.uuid4()) for name in INSTRUMENTORS}

    def one(name: str) -> subprocess.CompletedProcess:
        env = {**scenario_env(), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "TRACELOOP_TRACE_CONTENT": "true"}
        if name == "openai_v2":
            # Only for the official instrumentation: OpenLIT reads the same variable as a boolean,
            # and "SPAN_ONLY" turns its content capture off.
            env.update(OTEL_SEMCONV_STABILITY_OPT_IN="gen_ai_latest_experimental",
                       OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="SPAN_ONLY")
        return subprocess.run([sys.executable, __file__, name, server_url, sessions[name]], capture_output=True,
                              text=True, timeout=180, env=env, cwd=REPO)

    with ThreadPoolExecutor(len(INSTRUMENTORS)) as pool:
        for name, done in zip(INSTRUMENTORS, pool.map(one, INSTRUMENTORS), strict=True):
            assert done.returncode == 0, f"{name}: {done.stderr[-4000:]}"
            requests = json.loads(done.stdout.strip().splitlines()[-1])["fake_requests"]
            assert len(requests) == 3, name
    return sessions


def model_events(devserver, session_id: str) -> dict[str, list[dict]]:
    from tests.test_openlit import by_case

    cases = by_case(devserver.store.events(session_id=session_id))
    assert all(e["event_type"] == "model" for events in cases.values() for e in events), cases
    return cases


def comparable(event: dict) -> dict[str, Any]:
    meta = event["metadata"]
    return {
        "chat_history": event["inputs"].get("chat_history"),
        "outputs": {key: event["outputs"].get(key) for key in COMPARED_OUTPUT},
        "model": event["config"].get("model"),
        "tokens": (meta.get("prompt_tokens"), meta.get("completion_tokens"), meta.get("total_tokens")),
    }


def without_tool_call_messages(history: list[dict]) -> list[dict]:
    return [m for m in history if not (m["role"] == "assistant" and m.get("tool_calls"))]


def test_same_call_same_event_across_conventions(devserver):
    sessions = run_all(devserver.url)
    seen = {name: model_events(devserver, session) for name, session in sessions.items()}
    conventions = {name: {e["metadata"]["otel"]["convention"] for events in cases.values() for e in events}
                   for name, cases in seen.items()}
    assert conventions == {"openinference": {"openinference"}, "openlit": {"openlit"},
                           "traceloop": {"traceloop"}, "openai_v2": {"genai"}}
    for name, cases in seen.items():
        assert [len(cases["chat"]), len(cases["tools"])] == [1, 2], name

    reference = {case: [comparable(e) for e in seen["openai_v2"][case]] for case in ("chat", "tools")}
    assert reference["chat"][0] == {
        "chat_history": CHAT,
        "outputs": {"role": "assistant", "content": "Echo: What is the capital of France?", "finish_reason": "stop",
                    "tool_calls": None},
        "model": MODEL, "tokens": (8, 7, 15)}
    assert reference["tools"][0]["outputs"] == {
        "role": "assistant", "content": None, "finish_reason": "tool_calls", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    assert reference["tools"][1]["chat_history"] == [
        *ASK, {"role": "assistant", "content": None, "tool_calls": reference["tools"][0]["outputs"]["tool_calls"]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"}]

    for name in ("openinference", "openlit", "traceloop"):
        for case in ("chat", "tools"):
            got = [comparable(e) for e in seen[name][case]]
            want = [dict(item) for item in reference[case]]
            if name == "openlit" and case == "tools":
                # OpenLIT 1.45 records only messages with text parts: the assistant tool-call
                # message of the follow-up request is missing from what it puts on the span.
                want[1]["chat_history"] = without_tool_call_messages(want[1]["chat_history"])
            assert got == want, f"{name} {case}"


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    scenario(sys.argv[1], sys.argv[2], sys.argv[3])
