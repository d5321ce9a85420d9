"""What LiteLLM's spans lack, recorded by our callback and read by the mapping at export time.

The callback runs on LiteLLM's threads while the call is in flight; the mapping runs later,
in the exporter thread. This process-global store connects them:

- per `litellm_call_id`: what the caller asked for (session, user, custom metadata) and one
  record per attempt (model group, deployment, retries, fallbacks, previous attempts,
  routing strategy, outcome). The SDK gives every retry and fallback its own call id; the
  proxy reuses one call id for all attempts of a request, hence the attempt records;
- per OTel trace id: a proxy request's steering, for the spans of that request that carry
  no call data (service spans, the proxy's request span);
- per `litellm_trace_id`: the attempt counter that numbers all attempts of one logical request.

Thread-safe, bounded in entries (oldest dropped) and expired after a TTL, so it never grows
with traffic. Values are plain, already-redacted data: never LiteLLM objects.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

DEFAULT_MAX_ENTRIES = 20_000
DEFAULT_TTL_S = 900.0
MAX_ATTEMPTS_PER_CALL = 64
SUCCESS, FAILURE = "success", "failure"

T = TypeVar("T")


class _TTLMap:
    """An LRU map of dict entries with a TTL; `update` mutates an entry under the lock."""

    def __init__(self, max_entries: int, ttl_s: float) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._items: OrderedDict[Any, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        # Whether any entry was ever written (set under the lock, never reset): until then `get`
        # answers without the lock (LiteLLM's plain `otel` callback never records a call).
        self._written = False

    def update(self, key: Any, change: Callable[[dict[str, Any]], T]) -> T:
        now = time.monotonic()
        with self._lock:
            self._written = True
            self._expire(now)
            entry = self._items.pop(key, (now, {}))[1]
            result = change(entry)
            self._items[key] = (now, entry)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
            return result

    def get(self, key: Any) -> dict[str, Any] | None:
        if not self._written:
            return None
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if time.monotonic() - item[0] > self.ttl_s:
                del self._items[key]
                return None
            return _copy_plain(item[1])

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _expire(self, now: float) -> None:
        while self._items:
            key, (stamp, _) = next(iter(self._items.items()))
            if now - stamp <= self.ttl_s:
                return
            del self._items[key]


# Values that are never mutated: shared, not copied.
_ATOMS = frozenset((str, int, float, bool, type(None)))


def _copy_plain(value: Any) -> Any:
    """A deep copy of an entry (the caller may keep or change it; the callback's thread keeps
    updating the original). Entries are plain data: dicts, lists, sets and atoms are copied here,
    3-5 times faster than `copy.deepcopy` (its memo and dispatch cost ~11-18 us per entry read, once
    per LiteLLM span); anything else goes through `copy.deepcopy`."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        return {key: _copy_plain(item) for key, item in value.items()}
    if kind is list:
        return [_copy_plain(item) for item in value]
    if kind is set:
        return set(value)  # (hashable plain items: strings)
    return copy.deepcopy(value)


def _set(target: dict[str, Any], fields: Mapping[str, Any]) -> None:
    target.update({name: value for name, value in fields.items() if value is not None})


