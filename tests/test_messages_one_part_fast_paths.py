"""Fast paths of the message normaliser give exactly what the general path gives.

OTel messages of one tool-call part (openai-v2 writes one for every tool round) and of one
tool-response part are converted by `messages._usual_message` without the `decoded_as_json` walk
and the general `_add_parts`; JSON-ready tool-call arguments are encoded without the `to_jsonable`
copy (`arguments_json`); Traceloop's `llm.request.functions.N.*` of plain strings skip the walk of
`normalize_tool_definitions`; a finish-reasons JSON text of strings (LiteLLM's '["stop"]') is
taken as orjson reads it without the `decoded_as_json` walk. The references are the general paths (decoding with `json`) and the
code before these changes.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import genai, traceloop
from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.values import MAX_DEPTH, as_list, parse_structured, to_jsonable
from tests.test_values_fast_paths import same

# Integers around the bounds where orjson, `json` and `to_jsonable` part ways.
EDGE_INTS = st.sampled_from([0, -1, 2**63 - 1, 2**63, 2**63 + 1, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, 10**30])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), EDGE_INTS, st.text(max_size=8),
                    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["", " ", "x" * 1_001]))
KEYS = st.one_of(st.text(max_size=6), st.sampled_from(["k" * 1_000, "k" * 1_001]))
JSON_VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(KEYS, children, max_size=3)), max_leaves=8)
IDS = st.one_of(st.text(max_size=6), st.sampled_from(["", "  ", "call_1"]), st.none(), st.integers(0, 3))


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": [value]} if depth % 2 else [value]
    return value


DEEP = st.integers(min_value=MAX_DEPTH - 8, max_value=MAX_DEPTH + 2).map(nested)


def tool_call_part(call_id: Any, name: Any, arguments: Any, extra: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments, **extra}


PARTS = st.one_of(
    st.builds(tool_call_part, IDS, IDS, st.one_of(JSON_VALUES, DEEP, st.text(max_size=10),
                                                  st.just('{"city": "Paris"}'), st.just("{'a': 1}")),
              st.one_of(st.just({}), st.dictionaries(st.sampled_from(["x", "content"]), JSON_VALUES, max_size=1))),
    st.fixed_dictionaries({"type": st.just("tool_call_response"), "id": IDS,
                           "response": st.one_of(st.text(max_size=8), JSON_VALUES)}),
    st.fixed_dictionaries({"type": st.just("text"), "content": st.one_of(st.text(max_size=8), JSON_VALUES)}),
    st.fixed_dictionaries({"type": st.just("tool_call"), "id": IDS, "name": IDS}),
)
MESSAGES = st.builds(
    lambda role, part, finish: {"role": role, "parts": [part], **({"finish_reason": finish} if finish else {})},
    st.sampled_from(["user", "assistant", "tool", "model", "Assistant "]), PARTS,
    st.one_of(st.none(), st.sampled_from(["stop", "tool_call", "weird"])))


@settings(max_examples=400, deadline=None)
@given(st.lists(MESSAGES, min_size=1, max_size=3))
def test_one_part_messages_convert_as_the_general_path(messages: list[dict[str, Any]]) -> None:
    """`_from_json` (orjson, `_usual_message`) gives what the general path gives on `parse_structured`'s
    value (`json`'s, or the text itself when too deep)."""
    text = json.dumps(messages, ensure_ascii=False)
    decoded = parse_structured(text)
    assert same(msg.normalize_messages(text), msg.history_from_parsed(decoded))
    expected_outputs = msg.output_messages_from_parsed(decoded)
    expected = msg.output_from_messages(expected_outputs, ["length"]) if expected_outputs else None
    assert same(msg.normalize_output_messages(text, ["length"]), expected)


def test_openai_v2_tool_round_is_converted() -> None:
    """The messages openai-v2 writes for a tool round (the captured form)."""
    inputs = ('[{"role":"user","parts":[{"content":"Weather?","type":"text"}]},{"role":"assistant","parts":'
              '[{"arguments":{"city":"Paris","days":2},"name":"get_weather","id":"call_1","type":"tool_call"}]},'
              '{"role":"tool","parts":[{"response":"sunny, 21 C","id":"call_1","type":"tool_call_response"}]}]')
    assert msg.normalize_messages(inputs) == [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris", "days": 2}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"}]
    outputs = ('[{"role":"assistant","parts":[{"arguments":{"city":"Paris"},"name":"get_weather","id":"call_1",'
               '"type":"tool_call"}],"finish_reason":"tool_calls"}]')
    assert msg.normalize_output_messages(outputs) == {
        "role": "assistant", "content": None,
        "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}],
        "finish_reason": "tool_calls"}


