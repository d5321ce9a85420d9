"""Delivery guarantees of the real pipeline against every devserver fault mode.

Transient faults within the export timeout lose nothing and duplicate nothing, with stable
event ids; an outage longer than the queue drops the oldest spans and counts exactly what
it dropped; a rejected key stops retrying and is logged once; `span.end()` on the
application thread never waits for the network. Each scenario adds a row to the table
printed at the end of the run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from honeyhive_otel.devserver import DevServer
from honeyhive_otel.ids import event_id_for
from tests.reliability import harness

SPANS = 120
# span.end() only enqueues; it may wait for the GIL while the export thread maps spans, or be
# descheduled on a loaded CI machine, but never waits for the network (the faults hold requests
# for 1-4 s: Retry-After, refused connections, hangs). A generous wall-clock bound.
MAX_BLOCK_MS = 500.0


@dataclass
class Transient:
    name: str
    inject: Callable[[DevServer], Any]


TRANSIENT = [
    Transient("503 x3", lambda s: s.faults.set("/v1/events/batch", "status", count=3, status=503)),
    Transient("502/504 on sessions", lambda s: (s.faults.set("/v1/sessions", "status", count=1, status=502),
                                                s.faults.set("/v1/events/batch", "status", count=1, status=504))),
    Transient("429 Retry-After 1s", lambda s: s.faults.set("/v1/events/batch", "status", count=2, status=429,
                                                           retry_after=1)),
    Transient("connection reset x3", lambda s: s.faults.set("/v1/", "reset", count=3)),
    Transient("refused for 1.5s", lambda s: s.faults.set("/v1/", "refuse", duration_ms=1500)),
    Transient("latency 300ms", lambda s: s.faults.set("/v1/", "latency", count=6, ms=300)),
    Transient("partial 500 x2", lambda s: s.faults.set("/v1/events/batch", "partial", count=2)),
    Transient("413 split", lambda s: s.faults.set("/v1/events/batch", "max_bytes", limit=6_000)),
    Transient("hang once (< timeout)", lambda s: s.faults.set("/v1/events/batch", "hang", count=1)),
]


@pytest.mark.parametrize("case", TRANSIENT, ids=[case.name for case in TRANSIENT])
def test_transient_faults_lose_and_duplicate_nothing(devserver, case):
    # "hang once" costs one attempt's wait (half the time left): keep the timeout short.
    timeout = 4 if case.name.startswith("hang") else 10
    pipeline = harness.make_pipeline(devserver, timeout=timeout)
    started = time.monotonic()
    case.inject(devserver)
    names = pipeline.produce(SPANS, prefix=case.name)
    assert pipeline.processor.force_flush(30_000), pipeline.stats()
    pipeline.close()
    stats = pipeline.stats()
    stored = devserver.store.events()
    row = harness.record(harness.Row(case.name, len(names), len(stored), len(devserver.store.duplicates()),
                                     stats["dropped"], pipeline.max_block_ms, time.monotonic() - started,
                                     "all delivered once"))
    assert sorted(e["event_id"] for e in stored) == sorted(names)
    assert devserver.store.duplicates() == {}
    assert stats["dropped_total"] == 0 and row.uncounted == 0
    # Retries re-send the very same ids: nothing but the stored events was ever sent.
    assert harness.sent_event_ids(devserver) == {e["event_id"] for e in stored}
    assert pipeline.max_block_ms < MAX_BLOCK_MS


def test_event_ids_are_the_span_ids_whatever_the_retries(devserver):
    devserver.faults.set("/v1/events/batch", "status", count=2, status=503)
    pipeline = harness.make_pipeline(devserver)
    tracer = pipeline.provider.get_tracer("ids")
    contexts = []
    for index in range(5):
        with tracer.start_as_current_span(f"ids {index}") as span:
            contexts.append(span.get_span_context())
    pipeline.processor.force_flush(10_000)
    pipeline.close()
    expected = {event_id_for(c.trace_id, c.span_id) for c in contexts}
    assert {e["event_id"] for e in devserver.store.events()} == expected


def test_outage_longer_than_the_queue_drops_the_oldest_and_counts_exactly(devserver, monkeypatch, caplog):
    """The worker is stuck on a hanging server while the app keeps ending spans: the SDK's deque
    keeps the newest `queue` spans, and the processor counts every one it pushed out."""
    queue, batch, burst = 64, 32, 300
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", str(queue))
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", str(batch))
    devserver.faults.set("/v1/", "hang")
    pipeline = harness.make_pipeline(devserver, timeout=1.5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="honeyhive_otel"):
        first = pipeline.produce(batch, prefix="first")  # wakes the worker, which takes them and hangs
        assert harness.wait_until(lambda: any(r.fault == "hang" for r in devserver.requests), 5)
        assert harness.wait_until(lambda: len(pipeline.processor._queue) == 0, 5)
        later = pipeline.produce(burst, prefix="later")
        devserver.faults.clear()
        assert harness.wait_until(lambda: len(devserver.store.events()) >= queue, 15)
        pipeline.processor.force_flush(10_000)
        pipeline.close()
    stats = pipeline.stats()
    stored = harness.stored_ids(devserver)
    row = harness.record(harness.Row("outage > queue (hang)", len(first) + len(later), len(stored),
                                     len(devserver.store.duplicates()), stats["dropped"], pipeline.max_block_ms,
                                     time.monotonic() - started, "drop oldest, all counted"))
    assert sorted(stored) == sorted(later[-queue:])  # the newest spans survive
    assert stats["dropped"] == {"queue_full": burst - queue, "export_failed": batch}
    assert row.uncounted == 0 and devserver.store.duplicates() == {}
    queue_warnings = [r for r in caplog.records if "queue is full" in r.getMessage()]
    assert len(queue_warnings) == 1  # rate-limited: one line for 236 drops
    assert any("dropped" in r.getMessage() and "events" in r.getMessage() for r in caplog.records)
    assert pipeline.max_block_ms < MAX_BLOCK_MS


def test_outage_with_spool_keeps_what_the_server_never_answered(devserver, monkeypatch, tmp_path):
    """Same outage with a spool: the batch that hung is spooled and replayed once HoneyHive is back."""
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "64")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "32")
    devserver.faults.set("/v1/", "hang")
    pipeline = harness.make_pipeline(devserver, timeout=1.5, spool_dir=tmp_path / "spool")
    started = time.monotonic()
    first = pipeline.produce(32, prefix="first")
    assert harness.wait_until(lambda: any(r.fault == "hang" for r in devserver.requests), 5)
    assert harness.wait_until(lambda: len(pipeline.processor._queue) == 0, 5)
    later = pipeline.produce(100, prefix="later")
    devserver.faults.clear()
    assert harness.wait_until(lambda: len(devserver.store.events()) >= 96, 15), len(devserver.store.events())
    pipeline.close()
    stats = pipeline.stats()
    stored = harness.stored_ids(devserver)
    row = harness.record(harness.Row("outage > queue + spool", len(first) + len(later), len(stored),
                                     len(devserver.store.duplicates()), stats["dropped"], pipeline.max_block_ms,
                                     time.monotonic() - started, "spooled batch replayed"))
    assert sorted(stored) == sorted(first + later[-64:])
    assert stats["dropped"] == {"queue_full": 36}
    assert stats["spooled"] == 32 and stats["replayed"] == 32
    assert row.uncounted == 0 and devserver.store.duplicates() == {}
    assert not list((tmp_path / "spool").iterdir())


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_stops_retrying_and_logs_once(status, caplog, tmp_path):
    secret = "hh-test-secret-wrong-key-0001"
    with DevServer() as server:
        server.faults.set("/v1/", "status", status=status)
        pipeline = harness.make_pipeline(server, api_key=secret, spool_dir=tmp_path / "spool")
        started = time.monotonic()
        with caplog.at_level(logging.DEBUG):
            names = pipeline.produce(9, prefix=f"auth {status}")
            assert not pipeline.processor.force_flush(10_000)
            names += pipeline.produce(9, prefix=f"auth {status} again")
            assert not pipeline.processor.force_flush(10_000)
            pipeline.close()
        stats = pipeline.stats()
        row = harness.record(harness.Row(f"{status} rejected key", len(names), len(server.store.events()), 0,
                                         stats["dropped"], pipeline.max_block_ms, time.monotonic() - started,
                                         "no retry, logged once, counted"))
        assert stats["retries"] == 0
        assert stats["dropped"] == {"export_failed": len(names)} and row.uncounted == 0
        assert stats["spooled"] == 0 and not list((tmp_path / "spool").iterdir())  # a 4xx is not retried later
        messages = [r.getMessage() for r in caplog.records]
        assert sum(m.startswith("HoneyHive rejected the API key") for m in messages) == 1
        assert not any(secret in m for m in messages)
        assert all(r.status == status for r in server.requests if r.path.startswith("/v1/"))


def test_persistent_5xx_beyond_the_timeout_is_counted_not_silent(devserver, caplog):
    devserver.faults.set("/v1/events/batch", "status", status=503)
    pipeline = harness.make_pipeline(devserver, timeout=1.0)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="honeyhive_otel"):
        names = pipeline.produce(30, prefix="down")
        assert not pipeline.processor.force_flush(10_000)
        pipeline.close()
    stats = pipeline.stats()
    row = harness.record(harness.Row("503 beyond timeout", len(names), len(devserver.store.events()), 0,
                                     stats["dropped"], pipeline.max_block_ms, time.monotonic() - started,
                                     "dropped, counted, logged"))
    assert stats["dropped"] == {"export_failed": 30} and row.uncounted == 0
    assert stats["retries"] >= 1 and "503" in (stats["last_error"] or "")
    assert any("shut down with 30" in r.getMessage() for r in caplog.records)


def test_a_response_lost_after_the_server_stored_the_batch_is_resent_with_the_same_ids(devserver):
    """At-least-once, stated: the connection dies after HoneyHive stored a batch but before it
    answered (the devserver starts refusing and cuts requests in flight). The exporter cannot
    know the batch arrived, so it sends it again, with the same event ids: nothing is lost, the
    repeat is the same events, never new ones."""
    devserver.faults.set("/v1/events/batch", "latency", count=1, ms=800)
    pipeline = harness.make_pipeline(devserver)
    started = time.monotonic()
    produced = pipeline.produce(30, prefix="lost response")
    flusher = threading.Thread(target=pipeline.processor.force_flush, args=(20_000,))
    flusher.start()
    time.sleep(0.4)  # the batch is in the devserver, waiting out its latency
    devserver.faults.set("/v1/", "refuse", duration_ms=300)
    flusher.join(20)
    pipeline.close()
    stats = pipeline.stats()
    stored = harness.stored_ids(devserver)
    duplicates = devserver.store.duplicates()
    row = harness.record(harness.Row("response lost after commit", len(produced), len(stored), len(duplicates),
                                     stats["dropped"], pipeline.max_block_ms, time.monotonic() - started,
                                     "at-least-once: same ids re-sent"))
    assert sorted(stored) == sorted(produced) and row.uncounted == 0
    assert set(duplicates) <= set(produced) and set(duplicates.values()) <= {2}
    assert harness.sent_event_ids(devserver) == set(produced)
