"""The transport against a real server misbehaving on purpose (devserver fault modes)."""

from __future__ import annotations

import logging
import time

import pytest

from tests.support.pipeline import make_pipeline


def _emit(pipeline, count: int, name: str = "chat") -> None:
    tracer = pipeline.tracer()
    for index in range(count):
        with tracer.start_as_current_span(f"{name} {index}") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")


@pytest.fixture
def pipeline_factory(devserver):
    made = []

    def factory(**options):
        options.setdefault("timeout", 10)
        pipe = make_pipeline(devserver.url, **options)
        made.append(pipe)
        return pipe

    yield factory
    for pipe in made:
        pipe.close()


def test_retries_5xx_then_delivers_once(devserver, pipeline_factory):
    devserver.faults.set("/v1/events/batch", "status", count=2, status=503)
    pipeline = pipeline_factory()
    _emit(pipeline, 3)
    pipeline.flush()
    assert len(devserver.store.events()) == 3
    assert not devserver.store.duplicates()
    assert pipeline.exporter.stats.snapshot()["retries"] >= 2


def test_honours_retry_after_on_429(devserver, pipeline_factory):
    devserver.faults.set("/v1/events/batch", "status", count=1, status=429, retry_after=1)
    pipeline = pipeline_factory()
    _emit(pipeline, 1)
    started = time.monotonic()
    pipeline.flush()
    assert time.monotonic() - started >= 0.95
    assert len(devserver.store.events()) == 1


def test_partial_batch_failure_does_not_duplicate(devserver, pipeline_factory):
    devserver.faults.set("/v1/events/batch", "partial", count=1)
    pipeline = pipeline_factory()
    _emit(pipeline, 6)
    pipeline.flush()
    assert len(devserver.store.events()) == 6
    assert not devserver.store.duplicates()


def test_413_splits_the_batch(devserver, pipeline_factory):
    devserver.faults.set("/v1/events/batch", "max_bytes", limit=2_500)
    pipeline = pipeline_factory()
    _emit(pipeline, 8)
    pipeline.flush()
    assert len(devserver.store.events()) == 8
    batches = [r for r in devserver.requests if r.path == "/v1/events/batch" and r.status == 200]
    assert len(batches) > 1


def test_byte_budget_splits_requests(devserver, pipeline_factory):
    pipeline = pipeline_factory(max_request_bytes=20_000)
    tracer = pipeline.tracer()
    for index in range(10):
        with tracer.start_as_current_span(f"big {index}") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.prompt", "x" * 5_000)
    pipeline.flush()
    assert len(devserver.store.events()) == 10
    sizes = [r.body_bytes for r in devserver.requests if r.path == "/v1/events/batch"]
    assert len(sizes) >= 3 and all(size <= 20_000 for size in sizes)


def test_400_is_not_retried_and_logged_once(devserver, pipeline_factory, caplog):
    devserver.faults.set("/v1/events/batch", "status", status=400)
    pipeline = pipeline_factory()
    with caplog.at_level(logging.WARNING, logger="honeyhive_otel"):
        _emit(pipeline, 2)
        assert not pipeline.processor.force_flush(10_000)
        _emit(pipeline, 2)
        assert not pipeline.processor.force_flush(10_000)
    batch_requests = [r for r in devserver.requests if r.path == "/v1/events/batch"]
    assert len(batch_requests) == 2  # one per flush, no retries
    stats = pipeline.exporter.stats.snapshot()
    assert stats["dropped"]["export_failed"] == 4 and stats["retries"] == 0
    assert sum("answered 400" in record.getMessage() for record in caplog.records) == 1


def test_401_logs_once_without_the_key(devserver, pipeline_factory, caplog):
    devserver.faults.set("/v1/events/batch", "status", status=401)
    pipeline = pipeline_factory(api_key="hh-test-secret-key-123")
    with caplog.at_level(logging.DEBUG):
        _emit(pipeline, 1)
        assert not pipeline.processor.force_flush(10_000)
        _emit(pipeline, 1)
        assert not pipeline.processor.force_flush(10_000)
    messages = [record.getMessage() for record in caplog.records]
    assert sum("rejected the API key" in m for m in messages) == 1
    assert not any("hh-test-secret-key-123" in m for m in messages)


def test_hanging_server_cannot_hold_the_export_beyond_its_timeout(devserver, pipeline_factory):
    devserver.faults.set("/v1/", "hang")
    pipeline = pipeline_factory(timeout=1.0)
    _emit(pipeline, 1)
    started = time.monotonic()
    flushed = pipeline.processor.force_flush(5_000)
    elapsed = time.monotonic() - started
    assert elapsed < 4.0, elapsed
    assert flushed is False  # the event could not be delivered
    devserver.faults.clear()


def test_force_flush_returns_within_its_timeout_even_when_the_server_hangs(devserver, pipeline_factory):
    devserver.faults.set("/v1/", "hang")
    pipeline = pipeline_factory(timeout=3)
    _emit(pipeline, 1)
    started = time.monotonic()
    assert pipeline.processor.force_flush(500) is False
    assert time.monotonic() - started < 1.5
    devserver.faults.clear()


def test_connection_reset_and_refused_are_retried(devserver, pipeline_factory):
    devserver.faults.set("/v1/events/batch", "reset", count=1)
    pipeline = pipeline_factory()
    _emit(pipeline, 2)
    pipeline.flush()
    assert len(devserver.store.events()) == 2
    assert not devserver.store.duplicates()
