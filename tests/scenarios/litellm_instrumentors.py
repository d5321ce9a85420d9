"""An instrumentor's LiteLLM span around LiteLLM's own `otel` span, both through `configure()`.

    python tests/scenarios/litellm_instrumentors.py <devserver_url> openinference|openlit|v2

`openinference`/`openlit`: the instrumentor wraps each call in its span and LiteLLM's
`litellm_request` is a child of it with the same tokens; the exporter must merge them into
one model event. `v2`: `LITELLM_OTEL_V2=true` with the v2 logger built on our provider (the
documented manual route; the plain `"otel"` string sends nothing with v2).
One sync and one async call each, `metadata={"case": ...}`, against FakeOpenAI.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import honeyhive_otel  # noqa: E402
from tests.support.fake_openai import FakeOpenAI  # noqa: E402

API_KEY = "sk-test-not-a-secret"


def instrument(which: str, handle: Any) -> None:
    if which == "openinference":
        from openinference.instrumentation.litellm import LiteLLMInstrumentor

        LiteLLMInstrumentor().instrument(tracer_provider=handle.provider)
    elif which == "openlit":
        import openlit
        from openlit._instrumentors import MODULE_NAME_MAP

        fd, prices = tempfile.mkstemp(prefix="openlit-prices-", suffix=".json")
        with os.fdopen(fd, "w") as file:
            json.dump({"chat": {}, "embeddings": {}}, file)
        openlit.init(disable_metrics=True, disable_events=True, pricing_json=prices,
                     disabled_instrumentors=[name for name in MODULE_NAME_MAP if name != "litellm"])


def enable_callbacks(which: str, handle: Any, litellm: Any) -> None:
    if which != "v2":
        litellm.callbacks = ["otel"]
        return
    from litellm.integrations.otel.logger import build_otel_v2_logger
    from litellm.integrations.otel.model.config import OpenTelemetryV2Config

    litellm.callbacks = [build_otel_v2_logger(OpenTelemetryV2Config(), tracer_provider=handle.provider)]


def run(server_url: str, which: str) -> dict[str, Any]:
    if which == "v2":
        os.environ["LITELLM_OTEL_V2"] = "true"
    handle = honeyhive_otel.configure(server_url=server_url, merge_window=1.0, session_name=f"with {which}")
    import litellm

    instrument(which, handle)
    enable_callbacks(which, handle, litellm)
    with FakeOpenAI() as fake:
        common = {"model": "openai/gpt-4o-mini", "api_base": fake.base_url, "api_key": API_KEY}
        litellm.completion(messages=[{"role": "user", "content": "sync hello"}], metadata={"case": "sync"}, **common)
        asyncio.run(_async_call(litellm, common))
    handle.shutdown()
    return {"ok": True}


async def _async_call(litellm: Any, common: dict[str, Any]) -> None:
    await litellm.acompletion(messages=[{"role": "user", "content": "async hello"}], metadata={"case": "async"},
                              **common)
    await asyncio.sleep(0.05)  # let LiteLLM's logging worker run the callbacks inside the loop


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[2])))
