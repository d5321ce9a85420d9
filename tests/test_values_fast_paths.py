"""The fast paths in `mapping/values.py` and `mapping/messages.py` give exactly the slow paths' results.

`parse_repr` reads simple Python reprs (LiteLLM's `metadata.usage_object`) as JSON instead of
compiling them with `ast.literal_eval`: the reference here is the literal_eval path it replaces,
compared type-strictly (int vs float vs bool, -0.0, lists vs tuples).
"""

from __future__ import annotations

import ast
import json
import math
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import messages, values
from honeyhive_otel.mapping.values import as_float, as_int, parse_repr, parse_structured, to_jsonable

USAGE_OBJECT = (
    "{'completion_tokens': 1, 'prompt_tokens': 9, 'total_tokens': 10, 'completion_tokens_details': "
    "{'accepted_prediction_tokens': None, 'audio_tokens': 0, 'reasoning_tokens': 0, "
    "'rejected_prediction_tokens': None, 'text_tokens': None}, 'prompt_tokens_details': "
    "{'audio_tokens': None, 'cached_tokens': 0, 'text_tokens': None, 'image_tokens': None}}"
)


def reference_literal(text: str) -> Any:
    """What `values._parse_literal` returned before the JSON fast path (literal_eval only)."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped[0] not in "{[(\"'" and stripped not in ("None", "True", "False"):
        return text
    if len(stripped) > values.MAX_REPR_PARSE_CHARS:
        return text
    try:
        value = ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if values._too_deep(value):
        return text
    return to_jsonable(value)


def reference_repr(text: str) -> Any:
    """`parse_repr` before the fast paths: JSON (by raising), then literal_eval."""
    parsed = reference_json(text)
    return parsed if parsed is not text else reference_literal(text)


def reference_json(text: str) -> Any:
    """`parse_json` without its shortcut for reprs: json.loads decides."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[\"" or len(stripped) > values.MAX_PARSE_CHARS:
        return text
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return text
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            value = json.loads(value.strip())
        except (ValueError, RecursionError):
            return value
    return text if values._too_deep(value) else value


def same(a: Any, b: Any) -> bool:
    """Type-strict equality: 1 != 1.0 != True, -0.0 != 0.0, list != tuple, same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b


# Tokens where Python and JSON disagree, or that only one of them accepts.
ATOMS = ["None", "True", "False", "null", "true", "nan", "Infinity", "0", "-0", "1", "-12", "1.5", "1e5", "1E+5",
         "-0.0", "1e400", "-1e400", "123456789012345678901234567890", "9223372036854775808", "1_000", "0x10",
         "+1", "1.", ".5", "01", "1j", "- 1", "--1", "1e", "e5"]
STRING_CHARS = list("abN one") + ["None", "True", "'", '"', "\\", "\\n", "é", "\t", "\x00", "{", "}", "[", "]",
                                  ":", ",", "-0", "1e5", "#", "\u2028", "\U0001F600"]
string_content = st.lists(st.sampled_from(STRING_CHARS), max_size=6).map("".join)
string_literal = st.one_of(
    string_content.map(repr),  # a valid Python string literal (may use " or escapes)
    string_content.map(lambda s: f"'{s}'"),  # raw: may be invalid Python
    st.sampled_from(["''", "'None'", "'x: None'", "'it''s'", "'a' 'b'", '"dq"', "'[1]'", "'{}'", "'x\", \"y'",
                     "'\\/'", "'\\x41'", "'\\''", "'True' 'False'"]),
)
scalar_text = st.one_of(st.sampled_from(ATOMS), string_literal)
separator = st.sampled_from([", ", ",", " , ", ",  "])


def containers(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    entries = st.tuples(st.one_of(string_literal, st.sampled_from(ATOMS[:4])), children)
    return st.one_of(
        st.tuples(st.lists(children, max_size=4), separator).map(lambda p: "[" + p[1].join(p[0]) + "]"),
        st.tuples(st.lists(entries, max_size=4), separator).map(
            lambda p: "{" + p[1].join(f"{k}: {v}" for k, v in p[0]) + "}"),
        st.tuples(st.lists(children, max_size=3), separator).map(lambda p: "(" + p[1].join(p[0]) + ")"),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: "{" + ", ".join(xs) + "}"),  # sets
    )


literal_text = st.recursive(scalar_text, containers, max_leaves=20)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A generated literal, sometimes with one character replaced or inserted (trailing commas, stray quotes)."""
    text = draw(literal_text)
    if text and draw(st.booleans()):
        index = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(list(" ,:{}[]()'\"N0e-+.\\#")))
        text = text[:index] + char + text[index + draw(st.integers(0, 1)):]
    return text


@settings(max_examples=1000, deadline=None)
@given(mutated())
def test_parse_literal_matches_literal_eval(text: str) -> None:
    assert same(values._parse_literal(text), reference_literal(text))
    assert same(parse_repr(text), reference_repr(text))


@settings(max_examples=1000, deadline=None)
@given(mutated())
def test_json_spelling_reads_as_literal_eval_does(text: str) -> None:
    """The core claim: whatever json.loads reads from `_repr_as_json(text)`, literal_eval reads from `text`."""
    as_json = values._repr_as_json(text)
    if as_json is None:
        return
    try:
        decoded = json.loads(as_json)
    except ValueError:
        return
    assert same(decoded, ast.literal_eval(text))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
              st.sampled_from(["None", "True", "a'b", 'say "hi"', "back\\slash", "é", "1e5", "x" * 1_100])),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(["None", "True", "False", "k" * 1_100])),
                        children, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=800, deadline=None)
