"""An OTLP/HTTP trace receiver that maps spans to HoneyHive events: `honeyhive-otel relay`.

Why: apps in any language (or an OpenTelemetry Collector) can send standard OTLP, and the
mapping, sessions, merging and delivery guarantees stay those of the Python exporter,
because the relay rebuilds SDK `ReadableSpan`s (:mod:`honeyhive_otel.otlp`) and hands them
to the same :class:`HoneyHiveSpanExporter`.

Protocol (OTLP/HTTP spec):
- `POST /v1/traces` with `application/x-protobuf` (needs `honeyhive-otel[relay]`, i.e.
  opentelemetry-proto) or `application/json`; `Content-Encoding: gzip` accepted.
- 200 with an `ExportTraceServiceResponse` in the request's encoding; `partial_success`
  counts spans HoneyHive rejected for good (schema, size, key), which a retry cannot fix.
- 400 (bad payload) / 413 (too large) / 415 (unsupported type or encoding) with a
  `google.rpc.Status` body: not retryable.
- 429 + `Retry-After` when more requests are in flight than `max_inflight`; 503 +
  `Retry-After` when HoneyHive is unreachable or throttling (after the exporter's own
  retries) or the relay is shutting down: the sender retries, and event ids are
  deterministic, so a retried span keeps its event id.
- `GET /health`: `{"status": "ok", ...export statistics}`.
- Optionally OTLP/gRPC (`grpc_port`, needs grpcio): what a Collector's `loadbalancing`
  exporter speaks. Overload and HoneyHive outages answer `UNAVAILABLE` (retryable), bad
  payloads `INVALID_ARGUMENT`, permanent rejections a `partial_success`.

Stateless across requests except the exporter's bounded memory (merge window, known
sessions, trace -> session). Spans are sharded over `shards` exporters by trace id, so
one trace always meets the same coalescer; replicas behind a Collector's `loadbalancing`
exporter with `routing_key: traceID` keep that property across processes.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import sys
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from . import otlp
from .exporter import HoneyHiveSpanExporter
from .version import __version__

logger = logging.getLogger("honeyhive_otel.relay")

DEFAULT_PORT = 4318
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024  # after decompression
_PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
_JSON_TYPES = ("application/json",)
# google.rpc.Code values used in error bodies.
_INVALID_ARGUMENT, _RESOURCE_EXHAUSTED, _UNAVAILABLE, _UNIMPLEMENTED = 3, 8, 14, 12


@dataclass
class RelayOptions:
    """Network and load settings; exporter settings are passed to the exporters."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_inflight: int = 16
    shards: int = 2
    retry_after_s: int = 2
    grpc_port: int | None = None  # also serve OTLP/gRPC (needs grpcio); 0 picks a free port


