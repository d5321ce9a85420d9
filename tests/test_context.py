"""The context API: sessions, enrichment, precedence, async safety, session modes, baggage across processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry import propagate

import honeyhive_otel
from honeyhive_otel.devserver import DevServer
from honeyhive_otel.ids import normalize_session_id
from tests.support.pipeline import Pipeline, make_pipeline
from tests.support.servers import devservers

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "tests" / "scenarios"


@pytest.fixture
def pipeline(devserver) -> Pipeline:
    pipe = make_pipeline(devserver.url, session_name="process default")
    yield pipe
    pipe.close()


def llm_call(pipe: Pipeline, name: str = "chat", **attributes: Any) -> None:
    with pipe.tracer("app").start_as_current_span(name) as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        for key, value in attributes.items():
            span.set_attribute(key, value)


def by_name(devserver, name: str) -> dict[str, Any]:
    matches = [e for e in devserver.store.events() if e["event_name"] == name]
    assert len(matches) == 1, [e["event_name"] for e in devserver.store.events()]
    return matches[0]


def uuid_of(raw: str) -> str:
    return normalize_session_id(raw)[0]


# ----- session() and context() ------------------------------------------------------------
def test_session_stamps_every_span_and_creates_the_session_with_its_values(devserver, pipeline):
    with honeyhive_otel.session(name="support chat", session_id="conv-42", user_id="bob",
                                metadata={"plan": "pro"}, user_properties={"tier": "gold"}, tags=["beta"]) as scope:
        with pipeline.tracer("app").start_as_current_span("answer question"):
            llm_call(pipeline, "chat one")
            llm_call(pipeline, "chat two")
    pipeline.flush()

    assert scope.session_id == uuid_of("conv-42")
    events = devserver.store.events()
    assert len(events) == 3 and {e["session_id"] for e in events} == {scope.session_id}
    for event in events:
        assert event["user_properties"] == {"user_id": "bob", "tier": "gold"}
        assert event["metadata"]["plan"] == "pro" and event["metadata"]["tags"] == ["beta"]
        assert not any(k.startswith("honeyhive.") for k in event["metadata"].get("attributes", {})), event
    session = devserver.store.session(scope.session_id)
    assert session["session_name"] == "support chat"
    assert session["metadata"] == {"plan": "pro", "tags": ["beta"], "raw_session_id": "conv-42"}
    assert session["user_properties"] == {"user_id": "bob", "tier": "gold"}


def test_nested_scopes_merge_inner_over_outer_and_context_enriches_without_a_new_session(devserver, pipeline):
    with honeyhive_otel.session(name="outer", user_id="bob", metadata={"plan": "pro", "region": "eu"},
                                tags=["a"]) as outer:
        with honeyhive_otel.context(metadata={"region": "us", "request_id": "r-1"}, user_properties={"x": 1},
                                    tags=["b"]):
            assert honeyhive_otel.current_session_id() == outer.session_id
            llm_call(pipeline, "enriched")
        llm_call(pipeline, "plain")
    pipeline.flush()

    enriched, plain = by_name(devserver, "enriched"), by_name(devserver, "plain")
    assert enriched["session_id"] == plain["session_id"] == outer.session_id
    assert enriched["metadata"]["region"] == "us" and enriched["metadata"]["request_id"] == "r-1"
    assert enriched["metadata"]["plan"] == "pro" and enriched["metadata"]["tags"] == ["a", "b"]
    assert enriched["user_properties"] == {"user_id": "bob", "x": 1}
    assert plain["metadata"]["region"] == "eu" and "request_id" not in plain["metadata"]
    assert plain["metadata"]["tags"] == ["a"]
    # The session keeps the values of where session() opened, not a nested request's.
    session = devserver.store.session(outer.session_id)
    assert session["metadata"]["region"] == "eu" and "request_id" not in session["metadata"]


def test_a_nested_session_is_a_new_session_whose_spans_hang_from_it(devserver, pipeline):
    tracer = pipeline.tracer("app")
    with honeyhive_otel.session(name="conversation", user_id="bob") as outer:
        with tracer.start_as_current_span("conversation turn"):
            with honeyhive_otel.session(name="sub-agent", metadata={"agent": "research"}) as inner:
                llm_call(pipeline, "research call")
    pipeline.flush()

    assert inner.session_id != outer.session_id
    research, turn = by_name(devserver, "research call"), by_name(devserver, "conversation turn")
    assert turn["session_id"] == outer.session_id
    assert research["session_id"] == inner.session_id
    # Its parent lives in another session: it hangs from its own session instead (no orphan).
    assert research["parent_id"] == inner.session_id
    assert research["user_properties"]["user_id"] == "bob"  # inherited from the outer scope
    assert devserver.store.session(inner.session_id)["session_name"] == "sub-agent"


def test_per_call_values_beat_the_context_which_beats_configure_defaults(devserver):
    pipe = make_pipeline(devserver.url, user_properties={"user_id": "default-user", "team": "core"},
                         session_metadata={"deployment": "blue"})
    try:
        with honeyhive_otel.session(name="ctx", user_id="ctx-user", metadata={"feature": "ctx"}) as scope:
            llm_call(pipe, "from context")
            llm_call(pipe, "per call", **{"honeyhive_metadata.feature": "call", "honeyhive.user_id": "call-user"})
            llm_call(pipe, "own session", **{"session.id": "explicit-session"})
        llm_call(pipe, "outside")
        pipe.flush()
    finally:
        pipe.close()

    from_context, per_call = by_name(devserver, "from context"), by_name(devserver, "per call")
    assert from_context["user_properties"] == {"user_id": "ctx-user", "team": "core"}
    assert from_context["metadata"]["feature"] == "ctx"
    assert per_call["user_properties"]["user_id"] == "call-user" and per_call["metadata"]["feature"] == "call"
    assert per_call["session_id"] == scope.session_id
    assert by_name(devserver, "own session")["session_id"] == uuid_of("explicit-session")
    outside = by_name(devserver, "outside")
    assert outside["session_id"] == pipe.exporter.sessions.default_session_id
    assert outside["user_properties"] == {"user_id": "default-user", "team": "core"}
    assert devserver.store.session(outside["session_id"])["metadata"]["deployment"] == "blue"


def test_session_span_true_adds_a_chain_event_the_calls_nest_under(devserver, pipeline):
    with honeyhive_otel.session(name="checkout", span=True, tracer_provider=pipeline.provider) as scope:
        llm_call(pipeline, "inside")
    pipeline.flush()

    root, inside = by_name(devserver, "checkout"), by_name(devserver, "inside")
    assert root["event_type"] == "chain" and root["parent_id"] == scope.session_id
    assert root["metadata"]["otel"]["scope"]["name"] == "honeyhive_otel"
    assert inside["parent_id"] == root["event_id"] and inside["session_id"] == scope.session_id


def test_a_failing_block_records_the_error_on_the_session_span(devserver, pipeline):
    with pytest.raises(RuntimeError):
        with honeyhive_otel.session(name="failing", span=True, tracer_provider=pipeline.provider):
            raise RuntimeError("boom")
    pipeline.flush()
    assert by_name(devserver, "failing")["error"] == "RuntimeError: boom"


# ----- decorators and async safety ------------------------------------------------------------
def test_decorated_function_gets_a_new_session_per_call_unless_an_id_is_given(devserver, pipeline):
    @honeyhive_otel.session(name="job")
    def job(index: int) -> str | None:
        llm_call(pipeline, f"job {index}")
        return honeyhive_otel.current_session_id()

    @honeyhive_otel.session(name="fixed", session_id="the-one")
    def fixed(index: int) -> None:
        llm_call(pipeline, f"fixed {index}")

    ids = [job(0), job(1)]
    fixed(0)
    fixed(1)
    assert honeyhive_otel.current_session_id() is None
    pipeline.flush()

    assert ids[0] != ids[1] and all(ids)
    assert [by_name(devserver, f"job {i}")["session_id"] for i in (0, 1)] == ids
    assert {by_name(devserver, f"fixed {i}")["session_id"] for i in (0, 1)} == {uuid_of("the-one")}


def test_concurrent_async_sessions_do_not_mix(devserver, pipeline):
    @honeyhive_otel.session(name="async chat")
    async def converse(user: str) -> str | None:
        with honeyhive_otel.context(user_id=user):
            for turn in range(3):
                await asyncio.sleep(0.01)  # interleave the two conversations
                llm_call(pipeline, f"{user} turn {turn}")
        return honeyhive_otel.current_session_id()

    async def main() -> list[str | None]:
        return list(await asyncio.gather(converse("ann"), converse("bob")))

    ann_session, bob_session = asyncio.run(main())
    pipeline.flush()

    for user, session_id in (("ann", ann_session), ("bob", bob_session)):
        for turn in range(3):
            event = by_name(devserver, f"{user} turn {turn}")
            assert event["session_id"] == session_id and event["user_properties"]["user_id"] == user


def test_decorated_generators_hold_the_scope_only_while_they_run(devserver, pipeline):
    @honeyhive_otel.session(name="stream", session_id="gen-session")
    def stream():
        for index in range(2):
            llm_call(pipeline, f"chunk {index}")
            yield index

    @honeyhive_otel.session(name="astream", session_id="agen-session")
    async def astream():
        for index in range(2):
            llm_call(pipeline, f"achunk {index}")
            yield index

    for _ in stream():
        assert honeyhive_otel.current_session_id() is None  # not leaked to the consumer
        llm_call(pipeline, "consumer")

    async def consume() -> list[int]:
        return [item async for item in astream()]

    assert asyncio.run(consume()) == [0, 1]
    pipeline.flush()
    assert {by_name(devserver, f"chunk {i}")["session_id"] for i in (0, 1)} == {uuid_of("gen-session")}
    assert {by_name(devserver, f"achunk {i}")["session_id"] for i in (0, 1)} == {uuid_of("agen-session")}
    consumers = [e for e in devserver.store.events() if e["event_name"] == "consumer"]
    assert {e["session_id"] for e in consumers} == {pipeline.exporter.sessions.default_session_id}


def test_bad_arguments_fail_at_the_call_site():
    with pytest.raises(TypeError, match="metadata"):
        honeyhive_otel.session(metadata="not a dict")  # type: ignore[arg-type]


# ----- session modes --------------------------------------------------------------------------
def test_process_mode_puts_every_unscoped_trace_in_one_session(devserver, pipeline):
    llm_call(pipeline, "first trace")
    llm_call(pipeline, "second trace")
    pipeline.flush()
    sessions = {by_name(devserver, n)["session_id"] for n in ("first trace", "second trace")}
    assert sessions == {pipeline.exporter.sessions.default_session_id}
    assert devserver.store.session(sessions.pop())["session_name"] == "process default"


def test_trace_mode_gives_each_root_trace_its_own_session_and_explicit_ids_still_win(devserver):
    pipe = make_pipeline(devserver.url, session_mode="trace", session_name="per trace")
    try:
        for index in range(2):
            with pipe.tracer("app").start_as_current_span(f"workflow {index}"):
                llm_call(pipe, f"call {index}")
        with honeyhive_otel.session(name="explicit", session_id="pinned"):
            llm_call(pipe, "pinned call")
        pipe.flush()
    finally:
        pipe.close()

    first = {by_name(devserver, n)["session_id"] for n in ("workflow 0", "call 0")}
    second = {by_name(devserver, n)["session_id"] for n in ("workflow 1", "call 1")}
    assert len(first) == len(second) == 1 and first != second
    assert by_name(devserver, "pinned call")["session_id"] == uuid_of("pinned")
    assert devserver.store.session(first.pop())["session_name"] == "per trace"


# ----- LiteLLM: spans started late, on other threads, with attributes set after start --------------
@pytest.fixture(scope="module")
def litellm_runs() -> Iterator[dict[str, tuple[DevServer, dict[str, Any]]]]:
    """Both LiteLLM scenarios, run concurrently (each imports LiteLLM: seconds), each into its devserver."""
    with devservers(("otel", "openinference")) as servers:
        running = {mode: subprocess.Popen([sys.executable, str(SCENARIOS / "context_litellm.py"), server.url, mode],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
                   for mode, server in servers.items()}
        results = {}
        for mode, process in running.items():
            stdout, stderr = process.communicate(timeout=180)
            assert process.returncode == 0, stderr[-4000:]
            results[mode] = (servers[mode], json.loads(stdout.strip().splitlines()[-1]))
        yield results


@pytest.mark.parametrize("mode", ["otel", "openinference"])
def test_litellm_spans_inherit_the_session_sync_and_async(litellm_runs, mode):
    server, ids = litellm_runs[mode]
    models = [e for e in server.store.events() if e["event_type"] == "model"]
    assert len(models) == 3, [(e["event_name"], e["event_type"]) for e in server.store.events()]

    sync = [e for e in models if e["session_id"] == ids["sync"]]
    assert len(sync) == 1
    assert sync[0]["user_properties"] == {"user_id": "bob", "tier": "gold"}
    assert sync[0]["metadata"]["plan"] == "pro" and sync[0]["metadata"]["tags"] == ["beta"]
    session = server.store.session(ids["sync"])
    assert session["session_name"] == "sync conversation" and session["user_properties"]["user_id"] == "bob"

    first, second = ids["async"]
    assert first != second
    for session_id, turn in ((first, "a"), (second, "b")):
        [event] = [e for e in models if e["session_id"] == session_id]
        assert event["user_properties"] == {"user_id": "ann"}
        assert event["metadata"]["turn"] == turn and event["metadata"]["channel"] == "async"
    for event in server.store.events():
        leftovers = event["metadata"].get("attributes", {})
        assert not any(key.startswith("honeyhive.context") for key in leftovers), leftovers


# ----- W3C baggage across two processes ------------------------------------------------------
def test_propagated_session_joins_a_second_service_over_http(devserver, pipeline):
    service = subprocess.Popen([sys.executable, str(SCENARIOS / "context_service_b.py"), devserver.url],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = service.stdout.readline()
        assert line.startswith("listening "), service.stderr.read()
        url = line.split()[1]
        with honeyhive_otel.session(name="cross-service", session_id="trip-7", propagate=True) as scope:
            llm_call(pipeline, "service a call")
            headers: dict[str, str] = {}
            propagate.inject(headers)
            reply = requests.post(url, json={"question": "hi"}, headers=headers, timeout=30)
        plain = requests.post(url, json={"question": "no session"}, timeout=30)
        assert reply.status_code == plain.status_code == 200
    finally:
        service.terminate()
        service.wait(timeout=10)
    pipeline.flush()

    assert "baggage" in headers and "honeyhive.session_id=trip-7" in headers["baggage"]
    a_event, b_event = by_name(devserver, "service a call"), by_name(devserver, "service b answer")
    assert a_event["session_id"] == b_event["session_id"] == scope.session_id
    assert b_event["metadata"]["otel"]["service_name"] == "service-b"
    assert b_event["parent_id"] == scope.session_id  # B's filtered server span: hung from the session
    session = devserver.store.session(scope.session_id)
    assert session["session_name"] == "cross-service"
    other = by_name(devserver, "service b no session")
    assert other["session_id"] != scope.session_id
    uuid.UUID(other["session_id"])
