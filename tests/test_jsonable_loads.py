"""`values.jsonable_loads` decodes with orjson only where orjson's value is the one the `json`
decoder with JSON-ready numbers gives (`_JSONABLE_NUMBERS`): integers beyond +-2**63 become text,
and a document holding one (or a whole float that large, which may have been one) is decoded by
`json` instead, as is everything orjson refuses."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import values

EDGE_INTS = [2**63 - 1, 2**63, 2**63 + 1, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30, -(10**30), 0]
NUMBERS = st.one_of(st.integers(), st.sampled_from(EDGE_INTS), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([1e20, -1e20, 9.3e18, 2.0**63, -(2.0**63), 2.0**64, 0.5, -0.0, 1e-320]))
DOCUMENTS = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=6)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=4), children, max_size=4)),
    max_leaves=20)


def decoded(text: str) -> tuple[str, Any]:
    """(the outcome's kind, its repr): repr tells 1 from 1.0 and True, and -0.0 from 0.0."""
    try:
        return "value", repr(values._JSONABLE_NUMBERS.decode(text))
    except (ValueError, RecursionError) as error:
        return "error", type(error).__name__


def fast(text: str) -> tuple[str, Any]:
    try:
        return "value", repr(values.jsonable_loads(text))
    except (ValueError, RecursionError) as error:
        return "error", type(error).__name__


@settings(max_examples=800, deadline=None)
@given(DOCUMENTS)
def test_documents_decode_as_the_json_decoder_does(document: Any) -> None:
    text = json.dumps(document)
    assert fast(text) == decoded(text)


TEXTS = ['{"a": NaN}', "[Infinity, -Infinity]", "1e400", "[-1e400]", '"\\ud800"', '{"a": 1, "a": 2}',
         " [1] ", "[1,]", "", "{", '["\\u00e9", "\\n"]', "18446744073709551616", "-9223372036854775809",
         "9223372036854775808", "[1.0, 1, true]", "1E2", "-0", "[" * 1100 + "]" * 1100]


def test_edge_texts_decode_as_the_json_decoder_does() -> None:
    for text in TEXTS:
        assert fast(text) == decoded(text), text[:40]
