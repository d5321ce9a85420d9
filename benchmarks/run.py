"""Benchmarks: honeyhive-otel against the OTLP/HTTP exporter and a bare SDK pipeline.

    python benchmarks/run.py            # full run (~2-3 min on 2 cores), writes benchmarks/results.json
    python benchmarks/run.py --quick    # small run for the smoke test (~30 s)
    python benchmarks/run.py --profile  # also cProfile the export and application-thread paths

Everything is measured in one process and one run, side by side, with variants alternated
round by round and medians taken. HTTP goes to a minimal sink in a child process on
127.0.0.1 (`_sink.py`), so the server's own cost is not measured. See README.md for what each
number means and its target.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _sink  # noqa: E402
import _spans  # noqa: E402

BATCH = 512
SECTIONS = ("app_thread", "export_throughput", "real_spans", "span_shapes", "scaling", "litellm", "memory")


@dataclass(frozen=True)
class Settings:
    """Sizes of one run; `--quick` trades precision for time."""

    app_rounds: int = 15
    app_burst: int = 256  # spans per timed burst (below the 512 batch trigger)
    export_rounds: int = 12
    real_span_rounds: int = 5
    scaling_sizes: tuple[int, ...] = (1_024, 10_240, 102_400, 1_048_576)
    scaling_bytes_per_rep: int = 4_000_000
    scaling_reps: int = 5
    litellm_calls: int = 256  # one round = 512 spans = one export batch
    litellm_rounds: int = 5  # pairs of blocks per process (our pipeline, then the no-op one, or the reverse)
    litellm_warmup: int = 30
    # Paired processes (and as many without a callback): the speed of a process can differ from the
    # next one's by up to 2x on a shared VM, so the target's comparison is made within each process.
    litellm_processes: int = 3
    litellm_parallel: bool = False
    memory_spans: tuple[int, int] = (20_000, 100_000)


FULL = Settings()
QUICK = Settings(app_rounds=4, export_rounds=3, real_span_rounds=1, scaling_bytes_per_rep=1_500_000, scaling_reps=2,
                 litellm_calls=32, litellm_rounds=2, litellm_warmup=5, litellm_processes=1,
                 litellm_parallel=True, memory_spans=(3_000, 9_000))


# ----- helpers -----------------------------------------------------------------------
def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def rotated(items: list[Any], shift: int) -> list[Any]:
    """Round `shift` of an alternation: each variant takes each position equally often."""
    shift %= len(items)
    return items[shift:] + items[:shift]


def attribute_pool(size: int, payload_bytes: int = 2048) -> list[list[tuple[str, Any]]]:
    """Distinct attribute lists, built before any timing (the application's own work)."""
    pool = []
    for i in range(size):
        inputs, outputs = _spans.messages_json(payload_bytes, salt=i)
        pool.append(_spans.llm_attributes(inputs, outputs, salt=i))
    return pool


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def machine_info() -> dict[str, Any]:
    cpu_model = "unknown"
    mhz: float | None = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu_model == "unknown":
                cpu_model = line.split(":", 1)[1].strip()
            elif line.startswith("cpu MHz") and mhz is None:
                mhz = float(line.split(":", 1)[1])
    except OSError:
        pass
    mem_total = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) * 1024
    except OSError:
        pass
    packages = {}
    for name in ("honeyhive-otel", "opentelemetry-api", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http",
                 "opentelemetry-proto", "protobuf", "requests", "urllib3", "litellm", "orjson"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "cpu_model": cpu_model,
        "cpu_mhz": mhz,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_bytes": mem_total,
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": packages,
        "json_encoder": _json_engine(),
        "git_commit": _git_commit(),
        "loadavg_start": loadavg(),
    }


def _json_engine() -> str:
    """Which encoder the exporter uses here (orjson, or the standard library's json without it)."""
    from honeyhive_otel import jsonfast

    return jsonfast.ENGINE


def _git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "honeyhive_otel"], cwd=HERE.parent,
                               capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


