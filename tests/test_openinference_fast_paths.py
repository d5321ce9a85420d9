"""OpenInference spans and shared tool calls map with less work, to exactly what the old code made.

Each fast path is checked against a copy of the code it replaced (the `old_*` functions below):
- `messages.normalize_tool_calls` skips the `to_jsonable` walk of plain calls (it only reads a few
  string fields of each); `messages.normalize_messages` skips it for a list of plain messages;
- OpenInference's flattened tool calls are read once by the normaliser instead of being made by
  `tool_call` and then read again (a second reading changes only long or non-string arguments,
  which are still read twice);
- `llm.tools.N.tool.json_schema` schemas are decoded JSON-ready per schema instead of walked again
  as a list (`messages.tool_definitions_from_parsed`);
- `input.value`/`output.value` and the request parameters are decoded by orjson when it gives what
  `parse_json`/`parse_structured` give (`values.parse_json_exact_fast`);
- the `llm.{input,output}_messages.N.message.*` names of a span are sorted into messages, and their
  `contents.N.*`/`tool_calls.N.*` fields into parts and calls, once per tuple of names
  (`openinference._message_slots`);
- float request parameters and integer token details skip the conversions that keep them as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping import openinference as oi
from honeyhive_otel.mapping.attributes import SpanAttributes, nest_indexed
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.values import (
    MAX_DEPTH,
    is_blank,
    parse_json,
    parse_json_exact_fast,
    parse_structured,
    to_jsonable,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def message_of_slot(slot: dict[str, Any], state: Any, default_role: str) -> list[dict[str, Any]]:
    """One flattened message slot (`message.*` keys) as `_message_list` reads it (`oi._message_of`)."""
    fields = {key[len("message."):]: value for key, value in slot.items() if key.startswith("message.")}
    return oi._message_of(fields, state, default_role) if fields else []


# ----- the old code ------------------------------------------------------------------------------
def old_normalize_tool_calls(calls: Any) -> list[dict[str, Any]]:
    calls = msg._structured(calls)
    if isinstance(calls, dict):
        calls = [calls]
    if not isinstance(calls, list):
        return []
    result = []
    for call in calls:
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        name = function.get("name", call.get("name"))
        arguments = function.get("arguments", call.get("arguments", call.get("input", call.get("args"))))
        result.append(msg.tool_call(call.get("id", call.get("tool_call_id")), name, arguments))
    return result


def old_message(slot: dict[str, Any], state: Any, default_role: str) -> list[dict[str, Any]]:
    """`openinference._message` before this round: its calls made by `msg.tool_call`, then normalised."""
    fields = {key[len("message."):]: value for key, value in slot.items() if key.startswith("message.")}
    if not fields:
        return []
    role = fields.get("role")
    role = role if isinstance(role, str) and role.strip() else default_role
    content = state.text(fields.get("content"))
    if fields.keys() <= {"role", "content"} and (content is None or (
            type(content) is str and content.lstrip()[:1] not in ("{", "[", '"'))):
        return [{"role": msg.normalize_role(role), "content": content}]
    message: dict[str, Any] = {"role": role}
    names = "\n".join(fields)
    nested = "contents." in names or "tool_calls." in names
    reasoning: list[Any] = []
    if nested:
        parts = [oi._content_part(part, state) for part in nest_indexed(fields, "contents.")]
        parts = [part for part in parts if part is not None]
        reasoning = [part["text"] for part in parts if part.get("type") == "reasoning" and part.get("text")]
        parts = [part for part in parts if part.get("type") != "reasoning"]
        if content is None and parts:
            content = parts
    message["content"] = oi._as_content(content)
    if reasoning:
        message["reasoning_content"] = "\n".join(reasoning)
    calls = [msg.tool_call(call.get("tool_call.id"), call.get("tool_call.function.name"),
                           state.text(call.get("tool_call.function.arguments")))
             for call in nest_indexed(fields, "tool_calls.")] if nested else []
    function_name = fields.get("function_call_name")
    if function_name is not None and not is_blank(function_name):
        calls.append(msg.tool_call(None, function_name, state.text(fields.get("function_call_arguments_json"))))
    if calls:
        message["tool_calls"] = calls
    for key in ("tool_call_id", "name"):
        value = fields.get(key)
        if value is not None and not is_blank(value):
            message[key] = str(value)
    return msg.normalize_message(message)


def old_message_list(attrs: SpanAttributes, prefix: str, state: Any, default_role: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    if not attrs.has_prefix(prefix):
        return result
    for slot in attrs.indexed(prefix + "."):
        result.extend(old_message(slot, state, default_role))
    whole = attrs.peek(prefix)
    if not result and whole is not None:
        parsed = msg.normalize_messages(whole)
        if parsed is not None:
            attrs.consume(prefix)
            result = parsed
    return result


def old_tools(attrs: SpanAttributes, draft: Draft) -> None:
    definitions = []
    for slot in attrs.indexed("llm.tools."):
        schema = parse_structured(slot.get("tool.json_schema"))
        if isinstance(schema, dict):
            definitions.append(schema)
        elif not is_blank(slot.get("tool.name")):
            definitions.append({"name": slot.get("tool.name"), "description": slot.get("tool.description")})
    tools = msg.normalize_tool_definitions(definitions) if definitions else None
    if tools:
        draft.set_default("tools", tools)


# ----- values ---------------------------------------------------------------------------------------
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=6),
                    st.sampled_from([2**63, -(2**63), 2**63 + 1, -(2**63) - 1, 2**64, 10**18, 1e300, -0.0]))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)), max_leaves=8)


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def texts_of(value: Any) -> list[str]:
    """JSON texts of `value` as instrumentors write them, and near misses."""
    text = json.dumps(value)
    return [text, " " + text + "\n", "\xa0" + text, text + "\xa0", json.dumps(text), repr(value), text[:-1] or "{",
            json.dumps(value, ensure_ascii=False, separators=(",", ":"))]


EDGE_TEXTS = st.sampled_from([
    nested(62), nested(63), nested(64), nested(65), nested(70), "{" + '"a":' * 0 + '"a": ' + nested(64) + "}",
    '{"a": 18446744073709551616}', '{"a": -9223372036854775809}', '{"a": 9223372036854775808}',
    '{"a": 1234567890123456789}', '{"a": "1234567890123456789012"}', '{"a": NaN}', '{"a": 1e400}',
    '{"a": "\\ud800"}', '{"a": 1}{', "{'a': 1}", "{'a': (1, 2)}", '{"a": 1, "a": 2}', "[1, 2]", '"{\\"a\\": 1}"',
    '"[1, 2]"', "{}", "[]", "", "   ", "{", "text", '{"k' + "x" * 1200 + '": 1}', "\ufeff{}", '{"a": 1.5e-400}',
])


@SETTINGS
@given(value=JSON_VALUES, pick=st.integers(0, 7), edge=EDGE_TEXTS, use_edge=st.booleans())
def test_decoded_is_what_parse_json_and_parse_structured_give(value: Any, pick: int, edge: str, use_edge: bool) -> None:
    text = edge if use_edge else texts_of(value)[pick]
    for parse in (parse_json, parse_structured):
        assert repr(parse_json_exact_fast(text, parse)) == repr(parse(text))


@SETTINGS
@given(value=JSON_VALUES, pick=st.integers(0, 7), edge=EDGE_TEXTS, use_edge=st.booleans(),
       mime=st.sampled_from([None, "application/json", "text/plain", 3]))
def test_decode_value_is_the_old_read(value: Any, pick: int, edge: str, use_edge: bool, mime: Any) -> None:
    text = edge if use_edge else texts_of(value)[pick]

    def old_decode_value(raw: Any, mime: Any) -> Any:
        if isinstance(mime, str) and ("json" in mime.lower()):
            return parse_json(raw)
        if raw.lstrip()[:1] == "{":
            parsed = parse_json(raw)
            if isinstance(parsed, dict):
                return parsed
        return raw

    assert repr(oi.decode_value(text, mime)) == repr(old_decode_value(text, mime))


# ----- tool calls ---------------------------------------------------------------------------------
class Text(str):
    """A str subclass: `to_jsonable` makes it a plain string."""


class Calls(Mapping[str, Any]):
    """A mapping that is not a dict: `to_jsonable` makes it one."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Any:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