@settings(max_examples=400, deadline=None)
@given(st.one_of(JSON_VALUES, DEEP, st.tuples(SCALARS, SCALARS), st.builds(lambda v: {1: v, "a": (v,)}, SCALARS)))
def test_arguments_json_is_the_encoding_of_the_jsonable_copy(arguments: Any) -> None:
    """`arguments_json` skips the copy only where `to_jsonable` would change nothing."""
    expected = "{}" if arguments is None else (
        arguments if isinstance(arguments, str) else json.dumps(to_jsonable(arguments), ensure_ascii=False))
    if not isinstance(arguments, str):
        assert msg.arguments_json(arguments) == expected


def test_arguments_json_cuts_cycles_as_before() -> None:
    cycle: dict[str, Any] = {"a": 1}
    cycle["self"] = cycle
    assert msg.arguments_json(cycle) == json.dumps(to_jsonable(cycle), ensure_ascii=False)


def reference_functions(attributes: dict[str, Any]) -> Any:
    """`traceloop._functions` before the change: every definition through `normalize_tool_definitions`."""
    definitions = []
    for slot in SpanAttributes(attributes).indexed(traceloop.FUNCTIONS_PREFIX):
        if msg.is_blank(slot.get("name")):
            continue
        definition = {"name": slot.get("name"), "description": slot.get("description")}
        parameters = slot.get("parameters")
        if parameters is not None:
            if not traceloop._short_object_text(parameters):
                parameters = parse_structured(parameters)
            definition["parameters"] = parameters
        definitions.append(definition)
    return msg.normalize_tool_definitions(definitions)


FIELD_VALUES = st.one_of(st.text(max_size=6), st.sampled_from(["", "get_weather", "x" * 1_001]), st.integers(0, 3),
                         st.tuples(st.text(max_size=3)), st.floats(allow_nan=True),
                         st.just('{"type": "object", "properties": {"city": {"type": "string"}}}'),
                         st.just("{'type': 'object'}"), st.just('[1.5, 123456789012345678901234567890]'))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.tuples(st.integers(0, 2), st.sampled_from(["name", "description", "parameters"])),
                       FIELD_VALUES, max_size=6))
def test_traceloop_functions_as_before(fields: dict[tuple[int, str], Any]) -> None:
    attributes = {f"{traceloop.FUNCTIONS_PREFIX}.{index}.{name}": value for (index, name), value in fields.items()}
    draft = Draft("model", "x")
    traceloop._functions(SpanAttributes(attributes), draft)
    expected = reference_functions(attributes)
    assert same(draft.tools, expected or None)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(st.one_of(st.sampled_from(["stop", "length", "tool_calls", ""]), SCALARS), max_size=3)
                 .map(json.dumps), st.sampled_from(['["stop"]', '[]', '"stop"', 'stop', '[[1.5]]', '["a", 1e400]'])))
def test_finish_reasons_as_as_list(text: str) -> None:
    """`genai.finish_reasons` of a text is `as_list` of it, whichever way it was decoded."""
    assert same(genai.finish_reasons(text), as_list(text))
