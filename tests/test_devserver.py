"""The devserver over real HTTP: strict v1 validation, storage, and every fault mode."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from honeyhive_otel.devserver import DevServer, RequestRecord, parse_fault_spec
from honeyhive_otel.devserver.faults import FaultRegistry
from tests.support import openapi_check

REPO_ROOT = Path(__file__).resolve().parents[1]


def new_id() -> str:
    return str(uuid.uuid4())


def make_event(session_id: str, **fields: Any) -> dict[str, Any]:
    """A full v1 event, shaped like what the exporter sends."""
    event = {
        "event_id": new_id(), "session_id": session_id, "parent_id": session_id, "event_type": "model",
        "event_name": "openai.chat", "source": "test", "start_time": 1749067886708.0, "end_time": 1749067887708.5,
        "duration": 1000.5, "error": None, "inputs": {"chat_history": [{"role": "user", "content": "hi"}]},
        "outputs": {"role": "assistant", "content": "hello", "finish_reason": "stop"},
        "config": {"provider": "openai", "model": "gpt-4o-mini", "is_streaming": False},
        "metadata": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}, "metrics": {},
        "feedback": {}, "user_properties": {}, "children_ids": [],
    }
    event.update(fields)
    return event


def post(server: DevServer, path: str, body: Any, **kwargs: Any) -> requests.Response:
    return requests.post(server.url + path, json=body, timeout=kwargs.pop("timeout", 5), **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- write routes --------------------------------------------------------------------------
def test_valid_batch_is_stored_and_served_back_exactly(devserver: DevServer) -> None:
    sid = new_id()
    events = [make_event(sid, start_time=2.0), make_event(sid, event_type="tool", start_time=1.0)]
    resp = post(devserver, "/v1/events/batch", {"events": events})
    assert resp.status_code == 200
    assert resp.json() == {"event_ids": [e["event_id"] for e in events], "session_id": sid, "success": True}
    openapi_check.validator_for("PostEventBatchResponse").validate(resp.json())

    got = requests.get(f"{devserver.url}/v1/events/{events[0]['event_id']}", timeout=5)
    assert got.status_code == 200 and got.json() == {"event": events[0]}
    session = requests.get(f"{devserver.url}/v1/sessions/{sid}", timeout=5).json()
    assert session == {"session": None, "events": [events[1], events[0]]}  # by start_time
    assert devserver.store.events(sid) == [events[1], events[0]]
    assert requests.get(f"{devserver.url}/v1/events/{new_id()}", timeout=5).status_code == 404
    assert requests.get(f"{devserver.url}/health", timeout=5).json() == {"status": "ok", "events": 2, "sessions": 0}
    assert [r.path for r in devserver.requests][0] == "/v1/events/batch"
    assert devserver.requests[0].body == {"events": events}


def test_single_event_route_fills_server_side_ids(devserver: DevServer) -> None:
    sent = {"event_type": "chain", "inputs": {"q": 1}, "session_id": (sid := new_id())}
    resp = post(devserver, "/v1/events", sent)
    assert resp.status_code == 200
    body = resp.json()
    assert body["success"] is True and uuid.UUID(body["event_id"])
    openapi_check.validator_for("PostEventResponse").validate(body)
    assert devserver.store.event(body["event_id"]) == {**sent, "event_id": body["event_id"], "parent_id": sid}


def test_session_batch_route_overrides_session_id(devserver: DevServer) -> None:
    sid = new_id()
    events = [make_event(new_id()), {"event_type": "tool", "inputs": {}}]
    resp = post(devserver, f"/v1/sessions/{sid}/events/batch", {"events": events})
    assert resp.status_code == 200 and resp.json()["session_id"] == sid
    stored = devserver.store.events(sid)
    assert len(stored) == 2 and all(e["session_id"] == sid for e in stored)
    assert stored[1]["parent_id"] == sid
    bad = post(devserver, "/v1/sessions/not-a-uuid/events/batch", {"events": []})
    assert bad.status_code == 400 and bad.json()["field"] == "session_id"


def test_single_session_batch_creates_one_session(devserver: DevServer) -> None:
    body = {"events": [{"event_type": "chain", "inputs": {}}] * 2, "single_session": True,
            "session_properties": {"session_name": "run", "metadata": {"k": "v"}}}
    resp = post(devserver, "/v1/events/batch", body).json()
    session = devserver.store.session(resp["session_id"])
    assert session is not None and session["event_name"] == "run" and session["metadata"] == {"k": "v"}
    assert [e["session_id"] for e in devserver.store.events()] == [resp["session_id"]] * 2


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/events/batch", {"events": [], "is_single_session": True}, "is_single_session"),
        ("/v1/events/batch", {"events": [{"event_type": "chain", "inputs": {}, "project": "p"}]}, "events[0].project"),
        ("/v1/events/batch", {"events": [{"event_type": "span", "inputs": {}}]}, "events[0].event_type"),
        ("/v1/events/batch", {"events": [{"event_type": "chain"}]}, "events[0].inputs"),
        ("/v1/events/batch", {"events": [{"event_type": "chain", "inputs": {}, "start_time": "now"}]},
         "events[0].start_time"),
        ("/v1/events/batch", {"events": [{"event_type": "chain", "inputs": {}, "error": 3}]}, "events[0].error"),
        ("/v1/events/batch", {"events": [], "session_properties": {"start_time": "x"}},
         "session_properties.start_time"),
        ("/v1/events/batch", {"session": {}}, "events"),
        ("/v1/events/batch", [{"event_type": "chain", "inputs": {}}], "$"),
        ("/v1/events", {"inputs": {}}, "event_type"),
        ("/v1/events", {"event_type": "chain", "inputs": []}, "inputs"),
        ("/v1/sessions", {"session_name": "s", "project": "p"}, "project"),
        ("/v1/sessions", {"start_time": "2024-01-01"}, "start_time"),
        (f"/v1/sessions/{uuid.UUID(int=1)}/events/batch", {"events": [], "single_session": True}, "single_session"),
    ],
)
def test_schema_violations_are_400_naming_the_field(devserver: DevServer, path: str, body: Any, field: str) -> None:
    resp = post(devserver, path, body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["field"] == field and resp.json()["error"]
    assert devserver.store.counts() == {"events": 0, "sessions": 0}


@pytest.mark.parametrize("data", [b"{not json", b"", b'{"events": [], "x": NaN}', b"\xff\xfe"])
def test_non_json_bodies_are_400(devserver: DevServer, data: bytes) -> None:
    resp = requests.post(devserver.url + "/v1/events/batch", data=data, timeout=5,
                         headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["field"] == "$"


def test_unknown_route_and_wrong_method(devserver: DevServer) -> None:
    assert post(devserver, "/v1/nope", {}).status_code == 404
    assert requests.get(devserver.url + "/v1/events/batch", timeout=5).status_code == 404  # an event id lookup
    assert requests.delete(devserver.url + "/v1/sessions", timeout=5).status_code == 405


# -- sessions ------------------------------------------------------------------------------
def test_session_start_is_idempotent_and_merges(devserver: DevServer) -> None:
    sid = new_id()
    first = post(devserver, "/v1/sessions", {"session_id": sid, "session_name": "chat", "source": "test",
                                             "start_time": 1000.0, "metadata": {"a": 1},
                                             "user_properties": {"u": "x"}})
    assert first.status_code == 200
    body = first.json()
    openapi_check.validator_for("PostSessionStartResponse").validate(body)
    assert (body["event_id"], body["session_id"], body["event_type"]) == (sid, sid, "session")
    assert (body["event_name"], body["source"], body["start_time"]) == ("chat", "test", 1000.0)
    again = post(devserver, "/v1/sessions", {"session_id": sid, "metadata": {"b": 2}, "user_properties": {"v": 1},
                                             "start_time": 5.0}).json()
    assert again["metadata"] == {"a": 1, "b": 2} and again["user_properties"] == {"u": "x", "v": 1}
    assert again["start_time"] == 1000.0 and again["event_name"] == "chat"
    assert devserver.store.sessions() == [again]
    assert requests.get(f"{devserver.url}/v1/sessions/{sid}", timeout=5).json() == {"session": again, "events": []}


def test_non_uuid_or_missing_session_id_is_replaced(devserver: DevServer) -> None:
    replaced = post(devserver, "/v1/sessions", {"session_id": "my-session"}).json()
    generated = post(devserver, "/v1/sessions", {}).json()
    for body in (replaced, generated):
        assert uuid.UUID(body["session_id"]).version == 4 and body["event_id"] == body["session_id"]
    assert generated["event_name"] == "unknown" and generated["source"] == "unknown"
    assert isinstance(generated["start_time"], float)


def test_sessions_listed_newest_first_with_limit(devserver: DevServer) -> None:
    ids = [post(devserver, "/v1/sessions", {"session_name": f"s{i}"}).json()["session_id"] for i in range(3)]
    listed = requests.get(devserver.url + "/v1/sessions?limit=2", timeout=5).json()["sessions"]
    assert [s["session_id"] for s in listed] == ids[::-1][:2]
    assert requests.get(devserver.url + "/v1/sessions?limit=x", timeout=5).status_code == 400
    assert requests.get(f"{devserver.url}/v1/sessions/{new_id()}", timeout=5).status_code == 404


def test_file_database_survives_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "hh.sqlite3")
    sid = new_id()
    event = make_event(sid)
    with DevServer(db_path=db) as server:
        post(server, "/v1/sessions", {"session_id": sid, "metadata": {"a": 1}})
        post(server, "/v1/events/batch", {"events": [event]})
    with DevServer(db_path=db) as server:
        assert server.store.event(event["event_id"]) == event
        post(server, "/v1/events/batch", {"events": [event]})
        got = requests.get(f"{server.url}/v1/sessions/{sid}", timeout=5).json()
        assert got["session"]["metadata"] == {"a": 1} and got["events"] == [event]
        assert server.store.duplicates() == {event["event_id"]: 2}


def test_duplicates_are_counted(devserver: DevServer) -> None:
    sid = new_id()
    a, b = make_event(sid), make_event(sid)
    post(devserver, "/v1/events/batch", {"events": [a, b]})
    post(devserver, "/v1/events/batch", {"events": [a]})
    post(devserver, "/v1/events", a)
    assert devserver.store.duplicates() == {a["event_id"]: 3}
    assert devserver.store.received_count(b["event_id"]) == 1
    assert len(devserver.store.events(sid)) == 2


# -- auth and limits -----------------------------------------------------------------------
def test_api_key_required_and_never_echoed() -> None:
    key = "hh_ingst_" + "k" * 24 + "_" + "s" * 64
    with DevServer(api_key=key) as server:
        body = {"events": [make_event(new_id())]}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": key}):
            resp = post(server, "/v1/events/batch", body, headers=headers)
            assert resp.status_code == 401
            assert key not in resp.text and all(key not in v for v in resp.headers.values())
        assert server.store.counts()["events"] == 0
        assert post(server, "/v1/events/batch", body, headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
        assert all("authorization" not in {h.lower() for h in r.headers} for r in server.requests)
        assert key not in repr(server.requests)


def test_body_over_max_body_bytes_is_413() -> None:
    with DevServer(max_body_bytes=2000) as server:
        small = {"events": [make_event(new_id())]}
        big = {"events": [make_event(new_id(), inputs={"text": "x" * 3000})]}
        assert post(server, "/v1/events/batch", big).status_code == 413
        assert post(server, "/v1/events/batch", small).status_code == 200  # same server still healthy
        assert server.store.counts()["events"] == 1


# -- faults --------------------------------------------------------------------------------
def test_fault_latency(devserver: DevServer) -> None:
    devserver.faults.set("/v1/events/batch", "latency", count=1, ms=300)
    started = time.monotonic()
    assert post(devserver, "/v1/events/batch", {"events": [make_event(new_id())]}).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    post(devserver, "/v1/events/batch", {"events": []})
    assert time.monotonic() - started < 0.25


def test_fault_hang_ends_with_client_timeout_and_does_not_block_stop() -> None:
    server = DevServer().start()
    server.faults.set("/v1/events/batch", "hang")
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        post(server, "/v1/events/batch", {"events": [make_event(new_id())]}, timeout=0.3)
    with pytest.raises(requests.Timeout):  # a second hang still open while the server stops
        post(server, "/v1/events/batch", {"events": []}, timeout=0.3)
    server.stop()
    assert time.monotonic() - started < 2.0
    assert server.store.counts()["events"] == 0
    assert [(r.status, r.fault) for r in server.requests] == [(None, "hang"), (None, "hang")]


def test_fault_429_with_retry_after(devserver: DevServer) -> None:
    devserver.faults.set("/v1/events/batch", "status", count=1, status=429, retry_after=2)
    resp = post(devserver, "/v1/events/batch", {"events": [make_event(new_id())]})
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "2"
    assert devserver.store.counts()["events"] == 0


def test_fault_503_expires_after_count(devserver: DevServer) -> None:
    devserver.faults.set("/v1/events/batch", "status", count=2, status=503)
    body = {"events": [make_event(new_id())]}
    assert post(devserver, "/v1/sessions", {}).status_code == 200  # other routes unaffected
    assert [post(devserver, "/v1/events/batch", body).status_code for _ in range(3)] == [503, 503, 200]
    assert devserver.faults.active() == []
    assert devserver.store.counts()["events"] == 1
    assert [r.fault for r in devserver.requests[1:]] == ["status", "status", None]


def test_fault_partial_stores_half_and_returns_their_ids(devserver: DevServer) -> None:
    sid = new_id()
    events = [make_event(sid, start_time=float(i)) for i in range(4)]
    devserver.faults.set("/v1/events/batch", "partial", count=1)
    resp = post(devserver, "/v1/events/batch", {"events": events})
    assert resp.status_code == 500
    body = resp.json()
    assert body["success"] is False and len(body["errors"]) == 2
    assert body["event_ids"] == [events[0]["event_id"], events[1]["event_id"]]
    assert devserver.store.events(sid) == events[:2]
    post(devserver, "/v1/events/batch", {"events": events[2:]})  # a correct client resends only the rest
    assert devserver.store.events(sid) == events and devserver.store.duplicates() == {}
    devserver.faults.set("/v1/sessions/", "partial", count=1, created=3)
    resp = post(devserver, f"/v1/sessions/{sid}/events/batch", {"events": [make_event(sid) for _ in range(4)]})
    assert resp.status_code == 500 and len(resp.json()["event_ids"]) == 3


def test_fault_max_bytes(devserver: DevServer) -> None:
    devserver.faults.set("/v1/events/batch", "max_bytes", count=1, limit=1500)
    small = {"events": [make_event(new_id())]}
    big = {"events": [make_event(new_id()) for _ in range(3)]}
    assert post(devserver, "/v1/events/batch", small).status_code == 200  # under the limit: not counted
    assert post(devserver, "/v1/events/batch", big).status_code == 413
    assert post(devserver, "/v1/events/batch", big).status_code == 200
    assert devserver.store.counts()["events"] == 4


def test_fault_reset(devserver: DevServer) -> None:
    devserver.faults.set("/v1/events/batch", "reset", count=1)
    with pytest.raises(requests.ConnectionError):
        post(devserver, "/v1/events/batch", {"events": [make_event(new_id())]})
    assert devserver.store.counts()["events"] == 0
    assert post(devserver, "/v1/events/batch", {"events": []}).status_code == 200


def test_fault_refuse_then_recover_on_same_port(devserver: DevServer) -> None:
    session = requests.Session()
    url = devserver.url
    assert session.get(url + "/health", timeout=5).status_code == 200  # a pooled keep-alive connection
    devserver.faults.set("/", "refuse")
    with pytest.raises(requests.ConnectionError) as info:
        session.post(url + "/v1/events/batch", json={"events": []}, timeout=2)
    assert "refused" in str(info.value).lower()
    devserver.faults.clear()
    assert devserver.url == url
    assert session.post(url + "/v1/events/batch", json={"events": []}, timeout=5).status_code == 200
    with pytest.raises(ValueError, match="duration_ms"):
        devserver.faults.set("/", "refuse", count=1)


def test_faults_over_http_and_refuse_with_duration(devserver: DevServer) -> None:
    url = devserver.url
    resp = requests.post(url + "/_dev/faults", json={"spec": "/v1/events/batch:status=502,count=1"}, timeout=5)
    assert resp.status_code == 200 and resp.json()["faults"][0]["status"] == 502
    assert post(devserver, "/v1/events/batch", {"events": []}).status_code == 502
    requests.post(url + "/_dev/faults", json={"mode": "status", "path_prefix": "/v1/", "status": 403}, timeout=5)
    assert post(devserver, "/v1/sessions", {}).status_code == 403
    assert requests.delete(url + "/_dev/faults", timeout=5).json() == {"faults": []}
    assert requests.post(url + "/_dev/faults", json={"mode": "bogus"}, timeout=5).status_code == 400
    assert requests.post(url + "/_dev/faults", json={"spec": "refuse"}, timeout=5).status_code == 400

    requests.post(url + "/_dev/faults", json={"spec": "refuse=400"}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/health", timeout=2)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            assert requests.get(url + "/health", timeout=2).status_code == 200
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    else:
        pytest.fail("server did not re-open after refuse=400")


def test_fault_spec_syntax() -> None:
    fault = parse_fault_spec("/v1/events/batch:status=429,retry_after=1.5,count=2,method=post")
    assert (fault.path_prefix, fault.mode, fault.count, fault.method) == ("/v1/events/batch", "status", 2, "POST")
    assert fault.params == {"status": 429, "retry_after": 1.5}
    assert parse_fault_spec("latency=250").to_dict()["ms"] == 250
    assert parse_fault_spec("partial=3").params == {"created": 3}
    assert parse_fault_spec("/v1/:hang").path_prefix == "/v1/"
    for bad in ("/v1/events", "explode", "status", "status=99", "hang=3", "/_dev/faults:reset", "latency=1,x"):
        with pytest.raises(ValueError):
            parse_fault_spec(bad)
    registry = FaultRegistry()
    registry.set("/v1/events/batch", "status", status=500)
    registry.set("/v1/events/batch", "status", status=502)  # replaces
    assert [f.params["status"] for f in registry.active()] == [502]


# -- drift and CLI -------------------------------------------------------------------------
def test_drift_check_flags_disagreement_with_official_schema() -> None:
    ok = {"events": [{"event_type": "chain", "inputs": {}}]}
    bad = {"events": [{"event_type": "chain", "inputs": {}, "project": "p"}]}
    record = RequestRecord("POST", "/v1/events/batch", "", {}, status=200, body=bad, schema="PostEventBatchRequest",
                           valid=True)
    with pytest.raises(AssertionError, match="project"):
        openapi_check.check_recorded_requests([record])
    record = RequestRecord("POST", "/v1/events/batch", "", {}, status=400, body=ok, schema="PostEventBatchRequest",
                           valid=False, schema_error="events: nope")
    with pytest.raises(AssertionError, match="rejected"):
        openapi_check.check_recorded_requests([record])
    with pytest.raises(AssertionError, match="/v1/events/batch"):
        openapi_check.validate_request("/v1/events/batch", bad)
    openapi_check.validate_request(f"/v1/sessions/{new_id()}/events/batch", ok)


def test_bundled_schemas_match_official_openapi() -> None:
    bundled_path = REPO_ROOT / "honeyhive_otel" / "devserver" / "schemas.json"
    bundled = json.loads(bundled_path.read_text(encoding="utf-8"))["components"]["schemas"]
    official = openapi_check.openapi_document()["components"]["schemas"]
    assert set(bundled) == set(openapi_check.BUNDLED_SCHEMA_NAMES)
    for name, schema in bundled.items():
        assert schema == official[name], f"schemas.json {name} drifted; run python -m tests.support.openapi_check " \
                                         "--write-schemas"
    refs = set(re.findall(r"#/components/schemas/(\w+)", json.dumps(bundled)))
    assert refs <= set(bundled), f"schemas.json lacks referenced schemas {refs - set(bundled)}"


def test_cli_serves_until_terminated() -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "honeyhive_otel.devserver", "--port", str(port), "--quiet",
         "--fault", "/v1/events/batch:status=503,count=1"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line, line + proc.stderr.read()
        url = f"http://127.0.0.1:{port}"
        assert requests.get(url + "/health", timeout=5).json()["status"] == "ok"
        body = {"events": [make_event(new_id())]}
        assert [requests.post(url + "/v1/events/batch", json=body, timeout=5).status_code
                for _ in range(2)] == [503, 200]
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0
