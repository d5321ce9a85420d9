"""`values.jsonable_loads` rules out orjson's reading of integers beyond 64 bits by a text check (no run
of 19 digits) for texts up to `_DIGIT_SCAN_CHARS`, by the walk of the value above: its value stays what
`json` with JSON-ready numbers gives, type for type (1, 1.0, True; 0.0, -0.0; big integers as text), and
so does every refusal (NaN, 1e400, lone surrogates, Python reprs), for short and long texts alike; and
`parse_json_jsonable` stays `to_jsonable(parse_json(text))` (double-encoded JSON, depth 60-70 included)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import values

EDGE_INTS = [2**63 - 1, 2**63, 2**63 + 1, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**18, 10**19, 10**30, 0]
NUMBERS = st.one_of(
    st.integers(), st.sampled_from(EDGE_INTS), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e19, -1e20, 9.3e18, 2.0**63, 2.0**64, 0.5, -0.0, 0.0, 1e-320, 1.7976931348623157e308]))
TEXTS = st.one_of(st.text(max_size=6), st.sampled_from(["\ud800", "'", '"', "1234567890123456789", " {[", "\\"]))
DOCUMENTS = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(TEXTS, children, max_size=4)),
    max_leaves=20)
PADS = st.sampled_from(["", " ", "\n\t", "\u00a0", "\x0b", " \r\n "])
TOKENS = st.sampled_from(["NaN", "-Infinity", "1e400", "-0", "1.0", "01", "[1,]", '"\\ud800"', "'a'", "True",
                          "{", "}", "[", "]", ",", ":", '"', "\\", " ", "9" * 19, "-" + "9" * 20, '"x"', "null"])


def _text(document: Any, ensure_ascii: bool, indent: int | None) -> str:
    return json.dumps(document, ensure_ascii=ensure_ascii, indent=indent)


@st.composite
def texts(draw: st.DrawFn) -> str:
    """JSON (compact, indented, double-encoded, padded), reprs, deep nesting and near-JSON token soup."""
    kind = draw(st.sampled_from(["json", "double", "repr", "deep", "tokens"]))
    if kind == "tokens":
        body = "".join(draw(st.lists(TOKENS, max_size=12)))
    elif kind == "deep":
        depth = draw(st.integers(60, 70))
        inner = draw(st.sampled_from(["1", "1.5", "-0.0", "12345678901234567890", '"s"', "", "NaN"]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"k":', "}")]))
        body = opener * depth + inner + closer * depth
        if draw(st.booleans()):
            body = json.dumps(body)
    else:
        document = draw(DOCUMENTS)
        body = (repr(document) if kind == "repr" else
                _text(document, draw(st.booleans()), draw(st.sampled_from([None, 0, 2]))))
        if kind == "double":
            body = json.dumps(body, ensure_ascii=draw(st.booleans()))
    return draw(PADS) + body + draw(PADS)


def outcome(function: Any, text: Any) -> tuple[str, str, bool]:
    """(kind, repr, whether the input came back itself): repr tells 1 from 1.0 and True, -0.0 from 0.0."""
    try:
        value = function(text)
    except (ValueError, RecursionError) as error:
        return "error", type(error).__name__, False
    return "value", repr(value), value is text


def jsonable_parse(text: Any) -> Any:
    return values.to_jsonable(values.parse_json(text))


@settings(max_examples=1500, deadline=None)
@given(texts(), st.integers(0, 700))
def test_parse_json_jsonable_is_to_jsonable_of_parse_json(text: str, padding: int) -> None:
    """Short texts (the digit scan) and texts over `_DIGIT_SCAN_CHARS` (the walk): a long string pads it."""
    assert outcome(values.parse_json_jsonable, text) == outcome(jsonable_parse, text)
    padded = f'[{json.dumps("p" * padding)}, {text.strip()}]'
    assert outcome(values.parse_json_jsonable, padded) == outcome(jsonable_parse, padded)


@settings(max_examples=1500, deadline=None)
@given(texts(), st.integers(0, 700))
def test_jsonable_loads_is_the_json_decoders_value(text: str, padding: int) -> None:
    for document in (text.strip(), f'{{"pad": {json.dumps("p" * padding)}, "doc": {text.strip()}}}'):
        assert outcome(values.jsonable_loads, document) == outcome(values._JSONABLE_NUMBERS.decode, document)


def test_edges() -> None:
    """The cases the digit check exists for, spelled out, below and above `_DIGIT_SCAN_CHARS`."""
    for number in ("9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e19", "1e400",
                   "NaN", "9223372036854775807", "-0.0", "-0", "1.0", "1"):
        for pad in ("", "p" * values._DIGIT_SCAN_CHARS):
            text = f'["{pad}", {number}]'
            assert outcome(values.jsonable_loads, text) == outcome(values._JSONABLE_NUMBERS.decode, text), text
    assert values.jsonable_loads("[18446744073709551616]") == ["18446744073709551616"]
    assert values.jsonable_loads('["1234567890123456789", 1]') == ["1234567890123456789", 1]
    assert repr(values.jsonable_loads("[1e19, -0.0, 1, 1.0, true]")) == "[1e+19, -0.0, 1, 1.0, True]"
