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
from dataclasses import dataclass
from typing import Any

from .event import SessionInfo
from .ids import normalize_session_id, session_id_for_trace
from .mapping.attributes import SpanAttributes
from .mapping.draft import Draft
from .mapping.values import as_list, is_blank, parse_json, to_jsonable

# Attribute keys the processor stamps from context; also readable when users set them.
BAGGAGE_SESSION_KEY = "honeyhive.baggage.session_id"
BAGGAGE_SESSION_NAME_KEY = "honeyhive.baggage.session_name"
CONTEXT_SESSION_KEY = "honeyhive.context.session_id"
CONTEXT_SESSION_NAME_KEY = "honeyhive.context.session_name"
CONTEXT_USER_ID_KEY = "honeyhive.context.user_id"
CONTEXT_METADATA_KEY = "honeyhive.context.metadata"  # a JSON object
CONTEXT_USER_PROPERTIES_KEY = "honeyhive.context.user_properties"  # a JSON object
CONTEXT_TAGS_KEY = "honeyhive.context.tags"  # a list of strings
# What `session()` creates its session with: {"metadata", "user_properties", "tags"} as JSON.
CONTEXT_SESSION_VALUES_KEY = "honeyhive.context.session"
CONTEXT_KEYS = (CONTEXT_SESSION_KEY, CONTEXT_SESSION_NAME_KEY, CONTEXT_USER_ID_KEY, CONTEXT_METADATA_KEY,
                CONTEXT_USER_PROPERTIES_KEY, CONTEXT_TAGS_KEY, CONTEXT_SESSION_VALUES_KEY, BAGGAGE_SESSION_NAME_KEY)
# W3C baggage entries `session(propagate=True)` sets and the processor reads.
BAGGAGE_SESSION_PUBLIC_KEY = "honeyhive.session_id"
BAGGAGE_SESSION_NAME = "honeyhive.session_name"

SPAN_SESSION_KEYS = (
    "honeyhive.session_id", "honeyhive_session_id", BAGGAGE_SESSION_KEY, "session.id", "gen_ai.conversation.id",
    "traceloop.association.properties.session_id",
)
SESSION_NAME_KEYS = ("honeyhive.session_name", "honeyhive_session_name")
SESSION_MODES = ("process", "trace")
# The session a span named is remembered for its trace until at least this many other traces
# named one (`SessionResolver._session`).
_TRACE_MEMORY = 20_000
# Bounds on the raw session ids whose session values `SessionResolver._configured` keeps: their
# number, and the length of one worth keeping.
_MAX_CONFIGURED = 1024
_CONFIGURED_ID_CHARS = 256
# Every attribute the resolution reads: intersected with the span's names (once per tuple of names,
# `_keys_present`), so the lookups of those it does not have are skipped.
_CONTEXT_KEY_SET = frozenset(CONTEXT_KEYS)
_READ_KEYS = frozenset((*SPAN_SESSION_KEYS, *CONTEXT_KEYS, *SESSION_NAME_KEYS))
# Context values and session names: `resolve` reads them only for a span that has one.
_SCOPE_KEYS = frozenset((*CONTEXT_KEYS, *SESSION_NAME_KEYS))


@dataclass(frozen=True, slots=True)
class _KeysPresent:
    """Which of the attributes the resolution reads a span has. Worked out once per tuple of
    attribute names (`SpanAttributes.derived`): most spans carry none, or one session id."""

    named: tuple[str, ...]  # SPAN_SESSION_KEYS present, in that (priority) order
    context_session: bool  # CONTEXT_SESSION_KEY present
    scope: frozenset[str]  # the _SCOPE_KEYS present: context values and session names


