"""LiteLLM's spans map with less work, to exactly what the full reads give.

- `hidden_params` is decoded by orjson when that gives `json`'s value (`values.parse_json_exact_fast`);
- `metadata.usage_object` (a repr) is decoded by orjson, quotes swapped, when that is JSON of the value
  `parse_repr` gives, as far as the token counts read are concerned;
- whether a span is LiteLLM's raw request span is decided from its attribute names once per tuple of
  names;
- Traceloop's reader leaves a short schema text to `normalize_tool_definitions`, which decodes it
  JSON-ready, instead of decoding it first (a walk over every node of the decoded schema).

The references below are copies of the functions these replace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.devserver import DevServer
from honeyhive_otel.mapping import litellm, traceloop
from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.values import as_int, is_blank, parse_json, parse_repr, parse_structured
from tests.test_litellm_mapping import export, make_span

TRACE_ID = "8ad2d7f4f6015b5f0b4d1f2e3c4b5a70"


def same(left: Any, right: Any) -> bool:
    """Equal, and of the same types (`1 == 1.0 == True`; the event's JSON tells them apart)."""
    return repr(left) == repr(right)


# ----- hidden_params ----------------------------------------------------------------------
def reference_hidden_params(value: Any) -> dict[str, Any]:
    """`_json_object` as `_request` called it: `parse_json` (the standard library's decoder)."""
    parsed = parse_json(value) if isinstance(value, str) else value
    if type(parsed) is dict:
        return parsed
    return dict(parsed) if isinstance(parsed, Mapping) else {}


# Numbers orjson and `json` read differently (wide integers), or only `json` reads (NaN, 1e400).
NUMBER_TEXTS = st.sampled_from(["9223372036854775807", "9223372036854775808", "18446744073709551616",
                                "-9223372036854775809", "123456789012345678901234567890", "1e19", "-1e19",
                                "9.3e18", "1e400", "NaN", "-Infinity", "2.5", "-0", "0.1e1", "1E5", "7"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=6), NUMBER_TEXTS.map(lambda text: json.loads(text)))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                      max_leaves=8)
# The `hidden_params` fields the request mapping reads.
READ_FIELDS = ("model_id", "api_base", "litellm_model_name", "additional_headers", "response_cost",
               "litellm_overhead_time_ms")
FIELD_NAMES = st.sampled_from([*READ_FIELDS, "cache_key", "usage_object"])


@st.composite
def hidden_texts(draw: st.DrawFn) -> str:
    """A `hidden_params` text: JSON of an object (numbers spelled as orjson or `json` read them
    differently), double-encoded, padded, or nested past the depth limit."""
    fields = draw(st.dictionaries(FIELD_NAMES, VALUES, max_size=6))
    text = json.dumps(fields)
    for number in draw(st.lists(NUMBER_TEXTS, max_size=2)):  # a number only `json` reads, or reads exactly
        text = text.replace("null", number, 1)
    depth = draw(st.sampled_from([0, 0, 0, 62, 63, 64, 70]))
    if depth:
        text = text[:-1] + (", " if fields else "") + '"deep": ' + "[" * depth + "]" * depth + "}"
    spelling = draw(st.sampled_from(["plain", "padded", "double", "formfeed", "not an object"]))
    return {"plain": text, "padded": f" \n{text} ", "double": json.dumps(text), "formfeed": f"\x0c{text}",
            "not an object": f"[{text}]"}[spelling]


@settings(max_examples=500, deadline=None)
@given(text=hidden_texts())
def test_hidden_params_fields_are_what_json_decodes(text: str) -> None:
    fast, slow = litellm._hidden_params(text), reference_hidden_params(text)
    for name in READ_FIELDS:
        assert same(fast.get(name), slow.get(name)), name
    assert same(fast, slow)


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.none(), st.integers(), st.text(alphabet='{}[]":, 0a1e', max_size=20),
                       st.dictionaries(FIELD_NAMES, SCALARS, max_size=3)))
def test_hidden_params_of_any_value(value: Any) -> None:
    assert same(litellm._hidden_params(value), reference_hidden_params(value))


