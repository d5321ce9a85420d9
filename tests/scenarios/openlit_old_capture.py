"""Record `tests/fixtures/spans/openlit_old_<case>.json` from an OLD openlit, in a throwaway venv.

Not part of the test run: the dev environment has openlit 1.45. Usage (from the repo root):

    python3 -m venv /tmp/oldlit && /tmp/oldlit/bin/pip install 'openlit==1.33.0' openai
    /tmp/oldlit/bin/python tests/scenarios/openlit_old_capture.py <case> tests/fixtures/spans/openlit_old_<case>.json

Cases: chat, tools, stream, chat_n2, embeddings. `openlit.init()` builds its own TracerProvider
(resource `telemetry.sdk.name=openlit`, console exporter), as old releases do; an in-memory
exporter is added to it. Nothing leaves 127.0.0.1: a local pricing file, and tiktoken's cache
pointed at LiteLLM's bundled files (OpenLIT 1.33 counts streamed tokens with tiktoken).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("OTEL_SERVICE_NAME", "capture-spans")

from tests.support.fake_openai import FakeOpenAI  # noqa: E402
from tests.support.spans import CapturingExporter, span_to_dict  # noqa: E402

SYSTEM = "You are a helpful assistant."
QUESTION = "What is the capital of France?"
WEATHER_Q = "What is the weather in Paris?"
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                                                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}}]
DESCRIPTIONS = {
    "chat": "openlit 1.33.0 openai instrumentation: one chat call (system + user, temperature=0.2, max_tokens=64)",
    "tools": "openlit 1.33.0 openai instrumentation: tool round trip (tools offered, tool call, tool result, answer)",
    "stream": "openlit 1.33.0 openai instrumentation: streamed chat with include_usage",
    "chat_n2": "openlit 1.33.0 openai instrumentation: one chat call with n=2 (two choices)",
    "embeddings": "openlit 1.33.0 openai instrumentation: embeddings of two inputs",
}


def run(case: str, client) -> None:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    if case == "chat":
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0.2, max_tokens=64)
    elif case == "chat_n2":
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, n=2)
    elif case == "stream":
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True,
                                                stream_options={"include_usage": True})
        "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    elif case == "embeddings":
        client.embeddings.create(model="text-embedding-3-small", input=["hello world", "goodbye world"])
    elif case == "tools":
        msgs = [{"role": "user", "content": WEATHER_Q}]
        first = client.chat.completions.create(model="gpt-4o-mini", messages=msgs, tools=TOOLS, tool_choice="auto")
        call = first.choices[0].message.tool_calls[0]
        msgs2 = msgs + [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call.id, "type": "function",
                 "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
        ]
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs2, tools=TOOLS)
    else:
        raise SystemExit(f"unknown case {case}")


GENERATOR_PACKAGES = ("opentelemetry-api", "opentelemetry-sdk", "opentelemetry-semantic-conventions",
                      "opentelemetry-instrumentation", "openai", "litellm", "tiktoken", "openlit")


def _version(name: str) -> str | None:
    """The installed version, None when absent (as tools/capture_spans.py records it)."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _tiktoken_cache() -> None:
    """OpenLIT 1.33 counts streamed tokens with tiktoken: use LiteLLM's bundled encodings, never a download."""
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    for root in sorted(Path("/work/venvs").glob("*/lib/python3*/site-packages/litellm/litellm_core_utils/tokenizers")):
        os.environ["TIKTOKEN_CACHE_DIR"] = str(root)
        return


def main() -> None:
    case, out = sys.argv[1], sys.argv[2]
    _tiktoken_cache()
    import openai
    import openlit
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    pricing = {"chat": {"gpt-4o-mini": {"promptPrice": 0.00015, "completionPrice": 0.0006}},
               "embeddings": {"text-embedding-3-small": 0.00002}}
    fd, pricing_path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(pricing, fh)
    capture = CapturingExporter()
    with contextlib.redirect_stdout(io.StringIO()):
        openlit.init(application_name="capture-spans", environment="test", disable_metrics=True,
                     pricing_json=pricing_path)
        trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(capture))
        with FakeOpenAI() as fake:
            client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test-not-a-secret", max_retries=0)
            run(case, client)
            requests = [{"path": r.get("path"), "body": r.get("body")} for r in fake.log]
    generator = {"python": sys.version.split()[0]} | {name: _version(name) for name in GENERATOR_PACKAGES}
    doc = {"scenario": f"openlit_old_{case}", "description": DESCRIPTIONS[case], "generator": generator,
           "env": {"OTEL_SERVICE_NAME": "capture-spans"},
           "notes": ["openlit.init(application_name='capture-spans', environment='test', disable_metrics=True, "
                     "pricing_json=<local file>); openlit's own TracerProvider + an in-memory exporter; "
                     "recorded by tests/scenarios/openlit_old_capture.py in a throwaway venv "
                     f"(pip install 'openlit=={generator['openlit']}' openai)"],
           "fake_server_requests": requests,
           "spans": [span_to_dict(s) for s in capture.spans]}
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
    print(json.dumps({"case": case, "spans": len(capture.spans)}))
    os._exit(0)


if __name__ == "__main__":
    main()
