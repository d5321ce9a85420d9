"""Fault injection for the devserver, so exporters can be tested against a misbehaving HoneyHive.

A fault applies to requests whose path starts with ``path_prefix`` (and, if given, whose
method is ``method``). ``count`` is how many requests it affects before it removes itself;
``None`` means until cleared. Routes under ``/_dev/`` are never faulted, so a fault can
always be cleared over HTTP.

Modes and their parameters:

=============  =======================================================================
``latency``    ``ms``: wait this long, then handle the request normally.
``hang``       never answer; the handler waits until the client disconnects or the
               server stops.
``status``     ``status``: answer with this code (``retry_after`` adds a
               ``Retry-After`` header, ``body`` replaces the JSON body).
``partial``    batch routes: store the first half of the events (or ``created``) and
               answer 500 ``{"event_ids": [...], "errors": [...], "success": false}``.
``max_bytes``  ``limit``: answer 413 to bodies larger than this many bytes (only those
               count towards ``count``).
``reset``      read the request, then close the connection with a TCP reset.
``refuse``     close the listening socket so connections are refused; re-opened on the
               same port by ``clear()`` or after ``duration_ms``. ``count`` cannot apply:
               refused connections never reach the server, so they cannot be counted.
=============  =======================================================================

Text syntax (CLI ``--fault`` and ``{"spec": ...}`` over HTTP)::

    [PATH_PREFIX:]MODE[=VALUE][,KEY=VALUE...]

``VALUE`` is the mode's main parameter (``status=503``, ``latency=250`` ms,
``max_bytes=1000``, ``partial=2`` created, ``refuse=1500`` ms). The prefix defaults to
``/v1/``. Examples: ``/v1/events/batch:status=503,count=2``,
``/v1/events/batch:status=429,retry_after=1``, ``latency=300``, ``/v1/sessions:reset,count=1``,
``/v1/events/batch:partial,count=1``, ``refuse=2000``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# mode -> (required params, optional params)
MODES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "latency": (frozenset({"ms"}), frozenset()),
    "hang": (frozenset(), frozenset()),
    "status": (frozenset({"status"}), frozenset({"retry_after", "body"})),
    "partial": (frozenset(), frozenset({"created"})),
    "max_bytes": (frozenset({"limit"}), frozenset()),
    "reset": (frozenset(), frozenset()),
    "refuse": (frozenset(), frozenset({"duration_ms"})),
}
# The parameter that ``MODE=VALUE`` sets in the text syntax.
MAIN_PARAM = {"latency": "ms", "status": "status", "partial": "created", "max_bytes": "limit",
              "refuse": "duration_ms"}
DEFAULT_PREFIX = "/v1/"


@dataclass
class Fault:
    """One active fault; ``applied`` counts the requests it has affected so far."""

    mode: str
    path_prefix: str = DEFAULT_PREFIX
    count: int | None = None
    method: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    applied: int = 0

    def __post_init__(self) -> None:
        _check(self)

    def matches(self, path: str, method: str) -> bool:
        return path.startswith(self.path_prefix) and (self.method is None or self.method == method)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "path_prefix": self.path_prefix, "count": self.count,
                "method": self.method, "applied": self.applied, **self.params}


def _number(value: Any, name: str, *, integer: bool = False, minimum: float = 0) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"fault parameter {name!r} must be {kind} >= {minimum}, got {value!r}")


def _check(fault: Fault) -> None:
    if fault.mode not in MODES:
        raise ValueError(f"unknown fault mode {fault.mode!r}; modes: {', '.join(MODES)}")
    required, optional = MODES[fault.mode]
    missing = required - set(fault.params)
    unknown = set(fault.params) - required - optional
    if missing or unknown:
        raise ValueError(f"fault {fault.mode!r}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    if not isinstance(fault.path_prefix, str) or not isinstance(fault.method, (str, type(None))):
        raise ValueError("fault path_prefix and method must be strings")
    if not fault.path_prefix.startswith("/") or fault.path_prefix.startswith("/_dev"):
        raise ValueError(f"fault path_prefix must start with '/' and not '/_dev': {fault.path_prefix!r}")
    if fault.count is not None:
        if fault.mode == "refuse":
            raise ValueError("fault 'refuse' takes duration_ms, not count (refused connections cannot be counted)")
        _number(fault.count, "count", integer=True, minimum=1)
    if fault.method is not None:
        fault.method = fault.method.upper()
    p = fault.params
    if fault.mode == "status":
        _number(p["status"], "status", integer=True, minimum=100)
        if p["status"] > 599:
            raise ValueError(f"fault status must be 100-599, got {p['status']}")
        if "retry_after" in p:
            _number(p["retry_after"], "retry_after")
    for name, integer in (("ms", False), ("limit", True), ("created", True), ("duration_ms", False)):
        if name in p:
            _number(p[name], name, integer=integer)


class FaultRegistry:
    """The active faults of one server; thread-safe, consumed by request handlers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._refuse_listener: Callable[[bool], None] | None = None
        self._timers: list[threading.Timer] = []

    # -- configuration -----------------------------------------------------------------
    def set(self, path_prefix: str, mode: str, count: int | None = None, *, method: str | None = None,
            **params: Any) -> Fault:
        """Add a fault, replacing any fault with the same prefix, mode and method."""
        return self.add(Fault(mode=mode, path_prefix=path_prefix, count=count, method=method, params=params))

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults = [f for f in self._faults if (f.path_prefix, f.mode, f.method)
                            != (fault.path_prefix, fault.mode, fault.method)]
            self._faults.append(fault)
        if fault.mode == "refuse":
            duration = fault.params.get("duration_ms")
            if duration is not None:
                timer = threading.Timer(duration / 1000.0, self._remove, args=([fault],))
                timer.daemon = True
                with self._lock:
                    self._timers.append(timer)
                timer.start()
            self._notify_refuse()
        return fault

    def clear(self, path_prefix: str | None = None) -> None:
        """Remove all faults, or those with exactly this ``path_prefix``."""
        with self._lock:
            gone = [f for f in self._faults if path_prefix is None or f.path_prefix == path_prefix]
        self._remove(gone)

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    @property
    def refusing(self) -> bool:
        with self._lock:
            return any(f.mode == "refuse" for f in self._faults)

    def on_refuse(self, listener: Callable[[bool], None] | None) -> None:
        """Register the server callback that closes (True) or re-opens (False) the listener."""
        self._refuse_listener = listener

    # -- use by handlers ---------------------------------------------------------------
    def take(self, path: str, method: str, modes: Iterable[str],
             accept: Callable[[Fault], bool] | None = None) -> Fault | None:
        """Return and consume (count down) the first matching fault of one of ``modes``."""
        if path.startswith("/_dev/"):
            return None
        wanted = set(modes)
        with self._lock:
            for fault in self._faults:
                if fault.mode in wanted and fault.matches(path, method) and (accept is None or accept(fault)):
                    self._consume(fault)
                    return fault
        return None

    def take_latency_ms(self, path: str, method: str) -> float:
        """Total injected latency for this request; consumes every matching latency fault."""
        if path.startswith("/_dev/"):
            return 0.0
        with self._lock:
            hits = [f for f in self._faults if f.mode == "latency" and f.matches(path, method)]
            for fault in hits:
                self._consume(fault)
        return float(sum(f.params["ms"] for f in hits))

    # -- internals ---------------------------------------------------------------------
    def _consume(self, fault: Fault) -> None:
        fault.applied += 1
        if fault.count is not None and fault.applied >= fault.count:
            self._faults.remove(fault)

    def _remove(self, faults: list[Fault]) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if all(f is not g for g in faults)]
            if not any(f.mode == "refuse" for f in self._faults):
                for timer in self._timers:
                    timer.cancel()
                self._timers.clear()
        if any(f.mode == "refuse" for f in faults):
            self._notify_refuse()

    def _notify_refuse(self) -> None:
        listener = self._refuse_listener
        if listener is not None:
            listener(self.refusing)


