"""OpenInference spans map with less work per span, to exactly the results of the full reads.

A plain flattened message (a role and a text) is built directly instead of through the shared
normaliser; the cost and token-detail names, and the embedding-vector names, are worked out once
per tuple of attribute names; the identity keys are read straight from the attributes; request
parameters that are plain strings, booleans and 64-bit integers are kept without a walk. The
references below are the full reads these replace.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping import openinference as oi
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.usage import TOKEN_SOURCES
from honeyhive_otel.mapping.values import as_float, as_int, is_blank, to_jsonable

TEXTS = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(
    ["", "  ", "hi", " {\"a\": 1}", "[1, 2]", '"quoted"', "__REDACTED__", " __REDACTED__ ", "[{\"type\": \"text\"}]"]))
ROLES = st.one_of(st.none(), st.integers(), st.sampled_from(["user", "assistant", "system", "tool", "Human", "AI",
                                                             "developer", "", " ", "critic"]))


def message_of_slot(slot: dict[str, Any], state: Any, default_role: str) -> list[dict[str, Any]]:
    """One flattened message slot (`message.*` keys) as `_message_list` reads it (`oi._message_of`)."""
    fields = {key[len("message."):]: value for key, value in slot.items() if key.startswith("message.")}
    return oi._message_of(fields, state, default_role) if fields else []


def span_attributes(attributes: dict[str, Any], debug: bool = False) -> SpanAttributes:
    return SpanAttributes(attributes, debug)


# ----- plain messages -------------------------------------------------------------------------
def reference_plain_message(role: Any, content: Any, default_role: str) -> tuple[list[dict[str, Any]], bool]:
    """What the general path makes of a slot holding `message.role` and `message.content` only."""
    state = oi._State("LLM")
    text = state.text(content)
    message = {"role": role if isinstance(role, str) and role.strip() else default_role,
               "content": oi._as_content(text)}
    return msg.normalize_message(message), state.redacted


@settings(max_examples=400, deadline=None)
@given(role=ROLES, content=TEXTS, has_role=st.booleans(), has_content=st.booleans(),
       default_role=st.sampled_from(["user", "assistant"]))
def test_a_plain_message_is_what_the_normaliser_makes(role: Any, content: Any, has_role: bool, has_content: bool,
                                                      default_role: str) -> None:
    slot = {}
    if has_role:
        slot["message.role"] = role
    if has_content:
        slot["message.content"] = content
    state = oi._State("LLM")
    result = message_of_slot(slot, state, default_role)
    if not slot:
        assert result == []
        return
    expected, redacted = reference_plain_message(slot.get("message.role"), slot.get("message.content"), default_role)
    assert result == expected
    assert state.redacted == redacted


# ----- cost and token details -------------------------------------------------------------------
_USAGE_KEYS = frozenset(key for keys in TOKEN_SOURCES.values() for key in keys)


def reference_details(attrs: SpanAttributes, draft: Draft) -> None:
    """`_cost_and_token_details` with its prefix searches and suffix tests made per span."""
    details: dict[str, Any] = {}
    for key in attrs.keys_with_prefix(oi.COST_PREFIX):
        suffix = key[len(oi.COST_PREFIX):]
        if suffix == "total":
            continue
        cost = attrs.raw[key]
        if type(cost) is not float:
            cost = as_float(cost)
        if cost is None:
            continue
        attrs.consumed.add(key)
        oi._put_parts(details, suffix.split("."), cost)
    if details:
        draft.metadata.setdefault("cost_details", details)
        if not attrs.has("llm.cost.total"):
            parts = [details.get(name) for name in ("prompt", "completion")]
            if any(isinstance(part, float) for part in parts):
                draft.metadata.setdefault("cost", sum(part for part in parts if isinstance(part, float)))
    tokens: dict[str, Any] = {}
    for key in attrs.keys_with_prefix(oi.TOKEN_COUNT_PREFIX):
        suffix = key[len(oi.TOKEN_COUNT_PREFIX):]
        if key in _USAGE_KEYS or "." not in suffix:
            continue
        count = as_int(attrs.raw[key])
        if count is None:
            continue
        attrs.consumed.add(key)
        oi._put_parts(tokens, suffix.replace("_details", "").split("."), count)
    if tokens:
        draft.metadata.setdefault("token_details", tokens)


DETAIL_KEYS = st.sampled_from([
    "llm.cost.total", "llm.cost.prompt", "llm.cost.completion", "llm.cost.prompt_details.cache_read",
    "llm.cost.completion_details.reasoning", "llm.cost.", "llm.cost.x.y.z", "llm.token_count.prompt",
    "llm.token_count.completion", "llm.token_count.total", "llm.token_count.prompt_details.cache_read",
    "llm.token_count.prompt_details.audio", "llm.token_count.completion_details.reasoning",
    "llm.token_count.prompt_details", "llm.token_count.a.b.c", "llm.costs", "llm.token_counts.x.y", "other",
])
DETAIL_VALUES = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 10**6),
                          st.sampled_from(["1", "0.5", "", "x", "3"]), st.booleans())


@settings(max_examples=400, deadline=None)
@given(attributes=st.dictionaries(DETAIL_KEYS, DETAIL_VALUES, max_size=10))
def test_cost_and_token_details_match_the_full_read(attributes: dict[str, Any]) -> None:
    expected_attrs, expected_draft = span_attributes(attributes), Draft("model", "x")
    reference_details(expected_attrs, expected_draft)
    attrs, draft = span_attributes(attributes), Draft("model", "x")
    oi._cost_and_token_details(attrs, draft)
    assert draft.metadata == expected_draft.metadata
    assert attrs.consumed == expected_attrs.consumed


# ----- embedding vectors ---------------------------------------------------------------------------
VECTOR_KEYS = st.sampled_from([
    "embedding.vector", "embedding.vectors", "embedding.embeddings.0.embedding.vector", "x.embedding.vectors",
    "xembedding.vector", "embedding.vector.x", "embedding.text", "embedding.model_name", "gen_ai.embedding.vector",
])


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(VECTOR_KEYS, unique=True, max_size=6))
def test_vector_names_are_the_ones_the_pattern_finds(keys: list[str]) -> None:
    expected = tuple(key for key in keys if oi._VECTOR_KEY.search(key))
    assert oi._vector_keys(tuple(keys)) == expected
    attrs = span_attributes(dict.fromkeys(keys, (0.5, 0.25)))
    oi._embeddings(attrs, Draft("model", "x"), oi._State("EMBEDDING"))
    assert set(expected) <= attrs.consumed


# ----- identity ------------------------------------------------------------------------------------
def reference_identity(attrs: SpanAttributes, draft: Draft) -> None:
    """`_identity` through `attrs.get` (which consumes every present key and notes provenance)."""
    requested = attrs.get("llm.request.model_name", field="config.model")
    named = attrs.get("llm.model_name", field="config.model")
    response = attrs.get("llm.response.model_name", field="metadata.response_model")
    other = attrs.get("embedding.model_name", "reranker.model_name", field="config.model")
    model = next((value for value in (requested, named, other, response) if not is_blank(value)), None)
    if model is not None:
        draft.config.setdefault("model", str(model))
    if is_blank(response) and not is_blank(requested) and not is_blank(named) and named != requested:
        response = named
    if not is_blank(response):
        draft.metadata.setdefault("response_model", str(response))
    provider = oi.normalize_oi_provider(attrs.get("llm.provider", "llm.system", field="config.provider"))
    if provider:
        draft.config.setdefault("provider", provider)


IDENTITY_VALUES = st.one_of(st.none(), st.integers(0, 3), st.sampled_from(
    ["", " ", "gpt-4o-mini", "openai/gpt-4o", "OpenAI", "aws", "vertexai", "azure_openai", "claude"]))


@settings(max_examples=500, deadline=None)
@given(attributes=st.dictionaries(st.sampled_from(sorted(oi.IDENTITY_KEYS) + ["other"]), IDENTITY_VALUES, max_size=8),
       debug=st.booleans())
def test_identity_matches_the_reads_through_get(attributes: dict[str, Any], debug: bool) -> None:
    attributes = {key: value for key, value in attributes.items() if value is not None}  # (the SDK drops None)
    expected_attrs, expected_draft = span_attributes(attributes, debug), Draft("model", "x")
    reference_identity(expected_attrs, expected_draft)
    attrs, draft = span_attributes(attributes, debug), Draft("model", "x")
    oi._identity(attrs, draft)
    assert (draft.config, draft.metadata) == (expected_draft.config, expected_draft.metadata)
    assert attrs.consumed == expected_attrs.consumed
    assert attrs.sources == expected_attrs.sources


# ----- request parameters ---------------------------------------------------------------------------
PARAMETER_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(), st.text(max_size=5),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.sampled_from(["api_key", "a", "b"]), st.integers(), max_size=2))


@settings(max_examples=400, deadline=None)
@given(params=st.dictionaries(st.sampled_from(["temperature", "max_tokens", "seed", "user", "api_key", "stop",
                                               "extra_headers", "n", "model", "stream"]), PARAMETER_VALUES, max_size=8))
def test_plain_parameters_are_kept_as_the_walk_keeps_them(params: dict[str, Any]) -> None:
    draft = Draft("model", "x")
    oi._apply_params(params, draft, oi._State("LLM"))
    for name, value in params.items():
        if value is None or name in oi._NOT_CONFIG or oi._is_secret_name(name):
            assert name not in draft.config or name == "model"
        else:
            expected = oi._without_secrets(to_jsonable(value))
            assert repr(draft.config[name]) == repr(expected)  # (repr: NaN, and True vs 1)