def test_hidden_params_with_a_wide_integer_or_float_headers_keep_json_values() -> None:
    wide = '{"model_id": 18446744073709551616, "response_cost": 1e400}'
    assert same(litellm._hidden_params(wide), {"model_id": 18446744073709551616, "response_cost": float("inf")})
    headers = '{"additional_headers": {"x-litellm-attempted-retries": 1e19, "b": "t"}}'
    assert same(litellm._hidden_params(headers), json.loads(headers))
    assert litellm._hidden_params('{"api_base": ' + "[" * 65 + "]" * 65 + "}") == {}


# ----- usage object ----------------------------------------------------------------------------
def reference_usage_details(value: Any) -> dict[str, Any]:
    """`_usage_details` as it parsed every usage text with `parse_repr`."""
    draft = Draft("model", "litellm_request")
    if isinstance(value, str):
        if value.count("{") < 2 and "\\" not in value:
            return draft.metadata
        value = parse_repr(value)
    if not isinstance(value, Mapping):
        return draft.metadata
    prompt_details = value.get("prompt_tokens_details")
    if isinstance(prompt_details, Mapping):
        cached = as_int(prompt_details.get("cached_tokens"))
        if cached is not None:
            draft.metadata.setdefault("cache_read_tokens", cached)
        written = as_int(prompt_details.get("cache_creation_tokens") or prompt_details.get("cache_write_tokens"))
        if written is not None:
            draft.metadata.setdefault("cache_write_tokens", written)
    completion_details = value.get("completion_tokens_details")
    if isinstance(completion_details, Mapping):
        reasoning = as_int(completion_details.get("reasoning_tokens"))
        if reasoning is not None:
            draft.metadata.setdefault("reasoning_tokens", reasoning)
    return draft.metadata


def usage_details(value: Any) -> dict[str, Any]:
    draft = Draft("model", "litellm_request")
    litellm._usage_details(value, draft)
    return draft.metadata


WIDE_NUMBERS = st.sampled_from([2**63, 2**63 + 1, 2**64 - 1, 2**64, 10**20, -(2**63) - 1, 1e19, 9.3e18, 2.0**63])
COUNTS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), WIDE_NUMBERS, st.floats(-1e3, 1e3),
                   st.sampled_from(["7", "None", "null", "x None", "2.5", "", "true"]))
COUNT_NAMES = st.sampled_from(["cached_tokens", "cache_creation_tokens", "cache_write_tokens", "reasoning_tokens",
                               "audio_tokens", "text_tokens", "None", "null"])
DETAILS = st.one_of(st.none(), st.dictionaries(COUNT_NAMES, COUNTS, max_size=4), st.lists(COUNTS, max_size=2),
                    st.tuples(COUNTS))
USAGES = st.dictionaries(st.sampled_from(["prompt_tokens_details", "completion_tokens_details", "prompt_tokens",
                                          "total_tokens", "None"]),
                         st.one_of(DETAILS, COUNTS), max_size=5)


@st.composite
def usage_texts(draw: st.DrawFn) -> str:
    """LiteLLM's repr of a usage object, and spellings near it: JSON words, padding, deep, long."""
    text = repr(draw(USAGES))
    change = draw(st.sampled_from(["none", "none", "none", "null", "true", "pad", "tab", "deep", "long", "comma"]))
    if change == "null":
        text = text.replace("None", "null", 1)
    elif change == "true":
        text = text.replace("True", "true", 1)
    elif change == "pad":
        text = f" {text}\n"
    elif change == "tab":
        text = text.replace(" ", "\t", 1)
    elif change == "deep" and text.startswith("{") and len(text) > 2:
        text = text[:-1] + ", 'd': " + "[" * 64 + "]" * 64 + "}"
    elif change == "long" and text.startswith("{") and len(text) > 2:
        text = text[:-1] + ", 'k': '" + "x" * 990 + "'}"
    elif change == "comma" and text.endswith("}}"):
        text = text[:-1] + ",}"
    return text


@settings(max_examples=600, deadline=None)
@given(text=usage_texts())
def test_usage_counts_are_what_parse_repr_gives(text: str) -> None:
    assert same(usage_details(text), reference_usage_details(text))


def test_usage_texts_python_refuses_or_nests_too_deep_hold_no_counts() -> None:
    counts = "{'prompt_tokens_details': {'cached_tokens': 3}, 'completion_tokens_details': {'reasoning_tokens': 1}"
    for rest in ("'x': null", "'x': true", "'x': false", "'x': " + "[" * 70 + "]" * 70, "'x': (1, 2)", "'x': True"):
        text = f"{counts}, {rest}}}"
        assert usage_details(text) == reference_usage_details(text)
    assert usage_details(counts + ", 'x': True}") == {"cache_read_tokens": 3, "reasoning_tokens": 1}
    assert usage_details(counts + ", 'x': null}") == {}


