"""`values._repr_as_json` checks the text outside a repr's strings with a bytes deletion (C) instead of
`str.translate` (a dictionary look-up per character): it accepts and refuses exactly the texts it did,
and `parse_repr` / `parse_structured_jsonable` of LiteLLM-style reprs stay what `literal_eval` reads."""

from __future__ import annotations

import ast
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import values

_DELETE = str.maketrans("", "", "0123456789+-.eE{}[]:, ")


def old_repr_as_json(text: str) -> str | None:
    """`_repr_as_json` as it was before (the reference)."""
    if not text.isascii() or '"' in text or "\\" in text or "\x00" in text:
        return None
    parts = text.split("'")
    if len(parts) % 2 == 0:
        return None
    outside = "\x00".join(parts[0::2])
    words = outside.replace("None", "").replace("True", "").replace("False", "")
    if words.replace("\x00", "").translate(_DELETE):
        return None
    outside = outside.replace("None", "null").replace("True", "true").replace("False", "false")
    parts[0::2] = outside.split("\x00")
    return '"'.join(parts)


PIECES = st.sampled_from(["{", "}", "[", "]", "(", ")", ":", ",", " ", "'", "'a'", "'x y'", "1", "-2", "+3", "1.5",
                          "1e5", "E", ".", "None", "True", "False", "Nonee", "x", "\t", "\n", "\x00", "é", '"', "\\",
                          "No", "ne", "0", "1_0", "#", "set()", "'N'", "'one'"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=5))
VALUES = st.recursive(SCALARS, lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=3), c,
                                                                                                   max_size=3)),
                      max_leaves=12)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.lists(PIECES, max_size=16).map("".join), VALUES.map(repr), st.text(max_size=20)))
def test_repr_as_json_spells_as_before(text: str) -> None:
    assert values._repr_as_json(text) == old_repr_as_json(text)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.lists(VALUES, max_size=4), st.dictionaries(st.text(max_size=3), VALUES, max_size=4)))
def test_reprs_read_as_literal_eval(value: Any) -> None:
    """Containers, as LiteLLM writes them (a scalar's text is kept as text). `parse_repr` reads a repr
    that is also JSON (no quotes, words or tuples: `[9223372036854775809]`) as `parse_json` does, exact
    and not made JSON-ready, so it is compared once made so."""
    text = repr(value)
    expected = values.to_jsonable(ast.literal_eval(text))
    assert repr(values.to_jsonable(values.parse_repr(text))) == repr(expected)
    assert repr(values.parse_structured_jsonable(text)) == repr(expected)
