"""Traceloop's `opentelemetry-instrumentation-openai` around the `openai` client, exported to a devserver.

Run as a subprocess (the instrumentor patches the openai module):
    python tests/scenarios/traceloop_openai.py <devserver_url>
Each case runs under a root span named `scenario <case>`. The last case re-instruments with
`use_attributes=False`, the package's only other mode (content goes to log records, which
a span exporter never sees). Prints one JSON line: the request bodies FakeOpenAI received.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("TRACELOOP_TRACE_CONTENT", "true")

import openai  # noqa: E402
from opentelemetry.instrumentation.openai import OpenAIInstrumentor  # noqa: E402

from tests.support.fake_openai import FakeOpenAI  # noqa: E402
from tests.support.openai_cases import API_KEY, run_tool_stream_embedding_cases  # noqa: E402
from tests.support.pipeline import Pipeline, make_pipeline  # noqa: E402


def run_cases(pipeline: Pipeline, client: openai.OpenAI) -> None:
    tracer = pipeline.tracer("scenario")
    with tracer.start_as_current_span("scenario chat"):
        client.chat.completions.create(model="gpt-4o-mini", temperature=0.2, max_tokens=64, user="user-42",
                                       messages=[{"role": "system", "content": "Be terse."},
                                                 {"role": "user", "content": "hello there"}])
    run_tool_stream_embedding_cases(tracer, client)


def main(server_url: str) -> None:
    pipeline = make_pipeline(server_url, session_name="traceloop openai")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=pipeline.provider)
    with FakeOpenAI() as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key=API_KEY, max_retries=0)
        run_cases(pipeline, client)
        instrumentor.uninstrument()
        events_mode = OpenAIInstrumentor(use_attributes=False)
        events_mode.instrument(tracer_provider=pipeline.provider)
        with pipeline.tracer("scenario").start_as_current_span("scenario events"):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
        events_mode.uninstrument()
        requests = list(fake.requests)
    pipeline.flush()
    pipeline.close()
    print(json.dumps({"fake_requests": requests}))


if __name__ == "__main__":
    main(sys.argv[1])
