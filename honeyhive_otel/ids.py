"""Deterministic ids: the same span always maps to the same HoneyHive event id.

Stable ids let a parent's event id be computed from the child's parent span id without
any state, and make retries idempotent: a re-sent event carries the id it had before.
"""

from __future__ import annotations

import uuid

# A fixed namespace for span-derived ids, so they never collide with uuid5 ids of other origin.
SPAN_NAMESPACE = uuid.UUID("6f1c3f4e-2b6a-5d8e-9a41-0c2d9b7e5a10")


def event_id_for(trace_id: int, span_id: int) -> str:
    """The event id of the span (trace_id, span_id)."""
    return str(uuid.uuid5(SPAN_NAMESPACE, f"{trace_id:032x}{span_id:016x}"))


def session_id_for_trace(trace_id: int) -> str:
    """The session id used in `session_mode="trace"`: one session per root trace."""
    return str(uuid.uuid5(SPAN_NAMESPACE, f"trace:{trace_id:032x}"))


def normalize_session_id(raw: object) -> tuple[str, str | None]:
    """Return (uuid, raw) for a session id: UUIDs pass through, anything else maps to uuid5.

    HoneyHive silently replaces a non-UUID session id with a random one, which would
    scatter one logical session over many, so non-UUID ids map to `uuid5(NAMESPACE_URL, raw)`
    and the caller keeps the raw value in the session's metadata.
    """
    text = str(raw).strip()
    try:
        return str(uuid.UUID(text)), None
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, text)), text
