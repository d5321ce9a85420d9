"""A session a span names is remembered for its trace, in two generations of plain dicts.

The memory used to be one LRU of `_TRACE_MEMORY` traces (an OrderedDict reordered under a lock on
every span that names its session). The two generations keep every trace the LRU kept: a trace
is forgotten only after at least `_TRACE_MEMORY` other traces named a session after it did (and
at most twice as many). These cases pin that bound from both sides, the latest naming winning,
and the memory staying bounded.
"""

from __future__ import annotations

from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.sessions import _TRACE_MEMORY, SessionResolver

DEFAULT = "00000000-0000-4000-8000-0000000000aa"
FIRST = 10**9  # the trace ids that name a session in these cases: 1_000_000_000 and up


def name(resolver: SessionResolver, trace_id: int, session: str) -> str:
    """The session id of a span of `trace_id` that names `session`."""
    return resolver.session_id(SpanAttributes({"session.id": session}), Draft("chain", "named"), trace_id)


def joined(resolver: SessionResolver, trace_id: int) -> str:
    """The session id of a span of `trace_id` that names none."""
    return resolver.session_id(SpanAttributes({}), Draft("chain", "plain"), trace_id)


def name_others(resolver: SessionResolver, count: int, start: int) -> None:
    for trace_id in range(start, start + count):
        name(resolver, trace_id, f"other-{trace_id}")


def test_a_trace_is_kept_while_fewer_other_traces_than_the_memory_named_a_session() -> None:
    for before in (0, 1, _TRACE_MEMORY // 2, _TRACE_MEMORY - 1):  # where the trace falls in a generation
        resolver = SessionResolver(session_id=DEFAULT)
        name_others(resolver, before, FIRST)
        named = name(resolver, 7, "conversation-7")
        name_others(resolver, _TRACE_MEMORY - 1, FIRST + before)
        assert joined(resolver, 7) == named != DEFAULT


def test_a_trace_is_forgotten_after_twice_the_memory_of_other_traces() -> None:
    resolver = SessionResolver(session_id=DEFAULT)
    name(resolver, 7, "conversation-7")
    name_others(resolver, 2 * _TRACE_MEMORY, FIRST)
    assert joined(resolver, 7) == DEFAULT  # bounded: the span joins the process session
    assert len(resolver._by_trace) + len(resolver._by_trace_before) <= 2 * _TRACE_MEMORY


def test_naming_a_trace_again_keeps_it_and_the_latest_session_wins() -> None:
    resolver = SessionResolver(session_id=DEFAULT)
    name(resolver, 7, "first")
    name_others(resolver, _TRACE_MEMORY - 1, FIRST)  # the first naming is now in the older generation
    latest = name(resolver, 7, "second")
    assert joined(resolver, 7) == latest != name(resolver, 8, "first")
    name_others(resolver, _TRACE_MEMORY - 1, FIRST + _TRACE_MEMORY)
    assert joined(resolver, 7) == latest


def test_a_trace_that_names_no_session_is_not_remembered() -> None:
    resolver = SessionResolver(session_id=DEFAULT, mode="trace")
    assert joined(resolver, 7) == joined(resolver, 7) != joined(resolver, 8)  # one per trace, computed
    assert not resolver._by_trace and not resolver._by_trace_before
