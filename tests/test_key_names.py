"""What a span's attribute names alone decide is worked out once per tuple of names, and must be
exactly what a plain scan of each span's own attributes gives.

`SpanAttributes` shares sorted names, prefix lookups, present keys, indexed slots, the names left
unconsumed and the modules' `derived` plans between the spans whose attributes have the same
names. Spans with the same names but other values, another consumption or another order must
still get their own answers; the shared state stays bounded; hostile keys never break it.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.event import WIRE_FIELDS
from honeyhive_otel.mapping import attributes as attributes_module
from honeyhive_otel.mapping.attributes import MAX_ANSWERS, MAX_INDEX, MAX_KEY_NAMES, SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.mapper import SpanMapper
from honeyhive_otel.sessions import SessionResolver
from tests.support.spans import load_spans

FIXTURES = Path(__file__).parent / "fixtures" / "spans"
NAMES = ["p.0.a", "p.0.b", "p.1.a", "p.01.a", "p.2", "p.x.a", f"p.{MAX_INDEX + 1}.a", "p.", "pa", "q.0.c", "q",
         "r.s.0.t", "s"]
PREFIXES = ["", "p", "p.", "p.0", "p.1.", "q.", "r.s.", "t", "pa", "z"]
INDEXED = re.compile(r"^(\d{1,9})\.(.+)$")


def reference_indexed(attrs: dict[str, Any], prefix: str) -> tuple[list[dict[str, Any]], set[str]]:
    """`SpanAttributes.indexed` as a scan of the keys in sorted order: (slots, consumed keys)."""
    slots: dict[int, dict[str, Any]] = {}
    consumed = set()
    for key in sorted(attrs):
        match = INDEXED.match(key[len(prefix):]) if key.startswith(prefix) else None
        if match is None:
            continue
        consumed.add(key)
        if int(match.group(1)) <= MAX_INDEX:
            slots.setdefault(int(match.group(1)), {})[match.group(2)] = attrs[key]
    return [slots[index] for index in sorted(slots)], consumed


def check_against_a_scan(attrs: dict[str, Any], consume: list[str]) -> None:
    view = SpanAttributes(attrs)
    for prefix in PREFIXES:
        assert view.keys_with_prefix(prefix) == sorted(key for key in attrs if key.startswith(prefix))
        assert view.has_prefix(prefix) == any(key.startswith(prefix) for key in attrs)
        assert view.prefixed(prefix, consume=False) == {key[len(prefix):]: value for key, value in attrs.items()
                                                        if key.startswith(prefix)}
    for keys in (frozenset(NAMES[:4]), frozenset(NAMES[5:]), frozenset()):
        assert view.present(keys) == attrs.keys() & keys
    consumed: set[str] = set()
    for prefix in ("p.", "q.", "r.s."):
        slots, keys = reference_indexed(attrs, prefix)
        assert view.indexed(prefix) == slots
        consumed |= keys
    assert view.consumed == consumed
    view.consume(*consume)
    consumed |= attrs.keys() & set(consume)
    expected = {key: value for key, value in attrs.items() if key not in consumed}
    assert list(view.unconsumed_dict().items()) == list(expected.items())


@settings(max_examples=300, deadline=None)
@given(names=st.lists(st.sampled_from(NAMES), unique=True),
       values=st.lists(st.lists(st.one_of(st.integers(), st.text(max_size=3)), min_size=len(NAMES),
                                max_size=len(NAMES)), min_size=2, max_size=3),
       consume=st.lists(st.lists(st.sampled_from(NAMES)), min_size=3, max_size=3))
def test_spans_with_the_same_names_get_their_own_answers(names: list[str], values: list[list[Any]],
                                                         consume: list[list[str]]) -> None:
    """The first span works the answers out, the next ones (other values, other consumption) reuse them."""
    for row, keys in zip(values, consume, strict=False):
        check_against_a_scan(dict(zip(names, row, strict=False)), keys)


def test_the_same_names_in_another_order_keep_their_own_order() -> None:
    first = SpanAttributes({"a": 1, "b": 2, "c": 3})
    second = SpanAttributes({"c": 3, "b": 2, "a": 1})
    first.consume("b")
    second.consume("b")
    assert list(first.unconsumed_dict()) == ["a", "c"]
    assert list(second.unconsumed_dict()) == ["c", "a"]


def test_derived_plans_are_per_tuple_of_names() -> None:
    calls: list[tuple[str, ...]] = []

    def build(names: tuple[str, ...]) -> int:
        calls.append(names)
        return len(names)

    assert SpanAttributes({"x.1": 1, "x.2": 2}).derived(build) == 2
    assert SpanAttributes({"x.1": "other", "x.2": None}).derived(build) == 2
    assert SpanAttributes({"x.1": 1}).derived(build) == 1
    assert calls == [("x.1", "x.2"), ("x.1",)]


def test_shared_state_is_bounded() -> None:
    for index in range(MAX_KEY_NAMES + 20):
        SpanAttributes({f"bounded.{index}": index})
    assert len(attributes_module._KEY_NAMES) <= MAX_KEY_NAMES
    many = {f"k.{index:04d}": index for index in range(attributes_module.MAX_NAMES_KEPT + 1)}
    view = SpanAttributes(many)
    assert tuple(many) not in attributes_module._KEY_NAMES  # too many names to be worth keeping
    assert view.keys_with_prefix("k.000") == [f"k.000{digit}" for digit in range(10)]
    kept = {f"k.{index:03d}": index for index in range(MAX_ANSWERS + 20)}
    for prefix in kept:  # more questions than one tuple keeps answers for: all still answered
        assert SpanAttributes(kept).keys_with_prefix(prefix) == [prefix]
    assert len(SpanAttributes(kept).names._prefixed) == MAX_ANSWERS
    long_names = {"x" * (attributes_module.MAX_NAME_CHARS // 2 + 1): 1, "y" * (attributes_module.MAX_NAME_CHARS // 2): 2}
    assert SpanAttributes(long_names).keys_with_prefix("y") == ["y" * (attributes_module.MAX_NAME_CHARS // 2)]
    assert tuple(long_names) not in attributes_module._KEY_NAMES  # too many characters to be worth keeping


class CollidingKey(str):
    """A key whose every instance hashes alike and refuses to be compared with another instance."""

    def __hash__(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        raise RuntimeError("no comparison")


def test_keys_that_cannot_be_compared_are_not_shared() -> None:
    first = SpanAttributes({CollidingKey("k"): 1})
    second = SpanAttributes({CollidingKey("k"): 2})  # the lookup of its names compares two keys: raises
    assert list(first.unconsumed_dict().values()) == [1]
    assert list(second.unconsumed_dict().values()) == [2]


def test_session_ids_are_read_from_each_spans_values() -> None:
    """The session attributes present are shared per names; which one is set is per span."""
    resolver = SessionResolver(session_id="00000000-0000-4000-8000-000000000001")
    names = ("honeyhive.session_id", "session.id")
    blank_first = SpanAttributes(dict(zip(names, ("", "from-session-id"), strict=True)))
    set_first = SpanAttributes(dict(zip(names, ("from-honeyhive", "from-session-id"), strict=True)))
    first = resolver.resolve(blank_first, Draft("chain", "a"), 1, "production", 1.0)
    second = resolver.resolve(set_first, Draft("chain", "b"), 2, "production", 1.0)
    assert first.metadata["raw_session_id"] == "from-session-id"
    assert second.metadata["raw_session_id"] == "from-honeyhive"
    assert blank_first.consumed == set_first.consumed == set(names)


def map_fixtures() -> list[dict[str, Any]]:
    mapper = SpanMapper(sessions=SessionResolver(session_id="00000000-0000-4000-8000-000000000002"))
    return [mapper.map(span).to_request() for path in sorted(glob.glob(str(FIXTURES / "*.json")))
            for span in load_spans(path)]


def test_fixtures_map_alike_with_and_without_shared_answers() -> None:
    attributes_module._KEY_NAMES.clear()
    cold = map_fixtures()
    warm = map_fixtures()
    assert warm == cold
    assert [list(event) for event in warm] == [list(event) for event in cold]


def test_wire_form_has_the_wire_fields_in_order() -> None:
    event = SpanMapper().map(load_spans(FIXTURES / "openai_v2_chat.json")[0])
    request = event.to_request()
    assert list(request) == list(WIRE_FIELDS)
    assert all(request[name] is getattr(event, name) for name in WIRE_FIELDS)