@given(json_values)
def test_repr_of_python_values_matches_literal_eval(value: Any) -> None:
    """repr() output, as LiteLLM writes it: big ints, inf/nan, -0.0, long keys, quotes in strings."""
    text = repr(value)
    assert same(parse_repr(text), reference_repr(text))
    assert same(parse_structured(text), reference_repr(text))


TRICKY_REPRS = ["['x\", \"y']", "['\\/']", "['\\x41', '\\u00e9']", "(1, 2)", "[(1, 2)]", "{1, 2}", "['a' 'b']",
                "[1_000]", "[0x10]", "[+1]", "[1.]", "[.5]", "[01]", "[-0, -0.0, 1e5, 1E-3]", "[1,]",
                "{'None': None, 'True': True, 'False': False}", "['it''s']", "{'a': 1, 'a': 2}", "['\u00e9']",
                "[None None]", "[NoneTrue]", "[TNonerue]", "[nulle5]", "['a' # c\n]", "[1e5e5]", "{'a' : -1 }"]


def test_known_tricky_reprs_match_literal_eval() -> None:
    for text in TRICKY_REPRS:
        assert same(parse_repr(text), reference_repr(text)), text


@settings(max_examples=500, deadline=None)
@given(json_values, st.sampled_from([0, 1, 2]))
def test_parse_json_jsonable_equals_to_jsonable_of_parse_json(value: Any, encodings: int) -> None:
    """Numbers decoded JSON-ready (big ints, 1e400, NaN) and the walk skipped only when nothing is left to fix."""
    text = value if isinstance(value, str) else json.dumps(value)
    for _ in range(encodings - 1):
        text = json.dumps(text)
    for candidate in (text, text.replace("1", "1e400", 1), "[" * 65 + text + "]" * 65):
        assert same(values.parse_json_jsonable(candidate), to_jsonable(values.parse_json(candidate)))
        assert same(values.parse_structured_jsonable(candidate), to_jsonable(parse_structured(candidate)))


def test_deep_and_long_reprs_match_literal_eval() -> None:
    for text in ["[" * 64 + "]" * 64, "[" * 65 + "]" * 65, "[" * 66 + "1" + "]" * 66, "[" * 5000 + "]" * 5000,
                 "['a', " + "[" * 64 + "]" * 65, "{'" + "k" * 1_500 + "': 1}", "[" + ", ".join(["'x'"] * 400) + "]", "{'a': [1e400, -1e400, 10**30]}"]:
        assert same(parse_repr(text), reference_repr(text)), text[:80]
        assert same(values.parse_json_jsonable(text), to_jsonable(values.parse_json(text))), text[:80]


def test_usage_object_takes_the_json_path() -> None:
    assert values._repr_as_json(USAGE_OBJECT) is not None
    parsed = parse_repr(USAGE_OBJECT)
    assert same(parsed, to_jsonable(ast.literal_eval(USAGE_OBJECT)))
    assert parsed["completion_tokens_details"]["text_tokens"] is None


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
                 st.sampled_from([" 3 ", "1e3", "nan", "inf", "-0", "x", 10**400, float("-inf")])))
def test_as_float_and_as_int_fast_paths(value: Any) -> None:
    """The type(x) is float / int shortcuts answer like the general code below them."""
    if type(value) is float:
        assert same(as_float(value), value if math.isfinite(value) else None)
        assert same(as_int(value), int(value) if math.isfinite(value) else None)
    elif type(value) is int and abs(value) < 10**300:
        assert same(as_float(value), float(value))
        assert same(as_int(value), value)
    elif isinstance(value, bool) or value is None:
        assert as_float(value) is None and as_int(value) is None


SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "n": {"type": "number", "maximum": 1e400}},
          "required": ["city"]}


def expected_tool(name: str = "get_weather") -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": "Weather.",
                                             "parameters": to_jsonable(SCHEMA)}}


def test_tool_definitions_in_every_encoding_walk_once_to_the_same_tools() -> None:
    flat = {"name": "get_weather", "description": "Weather.", "parameters": json.dumps(SCHEMA)}
    nested = {"type": "function", "function": {"name": "get_weather", "description": "Weather.", "parameters": SCHEMA}}
    ready = to_jsonable(nested)  # (repr() of inf is not a literal)
    for value in [[flat], (MappingProxyType(flat),), [nested], nested, json.dumps([nested]), repr([ready]),
                  [json.dumps(nested)], [repr(ready)]]:
        tools = messages.normalize_tool_definitions(value)
        assert same(tools, [expected_tool()]), value
        assert tools[0]["function"]["parameters"]["properties"]["n"]["maximum"] == "Infinity"
    anthropic = {"name": "get_weather", "description": "Weather.", "input_schema": SCHEMA}
    assert same(messages.normalize_tool_definitions([anthropic]), [expected_tool()])


def test_unnamed_tool_definitions_are_kept_json_ready() -> None:
    odd = {"type": "web_search", "limits": (1, float("nan")), "sizes": {1: "a"}}
    assert same(messages.normalize_tool_definitions([odd]), [to_jsonable(odd)])
    assert same(messages.normalize_tool_definitions(json.dumps([{"type": "web_search", "n": 10**30}])),
                [{"type": "web_search", "n": str(10**30)}])


def test_tool_call_arguments_are_encoded_once() -> None:
    call = messages.tool_call("c1", "get_weather", '{"city": "Paris", "n": 1e400}')
    assert call == {"id": "c1", "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris", "n": "Infinity"}'}}
    assert messages.arguments_json({"city": "Zürich", "days": (1, 2)}) == '{"city": "Zürich", "days": [1, 2]}'
    assert messages.arguments_json('"{\\"a\\": 1}"') == '{"a": 1}'  # double-encoded: decoded once
    assert messages.arguments_json("not json") == "not json"
    assert messages.arguments_json(None) == "{}"
