"""HTTP transport to HoneyHive's Data Plane API v1 (SPEC §2), apart from any mapping.

- `POST /v1/sessions` once per new session id, `POST /v1/events/batch` for events.
- One pooled `requests.Session`; bodies are packed under a byte budget per request.
- 429, 5xx, connection errors and timeouts: exponential backoff with full jitter,
  honouring `Retry-After`, all within the caller's deadline.
- 413: the batch is split in halves. A 500 "partially created" answer: only the events
  the server did not create are sent again (event ids are stable, so nothing duplicates).
- 400/401/403/404: no retry, one clear log line per status (the key never appears).
Nothing here raises into the caller: failures come back as undelivered events.
"""

from __future__ import annotations

import gzip
import json
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests

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
    """Compact UTF-8 JSON; values are already JSON-safe (see mapping.limits)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class _Outcome:
    """What one request attempt ended with."""

    __slots__ = ("status", "body", "retry_after", "error")

    def __init__(self, status: int | None = None, body: Any = None, retry_after: float | None = None,
                 error: str | None = None) -> None:
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.error = error

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in RETRYABLE_STATUSES


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
        self._http = requests.Session()
        self._http.verify = self.options.verify
        self._http.trust_env = True  # REQUESTS_CA_BUNDLE, proxies
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
        self._http.mount("https://", adapter)
        self._http.mount("http://", adapter)
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            **self.options.extra_headers,
        }
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    # ----- public ------------------------------------------------------------------
    def create_session(self, body: dict[str, Any], deadline: float) -> bool:
        """`POST /v1/sessions`; True once the server accepted it."""
        outcome = self._post_with_retries("/v1/sessions", encode(body), deadline)
        if outcome.ok:
            self.stats.add("sessions_created")
            return True
        self._report(outcome, "session")
        return False

    def send_events(self, encoded_events: Sequence[bytes], event_ids: Sequence[str], deadline: float) -> list[int]:
        """Send pre-encoded events; return the indices of events that were not delivered."""
        failed: list[int] = []
        for chunk in self._chunks(encoded_events):
            failed.extend(self._send_chunk(chunk, encoded_events, event_ids, deadline))
        return failed

    def stop(self) -> None:
        """Interrupt backoff sleeps (shutdown) and release pooled connections."""
        self._stop.set()
        try:
            self._http.close()
        except Exception:  # noqa: BLE001
            pass

    # ----- batching ----------------------------------------------------------------
    def _chunks(self, encoded: Sequence[bytes]) -> list[list[int]]:
        """Group event indices so each request body stays under the byte budget."""
        budget = self.options.max_request_bytes - len(_BATCH_PREFIX) - len(_BATCH_SUFFIX)
        chunks: list[list[int]] = []
        current: list[int] = []
        size = 0
        for index, item in enumerate(encoded):
            extra = len(item) + (1 if current else 0)
            if current and size + extra > budget:
                chunks.append(current)
                current, size = [], 0
                extra = len(item)
            current.append(index)
            size += extra
        if current:
            chunks.append(current)
        return chunks

    def _send_chunk(self, chunk: list[int], encoded: Sequence[bytes], event_ids: Sequence[str],
                    deadline: float) -> list[int]:
        pending = list(chunk)
        attempt = 0
        while pending:
            body = _BATCH_PREFIX + b",".join(encoded[i] for i in pending) + _BATCH_SUFFIX
            outcome = self._post("/v1/events/batch", body, deadline)
            if outcome.ok:
                self.stats.add("events_exported", len(pending))
                return []
            if outcome.status == 413:
                if len(pending) == 1:
                    self._log.warning("too_large", "HoneyHive rejected an event as too large (413); dropped")
                    self.stats.error("413 for a single event")
                    return pending
                half = len(pending) // 2
                return (self._send_chunk(pending[:half], encoded, event_ids, deadline)
                        + self._send_chunk(pending[half:], encoded, event_ids, deadline))
            if outcome.status == 500 and isinstance(outcome.body, dict):
                created = {str(i) for i in outcome.body.get("event_ids") or () if i}
                if created:
                    delivered = [i for i in pending if event_ids[i] in created]
                    self.stats.add("events_exported", len(delivered))
                    pending = [i for i in pending if event_ids[i] not in created]
                    if not pending:
                        return []
            if not outcome.retryable:
                self._report(outcome, "events")
                return pending
            delay = self._backoff(attempt, outcome.retry_after, deadline)
            if delay is None:
                self._report(outcome, "events")
                return pending
            attempt += 1
            self.stats.add("retries")
            if self._stop.wait(delay):
                return pending
        return []

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

    def _post(self, path: str, body: bytes, deadline: float) -> _Outcome:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _Outcome(error="export timeout reached")
        headers = self._headers
        if self.options.gzip_min_bytes and len(body) >= self.options.gzip_min_bytes:
            body = gzip.compress(body, compresslevel=5)
            headers = {**headers, "Content-Encoding": "gzip"}
        self.stats.add("requests")
        try:
            response = self._http.post(
                self.server_url + path, data=body, headers=headers,
                timeout=(min(self.options.connect_timeout, remaining), remaining),
            )
        except requests.exceptions.RequestException as error:
            return _Outcome(error=f"{type(error).__name__}")
        except Exception as error:  # noqa: BLE001 - transport must never raise
            return _Outcome(error=f"{type(error).__name__}")
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        return _Outcome(response.status_code, payload, _retry_after(response.headers.get("Retry-After")))

    def _backoff(self, attempt: int, retry_after: float | None, deadline: float) -> float | None:
        """Seconds to wait before the next attempt, or None when the deadline forbids it."""
        delay = random.uniform(0, min(self.options.backoff_max, self.options.backoff_initial * 2**attempt))
        if retry_after is not None:
            delay = max(delay, retry_after)
        if time.monotonic() + delay >= deadline:
            return None
        return delay

    def _report(self, outcome: _Outcome, what: str) -> None:
        """Record why a request failed; only a rejected key is logged here (once, ever)."""
        if outcome.status in (401, 403):
            message = (f"HoneyHive rejected the API key ({outcome.status}) while sending {what}; "
                       "check HONEYHIVE_API_KEY and the server URL. Not retrying.")
            self._log.once(f"auth-{outcome.status}", message)
            self.auth_failed = True
        elif outcome.status is not None and not outcome.retryable:
            detail = ""
            if isinstance(outcome.body, dict):
                detail = str(outcome.body.get("error") or outcome.body.get("message") or "")[:300]
            message = f"HoneyHive answered {outcome.status} to {what}: {detail}".rstrip(": ")
        else:
            message = f"HoneyHive unreachable while sending {what}: {outcome.error or outcome.status}"
        self.stats.error(message)


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
