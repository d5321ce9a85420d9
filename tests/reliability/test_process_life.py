"""Process life: shutdown and flush within their timeouts against a hanging server, fork safety,
atexit delivery from short-lived scripts, and the on-disk spool across two real processes."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from honeyhive_otel import HoneyHiveSpanExporter
from honeyhive_otel.devserver import DevServer
from tests.reliability import harness

SCRIPT = Path(__file__).resolve().parent / "scripts" / "produce.py"
pytestmark = pytest.mark.slow


def _ended_spans(count: int, prefix: str) -> list[Any]:
    """Real SDK spans, ended, not exported by anything (fed to an exporter directly)."""
    tracer = TracerProvider().get_tracer("direct")
    spans = []
    for index in range(count):
        span = tracer.start_span(f"{prefix} {index}")
        span.set_attribute("gen_ai.operation.name", "chat")
        span.end()
        spans.append(span)
    return spans


# ----- shutdown and flush bounds ---------------------------------------------------------
def test_provider_shutdown_returns_within_the_export_timeout_when_the_server_hangs(devserver, monkeypatch):
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    devserver.faults.set("/v1/", "hang")
    timeout = 2.0
    pipeline = harness.make_pipeline(devserver, timeout=timeout, merge_window=30)
    started = time.monotonic()
    produced = pipeline.produce(10, prefix="hang shutdown")
    # A model span whose parent never ends: held by the exporter until shutdown drains it.
    tracer = pipeline.provider.get_tracer("held")
    model = tracer.start_span("held model", context=trace.set_span_in_context(tracer.start_span("open root")))
    model.set_attribute("gen_ai.operation.name", "chat")
    model.end()
    assert harness.wait_until(lambda: any(r.fault == "hang" for r in devserver.requests), 5)
    before = time.monotonic()
    pipeline.close()  # provider.shutdown(): no timeout argument of its own
    elapsed = time.monotonic() - before
    stats = pipeline.stats()
    row = harness.record(harness.Row("hang: provider.shutdown()", len(produced) + 1, len(devserver.store.events()),
                                     0, stats["dropped"], pipeline.max_block_ms, time.monotonic() - started,
                                     f"returned in {elapsed:.1f}s (timeout {timeout:.0f}s)"))
    assert elapsed < timeout + 1.0, elapsed
    assert row.uncounted == 0 and stats["dropped"] == {"export_failed": 11}
    devserver.faults.clear()


@pytest.mark.parametrize("spool", [False, True], ids=["no spool", "spool"])
def test_exporter_shutdown_cuts_a_request_in_flight(devserver, tmp_path, spool):
    """An export is waiting on a hanging server with a 20 s budget; shutdown(1000) must not wait for it."""
    devserver.faults.set("/v1/", "hang")
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, timeout=20, merge_window=0,
                                     spool_dir=tmp_path / "spool" if spool else None)
    spans = _ended_spans(5, "in flight")
    worker = threading.Thread(target=exporter.export, args=(spans,))
    worker.start()
    assert harness.wait_until(lambda: any(r.fault == "hang" for r in devserver.requests), 5)
    started = time.monotonic()
    exporter.shutdown(timeout_millis=1000)
    elapsed = time.monotonic() - started
    worker.join(2.0)
    assert elapsed < 1.5, elapsed
    assert not worker.is_alive()  # the request in flight was cut, not left to its 20 s budget
    stats = exporter.stats.snapshot()
    if spool:
        assert stats["spooled"] == 5 and stats["dropped_total"] == 0
    else:
        assert stats["dropped"] == {"export_failed": 5}
    devserver.faults.clear()


def test_force_flush_honours_its_timeout_with_a_hanging_server(devserver):
    devserver.faults.set("/v1/", "hang")
    pipeline = harness.make_pipeline(devserver, timeout=10)
    pipeline.produce(6, prefix="flush hang")
    started = time.monotonic()
    assert pipeline.processor.force_flush(700) is False
    assert time.monotonic() - started < 1.2
    exporter_started = time.monotonic()
    assert pipeline.exporter.force_flush(300) is False  # the export in flight holds the exporter: no waiting
    assert time.monotonic() - exporter_started < 0.8
    devserver.faults.clear()
    pipeline.close()


# ----- fork ------------------------------------------------------------------------------
def _child_work(pipeline: harness.Pipeline, results: Any) -> None:
    ids = pipeline.produce(30, prefix="child")
    flushed = pipeline.processor.force_flush(10_000)
    results.put({"ids": ids, "flushed": flushed, "held_after_fork": len(pipeline.exporter.coalescer)})


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
@pytest.mark.parametrize("how", ["multiprocessing", "os.fork"])
def test_fork_parent_and_child_each_deliver_once(devserver, how):
    """At fork time the parent holds a model event waiting for its parent span: only the parent may
    send it. The child's own spans must all arrive, and nothing may arrive twice."""
    pipeline = harness.make_pipeline(devserver, merge_window=30)
    tracer = pipeline.provider.get_tracer("fork")
    root = tracer.start_span("open root")
    model = tracer.start_span("held model", context=trace.set_span_in_context(root))
    model.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"})
    model.end()
    pipeline.processor.inner.force_flush()  # the SDK queue only: the event now waits in the exporter
    assert len(pipeline.exporter.coalescer) == 1
    started = time.monotonic()

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    if how == "multiprocessing":
        process = context.Process(target=_child_work, args=(pipeline, results))
        process.start()
        child = results.get(timeout=30)
        process.join(30)
        assert process.exitcode == 0
    else:
        pid = os.fork()
        if pid == 0:  # the child: report, then leave without running the parent's cleanup
            code = 1
            try:
                _child_work(pipeline, results)
                results.close()
                results.join_thread()
                code = 0
            finally:
                os._exit(code)
        child = results.get(timeout=30)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0

    assert child["flushed"] and child["held_after_fork"] == 0
    parent_ids = pipeline.produce(30, prefix="parent")
    root.end()
    assert pipeline.processor.force_flush(10_000)
    pipeline.close()
    held = [harness.event_id_for(s.get_span_context().trace_id, s.get_span_context().span_id) for s in (model, root)]
    expected = sorted(parent_ids + child["ids"] + held)
    stored = harness.stored_ids(devserver)
    stats = pipeline.stats()
    harness.record(harness.Row(f"fork ({how})", len(expected), len(stored), len(devserver.store.duplicates()),
                               stats["dropped"], pipeline.max_block_ms, time.monotonic() - started,
                               "parent and child each once"))
    assert sorted(stored) == expected
    assert devserver.store.duplicates() == {}


