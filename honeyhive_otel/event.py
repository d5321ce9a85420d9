"""The one event model every convention maps into, and its wire form (PostEventRequest).

`Event` carries the HoneyHive fields plus the span links the exporter needs to merge,
re-parent and group events; only the HoneyHive fields are serialised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The fields HoneyHive's strict v1 schema accepts, in the order we send them.
WIRE_FIELDS = (
    "event_id", "session_id", "parent_id", "event_type", "event_name", "source", "start_time", "end_time",
    "duration", "error", "inputs", "outputs", "config", "metadata", "metrics", "user_properties", "feedback",
)


@dataclass(slots=True)
class SessionInfo:
    """What the session of an event is created with (`POST /v1/sessions`), once per process."""

    session_id: str
    session_name: str
    source: str
    start_time: float
    metadata: dict[str, Any] = field(default_factory=dict)
    user_properties: dict[str, Any] = field(default_factory=dict)

    def to_request(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "session_id": self.session_id,
            "session_name": self.session_name,
            "event_name": self.session_name,
            "source": self.source,
            "start_time": self.start_time,
            "inputs": {},
            "metadata": self.metadata,
            "user_properties": self.user_properties,
        }
        return body


@dataclass(slots=True)
class Event:
    """One HoneyHive event made from one span."""

    event_id: str
    session_id: str
    parent_id: str
    event_type: str
    event_name: str
    source: str
    start_time: float
    end_time: float
    duration: float
    error: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    user_properties: dict[str, Any] = field(default_factory=dict)
    feedback: dict[str, Any] = field(default_factory=dict)
    # Span links, not serialised.
    trace_id: int = 0
    span_id: int = 0
    parent_span_id: int | None = None
    parent_is_remote: bool = False
    session: SessionInfo | None = None
    convention: str = "otel"
    # "absorb": this event only adds detail to its parent's event (LiteLLM's raw request span).
    disposition: str = "emit"

    def to_request(self) -> dict[str, Any]:
        """The wire fields (WIRE_FIELDS, in that order): a literal, not a loop of getattr calls
        (once per event sent)."""
        return {
            "event_id": self.event_id,
            "session_id": self.session_id,
            "parent_id": self.parent_id,
            "event_type": self.event_type,
            "event_name": self.event_name,
            "source": self.source,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "duration": self.duration,
            "error": self.error,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "config": self.config,
            "metadata": self.metadata,
            "metrics": self.metrics,
            "user_properties": self.user_properties,
            "feedback": self.feedback,
        }
