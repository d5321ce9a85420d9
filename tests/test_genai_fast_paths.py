"""The GenAI mapping's fast paths give exactly the results of the full per-span reads.

`genai.apply` works out which of the attributes it reads a span has once per set of attribute
names (`_KeyPlan`), instead of per span with `SpanAttributes.get` over every candidate key,
`keys_with_prefix` and set intersections; the references below are those per-span reads.
Messages are appended to one history list instead of one list per message, text content skips
the JSON-parts check it cannot pass, and `values._too_deep` walks one level at a time.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honeyhive_otel.devserver import DevServer
from honeyhive_otel.mapping import MappingOptions, SpanMapper, genai, values
from honeyhive_otel.mapping import attributes as attributes_module
from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.values import as_bool, as_list, is_blank
from tests.support.spans import load_spans
from tests.test_litellm_mapping import FIXTURES, export, make_span
from tests.test_values_fast_paths import same

TRACE_ID = "5b8efff798038103d269b633813fc60c"


# ----- references: the per-span reads the plan replaces ------------------------------------
def reference_config(attrs: SpanAttributes, draft: Draft) -> None:
    """`genai._config` reading each candidate key of every span."""
    config = draft.config
    raw = attrs.raw
    provider = genai.normalize_provider(attrs.get(*genai.PROVIDER_KEYS, field="config.provider"))
    if provider:
        config.setdefault("provider", provider)
    requested = attrs.keys_with_prefix("gen_ai.request.")
    if requested:
        attrs.consumed.update(requested)
        model = raw.get("gen_ai.request.model")
        if not is_blank(model):
            attrs.note("config.model", "gen_ai.request.model")
            if not genai.placeholder(model):
                config.setdefault("model", str(model))
        for key in requested:
            suffix = key[len("gen_ai.request."):]
            if suffix in genai._REQUEST_READ_ELSEWHERE:
                continue
            name = genai.REQUEST_PARAMS.get(suffix, suffix.replace(".", "_"))
            if not genai.placeholder(raw[key]):
                config.setdefault(name, reference_param(raw[key]))
    present = raw.keys() & {*genai.LEGACY_PARAMS, *genai.STREAM_KEYS}
    for attribute, key in genai.LEGACY_PARAMS.items():
        if attribute in present:
            attrs.consumed.add(attribute)
            if not genai.placeholder(raw[attribute]):
                config.setdefault(key, reference_param(raw[attribute]))
    if not present.isdisjoint(genai.STREAM_KEYS):
        streaming = as_bool(attrs.get(*genai.STREAM_KEYS, field="config.is_streaming"))
        if streaming is not None:
            config.setdefault("is_streaming", streaming)


def reference_param(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str):
        return values.parse_json(value)
    return value


def reference_response(attrs: SpanAttributes, draft: Draft, finish_reasons: list[Any] | None) -> None:
    """`genai._response` asking for every response key of every span."""
    response_model = attrs.get("gen_ai.response.model", field="metadata.response_model")
    if not is_blank(response_model):
        draft.metadata.setdefault("response_model", str(response_model))
        draft.config.setdefault("model", str(response_model))
    response_id = attrs.get("gen_ai.response.id", field="metadata.response_id")
    if not is_blank(response_id):
        draft.metadata.setdefault("response_id", str(response_id))
    found = attrs.get("gen_ai.response.finish_reasons", "gen_ai.response.finish_reason")
    finish = finish_reasons if found is not None and found is attrs.peek("gen_ai.response.finish_reasons") \
        else as_list(found)
    if finish:
        draft.metadata.setdefault("finish_reasons",
                                  [msg.normalize_finish_reason(reason) for reason in finish if not is_blank(reason)])
    for key, name in genai.FIRST_TOKEN_KEYS:
        value = attrs.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            draft.metrics.setdefault(name, value)
    tier = attrs.get(*genai.SERVICE_TIER_KEYS)
    if not is_blank(tier):
        draft.metadata.setdefault("service_tier", str(tier))
    fingerprint = attrs.get(*genai.FINGERPRINT_KEYS)
    if not is_blank(fingerprint):
        draft.metadata.setdefault("system_fingerprint", str(fingerprint))


CONFIG_KEYS = [
    *genai.PROVIDER_KEYS, "gen_ai.request.model", "gen_ai.request.temperature", "gen_ai.request.max_tokens",
    "gen_ai.request.stop_sequences", "gen_ai.request.choice.count", "gen_ai.request.n", "gen_ai.request.user",
    "gen_ai.request.reasoning.level", "gen_ai.request.reasoning_effort", "gen_ai.request.foo.bar",
    "gen_ai.request.", "gen_ai.request.stream", "gen_ai.request.is_stream", *genai.LEGACY_PARAMS, *genai.STREAM_KEYS,
]
RESPONSE_KEYS = ["gen_ai.response.model", "gen_ai.response.id", "gen_ai.response.finish_reasons",
                 "gen_ai.response.finish_reason", "gen_ai.response.time_to_first_chunk",
                 "gen_ai.server.time_to_first_token", *genai.SERVICE_TIER_KEYS, *genai.FINGERPRINT_KEYS]
VALUES = st.one_of(
    st.sampled_from(["", " ", "  \n", -1, -1.0, 0, 1, 0.5, True, False, "true", "False", "1", "maybe", "OpenAI",
                     " Azure.AI.OpenAI ", "gcp.vertex_ai", '["stop"]', "stop", "end_turn", ("stop", "length"), (),
                     ("", "stop"), '{"type": "json_object"}', '"{\\"a\\": 1}"', "[1, 2", 2**70]),
    st.text(max_size=5), st.integers(-2, 3), st.floats(allow_nan=False, allow_infinity=False),
)


def attribute_sets(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Attribute dicts over `keys` in any order (the plan is keyed by the names in order)."""
    return st.lists(st.tuples(st.sampled_from(keys), VALUES), max_size=len(keys)).map(dict)


