"""The application thread only records and queues: filtering and re-parenting run on the export thread.

Everything here goes through a real TracerProvider, the real processor and exporter, and the
devserver. The export thread is held up with a real `span_filter` that waits, which is also
the proof that the application thread never waits for the filter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind

from honeyhive_otel import HoneyHiveSpanExporter, HoneyHiveSpanProcessor
from honeyhive_otel.filtering import MAX_RUNNING_SPANS
from honeyhive_otel.ids import event_id_for
from tests.support.pipeline import Pipeline

QUEUE, BATCH = 64, 32


def build(devserver: Any, sampler: Sampler | None = None, **processor_options: Any) -> Pipeline:
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=0)
    processor = HoneyHiveSpanProcessor(exporter, **processor_options)
    provider = TracerProvider(resource=Resource.create({"service.name": "tests"}), sampler=sampler)
    provider.add_span_processor(processor)
    return Pipeline(provider, processor, exporter)


@pytest.fixture
def small_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", str(QUEUE))
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", str(BATCH))


class HeldFilter:
    """A `span_filter` that holds the export thread on the span named `hold_on` until released."""

    def __init__(self, hold_on: str) -> None:
        self.hold_on = hold_on
        self.entered = threading.Event()
        self.release = threading.Event()
        self.threads: set[int] = set()

    def __call__(self, span: Any) -> bool | None:
        self.threads.add(threading.get_ident())
        if span.name == self.hold_on:
            self.entered.set()
            self.release.wait(20)
        return None


def assert_tree_valid(devserver: Any) -> dict[str, dict[str, Any]]:
    """Every event's parent is its session or a stored event; returns the events by name."""
    events = devserver.store.events()
    ids = {event["event_id"] for event in events}
    for event in events:
        assert event["parent_id"] == event["session_id"] or event["parent_id"] in ids, event["event_name"]
    return {event["event_name"]: event for event in events}


def llm_span(tracer: Any, name: str, context: Any = None) -> None:
    span = tracer.start_span(name, context=context, kind=SpanKind.CLIENT,
                             attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"})
    span.end()


def ended_ids(spans: list[Any]) -> list[str]:
    return [event_id_for(s.context.trace_id, s.context.span_id) for s in spans]


@pytest.fixture
def held(devserver: Any) -> Iterator[tuple[Pipeline, HeldFilter]]:
    span_filter = HeldFilter("first 0")
    pipe = build(devserver, span_filter=span_filter)
    yield pipe, span_filter
    span_filter.release.set()
    pipe.close()


# ----- where the work happens ----------------------------------------------------------------
def test_the_filter_runs_off_the_application_thread_and_never_holds_it_up(devserver, small_queue, held):
    pipe, span_filter = held
    tracer = pipe.tracer("app")
    first = [tracer.start_span(f"first {i}") for i in range(BATCH)]
    for span in first:
        span.end()  # the 32nd wakes the export thread, which stops in the filter on "first 0"
    assert span_filter.entered.wait(10)
    # The export thread is held: the application thread still ends spans, never waiting.
    with tracer.start_as_current_span("GET /chat", kind=SpanKind.SERVER, attributes={"http.method": "GET"}):
        llm_span(tracer, "chat")
    assert threading.get_ident() not in span_filter.threads
    span_filter.release.set()
    pipe.flush()
    events = assert_tree_valid(devserver)
    assert "GET /chat" not in events
    assert events["chat"]["parent_id"] == events["chat"]["session_id"]  # its filtered parent was skipped
    assert pipe.processor.stats.snapshot()["spans_filtered"] == 1
    assert threading.get_ident() not in span_filter.threads


def test_a_child_exported_while_its_filtered_parent_runs_goes_to_the_nearest_kept_ancestor(devserver):
    pipe = build(devserver)
    tracer = pipe.tracer("app")
    workflow = tracer.start_span("workflow")
    server = tracer.start_span("GET /chat", context=trace.set_span_in_context(workflow), kind=SpanKind.SERVER,
                               attributes={"http.method": "GET"})
    llm_span(tracer, "chat", context=trace.set_span_in_context(server))
    pipe.processor.inner.force_flush()  # "chat" is judged now: both ancestors still run
    server.end()
    workflow.end()
    pipe.flush()
    pipe.close()
    events = assert_tree_valid(devserver)
    assert sorted(events) == ["chat", "workflow"]
    assert events["chat"]["parent_id"] == events["workflow"]["event_id"]
    assert pipe.processor.stats.snapshot()["spans_filtered"] == 1


def test_a_raising_filter_and_a_filter_that_starts_spans_still_export_a_valid_tree(devserver):
    holder: dict[str, Any] = {}

    def span_filter(span: Any) -> bool | None:
        if span.name == "chat":
            audit = holder["tracer"].start_span("audit")  # on the export thread, from inside the filter
            audit.set_attribute("audit.of", span.name)
            audit.end()
            raise ValueError("a bug in the user's filter")
        return None

    pipe = build(devserver, span_filter=span_filter)
    holder["tracer"] = tracer = pipe.tracer("app")
    with tracer.start_as_current_span("GET /", kind=SpanKind.SERVER, attributes={"http.method": "GET"}):
        with tracer.start_as_current_span("workflow"):
            llm_span(tracer, "chat")
    pipe.flush()
    pipe.close()
    events = assert_tree_valid(devserver)
    assert sorted(events) == ["audit", "chat", "workflow"]  # the raise fell back to the default rule
    assert events["chat"]["parent_id"] == events["workflow"]["event_id"]
    assert events["workflow"]["parent_id"] == events["workflow"]["session_id"]


def test_with_a_user_span_processor_the_gate_still_filters_on_the_application_thread(devserver):
    seen: set[int] = set()

    def span_filter(span: Any) -> bool | None:
        seen.add(threading.get_ident())
        return None

    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=0)
    processor = HoneyHiveSpanProcessor(span_processor=BatchSpanProcessor(exporter), stats=exporter.stats,
                                       span_filter=span_filter)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("workflow"):
        with tracer.start_as_current_span("GET /", kind=SpanKind.CLIENT, attributes={"http.method": "GET"}):
            llm_span(tracer, "chat")
    assert processor.force_flush(10_000)
    provider.shutdown()
    events = assert_tree_valid(devserver)
    assert sorted(events) == ["chat", "workflow"]
    assert events["chat"]["parent_id"] == events["workflow"]["event_id"]
    assert seen == {threading.get_ident()}
    assert exporter.stats.snapshot()["spans_filtered"] == 1