def _keys_present(names: tuple[str, ...]) -> _KeysPresent:
    present = _READ_KEYS.intersection(names)
    return _KeysPresent(tuple(key for key in SPAN_SESSION_KEYS if key in present), CONTEXT_SESSION_KEY in present,
                        present & _SCOPE_KEYS)


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
        # The sessions spans named, by trace: two generations of plain dicts rather than one LRU
        # (an OrderedDict's reordering, under a lock, on every span that names its session). A
        # trace named again is written to the newer one; when it holds _TRACE_MEMORY traces, it
        # becomes the older one and the older one is dropped: a trace is kept until at least
        # _TRACE_MEMORY other traces named a session after it did, as an LRU of that size keeps it.
        self._by_trace: dict[int, tuple[str, str | None]] = {}
        self._by_trace_before: dict[int, tuple[str, str | None]] = {}
        self._lock = threading.Lock()  # (for the rare generation change; one dict write needs none)
        # `_configured`: raw session id -> what its session is created with (`metadata` and
        # `user_properties` above are read-only once the resolver is made).
        self._configured_values: dict[str | None, tuple[dict[str, Any], dict[str, Any]]] = {}

    def resolve(self, attrs: SpanAttributes, draft: Draft, trace_id: int, source: str,
                start_time_ms: float) -> SessionInfo:
        keys = attrs.derived(_keys_present)
        (session_id, raw_id), origin = self._session(attrs, draft, trace_id, keys)
        if not keys.scope:  # most spans: no context values, no session name
            name = draft.session_name or self.session_name
            if not draft.session_metadata and not draft.user_properties:
                # The usual span: its session is created with the configured values alone.
                metadata, user_properties = self._configured_values.get(raw_id) or self._configured(raw_id)
                return SessionInfo(session_id, str(name), source, start_time_ms, metadata, user_properties)
            metadata = {**self.metadata, **draft.session_metadata}
            user_properties = {**self.user_properties, **draft.user_properties}
        else:
            metadata = {**self.metadata}
            user_properties = {**self.user_properties}
            name, per_call_user_properties = self._scope(attrs, draft, keys.scope, origin, metadata, user_properties)
            metadata.update(draft.session_metadata)
            user_properties.update(per_call_user_properties)
        metadata, user_properties = _session_values(metadata, user_properties, raw_id)
        # (positional: session_id, session_name, source, start_time, metadata, user_properties)
        return SessionInfo(session_id, str(name), source, start_time_ms, metadata, user_properties)

    def _configured(self, raw_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """(metadata, user properties) of a session created with the configured values and its raw id
        alone; kept per raw id (`_configured_values`) and shared by the SessionInfo of every such span
        (read-only)."""
        found = _session_values(dict(self.metadata), dict(self.user_properties), raw_id)
        if raw_id is None or len(raw_id) <= _CONFIGURED_ID_CHARS:  # long (hostile) ids are not kept
            if len(self._configured_values) >= _MAX_CONFIGURED:
                self._configured_values.clear()  # many distinct sessions (not a few): start over
            self._configured_values[raw_id] = found
        return found

    def _scope(self, attrs: SpanAttributes, draft: Draft, present: frozenset[str], origin: str | None,
               metadata: dict[str, Any], user_properties: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """For a span with context values or a session name: (its session name, its per-call user
        properties). Adds the scope's values to `metadata` and `user_properties` when the context
        API opened the session."""
        per_call_user_properties = draft.user_properties
        scoped = None
        if not present.isdisjoint(_CONTEXT_KEY_SET):
            per_call_user_properties = dict(per_call_user_properties)  # before the context fills the draft
            scoped = _read_context(attrs, draft)
        name = attrs.get(*SESSION_NAME_KEYS) if not present.isdisjoint(SESSION_NAME_KEYS) else None
        scoped_name = attrs.get(BAGGAGE_SESSION_NAME_KEY) if origin == BAGGAGE_SESSION_KEY else None
        if origin == CONTEXT_SESSION_KEY and scoped is not None:
            # The session was opened by the context API: it is created with that scope's values.
            scoped_name = scoped.name
            metadata.update(scoped.session.get("metadata") or {})
            if scoped.session.get("tags"):
                metadata["tags"] = scoped.session["tags"]
            user_properties.update(scoped.session.get("user_properties") or {})
        if name is None or is_blank(name):
            name = draft.session_name or (scoped_name if not is_blank(scoped_name) else None) or self.session_name
        return name, per_call_user_properties

    def session_id(self, attrs: SpanAttributes, draft: Draft, trace_id: int) -> str:
        """The session id alone, for an event that is never sent (it only adds detail to its parent):
        like `resolve`, it remembers a session the span names for the rest of its trace."""
        return self._session(attrs, draft, trace_id, attrs.derived(_keys_present))[0][0]

    def _session(self, attrs: SpanAttributes, draft: Draft, trace_id: int,
                 keys: _KeysPresent) -> tuple[tuple[str, str | None], str | None]:
        """((session id, raw id), origin): explicit on the span, else remembered for the trace, else the default.
        An explicit session is remembered for the trace (the most recently named traces are kept)."""
        raw = origin = None
        named = keys.named
        if named:  # (most spans name none, or one)
            attrs.consumed.update(named)  # the first non-blank one names the session, all are mapped
            values = attrs.raw
            for key in named:  # in priority order
                value = values[key]
                if not is_blank(value):
                    raw, origin = value, key
                    break
        if raw is None:
            raw, origin = self._implicit(attrs, draft, keys)
        by_trace = self._by_trace
        if raw is not None:
            ids = by_trace[trace_id] = normalize_session_id(raw)
            if len(by_trace) >= _TRACE_MEMORY:
                with self._lock:
                    if by_trace is self._by_trace:  # (not changed by another thread meanwhile)
                        self._by_trace_before, self._by_trace = by_trace, {}
            if attrs.debug:
                attrs.note("session_id", origin)
            return ids, origin
        remembered = by_trace.get(trace_id)
        if remembered is None:
            remembered = self._by_trace_before.get(trace_id)
        if remembered is not None:
            return remembered, None
        if self.mode == "trace":
            return (session_id_for_trace(trace_id), None), None
        return (self.default_session_id, self._default_raw), None

    @staticmethod
    def _implicit(attrs: SpanAttributes, draft: Draft, keys: _KeysPresent) -> tuple[Any, str | None]:
        """(raw session id, origin) of a span whose attributes name none: from its convention, else
        from the context API."""
        if draft.session_id is not None and not is_blank(draft.session_id):
            return draft.session_id, "convention"
        if keys.context_session:
            value = attrs.get(CONTEXT_SESSION_KEY)
            if not is_blank(value):
                return value, CONTEXT_SESSION_KEY
        return None, None


class _Scoped:
    """The context API's values found on one span (stamped by the processor)."""

    __slots__ = ("name", "metadata", "user_properties", "tags", "session")

    def __init__(self) -> None:
        self.name: Any = None
        self.session: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}
        self.user_properties: dict[str, Any] = {}
        self.tags: list[str] = []


def _read_context(attrs: SpanAttributes, draft: Draft) -> _Scoped:
    """Consume the `honeyhive.context.*` attributes (the span has at least one of CONTEXT_KEYS)
    and fill the draft where the span said nothing.

    Per-call values (the span's own attributes, LiteLLM request metadata: already in the
    draft) win over the context's; tags are a set, so the context's are added to the span's.
    """
    scoped = _Scoped()
    scoped.name = attrs.get(CONTEXT_SESSION_NAME_KEY)
    session_values = parse_json(attrs.get(CONTEXT_SESSION_VALUES_KEY))
    if isinstance(session_values, dict):
        scoped.session = {key: value for key, value in session_values.items()
                          if isinstance(value, dict if key != "tags" else list)}
    metadata = parse_json(attrs.get(CONTEXT_METADATA_KEY))
    if isinstance(metadata, dict):
        scoped.metadata = metadata
        for key, value in metadata.items():
            draft.metadata.setdefault(key, value)
    user_properties = parse_json(attrs.get(CONTEXT_USER_PROPERTIES_KEY))
    if isinstance(user_properties, dict):
        scoped.user_properties = dict(user_properties)
    user_id = attrs.get(CONTEXT_USER_ID_KEY)
    if not is_blank(user_id):
        scoped.user_properties["user_id"] = str(user_id)
    for key, value in scoped.user_properties.items():
        draft.user_properties.setdefault(key, value)
    tags = as_list(attrs.get(CONTEXT_TAGS_KEY)) or []
    scoped.tags = [str(tag) for tag in tags]
    if scoped.tags:
        existing = as_list(draft.metadata.get("tags")) or []
        draft.metadata["tags"] = list(dict.fromkeys([*existing, *scoped.tags]))
    attrs.consume(*CONTEXT_KEYS)
    return scoped


def _session_values(metadata: dict[str, Any], user_properties: dict[str, Any],
                    raw_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A session's (freshly built) metadata, with its raw id when it has one, and user properties,
    both JSON-safe."""
    if raw_id is not None:
        metadata["raw_session_id"] = raw_id
    # (a metadata holding the raw id alone, a text, is JSON-safe as it is)
    return (_jsonable(metadata) if len(metadata) > (raw_id is not None) else metadata,
            _jsonable(user_properties) if user_properties else user_properties)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """`to_jsonable` of a session's (freshly built) metadata or user properties; the usual flat
    dict of strings, often empty, is already JSON-safe and needs no walk."""
    for key, value in values.items():
        if type(value) is not str or type(key) is not str or len(key) > 1_000:
            return to_jsonable(values)
    return values
