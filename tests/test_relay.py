"""The OTLP/HTTP relay: an app exporting with the standard `OTLPSpanExporter` (protobuf) or
OTLP/JSON to the relay must produce, in the devserver, exactly the events the in-process
`HoneyHiveSpanExporter` produces from the same spans (byte-for-byte), and the relay must answer
like an OTLP receiver: 400/413/415 for bad input, 429 when overloaded, 503 + Retry-After while
HoneyHive is unavailable, partial success for events HoneyHive rejects for good."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from honeyhive_otel import HoneyHiveSpanExporter
from honeyhive_otel.devserver import DevServer
from honeyhive_otel.relay import Relay, RelayOptions
from tests.support import openapi_check
from tests.support.otlp_json import spans_to_otlp_json

SESSION = {"session_id": "6a0f3f1e-31a8-4c1b-9f57-0d8e2f3b7c11", "session_name": "relay parity"}
EXPORTER = {**SESSION, "merge_window": 0.3, "debug": True}


def run_app(provider: TracerProvider, traces: int = 3) -> None:
    """A varied workload: chat with a tool call, the tool, a model nested in a model (merged),
    an exception, span events, links, array and float attributes, several traces."""
    tracer = provider.get_tracer("relay.app", "2.1", schema_url="https://opentelemetry.io/schemas/1.26.0")
    for index in range(traces):
        with tracer.start_as_current_span(f"workflow {index}", attributes={
                "gen_ai.operation.name": "invoke_agent", "app.tags": ("a", "b"), "app.ratio": 0.25,
                "app.count": 3, "app.flag": True}) as root:
            root.add_event("checkpoint", {"step": 1})
            with tracer.start_as_current_span("chat gpt-4o-mini", links=[Link(root.get_span_context(), {"why": "x"})],
                                              attributes=_chat_attributes(index)) as outer:
                with tracer.start_as_current_span("litellm_request", attributes={
                        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                        "gen_ai.usage.input_tokens": 11, "gen_ai.usage.output_tokens": 4}):
                    pass
                outer.set_attribute("gen_ai.response.id", f"resp-{index}")
            with tracer.start_as_current_span("execute_tool get_weather", attributes={
                    "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
                    "gen_ai.tool.call.id": f"call_{index}", "gen_ai.tool.call.arguments": '{"city": "Paris"}',
                    "gen_ai.tool.call.result": "sunny"}):
                pass
            with tracer.start_as_current_span("flaky step") as span:
                span.record_exception(TimeoutError("upstream slow"))
                span.set_status(Status(StatusCode.ERROR, "upstream slow"))


def _chat_attributes(index: int) -> dict[str, Any]:
    messages = [{"role": "user", "parts": [{"type": "text", "content": f"Weather in Paris? #{index}"}]}]
    output = [{"role": "assistant", "finish_reason": "tool_calls", "parts": [
        {"type": "tool_call", "id": f"call_{index}", "name": "get_weather", "arguments": {"city": "Paris"}}]}]
    return {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.request.temperature": 0.2, "gen_ai.request.stop_sequences": ("\n\n",),
            "gen_ai.input.messages": json.dumps(messages), "gen_ai.output.messages": json.dumps(output)}


def _provider() -> TracerProvider:
    return TracerProvider(resource=Resource.create({"service.name": "relay-app", "deployment.environment": "staging"}))


def _bodies(server: DevServer) -> dict[str, str]:
    return {event["event_id"]: json.dumps(event) for event in server.store.events()}


def _captured_spans() -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = _provider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    run_app(provider)
    provider.shutdown()
    return list(memory.get_finished_spans())


def _in_process(spans: list[ReadableSpan], server_url: str) -> None:
    exporter = HoneyHiveSpanExporter(server_url=server_url, **EXPORTER)
    assert exporter.export(spans).name == "SUCCESS"
    exporter.shutdown()


@pytest.fixture
def second_devserver() -> Iterator[DevServer]:
    server = DevServer().start()
    yield server
    openapi_check.check_recorded_requests(server.requests)
    server.stop()


@pytest.mark.parametrize("shards", [1, 2])
def test_otlp_protobuf_through_relay_equals_in_process_export(devserver, second_devserver, shards: int) -> None:
    relay = Relay(RelayOptions(port=0, shards=shards), server_url=second_devserver.url, **EXPORTER).start()
    try:
        provider = _provider()  # one app, the same spans down both paths
        provider.add_span_processor(BatchSpanProcessor(HoneyHiveSpanExporter(server_url=devserver.url, **EXPORTER)))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=relay.url + "/v1/traces",
                                                                        compression=Compression.Gzip)))
        run_app(provider)
        provider.shutdown()
    finally:
        relay.stop()

    direct, relayed = _bodies(devserver), _bodies(second_devserver)
    assert len(direct) == 3 * 4  # 5 spans per trace, the nested model span merged into its parent
    assert relayed == direct
    merged = [json.loads(body) for body in direct.values() if json.loads(body)["event_name"] == "chat gpt-4o-mini"]
    assert merged[0]["metadata"]["prompt_tokens"] == 11 and merged[0]["source"] == "staging"
    assert relay.stats()["dropped_total"] == 0 and second_devserver.store.duplicates() == {}
    if shards == 1:  # one exporter saw the batches the in-process one saw: sessions are equal too
        assert second_devserver.store.sessions() == devserver.store.sessions()


def test_otlp_grpc_through_relay_equals_in_process_export(devserver, second_devserver) -> None:
    """Why: a Collector's `loadbalancing` exporter speaks OTLP/gRPC to the relay replicas."""
    pytest.importorskip("grpc")
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

    relay = Relay(RelayOptions(port=0, grpc_port=0, shards=2), server_url=second_devserver.url, **EXPORTER).start()
    try:
        provider = _provider()
        provider.add_span_processor(BatchSpanProcessor(HoneyHiveSpanExporter(server_url=devserver.url, **EXPORTER)))
        provider.add_span_processor(BatchSpanProcessor(GrpcExporter(
            endpoint=f"127.0.0.1:{relay.options.grpc_port}", insecure=True)))
        run_app(provider)
        provider.shutdown()
    finally:
        relay.stop()
    assert len(_bodies(devserver)) == 12 and _bodies(second_devserver) == _bodies(devserver)


