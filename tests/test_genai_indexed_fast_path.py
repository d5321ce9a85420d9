"""GenAI's indexed and 1.26 text content read as the general code reads it.

`_content_from_indexed` (Traceloop < 0.55, LiteLLM v1: `gen_ai.prompt.N.*`, `gen_ai.completion.N.*`)
reads the slots from the names' answer (`KeyNames.indexed`) and turns the usual slot (role and
content, and a completion's finish reason) into its message without a dict of its fields;
`parse_prompt_text` and `completion_output` (`gen_ai.prompt` / `gen_ai.completion` JSON text) take a
value orjson decoded JSON-ready (`json_ready`) to the normalisers without their `to_jsonable` walk.
The references below are the general code they replace.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import genai
from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.values import parse_structured
from tests.test_genai_fast_paths import state
from tests.test_values_fast_paths import same


# ----- references: the general code ---------------------------------------------------------
def reference_indexed(attrs: SpanAttributes, draft: Draft) -> None:
    """`genai._content_from_indexed` building every slot's dict (`SpanAttributes.indexed`)."""
    prompts = attrs.indexed("gen_ai.prompt.")
    if prompts and not draft.chat_history:
        history = []
        for item in prompts:
            history.extend(genai.indexed_message(item, "user"))
        draft.set_default("chat_history", history)
        attrs.note("inputs.chat_history", "gen_ai.prompt.N.*")
    completions = attrs.indexed("gen_ai.completion.")
    if completions and not draft.output:
        messages = []
        for item in completions:
            if not any(key.split(".")[0] in ("content", "role", "tool_calls", "finish_reason", "refusal")
                       for key in item):
                continue
            converted = genai.indexed_message(item, "assistant")
            if converted:
                message = converted[0]
                message["finish_reason"] = item.get("finish_reason")
                messages.append(message)
        if messages:
            draft.set_default("output", msg.output_from_messages(messages))
            attrs.note("outputs", "gen_ai.completion.N.*")


def reference_parse_prompt_text(text: str) -> list[dict[str, Any]]:
    """`genai.parse_prompt_text`, parsing and walking every text."""
    parsed = parse_structured(text)
    history = msg.normalize_messages(parsed) if isinstance(parsed, (list, dict)) else None
    if history:
        return history
    messages: list[dict[str, Any]] = []
    for line in text.splitlines():
        match = genai._ROLE_LINE.match(line)
        if match:
            messages.append({"role": msg.normalize_role(match.group(1)), "content": match.group(2)})
        elif messages:
            messages[-1]["content"] += "\n" + line
        else:
            messages.append({"role": "user", "content": line})
    return messages or [{"role": "user", "content": text}]


def reference_completion_output(text: str, finish: Sequence[Any] | None) -> dict[str, Any]:
    """`genai.completion_output`, parsing and walking every text."""
    parsed = parse_structured(text)
    if isinstance(parsed, (list, dict)):
        outputs = msg.normalize_output_messages(parsed, finish)
        if outputs:
            return outputs
    return msg.output_from_messages([{"role": "assistant", "content": text}], finish)


# ----- indexed slots ------------------------------------------------------------------------
INDICES = ["0", "1", "01", "2", "10001"]
PROMPT_FIELDS = ["role", "content", "user", "refusal", "tool_call_id", "name", "finish_reason",
                 "tool_calls.0.id", "tool_calls.0.name", "tool_calls.0.arguments", "tool_calls.1.name"]
COMPLETION_FIELDS = ["role", "content", "finish_reason", "refusal", "function_call.name",
                     "function_call.arguments", "content_filter_results", "tool_calls.0.name"]
KEYS = ([f"gen_ai.prompt.{index}.{field}" for index in INDICES for field in PROMPT_FIELDS]
        + [f"gen_ai.completion.{index}.{field}" for index in INDICES[:3] for field in COMPLETION_FIELDS]
        + ["gen_ai.prompt.x.role", "gen_ai.prompt.prompt_filter_results", "gen_ai.completion.", "gen_ai.system"])
VALUES = st.one_of(
    st.sampled_from(["", " ", "user", "USER ", "assistant", "system", "tool", "human", "stop", "hi",
                     '[{"type": "text", "text": "a"}]', ' [{"type": "image_url"}]', '"q"', '{"a": 1}', "[1, 2",
                     '{"x": 1}', 0, 1, -1, 2.5, True, False, ("a", "b"), ()]),
    st.text(max_size=6),
)


def usual_slots(count: int) -> st.SearchStrategy[dict[str, Any]]:
    """The attributes of `count` usual prompt and completion slots, in the emitters' order."""
    texts = st.one_of(st.text(max_size=8), st.sampled_from(["", "hi", '[{"type": "text", "text": "a"}]', 3]))
    roles = st.sampled_from(["user", "system", "assistant", "", "Human", "tool"])

    def build(slots: list[tuple[str, Any, Any]]) -> dict[str, Any]:
        attributes = {}
        for index, (prefix, role, content) in enumerate(slots):
            attributes[f"gen_ai.{prefix}.{index}.role"] = role
            attributes[f"gen_ai.{prefix}.{index}.content"] = content
            if prefix == "completion":
                attributes[f"gen_ai.{prefix}.{index}.finish_reason"] = "stop"
        return attributes

    return st.lists(st.tuples(st.sampled_from(["prompt", "completion"]), roles, texts),
                    max_size=count).map(build)


