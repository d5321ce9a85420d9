"""Deterministic ids: the same span always maps to the same HoneyHive event id.

Stable ids let a parent's event id be computed from the child's parent span id without
any state, and make retries idempotent: a re-sent event carries the id it had before.
"""

from __future__ import annotations

import functools
import hashlib
import uuid

# A fixed namespace for span-derived ids, so they never collide with uuid5 ids of other origin.
SPAN_NAMESPACE = uuid.UUID("6f1c3f4e-2b6a-5d8e-9a41-0c2d9b7e5a10")

_SPAN_NAMESPACE_BYTES = SPAN_NAMESPACE.bytes
_URL_NAMESPACE_BYTES = uuid.NAMESPACE_URL.bytes
# The SHA-1 state after the span namespace's bytes: an event id copies it and adds the span's hex
# digits, which skips the digest's set-up per id (with OpenSSL, the lookup of the algorithm; a copy
# also beats CPython's own SHA-1). Never updated itself, so threads may copy it at any time.
_SPAN_NAMESPACE_SHA1 = hashlib.sha1(_SPAN_NAMESPACE_BYTES, usedforsecurity=False)

# A UUID's variant digit: RFC 4122 sets the two high bits of the digest's 17th hex digit to 10.
_VARIANT_DIGITS = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def uuid5_text(namespace: bytes, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))` without building UUID objects (ids are made per span)."""
    return _uuid5_text(hashlib.sha1(namespace + name.encode("utf-8"), usedforsecurity=False).hexdigest())


def _uuid5_text(digest: str) -> str:
    """The text of the version-5 UUID whose name hashed to the SHA-1 hex `digest`: its first 32
    hex digits, with the version digit set to 5 and the variant digit fixed."""
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{_VARIANT_DIGITS[digest[16]]}{digest[17:20]}-{digest[20:32]}"


def hex_ids(trace_id: int, span_id: int, parent_span_id: int | None = None) -> tuple[str, str, str | None]:
    """The ids' hex digits: `f"{trace_id:032x}"`, `f"{span_id:016x}"` and the parent's like the span's
    (None without a parent)."""
    try:  # (ids in range, as the SDK's are: their bytes' hex is the quickest way to their digits)
        return (trace_id.to_bytes(16, "big").hex(), span_id.to_bytes(8, "big").hex(),
                parent_span_id.to_bytes(8, "big").hex() if parent_span_id else None)
    except (AttributeError, OverflowError):  # not an int, or out of range: formatted
        return f"{trace_id:032x}", f"{span_id:016x}", f"{parent_span_id:016x}" if parent_span_id else None


def event_id_for(trace_id: int, span_id: int) -> str:
    """The event id of the span (trace_id, span_id): uuid5 of their hex digits."""
    trace_hex, span_hex, _ = hex_ids(trace_id, span_id)
    return event_id_from_hex(trace_hex, span_hex)


def event_id_from_hex(trace_hex: str, span_hex: str) -> str:
    """`event_id_for` from the ids' hex digits (`f"{trace_id:032x}"`, `f"{span_id:016x}"`), for a
    caller that formats them anyway (the mapper also sends them in `metadata.otel`)."""
    state = _SPAN_NAMESPACE_SHA1.copy()
    state.update((trace_hex + span_hex).encode("utf-8"))
    return _uuid5_text(state.hexdigest())


@functools.lru_cache(maxsize=1024)
def parent_event_id_for(trace_id: int, span_id: int) -> str:
    """`event_id_for` of a parent span: siblings share their parent, so recent ones are cached."""
    return event_id_for(trace_id, span_id)


def session_id_for_trace(trace_id: int) -> str:
    """The session id used in `session_mode="trace"`: one session per root trace."""
    return uuid5_text(_SPAN_NAMESPACE_BYTES, f"trace:{trace_id:032x}")


def normalize_session_id(raw: object) -> tuple[str, str | None]:
    """Return (uuid, raw) for a session id: UUIDs pass through, anything else maps to uuid5.

    HoneyHive silently replaces a non-UUID session id with a random one, which would
    scatter one logical session over many, so non-UUID ids map to `uuid5(NAMESPACE_URL, raw)`
    and the caller keeps the raw value in the session's metadata.
    """
    # Most spans of a process name the same few sessions: a text seen before is one dict read
    # (only texts are kept: `1 == 1.0 == True` would share answers that differ).
    found = _NORMALIZED.get(raw) if type(raw) is str else None
    if found is None:
        found = _normalize(str(raw).strip())
        if type(raw) is str and len(raw) <= _CACHED_SESSION_ID_CHARS:  # long (hostile) ids are not kept
            if len(_NORMALIZED) >= _MAX_NORMALIZED:
                _NORMALIZED.clear()  # many distinct ids (not a few sessions'): start over
            _NORMALIZED[raw] = found
    return found


def _normalize(text: str) -> tuple[str, str | None]:
    try:
        return str(uuid.UUID(text)), None
    except ValueError:
        return uuid5_text(_URL_NAMESPACE_BYTES, text), text


_CACHED_SESSION_ID_CHARS = 256
_MAX_NORMALIZED = 1024
# Raw session id text -> `normalize_session_id` of it; cleared when full.
_NORMALIZED: dict[str, tuple[str, str | None]] = {}
