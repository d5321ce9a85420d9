"""A span whose session is created with the configured values alone shares them with its session's other spans.

`SessionResolver._configured` builds the metadata (configured values plus the raw id) and user
properties of such a session once per raw session id, instead of merging and converting them
again for every span. The reference is the per-span merge it replaces, compared type-strictly
(key order included) on spans with and without per-call session values.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace

from honeyhive_otel import sessions
from honeyhive_otel.event import SessionInfo
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.sessions import SessionResolver
from tests.support.pipeline import make_pipeline
from tests.test_values_fast_paths import same

DEFAULT = "00000000-0000-4000-8000-00000000000c"


def reference_resolve(resolver: SessionResolver, attrs: SpanAttributes, draft: Draft, trace_id: int,
                      source: str, start_time_ms: float) -> SessionInfo:
    """`resolve` merging the configured values with the span's for every span."""
    keys = attrs.derived(sessions._keys_present)
    (session_id, raw_id), origin = resolver._session(attrs, draft, trace_id, keys)
    if not keys.scope:
        name = draft.session_name or resolver.session_name
        metadata = {**resolver.metadata, **draft.session_metadata}
        user_properties = {**resolver.user_properties, **draft.user_properties}
    else:
        metadata = {**resolver.metadata}
        user_properties = {**resolver.user_properties}
        name, per_call = resolver._scope(attrs, draft, keys.scope, origin, metadata, user_properties)
        metadata.update(draft.session_metadata)
        user_properties.update(per_call)
    if raw_id is not None:
        metadata["raw_session_id"] = raw_id
    return SessionInfo(session_id, str(name), source, start_time_ms,
                       sessions._jsonable(metadata) if len(metadata) > (raw_id is not None) else metadata,
                       sessions._jsonable(user_properties) if user_properties else user_properties)


SESSION_VALUES = st.sampled_from(["conv-1", "conv-2", " conv-1 ", "", "  ", DEFAULT, "x" * 300, 7, None])
KEYS = [*sessions.SPAN_SESSION_KEYS, *sessions.SESSION_NAME_KEYS, sessions.CONTEXT_SESSION_KEY,
        sessions.CONTEXT_USER_ID_KEY, "app.route"]
CONFIGURED = st.sampled_from([{}, {"project": "p"}, {"project": "p", "tags": ("a", "b")}, {"raw_session_id": "x", 1: 2.5}])
SMALL = st.dictionaries(st.sampled_from(["plan", "user_id", "tags"]), st.sampled_from(["pro", 3, ("t",)]), max_size=2)


@st.composite
def spans(draw: Any) -> tuple[dict[str, Any], dict[str, Any], int]:
    attributes = {key: draw(SESSION_VALUES) for key in draw(st.lists(st.sampled_from(KEYS), max_size=3, unique=True))}
    draft = {"session_id": draw(st.sampled_from([None, "", "from-convention"])),
             "session_name": draw(st.sampled_from([None, "", "named"])),
             "session_metadata": draw(SMALL), "user_properties": draw(SMALL)}
    return {key: value for key, value in attributes.items() if value is not None}, draft, draw(st.integers(1, 4))


def make_draft(values: dict[str, Any]) -> Draft:
    draft = Draft("chain", "span")
    draft.session_id, draft.session_name = values["session_id"], values["session_name"]
    draft.session_metadata, draft.user_properties = dict(values["session_metadata"]), dict(values["user_properties"])
    return draft


def fields(info: SessionInfo) -> tuple[Any, ...]:
    return (info.session_id, info.session_name, info.source, info.start_time, info.metadata, info.user_properties)


@settings(max_examples=400, deadline=None)
@given(st.lists(spans(), min_size=1, max_size=6), CONFIGURED, CONFIGURED, st.sampled_from(["process", "trace"]))
def test_sessions_are_created_with_what_the_per_span_merge_gives(
        batch: list[tuple[dict[str, Any], dict[str, Any], int]], metadata: dict[str, Any],
        user_properties: dict[str, Any], mode: str) -> None:
    resolver = SessionResolver(DEFAULT, "configured", mode, metadata, user_properties)
    reference = SessionResolver(DEFAULT, "configured", mode, metadata, user_properties)
    resolved = []
    for index, (attributes, draft, trace_id) in enumerate(batch):
        attrs, expected_attrs = SpanAttributes(attributes), SpanAttributes(attributes)
        draft_values, expected_draft = make_draft(draft), make_draft(draft)
        info = resolver.resolve(attrs, draft_values, trace_id, "test", float(index))
        expected = reference_resolve(reference, expected_attrs, expected_draft, trace_id, "test", float(index))
        assert same(fields(info), fields(expected))
        assert attrs.consumed == expected_attrs.consumed
        assert same((draft_values.metadata, draft_values.user_properties),
                    (expected_draft.metadata, expected_draft.user_properties))
        resolved.append((info, fields(expected)))
    for info, expected in resolved:  # the values shared by later spans were not changed by them
        assert same(fields(info), expected)


def test_two_traces_of_one_conversation_create_its_session_with_the_configured_values(devserver: Any) -> None:
    pipeline = make_pipeline(devserver.url, session_name="configured", session_metadata={"project": "shared"})
    tracer = pipeline.tracer()
    for name in ("first", "second"):
        with tracer.start_as_current_span(name, attributes={"gen_ai.conversation.id": "conv-shared"}):
            pass
    with tracer.start_as_current_span("own", attributes={"gen_ai.conversation.id": "conv-own"}):
        trace.get_current_span().set_attribute("honeyhive.session_name", "named on the span")
    pipeline.flush()
    pipeline.close()
    events = {event["event_name"]: event for event in devserver.store.events()}
    assert events["first"]["session_id"] == events["second"]["session_id"] != events["own"]["session_id"]
    shared = devserver.store.session(events["first"]["session_id"])
    assert shared["session_name"] == "configured"
    assert shared["metadata"] == {"project": "shared", "raw_session_id": "conv-shared"}
    own = devserver.store.session(events["own"]["session_id"])
    assert own["session_name"] == "named on the span"
    assert own["metadata"] == {"project": "shared", "raw_session_id": "conv-own"}
