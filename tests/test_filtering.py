"""Noise filtering with orphan repair: infrastructure spans dropped, kept spans never left without a parent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from honeyhive_otel import HoneyHiveSpanExporter, HoneyHiveSpanProcessor
from honeyhive_otel.filtering import ai_only
from honeyhive_otel.ids import event_id_for
from tests.support.pipeline import Pipeline, make_pipeline

REPO = Path(__file__).resolve().parents[1]


def assert_tree_valid(devserver) -> list[dict[str, Any]]:
    """Every event's parent is its session or an event the server has: nothing is orphaned."""
    events = devserver.store.events()
    ids = {event["event_id"] for event in events}
    for event in events:
        assert event["parent_id"] == event["session_id"] or event["parent_id"] in ids, event["event_name"]
    return events


def by_name(events: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [event] = [e for e in events if e["event_name"] == name]
    return event


def llm_span(tracer: Any, name: str = "chat") -> None:
    with tracer.start_as_current_span(name, kind=SpanKind.CLIENT) as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")


def pipeline_with(devserver, **processor_options: Any) -> Pipeline:
    """A pipeline whose processor has filter options (make_pipeline passes exporter options only)."""
    exporter = HoneyHiveSpanExporter(server_url=devserver.url, merge_window=0.2)
    processor = HoneyHiveSpanProcessor(exporter, **processor_options)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    return Pipeline(provider, processor, exporter)


@pytest.fixture
def pipeline(devserver) -> Pipeline:
    pipe = make_pipeline(devserver.url)
    yield pipe
    pipe.close()


# ----- real HTTP instrumentation ----------------------------------------------------------
def test_web_server_and_http_client_spans_are_filtered_and_llm_spans_keep_a_valid_parent(devserver):
    done = subprocess.run([sys.executable, str(REPO / "tests" / "scenarios" / "context_http_filtering.py"),
                           devserver.url], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-4000:]
    stats = json.loads(done.stdout.strip().splitlines()[-1])

    events = assert_tree_valid(devserver)
    assert sorted(e["event_name"] for e in events) == [
        "answer question", "chat in workflow", "chat under server span", "lookup"]
    session_id = events[0]["session_id"]
    workflow = by_name(events, "answer question")
    assert workflow["parent_id"] == session_id  # its parent, the FastAPI server span, was filtered
    assert by_name(events, "chat in workflow")["parent_id"] == workflow["event_id"]
    assert by_name(events, "lookup")["parent_id"] == workflow["event_id"]
    assert by_name(events, "chat under server span")["parent_id"] == session_id
    assert stats["spans_filtered"] >= 3  # two server spans (+ their ASGI internals) and the client span
    assert stats["dropped_total"] == 0  # filtering is a choice, not a loss


def test_a_parent_judged_while_running_is_exported_even_if_it_later_looks_like_noise(devserver, pipeline):
    tracer = pipeline.tracer("app")
    with tracer.start_as_current_span("handler") as handler:
        llm_span(tracer)
        pipeline.flush()  # the child is exported now: "handler", still running, is judged the app's own span
        handler.set_attribute("http.route", "/later")  # would be noise if judged at its end
    pipeline.flush()
    events = assert_tree_valid(devserver)
    assert by_name(events, "chat")["parent_id"] == by_name(events, "handler")["event_id"]


def test_a_parent_that_ended_before_its_child_was_exported_is_judged_on_its_final_attributes(devserver, pipeline):
    """The filter runs on the export thread: by then the parent has usually ended, and its end decides."""
    tracer = pipeline.tracer("app")
    with tracer.start_as_current_span("handler") as handler:
        llm_span(tracer)
        handler.set_attribute("http.route", "/later")  # set before the batch is exported: noise
    pipeline.flush()
    [chat] = assert_tree_valid(devserver)
    assert chat["event_name"] == "chat" and chat["parent_id"] == chat["session_id"]


def test_a_chain_of_filtered_ancestors_is_skipped_to_the_nearest_kept_one(devserver, pipeline):
    tracer = pipeline.tracer("app")
    with tracer.start_as_current_span("nightly job"):
        with tracer.start_as_current_span("GET /batch", kind=SpanKind.SERVER, attributes={"http.method": "GET"}):
            with tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT, attributes={"db.system": "sqlite"}):
                llm_span(tracer, "deep chat")
    pipeline.flush()
    events = assert_tree_valid(devserver)
    assert sorted(e["event_name"] for e in events) == ["deep chat", "nightly job"]
    assert by_name(events, "deep chat")["parent_id"] == by_name(events, "nightly job")["event_id"]


