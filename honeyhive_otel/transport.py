"""HTTP transport to HoneyHive's Data Plane API v1 (SPEC §2), apart from any mapping.

- `POST /v1/sessions` once per new session id, `POST /v1/events/batch` for events.
- One pooled `requests.Session`; bodies are packed under a byte budget per request, from one
  buffer (`EncodedEvents`) rather than one heap object per event.
- The environment is read when the exporter is created (and again in a forked child), as requests
  reads it for `server_url`: HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY (either case), and
  REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE unless `verify` is given. Changing them later has no effect;
  requests would read them on every request, which costs more CPU than the POST itself. `~/.netrc`
  is never consulted (the API key is the credential), and no cookies are kept (the API is stateless).
- 429, 5xx, connection errors and timeouts: exponential backoff with full jitter,
  honouring `Retry-After`, all within the caller's deadline. One attempt waits for its
  answer at most half the time left (at least 2 s), so a lost response leaves time to retry.
- 413: the batch is split in halves. A 500 "partially created" answer: only the events
  the server did not create are sent again (event ids are stable, so nothing duplicates).
- 400/401/403/404: no retry, one clear log line per status (the key never appears). A TLS
  verification failure is not retried either (it will not heal by itself): one log line.
- Shutdown: `cap_deadline()` lowers the deadline of everything in flight, and a request still
  waiting for an answer at that moment is cut (its socket is shut down), so a hanging server
  cannot hold `shutdown()` beyond its timeout. `stop()` cuts everything at once.
- After `fork()` the child gets a new `requests.Session` (pooled sockets belong to the parent)
  and reads the environment again.
Nothing here raises into the caller: failures come back as undelivered events, marked
retryable (may succeed later: spool them) or not (rejected by the server).
"""

from __future__ import annotations

import gzip
import http.cookiejar
import os
import random
import socket
import threading
import time
import weakref
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, overload

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import jsonfast
from .stats import ExportStats, RateLimitedLog
from .version import __version__

USER_AGENT = f"honeyhive-otel/{__version__}"
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_BATCH_PREFIX = b'{"events":['
_BATCH_SUFFIX = b"]}"