@dataclass
class Reply:
    """One HTTP answer: status, body, content type and extra headers."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]


@dataclass
class _Shard:
    exporter: HoneyHiveSpanExporter
    lock: threading.Lock


class Relay:
    """Receives OTLP/HTTP traces and exports them with `HoneyHiveSpanExporter`s (one per shard)."""

    def __init__(self, options: RelayOptions | None = None, *, exporters: Sequence[HoneyHiveSpanExporter] | None = None,
                 **exporter_options: Any) -> None:
        self.options = options or RelayOptions()
        if exporters is None:
            # Without a fixed session, one session per trace: every replica derives the same id.
            exporter_options.setdefault("session_mode", "process" if exporter_options.get("session_id") else "trace")
            exporter_options.setdefault("timeout", 10.0)
            exporters = [HoneyHiveSpanExporter(**exporter_options) for _ in range(max(1, self.options.shards))]
        self._shards = [_Shard(exporter, threading.Lock()) for exporter in exporters]
        self._inflight = threading.BoundedSemaphore(max(1, self.options.max_inflight))
        self._stopping = threading.Event()
        self._httpd: _RelayHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._grpc: Any = None
        self.requests_total = 0
        self.spans_total = 0
        self._count_lock = threading.Lock()

    # ----- lifecycle ----------------------------------------------------------------
    def start(self) -> Relay:
        """Bind and serve in a daemon thread; returns self."""
        self._httpd = _RelayHTTPServer((self.options.host, self.options.port), self)
        self.options.port = self._httpd.server_port
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"hh-relay:{self.options.port}", daemon=True)
        self._thread.start()
        if self.options.grpc_port is not None:
            try:
                self._grpc, self.options.grpc_port = _start_grpc(self)
            except Exception:
                self._httpd.shutdown()
                self._httpd.server_close()
                raise
        logger.info("honeyhive-otel relay listening on %s", self.url)
        return self

    def stop(self, timeout_millis: int = 30_000) -> None:
        """Stop accepting, then flush and shut down the exporters within `timeout_millis`."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._grpc is not None:
            self._grpc.stop(grace=5).wait(5)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        deadline = time.monotonic() + timeout_millis / 1000
        for shard in self._shards:
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            with shard.lock:
                shard.exporter.shutdown(remaining)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Send whatever the exporters hold for merging (tests, shutdown)."""
        deadline = time.monotonic() + timeout_millis / 1000
        ok = True
        for shard in self._shards:
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            with shard.lock:
                ok = shard.exporter.force_flush(remaining) and ok
        return ok

    def __enter__(self) -> Relay:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = self.options.host
        return f"http://[{host}]:{self.options.port}" if ":" in host else f"http://{host}:{self.options.port}"

    @property
    def exporters(self) -> list[HoneyHiveSpanExporter]:
        return [shard.exporter for shard in self._shards]

    def stats(self) -> dict[str, Any]:
        """Export statistics summed over the shards, plus request counts."""
        total: dict[str, Any] = {"requests": self.requests_total, "spans_received": 0, "events_exported": 0,
                                 "sessions_created": 0, "retries": 0, "dropped": {}, "dropped_total": 0}
        for exporter in self.exporters:
            snapshot = exporter.stats.snapshot()
            for name in ("spans_received", "events_exported", "sessions_created", "retries", "dropped_total"):
                total[name] += snapshot[name]
            for reason, count in snapshot["dropped"].items():
                total["dropped"][reason] = total["dropped"].get(reason, 0) + count
            if snapshot["last_error"]:
                total["last_error"] = snapshot["last_error"]
        return total

    # ----- the OTLP endpoint (transport-free, so it is testable and reusable) -------
    def try_begin(self) -> bool:
        """Reserve an in-flight slot; False means answer 429 (or 503 while stopping)."""
        return not self._stopping.is_set() and self._inflight.acquire(blocking=False)

    def end(self) -> None:
        self._inflight.release()

    def overloaded_reply(self, content_type: str) -> Reply:
        if self._stopping.is_set():
            return self._error(503, _UNAVAILABLE, "relay is shutting down", content_type, retry=True)
        return self._error(429, _RESOURCE_EXHAUSTED, "relay overloaded: too many requests in flight",
                           content_type, retry=True)

    def handle_traces(self, body: bytes, content_type: str, content_encoding: str = "") -> Reply:
        """Decode, map and export one `POST /v1/traces` body; returns the answer to send."""
        kind = _media_type(content_type)
        if kind not in _PROTOBUF_TYPES + _JSON_TYPES:
            return self._error(415, _INVALID_ARGUMENT, f"unsupported Content-Type {content_type!r}: use "
                               "application/x-protobuf or application/json", "application/json")
        try:
            body = _decompress(body, content_encoding, self.options.max_body_bytes)
            spans = self._decode(body, kind)
        except _PayloadError as error:
            return self._error(error.status, _INVALID_ARGUMENT, str(error), kind)
        except otlp.OTLPError as error:
            return self._error(400, _INVALID_ARGUMENT, str(error), kind)
        retryable, rejected, message = self.ingest(spans)
        if retryable:
            return self._error(503, _UNAVAILABLE, f"HoneyHive unavailable: {message}", kind, retry=True)
        if kind in _JSON_TYPES:
            return Reply(200, otlp.encode_response_json(rejected, message), "application/json", {})
        return Reply(200, otlp.encode_response_protobuf(rejected, message), "application/x-protobuf", {})

    def ingest(self, spans: list[ReadableSpan]) -> tuple[bool, int, str]:
        """Count one decoded request, then export it (see :meth:`export`)."""
        with self._count_lock:
            self.requests_total += 1
            self.spans_total += len(spans)
        return self.export(spans)

    def export(self, spans: list[ReadableSpan]) -> tuple[bool, int, str]:
        """Export spans shard by shard; returns (retryable failure, spans rejected for good, message)."""
        if not spans:
            return False, 0, ""
        groups: dict[int, list[ReadableSpan]] = {}
        count = len(self._shards)
        for span in spans:
            groups.setdefault(span.context.trace_id % count if count > 1 else 0, []).append(span)
        retryable, rejected, messages = False, 0, []
        for index, group in groups.items():
            shard = self._shards[index]
            with shard.lock:  # so the statistics delta below belongs to this batch
                before = shard.exporter.stats.snapshot()["dropped"]
                result = shard.exporter.export(group)
                if result is SpanExportResult.SUCCESS:
                    continue
                after = shard.exporter.stats.snapshot()
            lost = {reason: n - before.get(reason, 0) for reason, n in after["dropped"].items()
                    if n > before.get(reason, 0)}
            message = str(after["last_error"] or ", ".join(sorted(lost)) or "export failed")
            if _is_retryable(lost, message, shard.exporter):
                retryable = True
            else:
                rejected += min(len(group), sum(lost.values()) or len(group))
            messages.append(message)
        return retryable, rejected, "; ".join(dict.fromkeys(messages))

    # ----- helpers ------------------------------------------------------------------
    def _decode(self, body: bytes, kind: str) -> list[ReadableSpan]:
        if kind in _JSON_TYPES:
            return otlp.spans_from_json(body)
        try:
            return otlp.spans_from_protobuf(body)
        except ImportError:
            raise _PayloadError(415, "application/x-protobuf needs opentelemetry-proto: pip install "
                                "'honeyhive-otel[relay]' (or send application/json)") from None

    def _error(self, status: int, code: int, message: str, content_type: str, retry: bool = False) -> Reply:
        headers = {"Retry-After": str(self.options.retry_after_s)} if retry else {}
        if _media_type(content_type) in _PROTOBUF_TYPES:
            return Reply(status, otlp.encode_status_protobuf(code, message), "application/x-protobuf", headers)
        return Reply(status, otlp.encode_status_json(code, message), "application/json", headers)


def _is_retryable(lost: dict[str, int], message: str, exporter: HoneyHiveSpanExporter) -> bool:
    """Only delivery failures a later attempt can fix (unreachable, 429, 5xx, timeouts)."""
    if "export_failed" not in lost or exporter.transport.auth_failed:
        return False
    return not message.startswith("HoneyHive answered")  # the transport's wording for 4xx rejections


class _PayloadError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _media_type(content_type: str) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    encoding = (encoding or "").strip().lower()
    if encoding in ("", "identity"):
        if len(body) > limit:
            raise _PayloadError(413, f"body of {len(body)} bytes exceeds the limit of {limit} bytes")
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise _PayloadError(415, f"unsupported Content-Encoding {encoding!r}: use gzip or none")
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(body, limit + 1)  # bounded: a gzip bomb stops here
    except zlib.error as error:
        raise _PayloadError(400, f"invalid gzip body: {error}") from None
    if len(data) > limit:
        raise _PayloadError(413, f"decompressed body exceeds the limit of {limit} bytes")
    if not decompressor.eof:
        raise _PayloadError(400, "truncated gzip body")
    return data


# ----------------------------------------------------------------------------- gRPC layer
def _start_grpc(relay: Relay) -> tuple[Any, int]:
    """OTLP/gRPC `TraceService/Export` on `grpc_port` (what a Collector's `loadbalancing` exporter speaks)."""
    from concurrent.futures import ThreadPoolExecutor

    try:
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
    except ImportError as error:
        raise RuntimeError("OTLP/gRPC needs grpcio and opentelemetry-proto: "
                           "pip install 'honeyhive-otel[relay-grpc]'") from error

    class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC naming
            if not relay.try_begin():
                # UNAVAILABLE is always retryable in OTLP/gRPC (RESOURCE_EXHAUSTED needs RetryInfo).
                context.abort(grpc.StatusCode.UNAVAILABLE, "relay overloaded or shutting down")
            try:
                try:
                    spans = otlp.spans_from_protobuf(request)
                except otlp.OTLPError as error:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
                retryable, rejected, message = relay.ingest(spans)
            finally:
                relay.end()
            if retryable:
                context.abort(grpc.StatusCode.UNAVAILABLE, f"HoneyHive unavailable: {message}")
            response = trace_service_pb2.ExportTraceServiceResponse()
            if rejected or message:
                response.partial_success.rejected_spans = rejected
                response.partial_success.error_message = message
            return response

    options = relay.options
    server = grpc.server(ThreadPoolExecutor(max_workers=max(1, options.max_inflight), thread_name_prefix="hh-relay"),
                         options=[("grpc.max_receive_message_length", options.max_body_bytes)],
                         maximum_concurrent_rpcs=max(1, options.max_inflight) * 2)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)
    host = f"[{options.host}]" if ":" in options.host else options.host
    port = server.add_insecure_port(f"{host}:{options.grpc_port}")
    if not port:
        raise RuntimeError(f"cannot bind OTLP/gRPC on {host}:{options.grpc_port}")
    server.start()
    return server, port


