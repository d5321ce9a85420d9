"""REQUESTS_CA_BUNDLE is read when the exporter is created, like the proxy variables
(tests/test_transport_env.py): setting it afterwards does not make a private CA trusted."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider

from honeyhive_otel import HoneyHiveSpanExporter
from tests import test_security

https_devserver = test_security.https_devserver  # the TLS devserver fixture (self-signed, made at test time)


def test_a_ca_bundle_set_after_the_exporter_was_created_is_not_read(https_devserver, monkeypatch):
    server, url, cert = https_devserver
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)

    exporter = HoneyHiveSpanExporter(server_url=url, merge_window=0, timeout=3)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # too late for this exporter
    span = TracerProvider().get_tracer("tls").start_span("late bundle")
    span.set_attribute("gen_ai.operation.name", "chat")
    span.end()
    exporter.export([span])
    exporter.shutdown()
    assert "TLS" in exporter.stats.snapshot()["last_error"]
    assert server.store.events() == []