def state(attrs: SpanAttributes, draft: Draft) -> Any:
    """What a section leaves behind, order included (dict key order, provenance order)."""
    return ([(field.name, getattr(draft, field.name)) for field in dataclasses.fields(draft)],
            sorted(attrs.consumed), list(attrs.sources.items()))


@settings(max_examples=600, deadline=None)
@given(attribute_sets(CONFIG_KEYS), st.booleans())
def test_config_reads_as_the_per_span_lookups_do(attributes: dict[str, Any], debug: bool) -> None:
    expected_attrs, expected = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    reference_config(expected_attrs, expected)
    attrs, draft = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    genai._config(attrs, draft, attrs.derived(genai._make_plan))
    assert same(state(attrs, draft), state(expected_attrs, expected))


@settings(max_examples=600, deadline=None)
@given(attribute_sets(RESPONSE_KEYS), st.booleans())
def test_response_reads_as_the_per_span_lookups_do(attributes: dict[str, Any], debug: bool) -> None:
    finish = as_list(attributes.get("gen_ai.response.finish_reasons"))
    expected_attrs, expected = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    reference_response(expected_attrs, expected, finish)
    attrs, draft = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    plan = attrs.derived(genai._make_plan)
    if plan.response:
        genai._response(attrs, draft, finish, plan.response)
    assert same(state(attrs, draft), state(expected_attrs, expected))


def test_response_finish_reasons_fall_back_only_from_a_blank_plural() -> None:
    for plural, singular, expected in [("  ", "length", ["length"]), ("  ", None, None), (("stop",), "length", ["stop"]),
                                       (None, "end_turn", ["stop"]), ('["tool_use"]', None, ["tool_calls"])]:
        attributes = {key: value for key, value in [("gen_ai.response.finish_reasons", plural),
                                                    ("gen_ai.response.finish_reason", singular)] if value is not None}
        attrs, draft = SpanAttributes(attributes), Draft("model", "x")
        genai.apply(attrs, None, draft)
        assert draft.metadata.get("finish_reasons") == expected, attributes
        assert attrs.consumed == set(attributes)


# ----- the plan cache -----------------------------------------------------------------------
GENAI_FIELDS = ("inputs", "outputs", "config", "metadata", "metrics", "user_properties", "event_type")


def mapped(mapper: SpanMapper, span: Any) -> dict[str, Any]:
    event = mapper.map(span, bound=False)
    return {name: getattr(event, name) for name in GENAI_FIELDS}


def test_recorded_spans_map_the_same_with_a_cold_or_a_warm_plan_cache() -> None:
    mapper = SpanMapper(MappingOptions(debug=True))
    for path in sorted(FIXTURES.glob("*.json")):
        for span in load_spans(path):
            attributes_module._KEY_NAMES.clear()  # the plans are kept per tuple of names
            cold = mapped(mapper, span)
            assert same(mapped(mapper, span), cold), (path.name, span.name)


def test_many_attribute_name_sets_and_huge_spans_map_correctly() -> None:
    """More name sets than are kept, and a span with more names than are ever shared."""
    mapper = SpanMapper()
    for index in range(attributes_module.MAX_NAMES_KEPT + 50):
        attributes = {"gen_ai.request.model": "m", f"gen_ai.request.p{index}": index,
                      "gen_ai.response.finish_reasons": ("stop",)}
        span = make_span("chat", attributes, trace_id=TRACE_ID, span_id=f"{index + 1:016x}", scope="tests")
        assert mapped(mapper, span)["config"] == {"model": "m", f"p{index}": index}
    huge = {f"app.k{index}": index for index in range(attributes_module.MAX_KEY_NAMES + 10)}
    huge.update({"gen_ai.request.model": "m", "gen_ai.request.top_p": 0.5, "llm.is_streaming": "True"})
    span = make_span("chat", huge, trace_id=TRACE_ID, span_id="00000000000f0000", scope="tests")
    assert mapped(mapper, span)["config"] == {"model": "m", "top_p": 0.5, "is_streaming": True}


