"""Which HoneyHive session an event belongs to (SPEC §4), and what the session is created with.

First found wins: `honeyhive.session_id`; W3C baggage (stamped on the span by the
processor); `session.id`; `gen_ai.conversation.id`; Traceloop's association property;
a session id from the convention (LiteLLM request metadata); the context API; the
`configure()` session, or one per root trace in `session_mode="trace"`. A span whose own
attributes name no session joins the session another span of its trace named, so one
trace is never split over sessions. A span is never dropped for lacking a session.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

from .event import SessionInfo
from .ids import normalize_session_id, session_id_for_trace
from .mapping.attributes import SpanAttributes
from .mapping.draft import Draft
from .mapping.values import is_blank, to_jsonable

# Attribute keys the processor stamps from context; also readable when users set them.
BAGGAGE_SESSION_KEY = "honeyhive.baggage.session_id"
CONTEXT_SESSION_KEY = "honeyhive.context.session_id"

SPAN_SESSION_KEYS = (
    "honeyhive.session_id", "honeyhive_session_id", BAGGAGE_SESSION_KEY, "session.id", "gen_ai.conversation.id",
    "traceloop.association.properties.session_id",
)
SESSION_MODES = ("process", "trace")
_TRACE_MEMORY = 20_000


class SessionResolver:
    """Resolves the session of each event; remembers explicit sessions per trace (bounded)."""

    def __init__(self, session_id: str | None = None, session_name: str = "session", mode: str = "process",
                 metadata: dict[str, Any] | None = None, user_properties: dict[str, Any] | None = None) -> None:
        if mode not in SESSION_MODES:
            raise ValueError(f"session_mode must be one of {SESSION_MODES}, got {mode!r}")
        raw_default = session_id if session_id else str(uuid.uuid4())
        self.default_session_id, self._default_raw = normalize_session_id(raw_default)
        self.session_name = session_name
        self.mode = mode
        self.metadata = dict(metadata or {})
        self.user_properties = dict(user_properties or {})
        self._by_trace: OrderedDict[int, tuple[str, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, attrs: SpanAttributes, draft: Draft, trace_id: int, source: str,
                start_time_ms: float) -> SessionInfo:
        raw, origin = self._explicit(attrs, draft)
        if raw is not None:
            session_id, raw_id = normalize_session_id(raw)
            self._remember(trace_id, session_id, raw_id)
        else:
            remembered = self._recall(trace_id)
            if remembered is not None:
                session_id, raw_id = remembered
            elif self.mode == "trace":
                session_id, raw_id = session_id_for_trace(trace_id), None
            else:
                session_id, raw_id = self.default_session_id, self._default_raw
        if origin:
            attrs.note("session_id", origin)
        name = attrs.get("honeyhive.session_name", "honeyhive_session_name")
        metadata = {**self.metadata, **draft.session_metadata}
        if raw_id is not None:
            metadata["raw_session_id"] = raw_id
        return SessionInfo(
            session_id=session_id,
            session_name=str(name) if not is_blank(name) else (draft.session_name or self.session_name),
            source=source,
            start_time=start_time_ms,
            metadata=to_jsonable(metadata),
            user_properties={**self.user_properties, **draft.user_properties},
        )

    def _explicit(self, attrs: SpanAttributes, draft: Draft) -> tuple[Any, str | None]:
        for key in SPAN_SESSION_KEYS:
            value = attrs.get(key)
            if not is_blank(value):
                attrs.consume(*SPAN_SESSION_KEYS)
                return value, key
        if not is_blank(draft.session_id):
            return draft.session_id, "convention"
        value = attrs.get(CONTEXT_SESSION_KEY)
        if not is_blank(value):
            return value, CONTEXT_SESSION_KEY
        return None, None

    def _remember(self, trace_id: int, session_id: str, raw_id: str | None) -> None:
        with self._lock:
            self._by_trace[trace_id] = (session_id, raw_id)
            self._by_trace.move_to_end(trace_id)
            while len(self._by_trace) > _TRACE_MEMORY:
                self._by_trace.popitem(last=False)

    def _recall(self, trace_id: int) -> tuple[str, str | None] | None:
        with self._lock:
            return self._by_trace.get(trace_id)
