"""GenAI's tail sections read only the keys the span has, exactly as the per-span reads did.

OpenLIT writes `gen_ai.request.user` (usually blank) on every span, so `genai._context` runs for
each of them: it now takes the user and agent keys the span has from `_KeyPlan` and reads them
straight from the attributes. Embeddings spans carry only `gen_ai.embeddings.dimension.count` of
the retrieval keys: `_embeddings_and_retrieval` skips the lookups of the others. The references are
the code before these changes; the response section's rare keys (tier, fingerprint, first token) are
checked against the per-span reads in tests/test_genai_fast_paths.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import genai
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.values import as_int, is_blank, parse_structured
from tests.test_values_fast_paths import same


def reference_context(attrs: SpanAttributes, draft: Draft, present: frozenset[str]) -> None:
    """`genai._context` as it was: `SpanAttributes.get` over every user key, then each agent key."""
    user = attrs.get(*genai.USER_KEYS, field="user_properties.user_id")
    if not is_blank(user):
        draft.user_properties.setdefault("user_id", str(user))
    for key in genai.AGENT_KEYS:
        if key not in present:
            continue
        value = attrs.get(key)
        if not is_blank(value):
            draft.metadata.setdefault(key.removeprefix("gen_ai.").replace(".", "_"), value)


def reference_embeddings_and_retrieval(attrs: SpanAttributes, draft: Draft) -> None:
    dimension = as_int(attrs.get("gen_ai.embeddings.dimension.count"))
    if dimension is not None:
        draft.embedding_output = {**(draft.embedding_output or {}), "dimension": dimension}
    query = attrs.get(*genai.RETRIEVAL_QUERY_KEYS, field="inputs.query")
    if query is not None:
        draft.set_default("query", query)
    documents = attrs.get("gen_ai.retrieval.documents", field="outputs.documents")
    if documents is not None:
        parsed = parse_structured(documents)
        draft.set_default("documents", parsed if isinstance(parsed, list) else [parsed])
    data_source = attrs.get("gen_ai.data_source.id")
    if not is_blank(data_source):
        draft.config.setdefault("data_source_id", str(data_source))


KEYS = [*genai.USER_KEYS, *genai.AGENT_KEYS, "gen_ai.tool.name", "gen_ai.data_source.id", "gen_ai.request.model",
        "gen_ai.embeddings.dimension.count", "gen_ai.retrieval.documents", *genai.RETRIEVAL_QUERY_KEYS]
VALUES = st.one_of(st.sampled_from(["", " ", "\n", "alice", " bob ", 0, -1, 1.5, True, ("a",), "8", '[{"id": 1}]',
                                    '{"a": 1}', "['x']"]),
                   st.text(max_size=4), st.integers(-2, 2))
ATTRIBUTES = st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=len(KEYS)).map(dict)


def state(attrs: SpanAttributes, draft: Draft) -> Any:
    return ([(field.name, getattr(draft, field.name)) for field in dataclasses.fields(draft)],
            sorted(attrs.consumed), list(attrs.sources.items()))


@settings(max_examples=600, deadline=None)
@given(ATTRIBUTES, st.booleans())
def test_context_reads_as_the_per_span_lookups_do(attributes: dict[str, Any], debug: bool) -> None:
    expected_attrs, expected = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    attrs, draft = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    plan = attrs.derived(genai._make_plan)
    if not plan.tail.isdisjoint(genai._CONTEXT_KEYS):  # (as `apply` calls it)
        reference_context(expected_attrs, expected, plan.tail)
        genai._context(attrs, draft, plan)
    assert same(state(attrs, draft), state(expected_attrs, expected))


@settings(max_examples=600, deadline=None)
@given(ATTRIBUTES, st.booleans())
def test_embeddings_and_retrieval_read_as_the_per_span_lookups_do(attributes: dict[str, Any], debug: bool) -> None:
    expected_attrs, expected = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    attrs, draft = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    plan = attrs.derived(genai._make_plan)
    if not plan.tail.isdisjoint(genai._RETRIEVAL_KEYS):  # (as `apply` calls it)
        reference_embeddings_and_retrieval(expected_attrs, expected)
        genai._embeddings_and_retrieval(attrs, draft, plan.tail)
    assert same(state(attrs, draft), state(expected_attrs, expected))


def test_first_set_user_wins_and_every_user_key_is_consumed() -> None:
    attributes = {"gen_ai.request.user": " ", "gen_ai.user": "alice", "llm.user": "bob", "gen_ai.agent.name": "a"}
    attrs, draft = SpanAttributes(attributes, debug=True), Draft("model", "x")
    genai.apply(attrs, None, draft)
    assert draft.user_properties == {"user_id": "alice"}
    assert draft.metadata["agent_name"] == "a"
    assert attrs.consumed >= set(attributes)
    assert attrs.sources["user_properties.user_id"] == "gen_ai.user"