def _scalar(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_fault_spec(spec: str) -> Fault:
    """Parse ``[PATH_PREFIX:]MODE[=VALUE][,KEY=VALUE...]`` (see the module docstring)."""
    prefix = DEFAULT_PREFIX
    rest = spec.strip()
    if rest.startswith("/"):
        prefix, sep, rest = rest.partition(":")
        if not sep:
            raise ValueError(f"fault spec {spec!r}: expected PATH_PREFIX:MODE...")
    items = [item.strip() for item in rest.split(",") if item.strip()]
    if not items:
        raise ValueError(f"fault spec {spec!r} names no mode")
    mode, _, value = items[0].partition("=")
    params: dict[str, Any] = {}
    if value:
        if mode not in MAIN_PARAM:
            raise ValueError(f"fault spec {spec!r}: mode {mode!r} takes no value")
        params[MAIN_PARAM[mode]] = _scalar(value)
    count: int | None = None
    method: str | None = None
    for item in items[1:]:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"fault spec {spec!r}: expected KEY=VALUE, got {item!r}")
        if key == "count":
            count = None if value.lower() in ("none", "always") else _scalar(value)
        elif key == "method":
            method = value
        else:
            params[key] = _scalar(value)
    return Fault(mode=mode, path_prefix=prefix, count=count, method=method, params=params)


def fault_from_json(data: Any) -> Fault:
    """Build a fault from the JSON of ``POST /_dev/faults``: ``{"spec": ...}`` or explicit fields."""
    if not isinstance(data, dict):
        raise ValueError("a fault must be a JSON object")
    if "spec" in data:
        if set(data) != {"spec"} or not isinstance(data["spec"], str):
            raise ValueError('a fault given as {"spec": "..."} takes no other fields')
        return parse_fault_spec(data["spec"])
    params = dict(data)
    mode = params.pop("mode", None)
    if not isinstance(mode, str):
        raise ValueError("a fault needs a string 'mode'")
    prefix = params.pop("path_prefix", DEFAULT_PREFIX)
    count = params.pop("count", None)
    method = params.pop("method", None)
    params.pop("applied", None)
    return Fault(mode=mode, path_prefix=prefix, count=count, method=method, params=params)
