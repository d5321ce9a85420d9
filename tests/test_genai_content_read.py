"""GenAI content attributes are normalised first and checked for blank only when nothing came out.

`genai._content_from_attributes` used to test each content attribute with `is_blank` before
normalising it (`_parsed`); it now normalises straight away (`_read`), which is the same because
every content normaliser gives None for a blank value. `apply` passes the SDK's finish-reasons
tuple as it is instead of a list copy. Span events: only those `content_from_events` reads have
their attributes copied, and the SDK's `BoundedAttributes` by its own (C-level) `copy()`. The
references below are the former code, kept verbatim.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event

from honeyhive_otel.mapping import genai
from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.values import is_blank, parse_json
from tests.test_values_fast_paths import same


class _Str(str):
    """A str subclass: blank ones are blank too (`is_blank`)."""


# ----- reference: the former `_content_from_attributes` and `_parsed` -------------------------------
def reference_parsed(attrs: SpanAttributes, key: str, normalise: Any, field: str | None, *args: Any) -> Any:
    value = attrs.raw[key]
    if is_blank(value):
        attrs.consumed.add(key)
        return None
    result = normalise(value, *args)
    if result is not None:
        attrs.consumed.add(key)
        if field and attrs.debug:
            attrs.note(field, key)
    return result


def reference_content(attrs: SpanAttributes, draft: Draft, finish: Any, present: frozenset[str]) -> None:
    """The former `_content_from_attributes`."""
    history = reference_parsed(attrs, genai.INPUT_MESSAGES, msg.normalize_messages, "inputs.chat_history") \
        if genai.INPUT_MESSAGES in present else None
    system = reference_parsed(attrs, genai.SYSTEM_INSTRUCTIONS, msg.system_message, None) \
        if genai.SYSTEM_INSTRUCTIONS in present else None
    if system is not None:
        draft.set_default("chat_history", msg.prepend_system(history or [], system))
    elif history is not None:
        draft.set_default("chat_history", history)
    if genai.OUTPUT_MESSAGES in present:
        draft.set_default("output", reference_parsed(attrs, genai.OUTPUT_MESSAGES, msg.normalize_output_messages,
                                                     "outputs", finish))
    if present.isdisjoint(genai._RARE_CONTENT_KEYS):
        return
    if genai.TOOL_DEFINITIONS in present:
        draft.set_default("tools", reference_parsed(attrs, genai.TOOL_DEFINITIONS, msg.normalize_tool_definitions,
                                                    None))
    if not present.isdisjoint(genai.CONTENT_REF_KEYS):
        for ref in genai.CONTENT_REF_KEYS:
            if ref in present:
                value = attrs.get(ref)
                if not is_blank(value):
                    draft.metadata.setdefault("content_refs", {})[ref.removeprefix("gen_ai.")] = value
    if "gen_ai.prompt" in present:
        prompt = attrs.peek("gen_ai.prompt")
        if isinstance(prompt, str) and not draft.chat_history:
            attrs.consume("gen_ai.prompt")
            draft.set_default("chat_history", genai.parse_prompt_text(prompt))
    if "gen_ai.completion" in present:
        completion = attrs.peek("gen_ai.completion")
        if isinstance(completion, str) and not draft.output:
            attrs.consume("gen_ai.completion")
            draft.set_default("output", genai.completion_output(completion, finish))


# ----- values -------------------------------------------------------------------------------------
# Every character `str.strip` removes, and a few it keeps.
BLANK_CHARS = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
BLANK = st.one_of(st.none(), st.text(alphabet=BLANK_CHARS, max_size=4), st.text(alphabet=BLANK_CHARS, max_size=3).map(_Str))
USUAL = {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
CONTENT_VALUES = st.one_of(
    BLANK,
    st.sampled_from([
        json.dumps([USUAL]), json.dumps([{**USUAL, "role": "assistant", "finish_reason": "end_turn"}]),
        json.dumps([USUAL, {"role": "assistant", "parts": [{"type": "tool_call", "id": "c", "name": "f",
                                                             "arguments": {"a": 1.5}}]}]),
        json.dumps({"role": "system", "content": "be brief"}), json.dumps([{"type": "text", "content": "sys"}]),
        json.dumps([{"type": "function", "name": "f", "parameters": {"type": "object"}}]),
        "[{'role': 'user', 'content': 'repr'}]", "user: hello\nassistant: hi", "plain text", "[not json", "[]", "{}",
        '"quoted"', "null", "1", "s3://bucket/key",
    ]),
    st.text(max_size=6), st.integers(-2, 2), st.floats(allow_nan=False), st.booleans(),
    st.tuples(st.text(max_size=3)), st.just(("a", "")),
)
CONTENT_KEYS = sorted(genai._CONTENT_KEYS)
FINISH = st.one_of(st.none(), st.just(("stop",)), st.just(["length", "stop"]), st.just(("", "end_turn")), st.just(()))


def state(attrs: SpanAttributes, draft: Draft) -> Any:
    return ([(field.name, getattr(draft, field.name)) for field in dataclasses.fields(draft)],
            sorted(attrs.consumed), list(attrs.sources.items()))


# ----- the content reads as before ------------------------------------------------------------------
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(CONTENT_KEYS), CONTENT_VALUES), max_size=6).map(dict), FINISH,
       st.booleans())
def test_content_attributes_read_as_the_former_code_does(attributes: dict[str, Any], finish: Any,
                                                         debug: bool) -> None:
    expected_attrs, expected = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    present = frozenset(attributes) & genai._CONTENT_KEYS
    reference_content(expected_attrs, expected, finish, present)
    attrs, draft = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    genai._content_from_attributes(attrs, draft, finish, present)
    assert same(state(attrs, draft), state(expected_attrs, expected))


@settings(max_examples=300, deadline=None)
@given(BLANK, FINISH)
def test_every_content_normaliser_gives_none_for_a_blank_value(value: Any, finish: Any) -> None:
    """What `_read` relies on to skip the blank check when a normaliser gave a value."""
    assert msg.normalize_messages(value) is None
    assert msg.system_message(value) is None
    assert msg.normalize_output_messages(value, finish) is None
    assert msg.normalize_tool_definitions(value) is None


def test_blank_and_unreadable_content_attributes() -> None:
    """Blank: consumed, nothing mapped; unreadable: kept for metadata.attributes."""
    attributes = {genai.INPUT_MESSAGES: " \n", genai.SYSTEM_INSTRUCTIONS: None, genai.OUTPUT_MESSAGES: 7,
                  genai.TOOL_DEFINITIONS: "[not json"}
    attrs, draft = SpanAttributes(attributes, debug=True), Draft("model", "x")
    genai._content_from_attributes(attrs, draft, None, frozenset(attributes))
    assert attrs.consumed == {genai.INPUT_MESSAGES, genai.SYSTEM_INSTRUCTIONS}
    assert draft.chat_history is None and draft.output is None and draft.tools is None
    assert attrs.sources == {}


# ----- the finish reasons tuple ---------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["stop", "end_turn", "", " Length ", "tool_use"]), max_size=3),
       st.sampled_from([json.dumps([USUAL, {**USUAL, "finish_reason": "length"}]), json.dumps([USUAL]), "hi",
                        json.dumps({"role": "assistant", "content": "x"})]),
       st.booleans())
def test_finish_reasons_tuple_maps_as_its_list(reasons: list[str], output: str, as_completion: bool) -> None:
    """The SDK's tuple, used as it is, gives what the list copy gave (outputs and metadata)."""
    key = "gen_ai.completion" if as_completion else genai.OUTPUT_MESSAGES
    results = []
    for finish in (tuple(reasons), json.dumps(reasons)):
        attributes = {key: output, genai.FINISH_REASONS: finish, "gen_ai.response.model": "m"}
        attrs, draft = SpanAttributes(attributes), Draft("model", "x")
        genai.apply(attrs, None, draft)
        results.append(state(attrs, draft)[:2])
    assert same(results[0], results[1])


