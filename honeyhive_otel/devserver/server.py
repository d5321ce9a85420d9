"""The devserver's HTTP layer: routing, strict validation, auth, faults and the request log.

Built on ``http.server`` (HTTP/1.1 keep-alive, one thread per connection) so it needs
nothing beyond the standard library. See the package docstring for the routes.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import select
import socket
import struct
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import viewer
from .faults import Fault, FaultRegistry, fault_from_json
from .schema import SchemaError, validate
from .store import Store

logger = logging.getLogger("honeyhive_otel.devserver")

DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
_DRAIN_LIMIT = 64 * 1024 * 1024  # beyond this an oversized body is not read, the connection is closed
_SESSION_BATCH = re.compile(r"^/v1/sessions/([^/]+)/events/batch$")
_WRITE_SCHEMAS = {"/v1/sessions": "StartSessionRequest", "/v1/events": "PostEventRequest",
                  "/v1/events/batch": "PostEventBatchRequest"}
_PLACEHOLDER_ID = "devserver"  # org_id / workspace_id / project_id of sessions


@dataclass
class RequestRecord:
    """One request as the server saw it; the Authorization header is never kept."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int | None = None  # None: no response was sent (hang, reset)
    body: Any = None  # parsed JSON; None when absent, too large or not JSON
    body_bytes: int = 0
    schema: str | None = None  # component schema that applies to this write route
    valid: bool | None = None  # the devserver's schema verdict on ``body``; None when not checked
    schema_error: str | None = None  # "field: message" when ``valid`` is False
    error: str | None = None  # the 4xx/5xx error message, if any
    fault: str | None = None  # mode of the injected fault that hit this request

    @property
    def is_write(self) -> bool:
        return self.schema is not None


def write_schema_for(path: str) -> str | None:
    """The request-body schema of a v1 write route (POST), or None."""
    if path in _WRITE_SCHEMAS:
        return _WRITE_SCHEMAS[path]
    return "SessionEventBatchRequest" if _SESSION_BATCH.match(path) else None


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _now_ms() -> float:
    return round(time.time() * 1000, 3)


def build_session(body: dict[str, Any]) -> dict[str, Any]:
    """The session event the v1 server makes from a StartSessionRequest (with its defaults)."""
    sid = body.get("session_id")
    sid = sid if _is_uuid(sid) else str(uuid.uuid4())
    start = body.get("start_time")
    session: dict[str, Any] = {
        "event_id": sid, "session_id": sid, "parent_id": None, "children_ids": body.get("children_ids", []),
        "event_type": "session", "event_name": body.get("event_name") or body.get("session_name") or "unknown",
        "source": body.get("source", "unknown"), "config": body.get("config", {}),
        "inputs": body.get("inputs", {}), "outputs": body.get("outputs", {}), "error": None,
        "duration": body.get("duration"),
        "start_time": start if isinstance(start, (int, float)) else _now_ms(),
        "end_time": body.get("end_time"), "metadata": body.get("metadata", {}),
        "user_properties": body.get("user_properties", {}), "metrics": {}, "feedback": {},
        "org_id": _PLACEHOLDER_ID, "workspace_id": _PLACEHOLDER_ID, "project_id": _PLACEHOLDER_ID,
    }
    if "session_name" in body:
        session["session_name"] = body["session_name"]
    return session


