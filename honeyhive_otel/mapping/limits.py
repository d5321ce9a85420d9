"""Bound every value of an event: JSON-safe types, and long strings cut with a marker.

A single value longer than `max_chars` keeps its head and gains an explicit marker with
the original length, so a reader knows the value was cut and by how much.
"""

from __future__ import annotations

from typing import Any

from ..event import Event
from .values import to_jsonable

BUCKETS = ("inputs", "outputs", "config", "metadata", "metrics", "user_properties", "feedback")


def truncate_text(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}...[truncated by honeyhive-otel: {len(text)} chars]"


def _bound(value: Any, max_chars: int) -> Any:
    """Walk a JSON-safe value and truncate long strings (iterative over containers)."""
    if isinstance(value, str):
        return truncate_text(value, max_chars)
    if isinstance(value, dict):
        return {truncate_text(k, 1_000): _bound(v, max_chars) for k, v in value.items()}
    if isinstance(value, list):
        return [_bound(v, max_chars) for v in value]
    return value


def bound_event(event: Event, max_chars: int) -> Event:
    """Make every bucket JSON-safe and bounded; top-level strings too."""
    for bucket in BUCKETS:
        value = to_jsonable(getattr(event, bucket))
        setattr(event, bucket, _bound(value if isinstance(value, dict) else {"value": value}, max_chars))
    event.event_name = truncate_text(str(event.event_name), 1_000)
    if event.error is not None:
        event.error = truncate_text(str(event.error), 10_000)
    return event