class ContextStore:
    """Calls, proxy requests and attempt counters; one instance per process (`STORE`)."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.calls = _TTLMap(max_entries, ttl_s)
        self.requests = _TTLMap(max_entries, ttl_s)
        self.counters = _TTLMap(max_entries, ttl_s)

    # ----- calls ---------------------------------------------------------------------
    def record_call(self, call_id: Any, **shared: Any) -> None:
        """Fields true for every attempt of the call (the caller's steering, the trace id)."""
        if call_id:
            self.calls.update(str(call_id), lambda entry: _set(entry.setdefault("shared", {}), shared))

    def begin_attempt(self, call_id: Any, trace_id: Any, **fields: Any) -> int | None:
        """A new attempt is about to call the provider; returns its number in the logical request."""
        if not call_id:
            return None
        number = self._next_number(trace_id or call_id)
        record = {"attempt": number, "status": None}
        _set(record, fields)

        def add(entry: dict[str, Any]) -> None:
            attempts = entry.setdefault("attempts", [])
            if len(attempts) < MAX_ATTEMPTS_PER_CALL:
                attempts.append(record)
        self.calls.update(str(call_id), add)
        return number

    def finish_attempt(self, call_id: Any, trace_id: Any, status: str, **fields: Any) -> dict[str, Any]:
        """Record an attempt's outcome: the pending attempt, the same outcome reported twice
        (LiteLLM fires some callbacks both sync and async), or a new attempt (no pre-call seen)."""
        if not call_id:
            return {}

        def finish(entry: dict[str, Any]) -> dict[str, Any] | None:
            attempts = entry.setdefault("attempts", [])
            pending = next((item for item in reversed(attempts) if item.get("status") is None), None)
            if pending is None and attempts and attempts[-1].get("status") == status and \
                    attempts[-1].get("deployment_id") in (None, fields.get("deployment_id")):
                pending = attempts[-1]
            if pending is None:
                if len(attempts) >= MAX_ATTEMPTS_PER_CALL:
                    return None
                pending = {"attempt": self._next_number(trace_id or call_id)}  # lock order: calls, counters
                attempts.append(pending)
            _set(pending, fields)
            pending["status"] = status
            return dict(pending)
        return self.calls.update(str(call_id), finish) or {}

    def call(self, call_id: Any) -> dict[str, Any] | None:
        return self.calls.get(str(call_id)) if call_id else None

    def once(self, call_id: Any, what: str) -> bool:
        """True the first time `what` is claimed for `call_id` (exactly-once work)."""
        if not call_id:
            return False

        def claim(entry: dict[str, Any]) -> bool:
            flags = entry.setdefault("flags", set())
            if what in flags:
                return False
            flags.add(what)
            return True
        return self.calls.update(str(call_id), claim)

    def _next_number(self, key: Any) -> int:
        def bump(entry: dict[str, Any]) -> int:
            entry["count"] = entry.get("count", 0) + 1
            return int(entry["count"])
        return self.counters.update(str(key), bump)

    # ----- proxy requests ------------------------------------------------------------
    def record_request(self, trace_id: int, **fields: Any) -> None:
        if trace_id:
            self.requests.update(trace_id, lambda entry: _set(entry, fields))

    def request(self, trace_id: int) -> dict[str, Any] | None:
        return self.requests.get(trace_id) if trace_id else None

    def clear(self) -> None:
        self.calls.clear()
        self.requests.clear()
        self.counters.clear()


def pick_attempt(entry: Mapping[str, Any] | None, *, number: int | None = None, failed: bool = False,
                 model_group: Any = None, deployment_id: Any = None) -> dict[str, Any]:
    """The attempt record a span describes.

    An explicit number wins (our own error spans carry it). Otherwise the span's outcome,
    model group and deployment narrow the candidates; for a failure LiteLLM reports the
    first failed attempt (its retry de-duplication drops the others), for a success the last.
    """
    attempts = [item for item in (entry or {}).get("attempts") or [] if isinstance(item, Mapping)]
    if number is not None:
        exact = [item for item in attempts if item.get("attempt") == number]
        if exact:
            return dict(exact[0])
    status = FAILURE if failed else SUCCESS
    candidates = [item for item in attempts if item.get("status") == status] or \
        [item for item in attempts if item.get("status") is None]
    for key, value in (("model_group", model_group), ("deployment_id", deployment_id)):
        if value:
            narrowed = [item for item in candidates if item.get(key) in (None, value)]
            candidates = narrowed or candidates
    if not candidates:
        return {}
    return dict(candidates[0] if failed else candidates[-1])


STORE = ContextStore()
