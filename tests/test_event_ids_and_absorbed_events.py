"""Event ids copy one SHA-1 state per id, and absorbed events are built positionally: both give
exactly what their plain forms gave.

An event id is the version-5 UUID of the span's hex digits in the span namespace: the mapper copies
the hash state after the namespace instead of hashing it again per id, from any thread. The event
of a span the coalescer absorbs (LiteLLM's raw request span) is built with positional arguments,
in the order of Event's fields, and is never sent, so its ids, times and source stay empty; the
references below are the plain forms (`uuid.uuid5`, keyword arguments).
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.event import Event
from honeyhive_otel.ids import SPAN_NAMESPACE, event_id_for, event_id_from_hex, uuid5_text
from honeyhive_otel.mapping.mapper import SpanMapper
from tests.support.spans import load_spans

FIXTURES = Path(__file__).parent / "fixtures" / "spans"
IDS = st.one_of(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=-(2**70), max_value=2**140))


def reference_event_id(trace_id: int, span_id: int) -> str:
    return str(uuid.uuid5(SPAN_NAMESPACE, f"{trace_id:032x}{span_id:016x}"))


# ----- ids ----------------------------------------------------------------------------------
@settings(max_examples=1000, deadline=None)
@given(trace_id=st.one_of(IDS, st.integers(min_value=0, max_value=2**128 - 1)), span_id=IDS)
def test_event_ids_are_the_uuid5_of_the_hex_digits(trace_id: int, span_id: int) -> None:
    expected = reference_event_id(trace_id, span_id)
    assert event_id_for(trace_id, span_id) == expected
    assert event_id_from_hex(f"{trace_id:032x}", f"{span_id:016x}") == expected


@settings(max_examples=500, deadline=None)
@given(name=st.text(), namespace=st.sampled_from([uuid.NAMESPACE_URL, SPAN_NAMESPACE, uuid.NAMESPACE_DNS]))
def test_uuid5_text_is_uuid5(name: str, namespace: uuid.UUID) -> None:
    assert uuid5_text(namespace.bytes, name) == str(uuid.uuid5(namespace, name))


def test_threads_copying_the_shared_hash_state_get_their_own_ids() -> None:
    """The namespace's hash state is shared: copies taken at the same time never mix."""
    results: dict[int, list[tuple[int, str]]] = {}
    start = threading.Barrier(4)

    def work(worker: int) -> None:
        start.wait()
        results[worker] = [(i, event_id_for(worker, i)) for i in range(3_000)]

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker, found in results.items():
        assert found == [(i, reference_event_id(worker, i)) for i in range(3_000)]


# ----- absorbed events ----------------------------------------------------------------------
def test_absorbed_events_hold_every_field_where_keywords_put_it() -> None:
    absorbed = 0
    for path in sorted(FIXTURES.glob("litellm_otel_*.json")):
        mapper = SpanMapper()
        for span in load_spans(path):
            event = mapper.map(span)
            if event.disposition != "absorb":
                continue
            absorbed += 1
            context, parent = span.context, span.parent
            session_id = mapper.sessions.default_session_id
            expected = Event(
                event_id="",  # never sent: no ids, times or source are worked out
                session_id=session_id,
                parent_id="",
                event_type=event.event_type,
                event_name=span.name,
                source="",
                start_time=0.0,
                end_time=0.0,
                duration=0.0,
                error=None,
                metadata=event.metadata,
                trace_id=context.trace_id,
                span_id=context.span_id,
                parent_span_id=parent.span_id,
                parent_is_remote=False,
                convention="litellm",
                disposition="absorb",
            )
            assert event.session_id == session_id and event.event_type in ("model", "chain")
            assert dataclasses.asdict(event) == dataclasses.asdict(expected)
            assert [type(getattr(event, field.name)) for field in dataclasses.fields(Event)] == \
                [type(getattr(expected, field.name)) for field in dataclasses.fields(Event)]
    assert absorbed >= 5  # the LiteLLM fixtures each have a raw request span