# ----- 1. application thread ---------------------------------------------------------
def bench_app_thread(settings: Settings, sink_url: str) -> dict[str, Any]:
    """Per-span cost on the application thread: start + 30 attributes + end.

    Each round, per variant: an *idle* burst (the exporter thread has nothing to do), then
    filler spans up to the 512 batch trigger, then at once a *busy* burst while the exporter
    thread exports that batch concurrently. Flushing between rounds is not timed; the
    process CPU of the whole round including the flush gives the pipeline's total CPU per span.
    """
    providers = {
        "honeyhive": _spans.make_provider(_spans.honeyhive_processor(sink_url)),
        "bsp_noop": _spans.make_provider(_spans.noop_processor()),
        "no_processor": _spans.make_provider(None),
    }
    tracers = {name: p.get_tracer(_spans.SCOPE) for name, p in providers.items()}
    pool = attribute_pool(64)
    burst = settings.app_burst
    filler = BATCH - burst
    samples: dict[str, dict[str, list[float]]] = {
        name: {"idle": [], "busy": [], "idle_cpu": [], "pipeline_cpu": []} for name in providers}

    def emit(tracer: Any, count: int, offset: int) -> None:
        for i in range(count):
            _spans.emit_span(tracer, pool[(offset + i) % len(pool)])

    for name in providers:  # warm-up: code paths, session creation, connection pool
        emit(tracers[name], BATCH + burst, 0)
        providers[name].force_flush()
    for round_no in range(settings.app_rounds):
        for name in rotated(list(providers), round_no):
            tracer, provider = tracers[name], providers[name]
            gc.collect()
            p0 = time.process_time_ns()
            w0, t0 = time.perf_counter_ns(), time.thread_time_ns()
            emit(tracer, burst, round_no)
            w1, t1 = time.perf_counter_ns(), time.thread_time_ns()
            emit(tracer, filler, round_no)  # the 512th span wakes the exporter thread
            w2 = time.perf_counter_ns()
            emit(tracer, burst, round_no + 7)
            w3 = time.perf_counter_ns()
            provider.force_flush()
            p1 = time.process_time_ns()
            bucket = samples[name]
            bucket["idle"].append((w1 - w0) / burst)
            bucket["idle_cpu"].append((t1 - t0) / burst)
            bucket["busy"].append((w3 - w2) / burst)
            bucket["pipeline_cpu"].append((p1 - p0) / (BATCH + burst))
    variants = {}
    for name, bucket in samples.items():
        variants[name] = {
            "idle_ns_per_span": median(bucket["idle"]),
            "idle_thread_cpu_ns_per_span": median(bucket["idle_cpu"]),
            "busy_ns_per_span": median(bucket["busy"]),
            "pipeline_cpu_ns_per_span": median(bucket["pipeline_cpu"]),
            "samples": {k: [round(v) for v in values] for k, values in bucket.items()},
        }
    hh_stats = providers["honeyhive"]._active_span_processor._span_processors[0].stats.snapshot()
    for provider in providers.values():
        provider.shutdown()
    ours, base = variants["honeyhive"], variants["bsp_noop"]
    return {
        "description": "ns per span on the application thread (start + 30 attributes incl. ~2 KB of "
                       "gen_ai messages + end); idle = exporter thread idle, busy = exporter thread "
                       "exporting a 512-span batch at the same time; pipeline_cpu = process CPU of the "
                       "round incl. export, per span",
        "rounds": settings.app_rounds,
        "burst": burst,
        "variants": variants,
        "ratio_busy": ratio(ours["busy_ns_per_span"], base["busy_ns_per_span"]),
        "ratio_idle": ratio(ours["idle_ns_per_span"], base["idle_ns_per_span"]),
        "ratio_idle_cpu": ratio(ours["idle_thread_cpu_ns_per_span"], base["idle_thread_cpu_ns_per_span"]),
        "ratio_pipeline_cpu": ratio(ours["pipeline_cpu_ns_per_span"], base["pipeline_cpu_ns_per_span"]),
        "honeyhive_stats": hh_stats,
    }


# ----- 2. export throughput ----------------------------------------------------------
def make_exporters(sink_url: str) -> dict[str, Any]:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from honeyhive_otel.exporter import HoneyHiveSpanExporter

    return {
        "honeyhive": HoneyHiveSpanExporter(server_url=sink_url, session_name="benchmark"),
        "otlp_http": OTLPSpanExporter(endpoint=f"{sink_url}/v1/traces"),
    }


