"""`HoneyHiveSpanExporter`: a SpanExporter that sends spans to HoneyHive as events.

Usable alone behind any `BatchSpanProcessor` (sessions included); `HoneyHiveSpanProcessor`
only adds enrichment. `export()` never raises and never waits beyond the export timeout.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from . import config as cfg
from .coalesce import Coalescer
from .event import Event
from .mapping import MappingOptions, SpanMapper
from .mapping.limits import bound_event
from .sessions import SessionResolver
from .stats import ExportStats, RateLimitedLog, logger
from .transport import HoneyHiveTransport, TransportOptions, encode

_MAX_KNOWN_SESSIONS = 100_000


class HoneyHiveSpanExporter(SpanExporter):
    """Maps spans to HoneyHive events and ships them with `POST /v1/events/batch`."""

    def __init__(
        self,
        api_key: str | None = None,
        server_url: str | None = None,
        *,
        source: str | None = None,
        session_id: str | None = None,
        session_name: str | None = None,
        session_mode: str = "process",
        session_metadata: dict[str, Any] | None = None,
        user_properties: dict[str, Any] | None = None,
        timeout: float | None = None,
        debug: bool | None = None,
        capture_content: bool = True,
        max_value_chars: int = 4_000_000,
        max_request_bytes: int = 5_000_000,
        merge_window: float = 2.0,
        gzip_min_bytes: int = 0,
        verify: bool | str = True,
        allow_insecure_http: bool = False,
        stats: ExportStats | None = None,
    ) -> None:
        self._api_key = cfg.resolve_api_key(api_key)
        self.server_url = cfg.resolve_server_url(server_url)
        cfg.validate_endpoint(self.server_url, self._api_key, allow_insecure_http)
        self.timeout = timeout if timeout is not None else cfg.default_export_timeout()
        self.stats = stats or ExportStats()
        self.sessions = SessionResolver(
            session_id=session_id or cfg.env("HONEYHIVE_SESSION_ID"),
            session_name=session_name or cfg.env("HONEYHIVE_SESSION_NAME") or cfg.default_session_name(),
            mode=session_mode,
            metadata=session_metadata,
            user_properties=user_properties,
        )
        self.mapper = SpanMapper(
            MappingOptions(
                source=source or cfg.env("HONEYHIVE_SOURCE", "HH_SOURCE"),
                debug=cfg.env_bool("HONEYHIVE_DEBUG") if debug is None else debug,
                capture_content=capture_content,
                max_value_chars=max_value_chars,
            ),
            self.sessions,
        )
        self.transport = HoneyHiveTransport(
            self.server_url, self._api_key, self.stats,
            TransportOptions(max_request_bytes=max_request_bytes, gzip_min_bytes=gzip_min_bytes, verify=verify),
        )
        self.coalescer = Coalescer(window_s=merge_window)
        self._known_sessions: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.RLock()
        self._log = RateLimitedLog()
        self._deadline_cap: float | None = None  # set by flush/shutdown so in-flight work stops in time
        self._shutdown = False
        self._timer: threading.Thread | None = None
        self._wake = threading.Event()

    # ----- SpanExporter -----------------------------------------------------------------
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        if self._shutdown:
            self.stats.drop("after_shutdown", len(spans))
            return SpanExportResult.FAILURE
        try:
            self.stats.add("spans_received", len(spans))
            events = [self.mapper.map(span) for span in spans]
            with self._lock:
                ready = self.coalescer.add(events)
                ok = self._send(ready)
            self._ensure_timer()
            return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE
        except Exception:  # noqa: BLE001 - an exporter must never raise into the SDK
            logger.debug("export failed", exc_info=True)
            self.stats.drop("exporter_error", len(spans))
            self._log.warning("exporter_error", "honeyhive-otel failed to export %d spans", len(spans))
            return SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Send everything held for merging, within `timeout_millis`."""
        deadline = time.monotonic() + timeout_millis / 1000
        with self._lock:
            return self._send(self.coalescer.drain(), deadline)

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        if self._shutdown:
            return
        deadline = time.monotonic() + max(timeout_millis, 0) / 1000
        self._deadline_cap = deadline
        try:
            with self._lock:
                self._send(self.coalescer.drain(), deadline)
        finally:
            self._shutdown = True
            self._wake.set()
            self.transport.stop()
            self._report_drops()

    # ----- sending ------------------------------------------------------------------
    def _deadline(self) -> float:
        deadline = time.monotonic() + self.timeout
        return min(deadline, self._deadline_cap) if self._deadline_cap is not None else deadline

    def _send(self, events: list[Event], deadline: float | None = None) -> bool:
        """Create new sessions, then send events; returns False if any event was lost."""
        if not events:
            return True
        deadline = min(deadline, self._deadline()) if deadline is not None else self._deadline()
        self._create_sessions(events, deadline)
        encoded = [self._encode(event) for event in events]
        sendable = [(event, body) for event, body in zip(events, encoded, strict=True) if body is not None]
        failed = self.transport.send_events([body for _, body in sendable], [e.event_id for e, _ in sendable],
                                            deadline)
        lost = len(failed) + (len(events) - len(sendable))
        if failed:
            self.stats.drop("export_failed", len(failed))
            if not self.transport.auth_failed:  # a rejected key was already logged, once
                self._log.warning("export_failed", "honeyhive-otel dropped %d events: %s",
                                  len(failed), self.stats.last_error or "unknown error")
        return lost == 0

    def _encode(self, event: Event) -> bytes | None:
        """One event as JSON bytes, shrunk until it fits the request budget, else None (counted)."""
        try:
            body = encode(event.to_request())
            limit = self.transport.options.max_request_bytes - 64
            max_chars = self.mapper.options.max_value_chars
            while len(body) > limit and max_chars > 1_000:
                max_chars //= 4
                body = encode(bound_event(event, max_chars).to_request())
            if len(body) > limit:
                self.stats.drop("too_large")
                return None
            return body
        except Exception:  # noqa: BLE001
            logger.debug("event encoding failed", exc_info=True)
            self.stats.drop("unserialisable")
            return None

    def _create_sessions(self, events: list[Event], deadline: float) -> None:
        first: dict[str, Event] = {}
        for event in events:
            if event.session_id in self._known_sessions:
                continue
            current = first.get(event.session_id)
            if current is None or event.start_time < current.start_time:
                first[event.session_id] = event
        for session_id, event in first.items():
            info = event.session
            body = info.to_request() if info is not None else {"session_id": session_id, "inputs": {}}
            body["start_time"] = min(body.get("start_time") or event.start_time, event.start_time)
            if self.transport.create_session(body, deadline):
                self._known_sessions[session_id] = None
                while len(self._known_sessions) > _MAX_KNOWN_SESSIONS:
                    self._known_sessions.popitem(last=False)

    # ----- held events --------------------------------------------------------------
    def _ensure_timer(self) -> None:
        """Start the release thread lazily, only when something is held for merging."""
        if self._shutdown or not len(self.coalescer):
            return
        if self._timer is None or not self._timer.is_alive():
            self._timer = threading.Thread(target=self._release_loop, name="HoneyHiveRelease", daemon=True)
            self._timer.start()
        self._wake.set()

    def _release_loop(self) -> None:
        while not self._shutdown:
            self._wake.clear()
            with self._lock:
                next_deadline = self.coalescer.next_deadline()
            if next_deadline is None:
                return
            wait = next_deadline - time.monotonic()
            if wait > 0 and self._wake.wait(wait):
                continue
            try:
                with self._lock:
                    self._send(self.coalescer.due())
            except Exception:  # noqa: BLE001
                logger.debug("release of held events failed", exc_info=True)

    def _report_drops(self) -> None:
        snapshot = self.stats.snapshot()
        if snapshot["dropped_total"]:
            logger.warning("honeyhive-otel shut down with %d spans/events dropped: %s (last error: %s)",
                           snapshot["dropped_total"], snapshot["dropped"], snapshot["last_error"])