ARGUMENTS = st.one_of(
    st.none(), st.text(max_size=8), JSON_VALUES.map(json.dumps), JSON_VALUES.map(lambda v: json.dumps(json.dumps(v))),
    JSON_VALUES, st.binary(max_size=8), JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.tuples(st.text(max_size=3), st.integers()), st.just({"k" * 1001: 1}), st.just('{"' + "k" * 1001 + '": 1}'),
    st.just(" " * 990 + '{"' + "k" * 20 + '": 1}'), st.sampled_from(["__REDACTED__", " {\"a\":1} ", '"{\\"a\\":1}"']),
    st.text(max_size=4).map(Text), st.just(json.loads(nested(66))), st.just(nested(62)),
)
IDS = st.one_of(st.none(), st.text(max_size=4), st.integers(), st.floats(), st.binary(max_size=3),
                st.sampled_from(["", "  ", "call_1"]), st.text(max_size=3).map(Text))
KEYS = st.sampled_from(["id", "tool_call_id", "name", "arguments", "input", "args", "type", "function", "extra"])


@st.composite
def tool_calls(draw: Any) -> Any:
    """Calls in the forms `normalize_tool_calls` reads, plain (every field a string) and not."""
    calls = []
    for _ in range(draw(st.integers(0, 3))):
        call: dict[Any, Any] = {}
        for key in draw(st.lists(KEYS, unique=True, max_size=5)):
            if key == "function":
                function = {"name": draw(IDS), "arguments": draw(ARGUMENTS)}
                if draw(st.booleans()):
                    function = {k: v for k, v in function.items() if draw(st.booleans())}
                call[key] = function if draw(st.integers(0, 5)) else Calls(function)
            elif key in ("arguments", "input", "args"):
                call[key] = draw(ARGUMENTS)
            else:
                call[key] = draw(IDS)
        if draw(st.integers(0, 9)) == 0:
            call[b"id"] = "from bytes key"
        calls.append(call if draw(st.integers(0, 9)) else draw(st.sampled_from(["text", None, (1, 2)])))
    shape = draw(st.integers(0, 9))
    if shape == 0:
        return tuple(calls)
    if shape == 1:
        return calls[0] if calls else {}
    if shape == 2:
        return json.dumps(to_jsonable(calls))
    return calls