# ----- memory stays bounded by the queue -------------------------------------------------------
def test_queue_full_drops_are_counted_and_no_longer_tracked(devserver, small_queue, held):
    pipe, span_filter = held
    tracer = pipe.tracer("app")
    first = [tracer.start_span(f"first {i}") for i in range(BATCH)]
    for span in first:
        span.end()
    assert span_filter.entered.wait(10)  # the export thread holds "first": the queue is empty
    later = [tracer.start_span(f"later {i}") for i in range(300)]
    for span in later:
        span.end()
    stats = pipe.processor.stats.snapshot()
    assert stats["dropped"] == {"queue_full": 300 - QUEUE}
    assert pipe.processor.gate.tracked() == QUEUE  # exactly the spans still queued
    span_filter.release.set()
    pipe.flush()
    assert pipe.processor.gate.tracked() == 0
    stored = {event["event_id"] for event in devserver.store.events()}
    assert stored == set(ended_ids(first) + ended_ids(later[-QUEUE:]))  # the newest survive


def test_spans_that_never_end_are_forgotten_beyond_the_bound_and_their_children_stay_valid(devserver, small_queue):
    pipe = build(devserver)
    gate = pipe.processor.gate
    assert gate.max_live == QUEUE + MAX_RUNNING_SPANS
    tracer = pipe.tracer("app")
    server = tracer.start_span("POST /agent", kind=SpanKind.SERVER, attributes={"http.method": "POST"})
    workflow = tracer.start_span("workflow")
    leaked = [tracer.start_span(f"leak {i}") for i in range(2 * gate.max_live + 100)]  # never ended
    assert gate.tracked() <= 2 * gate.max_live  # the application thread stops recording at the cap
    llm_span(tracer, "first chat")
    pipe.flush()
    assert gate.tracked() <= gate.max_live  # the export thread forgot the oldest, judging them first
    llm_span(tracer, "chat under server", context=trace.set_span_in_context(server))
    llm_span(tracer, "chat under workflow", context=trace.set_span_in_context(workflow))
    server.end()
    workflow.end()
    pipe.flush()
    pipe.close()
    events = assert_tree_valid(devserver)
    assert sorted(events) == ["chat under server", "chat under workflow", "first chat", "workflow"]
    assert events["chat under server"]["parent_id"] == events["chat under server"]["session_id"]
    assert events["chat under workflow"]["parent_id"] == events["workflow"]["event_id"]
    assert len(leaked) > gate.max_live


class RecordOnly(Sampler):
    """Records every span without sampling it: the processor sees it end, the SDK never exports it."""

    def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: Any = None,
                      attributes: Any = None, links: Any = None, trace_state: Any = None) -> SamplingResult:
        return SamplingResult(Decision.RECORD_ONLY)

    def get_description(self) -> str:
        return "RecordOnly"


@pytest.mark.parametrize("options", [{"sample_ratio": 0.0}, {"sampler": RecordOnly()}], ids=["ratio", "sampler"])
def test_sampled_out_spans_are_not_kept_by_reference(devserver, options):
    pipe = build(devserver, **options)
    tracer = pipe.tracer("app")
    for index in range(20):
        with tracer.start_as_current_span(f"workflow {index}"):
            llm_span(tracer, f"chat {index}")
    pipe.flush()
    assert pipe.processor.gate.tracked() == 0
    expected = 40 if "sample_ratio" in options else 0
    assert pipe.processor.stats.snapshot()["spans_sampled_out"] == expected
    pipe.close()
    assert devserver.store.events() == []


def test_concurrent_threads_with_the_export_thread_running_alongside_keep_every_tree_valid(devserver, monkeypatch):
    """Small batches and a short delay: the export thread judges parents while other threads still run them."""
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "1")
    pipe = build(devserver)
    tracer = pipe.tracer("app")

    def work(worker: int) -> None:
        for index in range(40):
            with tracer.start_as_current_span(f"workflow {worker}.{index}"):
                with tracer.start_as_current_span("GET /tool", kind=SpanKind.CLIENT, attributes={"http.method": "GET"}):
                    llm_span(tracer, f"chat {worker}.{index}")

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pipe.flush()
    pipe.close()
    events = assert_tree_valid(devserver)
    assert len(events) == 4 * 40 * 2 and not any(name.startswith("GET") for name in events)
    for name, event in events.items():
        if name.startswith("chat"):
            assert event["parent_id"] == events["workflow" + name[4:]]["event_id"]
    assert pipe.processor.stats.snapshot()["spans_filtered"] == 4 * 40
    assert pipe.processor.gate.tracked() == 0