def timed_export(exporter: Any, spans: list[Any]) -> tuple[int, int, bool]:
    """Wall and exporting-thread CPU ns of export(batch) + force_flush (nothing left held)."""
    w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
    result = exporter.export(spans)
    exporter.force_flush()
    w1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    return w1 - w0, c1 - c0, getattr(result, "name", str(result)) == "SUCCESS"


def export_rounds(exporters: dict[str, Any], spans: list[Any],
                  rounds: int) -> tuple[dict[str, list[int]], dict[str, list[int]], dict[str, int]]:
    """(wall ns, CPU ns, failed exports) per exporter over `rounds` rounds of `timed_export(spans)`,
    after one warm-up export each (session, connection); the order of the exporters rotates."""
    wall: dict[str, list[int]] = {name: [] for name in exporters}
    cpu: dict[str, list[int]] = {name: [] for name in exporters}
    failures = dict.fromkeys(exporters, 0)
    for exporter in exporters.values():
        timed_export(exporter, spans)
    for round_no in range(rounds):
        for name in rotated(list(exporters), round_no):
            gc.collect()
            w, c, ok = timed_export(exporters[name], spans)
            wall[name].append(w)
            cpu[name].append(c)
            failures[name] += 0 if ok else 1
    return wall, cpu, failures


def bench_export_throughput(settings: Settings, sink_url: str) -> dict[str, Any]:
    """export(batch of 512 pre-built ReadableSpans), both exporters POSTing to the same sink."""
    spans = _spans.build_spans(BATCH, 2048)
    exporters = make_exporters(sink_url)
    wall, cpu, failures = export_rounds(exporters, spans, settings.export_rounds)
    variants = {}
    for name in exporters:
        batch_ns = median(wall[name])
        variants[name] = {
            "spans_per_s": BATCH / (batch_ns / 1e9),
            "wall_ns_per_span": batch_ns / BATCH,
            "cpu_ns_per_span": median(cpu[name]) / BATCH,
            "failed_exports": failures[name],
            "batch_wall_ms": [round(v / 1e6, 2) for v in wall[name]],
        }
    stats = exporters["honeyhive"].stats.snapshot()
    for exporter in exporters.values():
        exporter.shutdown()
    return {
        "description": "export() of the same 512 pre-built spans (30 attributes, ~2 KB messages) to a local "
                       "HTTP sink; wall and exporting-thread CPU per span, medians over rounds",
        "batch": BATCH,
        "rounds": settings.export_rounds,
        "variants": variants,
        "ratio_throughput": ratio(variants["honeyhive"]["spans_per_s"], variants["otlp_http"]["spans_per_s"]),
        "ratio_cpu": ratio(variants["honeyhive"]["cpu_ns_per_span"], variants["otlp_http"]["cpu_ns_per_span"]),
        "honeyhive_stats": stats,
    }


# ----- 2b. spans of real instrumentors --------------------------------------------------
def bench_real_spans(settings: Settings, sink_url: str) -> dict[str, Any]:
    """Export throughput on spans real instrumentors produced (the captured fixtures), per family.
    No target: the benchmark span above is the issue's; this shows how far it carries."""
    span_sets = {family: lambda prefix=prefix: _spans.captured_spans(prefix, BATCH)
                 for prefix, family in _spans.FAMILIES.items()}
    return {
        "description": "export() + force_flush() of 512 spans replayed from the captured fixtures of each "
                       "instrumentor family (short test prompts: per-span costs dominate), both exporters to "
                       "the local sink; CPU of the exporting thread per span, medians",
        "families": export_cpu_per_span(span_sets, settings.real_span_rounds, sink_url),
    }