def test_usage_of_a_streamed_call_and_a_wide_count() -> None:
    streamed = ("{'completion_tokens': 7, 'prompt_tokens_details': {'audio_tokens': 0, 'cached_tokens': 3, "
                "'text_tokens': None}, 'completion_tokens_details': {'reasoning_tokens': 2, 'image_tokens': None}}")
    assert usage_details(streamed) == {"cache_read_tokens": 3, "reasoning_tokens": 2}
    wide = "{'prompt_tokens_details': {'cached_tokens': 9223372036854775809}, 'completion_tokens_details': {}}"
    assert usage_details(wide) == reference_usage_details(wide) == {"cache_read_tokens": 9223372036854775808}


# ----- raw request spans --------------------------------------------------------------------
_NOT_RAW_SEGMENTS = frozenset({"request", "response", "usage", "token_count", "input_messages", "output_messages",
                               "invocation_parameters", "prompts", "function_call"})


def reference_is_raw_request_span(attrs: SpanAttributes, span: Any) -> bool:
    """`_is_raw_request_span` as it read every key of every span."""
    kind = getattr(span, "kind", None)
    proxy = getattr(kind, "name", "") == "SERVER" or attrs.has("litellm.preprocessing.duration_ms") or (
        attrs.has("exception") and not attrs.has("litellm.call_id"))
    if getattr(span, "parent", None) is None or attrs.has("litellm.call_id") or attrs.has("service") or proxy:
        return False
    named = str(getattr(span, "name", "")) == "raw_gen_ai_request"
    keys = attrs.raw
    if not keys:
        return named
    has_body = False
    for key in keys:
        if key.startswith("llm."):
            end = key.find(".", 4)
            if end < 0 or key[4:end] in _NOT_RAW_SEGMENTS:
                return False
            has_body = True
        elif not key.startswith("metadata.user_api_key_team_"):
            return False
    return named or has_body


RAW_KEYS = st.sampled_from([
    "llm.openai.messages", "llm.anthropic.usage", "llm.openai.choices", "llm.request.type", "llm.usage.total_tokens",
    "llm.prompts.0.content", "llm.headers", "llm.", "llm.x", "metadata.user_api_key_team_id",
    "metadata.user_api_key_team_alias", "metadata.user_api_key_hash", "litellm.call_id", "service", "exception",
    "litellm.preprocessing.duration_ms", "gen_ai.request.model", "llmx.y"])


@settings(max_examples=400, deadline=None)
@given(keys=st.lists(RAW_KEYS, max_size=5, unique=True), parent=st.booleans(),
       kind=st.sampled_from(["INTERNAL", "SERVER", "CLIENT"]), name=st.sampled_from(["raw_gen_ai_request", "call"]))
def test_raw_request_span_is_decided_as_before(keys: list[str], parent: bool, kind: str, name: str) -> None:
    span = make_span(name, dict.fromkeys(keys, "v"), trace_id=TRACE_ID, span_id="a1a1a1a1a1a1a1a1",
                     parent="b2b2b2b2b2b2b2b2" if parent else None, kind=kind)
    for _ in range(2):  # (the second span of a tuple of names reads the remembered answer)
        attrs = SpanAttributes(span.attributes)
        assert litellm._is_raw_request_span(attrs, span) == reference_is_raw_request_span(attrs, span)


def test_raw_request_span_with_body_keys_is_absorbed_but_a_server_span_is_not(devserver: DevServer) -> None:
    body = {"llm.openai.messages": "[{'role': 'user', 'content': 'hi'}]", "metadata.user_api_key_team_id": "t"}
    spans = [
        make_span("raw_gen_ai_request", body, trace_id=TRACE_ID, span_id="c3c3c3c3c3c3c3c1", parent="d4d4d4d4d4d4d4d1"),
        make_span("renamed", body, trace_id=TRACE_ID, span_id="c3c3c3c3c3c3c3c2", parent="d4d4d4d4d4d4d4d1"),
        make_span("served", body, trace_id=TRACE_ID, span_id="c3c3c3c3c3c3c3c3", parent="d4d4d4d4d4d4d4d1",
                  kind="SERVER"),
        make_span("litellm_request", {"litellm.call_id": "call-1", "gen_ai.request.model": "m",
                                      "llm.request.type": "completion"}, trace_id=TRACE_ID, span_id="d4d4d4d4d4d4d4d1"),
    ]
    events = export(devserver, spans)
    assert sorted(event["event_name"] for event in events) == ["litellm_request", "served"]