@dataclass
class TransportOptions:
    """Tunables; the defaults suit HoneyHive's hosted API."""

    max_request_bytes: int = 5_000_000
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    connect_timeout: float = 5.0
    gzip_min_bytes: int = 0  # 0 disables gzip request bodies
    verify: bool | str = True
    extra_headers: dict[str, str] = field(default_factory=dict)


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON (`jsonfast.dumps`); values are already JSON-safe (see mapping.limits)."""
    return jsonfast.dumps(value)


class EncodedEvents(Sequence[bytes]):
    """Encoded events in one growing buffer, comma-separated as a batch request carries them.

    The exporter encodes a whole batch before sending it. Kept as hundreds of separate `bytes`,
    each body is its own allocation that outlives the next ones: with glibc's default malloc
    settings the heap top grows through the batch and is trimmed after it, and that costs more
    than encoding (~7 us per 3 KB event measured). Copied here at once, each encoder output is
    freed while the next event is encoded, and a request body is one slice of the buffer.
    """

    def __init__(self, bodies: Iterable[bytes] = ()) -> None:
        self._buffer = bytearray()
        self._ends: list[int] = []  # where each event's body ends in the buffer
        for body in bodies:
            self.append(body)

    def append(self, body: bytes) -> None:
        self._buffer += body
        self._ends.append(len(self._buffer))
        self._buffer += b","  # separates it from the next body

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        start, end = self._span(index)
        with memoryview(self._buffer) as view:
            return bytes(view[start:end])

    def _span(self, index: int) -> tuple[int, int]:
        if index < 0:
            index += len(self._ends)
        if not 0 <= index < len(self._ends):
            raise IndexError("event index out of range")
        return (self._ends[index - 1] + 1 if index else 0), self._ends[index]

    def chunks(self, budget: int) -> list[range]:
        """Consecutive events whose comma-joined bodies fit `budget` bytes (an event larger than
        that alone), as ranges of indices."""
        chunks: list[range] = []
        start = 0
        while start < len(self._ends):
            first = self._ends[start - 1] + 1 if start else 0
            stop = max(bisect_right(self._ends, first + budget), start + 1)
            chunks.append(range(start, stop))
            start = stop
        return chunks

    def request_body(self, indices: Sequence[int]) -> bytes:
        """`{"events":[...]}` holding the events at `indices` (ascending)."""
        if not indices:
            return _BATCH_PREFIX + _BATCH_SUFFIX
        with memoryview(self._buffer) as view:
            if indices[-1] - indices[0] == len(indices) - 1:  # consecutive: one slice of the buffer
                start, end = self._span(indices[0])[0], self._span(indices[-1])[1]
                return b"".join((_BATCH_PREFIX, view[start:end], _BATCH_SUFFIX))
            return _BATCH_PREFIX + b",".join(view[slice(*self._span(i))] for i in indices) + _BATCH_SUFFIX


@dataclass
class Delivery:
    """Which events of one `deliver()` call did not reach the server, by index."""

    failed: list[int] = field(default_factory=list)
    retryable: list[int] = field(default_factory=list)  # of `failed`: may succeed later (not rejected)

    def fail(self, indices: Sequence[int], retryable: bool) -> None:
        self.failed.extend(indices)
        if retryable:
            self.retryable.extend(indices)


class _Outcome:
    """What one request attempt ended with."""

    __slots__ = ("status", "body", "retry_after", "error", "fatal")

    def __init__(self, status: int | None = None, body: Any = None, retry_after: float | None = None,
                 error: str | None = None, fatal: bool = False) -> None:
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.error = error
        self.fatal = fatal  # no answer, and trying again cannot help (TLS verification failed)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return (self.status is None and not self.fatal) or self.status in RETRYABLE_STATUSES


class HoneyHiveTransport:
    """Sends sessions and event batches; thread-safe (one request at a time per caller)."""

    def __init__(self, server_url: str, api_key: str | None, stats: ExportStats | None = None,
                 options: TransportOptions | None = None) -> None:
        self.server_url = server_url.rstrip("/")
        self.options = options or TransportOptions()
        self.stats = stats or ExportStats()
        self._log = RateLimitedLog()
        self._stop = threading.Event()
        self.auth_failed = False
        # False while the latest attempt got no answer at all (refused, reset, timed out).
        self.healthy = True
        self._cap: float | None = None
        self._cap_lock = threading.Lock()
        self._timers: list[threading.Timer] = []
        self._connections: weakref.WeakSet[HTTPConnection] = weakref.WeakSet()
        self._http = self._new_session()
        self._settings = self._environment_settings()
        if hasattr(os, "register_at_fork"):
            after_fork = weakref.WeakMethod(self._after_fork_in_child)
            os.register_at_fork(after_in_child=lambda: (method := after_fork()) is not None and method())
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            **self.options.extra_headers,
        }
        self._auth = _BearerAuth(api_key)
        # One prepared request per API path (this module posts to two), copied for each POST:
        # preparing headers and URL anew for every request would repeat the same work.
        self._prepared: dict[str, requests.PreparedRequest] = {}

    # ----- public ------------------------------------------------------------------
    def create_session(self, body: dict[str, Any], deadline: float) -> bool:
        """`POST /v1/sessions`; True once the server accepted it."""
        return self.session_status(body, deadline) == "created"

    def session_status(self, body: dict[str, Any], deadline: float) -> str:
        """`POST /v1/sessions`: "created", "retry" (may work later) or "rejected"."""
        outcome = self._post_with_retries("/v1/sessions", encode(body), deadline)
        if outcome.ok:
            self.stats.add("sessions_created")
            return "created"
        self._report(outcome, "session")
        return "retry" if outcome.retryable else "rejected"

    def send_events(self, encoded_events: Sequence[bytes], event_ids: Sequence[str], deadline: float) -> list[int]:
        """Send pre-encoded events; return the indices of events that were not delivered."""
        return self.deliver(encoded_events, event_ids, deadline).failed

    def deliver(self, encoded_events: Sequence[bytes], event_ids: Sequence[str], deadline: float) -> Delivery:
        """Send pre-encoded events (an `EncodedEvents` spares a copy); say which were not delivered
        and which of those may be retried later."""
        if isinstance(encoded_events, EncodedEvents):
            events = encoded_events
        else:
            events = EncodedEvents(encoded_events)
        budget = self.options.max_request_bytes - len(_BATCH_PREFIX) - len(_BATCH_SUFFIX)
        result = Delivery()
        for chunk in events.chunks(budget):
            self._send_chunk(list(chunk), events, event_ids, deadline, result)
        return result

    def cap_deadline(self, deadline: float) -> None:
        """Nothing may run past `deadline` (monotonic): retries stop, and a request still
        waiting for an answer then is cut. For `shutdown(timeout)` with a hanging server."""
        with self._cap_lock:
            self._cap = deadline if self._cap is None else min(self._cap, deadline)
            timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._abort_connections)
            timer.daemon = True
            self._timers.append(timer)
        timer.start()

    def stop(self) -> None:
        """Interrupt backoff sleeps and requests in flight (shutdown); release pooled connections."""
        self._stop.set()
        with self._cap_lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        self._abort_connections()
        try:
            self._http.close()
        except Exception:  # noqa: BLE001
            pass

    # ----- connections -------------------------------------------------------------
    def _new_session(self) -> requests.Session:
        session = requests.Session()
        # The environment is read once, by _environment_settings; with trust_env requests would read
        # it (and ~/.netrc) again on every request.
        session.trust_env = False
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))  # keeps none
        adapter = _tracking_adapter(self._connections)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def _environment_settings(self) -> dict[str, Any]:
        """Proxies and CA bundle for `server_url` from the environment, decided by requests' own
        `merge_environment_settings`, as `Session.send` arguments. An explicit `verify` (a CA
        bundle path, or False) wins over REQUESTS_CA_BUNDLE; the default True lets it apply."""
        reader = requests.Session()
        reader.trust_env = True
        verify = None if self.options.verify is True else self.options.verify
        with reader:
            return reader.merge_environment_settings(self.server_url, {}, False, verify, None)

    def _prepared_request(self, path: str) -> requests.PreparedRequest:
        """A copy of the POST to `path` without a body, headers and authorization included."""
        prepared = self._prepared.get(path)
        if prepared is None:
            request = requests.Request("POST", self.server_url + path, headers=self._headers, auth=self._auth)
            prepared = self._prepared[path] = self._http.prepare_request(request)
        return prepared.copy()

    def _abort_connections(self) -> None:
        """Shut down every socket this transport opened: a blocked read returns at once."""
        for connection in list(self._connections):
            sock = getattr(connection, "sock", None)
            if sock is None:
                continue
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's method, also for TLS
            except (OSError, TypeError, ValueError):
                pass

    def _after_fork_in_child(self) -> None:
        """The parent's pooled sockets, locks and timers are not the child's: start afresh.

        The inherited sockets are neither used nor shut down here (that would cut the
        parent's connections); they are closed when the old session is garbage-collected.
        """
        stopped = self._stop.is_set()
        self._stop = threading.Event()
        if stopped:
            self._stop.set()
        self._log = RateLimitedLog()
        self._cap_lock = threading.Lock()
        self._timers = []
        self._connections = weakref.WeakSet()
        self._http = self._new_session()
        self._settings = self._environment_settings()

    # ----- batching ----------------------------------------------------------------
    def _send_chunk(self, chunk: list[int], encoded: EncodedEvents, event_ids: Sequence[str],
                    deadline: float, result: Delivery) -> None:
        pending = chunk
        attempt = 0
        while pending:
            body = encoded.request_body(pending)
            outcome = self._post("/v1/events/batch", body, deadline)
            if outcome.ok:
                self.stats.add("events_exported", len(pending))
                return
            if outcome.status == 413:
                if len(pending) == 1:
                    self._log.warning("too_large", "HoneyHive rejected an event as too large (413); dropped")
                    self.stats.error("413 for a single event")
                    result.fail(pending, retryable=False)
                    return
                half = len(pending) // 2
                self._send_chunk(pending[:half], encoded, event_ids, deadline, result)
                self._send_chunk(pending[half:], encoded, event_ids, deadline, result)
                return
            if outcome.status == 500 and isinstance(outcome.body, dict):
                created = {str(i) for i in outcome.body.get("event_ids") or () if i}
                if created:
                    delivered = [i for i in pending if event_ids[i] in created]
                    self.stats.add("events_exported", len(delivered))
                    pending = [i for i in pending if event_ids[i] not in created]
                    if not pending:
                        return
            if not outcome.retryable:
                self._report(outcome, "events")
                result.fail(pending, retryable=False)
                return
            delay = self._backoff(attempt, outcome.retry_after, deadline)
            if delay is None:
                self._report(outcome, "events")
                result.fail(pending, retryable=True)
                return
            attempt += 1
            self.stats.add("retries")
            if self._stop.wait(delay):
                result.fail(pending, retryable=True)
                return

    # ----- requests ----------------------------------------------------------------
    def _post_with_retries(self, path: str, body: bytes, deadline: float) -> _Outcome:
        attempt = 0
        while True:
            outcome = self._post(path, body, deadline)
            if outcome.ok or not outcome.retryable:
                return outcome
            delay = self._backoff(attempt, outcome.retry_after, deadline)
            if delay is None or self._stop.wait(delay):
                return outcome
            attempt += 1
            self.stats.add("retries")

    def _capped(self, deadline: float) -> float:
        cap = self._cap
        return deadline if cap is None else min(deadline, cap)

    def _post(self, path: str, body: bytes, deadline: float) -> _Outcome:
        remaining = self._capped(deadline) - time.monotonic()
        if remaining <= 0 or self._stop.is_set():
            return _Outcome(error="export timeout reached")
        request = self._prepared_request(path)
        if self.options.gzip_min_bytes and len(body) >= self.options.gzip_min_bytes:
            body = gzip.compress(body, compresslevel=5)
            request.headers["Content-Encoding"] = "gzip"
        request.prepare_body(body, None)
        self.stats.add("requests")
        try:
            response = self._http.send(
                request, timeout=(min(self.options.connect_timeout, remaining), _attempt_timeout(remaining)),
                **self._settings,
            )
        except requests.exceptions.SSLError:
            self.healthy = False
            return _Outcome(error="TLS certificate verification failed", fatal=True)
        except requests.exceptions.RequestException as error:
            self.healthy = False
            return _Outcome(error=f"{type(error).__name__}")
        except Exception as error:  # noqa: BLE001 - transport must never raise
            self.healthy = False
            return _Outcome(error=f"{type(error).__name__}")
        self.healthy = True
        status = response.status_code
        if 200 <= status < 300:  # an accepted batch's answer lists its event ids: nothing to read there
            return _Outcome(status)
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        return _Outcome(status, payload, _retry_after(response.headers.get("Retry-After")))

    def _backoff(self, attempt: int, retry_after: float | None, deadline: float) -> float | None:
        """Seconds to wait before the next attempt, or None when the deadline forbids it."""
        delay = random.uniform(0, min(self.options.backoff_max, self.options.backoff_initial * 2**attempt))
        if retry_after is not None:
            delay = max(delay, retry_after)
        if time.monotonic() + delay >= self._capped(deadline):
            return None
        return delay

    def _report(self, outcome: _Outcome, what: str) -> None:
        """Record why a request failed; only a rejected key is logged here (once, ever)."""
        if outcome.status in (401, 403):
            message = (f"HoneyHive rejected the API key ({outcome.status}) while sending {what}; "
                       "check HONEYHIVE_API_KEY and the server URL. Not retrying.")
            self._log.once(f"auth-{outcome.status}", message)
            self.auth_failed = True
        elif outcome.fatal:
            message = (f"HoneyHive at {self.server_url}: {outcome.error}. Not retrying. For a private CA, set "
                       "REQUESTS_CA_BUNDLE to its PEM bundle before the exporter is created.")
            self._log.once("tls", message)
        elif outcome.status is not None and not outcome.retryable:
            detail = ""
            if isinstance(outcome.body, dict):
                detail = str(outcome.body.get("error") or outcome.body.get("message") or "")[:300]
            message = f"HoneyHive answered {outcome.status} to {what}: {detail}".rstrip(": ")
        else:
            message = f"HoneyHive unreachable while sending {what}: {outcome.error or outcome.status}"
        self.stats.error(message)


class _BearerAuth(AuthBase):
    """`Authorization: Bearer <key>` as requests' auth, so that nothing requests derives on its own
    (credentials in the URL; `~/.netrc` if trust_env were on) replaces the key. Without a key it
    adds nothing, and still keeps such credentials from being sent."""

    def __init__(self, api_key: str | None) -> None:
        self._header = f"Bearer {api_key}" if api_key else None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._header is not None:
            request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(<redacted>)"


def _attempt_timeout(remaining: float) -> float:
    """How long one attempt may wait for its answer: half the time left, at least 2 s."""
    return remaining if remaining <= 2.0 else max(2.0, remaining / 2)


def _tracking_adapter(connections: weakref.WeakSet[HTTPConnection]) -> HTTPAdapter:
    """An HTTPAdapter whose connections register in `connections`, so shutdown can cut them."""

    class _Connection(HTTPConnection):
        def connect(self) -> None:
            super().connect()
            connections.add(self)

    class _TLSConnection(HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            connections.add(self)

    class _Pool(HTTPConnectionPool):
        ConnectionCls = _Connection

    class _TLSPool(HTTPSConnectionPool):
        ConnectionCls = _TLSConnection

    pools = {"http": _Pool, "https": _TLSPool}

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(*args, **kwargs)
            manager.pool_classes_by_scheme = pools
            return manager

    return _Adapter(pool_connections=2, pool_maxsize=4, max_retries=0)


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds (delta or HTTP date), bounded to an hour."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), 3600.0)
