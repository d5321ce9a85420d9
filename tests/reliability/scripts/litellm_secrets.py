"""LiteLLM calls that carry secrets everywhere LiteLLM and its instrumentations can copy them.

    python litellm_secrets.py SERVER_URL

`configure()` with a HoneyHive key, LiteLLM's own `otel` callback plus OpenInference's
LiteLLMInstrumentor, calls with a provider key, Authorization/Cookie request headers and
proxy-like `requester_metadata` holding a raw virtual key. Logs of `honeyhive_otel` go to
stderr at DEBUG so the test can scan them. Prints one JSON line: the FakeOpenAI requests.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("USE_OTEL_LITELLM_REQUEST_SPAN", "true")

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402

HH_KEY = "hh-test-secret-litellm-0123456789"
PROVIDER_KEY = "sk-test-provider-secret"
VIRTUAL_KEY = "sk-virtual-key-do-not-leak"
COOKIE = "cookie-secret-value"
BEARER = "bearer-token-secret-abcdef"


def main(server_url: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("LOG %(name)s %(levelname)s %(message)s"))
    ours = logging.getLogger("honeyhive_otel")
    ours.addHandler(handler)
    ours.setLevel(logging.DEBUG)

    trace.set_tracer_provider(TracerProvider())
    import honeyhive_otel

    handle = honeyhive_otel.configure(api_key=HH_KEY, server_url=server_url, session_name="litellm secrets",
                                      debug=True)
    import litellm
    from openinference.instrumentation.litellm import LiteLLMInstrumentor

    from tests.support.fake_openai import FakeOpenAI

    litellm.callbacks = ["otel"]
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(tracer_provider=trace.get_tracer_provider())
    tracer = trace.get_tracer("secrets")
    metadata = {
        "requester_metadata": {"headers": {"Authorization": f"Bearer {VIRTUAL_KEY}", "Cookie": COOKIE},
                               "api_key": VIRTUAL_KEY},
        "user_api_key": VIRTUAL_KEY,
        "headers": {"authorization": f"Bearer {BEARER}"},
    }
    with FakeOpenAI() as fake:
        with tracer.start_as_current_span("secrets chat"):
            litellm.completion(model="openai/gpt-4o-mini", api_base=fake.base_url, api_key=PROVIDER_KEY,
                               messages=[{"role": "user", "content": "hello"}], metadata=metadata,
                               extra_headers={"Authorization": f"Bearer {BEARER}", "Cookie": COOKIE})
        with tracer.start_as_current_span("secrets mock"):
            litellm.completion(model="openai/gpt-4o-mini", api_key=PROVIDER_KEY, mock_response="mocked",
                               messages=[{"role": "user", "content": "mock"}], metadata=metadata)
        with tracer.start_as_current_span("secrets failure"):
            try:
                litellm.completion(model="openai/error-401", api_base=fake.base_url, api_key=PROVIDER_KEY,
                                   messages=[{"role": "user", "content": "fail"}], num_retries=0)
            except Exception:  # noqa: BLE001 - the failure is the point
                pass
        requests = list(fake.requests)
    instrumentor.uninstrument()
    handle.force_flush(10_000)
    handle.shutdown(10_000)
    print(json.dumps({"fake_requests": len(requests), "stats": handle.stats()}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
