"""Traceloop's model section finds its prefixed keys once per tuple of attribute names.

`traceloop._model` reads `llm.request.*` (tools offered, legacy parameters) and
`gen_ai.completion.*` (content-filter verdicts) from the `_KeyPlan` of `_make_plan`, worked out by
`SpanAttributes.derived`; the reference is the per-span prefix lookups it replaces.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import traceloop
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.event_type import MODEL
from honeyhive_otel.mapping.values import is_blank, parse_json, to_jsonable
from tests.test_genai_fast_paths import state
from tests.test_values_fast_paths import same


def reference_apply(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    """`traceloop.apply` with `reference_model`."""
    present = attrs.present(traceloop.READ_KEYS)
    if present:
        attrs.consume(*traceloop.SECRET_KEYS)
        traceloop._entity(attrs, draft, present)
        traceloop._metadata_fields(attrs, draft, traceloop._metadata_keys(present))
    if attrs.has_prefix(traceloop.TRACELOOP_PREFIX):
        traceloop._association(attrs, draft)
        traceloop._prompt_management(attrs, draft)
    reference_model(attrs, span, draft, present)


def reference_model(attrs: SpanAttributes, span: Any, draft: Draft, present: frozenset[str]) -> None:
    """`traceloop._model` asking for the prefixed keys of every span."""
    request_keys = attrs.keys_with_prefix(traceloop.REQUEST_PREFIX)
    for key in request_keys:
        if key.startswith(traceloop.FUNCTIONS_PREFIX):
            traceloop._functions(attrs, draft)
            break
    if traceloop.STOP_REASON in present:
        traceloop._stop_reason(attrs, draft)
    completion_keys = attrs.keys_with_prefix("gen_ai.completion.")
    if completion_keys or traceloop.PROMPT_FILTER in present:
        traceloop._filter_results(attrs, draft, present, tuple(completion_keys))
    for key in traceloop.MODEL_KEYS:
        if key in present:
            value = attrs.get(key)
            if not is_blank(value):
                draft.config.setdefault("model", str(value))
    if request_keys:
        attrs.consumed.update(request_keys)
        for key in request_keys:
            suffix = key[len(traceloop.REQUEST_PREFIX):]
            if suffix in ("type", "model") or suffix.startswith("functions."):
                continue
            value = attrs.raw[key]
            if is_blank(value) or value in ((), []):
                continue
            draft.config.setdefault(suffix.replace(".", "_"), to_jsonable(parse_json(value)))
    if draft.event_type != MODEL:
        return
    raw = attrs.raw
    request_type = raw.get("llm.request.type") or raw.get("gen_ai.operation.name")
    if request_type and str(request_type).strip().lower() in traceloop.EMBEDDING_TYPES:
        traceloop.to_embedding_input(draft)
    if attrs.events(span):
        traceloop._first_chunk(attrs, span, draft)


KEYS = [
    "llm.request.type", "llm.request.model", "llm.request.max_tokens", "llm.request.stop", "llm.request.foo.bar",
    "llm.request.functions.0.name", "llm.request.functions.0.description", "llm.request.functions.0.parameters",
    "llm.request.functions.1.name", "llm.request.functions", "llm.request.", "llm.response.model",
    "gen_ai.response.stop_reason", "gen_ai.completion.0.content_filter_results",
    "gen_ai.completion.1.content_filter_results", "gen_ai.completion.0.content", "gen_ai.prompt.prompt_filter_results",
    "gen_ai.operation.name", "traceloop.entity.name", "gen_ai.openai.api_base",
]
VALUES = st.one_of(
    st.sampled_from(["", " ", "chat", "embedding", "Embeddings ", "get_weather", '{"type": "object"}',
                     '{"hate": {"filtered": false}}', '[{"prompt_index": 0}]', "end_turn", "gpt-4o", 256, -1, 0.5,
                     True, ("a", "b"), (), "[1, 2"]),
    st.text(max_size=4), st.integers(-2, 3),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=len(KEYS)).map(dict),
       st.sampled_from(["model", "tool", "chain"]), st.booleans())
def test_model_section_reads_as_the_per_span_lookups_do(attributes: dict[str, Any], event_type: str,
                                                        debug: bool) -> None:
    expected_attrs, expected = SpanAttributes(attributes, debug=debug), Draft(event_type, "x")
    reference_apply(expected_attrs, None, expected)
    attrs, draft = SpanAttributes(attributes, debug=debug), Draft(event_type, "x")
    traceloop.apply(attrs, None, draft)
    assert same(state(attrs, draft), state(expected_attrs, expected))


def test_tools_parameters_and_filters_of_one_span() -> None:
    attributes = {"llm.request.type": "chat", "llm.request.functions.0.name": "get_weather",
                  "llm.request.functions.0.parameters": '{"type": "object"}', "llm.request.max_tokens": 64,
                  "llm.request.foo.bar": '{"x": 1}', "gen_ai.completion.0.content_filter_results": '{"hate": {}}'}
    attrs, draft = SpanAttributes(attributes), Draft("model", "x")
    traceloop.apply(attrs, None, draft)
    assert draft.tools == [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    assert draft.config == {"max_tokens": 64, "foo_bar": {"x": 1}}
    assert draft.metadata == {"content_filter_results": {"0": {"hate": {}}}}
    assert attrs.consumed == set(attributes)
