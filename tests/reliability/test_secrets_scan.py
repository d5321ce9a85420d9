"""Secrets never leave the process: representative scenarios that put keys, Authorization and
Cookie headers and LiteLLM virtual keys everywhere instrumentations put them, then a scan of
every request body and header the devserver received and every log line (the session-wide
scan in conftest.py repeats it over the whole suite)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from honeyhive_otel.devserver import DevServer
from tests.reliability import harness
from tests.support.secret_scan import SECRETS, find_secrets, request_texts, track_server

HH_KEY = "hh-test-secret-0123456789abcdef"
SCRIPTS = Path(__file__).resolve().parent / "scripts"

HOSTILE_ATTRIBUTES = {
    "http.request.header.authorization": ("Bearer bearer-token-secret-1234567",),
    "http.request.header.cookie": ("session=cookie-secret-value",),
    "http.request.header.x-api-key": ("sk-test-provider-secret",),
    "llm.headers": json.dumps({"Authorization": "Bearer sk-test-provider-secret", "Cookie": "cookie-secret-value",
                               "Accept": "application/json"}),
    "gen_ai.headers": "{'authorization': 'Bearer bearer-token-secret-99999', 'x-api-key': 'sk-test-provider-secret'}",
    "metadata.requester_metadata": repr({"headers": {"Authorization": "Bearer sk-virtual-key-do-not-leak"},
                                         "user_api_key": "sk-virtual-key-do-not-leak"}),
    "llm.invocation_parameters": json.dumps({"api_key": "sk-test-provider-secret", "temperature": 0.1}),
    "traceloop.entity.input": json.dumps({"args": [], "kwargs": {"api_key": "sk-test-provider-secret",
                                                                 "prompt": "hi"}}),
    "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [
        {"type": "text", "content": "my key is sk-test-provider-secret and hh-test-secret-0123456789abcdef"}]}]),
    "custom.password": "hunter2-cookie-secret-value",
    "custom.token": "bearer-token-secret-plain",
}


def _scan(server: DevServer, lines: list[str]) -> list[str]:
    return find_secrets(request_texts(server.requests)) + find_secrets(lines)


def test_secrets_in_span_attributes_are_never_exported_or_logged(caplog):
    with DevServer(api_key=HH_KEY) as server:
        track_server(server)
        pipeline = harness.make_pipeline(server, api_key=HH_KEY, debug=True)
        with caplog.at_level(logging.DEBUG):
            pipeline.produce(6, prefix="secret", **HOSTILE_ATTRIBUTES)
            assert pipeline.processor.force_flush(10_000), pipeline.stats()
            pipeline.close()
        events = server.store.events()
        assert len(events) == 6
        assert not _scan(server, [r.getMessage() for r in caplog.records])
        model = next(e for e in events if e["event_type"] == "model")
        assert model["metadata"]["prompt_tokens"] == 3  # token counts are not "tokens" to scrub
        attributes = model["metadata"].get("attributes", {})
        assert "http.request.header.authorization" not in attributes
        assert "custom.password" not in attributes and "custom.token" not in attributes
        if "llm.headers" in attributes:  # the header text stays, its credentials do not
            assert "[redacted]" in attributes["llm.headers"] and "application/json" in attributes["llm.headers"]


def test_a_rejected_key_is_never_logged_even_in_debug(caplog):
    with DevServer(api_key="hh-test-secret-the-right-one") as server:
        track_server(server)
        pipeline = harness.make_pipeline(server, api_key=HH_KEY, debug=True, timeout=2)
        with caplog.at_level(logging.DEBUG):
            pipeline.produce(3, prefix="wrong key")
            assert not pipeline.processor.force_flush(10_000)
            pipeline.close()
        messages = [r.getMessage() for r in caplog.records]
        assert any("rejected the API key" in m for m in messages)
        assert not _scan(server, messages)


@pytest.mark.slow
def test_litellm_calls_with_keys_and_auth_headers_export_no_secret(devserver):
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "USE_OTEL_LITELLM_REQUEST_SPAN": "true"}
    done = subprocess.run([sys.executable, str(SCRIPTS / "litellm_secrets.py"), devserver.url], capture_output=True,
                          text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])
    assert result["fake_requests"] >= 2
    events = devserver.store.events()
    assert any(e["event_type"] == "model" for e in events), [e["event_name"] for e in events]
    our_log_lines = [line for line in done.stderr.splitlines() if line.startswith("LOG honeyhive_otel")]
    leaks = find_secrets(request_texts(devserver.requests)) + find_secrets(our_log_lines)
    assert not leaks, leaks
    assert all(secret not in json.dumps(events) for secret in SECRETS)