@SETTINGS
@given(calls=tool_calls())
def test_tool_calls_are_what_the_walk_made_of_them(calls: Any) -> None:
    assert repr(msg.normalize_tool_calls(calls)) == repr(old_normalize_tool_calls(calls))


def test_plain_calls_skip_the_walk_and_keep_its_result() -> None:
    calls = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}},
             {"tool_call_id": "c2", "name": "g", "input": None}]
    assert msg._plain_call_fields(calls) == [("call_1", "f", '{"a":1}'), ("c2", "g", None)]
    assert msg.normalize_tool_calls(calls) == old_normalize_tool_calls(calls)
    for other in ([{"id": 1}], [{1: "x"}], [{"function": "f"}], [{"function": Calls({"name": "f"})}], ["x"], ({},)):
        assert msg._plain_call_fields(other) is None


def test_a_call_that_is_its_own_function_reads_as_the_walk_read_it() -> None:
    call: dict[str, Any] = {"id": "a", "name": "f", "arguments": '{"x": 1}'}
    call["function"] = call  # (the walk cuts it: "[cycle]", not a dict)
    assert msg.normalize_tool_calls([call]) == old_normalize_tool_calls([call])


# ----- messages -------------------------------------------------------------------------------------
MESSAGE_TEXTS = st.one_of(st.none(), st.text(max_size=6), st.integers(), st.floats(), st.binary(max_size=3),
                          st.sampled_from(["user", "assistant", "tool", "Human", "", " ", '[{"type": "text", "text": "x"}]',
                                           '{"a": 1}']), st.text(max_size=3).map(Text),
                          st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=3)}),
                                   max_size=2))