def bench_span_shapes(settings: Settings, sink_url: str) -> dict[str, Any]:
    """Export throughput on the benchmark span's content written the way other conventions write it.
    No target: it shows how far the benchmark span's result carries at the same size."""
    span_sets = {form: lambda form=form: _spans.shaped_spans(form, BATCH) for form in _spans.SHAPES}
    return {
        "description": "export() + force_flush() of 512 spans with the benchmark span's ~2 KB of messages and "
                       "about 30 attributes, in the forms of other conventions (`benchmarks/_spans.py: SHAPES`), "
                       "both exporters to the local sink; CPU of the exporting thread per span, medians",
        "families": export_cpu_per_span(span_sets, settings.real_span_rounds, sink_url),
    }


def export_cpu_per_span(span_sets: dict[str, Callable[[], list[Any]]], rounds: int,
                        sink_url: str) -> dict[str, dict[str, Any]]:
    """Per set of spans (built when its turn comes): attributes per span, each exporter's median CPU per
    span over `rounds` rounds, and OTLP's CPU over ours."""
    exporters = make_exporters(sink_url)
    rows = {}
    for name, build in span_sets.items():
        spans = build()
        _wall, cpu, _failures = export_rounds(exporters, spans, rounds)
        per_span = {exporter: median(cpu[exporter]) / len(spans) for exporter in exporters}
        rows[name] = {"attributes_per_span": sum(len(span.attributes or {}) for span in spans) / len(spans),
                      "cpu_ns_per_span": per_span,
                      "ratio_cpu_otlp_over_honeyhive": ratio(per_span["otlp_http"], per_span["honeyhive"])}
    for exporter in exporters.values():
        exporter.shutdown()
    return rows


