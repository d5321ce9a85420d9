"""`export()` maps, merges and encodes a batch a chunk of spans at a time (`_CHUNK_SPANS`).

Where the chunk boundaries fall must not change what HoneyHive receives: spans of one call split
over two chunks still merge, usage is still counted once, and a session is still created with
the earliest start of its events in the whole batch. The oracle: the same spans exported one
trace per `export()` call (no trace crosses a boundary then).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from honeyhive_otel import HoneyHiveSpanExporter
from honeyhive_otel.devserver import DevServer
from honeyhive_otel.exporter import _CHUNK_SPANS
from tests.support import openapi_check
from tests.support.spans import dict_to_span, load_fixture

FIXTURES = Path(__file__).parent / "fixtures" / "spans"
SESSION_ID = "7d6c2f0a-3b1e-4c5d-9e8f-0a1b2c3d4e5f"


def _filler(count: int) -> list[ReadableSpan]:
    """`count` one-span traces of a GenAI chat, ended now (later than every captured span)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.export_chunks")
    for i in range(count):
        with tracer.start_as_current_span(f"chat {i}") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            span.set_attribute("gen_ai.input.messages", json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": f"question {i}"}]}]))
    return memory.get_finished_spans()


def _traces(copies: int = 3) -> list[list[ReadableSpan]]:
    """The spans real instrumentors produced (the captured fixtures), `copies` times under new trace
    ids, one list per trace."""
    traces: dict[str, list[ReadableSpan]] = {}
    for copy in range(copies):
        for path in sorted(FIXTURES.glob("*.json")):
            for data in load_fixture(path)["spans"]:
                trace_id = f"{copy:04x}{data['context']['trace_id'][4:]}"
                data = {**data, **{key: {**data[key], "trace_id": trace_id} for key in ("context", "parent")
                                   if data.get(key)}}
                traces.setdefault(trace_id, []).append(dict_to_span(data))
    return list(traces.values())


def _crosses_a_boundary(batch: list[ReadableSpan]) -> bool:
    """Whether some span's parent is in the batch but in another chunk."""
    chunk_of = {span.context.span_id: index // _CHUNK_SPANS for index, span in enumerate(batch)}
    return any(span.parent is not None and span.parent.span_id in chunk_of
               and chunk_of[span.parent.span_id] != index // _CHUNK_SPANS for index, span in enumerate(batch))


def _exporter(server: DevServer) -> HoneyHiveSpanExporter:
    return HoneyHiveSpanExporter(server_url=server.url, session_id=SESSION_ID, merge_window=30)


@pytest.mark.parametrize("offset", [0, 5, _CHUNK_SPANS - 1])
def test_chunk_boundaries_do_not_change_what_is_sent(devserver, offset: int) -> None:
    traces = [[span] for span in _filler(offset)] + _traces()
    batch = [span for trace in traces for span in trace]
    assert len(batch) > 3 * _CHUNK_SPANS and _crosses_a_boundary(batch)

    whole = _exporter(devserver)
    assert whole.export(batch).name == "SUCCESS"
    whole.shutdown()

    with DevServer() as reference:
        one_trace_at_a_time = _exporter(reference)
        for trace in traces:
            one_trace_at_a_time.export(trace)
        one_trace_at_a_time.shutdown()
        openapi_check.check_recorded_requests(reference.requests)
        expected = sorted(reference.store.events(), key=lambda event: event["event_id"])

    received = sorted(devserver.store.events(), key=lambda event: event["event_id"])
    assert [event["event_id"] for event in received] == [event["event_id"] for event in expected]
    assert received == expected
    assert any(event["metadata"]["otel"].get("merged") for event in received)  # pairs did merge
    assert whole.stats.snapshot()["dropped_total"] == 0
    # The batch's session is created once, with the earliest start of all its events (the captured
    # spans, in the chunks after the filler).
    [session] = devserver.store.sessions()
    assert session["start_time"] == min(event["start_time"] for event in received)