MESSAGE_KEYS = st.sampled_from(["role", "content", "name", "tool_call_id", "id", "reasoning_content", "tool_calls",
                                "parts", "other"])


@st.composite
def message_lists(draw: Any) -> list[Any]:
    messages: list[Any] = []
    for _ in range(draw(st.integers(0, 3))):
        message: dict[Any, Any] = {}
        for key in draw(st.lists(MESSAGE_KEYS, unique=True, max_size=5)):
            if key == "tool_calls":
                message[key] = draw(tool_calls())
            elif key == "parts":
                message[key] = [{"type": "text", "content": draw(st.text(max_size=3))}]
            else:
                message[key] = draw(MESSAGE_TEXTS)
        if draw(st.integers(0, 9)) == 0:
            message[b"role"] = "assistant"
        messages.append(message if draw(st.integers(0, 9)) else draw(st.sampled_from(["hello", None, 3])))
    return messages


@SETTINGS
@given(messages=message_lists())
def test_message_lists_are_what_the_walk_made_of_them(messages: list[Any]) -> None:
    assert repr(msg.normalize_messages(messages)) == repr(msg.history_from_parsed(msg._structured(messages)))


def test_messages_holding_themselves_read_as_the_walk_read_them() -> None:
    message: dict[str, Any] = {"role": "assistant", "content": "x", "id": "m", "name": "n"}
    message["tool_calls"] = [message]
    looped: dict[str, Any] = {"role": "assistant", "content": None}
    looped["tool_calls"] = [{"id": "c", "function": looped}]
    history: list[Any] = [{"role": "user", "content": "hi"}]
    history[0]["tool_calls"] = history
    for messages in ([message], [looped], history):
        assert not msg._plain_messages(messages)
        assert repr(msg.normalize_messages(messages)) == repr(msg.history_from_parsed(msg._structured(messages)))


# ----- OpenInference flattened messages -------------------------------------------------------------
INDICES = st.sampled_from(["0", "1", "01", "2", "10001", "x"])
FIELDS = st.sampled_from([
    "message.role", "message.content", "message.tool_calls.0.tool_call.id", "message.tool_calls.0.tool_call.function.name",
    "message.tool_calls.0.tool_call.function.arguments", "message.tool_calls.1.tool_call.function.arguments",
    "message.tool_call_id", "message.name", "message.contents.0.message_content.type",
    "message.contents.0.message_content.text", "message.function_call_name", "message.function_call_arguments_json",
    "message.tool_calls.00.tool_call.id", "message.contents.1.message_content.image.image.url",
    "message.contents.00.message_content.text", "other",
])
ATTRIBUTE_VALUES = st.one_of(st.text(max_size=6), st.integers(-3, 2**65), st.floats(allow_nan=False), st.booleans(),
                             st.tuples(st.text(max_size=3)), ARGUMENTS.filter(lambda v: isinstance(v, (str, bytes))),
                             st.sampled_from(["user", "assistant", "tool", "reasoning", "text", "__REDACTED__",
                                              '{"city": "Paris"}']))


@st.composite
def flattened(draw: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 8))):
        prefix = draw(st.sampled_from(["llm.input_messages", "llm.output_messages"]))
        attributes[f"{prefix}.{draw(INDICES)}.{draw(FIELDS)}"] = draw(ATTRIBUTE_VALUES)
    if draw(st.integers(0, 5)) == 0:
        attributes["llm.input_messages"] = json.dumps([{"role": "user", "content": "whole"}])
    return attributes


