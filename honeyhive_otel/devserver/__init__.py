"""A real local server that speaks HoneyHive's Data Plane API v1, for tests and development.

Why: exporters must be tested against something as strict as HoneyHive (unknown fields
rejected, types checked) and against the failures a network service has (429, 5xx,
partial batches, hangs, resets, refused connections), without a network or an account.
Standard library only.

Write routes (request bodies validated against the v1 schemas in ``schemas.json``; a
violation is ``400 {"error": ..., "field": "events[0].project"}``):

- ``POST /v1/sessions`` (StartSessionRequest): idempotent on ``session_id``; a repeat
  merges ``metadata`` and ``user_properties``. A missing or non-UUID id is replaced by a
  new UUID4. Answers the session event (PostSessionStartResponse). A string ``start_time``
  is a 400 here (the real server silently uses "now"; the schema says number).
- ``POST /v1/events`` (one bare PostEventRequest): ``{"event_id", "success"}``.
- ``POST /v1/events/batch`` (PostEventBatchRequest): ``{"event_ids", "session_id", "success"}``;
  ``session_id`` is present when all events share one session. ``single_session: true``
  creates a session from ``session_properties`` and puts every event in it.
- ``POST /v1/sessions/{session_id}/events/batch`` (SessionEventBatchRequest): the path's
  session id (a UUID) overrides each event's.

Events without ``event_id`` get a UUID4; without ``session_id`` one new UUID4 per request;
``parent_id`` defaults to the session id. Events are stored as received plus those filled-in
ids and nothing else. Bodies over ``max_body_bytes`` (5 MiB) get 413. With ``api_key`` set,
requests without ``Authorization: Bearer <key>`` get 401 (``/health`` and ``/_dev/`` are open).

Read routes (devserver extras, not HoneyHive's API):

- ``GET /v1/events/{event_id}``: ``{"event": {...}}`` or 404.
- ``GET /v1/sessions?limit=N``: ``{"sessions": [...]}``, newest first (default 100).
- ``GET /v1/sessions/{session_id}``: ``{"session": {...} | null, "events": [...]}``, events
  by ``start_time`` then arrival; 404 when neither exists.
- ``GET /health``: ``{"status": "ok", "events": N, "sessions": N}``.

Fault control: ``GET``/``POST``/``DELETE /_dev/faults`` (see :mod:`.faults` for modes and the
``--fault`` syntax). From Python::

    with DevServer() as server:
        server.faults.set("/v1/events/batch", "status", count=2, status=503)
        ...  # point an exporter at server.url
        server.store.events(); server.store.duplicates(); server.requests

CLI: ``python -m honeyhive_otel.devserver --port 8787 [--host H] [--db PATH] [--fault SPEC ...]``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .faults import Fault, FaultRegistry, parse_fault_spec
from .schema import SchemaError
from .server import DEFAULT_MAX_BODY_BYTES, DevServer, RequestRecord, write_schema_for
from .store import Store

__all__ = ["DevServer", "Fault", "FaultRegistry", "RequestRecord", "SchemaError", "Store", "main",
           "parse_fault_spec", "write_schema_for"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m honeyhive_otel.devserver",
        description="Local HoneyHive Data Plane API v1 server for development and tests.",
        epilog="Fault syntax: [PATH_PREFIX:]MODE[=VALUE][,KEY=VALUE...], e.g. "
               "'/v1/events/batch:status=503,count=2', '/v1/events/batch:status=429,retry_after=1', "
               "'latency=300', '/v1/events/batch:partial', 'refuse=2000'. Modes: latency, hang, status, "
               "partial, max_bytes, reset, refuse.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port (0 picks a free one; default 8787)")
    parser.add_argument("--db", default=":memory:", help="SQLite file to keep data across restarts")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer <key>'")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC", help="inject a fault")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the devserver until Ctrl-C or SIGTERM; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    faults = FaultRegistry()
    try:
        for spec in args.fault:
            faults.add(parse_fault_spec(spec))
    except ValueError as err:
        parser.error(str(err))
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(message)s", stream=sys.stderr)
    done = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: done.set())
    server = DevServer(args.host, args.port, args.db, args.api_key, max_body_bytes=args.max_body_bytes,
                       faults=faults).start()
    try:
        print(f"HoneyHive devserver listening on {server.url}", flush=True)
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
