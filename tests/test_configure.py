"""configure(): clear errors, idempotence, provider attachment, OTEL_* variables."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest
from opentelemetry.sdk.trace import TracerProvider

from honeyhive_otel import ConfigurationError, HoneyHiveSpanExporter

SECRET = "hh-live-key-that-must-not-leak"


def test_missing_key_for_remote_server_is_a_clear_error(monkeypatch):
    for name in ("HONEYHIVE_API_KEY", "HH_API_KEY", "HH_INGESTION_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="HONEYHIVE_API_KEY"):
        HoneyHiveSpanExporter(server_url="https://api.honeyhive.ai")


def test_local_server_needs_no_key():
    exporter = HoneyHiveSpanExporter(server_url="http://127.0.0.1:9")
    assert exporter.server_url == "http://127.0.0.1:9"


def test_plain_http_to_a_remote_host_is_refused_and_the_key_is_not_in_the_error():
    with pytest.raises(ConfigurationError) as error:
        HoneyHiveSpanExporter(api_key=SECRET, server_url="http://hh.example.com")
    assert "http://" in str(error.value) and SECRET not in str(error.value)
    HoneyHiveSpanExporter(api_key=SECRET, server_url="http://hh.example.com", allow_insecure_http=True)


def test_bad_server_url_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="server_url"):
        HoneyHiveSpanExporter(api_key=SECRET, server_url="api.honeyhive.ai")


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=full_env, timeout=60, cwd=os.path.dirname(os.path.dirname(__file__)))


def test_configure_end_to_end_with_otel_variables(devserver):
    """A fresh process: configure() installs a provider honouring OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES and OTEL_BSP_*; a second configure() returns the same handle."""
    result = _run("""
        import honeyhive_otel
        from opentelemetry import trace
        handle = honeyhive_otel.configure()
        assert honeyhive_otel.configure() is handle
        assert handle.installed_provider
        with trace.get_tracer("app").start_as_current_span("root") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
        assert handle.force_flush(5000)
        print(handle.session_id)
    """, {"HONEYHIVE_SERVER_URL": devserver.url, "OTEL_SERVICE_NAME": "billing-bot",
          "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=staging", "OTEL_BSP_SCHEDULE_DELAY": "100",
          "OTEL_BSP_MAX_QUEUE_SIZE": "64"})
    assert result.returncode == 0, result.stderr
    session_id = result.stdout.strip().splitlines()[-1]
    session = devserver.store.session(session_id)
    assert session["session_name"] == "billing-bot"
    event = devserver.store.events(session_id=session_id)[0]
    assert event["source"] == "staging"
    assert event["metadata"]["otel"]["service_name"] == "billing-bot"


def test_configure_attaches_to_an_existing_sdk_provider(devserver):
    result = _run("""
        import honeyhive_otel
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        mine = TracerProvider()
        trace.set_tracer_provider(mine)
        handle = honeyhive_otel.configure()
        assert handle.provider is mine and not handle.installed_provider
        with trace.get_tracer("app").start_as_current_span("attached"):
            pass
        handle.force_flush(5000)
    """, {"HONEYHIVE_SERVER_URL": devserver.url})
    assert result.returncode == 0, result.stderr
    assert [e["event_name"] for e in devserver.store.events()] == ["attached"]


def test_sdk_disabled_exports_nothing(devserver):
    result = _run("""
        import honeyhive_otel
        from opentelemetry import trace
        handle = honeyhive_otel.configure()
        assert not handle.enabled
        with trace.get_tracer("app").start_as_current_span("x"):
            pass
        handle.force_flush(1000)
    """, {"HONEYHIVE_SERVER_URL": devserver.url, "OTEL_SDK_DISABLED": "true"})
    assert result.returncode == 0, result.stderr
    assert devserver.requests == []


def test_missing_key_at_configure_time_names_the_variable():
    result = _run("""
        import honeyhive_otel
        try:
            honeyhive_otel.configure(server_url="https://api.honeyhive.ai")
        except honeyhive_otel.ConfigurationError as error:
            print("ERR", error)
    """, {"HONEYHIVE_API_KEY": "", "HH_API_KEY": ""})
    assert "ERR HoneyHive API key missing" in result.stdout


def test_key_never_appears_in_logs_or_requests(devserver, caplog):
    with caplog.at_level(logging.DEBUG):
        exporter = HoneyHiveSpanExporter(api_key=SECRET, server_url=devserver.url, debug=True)
        provider = TracerProvider()
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        provider.add_span_processor(SimpleSpanProcessor(exporter))
        with provider.get_tracer("t").start_as_current_span("chat") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
        provider.shutdown()
    assert devserver.store.events()
    assert all(SECRET not in json.dumps(r.body) for r in devserver.requests)
    assert all(SECRET not in json.dumps(r.headers) for r in devserver.requests)
    assert all(SECRET not in record.getMessage() for record in caplog.records)