# ----- 3. scaling with payload size --------------------------------------------------
def bench_scaling(settings: Settings, sink_url: str) -> dict[str, Any]:
    """Per-span export cost (mapping + encoding + HTTP) for message payloads of 1 KB .. 1 MB."""
    exporters = make_exporters(sink_url)
    rows = []
    warm = _spans.build_spans(4, 1024)
    for exporter in exporters.values():
        timed_export(exporter, warm)
    for size in settings.scaling_sizes:
        count = max(1, min(256, settings.scaling_bytes_per_rep // size))
        spans = _spans.build_spans(count, size)
        payload = sum(len(s.attributes["gen_ai.input.messages"]) + len(s.attributes["gen_ai.output.messages"])
                      for s in spans) / count
        row: dict[str, Any] = {"payload_bytes": round(payload), "spans_per_export": count}
        walls: dict[str, list[int]] = {name: [] for name in exporters}
        cpus: dict[str, list[int]] = {name: [] for name in exporters}
        for rep in range(settings.scaling_reps):
            for name in rotated(list(exporters), rep):
                gc.collect()
                wall, cpu, _ok = timed_export(exporters[name], spans)
                walls[name].append(wall)
                cpus[name].append(cpu)
        for name in exporters:
            per_span = median(walls[name]) / count
            cpu_per_span = median(cpus[name]) / count
            row[name] = {"ns_per_span": per_span, "ns_per_byte": per_span / payload,
                         "cpu_ns_per_span": cpu_per_span, "cpu_ns_per_byte": cpu_per_span / payload}
        rows.append(row)
        del spans
    for exporter in exporters.values():
        exporter.shutdown()
    by_size = {row["payload_bytes"]: row for row in rows}
    largest, second = sorted(by_size)[-1], sorted(by_size)[-2]
    def per_byte_ratio(name: str, key: str) -> float:
        return ratio(by_size[largest][name][key], by_size[second][name][key])

    return {
        "description": "export() cost per span and per payload byte (messages JSON) to the local sink: "
                       "CPU of the exporting thread (mapping + encoding + HTTP client) and wall time",
        "rows": rows,
        "ratio_cpu_per_byte_1mb_vs_100kb": per_byte_ratio("honeyhive", "cpu_ns_per_byte"),
        "ratio_per_byte_1mb_vs_100kb": per_byte_ratio("honeyhive", "ns_per_byte"),
        "otlp_ratio_cpu_per_byte_1mb_vs_100kb": per_byte_ratio("otlp_http", "cpu_ns_per_byte"),
        "otlp_ratio_per_byte_1mb_vs_100kb": per_byte_ratio("otlp_http", "ns_per_byte"),
    }


# ----- 4. LiteLLM --------------------------------------------------------------------
def _run_worker(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "USE_OTEL_LITELLM_REQUEST_SPAN": "true"}
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=HERE)


def _collect(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(f"worker timed out: {err[-2000:]}") from None
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"worker failed ({proc.returncode}): {err[-2000:]}")
    return json.loads(lines[-1])


def _litellm_variant(wall: list[int], thread: list[int], process: list[int], spans_per_call: Any, processes: int,
                     exporter_stats: Any) -> dict[str, Any]:
    """One LiteLLM variant's row: medians in ms per call of its samples (ns per call)."""
    return {
        "wall_ms_per_call": median(wall) / 1e6,
        "app_thread_cpu_ms_per_call": median(thread) / 1e6,
        "process_cpu_ms_per_call": median(process) / 1e6,
        "spans_per_call": spans_per_call,
        "processes": processes,
        "wall_ms_samples": [round(v / 1e6, 3) for v in wall],
        "exporter_stats": exporter_stats,
    }


def bench_litellm(settings: Settings, sink_url: str) -> dict[str, Any]:
    """litellm.completion(mock_response) with the otel callback: HoneyHive vs no-op exporter (paired, in the
    same processes) vs no callback (processes of its own, for reference)."""
    def args(variant: str) -> list[str]:
        return ["_litellm_worker.py", "--variant", variant, "--sink", sink_url,
                "--calls", str(settings.litellm_calls), "--rounds", str(settings.litellm_rounds),
                "--warmup", str(settings.litellm_warmup)]

    plan = ["paired", "none"] * settings.litellm_processes
    if settings.litellm_parallel:  # quick mode: precision is not the point
        procs = [_run_worker(args(v)) for v in plan]
        results = [_collect(p, 120) for p in procs]
    else:
        results = [_collect(_run_worker(args(variant)), 240) for variant in plan]
    paired = [r for r in results if r["variant"] == "paired"]
    alone = [r for r in results if r["variant"] == "none"]
    summary: dict[str, Any] = {}
    for variant in ("honeyhive", "bsp_noop"):
        samples = [r["samples"][variant] for r in paired]
        summary[variant] = _litellm_variant(
            [v for s in samples for v in s["wall"]], [v for s in samples for v in s["thread"]],
            [v for s in samples for v in s["process"]], paired[0]["spans_per_call"], len(paired),
            paired[0]["exporter_stats"] if variant == "honeyhive" else None)
    summary["none"] = _litellm_variant(
        [v for r in alone for v in r["wall_ns_per_call"]], [v for r in alone for v in r["app_thread_cpu_ns_per_call"]],
        [v for r in alone for v in r["process_cpu_ns_per_call"]], 0, len(alone), None)
    differences = [v for r in paired for v in r["wall_difference_ns_per_call"]]
    cpu_differences = [ours - noop for r in paired
                       for ours, noop in zip(r["samples"]["honeyhive"]["process"], r["samples"]["bsp_noop"]["process"],
                                             strict=True)]
    return {
        "description": "litellm.completion(model='gpt-4o-mini', mock_response='hi'), ms per call on the calling "
                       "thread. Our pipeline and the no-op exporter alternate block by block inside the same "
                       "processes (the added cost is the median of the differences between neighbouring "
                       "blocks); no callback runs in processes of its own. process_cpu includes LiteLLM's "
                       "logging threads and the exporter thread",
        "calls_per_round": settings.litellm_calls,
        "block_pairs_per_process": settings.litellm_rounds,
        "parallel_processes": settings.litellm_parallel,
        "variants": summary,
        "wall_difference_ms_samples": [round(v / 1e6, 3) for v in differences],
        "added_ms_vs_noop": median(differences) / 1e6,
        "added_cpu_ms_vs_noop": median(cpu_differences) / 1e6,
        "otel_callback_ms_vs_none": summary["bsp_noop"]["wall_ms_per_call"] - summary["none"]["wall_ms_per_call"],
    }


# ----- 5. memory ---------------------------------------------------------------------
def bench_memory(settings: Settings) -> dict[str, Any]:
    """Peak RSS growth with the server down, for two span counts, each in its own process."""
    runs = {}
    for count in settings.memory_spans:
        runs[str(count)] = _collect(_run_worker(["_memory_worker.py", "--spans", str(count)]), 180)
    small, large = (runs[str(c)] for c in settings.memory_spans)
    return {
        "description": "VmHWM - baseline VmRSS (KiB) while spans with ~2 KB unique messages are produced "
                       "through configure() (default queue 2048) and every export gets connection refused",
        "runs": runs,
        "growth_mib": {k: v["peak_growth_kib"] / 1024 for k, v in runs.items()},
        "growth_ratio_large_vs_small": ratio(large["peak_growth_kib"], small["peak_growth_kib"]),
        "span_ratio": settings.memory_spans[1] / settings.memory_spans[0],
    }


# ----- targets and report ------------------------------------------------------------
@dataclass
class Target:
    name: str
    value: float | None
    op: str
    limit: float
    met: bool | None


def evaluate(sections: dict[str, Any]) -> list[Target]:
    def get(section: str, key: str) -> float | None:
        value = sections.get(section, {}).get(key)
        return float(value) if isinstance(value, int | float) else None

    checks = [
        ("app thread: honeyhive / bsp_noop, exporter busy", get("app_thread", "ratio_busy"), "<=", 1.10),
        ("app thread: honeyhive / bsp_noop, exporter idle", get("app_thread", "ratio_idle"), "<=", 1.10),
        ("export: honeyhive / otlp spans per s", get("export_throughput", "ratio_throughput"), ">=", 2.0),
        ("litellm: added ms per call vs no-op exporter", get("litellm", "added_ms_vs_noop"), "<=", 0.2),
        ("scaling: cpu ns per byte, 1 MB / 100 KB", get("scaling", "ratio_cpu_per_byte_1mb_vs_100kb"), "<=", 1.2),
        ("memory: peak growth, large / small span count", get("memory", "growth_ratio_large_vs_small"), "<=", 1.5),
    ]
    targets = []
    for name, value, op, limit in checks:
        met = None if value is None else (value <= limit if op == "<=" else value >= limit)
        targets.append(Target(name, value, op, limit, met))
    return targets


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:
            return "nan"
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
        return text + unit
    return f"{value}{unit}"


def report(sections: dict[str, Any], targets: list[Target]) -> str:
    out = io.StringIO()
    w = out.write
    app = sections.get("app_thread", {})
    if "variants" in app:
        w("\n1. Application thread, ns per span (median)\n")
        w(f"   {'variant':<14}{'idle':>10}{'idle cpu':>10}{'busy':>10}{'pipeline cpu':>14}\n")
        for name, v in app["variants"].items():
            w(f"   {name:<14}{_fmt(v['idle_ns_per_span']):>10}{_fmt(v['idle_thread_cpu_ns_per_span']):>10}"
              f"{_fmt(v['busy_ns_per_span']):>10}{_fmt(v['pipeline_cpu_ns_per_span']):>14}\n")
        w(f"   ratio honeyhive/bsp_noop: idle {_fmt(app['ratio_idle'])}x (cpu {_fmt(app['ratio_idle_cpu'])}x), "
          f"busy {_fmt(app['ratio_busy'])}x, pipeline cpu {_fmt(app['ratio_pipeline_cpu'])}x\n")
    exp = sections.get("export_throughput", {})
    if "variants" in exp:
        w("\n2. Export throughput, batches of 512 (median)\n")
        w(f"   {'exporter':<14}{'spans/s':>10}{'wall ns/span':>14}{'cpu ns/span':>13}{'failed':>8}\n")
        for name, v in exp["variants"].items():
            w(f"   {name:<14}{_fmt(v['spans_per_s']):>10}{_fmt(v['wall_ns_per_span']):>14}"
              f"{_fmt(v['cpu_ns_per_span']):>13}{v['failed_exports']:>8}\n")
        w(f"   ratio honeyhive/otlp: throughput {_fmt(exp['ratio_throughput'])}x, cpu {_fmt(exp['ratio_cpu'])}x\n")
    real = sections.get("real_spans", {})
    if "families" in real:
        w("\n2b. Export CPU on captured spans of real instrumentors, ns per span (median; no target)\n")
        w(f"   {'family':<20}{'attributes':>11}{'honeyhive':>11}{'otlp':>9}{'otlp/ours':>11}\n")
        for family, row in real["families"].items():
            cpu = row["cpu_ns_per_span"]
            w(f"   {family:<20}{_fmt(row['attributes_per_span']):>11}{_fmt(cpu['honeyhive']):>11}"
              f"{_fmt(cpu['otlp_http']):>9}{_fmt(row['ratio_cpu_otlp_over_honeyhive']):>10}x\n")
    shapes = sections.get("span_shapes", {})
    if "families" in shapes:
        w("\n2c. Export CPU on the benchmark span's content in other conventions' forms, ns per span (median; "
          "no target)\n")
        w(f"   {'form':<45}{'attributes':>11}{'honeyhive':>11}{'otlp':>9}{'otlp/ours':>11}\n")
        for form, row in shapes["families"].items():
            cpu = row["cpu_ns_per_span"]
            w(f"   {form:<45}{_fmt(row['attributes_per_span']):>11}{_fmt(cpu['honeyhive']):>11}"
              f"{_fmt(cpu['otlp_http']):>9}{_fmt(row['ratio_cpu_otlp_over_honeyhive']):>10}x\n")
    sc = sections.get("scaling", {})
    if "rows" in sc:
        w("\n3. Scaling with message payload, export cost per span (median; cpu = exporting thread)\n")
        w(f"   {'payload':>10}{'spans':>7}{'hh us/span':>12}{'hh cpu ns/B':>13}{'hh wall ns/B':>14}"
          f"{'otlp us/span':>14}{'otlp cpu ns/B':>15}\n")
        for row in sc["rows"]:
            hh, ot = row["honeyhive"], row["otlp_http"]
            w(f"   {row['payload_bytes']:>10,}{row['spans_per_export']:>7}{_fmt(hh['cpu_ns_per_span'] / 1e3):>12}"
              f"{_fmt(hh['cpu_ns_per_byte']):>13}{_fmt(hh['ns_per_byte']):>14}"
              f"{_fmt(ot['cpu_ns_per_span'] / 1e3):>14}{_fmt(ot['cpu_ns_per_byte']):>15}\n")
        w(f"   per-byte ratio 1 MB / 100 KB: honeyhive cpu {_fmt(sc['ratio_cpu_per_byte_1mb_vs_100kb'])}x "
          f"(wall {_fmt(sc['ratio_per_byte_1mb_vs_100kb'])}x), otlp cpu "
          f"{_fmt(sc['otlp_ratio_cpu_per_byte_1mb_vs_100kb'])}x\n")
    ll = sections.get("litellm", {})
    if "variants" in ll:
        w("\n4. LiteLLM completion(mock_response), ms per call (median)\n")
        w(f"   {'variant':<12}{'wall':>8}{'app cpu':>9}{'process cpu':>13}{'spans/call':>12}\n")
        for name, v in ll["variants"].items():
            w(f"   {name:<12}{_fmt(v['wall_ms_per_call']):>8}{_fmt(v['app_thread_cpu_ms_per_call']):>9}"
              f"{_fmt(v['process_cpu_ms_per_call']):>13}{_fmt(v['spans_per_call']):>12}\n")
        w(f"   honeyhive - bsp_noop (median of {len(ll['wall_difference_ms_samples'])} paired blocks): "
          f"wall {_fmt(ll['added_ms_vs_noop'])} ms, process cpu "
          f"{_fmt(ll['added_cpu_ms_vs_noop'])} ms; otel callback itself (bsp_noop - none): "
          f"{_fmt(ll['otel_callback_ms_vs_none'])} ms\n")
    mem = sections.get("memory", {})
    if "runs" in mem:
        w("\n5. Memory with the server down (configure(), default queue)\n")
        for count, run in mem["runs"].items():
            w(f"   {int(count):>7,} spans: peak growth {run['peak_growth_kib'] / 1024:.1f} MiB, "
              f"queue {run['queue_len_at_end']}/{run['queue_max']}, dropped {run['dropped']}\n")
        w(f"   growth ratio {_fmt(mem['growth_ratio_large_vs_small'])}x for {_fmt(mem['span_ratio'])}x spans\n")
    for name, section in sections.items():
        if "error" in section:
            w(f"\n{name}: ERROR {section['error'].splitlines()[-1]}\n")
    w("\nTargets\n")
    for t in targets:
        verdict = "n/a" if t.met is None else "MET" if t.met else "MISSED"
        w(f"   {t.name:<50}{_fmt(t.value):>10}  {t.op} {t.limit:<6} {verdict}\n")
    return out.getvalue()


# ----- profiles ----------------------------------------------------------------------
def profile_paths(sink_url: str, top: int = 30) -> dict[str, str]:
    """cProfile of HoneyHiveSpanExporter.export (5 batches of 512) and of the app-thread path."""
    reports = {}
    spans = _spans.build_spans(BATCH, 2048)
    exporter = make_exporters(sink_url)["honeyhive"]
    timed_export(exporter, spans)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        exporter.export(spans)
        exporter.force_flush()
    profiler.disable()
    exporter.shutdown()
    reports["export"] = _profile_text(profiler, top)

    provider = _spans.make_provider(_spans.honeyhive_processor(sink_url))
    tracer = provider.get_tracer(_spans.SCOPE)
    pool = attribute_pool(64)
    profiler = cProfile.Profile()
    for round_no in range(20):
        profiler.enable()
        for i in range(400):  # under the batch trigger: the exporter thread stays idle
            _spans.emit_span(tracer, pool[(round_no + i) % len(pool)])
        profiler.disable()
        provider.force_flush()
    provider.shutdown()
    reports["app_thread"] = _profile_text(profiler, top)
    return reports


def _profile_text(profiler: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# ----- main --------------------------------------------------------------------------
def run_section(name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    print(f"[{name}] ...", file=sys.stderr, flush=True)
    try:
        result = fn()
    except Exception:  # noqa: BLE001 - one broken section must not hide the others
        result = {"error": traceback.format_exc()}
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(f"[{name}] done in {result['seconds']} s", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes for the smoke test")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    parser.add_argument("--profile", action="store_true", help="also write cProfile reports to profile_*.txt")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    wanted = args.only or list(SECTIONS)
    started = time.perf_counter()
    logging_quiet()
    machine = machine_info()
    sections: dict[str, Any] = {}
    profiles: dict[str, str] = {}
    with _sink.SinkProcess() as sink:
        jobs: dict[str, Callable[[], dict[str, Any]]] = {
            "app_thread": lambda: bench_app_thread(settings, sink.url),
            "export_throughput": lambda: bench_export_throughput(settings, sink.url),
            "real_spans": lambda: bench_real_spans(settings, sink.url),
            "span_shapes": lambda: bench_span_shapes(settings, sink.url),
            "scaling": lambda: bench_scaling(settings, sink.url),
            "litellm": lambda: bench_litellm(settings, sink.url),
            "memory": lambda: bench_memory(settings),
        }
        for name in SECTIONS:
            if name in wanted:
                sections[name] = run_section(name, jobs[name])
        if args.profile:
            profiles = profile_paths(sink.url)
    machine["loadavg_end"] = loadavg()
    targets = evaluate(sections)
    results = {
        "mode": "quick" if args.quick else "full",
        "settings": asdict(settings),
        "machine": machine,
        "sections": sections,
        "targets": [asdict(t) for t in targets],
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    for name, text in profiles.items():
        path = args.out.parent / f"profile_{name}.txt"
        path.write_text(text)
        print(f"profile written: {path}", file=sys.stderr)
    print(f"machine: {machine['cpu_model']}, {machine['cores']} cores, Python {machine['python']}, "
          f"load {machine['loadavg_start']} -> {machine['loadavg_end']}")
    print(report(sections, targets))
    print(f"results: {args.out} ({results['seconds']} s)")
    return 0


def logging_quiet() -> None:
    """The SDK warns once per dropped span in the memory section's workers, not here; keep stderr readable."""
    import logging

    logging.getLogger("opentelemetry").setLevel(logging.ERROR)
    logging.getLogger("honeyhive_otel").setLevel(logging.ERROR)


if __name__ == "__main__":
    sys.exit(main())
