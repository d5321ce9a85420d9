"""`EncodedEvents`: a batch's bodies in one buffer must behave exactly like the list of bodies.

The transport packs requests from it (byte budget), re-sends subsets of it (413 halves, a 500
that created some events) and the exporter spools single bodies out of it: every one of those
views must hold the same bytes the list would.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.transport import EncodedEvents

bodies_strategy = st.lists(st.binary(min_size=0, max_size=40).map(lambda b: json.dumps(b.hex()).encode()),
                           max_size=30)


def reference_chunks(bodies: list[bytes], budget: int) -> list[list[int]]:
    """Greedy packing: consecutive bodies, comma-joined within `budget`, an oversized one alone."""
    chunks: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index, body in enumerate(bodies):
        extra = len(body) + (1 if current else 0)
        if current and size + extra > budget:
            chunks.append(current)
            current, size, extra = [], 0, len(body)
        current.append(index)
        size += extra
    if current:
        chunks.append(current)
    return chunks


@settings(max_examples=300, deadline=None)
@given(bodies_strategy, st.integers(min_value=-5, max_value=400))
def test_chunks_pack_like_the_list(bodies: list[bytes], budget: int) -> None:
    events = EncodedEvents(bodies)
    assert [list(chunk) for chunk in events.chunks(budget)] == reference_chunks(bodies, budget)


@settings(max_examples=300, deadline=None)
@given(bodies_strategy, st.data())
def test_views_hold_the_same_bytes(bodies: list[bytes], data: st.DataObject) -> None:
    events = EncodedEvents(bodies)
    assert len(events) == len(bodies)
    assert list(events) == bodies
    assert events[1:3] == bodies[1:3]
    if bodies:
        assert events[-1] == bodies[-1]
    subset = sorted(data.draw(st.sets(st.integers(0, max(len(bodies) - 1, 0)))) if bodies else [])
    expected = b'{"events":[' + b",".join(bodies[i] for i in subset) + b"]}"
    assert events.request_body(subset) == expected
    everything = events.request_body(list(range(len(bodies))))
    assert json.loads(everything) == {"events": [json.loads(body) for body in bodies]}


@pytest.mark.parametrize("index", [1, -2])
def test_an_index_out_of_range_raises(index: int) -> None:
    with pytest.raises(IndexError):
        EncodedEvents([b"{}"])[index]