# ----- Traceloop's tool definitions -----------------------------------------------------------
def reference_tools(slots: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Traceloop's `_functions` as it decoded every schema before normalising the definitions."""
    definitions = []
    for slot in slots:
        if is_blank(slot.get("name")):
            continue
        definition = {"name": slot.get("name"), "description": slot.get("description")}
        if slot.get("parameters") is not None:
            definition["parameters"] = parse_structured(slot.get("parameters"))
        definitions.append(definition)
    return msg.normalize_tool_definitions(definitions)


def nested(depth: int) -> dict[str, Any]:
    value: Any = {"t": 1}
    for _ in range(depth):
        value = {"p": value}
    return value


SCHEMAS = st.recursive(st.one_of(SCALARS, st.just(float("nan"))),
                       lambda inner: st.one_of(st.lists(inner, max_size=3),
                                               st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                       max_leaves=10)
LONG_KEY_SCHEMAS = st.integers(990, 1010).map(lambda size: {"k" * size: 1})
DEEP_SCHEMAS = st.integers(55, 66).map(nested)


@st.composite
def parameters_values(draw: st.DrawFn) -> Any:
    """A tool's parameters as instrumentations write them: JSON, a repr, double-encoded JSON, padded,
    cut, or a value of another type; schemas with long keys or nested near the depth limits."""
    schema = draw(st.one_of(SCHEMAS, LONG_KEY_SCHEMAS, DEEP_SCHEMAS))
    try:
        text = json.dumps(schema)
    except ValueError:
        text = "{}"
    spelling = draw(st.sampled_from(["json", "repr", "double", "padded", "cut", "quoted repr", "none", "tuple",
                                     "int", "text", "true repr"]))
    return {"json": text, "repr": repr(schema), "double": json.dumps(text), "padded": f"\t {text}\n", "cut": text[:-1],
            "quoted repr": repr(text), "none": "None", "tuple": ("a", "b"), "int": 3, "text": "not json",
            "true repr": repr({"a": True, "b": (1, 2)})}[spelling]


SLOTS = st.lists(st.fixed_dictionaries({"name": st.sampled_from(["get_weather", "", " ", "lookup"])},
                                       optional={"description": st.sampled_from(["d", "", None]),
                                                 "parameters": parameters_values()}), min_size=1, max_size=3)


def functions_attributes(slots: list[dict[str, Any]]) -> dict[str, Any]:
    return {f"llm.request.functions.{index}.{key}": value for index, slot in enumerate(slots)
            for key, value in slot.items() if value is not None}


@settings(max_examples=400, deadline=None)
@given(slots=SLOTS)
def test_tool_definitions_are_what_the_decoded_schemas_gave(slots: list[dict[str, Any]]) -> None:
    attributes = functions_attributes(slots)
    draft = Draft("model", "openai.chat")
    traceloop._functions(SpanAttributes(attributes), draft)
    expected = reference_tools(SpanAttributes(attributes).indexed("llm.request.functions."))
    assert same(draft.tools, expected or None)


def test_short_and_long_schemas_map_alike(devserver: DevServer) -> None:
    short = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    long = {"type": "object", "properties": {f"p{n}": {"type": "string", "description": "x" * 40} for n in range(30)}}
    spans = [make_span("openai.chat", {"llm.request.type": "chat", "gen_ai.request.model": "gpt-4o",
                                       "llm.request.functions.0.name": "get_weather",
                                       "llm.request.functions.0.parameters": json.dumps(schema)},
                       trace_id=TRACE_ID, span_id=f"e5e5e5e5e5e5e5e{n}", scope="opentelemetry.instrumentation.openai.v1")
             for n, schema in enumerate((short, long))]
    events = sorted(export(devserver, spans), key=lambda event: len(json.dumps(event["inputs"])))
    schemas = [event["inputs"]["tools"][0]["function"]["parameters"] for event in events]
    assert schemas == [short, long]
