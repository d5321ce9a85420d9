"""An application run with `opentelemetry-instrument` and `OTEL_TRACES_EXPORTER=honeyhive`: no setup code.

    OTEL_TRACES_EXPORTER=honeyhive HONEYHIVE_SERVER_URL=... opentelemetry-instrument python this.py
The openai client (instrumented automatically, as is its HTTP client) calls FakeOpenAI inside
a `honeyhive_otel.session`. `configure()` must return the handle auto-configuration made
(one pipeline, no double export). Prints one JSON line: the session id and the handle's stats.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import openai  # noqa: E402
from opentelemetry import trace  # noqa: E402

import honeyhive_otel  # noqa: E402
from tests.support.fake_openai import FakeOpenAI  # noqa: E402


def main() -> None:
    handle = honeyhive_otel.configure()
    assert handle.provider is trace.get_tracer_provider(), "configure() did not adopt the auto-configured pipeline"
    assert honeyhive_otel.configure() is handle
    with FakeOpenAI() as fake, honeyhive_otel.session(name="auto-instrumented", user_id="u-1") as scope:
        client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test-not-a-secret")
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello there"}])
    assert handle.force_flush(10_000)
    print(json.dumps({"session_id": scope.session_id, "stats": handle.stats()}))


if __name__ == "__main__":
    main()