# ----- span events ----------------------------------------------------------------------------------
def reference_event_attributes(event: Any) -> dict[str, Any]:
    attributes = dict(getattr(event, "attributes", None) or {})
    body = attributes.pop("gen_ai.event.content", None)
    if isinstance(body, str):
        parsed = parse_json(body)
        if isinstance(parsed, dict):
            attributes = {**parsed, **attributes}
    return attributes


def reference_events(span_events: Any, draft: Draft, finish: Any = None) -> None:
    events = [(name, reference_event_attributes(event)) for event in span_events
              if (name := getattr(event, "name", "")).startswith("gen_ai.")]
    genai.content_from_events(events, draft, finish)


EVENT_NAMES = st.sampled_from([genai.DETAILS_EVENT, *genai.MESSAGE_EVENTS, genai.CHOICE_EVENT, genai.PROMPT_EVENT,
                               genai.COMPLETION_EVENT, "gen_ai.content.completion.chunk", "gen_ai.content.completion.0",
                               "gen_ai.other", "app.event", "exception"])
EVENT_VALUES = st.one_of(st.text(max_size=5), st.integers(0, 2), st.none(), st.tuples(st.text(max_size=3)),
                         st.sampled_from([json.dumps([USUAL]), "user: hi\nassistant: yo", '{"content": "c"}',
                                          json.dumps({"role": "assistant", "content": "m"}), '["stop"]']))
