"""Real HTTP instrumentation around LLM spans, for the filtering test.

Run as a subprocess (the requests instrumentation patches the module, and both it and the
FastAPI instrumentation fix OpenTelemetry's process-wide semconv mode on first use):
    python tests/scenarios/context_http_filtering.py <devserver_url>
A FastAPI app (instrumented, served through its TestClient) answers `/ask` with the app's
own span around an LLM span and a tool span whose instrumented `requests` call hits a local
server, and `/direct` with an LLM span right under the server span. Prints the processor's
stats as one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import requests  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # noqa: E402
from opentelemetry.instrumentation.requests import RequestsInstrumentor  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

from tests.support.fake_openai import FakeOpenAI  # noqa: E402
from tests.support.pipeline import make_pipeline  # noqa: E402


def llm_span(tracer: Any, name: str) -> None:
    with tracer.start_as_current_span(name, kind=SpanKind.CLIENT) as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")


def run(server_url: str) -> dict[str, Any]:
    pipeline = make_pipeline(server_url, merge_window=0.2)
    tracer = pipeline.tracer("app")
    app = FastAPI()
    local: dict[str, str] = {}

    @app.get("/ask")
    def ask() -> dict[str, str]:
        with tracer.start_as_current_span("answer question"):
            llm_span(tracer, "chat in workflow")
            with tracer.start_as_current_span("execute_tool lookup") as tool:
                tool.set_attribute("gen_ai.operation.name", "execute_tool")
                tool.set_attribute("gen_ai.tool.name", "lookup")
                requests.get(f"{local['url']}/models", timeout=10)  # an instrumented HTTP client call
        return {"ok": "yes"}

    @app.get("/direct")
    def direct() -> dict[str, str]:
        llm_span(tracer, "chat under server span")
        return {"ok": "yes"}

    FastAPIInstrumentor.instrument_app(app, tracer_provider=pipeline.provider)
    RequestsInstrumentor().instrument(tracer_provider=pipeline.provider)
    with FakeOpenAI() as fake, TestClient(app) as client:
        local["url"] = fake.base_url
        assert client.get("/ask").status_code == 200
        assert client.get("/direct").status_code == 200
    pipeline.flush()
    stats = pipeline.processor.stats.snapshot()
    pipeline.close()
    return stats


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1])))
