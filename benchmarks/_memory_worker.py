"""Peak RSS while spans are produced with the server down (connection refused).

Runs in its own process so VmHWM (the kernel's peak RSS) belongs to this scenario only.
The pipeline is `honeyhive_otel.configure()` on a private TracerProvider with the default
queue (2048 spans); every span carries its own ~2 KB of message JSON, so a pipeline that
kept spans would grow with the span count. Prints one JSON line, then exits at once
(a flush against a dead server would only wait out the export timeout).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _spans  # noqa: E402


def status_kib(*fields: str) -> dict[str, int]:
    """Fields of /proc/self/status in KiB (VmRSS, VmHWM)."""
    values: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if name in fields:
                values[name] = int(rest.split()[0])
    return values


def closed_port() -> int:
    """A port nothing listens on: bound once, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(spans: int, checkpoints: int) -> dict[str, Any]:
    import honeyhive_otel

    provider = _spans.make_provider(None)
    handle = honeyhive_otel.configure(server_url=f"http://127.0.0.1:{closed_port()}", tracer_provider=provider,
                                      session_name="benchmark-memory")
    tracer = provider.get_tracer(_spans.SCOPE)
    inputs, outputs = _spans.messages_json(2048)
    marker = '"#0 '
    assert marker in inputs
    # Warm up allocator pools and code paths with one span, then take the baseline.
    _spans.emit_span(tracer, _spans.llm_attributes(inputs, outputs))
    gc.collect()
    base = status_kib("VmRSS", "VmHWM")
    trace_points: list[dict[str, int]] = []
    step = max(1, spans // checkpoints)
    for i in range(spans):
        unique_inputs = inputs.replace(marker, f'"#{i} ', 1)  # every span owns its payload
        _spans.emit_span(tracer, _spans.llm_attributes(unique_inputs, outputs, salt=i))
        if (i + 1) % step == 0:
            point = status_kib("VmRSS", "VmHWM")
            trace_points.append({"spans": i + 1, "rss_kib": point["VmRSS"], "hwm_kib": point["VmHWM"]})
    end = status_kib("VmRSS", "VmHWM")
    stats = handle.stats()
    processor = handle.processor
    queue = getattr(processor, "_queue", None)
    return {
        "spans": spans,
        "queue_max": getattr(processor, "_queue_max", None),
        "queue_len_at_end": len(queue) if queue is not None else None,
        "baseline_rss_kib": base["VmRSS"],
        "baseline_hwm_kib": base["VmHWM"],
        "end_rss_kib": end["VmRSS"],
        "end_hwm_kib": end["VmHWM"],
        "peak_growth_kib": end["VmHWM"] - base["VmRSS"],
        "checkpoints": trace_points,
        "dropped": stats.get("dropped", {}),
        "spans_received_by_exporter": stats.get("spans_received"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, required=True)
    parser.add_argument("--checkpoints", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(run(args.spans, args.checkpoints)), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