EVENT_ATTRIBUTES = st.dictionaries(
    st.sampled_from(["content", "role", "id", "index", "finish_reason", "message", "tool_calls", "gen_ai.prompt",
                     "gen_ai.completion", "gen_ai.event.content", "gen_ai.input.messages", "gen_ai.output.messages",
                     "gen_ai.system_instructions", "gen_ai.response.finish_reasons", "name"]),
    EVENT_VALUES, max_size=4)


@dataclasses.dataclass
class PlainEvent:
    """An event as other emitters (and the fixtures' loader) may build it: attributes in a plain dict."""

    name: str
    attributes: dict[str, Any] | None


@st.composite
def events(draw: st.DrawFn) -> list[Any]:
    """SDK events whose attributes are what a span keeps (BoundedAttributes), a plain dict, or none."""
    result = []
    for name, attributes in draw(st.lists(st.tuples(EVENT_NAMES, EVENT_ATTRIBUTES), max_size=5)):
        form = draw(st.sampled_from(["bounded", "dict", "none"]))
        if form == "bounded":
            result.append(Event(name, BoundedAttributes(attributes=attributes, immutable=True), timestamp=1))
        else:
            result.append(PlainEvent(name, attributes if form == "dict" else None))
    return result


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events(), FINISH)
def test_span_events_read_as_the_former_code_does(span_events: list[Any], finish: Any) -> None:
    expected = Draft("model", "x")
    reference_events(span_events, expected, finish)
    draft = Draft("model", "x")
    genai._content_from_events(span_events, draft, finish)
    assert same(state(SpanAttributes({}), draft), state(SpanAttributes({}), expected))


def test_event_attributes_are_copied_never_shared() -> None:
    bounded = BoundedAttributes(attributes={"content": "hi", "gen_ai.event.content": '{"role": "user"}'},
                                immutable=True)
    event = Event(genai.PROMPT_EVENT, bounded, timestamp=1)
    attributes = genai._event_attributes(event)
    assert attributes == {"role": "user", "content": "hi"} and type(attributes) is dict
    assert dict(bounded) == {"content": "hi", "gen_ai.event.content": '{"role": "user"}'}
