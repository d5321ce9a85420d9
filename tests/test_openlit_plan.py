"""OpenLIT's per-names plan gives exactly the results of the per-span reads it replaced.

`openlit.apply` works out once per tuple of attribute names which of its keys a span has
(`_KeyPlan`: context, usage, agent/workflow, input messages, indexed tool calls) and reads the
values straight from the attributes; it skips `_old_prompt` and `_choices` when they cannot
change anything, and the joined `gen_ai.tool.*` calls when the output already has its calls
(they would be dropped). The references below are the code before that change; every
difference in the draft, the consumed keys, the provenance or a raised error is a failure.
"""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import Event

from honeyhive_otel.mapping import genai, openlit
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.event_type import MODEL
from honeyhive_otel.mapping.values import as_float, as_int, is_blank
from tests.test_values_fast_paths import same


# ----- references: `openlit.apply` and the helpers it changed, as they were ---------------------
def reference_apply(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    present = attrs.present(openlit.READ_KEYS)
    if not present.isdisjoint(openlit.CONTEXT_KEYS):
        reference_context(attrs, draft, present)
    if not present.isdisjoint(openlit.USAGE_KEYS):
        reference_usage_and_latency(attrs, draft, present)
    if attrs.has_prefix("gen_ai.agent.") or attrs.has_prefix("gen_ai.workflow."):
        openlit._agent_and_workflow(attrs, draft)
    if draft.event_type != MODEL:
        return
    reference_old_prompt(span, attrs, draft)
    openlit._choices(attrs.events(span), draft)
    reference_placeholder_output(draft)
    reference_tool_calls(attrs, draft, present)
    openlit._finish_reason(attrs, draft)
    if str(attrs.peek("gen_ai.operation.name") or "").strip().lower() in openlit.EMBEDDING_OPERATIONS:
        openlit.to_embedding_input(draft, openlit._raw_embedding_input(attrs, span))


def reference_context(attrs: SpanAttributes, draft: Draft, present: frozenset[str]) -> None:
    attrs.consume(openlit.SDK_NAME)
    environment = attrs.get("gen_ai.environment", "deployment.environment", field="metadata.environment")
    if not is_blank(environment):
        draft.metadata.setdefault("environment", str(environment))
    application = attrs.get("gen_ai.application_name", "service.name", field="metadata.application")
    if not is_blank(application):
        draft.metadata.setdefault("application", str(application))
    for key, field in openlit.METADATA_KEYS.items():
        if key in present:
            value = attrs.get(key)
            if not is_blank(value):
                draft.metadata.setdefault(field, str(value))


def reference_usage_and_latency(attrs: SpanAttributes, draft: Draft, present: frozenset[str]) -> None:
    if openlit.TOTAL_USAGE in present:
        total = as_int(attrs.get(openlit.TOTAL_USAGE))
        if total is not None and total >= 0 and attrs.raw.keys().isdisjoint(openlit.TOKEN_KEYS):
            draft.metadata.setdefault("total_tokens", total)
    for key, field in openlit.EXTRA_USAGE.items():
        if key in present:
            value = as_int(attrs.get(key))
            if value is not None and value >= 0:
                draft.metadata.setdefault(field, value)
    if openlit.TIME_PER_TOKEN in present:
        per_token = as_float(attrs.get(openlit.TIME_PER_TOKEN))
        if per_token is not None and per_token > 0:
            draft.metrics.setdefault("time_per_output_token_s", per_token)


def reference_has_old_prompt(attrs: SpanAttributes, span: Any) -> bool:
    if attrs.has("gen_ai.input.messages"):
        return False
    if isinstance(attrs.peek("gen_ai.prompt"), str):
        return True
    return any(getattr(event, "name", "") == openlit.PROMPT_EVENT
               and isinstance((event.attributes or {}).get("gen_ai.prompt"), str) for event in attrs.events(span))


def reference_old_prompt(span: Any, attrs: SpanAttributes, draft: Draft) -> None:
    if not draft.chat_history or not reference_has_old_prompt(attrs, span):
        return
    for message in draft.chat_history:
        if message.get("role") == "assistant" and message.get("content") == "None":
            message["content"] = None


def reference_placeholder_output(draft: Draft) -> None:
    if not draft.output:
        return
    for choice in [draft.output, *(draft.output.get("choices") or [])]:
        if choice.get("content") == openlit.TOOLS_PLACEHOLDER and not choice.get("tool_calls"):
            choice["content"] = None


def reference_indexed_tool_calls(attrs: SpanAttributes) -> list[dict[str, Any]]:
    if not attrs.has_prefix("gen_ai.tool_call."):
        return []
    return openlit._indexed_tool_calls(attrs)


def reference_tool_calls(attrs: SpanAttributes, draft: Draft, present: frozenset[str]) -> None:
    calls = []
    if openlit.RESPONSE_TOOL_CALLS in present:
        calls = openlit.parse_tool_calls(attrs.get(openlit.RESPONSE_TOOL_CALLS, field="outputs.tool_calls"))
    if not calls and openlit.TOOL_NAMES in present:
        calls = openlit._joined_tool_calls(attrs.peek(openlit.TOOL_NAMES), attrs.peek("gen_ai.tool.call.id"),
                                           attrs.peek("gen_ai.tool.args"))
    if not calls:
        calls = reference_indexed_tool_calls(attrs)
    if not calls or (draft.output and draft.output.get("tool_calls")):
        return
    output = dict(draft.output or {"role": "assistant", "content": None, "finish_reason": None})
    output["tool_calls"] = calls
    if output.get("finish_reason") is None:
        output["finish_reason"] = "tool_calls"
    choices = output.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choices[0] = {**choices[0], "tool_calls": calls, "finish_reason": output["finish_reason"]}
    draft.output = output


# ----- generated spans ------------------------------------------------------------------------
TOOL_OUTPUT = json.dumps([{"role": "assistant", "finish_reason": "tool_calls", "parts": [
    {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]}])
TEXT_OUTPUT = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": openlit.TOOLS_PLACEHOLDER}]}])
INPUT = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}])
DEEP = "[" * 5_000  # nests past the recursion limit: decoding it raises RecursionError
COMMON = ["", " ", None, 0, -1, 3, 0.0, 0.25, -2.5, True, "x", "12", "openlit", " OpenLIT ", "test"]
VALUES: dict[str, list[Any]] = {
    "gen_ai.operation.name": ["chat", "embeddings", " Embedding ", ""],
    "gen_ai.input.messages": [INPUT, "['hello', 'world']", ""],
    "gen_ai.output.messages": [TOOL_OUTPUT, TEXT_OUTPUT, ""],
    "gen_ai.prompt": ["user: hi\nassistant: None", ("a", "b"), ""],
    "gen_ai.completion": [openlit.TOOLS_PLACEHOLDER, "done"],
    "gen_ai.response.finish_reasons": [("stop",), ("tool_calls", "stop"), '["length"]', ""],
    "gen_ai.response.tool_calls": ['[{"id": "c1", "function": {"name": "f", "arguments": "{}"}}]', "None", "",
                                   "[ChatCompletionMessageToolCall(id='c2', function=Function(arguments='{}', "
                                   "name='g'), type='function')]"],
    "gen_ai.tool.name": ["get_weather", "a, b", "", 7],
    "gen_ai.tool.call.id": ["call_1", "c1, c2", ""],
    "gen_ai.tool.args": ['{"city": "Paris"}', '{"a": 1}, {"b": 2}', DEEP, "[[1]]", "", 5],
    "gen_ai.tool_call.0.name": ["lookup", ""],
    "gen_ai.tool_call.0.arguments": ['{"q": 1}'],
    "gen_ai.agent.name": ["agent", ""],
    "gen_ai.workflow.input": ['{"a": 1}', ""],
    "gen_ai.usage.input_tokens": [4, "", -1],
}
KEYS = sorted({*openlit.READ_KEYS, *openlit.TOKEN_KEYS, *VALUES})
EVENTS = st.lists(st.sampled_from([
    ("gen_ai.content.prompt", {"gen_ai.prompt": "system: s\nassistant: None"}),
    ("gen_ai.content.prompt", {"gen_ai.prompt": ("one", "two")}),
    ("gen_ai.content.completion", {"gen_ai.completion": openlit.TOOLS_PLACEHOLDER}),
    ("gen_ai.content.completion.0", {"gen_ai.completion": "first"}),
    ("gen_ai.content.completion.1", {"gen_ai.completion": "second"}),
    ("exception", {"exception.type": "ValueError"}),
]), max_size=3)


