"""OpenLIT 1.45 around the `openai` client, calling FakeOpenAI, exported to a devserver.

Run as a subprocess (OpenLIT patches the openai module and sets global state):
    python tests/scenarios/openlit_openai.py <devserver_url>
Each case runs under a root span named `scenario <case>`. OpenLIT never touches the network:
prices come from a local file, metrics and its log events are off, and only its openai
instrumentation is enabled. Prints one JSON line: the request bodies FakeOpenAI received.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import openai  # noqa: E402
from opentelemetry import trace  # noqa: E402

from tests.support.fake_openai import FakeOpenAI  # noqa: E402
from tests.support.openai_cases import API_KEY, run_tool_stream_embedding_cases  # noqa: E402
from tests.support.pipeline import Pipeline, make_pipeline  # noqa: E402

PRICES = {"chat": {"gpt-4o-mini": {"promptPrice": 0.00015, "completionPrice": 0.0006}},
          "embeddings": {"text-embedding-3-small": 0.00002}}


def start_openlit(pipeline: Pipeline, environment: str = "staging") -> None:
    """openlit.init() on an existing SDK provider (it reuses the global one), offline."""
    import openlit
    from openlit._instrumentors import MODULE_NAME_MAP

    trace.set_tracer_provider(pipeline.provider)
    fd, prices = tempfile.mkstemp(prefix="openlit-prices-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(PRICES, handle)
    openlit.init(application_name="weather-app", service_name="weather-app", environment=environment,
                 disable_metrics=True, disable_events=True, pricing_json=prices,
                 disabled_instrumentors=[name for name in MODULE_NAME_MAP if name != "openai"])


def run_cases(pipeline: Pipeline, client: openai.OpenAI) -> None:
    tracer = pipeline.tracer("scenario")
    with tracer.start_as_current_span("scenario chat"):
        client.chat.completions.create(model="gpt-4o-mini", temperature=0.2, max_tokens=64, messages=[
            {"role": "system", "content": "Be terse."}, {"role": "user", "content": "hello there"}])
    run_tool_stream_embedding_cases(tracer, client)


def main(server_url: str) -> None:
    pipeline = make_pipeline(server_url, session_name="openlit openai")
    start_openlit(pipeline)
    with FakeOpenAI() as fake:
        run_cases(pipeline, openai.OpenAI(base_url=fake.base_url, api_key=API_KEY, max_retries=0))
        requests = list(fake.requests)
    pipeline.flush()
    pipeline.close()
    print(json.dumps({"fake_requests": requests}))
    sys.stdout.flush()
    os._exit(0)  # OpenLIT leaves non-daemon threads and atexit hooks behind


if __name__ == "__main__":
    main(sys.argv[1])