# ----- overrides ----------------------------------------------------------------------------
def test_span_filter_overrides_the_rule_and_blocked_scopes_drop_whole_libraries(devserver):
    def span_filter(span: Any) -> bool | None:
        if span.name == "keep this http span":
            return True
        if span.name.startswith("noisy"):
            return False
        if span.name == "broken filter":
            raise ValueError("a bug in the user's filter")
        return None

    pipe = pipeline_with(devserver, span_filter=span_filter, blocked_scopes=["chatty.lib", "vendor.*"])
    try:
        tracer = pipe.tracer("app")
        with tracer.start_as_current_span("keep this http span", attributes={"http.method": "GET"}):
            with tracer.start_as_current_span("noisy step"):
                llm_span(tracer, "kept chat")
            with pipe.tracer("chatty.lib").start_as_current_span("blocked step"):
                llm_span(tracer, "chat under blocked")
            with pipe.tracer("vendor.sdk.sub").start_as_current_span("blocked by prefix"):
                pass
            with tracer.start_as_current_span("broken filter"):
                pass  # the filter raises: the default rule keeps the app's own span
        pipe.flush()
    finally:
        pipe.close()
    events = assert_tree_valid(devserver)
    names = sorted(e["event_name"] for e in events)
    assert names == ["broken filter", "chat under blocked", "keep this http span", "kept chat"]
    root = by_name(events, "keep this http span")
    assert by_name(events, "kept chat")["parent_id"] == root["event_id"]
    assert by_name(events, "chat under blocked")["parent_id"] == root["event_id"]


@pytest.mark.parametrize("rule, expected", [
    ("ai", ["chat"]),
    ("all", ["GET /", "chat", "workflow"]),
    ("default", ["chat", "workflow"]),
])
def test_named_rules_also_from_the_environment(devserver, monkeypatch, rule, expected):
    monkeypatch.setenv("HONEYHIVE_SPAN_FILTER", rule)
    pipe = make_pipeline(devserver.url)
    try:
        tracer = pipe.tracer("app")
        with tracer.start_as_current_span("GET /", kind=SpanKind.SERVER, attributes={"http.method": "GET"}):
            with tracer.start_as_current_span("workflow"):
                llm_span(tracer)
        pipe.flush()
    finally:
        pipe.close()
    events = assert_tree_valid(devserver)
    assert sorted(e["event_name"] for e in events) == expected


def test_ai_only_rule_attaches_ai_spans_to_the_session(devserver):
    pipe = pipeline_with(devserver, span_filter=ai_only)
    tracer = pipe.tracer("app")
    with tracer.start_as_current_span("my workflow"):
        llm_span(tracer)
    pipe.close()
    [event] = assert_tree_valid(devserver)
    assert event["event_name"] == "chat" and event["parent_id"] == event["session_id"]


# ----- remote parents -------------------------------------------------------------------------
def test_a_remote_parent_is_trusted_only_when_it_is_the_direct_parent(devserver, pipeline):
    tracer = pipeline.tracer("app")
    trace_id, caller_span = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331
    headers = {"traceparent": f"00-{trace_id:032x}-{caller_span:016x}-01"}
    from opentelemetry import context

    token = context.attach(propagate.extract(headers))
    try:
        llm_span(tracer, "direct child of the caller")
        with tracer.start_as_current_span("POST /v1", kind=SpanKind.SERVER, attributes={"http.method": "POST"}):
            llm_span(tracer, "under our filtered server span")
    finally:
        context.detach(token)
    pipeline.flush()
    events = devserver.store.events()
    direct = by_name(events, "direct child of the caller")
    assert direct["parent_id"] == event_id_for(trace_id, caller_span)
    under = by_name(events, "under our filtered server span")
    assert under["parent_id"] == under["session_id"]


# ----- property: any tree, any end order ------------------------------------------------------
KINDS = st.sampled_from(["ai", "app", "http", "db"])


@st.composite
def span_trees(draw: Any) -> tuple[list[int | None], list[str], list[int]]:
    """A random tree (parent index per span), a kind per span, and a random end order."""
    size = draw(st.integers(min_value=1, max_value=12))
    parents: list[int | None] = [None]
    for index in range(1, size):
        parents.append(draw(st.one_of(st.none(), st.integers(min_value=0, max_value=index - 1))))
    kinds = [draw(KINDS) for _ in range(size)]
    order = draw(st.permutations(list(range(size))))
    return parents, kinds, order


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=span_trees(), flush_points=st.sets(st.integers(min_value=0, max_value=11), max_size=4))
def test_no_event_is_ever_orphaned_whatever_the_tree_and_end_order(devserver, tree, flush_points):
    """`flush_points`: the export thread handles what has ended so far, while the rest still runs."""
    parents, kinds, order = tree
    devserver.store.clear()
    pipe = make_pipeline(devserver.url, merge_window=0)
    try:
        tracer = pipe.tracer("app")
        spans: list[Any] = []
        from opentelemetry import trace

        for index, (parent, kind) in enumerate(zip(parents, kinds, strict=True)):
            context = trace.set_span_in_context(spans[parent]) if parent is not None else None
            # AI spans are agent spans: model-in-model merging (coalesce.py) is not what is tested here.
            attributes = {"ai": {"gen_ai.operation.name": "invoke_agent"}, "app": {}, "http": {"http.method": "GET"},
                          "db": {"db.system": "sqlite"}}[kind]
            spans.append(tracer.start_span(f"{kind} {index}", context=context, attributes=attributes))
        for step, index in enumerate(order):
            spans[index].end()
            if step in flush_points:
                pipe.processor.inner.force_flush()
        pipe.flush()
    finally:
        pipe.close()
    events = assert_tree_valid(devserver)
    exported = {e["event_name"] for e in events}
    assert {f"ai {i}" for i, k in enumerate(kinds) if k == "ai"} <= exported
    # Noise carries its attributes from the start, so it is never kept for a child's sake.
    assert not any(name.startswith(("http", "db")) for name in exported)
