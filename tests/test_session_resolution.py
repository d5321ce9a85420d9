"""Session resolution and the event frame through a real pipeline (SPEC §4).

The resolver reads context values and session names only for a span that has one: these
cases pin what each kind of span creates its session with, so that shortcut cannot change it.
"""

from __future__ import annotations

import math
from typing import Any

from opentelemetry import trace

from tests.support.pipeline import make_pipeline


def _event(devserver: Any, name: str) -> dict[str, Any]:
    return next(event for event in devserver.store.events() if event["event_name"] == name)


def _run(devserver: Any, spans: list[tuple[str, dict[str, Any]]], **options: Any) -> None:
    """One trace: the first span is the root, the others its children (ended first)."""
    pipeline = make_pipeline(devserver.url, session_name="process default",
                             session_metadata={"project": "frame"}, **options)
    tracer = pipeline.tracer()
    (root_name, root_attributes), children = spans[0], spans[1:]
    with tracer.start_as_current_span(root_name, attributes=root_attributes):
        for name, attributes in children:
            with tracer.start_as_current_span(name, attributes=attributes):
                pass
    pipeline.flush()
    pipeline.close()


def test_a_conversation_id_names_the_session_and_its_trace_follows(devserver: Any) -> None:
    _run(devserver, [("root", {}), ("child", {"gen_ai.conversation.id": "conv-7", "session.id": "  "})])
    root, child = _event(devserver, "root"), _event(devserver, "child")
    assert root["session_id"] == child["session_id"]  # the root (ended later) names none: it joins its trace's
    session = devserver.store.session(child["session_id"])
    assert session["session_name"] == "process default"
    assert session["metadata"] == {"project": "frame", "raw_session_id": "conv-7"}
    # Every session attribute is mapped, the blank one too: none is repeated in metadata.attributes.
    assert not {"gen_ai.conversation.id", "session.id"} & set(child["metadata"].get("attributes", {}))


def test_the_first_session_attribute_in_priority_order_wins(devserver: Any) -> None:
    _run(devserver, [("root", {"session.id": "low", "honeyhive.session_id": "high",
                               "honeyhive.session_name": "named on the span"})])
    root = _event(devserver, "root")
    session = devserver.store.session(root["session_id"])
    assert session["metadata"]["raw_session_id"] == "high"
    assert session["session_name"] == "named on the span"
    assert not {"session.id", "honeyhive.session_id", "honeyhive.session_name"} & set(
        root["metadata"].get("attributes", {}))


def test_a_span_without_session_attributes_uses_the_process_session(devserver: Any) -> None:
    _run(devserver, [("plain", {"app.route": "/chat"})], session_id="not-a-uuid")
    event = _event(devserver, "plain")
    session = devserver.store.session(event["session_id"])
    assert session["session_name"] == "process default"
    assert session["metadata"] == {"project": "frame", "raw_session_id": "not-a-uuid"}
    assert event["parent_id"] == event["session_id"]  # a root span hangs off its session
    assert event["metadata"]["attributes"] == {"app.route": "/chat"}


def test_the_frame_of_an_event(devserver: Any) -> None:
    """Ids, source, scope and the span's unmapped attributes (non-finite floats as strings)."""
    pipeline = make_pipeline(devserver.url, resource={"service.name": "frame-svc",
                                                      "deployment.environment.name": "staging"})
    tracer = pipeline.tracer("frame.scope")
    with tracer.start_as_current_span("outer", kind=trace.SpanKind.SERVER) as outer:
        with tracer.start_as_current_span("inner", attributes={
                "x.scores": (0.5, math.inf), "x.nan": math.nan, "x.flags": ("a", "b")}) as inner:
            pass
    pipeline.flush()
    pipeline.close()
    outer_event, inner_event = _event(devserver, "outer"), _event(devserver, "inner")
    assert inner_event["parent_id"] == outer_event["event_id"]
    assert {outer_event["source"], inner_event["source"]} == {"staging"}
    otel = inner_event["metadata"]["otel"]
    assert otel["scope"] == {"name": "frame.scope", "version": ""}
    assert otel["service_name"] == "frame-svc" and otel["kind"] == "INTERNAL"
    assert otel["trace_id"] == f"{inner.get_span_context().trace_id:032x}"
    assert otel["span_id"] == f"{inner.get_span_context().span_id:016x}"
    assert otel["parent_span_id"] == f"{outer.get_span_context().span_id:016x}"
    assert outer_event["metadata"]["otel"]["kind"] == "SERVER"
    assert inner_event["metadata"]["attributes"] == {
        "x.scores": [0.5, "Infinity"], "x.nan": "NaN", "x.flags": ["a", "b"]}
