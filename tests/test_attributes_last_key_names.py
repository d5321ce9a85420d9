"""`key_names` compares a span's names with the last span's before looking them up by hash.

Spans of one instrumentation follow each other with the same names: they share one `KeyNames`.
Interleaved spans with other names, the same names in another order, no names at all, or names
that refuse to be compared must each still get the answers of their own names.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping.attributes import SpanAttributes

NAMES = ["a", "b", "c", "a.b", "a.c"]


class Uncomparable(str):
    """A name that raises when compared with another instance (the lookup must fall back)."""

    def __hash__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        raise RuntimeError("no comparison")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(NAMES), unique=True), min_size=1, max_size=6))
def test_each_span_gets_the_answers_of_its_own_names(spans: list[list[str]]) -> None:
    for names in spans + spans:
        view = SpanAttributes({name: index for index, name in enumerate(names)})
        assert view.names.keys == tuple(names)
        assert view.keys_with_prefix("a.") == sorted(name for name in names if name.startswith("a."))
        assert list(view.unconsumed_dict()) == names


def test_spans_with_the_same_names_share_one_answer_and_other_orders_do_not() -> None:
    first, second = SpanAttributes({"x": 1, "y": 2}), SpanAttributes({"x": 3, "y": 4})
    third = SpanAttributes({"x": 5, "y": 6})
    assert first.names is second.names is third.names
    swapped = SpanAttributes({"y": 1, "x": 2})
    assert swapped.names is not first.names and swapped.names.keys == ("y", "x")
    assert SpanAttributes({}).names.keys == () and SpanAttributes(None).names.keys == ()


def test_names_that_cannot_be_compared_get_their_own_answers() -> None:
    values: list[Any] = []
    for value in range(3):
        view = SpanAttributes({Uncomparable("k"): value})
        values.append(list(view.unconsumed_dict().values()))
    assert values == [[0], [1], [2]]
