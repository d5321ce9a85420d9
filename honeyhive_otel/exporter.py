"""`HoneyHiveSpanExporter`: a SpanExporter that sends spans to HoneyHive as events.

Usable alone behind any `BatchSpanProcessor` (sessions included); `HoneyHiveSpanProcessor`
only adds enrichment. `export()` never raises and never waits beyond the export timeout;
`force_flush()` and `shutdown()` return within their timeouts even when the server hangs.
Every body is scrubbed of credentials (`secrets.py`) just before it is encoded. With
`spool_dir`, events HoneyHive did not answer for are kept on disk and replayed (`spool.py`).
Safe across `fork()`: the child starts with fresh locks, connections and nothing held.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from . import config as cfg
from .coalesce import Coalescer
from .event import Event, SessionInfo
from .gil import yielding
from .logs import GenAILogRecordProcessor, GenAILogStore
from .mapping import MappingOptions, SpanMapper
from .mapping.limits import bound_event
from .privacy import Privacy
from .secrets import Scrubber
from .sessions import SessionResolver
from .spool import DEFAULT_MAX_BYTES, Spool, SpooledBatch
from .stats import ExportStats, RateLimitedLog, logger
from .transport import EncodedEvents, HoneyHiveTransport, TransportOptions, encode

_MAX_KNOWN_SESSIONS = 100_000
# A batch is mapped, merged and encoded this many spans at a time: an event is encoded while what
# it was made of is still in the CPU's caches, and a batch never holds all its events at once.
# (Measured on 512 GenAI spans with 2 KB of messages: ~4% less CPU per span than mapping the whole
# batch first; the coalescer pairs spans across chunks as it does across batches.)
_CHUNK_SPANS = 32


class _Outgoing:
    """The events of one delivery, encoded: their bodies in one buffer, what a failed delivery needs
    of each (its id, its session), and the sessions to create first (id -> the session and start
    time of its earliest event)."""

    __slots__ = ("encoded", "event_ids", "session_ids", "new_sessions", "unsent")

    def __init__(self) -> None:
        self.encoded = EncodedEvents()
        self.event_ids: list[str] = []
        self.session_ids: list[str] = []
        self.new_sessions: dict[str, tuple[SessionInfo | None, float]] = {}
        self.unsent = 0  # events that could not be encoded (`_encode` counted each)


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
        session_mode: str | None = None,
        session_metadata: dict[str, Any] | None = None,
        user_properties: dict[str, Any] | None = None,
        timeout: float | None = None,
        debug: bool | None = None,
        capture_content: bool | None = None,
        redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        max_value_chars: int = 4_000_000,
        max_request_bytes: int = 5_000_000,
        merge_window: float = 2.0,
        gzip_min_bytes: int = 0,
        verify: bool | str = True,
        allow_insecure_http: bool = False,
        spool_dir: str | os.PathLike[str] | None = None,
        spool_max_bytes: int | None = None,
        stats: ExportStats | None = None,
        log_store: GenAILogStore | None = None,
    ) -> None:
        self._api_key = cfg.resolve_api_key(api_key)
        self.server_url = cfg.resolve_server_url(server_url)
        cfg.validate_endpoint(self.server_url, self._api_key, allow_insecure_http)
        self.timeout = timeout if timeout is not None else cfg.default_export_timeout()
        self.stats = stats or ExportStats()
        if capture_content is None:
            capture_content = cfg.env_bool("HONEYHIVE_CAPTURE_CONTENT", default=True)
        self.privacy = Privacy(capture_content, redact, self.stats)
        self.sessions = SessionResolver(
            session_id=session_id or cfg.env("HONEYHIVE_SESSION_ID"),
            session_name=session_name or cfg.env("HONEYHIVE_SESSION_NAME") or cfg.default_session_name(),
            mode=session_mode or cfg.env("HONEYHIVE_SESSION_MODE") or "process",
            metadata=session_metadata,
            user_properties=user_properties,
        )
        # GenAI content that instrumentations emit as log records: add `exporter.log_processor`
        # to the SDK LoggerProvider (configure() does) and it joins the spans when they are mapped.
        self.log_store = log_store if log_store is not None else GenAILogStore(stats=self.stats)
        self.log_processor = GenAILogRecordProcessor(self.log_store)
        self.mapper = SpanMapper(
            MappingOptions(
                source=source or cfg.env("HONEYHIVE_SOURCE", "HH_SOURCE"),
                debug=cfg.env_bool("HONEYHIVE_DEBUG") if debug is None else debug,
                capture_content=capture_content,
                max_value_chars=max_value_chars,
            ),
            self.sessions,
            log_store=self.log_store,
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
        self._scrubber = Scrubber([self._api_key])
        self._closing = False
        self.spool = _make_spool(spool_dir, spool_max_bytes, self.stats)
        self._replay_thread: threading.Thread | None = None
        self._next_replay_check = 0.0
        if self.spool is not None and self.spool.pending():
            self._start_replay()
        if hasattr(os, "register_at_fork"):
            after_fork = weakref.WeakMethod(self._after_fork_in_child)
            os.register_at_fork(after_in_child=lambda: (method := after_fork()) is not None and method())

    # ----- SpanExporter -----------------------------------------------------------------
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        if self._shutdown:
            self.stats.drop("after_shutdown", len(spans))
            return SpanExportResult.FAILURE
        try:
            self.stats.add("spans_received", len(spans))
            outgoing = _Outgoing()
            chunk: list[Event] = []
            for span in yielding(spans):
                chunk.append(self.mapper.map(span, bound=False))
                if len(chunk) == _CHUNK_SPANS:
                    self._merge_and_stage(chunk, outgoing)
                    chunk = []
            if chunk:
                self._merge_and_stage(chunk, outgoing)
            with self._lock:
                ok = self._deliver(outgoing)
            self._ensure_timer()
            return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE
        except Exception:  # noqa: BLE001 - an exporter must never raise into the SDK
            logger.debug("export failed", exc_info=True)
            self.stats.drop("exporter_error", len(spans))
            self._log.warning("exporter_error", "honeyhive-otel failed to export %d spans", len(spans))
            return SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Send everything held for merging, within `timeout_millis` (False if that was not possible)."""
        budget = max(timeout_millis, 0) / 1000
        deadline = time.monotonic() + budget
        if not self._lock.acquire(timeout=budget):  # an export is still in flight
            return False
        try:
            return self._send(self.coalescer.drain(), deadline)
        except Exception:  # noqa: BLE001
            logger.debug("force_flush failed", exc_info=True)
            return False
        finally:
            self._lock.release()

    def begin_shutdown(self, timeout_s: float) -> None:
        """Called before the SDK drains its queue into us: nothing may outlast `timeout_s`."""
        deadline = time.monotonic() + max(timeout_s, 0.0)
        self._deadline_cap = deadline if self._deadline_cap is None else min(self._deadline_cap, deadline)
        self.transport.cap_deadline(self._deadline_cap)

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        """Send what is held and stop, within `timeout_millis` even if the server hangs.

        The transport's deadline is capped, so retries and a request in flight end in time.
        If HoneyHive did not answer the latest attempt at all, held events go straight to the
        spool (when there is one) or get one short attempt, rather than a second full timeout.
        """
        if self._shutdown or self._closing:
            return
        self._closing = True
        started = time.monotonic()
        budget = max(timeout_millis, 0) / 1000
        deadline = started + budget
        self._deadline_cap = deadline
        self.transport.cap_deadline(deadline - min(0.25, budget / 5))  # leaves time to spool what was cut
        acquired = self._lock.acquire(timeout=budget)
        try:
            if acquired:
                drain_deadline = deadline
                if not self.transport.healthy:
                    drain_deadline = started if self.spool is not None else min(deadline, time.monotonic() + 0.5)
                self._send(self.coalescer.drain(), drain_deadline)
            else:
                self.stats.drop("shutdown_timeout", len(self.coalescer))  # still held by a stuck export
        except Exception:  # noqa: BLE001
            logger.debug("shutdown failed", exc_info=True)
        finally:
            if acquired:
                self._lock.release()
            self._shutdown = True
            self._wake.set()
            replay = self._replay_thread
            if replay is not None and replay.is_alive():
                replay.join(max(0.0, deadline - time.monotonic()))
            self.transport.stop()
            self._report_drops()

    # ----- sending ------------------------------------------------------------------
    def _deadline(self) -> float:
        deadline = time.monotonic() + self.timeout
        return min(deadline, self._deadline_cap) if self._deadline_cap is not None else deadline

    def _send(self, events: list[Event], deadline: float | None = None) -> bool:
        """Send `events` (sessions first); returns False if any event was not delivered."""
        outgoing = _Outgoing()
        self._stage(events, outgoing)
        return self._deliver(outgoing, deadline)

    def _merge_and_stage(self, events: list[Event], outgoing: _Outgoing) -> None:
        with self._lock:
            self._stage(self.coalescer.add(events), outgoing)

    def _stage(self, events: list[Event], outgoing: _Outgoing) -> None:
        """Encode `events` into `outgoing`, noting the sessions to create before they are sent."""
        known, new_sessions = self._known_sessions, outgoing.new_sessions
        for event in yielding(events):
            session_id = event.session_id
            if session_id not in known:
                first = new_sessions.get(session_id)
                if first is None or event.start_time < first[1]:  # created with its earliest event's start
                    new_sessions[session_id] = (event.session, event.start_time)
            body = self._encode(event)
            if body is None:
                outgoing.unsent += 1
                continue
            outgoing.encoded.append(body)
            outgoing.event_ids.append(event.event_id)
            outgoing.session_ids.append(session_id)

    def _deliver(self, outgoing: _Outgoing, deadline: float | None = None) -> bool:
        """Create the new sessions, then send the events; returns False if any event was not delivered.

        Events HoneyHive never answered for go to the spool when there is one; every other
        undelivered event is counted as dropped.
        """
        if not outgoing.event_ids and not outgoing.unsent and not outgoing.new_sessions:
            return True
        deadline = min(deadline, self._deadline()) if deadline is not None else self._deadline()
        unconfirmed = self._create_sessions(outgoing.new_sessions, deadline)
        delivery = self.transport.deliver(outgoing.encoded, outgoing.event_ids, deadline)
        failed = delivery.failed
        lost = len(failed) + outgoing.unsent
        if failed:
            spooled, handled = self._spool_failed(outgoing, delivery.retryable, unconfirmed)
            dropped = len(failed) - handled  # the spool counts its own drops (spool_full, spool_error)
            if dropped:
                self.stats.drop("export_failed", dropped)
                if not self.transport.auth_failed:  # a rejected key was already logged, once
                    self._log.warning("export_failed", "honeyhive-otel dropped %d events: %s",
                                      dropped, self.stats.last_error or "unknown error")
            if spooled:
                self._log.warning("spooled", "honeyhive-otel could not deliver %d events (%s); kept them in the "
                                  "spool for later", spooled, self.stats.last_error or "unknown error")
        elif self.spool is not None:
            self._maybe_replay()
        return lost == 0

    def _spool_failed(self, outgoing: _Outgoing, indices: list[int],
                      unconfirmed: dict[str, dict[str, Any]]) -> tuple[int, int]:
        """Write the retryable undelivered events (and their unconfirmed sessions) to the spool.

        Returns (events spooled, events the spool took care of): a write that fails is
        counted as a drop by the spool itself, so the caller must not count it again.
        """
        if self.spool is None or not indices:
            return 0, 0
        session_ids = dict.fromkeys(outgoing.session_ids[i] for i in indices)
        sessions = [encode(unconfirmed[sid]) for sid in session_ids if sid in unconfirmed]
        spooled = self.spool.write(sessions, [outgoing.encoded[i] for i in indices])
        return (len(indices) if spooled else 0), len(indices)

    def _encode(self, event: Event) -> bytes | None:
        """One event as JSON bytes, shrunk until it fits the request budget, else None (counted)."""
        try:
            event = self.privacy.apply(event)
            limit = self.transport.options.max_request_bytes - 64
            max_chars = self.mapper.options.max_value_chars
            try:
                body = self._encode_request(event)
                # Every string is shorter than the body: under max_chars nothing needs cutting.
                if len(body) > max_chars:
                    body = self._encode_request(bound_event(event, max_chars))
            except (TypeError, ValueError):
                body = self._encode_request(bound_event(event, max_chars))
            while len(body) > limit and max_chars > 1_000:
                max_chars //= 4
                body = self._encode_request(bound_event(event, max_chars))
            if len(body) > limit:
                self.stats.drop("too_large")
                return None
            return body
        except Exception:  # noqa: BLE001
            logger.debug("event encoding failed", exc_info=True)
            self.stats.drop("unserialisable")
            return None

    def _encode_request(self, event: Event) -> bytes:
        return self._scrubber.encode(event.to_request())

    def _create_sessions(self, new_sessions: dict[str, tuple[SessionInfo | None, float]],
                         deadline: float) -> dict[str, dict[str, Any]]:
        """Create the sessions of `new_sessions` (id -> its earliest event's session and start) not
        created yet; returns the bodies the server did not confirm."""
        unconfirmed: dict[str, dict[str, Any]] = {}
        for session_id, (info, start_time) in new_sessions.items():
            if session_id in self._known_sessions:  # (created meanwhile by another export)
                continue
            body = info.to_request() if info is not None else {"session_id": session_id, "inputs": {}}
            body["start_time"] = min(body.get("start_time") or start_time, start_time)
            body = self._scrubber.value(body)
            if self.transport.create_session(body, deadline):
                self._remember_session(session_id)
            else:
                unconfirmed[session_id] = body
        return unconfirmed

    def _remember_session(self, session_id: str) -> None:
        self._known_sessions[session_id] = None
        while len(self._known_sessions) > _MAX_KNOWN_SESSIONS:
            self._known_sessions.popitem(last=False)

    # ----- spool replay -------------------------------------------------------------
    def _maybe_replay(self) -> None:
        """After a successful export, send what an earlier outage spooled (checked every few seconds)."""
        now = time.monotonic()
        if self.spool is None or self._closing or now < self._next_replay_check:
            return
        self._next_replay_check = now + 2.0
        running = self._replay_thread is not None and self._replay_thread.is_alive()
        if not running and self.spool.pending():
            self._start_replay()

    def _start_replay(self) -> None:
        self._replay_thread = threading.Thread(target=self._replay, name="HoneyHiveSpoolReplay", daemon=True)
        self._replay_thread.start()

    def _replay(self) -> None:
        try:
            if self.spool is not None:
                self.spool.replay(self._deliver_spooled, should_stop=lambda: self._shutdown)
        except Exception:  # noqa: BLE001
            logger.debug("spool replay failed", exc_info=True)

    def _deliver_spooled(self, batch: SpooledBatch) -> list[int] | None:
        """Sessions first, then events; returns the events to keep, or None when HoneyHive is unreachable."""
        deadline = self._deadline()
        for body in batch.sessions:
            session_id = str(body.get("session_id"))
            if session_id in self._known_sessions:
                continue
            status = self.transport.session_status(body, deadline)
            if status == "retry":
                return None
            if status == "created":
                self._remember_session(session_id)
        delivery = self.transport.deliver(batch.events, batch.event_ids, deadline)
        if batch.events and len(delivery.retryable) == len(batch.events):
            return None
        rejected = len(delivery.failed) - len(delivery.retryable)
        if rejected:
            self.stats.drop("export_failed", rejected)
        self.stats.add("replayed", len(batch.events) - len(delivery.failed))
        return delivery.retryable

    # ----- process life -------------------------------------------------------------
    def _after_fork_in_child(self) -> None:
        """The child starts with fresh locks and nothing held.

        Events held for merging belong to the parent, which still sends them: the child
        re-sending them would duplicate them. Its own spans are all new after the fork.
        """
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._timer = None
        self._replay_thread = None
        self._log = RateLimitedLog()
        held = self.coalescer
        self.coalescer = Coalescer(window_s=held.window_s, max_held=held.max_held, max_traces=held.max_traces,
                                   max_spans_per_trace=held.max_spans_per_trace)
        for owner in (self.stats, self.sessions, self.log_store):  # locks another thread may have held
            if isinstance(getattr(owner, "_lock", None), type(threading.Lock())):
                owner._lock = threading.Lock()
        if self.spool is not None:
            self.spool._after_fork_in_child()

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


def _make_spool(directory: str | os.PathLike[str] | None, max_bytes: int | None, stats: ExportStats) -> Spool | None:
    """The spool when `spool_dir`/HONEYHIVE_SPOOL_DIR is set; a directory that cannot be used is a config error."""
    directory = directory or cfg.env("HONEYHIVE_SPOOL_DIR")
    if not directory:
        return None
    if max_bytes is None:
        env_bytes = cfg.env_float("HONEYHIVE_SPOOL_MAX_BYTES")
        max_bytes = int(env_bytes) if env_bytes is not None else DEFAULT_MAX_BYTES
    try:
        return Spool(directory, max_bytes, stats)
    except OSError as error:
        raise cfg.ConfigurationError(f"spool_dir {str(directory)!r} cannot be used: {error.strerror or error}") from error

