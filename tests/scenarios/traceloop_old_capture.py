"""Record spans of the indexed-attribute era of Traceloop (traceloop-sdk 0.47.3), in a throwaway venv.

Not part of the test run (the dev environment has opentelemetry-instrumentation-openai 0.62.4,
which no longer writes `gen_ai.prompt.N.*`). The synthetic spans of tests/test_traceloop.py copy
the keys and value encodings this script records. Usage (from the repo root):

    python3 -m venv /tmp/oldtl && /tmp/oldtl/bin/pip install 'traceloop-sdk==0.47.3' \
        'opentelemetry-instrumentation-openai==0.47.3' httpx 'openai<2' \
        'opentelemetry-api==1.36.0' 'opentelemetry-sdk==1.36.0' 'opentelemetry-instrumentation==0.57b0' \
        'opentelemetry-semantic-conventions==0.57b0'
    /tmp/oldtl/bin/python tests/scenarios/traceloop_old_capture.py /tmp/traceloop_old_sdk.json

(0.47.3's openai instrumentation imports `opentelemetry._events`, gone from newer API releases.)
Decorated workflow -> agent -> tool / chat / chat with tools / task, then a streamed chat and an
embeddings call, all against FakeOpenAI on 127.0.0.1 with association properties set.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.update(TRACELOOP_TELEMETRY="false", TRACELOOP_METRICS_ENABLED="false", TRACELOOP_TRACE_CONTENT="true")

from tests.support.fake_openai import FakeOpenAI  # noqa: E402
from tests.support.spans import CapturingExporter, span_to_dict  # noqa: E402

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Get weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
PACKAGES = ("traceloop-sdk", "opentelemetry-instrumentation-openai", "opentelemetry-semantic-conventions-ai",
            "opentelemetry-api", "opentelemetry-sdk", "openai", "litellm")


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main(out: str) -> None:
    import openai
    from traceloop.sdk import Traceloop
    from traceloop.sdk.decorators import agent, task, tool, workflow

    capture = CapturingExporter()
    Traceloop.init(app_name="tl-old", exporter=capture, disable_batch=True, telemetry_enabled=False,
                   should_enrich_metrics=False)
    Traceloop.set_association_properties({"session_id": "sess-1", "user_id": "u-7", "customer_id": "c-9",
                                          "tenant": "acme"})
    with FakeOpenAI() as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test-not-a-secret", max_retries=0)

        @tool(name="google_search")
        def google_search(query: str, top_k: int = 3) -> dict:
            return {"results": [query.upper()]}

        @task(name="summarise")
        def summarise(text: str) -> str:
            return f"summary of {text}"

        @agent(name="researcher")
        def researcher(topic: str, depth: int = 1) -> str:
            google_search(topic, top_k=2)
            reply = client.chat.completions.create(model="gpt-4o-mini", temperature=0.3, stop=["\n"], user="u-7",
                                                   messages=[{"role": "system", "content": "Be brief."},
                                                             {"role": "user", "content": topic}])
            client.chat.completions.create(model="gpt-4o-mini", tools=TOOLS,
                                           messages=[{"role": "user", "content": "weather?"}])
            return summarise(reply.choices[0].message.content)

        @workflow(name="research_flow")
        def flow(topic: str) -> str:
            return researcher(topic, depth=2)

        flow("paris")
        list(client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                            messages=[{"role": "user", "content": "hi"}]))
        client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
        requests = [{"path": r.get("path"), "body": r.get("body")} for r in fake.log]
    doc = {"scenario": Path(out).stem, "description": "traceloop-sdk 0.47.3 decorators + openai instrumentation",
           "generator": {"python": sys.version.split()[0]} | {name: _version(name) for name in PACKAGES},
           "env": {"TRACELOOP_TRACE_CONTENT": "true"}, "notes": ["recorded by tests/scenarios/traceloop_old_capture.py"],
           "fake_server_requests": requests, "spans": [span_to_dict(s) for s in capture.spans]}
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(doc, handle, indent=1, ensure_ascii=False, allow_nan=False)
        handle.write("\n")
    print(json.dumps({"spans": len(capture.spans)}))
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1])