def check_indexed(attributes: dict[str, Any], preset: bool, debug: bool) -> None:
    expected_attrs, expected = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    attrs, draft = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    if preset:  # an earlier form already filled the content: the slots are consumed, not read
        for each in (expected, draft):
            each.chat_history = [{"role": "user", "content": "before"}]
            each.output = {"role": "assistant", "content": "before"}
    reference_indexed(expected_attrs, expected)
    genai._content_from_indexed(attrs, draft)
    assert same(state(attrs, draft), state(expected_attrs, expected))


@settings(max_examples=700, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=14).map(dict), st.booleans(), st.booleans())
def test_indexed_slots_read_as_the_slot_dicts_do(attributes: dict[str, Any], preset: bool, debug: bool) -> None:
    check_indexed(attributes, preset, debug)


@settings(max_examples=300, deadline=None)
@given(usual_slots(6), st.booleans())
def test_usual_slots_read_as_the_slot_dicts_do(attributes: dict[str, Any], debug: bool) -> None:
    check_indexed(attributes, False, debug)


def test_a_traceloop_chat_span() -> None:
    attributes = {"gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "Be brief.",
                  "gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": "Hi",
                  "gen_ai.prompt.2.role": "assistant", "gen_ai.prompt.2.tool_calls.0.id": "c1",
                  "gen_ai.prompt.2.tool_calls.0.name": "f", "gen_ai.prompt.2.tool_calls.0.arguments": "{}",
                  "gen_ai.prompt.3.role": "tool", "gen_ai.prompt.3.content": "42", "gen_ai.prompt.3.tool_call_id": "c1",
                  "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "Hello",
                  "gen_ai.completion.0.finish_reason": "stop"}
    attrs, draft = SpanAttributes(attributes), Draft("model", "x")
    genai._content_from_indexed(attrs, draft)
    assert draft.chat_history == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "content": "42", "tool_call_id": "c1"}]
    assert draft.output == {"role": "assistant", "content": "Hello", "finish_reason": "stop"}
    assert attrs.consumed == set(attributes)


# ----- gen_ai.prompt / gen_ai.completion text ----------------------------------------------------
SCALARS = st.one_of(
    st.text(max_size=6), st.sampled_from(["user", "assistant", "system", "tool", "stop", "", " ", "[1]", '"x"']),
    st.integers(-3, 3), st.sampled_from([2**63, 2**63 + 1, 2**64 - 1, -(2**63) - 1, 2**70]),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
)
FIELDS = st.sampled_from(["role", "content", "name", "tool_call_id", "id", "finish_reason", "tool_calls",
                          "parts", "reasoning_content", "type", "text", "x" * 1001])
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(FIELDS, inner, max_size=4)),
                           max_leaves=12)
MESSAGE = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "Human", ""]),
                           "content": st.text(max_size=8)}),
    st.fixed_dictionaries({"role": st.just("assistant"), "content": st.text(max_size=4),
                           "finish_reason": st.sampled_from(["stop", "length", 1])}),
    st.dictionaries(FIELDS, JSON_VALUES, max_size=4),
    JSON_VALUES,
)


def encodings(value: Any) -> st.SearchStrategy[str]:
    """JSON texts of `value` (NaN allowed, as `json` writes it), padded, double-encoded, or as a repr."""
    text = json.dumps(value)
    return st.sampled_from([text, f"  {text}\n", json.dumps(text), repr(value), "\xa0" + text, text + " x"])


TEXTS = st.one_of(
    st.lists(MESSAGE, max_size=4).flatmap(encodings),
    MESSAGE.flatmap(encodings),
    st.sampled_from(["", " ", "user: hi\nassistant: hello", "system: be brief\nmore", "[]", "{}", "[1, 2",
                     '{"messages": [{"role": "user", "content": "hi"}]}', '[{"role": "user", "content": NaN}]',
                     '[{"role": "user", "content": "\\ud800"}]', "[" * 70 + "]" * 70, "['a', 'b']"]),
    st.text(max_size=12),
)


@settings(max_examples=1500, deadline=None)
@given(TEXTS, st.sampled_from([None, ("stop",), ["length", "stop"], ()]))
def test_prompt_and_completion_texts_read_as_the_general_code_does(text: str, finish: Any) -> None:
    assert same(genai.parse_prompt_text(text), reference_parse_prompt_text(text))
    assert same(genai.completion_output(text, finish), reference_completion_output(text, finish))


def test_an_openlit_prompt_and_completion() -> None:
    prompt = json.dumps([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    completion = json.dumps([{"role": "assistant", "content": "Hello"}])
    assert genai.parse_prompt_text(prompt) == [{"role": "system", "content": "Be brief."},
                                               {"role": "user", "content": "Hi"}]
    assert genai.completion_output(completion, ("stop",)) == {"role": "assistant", "content": "Hello",
                                                               "finish_reason": "stop"}
    assert genai.parse_prompt_text("user: hi") == [{"role": "user", "content": "hi"}]
