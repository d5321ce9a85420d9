"""The context API around real LiteLLM calls: do LiteLLM's late, callback-thread spans inherit it?

Run as a subprocess (LiteLLM's callbacks and the OpenInference instrumentor are global):
    python tests/scenarios/context_litellm.py <devserver_url> otel|openinference
`otel`: LiteLLM's own OTel callback, whose spans start after the call, on a logging thread
(sync) or LiteLLM's logging worker (async), in a copy of the caller's context, with every
attribute set after start. `openinference`: OpenInference's LiteLLMInstrumentor.
Calls use `mock_response` (no network). Prints one JSON line with the session ids used.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ["USE_OTEL_LITELLM_REQUEST_SPAN"] = "true"

from opentelemetry import trace  # noqa: E402

import honeyhive_otel  # noqa: E402
from tests.support.pipeline import make_pipeline  # noqa: E402

MESSAGES = [{"role": "user", "content": "hello"}]


async def _async_calls(litellm: object) -> str:
    """Two concurrent sessions in one event loop: each call must land in its own."""

    @honeyhive_otel.session(name="async conversation", user_id="ann", metadata={"channel": "async"})
    async def converse(tag: str) -> str | None:
        with honeyhive_otel.context(metadata={"turn": tag}):
            await litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES,  # type: ignore[attr-defined]
                                      mock_response=f"reply {tag}")
        return honeyhive_otel.current_session_id()

    first, second = await asyncio.gather(converse("a"), converse("b"))
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

    await asyncio.sleep(0.2)
    await GLOBAL_LOGGING_WORKER.flush()
    return json.dumps([first, second])


def run(server_url: str, mode: str) -> dict[str, object]:
    pipeline = make_pipeline(server_url, session_name="process default")
    trace.set_tracer_provider(pipeline.provider)
    import litellm

    instrumentor = None
    if mode == "otel":
        litellm.callbacks = ["otel"]
    else:
        from openinference.instrumentation.litellm import LiteLLMInstrumentor

        instrumentor = LiteLLMInstrumentor()
        instrumentor.instrument(tracer_provider=pipeline.provider)
    with honeyhive_otel.session(name="sync conversation", session_id="conv-sync", user_id="bob",
                                metadata={"plan": "pro"}, user_properties={"tier": "gold"}, tags=["beta"]) as sync:
        litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="sync reply")
    async_ids = json.loads(asyncio.run(_async_calls(litellm)))
    if instrumentor is not None:
        instrumentor.uninstrument()
    else:
        import time

        time.sleep(0.5)  # the sync callback thread finishes its span
    pipeline.flush()
    pipeline.close()
    return {"sync": sync.session_id, "async": async_ids}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[2])))