def test_otlp_json_gzip_through_relay_equals_in_process_export(devserver, second_devserver) -> None:
    spans = _captured_spans()
    _in_process(spans, devserver.url)
    with Relay(RelayOptions(port=0, shards=1), server_url=second_devserver.url, **EXPORTER) as relay:
        body = gzip.compress(json.dumps(spans_to_otlp_json(spans)).encode())
        answer = requests.post(relay.url + "/v1/traces", data=body, timeout=10, headers={
            "Content-Type": "application/json", "Content-Encoding": "gzip"})
        assert answer.status_code == 200 and answer.json() == {}
        assert answer.headers["Content-Type"] == "application/json"
    assert _bodies(second_devserver) == _bodies(devserver)


def test_protobuf_answer_is_an_export_trace_service_response(second_devserver) -> None:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    spans = _captured_spans()
    with Relay(RelayOptions(port=0), server_url=second_devserver.url, **EXPORTER) as relay:
        answer = requests.post(relay.url + "/v1/traces", data=encode_spans(spans).SerializeToString(),
                               headers={"Content-Type": "application/x-protobuf"}, timeout=10)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/x-protobuf"
        parsed = ExportTraceServiceResponse.FromString(answer.content)
        assert not parsed.HasField("partial_success")
        health = requests.get(relay.url + "/health", timeout=5).json()
        assert health["status"] == "ok" and health["spans_received"] == len(spans)


@pytest.mark.parametrize(("body", "headers", "status"), [
    (b"\x0a\xff\xff\xff", {"Content-Type": "application/x-protobuf"}, 400),
    (b"{not json", {"Content-Type": "application/json"}, 400),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "01"}]}]}]}',
     {"Content-Type": "application/json"}, 400),
    (b'{"resourceSpans": "nope"}', {"Content-Type": "application/json"}, 400),
    (b"[" * 100_000, {"Content-Type": "application/json"}, 400),  # nesting bomb
    (b"not gzip", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 400),
    (b"{}", {"Content-Type": "text/plain"}, 415),
    (b"{}", {"Content-Type": "application/json", "Content-Encoding": "br"}, 415),
    (gzip.compress(b" " * 300_000), {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 413),
])
def test_bad_payloads_get_non_retryable_errors(second_devserver, body: bytes, headers: dict[str, str],
                                               status: int) -> None:
    options = RelayOptions(port=0, max_body_bytes=200_000)
    with Relay(options, server_url=second_devserver.url) as relay:
        answer = requests.post(relay.url + "/v1/traces", data=body, headers=headers, timeout=10)
        assert answer.status_code == status
        assert "Retry-After" not in answer.headers
        if answer.headers["Content-Type"] == "application/json":
            assert answer.json()["message"]
        assert requests.post(relay.url + "/v1/logs", data=b"{}", timeout=5,
                             headers={"Content-Type": "application/json"}).status_code == 404
    assert second_devserver.store.events() == []