# ----------------------------------------------------------------------------- HTTP layer
class _RelayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], relay: Relay) -> None:
        self.relay = relay
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        TCPServer.server_bind(self)  # skip getfqdn(): a reverse DNS lookup can stall
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"honeyhive-otel-relay/{__version__}"
    timeout = 120
    server: _RelayHTTPServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        path = self.path.split("?", 1)[0]
        if path in ("/health", "/"):
            payload = {"status": "ok", "version": __version__, **self.server.relay.stats()}
            self._send(Reply(200, json.dumps(payload).encode(), "application/json", {}))
        else:
            self._send(Reply(404, b'{"error": "not found"}', "application/json", {}))

    def do_POST(self) -> None:  # noqa: N802
        relay = self.server.relay
        content_type = self.headers.get("Content-Type", "")
        if self.path.split("?", 1)[0] != "/v1/traces":
            self.close_connection = self._skip_body(1 << 20)
            self._send(Reply(404, otlp.encode_status_json(5, f"no route for POST {self.path}"),
                             "application/json", {}))
            return
        if not relay.try_begin():
            # Read (not parse) a body within the limit so the client gets the 429, not a reset.
            self.close_connection = self._skip_body(relay.options.max_body_bytes)
            self._send(relay.overloaded_reply(content_type))
            return
        try:
            body = self._read_body(relay.options.max_body_bytes)
            reply = relay.handle_traces(body, content_type, self.headers.get("Content-Encoding", "")) \
                if isinstance(body, bytes) else body
        except Exception:  # noqa: BLE001 - answer, never drop the connection silently
            logger.exception("relay failed on a request")
            reply = Reply(500, otlp.encode_status_json(13, "internal relay error"), "application/json", {})
        finally:
            relay.end()
        self._send(reply)

    def _skip_body(self, limit: int) -> bool:
        """Drain a body of at most `limit` bytes so the connection can be reused; True: close it instead."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return True
        if length > limit or "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return True
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                return True
            length -= len(chunk)
        return False

    def _read_body(self, limit: int) -> bytes | Reply:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return Reply(400, otlp.encode_status_json(3, "invalid Content-Length"), "application/json", {})
        if length > limit:
            self.close_connection = True
            return Reply(413, otlp.encode_status_json(3, f"body of {length} bytes exceeds the limit of {limit}"),
                         "application/json", {})
        return self.rfile.read(length) if length else b""

    def _read_chunked(self, limit: int) -> bytes | Reply:
        parts, total = [], 0
        while True:
            try:
                size = int(self.rfile.readline(1 << 16).split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                return Reply(400, otlp.encode_status_json(3, "malformed chunked body"), "application/json", {})
            if size == 0:
                while self.rfile.readline(1 << 16) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > limit:
                self.close_connection = True
                return Reply(413, otlp.encode_status_json(3, f"body exceeds the limit of {limit} bytes"),
                             "application/json", {})
            parts.append(self.rfile.read(size))
            self.rfile.readline(1 << 16)

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True


# ----------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `relay` command's options (shared with `honeyhive-otel relay`)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}, OTLP/HTTP)")
    parser.add_argument("--grpc-port", type=int, default=None,
                        help="also accept OTLP/gRPC on this port (4317 by convention; needs grpcio)")
    parser.add_argument("--server-url", default=None, help="HoneyHive API URL (else HONEYHIVE_SERVER_URL)")
    parser.add_argument("--source", default=None, help="event source (else HONEYHIVE_SOURCE / the span's environment)")
    parser.add_argument("--session-mode", choices=("trace", "process"), default=None,
                        help="spans naming no session: one session per trace (the default without "
                             "--session-id; the same id on every replica) or one per relay process")
    parser.add_argument("--session-id", default=None, help="put every span without a session here")
    parser.add_argument("--session-name", default=None, help="name of sessions the relay creates")
    parser.add_argument("--shards", type=int, default=2, help="exporters per process, spans split by trace id")
    parser.add_argument("--max-inflight", type=int, default=16, help="concurrent requests before answering 429")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--merge-window", type=float, default=2.0, help="seconds a model event waits for its pair")
    parser.add_argument("--export-timeout", type=float, default=10.0, help="seconds one export may take")
    parser.add_argument("--debug", action="store_true", help="record metadata.otel.sources on every event")
    parser.add_argument("--quiet", action="store_true", help="log warnings only")


def run(args: argparse.Namespace) -> int:
    """Run the relay until Ctrl-C or SIGTERM, then flush; returns the exit code."""
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    options = RelayOptions(host=args.host, port=args.port, max_body_bytes=args.max_body_bytes,
                           max_inflight=args.max_inflight, shards=args.shards, grpc_port=args.grpc_port)
    mode = args.session_mode or ("process" if args.session_id else "trace")
    relay = Relay(options, server_url=args.server_url, source=args.source, session_mode=mode,
                  session_id=args.session_id, session_name=args.session_name or "otlp-relay",
                  merge_window=args.merge_window, timeout=args.export_timeout, debug=args.debug or None)
    relay.start()
    done = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: done.set())
    try:
        print(f"honeyhive-otel relay listening on {relay.url}/v1/traces -> "
              f"{relay.exporters[0].server_url}", flush=True)
        if options.grpc_port is not None:
            print(f"OTLP/gRPC on {options.host}:{options.grpc_port}", flush=True)
        if not otlp.protobuf_available():
            print("note: opentelemetry-proto is not installed: only application/json is accepted "
                  "(pip install 'honeyhive-otel[relay]')", flush=True)
        while not done.wait(0.5):
            pass
    finally:
        relay.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        stats = relay.stats()
        print(f"relay stopped: {stats['spans_received']} spans received, {stats['events_exported']} events "
              f"exported, {stats['dropped_total']} dropped", flush=True)
    return 0