@SETTINGS
@given(attributes=flattened(), kind=st.sampled_from(["LLM", "CHAIN"]))
def test_flattened_messages_are_what_the_old_reads_made(attributes: dict[str, Any], kind: str) -> None:
    for prefix, default_role in (("llm.input_messages", "user"), ("llm.output_messages", "assistant")):
        old_attrs, old_state = SpanAttributes(attributes), oi._State(kind)
        expected = old_message_list(old_attrs, prefix, old_state, default_role)
        attrs, state = SpanAttributes(attributes), oi._State(kind)
        assert repr(oi._message_list(attrs, prefix, state, default_role)) == repr(expected)
        assert attrs.consumed == old_attrs.consumed
        assert state.redacted == old_state.redacted


@SETTINGS
@given(fields=st.dictionaries(FIELDS, ATTRIBUTE_VALUES, max_size=6), default_role=st.sampled_from(["user", "assistant"]))
def test_one_flattened_message_is_what_the_old_read_made(fields: dict[str, Any], default_role: str) -> None:
    old_state, state = oi._State("LLM"), oi._State("LLM")
    assert repr(message_of_slot(fields, state, default_role)) == repr(old_message(fields, old_state, default_role))
    assert state.redacted == old_state.redacted


def test_a_second_reading_of_long_arguments_is_kept() -> None:
    """Arguments over 1000 characters with a key over 1000: each reading cuts the key again."""
    arguments = json.dumps({"k" * 1200: 1})
    slot = {"message.role": "assistant", "message.tool_calls.0.tool_call.function.arguments": arguments}
    result = message_of_slot(slot, oi._State("LLM"), "user")
    assert result == old_message(slot, oi._State("LLM"), "user")
    assert "truncated by honeyhive-otel: 10" in result[0]["tool_calls"][0]["function"]["arguments"]  # (cut twice)


def test_bytes_arguments_are_decoded_as_before() -> None:
    slot = {"message.role": "assistant", "message.tool_calls.0.tool_call.function.arguments": b'{"a": 1}'}
    assert message_of_slot(slot, oi._State("LLM"), "user") == old_message(slot, oi._State("LLM"), "user")


# ----- tool schemas ---------------------------------------------------------------------------------
SCHEMAS = st.one_of(JSON_VALUES.map(lambda v: json.dumps({"name": "f", "parameters": v})), EDGE_TEXTS,
                    st.sampled_from(["{" + '"a": ' * 0 + '"p": ' + nested(depth, "{}") + "}" for depth in range(58, 68)]),
                    st.sampled_from(["{'name': 'f', 'parameters': " + "(" * depth + "1," + ")" * depth + "}"
                                     for depth in (61, 62, 63, 64, 65)]),
                    st.integers(), st.none(), st.tuples(st.text(max_size=3)))


@SETTINGS
@given(schemas=st.lists(st.tuples(SCHEMAS, st.one_of(st.none(), st.text(max_size=3), st.integers())), max_size=3))
def test_tool_schemas_are_what_the_walk_of_the_list_made(schemas: list[tuple[Any, Any]]) -> None:
    attributes: dict[str, Any] = {}
    for index, (schema, name) in enumerate(schemas):
        if schema is not None:
            attributes[f"llm.tools.{index}.tool.json_schema"] = schema
        if name is not None:
            attributes[f"llm.tools.{index}.tool.name"] = name
            attributes[f"llm.tools.{index}.tool.description"] = (name,)
    old_attrs, old_draft = SpanAttributes(attributes), Draft("model", "x")
    old_tools(old_attrs, old_draft)
    attrs, draft = SpanAttributes(attributes), Draft("model", "x")
    oi._tools(attrs, draft)
    assert repr(draft.tools) == repr(old_draft.tools)
    assert attrs.consumed == old_attrs.consumed


def test_a_schema_nested_to_the_depth_bound_is_cut_as_before() -> None:
    schema = '{"p": ' + nested(MAX_DEPTH - 1, "{}") + "}"  # (a container 63 levels below the schema)
    assert oi._tool_schema(schema) == to_jsonable(parse_structured(schema), max_depth=MAX_DEPTH - 1)
    assert "[max depth]" in json.dumps(oi._tool_schema(schema))