@st.composite
def spans(draw: Any) -> tuple[dict[str, Any], Any]:
    keys = draw(st.lists(st.sampled_from(KEYS), max_size=16, unique=True))
    attributes = {key: draw(st.sampled_from(VALUES.get(key, COMMON))) for key in keys}
    attributes = {key: value for key, value in attributes.items() if value is not None}
    events = tuple(Event(name, attributes=dict(body)) for name, body in draw(EVENTS))
    return attributes, SimpleNamespace(events=events)


def mapped(apply: Any, attributes: dict[str, Any], span: Any, event_type: str, debug: bool) -> Any:
    """What `apply` leaves behind after GenAI's (the mapper's order), or the error it raised."""
    attrs, draft = SpanAttributes(attributes, debug=debug), Draft(event_type, "x")
    try:
        genai.apply(attrs, span, draft)
    except Exception as error:  # noqa: BLE001 - both sides get the same draft either way
        assert type(error) is RecursionError
    try:
        apply(attrs, span, draft)
        error = None
    except RecursionError as raised:  # the deep `gen_ai.tool.args` (both sides, or neither)
        error = type(raised).__name__
    return ([(field.name, getattr(draft, field.name)) for field in dataclasses.fields(draft)],
            sorted(attrs.consumed), list(attrs.sources.items()), error)