def test_overload_answers_429_with_retry_after(second_devserver) -> None:
    """Why: a relay that queues without bound falls over; the sender must back off instead."""
    second_devserver.faults.set("/v1/events/batch", "latency", ms=1500)
    body = json.dumps(spans_to_otlp_json(_captured_spans())).encode()
    with Relay(RelayOptions(port=0, max_inflight=1, shards=1), server_url=second_devserver.url,
               **EXPORTER) as relay:
        first: dict[str, Any] = {}
        slow = threading.Thread(target=lambda: first.update(answer=requests.post(
            relay.url + "/v1/traces", data=body, headers={"Content-Type": "application/json"}, timeout=20)))
        slow.start()
        deadline = time.monotonic() + 5
        while relay.requests_total == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        busy = requests.post(relay.url + "/v1/traces", data=body, headers={"Content-Type": "application/json"},
                             timeout=10)
        slow.join()
        assert busy.status_code == 429 and int(busy.headers["Retry-After"]) > 0
        assert first["answer"].status_code == 200


def test_honeyhive_unavailable_answers_503_then_retry_delivers_once(second_devserver) -> None:
    second_devserver.faults.set("/v1/events/batch", "status", status=503, count=1000)
    body = json.dumps(spans_to_otlp_json(_captured_spans())).encode()
    headers = {"Content-Type": "application/json"}
    with Relay(RelayOptions(port=0, shards=1), server_url=second_devserver.url,
               **{**EXPORTER, "merge_window": 0.0, "timeout": 1.0}) as relay:
        answer = requests.post(relay.url + "/v1/traces", data=body, headers=headers, timeout=20)
        assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
        assert "HoneyHive unavailable" in answer.json()["message"]
        second_devserver.faults.clear()
        again = requests.post(relay.url + "/v1/traces", data=body, headers=headers, timeout=20)
        assert again.status_code == 200 and again.json() == {}
    # merge_window=0: nothing is held, so the nested model span stays its own event (15, not 12)
    assert len(second_devserver.store.events()) == 15 and second_devserver.store.duplicates() == {}


def test_rejected_events_are_reported_as_partial_success(second_devserver) -> None:
    """Why: a 400 from HoneyHive will not heal on retry, so the sender must not retry it forever."""
    second_devserver.faults.set("/v1/events/batch", "status", status=400, count=1)
    body = json.dumps(spans_to_otlp_json(_captured_spans())).encode()
    with Relay(RelayOptions(port=0, shards=1), server_url=second_devserver.url,
               **{**EXPORTER, "merge_window": 0.0}) as relay:
        answer = requests.post(relay.url + "/v1/traces", data=body, headers={"Content-Type": "application/json"},
                               timeout=20)
    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) > 0 and "400" in partial["errorMessage"]


def test_relay_command_serves_until_sigterm_and_flushes(devserver) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "honeyhive_otel.cli", "relay", "--port", "0", "--server-url", devserver.url,
         "--session-id", SESSION["session_id"], "--merge-window", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        assert "relay listening on http://127.0.0.1:" in line, line + process.stderr.read()
        url = line.split(" on ", 1)[1].split("/v1/traces", 1)[0]
        body = json.dumps(spans_to_otlp_json(_captured_spans())).encode()
        answer = requests.post(url + "/v1/traces", data=body, headers={"Content-Type": "application/json"},
                               timeout=10)
        assert answer.status_code == 200
        process.send_signal(signal.SIGTERM)  # events held for merging (30 s window) go out now
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "relay stopped: 15 spans received, 12 events exported, 0 dropped" in out
    assert len(devserver.store.events(SESSION["session_id"])) == 12
