"""The ways users enable LiteLLM's `otel` callback, each with a success and a failure, sync and async.

    python tests/scenarios/litellm_forms.py <devserver_url> <form> [--import-litellm-first] [--litellm-first]
                                            [--exit-without-flush]

form: `success_only` (`litellm.success_callback = ["otel"]`: LiteLLM alone drops failures),
`callbacks` (`litellm.callbacks = ["otel"]`) or `both`.
`--import-litellm-first`: import LiteLLM (no call) before `configure()`: LiteLLM's logging worker
registers its atexit flush first, so it runs after our provider's shutdown (the exit race).
`--litellm-first`: also make a call before `configure()`, so LiteLLM creates the global
TracerProvider and `configure()` attaches to it.
`--exit-without-flush`: the last call is an `acompletion` and the script just ends (no flush,
no shutdown): its event must still arrive (atexit drain).
Calls use `mock_response` (no network) and `metadata={"case": ...}` so the test finds them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MESSAGES = [{"role": "user", "content": "hello"}]


def enable(litellm: Any, form: str) -> None:
    if form in ("success_only", "both"):
        litellm.success_callback = ["otel"]
    if form in ("callbacks", "both"):
        litellm.callbacks = ["otel"]


def run(server_url: str, form: str, import_first: bool, litellm_first: bool, exit_without_flush: bool) -> None:
    if import_first or litellm_first:
        import litellm  # noqa: F401
    if litellm_first:
        import litellm

        enable(litellm, form)
        litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response="before configure",
                           metadata={"case": "before_configure"})
    import honeyhive_otel

    handle = honeyhive_otel.configure(server_url=server_url, merge_window=0.2, session_name=f"forms {form}")
    import litellm

    if not litellm_first:
        enable(litellm, form)
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response="ok", metadata={"case": "sync_ok"})
    try:
        litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response=Exception("boom sync"),
                           metadata={"case": "sync_fail"})
    except Exception:  # noqa: BLE001 - expected
        pass
    asyncio.run(_async_failure(litellm))
    # The last call: its success callback is still queued in LiteLLM's logging worker when
    # asyncio.run() returns (the worker never got a turn), which is the exit race.
    asyncio.run(litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, mock_response="ok",
                                    metadata={"case": "async_ok"}))
    print(json.dumps({"queued_at_exit": _queued()}), flush=True)
    if not exit_without_flush:
        handle.shutdown()


async def _async_failure(litellm: Any) -> None:
    try:
        await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, mock_response=Exception("boom async"),
                                  metadata={"case": "async_fail"})
    except Exception:  # noqa: BLE001 - expected
        pass


def _queued() -> int:
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

    queue = GLOBAL_LOGGING_WORKER._queue
    return queue.qsize() if queue is not None else 0


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], "--import-litellm-first" in sys.argv, "--litellm-first" in sys.argv,
        "--exit-without-flush" in sys.argv)
