"""Bound every value of an event: JSON-safe types, and long strings cut with a marker.

A single value longer than `max_chars` keeps its head and gains an explicit marker with
the original length, so a reader knows the value was cut and by how much. One walk does
both (`to_jsonable` with `max_chars`).
"""

from __future__ import annotations

from ..event import Event
from .values import to_jsonable, truncate_text

BUCKETS = ("inputs", "outputs", "config", "metadata", "metrics", "user_properties", "feedback")

__all__ = ["BUCKETS", "bound_event", "truncate_text"]


def bound_event(event: Event, max_chars: int) -> Event:
    """Make every bucket JSON-safe and bounded; top-level strings too."""
    for bucket in BUCKETS:
        value = to_jsonable(getattr(event, bucket), max_chars=max_chars)
        setattr(event, bucket, value if isinstance(value, dict) else {"value": value})
    event.event_name = truncate_text(str(event.event_name), 1_000)
    if event.error is not None:
        event.error = truncate_text(str(event.error), 10_000)
    return event
