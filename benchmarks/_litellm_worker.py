"""LiteLLM variants in a process of their own (LiteLLM caches its callbacks process-wide).

Variants: `honeyhive` (callbacks=["otel"] + HoneyHiveSpanProcessor/Exporter to the sink),
`bsp_noop` (callbacks=["otel"] + BatchSpanProcessor(no-op exporter)), `none` (no callback), and
`paired`: the first two in one process, alternated block by block. One process's speed can
differ from the next one's by up to 2x on a shared VM, and the host's speed drifts over tens of
seconds, so the comparison that has a target is made inside one process, between neighbouring
blocks: the tracer provider's only processor (`Switch`) hands spans to one pipeline or the other.
Prints one JSON line. Rounds of `calls` completions are timed back to back on the calling
thread; the exporter runs whenever the SDK wakes it (every 512 spans = 256 calls), as in an
application: the batch of one round is exported while the next round runs, so the first round
of a block (nothing of this pipeline exporting yet; the other pipeline's last batch may be) is
run but not recorded. Draining LiteLLM's logging threads and the final flush are not timed.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["USE_OTEL_LITELLM_REQUEST_SPAN"] = "true"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _spans  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor  # noqa: E402

MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hi to the benchmark, briefly. " * 8},
]


class EndCounter(SpanProcessor):
    """Counts ended spans so the worker can wait for LiteLLM's logging threads (untimed)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self.ended = 0

    def on_end(self, span: ReadableSpan) -> None:
        self.ended = next(self._counter)


class Switch(SpanProcessor):
    """Hands each span to the active one of two pipelines; switched only when no span is open."""

    def __init__(self, pipelines: dict[str, SpanProcessor]) -> None:
        self.pipelines = pipelines
        self.active = next(iter(pipelines.values()))

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.active.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.active.on_end(span)

    def shutdown(self) -> None:
        for pipeline in self.pipelines.values():
            pipeline.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return all([pipeline.force_flush(timeout_millis) for pipeline in self.pipelines.values()])


def _setup(variant: str, sink_url: str) -> tuple[Any, EndCounter | None, Any]:
    """(the tracer provider, the span counter, the variant's processor): None for `none`."""
    if variant == "none":
        return None, None, None
    if variant == "paired":
        processor: SpanProcessor = Switch({"honeyhive": _spans.honeyhive_processor(sink_url),
                                           "bsp_noop": _spans.noop_processor()})
    elif variant == "honeyhive":
        processor = _spans.honeyhive_processor(sink_url)
    else:
        processor = _spans.noop_processor()
    provider = _spans.make_provider(processor)
    counter = EndCounter()
    provider.add_span_processor(counter)
    trace.set_tracer_provider(provider)
    return provider, counter, processor


def _drain(counter: EndCounter | None, expected: int, timeout: float = 20.0) -> bool:
    if counter is None:
        time.sleep(0.05)
        return True
    deadline = time.monotonic() + timeout
    while counter.ended < expected and time.monotonic() < deadline:
        time.sleep(0.002)
    return counter.ended >= expected


def _settle(counter: EndCounter, quiet: float = 0.3, timeout: float = 20.0) -> None:
    """Wait until no span has ended for `quiet` seconds (LiteLLM logs from a thread pool)."""
    deadline = time.monotonic() + timeout
    last, since = counter.ended, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        if counter.ended != last:
            last, since = counter.ended, time.monotonic()
        elif last and time.monotonic() - since >= quiet:
            return


def run(variant: str, sink_url: str, calls: int, rounds: int, warmup: int) -> dict[str, Any]:
    provider, counter, processor = _setup(variant, sink_url)
    import litellm

    if variant != "none":
        litellm.callbacks = ["otel"]

    def call() -> None:
        litellm.completion(model="gpt-4o-mini", mock_response="hi", messages=MESSAGES)

    for _ in range(warmup):
        call()
    spans_per_call = 0
    if counter is not None:
        _settle(counter)
        spans_per_call = max(1, round(counter.ended / warmup))
        provider.force_flush()
    done = warmup

    def timed_round() -> tuple[int, int, int, bool]:
        """(wall, calling-thread CPU, process CPU) ns per call of one round, and whether it drained."""
        nonlocal done
        w0, t0, p0 = time.perf_counter_ns(), time.thread_time_ns(), time.process_time_ns()
        for _ in range(calls):
            call()
        w1, t1 = time.perf_counter_ns(), time.thread_time_ns()
        done += calls
        drained = _drain(counter, spans_per_call * done)
        p1 = time.process_time_ns()
        return (w1 - w0) // calls, (t1 - t0) // calls, (p1 - p0) // calls, drained

    gc.collect()
    if variant == "paired":
        return _paired(provider.force_flush, processor, timed_round, calls, rounds, spans_per_call)
    wall: list[int] = []
    thread_cpu: list[int] = []
    process_cpu: list[int] = []
    for round_no in range(rounds + 1):
        round_wall, round_thread, round_process, drained = timed_round()
        if round_no == 0:
            continue  # its batch is exported during the next round; nothing exported during this one
        wall.append(round_wall)
        thread_cpu.append(round_thread)
        process_cpu.append(round_process)
        if not drained:
            break
    stats: dict[str, Any] = {}
    if provider is not None:
        provider.force_flush()
        processor_stats = getattr(processor, "stats", None)
        stats = processor_stats.snapshot() if processor_stats is not None else {}
    return {"variant": variant, "calls_per_round": calls, "rounds": len(wall), "spans_per_call": spans_per_call,
            "wall_ns_per_call": wall, "app_thread_cpu_ns_per_call": thread_cpu,
            "process_cpu_ns_per_call": process_cpu, "exporter_stats": stats}


def _paired(flush: Any, switch: Switch, timed_round: Any, calls: int, blocks: int,
            spans_per_call: int) -> dict[str, Any]:
    """`blocks` pairs of blocks (honeyhive, bsp_noop; the order alternates), each block one unrecorded
    round then one recorded round; the difference of each pair's recorded rounds is the sample."""
    names = list(switch.pipelines)
    samples: dict[str, dict[str, list[int]]] = {
        name: {"wall": [], "thread": [], "process": []} for name in names}
    differences: list[int] = []
    for block in range(blocks):
        order = names if block % 2 == 0 else list(reversed(names))
        walls = {}
        for name in order:
            switch.active = switch.pipelines[name]
            timed_round()  # this pipeline's first batch is exported during the next (recorded) round
            round_wall, round_thread, round_process, _drained = timed_round()
            walls[name] = round_wall
            samples[name]["wall"].append(round_wall)
            samples[name]["thread"].append(round_thread)
            samples[name]["process"].append(round_process)
        differences.append(walls["honeyhive"] - walls["bsp_noop"])
    flush()
    stats = switch.pipelines["honeyhive"].stats.snapshot()
    return {"variant": "paired", "calls_per_round": calls, "rounds": blocks, "spans_per_call": spans_per_call,
            "samples": samples, "wall_difference_ns_per_call": differences, "exporter_stats": stats}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=("honeyhive", "bsp_noop", "none", "paired"), required=True)
    parser.add_argument("--sink", required=True)
    parser.add_argument("--calls", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    result = run(args.variant, args.sink, args.calls, args.rounds, args.warmup)
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)  # skip atexit hooks (LiteLLM's, the SDK's): nothing left to measure


if __name__ == "__main__":
    main()
