"""Produce spans in a short-lived process, for the process-life tests (run with sys.executable).

    python produce.py SERVER_URL COUNT PREFIX [--provider-first] [--shutdown]

`--provider-first`: the application installs its TracerProvider before `configure()`.
`--shutdown`: call `handle.shutdown()`; without it the process just exits (atexit must flush).
Environment (HONEYHIVE_SPOOL_DIR, HONEYHIVE_TIMEOUT, ...) is set by the test.
Prints one JSON line at exit, after the SDK's own atexit shutdown: the event ids and the stats.
"""

from __future__ import annotations

import atexit
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

produced: list[str] = []
state: dict[str, Any] = {}


def _report() -> None:
    handle = state.get("handle")
    print(json.dumps({"ids": produced, "stats": handle.stats() if handle is not None else None}), flush=True)


atexit.register(_report)  # registered first, so it runs last: after every shutdown hook

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402

import honeyhive_otel  # noqa: E402
from honeyhive_otel.ids import event_id_for  # noqa: E402


def main(url: str, count: int, prefix: str, flags: list[str]) -> None:
    if "--provider-first" in flags:
        trace.set_tracer_provider(TracerProvider())
    state["handle"] = honeyhive_otel.configure(server_url=url, merge_window=0.5, session_name=prefix)
    tracer = trace.get_tracer("short-lived")
    for index in range(count):
        with tracer.start_as_current_span(f"{prefix} {index}") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            span.set_attribute("gen_ai.usage.input_tokens", 5)
            context = span.get_span_context()
            produced.append(event_id_for(context.trace_id, context.span_id))
    if "--shutdown" in flags:
        state["handle"].shutdown()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:])