# ----- short-lived processes ---------------------------------------------------------------
def _run(url: str, count: int, prefix: str, *flags: str, env: dict[str, str] | None = None,
         timeout: float = 60) -> dict[str, Any]:
    full_env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **(env or {})}
    done = subprocess.run([sys.executable, str(SCRIPT), url, str(count), prefix, *flags], capture_output=True,
                          text=True, timeout=timeout, env=full_env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, (done.stdout[-2000:], done.stderr[-2000:])
    result = json.loads(lines[-1])
    result["stderr"] = done.stderr
    return result


@pytest.mark.parametrize("flags", [(), ("--provider-first",)], ids=["configure installs provider",
                                                                      "app provider first"])
def test_short_lived_script_delivers_at_exit_without_shutdown(devserver, flags):
    started = time.monotonic()
    result = _run(devserver.url, 1, "atexit", *flags)
    stored = harness.stored_ids(devserver)
    harness.record(harness.Row(f"atexit, {flags[0][2:] if flags else 'configure'}", len(result["ids"]), len(stored),
                               len(devserver.store.duplicates()), result["stats"]["dropped"], 0.0,
                               time.monotonic() - started, "delivered at exit"))
    assert stored == result["ids"]
    assert result["stats"]["events_exported"] == 1


def test_spool_survives_an_outage_across_two_processes(tmp_path):
    """Process 1 runs while HoneyHive is unreachable and exits; process 2 starts with the same spool
    while HoneyHive is up: process 1's events (and its session) arrive exactly once."""
    spool = tmp_path / "spool"
    env = {"HONEYHIVE_SPOOL_DIR": str(spool), "HONEYHIVE_TIMEOUT": "1"}
    with DevServer() as server:
        started = time.monotonic()
        server.faults.set("/v1/", "refuse")
        first = _run(server.url, 25, "offline", env=env)
        assert first["stats"]["spooled"] == 25 and first["stats"]["dropped_total"] == 0
        assert list(spool.glob("*.jsonl")) and not server.store.events()
        server.faults.clear()
        second = _run(server.url, 3, "online", env=env)
        stored = harness.stored_ids(server)
        harness.record(harness.Row("spool: 2 processes", 28, len(stored), len(server.store.duplicates()),
                                   second["stats"]["dropped"], 0.0, time.monotonic() - started,
                                   "offline events replayed once"))
        assert sorted(stored) == sorted(first["ids"] + second["ids"])
        assert server.store.duplicates() == {}
        assert second["stats"]["replayed"] == 25
        assert not list(spool.iterdir())
        offline_sessions = {e["session_id"] for e in server.store.events() if e["event_id"] in first["ids"]}
        assert len(offline_sessions) == 1
        session = server.store.session(offline_sessions.pop())
        assert session is not None and session["session_name"] == "offline"


def test_nothing_reaches_the_application_whatever_happens(devserver, tmp_path, caplog):
    """Unreachable server, spool, repeated flushes and shutdowns, spans after shutdown: the
    application only ever sees return values; late spans are counted."""
    devserver.faults.set("/v1/", "refuse")
    pipeline = harness.make_pipeline(devserver, timeout=0.5, spool_dir=tmp_path / "spool")
    pipeline.produce(9, prefix="unreachable")
    assert pipeline.processor.force_flush(3_000) in (True, False)  # True here: spooled, nothing dropped
    assert pipeline.exporter.force_flush(100) in (True, False)
    pipeline.close()
    pipeline.close()
    pipeline.exporter.shutdown(0)
    late = pipeline.produce(3, prefix="after shutdown")
    assert pipeline.processor.force_flush(100) is False
    stats = pipeline.stats()
    assert stats["spooled"] == 9 and stats["dropped"] == {"after_shutdown": len(late)}
    devserver.faults.clear()