def test_legacy_parameters_and_streaming_flags_in_any_order(devserver: DevServer) -> None:
    """The first attribute in table order wins whatever order the span set them in; the first
    streaming flag that is set decides, even when it is not a boolean."""
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
    first = {**base, "openai.request.service_tier": "flex", "gen_ai.openai.request.service_tier": "auto",
             "llm.is_streaming": True, "gen_ai.request.stream": "maybe", "gen_ai.system": "OpenAI"}
    second = {**base, **dict(reversed(list(first.items())))}
    third = {**base, "llm.is_streaming": "false", "gen_ai.is_streaming": " ", "gen_ai.provider.name": "",
              "gen_ai.system": "Azure_OpenAI"}
    spans = [make_span(f"chat {index}", attributes, trace_id=TRACE_ID, span_id=f"{index + 1:016x}", scope="tests")
             for index, attributes in enumerate([first, second, third])]
    events = {event["event_name"]: event for event in export(devserver, spans)}
    for name in ("chat 0", "chat 1"):
        config = events[name]["config"]
        assert config["service_tier"] == "auto" and config["provider"] == "openai", config
        assert "is_streaming" not in config  # "maybe" came first: no fallback to llm.is_streaming
        assert "llm.is_streaming" not in json.dumps(events[name]["metadata"])  # consumed all the same
    assert events["chat 2"]["config"] == {"provider": "azure", "model": "m", "is_streaming": False}


# ----- messages -----------------------------------------------------------------------------
CONTENT = st.one_of(
    st.text(max_size=8),
    st.sampled_from(['[{"type": "text", "text": "a"}]', ' \n[{"type": "text", "text": "a"}]',
                     '"[{\\"type\\": \\"text\\", \\"text\\": \\"x\\"}]"', "[not json", '["a", "b"]', '"quoted"',
                     '[{"type": "image_url", "image_url": {"url": "u"}}, {"type": "text", "text": "b"}]', "[]", " "]),
)


@settings(max_examples=300, deadline=None)
@given(CONTENT)
def test_text_content_skips_only_the_parts_check_it_cannot_pass(content: str) -> None:
    expected = msg._content_value(msg._content_parts(content))
    assert same(msg.normalize_message({"role": "user", "content": content}),
                [{"role": "user", "content": expected}])


def test_output_keeps_one_message_per_choice() -> None:
    choices = [
        {"role": "assistant", "parts": [{"type": "tool_call_response", "id": "c1", "response": "r1"},
                                        {"type": "tool_call_response", "id": "c2", "response": "r2"}],
         "finish_reason": "stop"},
        {"role": "assistant", "parts": [{"type": "text", "content": "hi"},
                                        {"type": "tool_call_response", "id": "c3", "response": "r3"}]},
        "plain text", 7,
    ]
    outputs = msg.normalize_output_messages(json.dumps(choices), ["length", "length", "length"])
    assert outputs["choices"] == [
        {"role": "tool", "content": "r1", "finish_reason": "stop"},
        {"role": "assistant", "content": "hi", "finish_reason": "length"},
        {"role": "user", "content": "plain text", "finish_reason": "length"},
    ]
    history = msg.normalize_messages(choices)
    assert [message["role"] for message in history] == ["tool", "tool", "assistant", "tool", "user"]
    assert msg.normalize_message(choices[0]) == history[:2]


# ----- nesting -------------------------------------------------------------------------------
def reference_too_deep(value: Any, limit: int = values.MAX_DEPTH, depth: int = 0) -> bool:
    """A value more than `limit` levels below the top, found by recursion."""
    if depth > limit:
        return True
    if isinstance(value, dict):
        return any(reference_too_deep(child, limit, depth + 1) for child in value.values())
    if isinstance(value, list):
        return any(reference_too_deep(child, limit, depth + 1) for child in value)
    return False


NESTED = st.recursive(st.one_of(st.none(), st.integers(), st.text(max_size=2)),
                      lambda children: st.one_of(st.lists(children, max_size=3),
                                                 st.dictionaries(st.text(max_size=2), children, max_size=3)),
                      max_leaves=30)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NESTED, st.integers(0, 6))
def test_too_deep_finds_what_recursion_finds(value: Any, limit: int) -> None:
    assert values._too_deep(value, limit) == reference_too_deep(value, limit)


def test_too_deep_at_the_limit() -> None:
    for depth in range(values.MAX_DEPTH - 2, values.MAX_DEPTH + 3):
        for text in ("[" * depth + "]" * depth, "[" * depth + "1" + "]" * depth, '{"a":' * depth + "{}" + "}" * depth,
                     "[" + "[]," * 100 + "[" * depth + '"x"' + "]" * (depth + 1)):
            value = json.loads(text)
            assert values._too_deep(value) == reference_too_deep(value), text[:40]
            assert (values.parse_json(text) is text) == reference_too_deep(value)
