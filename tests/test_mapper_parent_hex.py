"""The parent span id in `metadata.otel` is formatted with the event's own ids: from its bytes when
every id is in range, else by `format` (out-of-range or negative ids, from relayed spans), and
the parent event id is the event id of the parent span either way.
"""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, TraceFlags

from honeyhive_otel.ids import event_id_for
from honeyhive_otel.mapping.mapper import SpanMapper


def make_span(trace_id: int, span_id: int, parent_span_id: int | None) -> ReadableSpan:
    context = SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1))
    parent = SpanContext(trace_id, parent_span_id, is_remote=True) if parent_span_id is not None else None
    return ReadableSpan(name="child", context=context, parent=parent, attributes={"app.route": "/x"},
                        start_time=1_700_000_000_000_000_000, end_time=1_700_000_000_100_000_000)


def test_the_parent_span_id_of_every_range() -> None:
    for trace_id, span_id, parent_span_id in ((5, 6, 7), (5, 6, 2**64 - 1), (5, 6, 2**64 + 3), (5, 6, -4),
                                              (2**128 + 1, 6, 7), (5, 2**64, 7)):
        event = SpanMapper().map(make_span(trace_id, span_id, parent_span_id))
        otel = event.metadata["otel"]
        assert otel["parent_span_id"] == f"{parent_span_id:016x}"
        assert (otel["trace_id"], otel["span_id"]) == (f"{trace_id:032x}", f"{span_id:016x}")
        assert event.parent_id == event_id_for(trace_id, parent_span_id)
        assert event.parent_is_remote is True


def test_a_root_span_and_a_zero_parent_have_no_parent_span_id() -> None:
    for parent_span_id in (None, 0):
        event = SpanMapper().map(make_span(5, 6, parent_span_id))
        assert "parent_span_id" not in event.metadata["otel"]
        assert event.parent_id == event.session_id and event.parent_span_id is None
