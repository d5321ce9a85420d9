"""Proxies from the environment, as requests reads them for the server URL, read once: when the
exporter is created (and again in a forked child), not on every request."""

from __future__ import annotations

import http.client
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.support.pipeline import Pipeline, make_pipeline

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "REQUEST_METHOD")


class _ForwardingProxy(ThreadingHTTPServer):
    """A plain HTTP proxy on 127.0.0.1: records each absolute-URI request line, forwards it."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.seen: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ForwardingProxy

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self.server.seen.append(self.path)
        target = urlsplit(self.path)  # a proxy receives the absolute URI
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "proxy-connection")}
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        try:
            upstream.request("POST", target.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.getheader("Content-Type") or "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence access logs
        return None


@pytest.fixture
def proxy() -> Iterator[_ForwardingProxy]:
    server = _ForwardingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start from no proxy settings at all, whatever the machine running the tests has."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def _export(pipeline: Pipeline, name: str) -> None:
    with pipeline.tracer().start_as_current_span(name) as span:
        span.set_attribute("gen_ai.operation.name", "chat")
    pipeline.flush()


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_from_the_environment_carries_the_requests(devserver, proxy, monkeypatch, variable):
    monkeypatch.setenv(variable, proxy.url)
    pipeline = make_pipeline(devserver.url, timeout=5)
    try:
        _export(pipeline, "via proxy")
    finally:
        pipeline.close()
    assert [e["event_name"] for e in devserver.store.events()] == ["via proxy"]
    assert f"{devserver.url}/v1/events/batch" in proxy.seen


@pytest.mark.parametrize("variable", ["NO_PROXY", "no_proxy"])
def test_no_proxy_sends_directly(devserver, proxy, monkeypatch, variable):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv(variable, "127.0.0.1")
    pipeline = make_pipeline(devserver.url, timeout=5)
    try:
        _export(pipeline, "direct")
    finally:
        pipeline.close()
    assert [e["event_name"] for e in devserver.store.events()] == ["direct"]
    assert proxy.seen == []


def test_the_environment_is_read_when_the_exporter_is_created(devserver, proxy, monkeypatch):
    """Documented: a proxy set (or removed) afterwards changes nothing for that exporter."""
    direct = make_pipeline(devserver.url, timeout=5)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    proxied = make_pipeline(devserver.url, timeout=5)
    monkeypatch.delenv("HTTP_PROXY")
    try:
        _export(direct, "created without a proxy")
        assert proxy.seen == []
        _export(proxied, "created with a proxy")
        assert f"{devserver.url}/v1/events/batch" in proxy.seen
    finally:
        direct.close()
        proxied.close()
    assert sorted(e["event_name"] for e in devserver.store.events()) == ["created with a proxy",
                                                                        "created without a proxy"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_reads_the_environment_again(devserver, proxy, monkeypatch):
    pipeline = make_pipeline(devserver.url, timeout=5)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)  # after creation: the parent keeps sending directly
    try:
        pid = os.fork()
        if pid == 0:  # the child: its transport reads the environment again, and finds the proxy
            code = 1
            try:
                _export(pipeline, "from the child")
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert f"{devserver.url}/v1/events/batch" in proxy.seen
        proxy.seen.clear()
        _export(pipeline, "from the parent")
        assert proxy.seen == []
    finally:
        pipeline.close()
    assert sorted(e["event_name"] for e in devserver.store.events()) == ["from the child", "from the parent"]
