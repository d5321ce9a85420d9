"""Traceloop's per-span sections skip what the attribute names rule out.

`traceloop.apply` takes from its `_KeyPlan` (once per tuple of names) the secret keys, the metadata
keys in order (`_metadata_fields`: read straight from the attributes), whether association
properties and managed prompts are present, and which `gen_ai.completion.*` keys are content-filter
verdicts; `_entity` returns early for an entity name without input or output on a non-tool span.
The reference is `apply` as it was: every section asked on every span.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import traceloop
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.event_type import TOOL
from honeyhive_otel.mapping.values import is_blank, to_jsonable
from tests.test_genai_fast_paths import state
from tests.test_traceloop_model_plan import reference_model
from tests.test_values_fast_paths import same


def reference_apply(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    """`traceloop.apply` asking every section of every span."""
    present = attrs.present(traceloop.READ_KEYS)
    if present:
        attrs.consume(*traceloop.SECRET_KEYS)
        reference_entity(attrs, draft, present)
        reference_metadata(attrs, draft, present)
    if attrs.has_prefix(traceloop.TRACELOOP_PREFIX):
        traceloop._association(attrs, draft)
        traceloop._prompt_management(attrs, draft)
    reference_model(attrs, span, draft, present)


def reference_entity(attrs: SpanAttributes, draft: Draft, present: frozenset[str]) -> None:
    if (traceloop.ENTITY_INPUT not in present and traceloop.ENTITY_OUTPUT not in present
            and traceloop.ENTITY_NAME not in present):
        return
    raw_input = attrs.get(traceloop.ENTITY_INPUT, field="inputs")
    raw_output = attrs.get(traceloop.ENTITY_OUTPUT, field="outputs")
    name = attrs.peek(traceloop.ENTITY_NAME)
    if draft.event_type == TOOL:
        if not is_blank(name) and not draft.tool_name:
            draft.tool_name = str(name)
        if raw_input is not None:
            draft.set_default("tool_arguments", traceloop.unwrap_input(raw_input))
        if raw_output is not None:
            draft.set_default("tool_result", traceloop.unwrap_output(raw_output))
        return
    if raw_input is not None:
        draft.set_default("input_value", traceloop.unwrap_input(raw_input))
    if raw_output is not None:
        draft.set_default("output_value", traceloop.unwrap_output(raw_output))


def reference_metadata(attrs: SpanAttributes, draft: Draft, present: frozenset[str]) -> None:
    for key, field in traceloop.METADATA_KEYS.items():
        if key not in present:
            continue
        value = attrs.get(key, field=f"metadata.{field}")
        if not is_blank(value):
            draft.metadata.setdefault(field, to_jsonable(value) if isinstance(value, (list, tuple)) else str(value))


KEYS = [
    *traceloop.METADATA_KEYS, *traceloop.SECRET_KEYS, traceloop.ENTITY_INPUT, traceloop.ENTITY_OUTPUT,
    "traceloop.span.kind", "traceloop.association.properties.user_id", "traceloop.association.properties.session_id",
    "traceloop.association.properties.tenant", "traceloop.association.properties.", "traceloop.prompt.key",
    "traceloop.prompt.version", "traceloop.prompt.", "gen_ai.completion.0.content_filter_results",
    "gen_ai.completion.1.content_filter_results", "gen_ai.completion.content_filter_results",
    "gen_ai.completion.0.content", "gen_ai.completion.0.role", "gen_ai.prompt.prompt_filter_results",
    "gen_ai.response.stop_reason", "llm.request.type", "llm.request.model", "llm.request.max_tokens",
    "llm.response.model", "gen_ai.operation.name",
]
VALUES = st.one_of(
    st.sampled_from(["", " ", "\n", "chat", "embedding", "answer", "wf", "https://api.openai.com", "2024-06-01",
                     '{"args": [1], "kwargs": {"a": 2}}', '{"hate": {"filtered": false}}', '[{"prompt_index": 0}]',
                     '"text"', "[1, 2", 0, 1, -1, 2.5, True, False, ("a", "b"), (), (1, 2.5), ["x"]]),
    st.text(max_size=5),
)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=12).map(dict),
       st.sampled_from(["model", "tool", "chain"]), st.booleans())
def test_apply_reads_as_every_section_asked_does(attributes: dict[str, Any], event_type: str, debug: bool) -> None:
    expected_attrs, expected = SpanAttributes(attributes, debug=debug), Draft(event_type, "x")
    reference_apply(expected_attrs, None, expected)
    attrs, draft = SpanAttributes(attributes, debug=debug), Draft(event_type, "x")
    traceloop.apply(attrs, None, draft)
    assert same(state(attrs, draft), state(expected_attrs, expected))


def test_the_metadata_of_an_entity_span() -> None:
    attributes = {"traceloop.workflow.name": "chat", "traceloop.entity.name": "answer", "llm.headers": "k",
                  "gen_ai.openai.api_base": " ", "traceloop.entity.version": 3, "traceloop.entity.path": ("a", "b")}
    attrs, draft = SpanAttributes(attributes, debug=True), Draft("chain", "x")
    traceloop.apply(attrs, None, draft)
    assert draft.metadata == {"entity_name": "answer", "entity_path": ["a", "b"], "entity_version": "3",
                              "workflow_name": "chat"}
    assert attrs.consumed == set(attributes)
    assert list(attrs.sources) == ["metadata.entity_name", "metadata.entity_path", "metadata.entity_version",
                                   "metadata.workflow_name"]
