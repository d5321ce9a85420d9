"""Transport security: TLS verified by default, a private CA through REQUESTS_CA_BUNDLE (or
`verify=`), plain http:// refused for non-loopback hosts, the devserver on loopback only, and
the final-body scrub (credentials out, token counts kept, the configured key masked verbatim)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
import ssl
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from honeyhive_otel import ConfigurationError, HoneyHiveSpanExporter
from honeyhive_otel.devserver import DevServer, _parser
from honeyhive_otel.secrets import Scrubber, is_secret_key
from tests.support import openapi_check

cryptography = pytest.importorskip("cryptography")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway CA-less certificate for 127.0.0.1/localhost, made at test time."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "honeyhive-otel test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def https_devserver(tmp_path):
    """The devserver behind TLS with a self-signed certificate: (server, https url, cert path)."""
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = DevServer().start()
    httpd = server._httpd  # the listening socket is wrapped in place: same fd, now TLS
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    try:
        yield server, f"https://127.0.0.1:{server.port}", cert
        openapi_check.check_recorded_requests(server.requests)
    finally:
        server.stop()


def _export_one(url: str, name: str, **options) -> HoneyHiveSpanExporter:
    exporter = HoneyHiveSpanExporter(server_url=url, merge_window=0, timeout=3, **options)
    span = TracerProvider().get_tracer("tls").start_span(name)
    span.set_attribute("gen_ai.operation.name", "chat")
    span.end()
    exporter.export([span])
    exporter.shutdown()
    return exporter


def test_tls_is_verified_by_default_and_a_failure_is_counted_once(https_devserver, monkeypatch, caplog):
    server, url, _ = https_devserver
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with caplog.at_level(logging.WARNING, logger="honeyhive_otel"):
        exporter = _export_one(url, "untrusted")
    stats = exporter.stats.snapshot()
    assert stats["dropped"] == {"export_failed": 1}
    assert stats["retries"] == 0  # a certificate does not heal by retrying
    assert "TLS" in stats["last_error"]
    assert sum(r.getMessage().startswith("HoneyHive at") and "REQUESTS_CA_BUNDLE" in r.getMessage()
               for r in caplog.records) == 1
    assert server.store.events() == []


def test_a_private_ca_through_requests_ca_bundle(https_devserver, monkeypatch):
    server, url, cert = https_devserver
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    exporter = _export_one(url, "trusted via env")
    assert exporter.stats.snapshot()["dropped_total"] == 0
    assert [e["event_name"] for e in server.store.events()] == ["trusted via env"]


def test_an_explicit_verify_bundle_wins_over_the_environment(https_devserver, monkeypatch, tmp_path):
    server, url, cert = https_devserver
    (tmp_path / "other").mkdir()
    other, _ = _self_signed(tmp_path / "other")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))  # a bundle that does not trust this server
    exporter = _export_one(url, "trusted via verify=", verify=str(cert))
    assert exporter.stats.snapshot()["dropped_total"] == 0
    assert [e["event_name"] for e in server.store.events()] == ["trusted via verify="]


def test_plain_http_is_refused_for_non_loopback_hosts(monkeypatch):
    monkeypatch.delenv("HONEYHIVE_ALLOW_INSECURE_HTTP", raising=False)
    with pytest.raises(ConfigurationError, match="refusing plain http://") as error:
        HoneyHiveSpanExporter(api_key="hh-test-secret-http-key", server_url="http://api.example.com")
    assert "hh-test-secret-http-key" not in str(error.value)
    allowed = HoneyHiveSpanExporter(api_key="hh-test-secret-http-key", server_url="http://api.example.com",
                                    allow_insecure_http=True)
    allowed.shutdown(0)
    monkeypatch.setenv("HONEYHIVE_ALLOW_INSECURE_HTTP", "true")
    HoneyHiveSpanExporter(api_key="hh-test-secret-http-key", server_url="http://10.1.2.3:8080").shutdown(0)
    for local in ("http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"):
        HoneyHiveSpanExporter(server_url=local).shutdown(0)  # loopback: fine, and needs no key


def test_the_devserver_listens_on_loopback_only_by_default():
    assert _parser().parse_args([]).host == "127.0.0.1"
    with DevServer() as server:
        assert server.host == "127.0.0.1"
        assert server._httpd.server_address[0] == "127.0.0.1"


def test_the_scrub_drops_credentials_and_keeps_token_counts():
    scrub = Scrubber(["my-honeyhive-key-123456"])
    body = {
        "config": {"max_tokens": 50, "api_key": "sk-abcdef123456"},
        "metadata": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7,
                     "attributes": {"gen_ai.usage.input_tokens": 3, "http.request.header.authorization": ["x"],
                                    "llm.headers": '{"Authorization": "Bearer abcdefghijkl", "Accept": "*/*"}',
                                    "__proto__": {"polluted": True}}},
        "inputs": {"chat_history": [{"role": "user", "content": "key my-honeyhive-key-123456 and sk-proj-abcdefgh"}]},
    }
    scrubbed = scrub.value(body)
    text = json.dumps(scrubbed)
    assert "my-honeyhive-key-123456" not in text and "sk-proj-abcdefgh" not in text and "abcdefghijkl" not in text
    assert scrubbed["config"] == {"max_tokens": 50}
    assert scrubbed["metadata"]["total_tokens"] == 7
    attributes = scrubbed["metadata"]["attributes"]
    assert attributes["gen_ai.usage.input_tokens"] == 3
    assert "http.request.header.authorization" not in attributes
    assert json.loads(attributes["llm.headers"]) == {"Authorization": "[redacted]", "Accept": "*/*"}
    assert "__proto__" not in attributes and attributes["[__proto__]"] == {"polluted": True}
    assert not any(is_secret_key(k) for k in ("prompt_tokens", "gen_ai.usage.output_tokens", "llm.token_count.total",
                                              "max_tokens", "user_api_key_hash"))


def test_the_scrub_is_bounded_on_pathological_strings():
    started = time.perf_counter()
    result = Scrubber().text("'token': 'x', " * 300_000)
    assert time.perf_counter() - started < 2.0
    assert "'x'" not in result[:100]