class _Reject(Exception):
    """Abort the request with an error response."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers or {}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], dev: DevServer) -> None:
        self.dev = dev
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall for seconds.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


class DevServer:
    """A local HoneyHive Data Plane API v1 server for tests and development.

    ``store`` holds what was accepted, ``faults`` injects failures, ``requests`` lists what
    reached the server. The store stays readable after :meth:`stop`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, db_path: str = ":memory:",
                 api_key: str | None = None, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 max_logged_requests: int = 1000, faults: FaultRegistry | None = None) -> None:
        self.host, self.port = host, port
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes
        self.store = Store(db_path)
        self.faults = faults or FaultRegistry()
        self.stopping = threading.Event()
        self._log: deque[RequestRecord] = deque(maxlen=max_logged_requests)
        self._log_lock = threading.Lock()
        self._listen_lock = threading.RLock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._listening = False
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> DevServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError("DevServer already started")
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_port
        self._listening = True
        self._serve_in_thread()
        self.faults.on_refuse(self._set_refusing)
        if self.faults.refusing:
            self._set_refusing(True)
        logger.info("devserver listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving; ends hanging requests and open connections. Idempotent."""
        if self._httpd is None or self.stopping.is_set():
            return
        self.stopping.set()
        self.faults.on_refuse(None)
        with self._listen_lock:
            if self._listening:
                self._close_listener()
            self._httpd.server_close()

    def __enter__(self) -> DevServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("DevServer not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- request log -------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the recent requests (oldest first), excluding ``/_dev/`` calls."""
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def record(self, rec: RequestRecord) -> None:
        with self._log_lock:
            self._log.append(rec)

    def wait_for_events(self, count: int, timeout: float = 5.0, session_id: str | None = None) -> list[dict[str, Any]]:
        """Poll the store until it holds at least ``count`` events (or the timeout); returns them."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.store.events(session_id)
            if len(events) >= count or time.monotonic() >= deadline:
                return events
            time.sleep(0.02)

    # -- connections and the listener (for `refuse` and shutdown) -----------------------
    def track(self, conn: socket.socket, opened: bool) -> None:
        with self._conn_lock:
            (self._connections.add if opened else self._connections.discard)(conn)

    def _serve_in_thread(self) -> None:
        assert self._httpd is not None
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"hh-devserver:{self.port}", daemon=True)
        self._thread.start()

    def _close_listener(self) -> None:
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._thread.join()
        self._httpd.socket.close()
        self._listening = False
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:  # pooled keep-alive connections must not outlive the listener
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _set_refusing(self, refusing: bool) -> None:
        with self._listen_lock:
            if self._httpd is None or self.stopping.is_set() or refusing != self._listening:
                return
            if refusing:
                self._close_listener()
                logger.info("devserver refusing connections on port %s", self.port)
                return
            httpd = self._httpd
            httpd.socket = socket.socket(httpd.address_family, socket.SOCK_STREAM)
            httpd.server_bind()
            httpd.server_activate()
            self._listening = True
            self._serve_in_thread()
            logger.info("devserver accepting connections again on port %s", self.port)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle on, the body of a reply waits for the
    # client's delayed ACK (~40 ms per request sent back to back).
    disable_nagle_algorithm = True
    server_version = "honeyhive-otel-devserver"
    timeout = 60  # idle keep-alive connections are dropped after this
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.dev.track(self.connection, True)

    def finish(self) -> None:
        self.server.dev.track(self.connection, False)
        try:
            super().finish()
        except OSError:
            pass

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- plumbing ----------------------------------------------------------------------
    def _dispatch(self) -> None:
        dev = self.server.dev
        split = urlsplit(self.path)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
        self.rec = RequestRecord(method=self.command, path=split.path, query=split.query, headers=headers)
        self._recorded = False
        is_viewer = viewer.handles(split.path)
        try:
            if is_viewer:  # the web page and its polling: not logged, no faults, no key (like /_dev/)
                self._recorded = True
                self._read_body(_DRAIN_LIMIT)
                self._send_raw(*viewer.respond(dev.store, self.command, split.path, split.query))
            elif split.path.startswith("/_dev/"):
                self._recorded = True  # control calls are not part of the request log
                self._dev_route(self._read_body(_DRAIN_LIMIT))
            else:
                self._handle(dev)
        except _NoResponse:
            pass
        except _Reject as err:
            self._send_error(err)
        except Exception as err:  # a dev server must answer, not die
            logger.exception("devserver error on %s %s", self.command, split.path)
            self._send_error(_Reject(500, f"internal devserver error: {type(err).__name__}"))
        finally:
            self._record()
            logger.log(logging.DEBUG if is_viewer else logging.INFO, "%s %s -> %s%s", self.command, split.path,
                       self.rec.status or "no response", f" (fault {self.rec.fault})" if self.rec.fault else "")

    def _record(self) -> None:
        if not self._recorded:
            self._recorded = True
            self.server.dev.record(self.rec)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.rec.status = status
        self._record()  # before the client can see the response, so tests never race the log
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _send_raw(self, status: int, content_type: str, data: bytes, headers: dict[str, str]) -> None:
        self.rec.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, err: _Reject) -> None:
        self.rec.error = err.message
        payload: dict[str, Any] = {"error": err.message}
        if err.field is not None:
            payload["field"] = err.field
        self._send_json(err.status, payload, err.headers)

    def _read_body(self, cap: int) -> bytes:
        """Read the whole body; oversized bodies are drained (when reasonable) and answered 413."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(cap)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise _Reject(400, "invalid Content-Length") from None
        self.rec.body_bytes = length
        if length > cap:
            if length <= _DRAIN_LIMIT:
                self._drain(length)
            else:
                self.close_connection = True
            raise _Reject(413, f"request body of {length} bytes exceeds the limit of {cap} bytes")
        return self.rfile.read(length) if length else b""

    def _drain(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)

    def _read_chunked(self, cap: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1 << 16)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise _Reject(400, "malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1 << 16) not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunk = self.rfile.read(size)
            self.rfile.readline(1 << 16)
            total += len(chunk)
            if total <= cap:
                parts.append(chunk)
            elif total > _DRAIN_LIMIT:
                self.close_connection = True
                break
        self.rec.body_bytes = total
        if total > cap:
            raise _Reject(413, f"request body of {total} bytes exceeds the limit of {cap} bytes")
        return b"".join(parts)

    def _parse_json(self, raw: bytes) -> Any:
        def no_constants(name: str) -> Any:
            raise ValueError(f"{name} is not valid JSON")

        try:
            return json.loads(raw.decode("utf-8"), parse_constant=no_constants)
        except (UnicodeDecodeError, ValueError) as err:
            raise _Reject(400, f"body is not valid JSON: {err}", "$") from None

    # -- the request pipeline ----------------------------------------------------------
    def _handle(self, dev: DevServer) -> None:
        path, method = self.rec.path, self.command
        schema = self.rec.schema = write_schema_for(path) if method == "POST" else None
        raw = self._read_body(dev.max_body_bytes)
        self.rec.body_bytes = len(raw)
        body: Any = None
        parse_error: _Reject | None = None
        if raw:
            try:
                body = self.rec.body = self._parse_json(raw)
            except _Reject as err:
                parse_error = err
        schema_error: SchemaError | None = None
        if schema is not None and parse_error is None and raw:
            try:
                validate(body, schema)
                self.rec.valid = True
            except SchemaError as err:
                schema_error, self.rec.valid, self.rec.schema_error = err, False, str(err)

        self._apply_faults(dev, len(raw))
        self._check_auth(dev)
        if schema is not None:
            if parse_error is not None or not raw:
                raise parse_error or _Reject(400, "request body is required", "$")
            if schema_error is not None:
                raise _Reject(400, schema_error.message, schema_error.field)
        self._route(dev, path, method, body)

    def _apply_faults(self, dev: DevServer, size: int) -> None:
        path, method = self.rec.path, self.command
        delay = dev.faults.take_latency_ms(path, method)
        if delay:
            self.rec.fault = "latency"
            dev.stopping.wait(delay / 1000.0)
        fault = dev.faults.take(path, method, {"max_bytes"}, accept=lambda f: size > f.params["limit"])
        if fault is not None:
            self.rec.fault = "max_bytes"
            raise _Reject(413, f"request body of {size} bytes exceeds the limit of {fault.params['limit']} bytes")
        fault = dev.faults.take(path, method, {"hang", "reset", "status"})
        if fault is None:
            return
        self.rec.fault = fault.mode
        if fault.mode == "hang":
            self._hang(dev)
        elif fault.mode == "reset":
            self._reset()
        else:
            self._fault_status(fault)

    def _hang(self, dev: DevServer) -> None:
        self._record()
        self.close_connection = True
        conn = self.connection
        while not dev.stopping.wait(0.05):
            try:
                readable, _, _ = select.select([conn], [], [], 0)
                if readable and not conn.recv(1, socket.MSG_PEEK):
                    break  # the client gave up
            except OSError:
                break
        raise _NoResponse

    def _reset(self) -> None:
        self._record()
        self.close_connection = True
        conn = self.connection
        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # drop the file's reference so close() really closes: RST, no FIN
            conn.close()
        except OSError:
            pass
        raise _NoResponse

    def _fault_status(self, fault: Fault) -> None:
        status = int(fault.params["status"])
        headers = {}
        if "retry_after" in fault.params:
            headers["Retry-After"] = str(fault.params["retry_after"])
        if "body" in fault.params:
            self.rec.error = f"injected status {status}"
            self._send_json(status, fault.params["body"], headers)
            raise _NoResponse
        raise _Reject(status, f"injected fault: status {status}", headers=headers)

    def _check_auth(self, dev: DevServer) -> None:
        if dev.api_key is None or self.rec.path == "/health":
            return
        given = self.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), dev.api_key.encode()):
            raise _Reject(401, "missing or invalid API key (expected Authorization: Bearer <key>)",
                          headers={"WWW-Authenticate": "Bearer"})

    # -- routes ------------------------------------------------------------------------
    def _route(self, dev: DevServer, path: str, method: str, body: Any) -> None:
        match = _SESSION_BATCH.match(path)
        if method == "POST" and path == "/v1/sessions":
            self._send_json(200, dev.store.start_session(build_session(body)))
        elif method == "POST" and path == "/v1/events":
            self._write_events(dev, [body], single=True)
        elif method == "POST" and path == "/v1/events/batch":
            sid = None
            if body.get("single_session"):
                session = dev.store.start_session(build_session(body.get("session_properties") or {}))
                sid = session["session_id"]
            self._write_events(dev, body["events"], override=sid)
        elif method == "POST" and match:
            if not _is_uuid(match.group(1)):
                raise _Reject(400, "session_id in the path must be a UUID", "session_id")
            self._write_events(dev, body["events"], override=match.group(1))
        elif method == "GET" and path == "/health":
            self._send_json(200, {"status": "ok", **dev.store.counts()})
        elif method == "GET" and path.startswith("/v1/events/") and path.count("/") == 3:
            event = dev.store.event(path.rsplit("/", 1)[1])
            if event is None:
                raise _Reject(404, "event not found")
            self._send_json(200, {"event": event})
        elif method == "GET" and path == "/v1/sessions":
            self._send_json(200, {"sessions": dev.store.sessions(self._limit())})
        elif method == "GET" and path.startswith("/v1/sessions/") and path.count("/") == 3:
            sid = path.rsplit("/", 1)[1]
            session, events = dev.store.session(sid), dev.store.events(sid)
            if session is None and not events:
                raise _Reject(404, "session not found")
            self._send_json(200, {"session": session, "events": events})
        elif path in _WRITE_SCHEMAS or match or path == "/health":
            raise _Reject(405, f"method {method} not allowed on {path}")
        else:
            raise _Reject(404, f"no route for {method} {path}")

    def _limit(self) -> int:
        values = parse_qs(self.rec.query).get("limit", ["100"])
        try:
            limit = int(values[0])
        except ValueError:
            limit = -1
        if limit < 0:
            raise _Reject(400, "limit must be a non-negative integer", "limit")
        return limit

    def _write_events(self, dev: DevServer, events: list[dict[str, Any]], *, single: bool = False,
                      override: str | None = None) -> None:
        generated_sid: str | None = None
        prepared = []
        for sent in events:
            event = dict(sent)
            if override is not None:
                event["session_id"] = override
            elif "session_id" not in event:
                generated_sid = generated_sid or str(uuid.uuid4())  # one new session per request
                event["session_id"] = generated_sid
            event.setdefault("event_id", str(uuid.uuid4()))
            event.setdefault("parent_id", event["session_id"])
            prepared.append(event)

        partial = dev.faults.take(self.rec.path, self.command, {"partial"})
        if partial is not None:
            self.rec.fault = "partial"
            created = min(len(prepared), int(partial.params.get("created", len(prepared) // 2)))
            ids = dev.store.add_events(prepared[:created])
            errors = [f"events[{i}]: could not create event (injected partial failure)"
                      for i in range(created, len(prepared))]
            self.rec.error = "injected partial failure"
            self._send_json(500, {"event_ids": ids, "errors": errors, "success": False})
            return

        ids = dev.store.add_events(prepared)
        if single:
            self._send_json(200, {"event_id": ids[0], "success": True})
            return
        response: dict[str, Any] = {"event_ids": ids, "success": True}
        session_ids = {event["session_id"] for event in prepared}
        if override is not None or len(session_ids) == 1:
            response["session_id"] = override or session_ids.pop()
        self._send_json(200, response)

    def _dev_route(self, raw: bytes) -> None:
        faults = self.server.dev.faults
        if self.rec.path != "/_dev/faults":
            raise _Reject(404, f"no route for {self.command} {self.rec.path}")
        if self.command == "DELETE":
            faults.clear()
        elif self.command == "POST":
            self._add_faults(faults, self._parse_json(raw))
        elif self.command != "GET":
            raise _Reject(405, f"method {self.command} not allowed on {self.rec.path}")
        self._send_json(200, {"faults": [f.to_dict() for f in faults.active()]})

    def _add_faults(self, faults: FaultRegistry, data: Any) -> None:
        """Add faults from ``POST /_dev/faults`` JSON (one object or a list)."""
        try:
            new = [fault_from_json(item) for item in (data if isinstance(data, list) else [data])]
        except ValueError as err:
            raise _Reject(400, str(err), "$") from None
        refusing = [f for f in new if f.mode == "refuse"]
        if any("duration_ms" not in f.params for f in refusing):
            raise _Reject(400, "refuse over HTTP needs duration_ms, or nothing could reach the server to clear it",
                          "duration_ms")
        if refusing:
            # The listener closes before this response is sent (so the caller's next connection is
            # refused, no race); only this connection survives it, to carry the answer.
            self.close_connection = True
            self.server.dev.track(self.connection, False)
        for fault in new:
            faults.add(fault)


class _NoResponse(Exception):
    """The response was already sent, or deliberately never will be."""