@settings(max_examples=800, deadline=None)
@given(spans(), st.sampled_from([MODEL, "chain", "tool"]), st.booleans())
def test_apply_matches_the_per_span_reads(span: tuple[dict[str, Any], Any], event_type: str, debug: bool) -> None:
    attributes, holder = span
    expected = mapped(reference_apply, attributes, holder, event_type, debug)
    assert same(mapped(openlit.apply, attributes, holder, event_type, debug), expected)


def test_joined_calls_are_skipped_only_when_the_output_has_its_calls() -> None:
    """OpenLIT 1.35+: the calls are in gen_ai.output.messages and in the joined keys."""
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.output.messages": TOOL_OUTPUT,
                  "gen_ai.tool.name": "get_weather", "gen_ai.tool.call.id": "call_1",
                  "gen_ai.tool.args": '{"city": "Paris"}'}
    holder = SimpleNamespace(events=())
    for variant in (attributes, {**attributes, "gen_ai.output.messages": TEXT_OUTPUT},
                    {**attributes, "gen_ai.tool.args": DEEP}, {**attributes, "gen_ai.tool_call.0.name": "lookup"}):
        expected = mapped(reference_apply, variant, holder, MODEL, False)
        assert same(mapped(openlit.apply, variant, holder, MODEL, False), expected)
    # The deep arguments still fail as they did; the text output still gets the joined calls.
    assert mapped(openlit.apply, {**attributes, "gen_ai.tool.args": DEEP}, holder, MODEL, False)[-1] == "RecursionError"
    outputs = dict(mapped(openlit.apply, {**attributes, "gen_ai.output.messages": TEXT_OUTPUT}, holder, MODEL,
                          False)[0])["output"]
    assert outputs["tool_calls"][0]["function"]["name"] == "get_weather"
