"""End to end: a real LiteLLM proxy with `callbacks: ["otel", "honeyhive_otel.litellm.proxy.handler"]`.

`litellm --config` runs as a subprocess with mock deployments (tests/fixtures/litellm_proxy),
a random master key and a `custom_auth` that describes every key as a team key (so the
`metadata.user_api_key_*` proxy fields are populated without a database). The `openai`
client sends requests steered with `x-honeyhive-*` headers and body `metadata`; the test
then reads what the devserver stored, and checks that no key or Authorization value was sent.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from honeyhive_otel.devserver import DevServer
from tests.support import openapi_check

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "litellm_proxy"
LITELLM = Path(sys.executable).with_name("litellm")
LEAKY_BODY_KEY = "sk-body-secret-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the proxy exited during startup"
        try:
            if httpx.get(f"{base_url}/health/liveliness", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError("the LiteLLM proxy did not become ready")


def send_requests(base_url: str, virtual_key: str, master_key: str) -> dict[str, Any]:
    client = openai.OpenAI(base_url=base_url, api_key=virtual_key, max_retries=0)
    steered = client.chat.completions.with_raw_response.create(
        model="gpt-group", messages=[{"role": "user", "content": "hi via proxy"}], user="end-user-99",
        extra_headers={"x-honeyhive-session-id": "proxy-session-1", "x-honeyhive-user-id": "hh-user-1",
                       "x-honeyhive-metadata-feature": "search", "x-team-header": "blue"},
        extra_body={"metadata": {"tenant": "acme", "tags": ["t1"], "api_key": LEAKY_BODY_KEY}})
    fallback = client.chat.completions.create(
        model="broken-group", messages=[{"role": "user", "content": "fall back please"}],
        extra_body={"metadata": {"session_id": "proxy-session-2", "user_id": "body-user"}})
    plain = client.chat.completions.create(model="gpt-group", messages=[{"role": "user", "content": "plain"}])
    for _ in client.chat.completions.create(model="gpt-group", messages=[{"role": "user", "content": "stream me"}],
                                            stream=True):
        pass
    openai.OpenAI(base_url=base_url, api_key=master_key, max_retries=0).chat.completions.create(
        model="gpt-group", messages=[{"role": "user", "content": "as admin"}])
    return {"steered_call_id": steered.headers.get("x-litellm-call-id"),
            "fallback": fallback.choices[0].message.content, "plain": plain.choices[0].message.content}


@pytest.fixture(scope="module")
def proxy_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    server = DevServer().start()
    workdir = tmp_path_factory.mktemp("litellm_proxy")
    for name in ("config.yaml", "custom_auth.py"):
        shutil.copy(FIXTURE / name, workdir / name)
    port, master_key, virtual_key = free_port(), "sk-" + secrets.token_hex(16), "sk-" + secrets.token_hex(12)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OTEL_", "HONEYHIVE_", "LITELLM_", "USE_OTEL"))}
    env.update({"LITELLM_MASTER_KEY": master_key, "HONEYHIVE_SERVER_URL": server.url,
                "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HONEYHIVE_SESSION_NAME": "litellm proxy",
                "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])})
    log = (workdir / "proxy.log").open("w")
    process = subprocess.Popen([str(LITELLM), "--config", str(workdir / "config.yaml"), "--host", "127.0.0.1",
                                "--port", str(port)], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base_url, process, timeout=45)
        answers = send_requests(base_url, virtual_key, master_key)
        server.wait_for_events(6, timeout=30)  # the proxy's batch processor exports every few seconds
        yield {"events": server.store.events(), "server": server, "answers": answers,
               "master_key": master_key, "virtual_key": virtual_key}
        openapi_check.check_recorded_requests(server.requests)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        server.stop()


def by_content(run: dict[str, Any], text: str) -> list[dict[str, Any]]:
    return [event for event in run["events"]
            if event.get("inputs", {}).get("chat_history", [{}])[-1].get("content") == text]


def session_of(raw: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, raw))


@pytest.mark.slow
def test_header_steering_and_proxy_fields(proxy_run: dict[str, Any]) -> None:
    (event,) = by_content(proxy_run, "hi via proxy")
    assert event["event_type"] == "model" and event["outputs"]["content"].startswith("hello from deployment")
    assert event["session_id"] == session_of("proxy-session-1")
    assert event["user_properties"]["user_id"] == "hh-user-1"
    metadata = event["metadata"]
    assert (metadata["feature"], metadata["tenant"], metadata["tags"]) == ("search", "acme", ["t1"])
    assert "api_key" not in metadata
    litellm = metadata["litellm"]
    assert litellm["call_id"] == proxy_run["answers"]["steered_call_id"]
    assert (litellm["model_group"], litellm["routing_strategy"]) == ("gpt-group", "simple-shuffle")
    assert litellm["deployment_id"] in ("deploy-a", "deploy-b")
    proxy = litellm["proxy"]
    assert proxy["key_hash"] == hashlib.sha256(proxy_run["virtual_key"].encode()).hexdigest()
    expected = {"key_alias": "research-key", "team_id": "team-123", "team_alias": "research-team", "org_id": "org-7",
                "user_id": "owner-42", "user_email": "owner42@example.com", "end_user_id": "end-user-99",
                "route": "/chat/completions", "requester_ip": "127.0.0.1", "spend": 1.25, "max_budget": 100.0,
                "team_spend": 3.5, "team_max_budget": 500.0}
    assert {key: proxy.get(key) for key in expected} == expected
    assert proxy["custom_headers"] == {"x-team-header": "blue"}
    assert metadata["total_tokens"] == 30 and metadata["cost"] > 0


@pytest.mark.slow
def test_body_steering_and_fallback_attempts(proxy_run: dict[str, Any]) -> None:
    events = sorted(by_content(proxy_run, "fall back please"), key=lambda event: event["metadata"]["litellm"]["attempt"])
    assert [bool(event["error"]) for event in events] == [True, False]
    assert {event["session_id"] for event in events} == {session_of("proxy-session-2")}
    assert {event["user_properties"]["user_id"] for event in events} == {"body-user"}
    failed, served = (event["metadata"]["litellm"] for event in events)
    assert failed["call_id"] == served["call_id"]  # the proxy keeps one call id across the fallback
    assert (failed["model_group"], failed["deployment_id"], failed["attempt"]) == ("broken-group", "deploy-broken", 1)
    assert (served["model_group"], served["deployment_id"], served["attempt"]) == ("backup-group", "deploy-backup", 2)
    assert served["attempted_fallbacks"] == 1
    assert events[1]["outputs"]["content"] == proxy_run["answers"]["fallback"] == "hello from backup"


@pytest.mark.slow
def test_unsteered_requests_get_a_session_each(proxy_run: dict[str, Any]) -> None:
    plain, = by_content(proxy_run, "plain")
    stream, = by_content(proxy_run, "stream me")
    admin, = by_content(proxy_run, "as admin")
    assert len({plain["session_id"], stream["session_id"], admin["session_id"]}) == 3
    assert stream["config"]["is_streaming"] is True
    assert admin["metadata"]["litellm"]["proxy"]["key_hash"] == hashlib.sha256(
        proxy_run["master_key"].encode()).hexdigest()
    sessions = {session["session_id"] for session in proxy_run["server"].store.sessions()}
    assert {event["session_id"] for event in proxy_run["events"]} <= sessions


@pytest.mark.slow
def test_no_secret_reaches_honeyhive(proxy_run: dict[str, Any]) -> None:
    sent = json.dumps([record.body for record in proxy_run["server"].requests])
    for secret in (proxy_run["master_key"], proxy_run["virtual_key"], LEAKY_BODY_KEY, "Bearer "):
        assert secret not in sent
    assert not _secret_keys([record.body for record in proxy_run["server"].requests])
    assert not [event for event in proxy_run["events"] if event["event_name"] == "raw_gen_ai_request"]
    assert not proxy_run["server"].store.duplicates()


def _secret_keys(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower().replace("_", "-") in ("authorization", "cookie", "api-key", "x-api-key"):
                found.append(str(key))
            found.extend(_secret_keys(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_secret_keys(item))
    return found
