"""LiteLLM request spans map with less work per span, to exactly the results of the full reads.

`metadata.usage_object` is parsed only when it can hold token details (a nested mapping); the
cost breakdown's keys and names are worked out once per tuple of attribute names; the router
context skips the router headers an SDK call leaves empty; the conventions that apply to a span
whose answer looked at its (absent) events are kept for spans without events; the context store
answers without its lock until something was recorded; LiteLLM's finish-reasons text is decoded
by orjson when that reads it as `json` does; caller metadata is skipped when the call has none.
The references below are the full reads these replace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.devserver import DevServer
from honeyhive_otel.litellm.context import ContextStore
from honeyhive_otel.mapping import genai, litellm
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.mapper import SpanMapper
from honeyhive_otel.mapping.values import as_bool, as_float, as_int, as_list, is_blank, parse_repr
from tests.test_litellm_mapping import export, make_span

TRACE_ID = "7cd2d7f4f6015b5f0b4d1f2e3c4b5a6f"


# ----- usage details ----------------------------------------------------------------------
def reference_usage_details(value: Any) -> dict[str, Any]:
    """What `metadata.usage_object` adds, parsing every value (as `_metadata_values` used to)."""
    metadata: dict[str, Any] = {}
    usage = parse_repr(value) if isinstance(value, str) else value
    if not isinstance(usage, Mapping):
        return metadata
    prompt = usage.get("prompt_tokens_details")
    if isinstance(prompt, Mapping):
        if as_int(prompt.get("cached_tokens")) is not None:
            metadata["cache_read_tokens"] = as_int(prompt.get("cached_tokens"))
        written = as_int(prompt.get("cache_creation_tokens") or prompt.get("cache_write_tokens"))
        if written is not None:
            metadata["cache_write_tokens"] = written
    completion = usage.get("completion_tokens_details")
    if isinstance(completion, Mapping) and as_int(completion.get("reasoning_tokens")) is not None:
        metadata["reasoning_tokens"] = as_int(completion.get("reasoning_tokens"))
    return metadata


def usage_details(value: Any) -> dict[str, Any]:
    draft = Draft("model", "litellm_request")
    litellm._usage_details(value, draft)
    return draft.metadata


DETAIL_NAMES = st.sampled_from(["prompt_tokens_details", "completion_tokens_details", "prompt_tokens", "x"])
TOKEN_NAMES = st.sampled_from(["cached_tokens", "cache_creation_tokens", "cache_write_tokens", "reasoning_tokens", "a"])
TOKEN_VALUES = st.one_of(st.none(), st.integers(-3, 10**20), st.sampled_from(["7", "", "x", "2.5"]))
DETAILS = st.one_of(st.none(), st.integers(), st.dictionaries(TOKEN_NAMES, TOKEN_VALUES, max_size=4))
USAGE = st.dictionaries(DETAIL_NAMES, DETAILS, max_size=4)


def as_texts(usage: dict[str, Any]) -> st.SearchStrategy[str]:
    """The spellings the value may arrive in: a repr, JSON, JSON inside JSON, escaped JSON."""
    text = json.dumps(usage)
    return st.sampled_from([repr(usage), text, json.dumps(text), text.replace("{", "\\u007b"),
                            json.dumps(text).replace("{", "\\u007b"), f" {usage!r} ", repr(usage).replace("{", "(")])


@settings(max_examples=300, deadline=None)
@given(data=st.data(), usage=USAGE)
def test_usage_details_are_read_from_every_spelling(data: st.DataObject, usage: dict[str, Any]) -> None:
    text = data.draw(as_texts(usage))
    assert usage_details(text) == reference_usage_details(text)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(alphabet="{}[]()'\"\\:,0123 apcdeilmnorstu_", max_size=40), st.integers(),
                       st.tuples(st.text(max_size=5))))
def test_usage_details_of_any_value(value: Any) -> None:
    assert usage_details(value) == reference_usage_details(value)


def test_usage_without_details_skips_the_parse_but_reads_nested_details() -> None:
    assert usage_details("{'prompt_tokens': 10, 'completion_tokens_details': None, 'prompt_tokens_details': None}") == {}
    nested = "{'prompt_tokens_details': {'cached_tokens': 3}, 'completion_tokens_details': {'reasoning_tokens': 2}}"
    assert usage_details(nested) == {"cache_read_tokens": 3, "reasoning_tokens": 2}
    double = json.dumps(json.dumps({"prompt_tokens_details": {"cached_tokens": 4}})).replace("{", "\\u007b")
    assert usage_details(double) == {"cache_read_tokens": 4}


# ----- cost breakdown ---------------------------------------------------------------------
def reference_cost_details(attrs: SpanAttributes) -> dict[str, Any]:
    """The breakdown as `_cost` read it: every key under each prefix, in sorted order, per span."""
    details: dict[str, Any] = {}
    for prefix in litellm.COST_PREFIXES:
        for key in attrs.keys_with_prefix(prefix):
            name = key[len(prefix):]
            if name in litellm.TOTAL_COST_NAMES:
                continue
            attrs.consumed.add(key)
            value = as_float(attrs.raw[key])
            if value is not None:
                if prefix == "litellm.cost." and not name.endswith("cost") and not name.startswith(("discount", "margin")):
                    name = f"{name}_cost"
                details[name] = value
    return details


COST_KEYS = st.sampled_from([f"{prefix}{name}" for prefix in litellm.COST_PREFIXES for name in
                             ("input", "input_cost", "output_cost", "total", "total_cost", "discount_percent",
                              "margin_total_amount", "tool_usage_cost", "cache_read")] + ["gen_ai.costly", "other"])
COST_VALUES = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 5),
                        st.sampled_from(["0.5", "", "x", "1e3"]))


@settings(max_examples=300, deadline=None)
@given(attributes=st.dictionaries(COST_KEYS, COST_VALUES, max_size=8))
def test_cost_details_follow_the_names_plan(attributes: dict[str, Any]) -> None:
    fast, slow = SpanAttributes(attributes), SpanAttributes(attributes)
    draft = Draft("model", "litellm_request")
    litellm._cost(fast, {}, draft, fast.present(litellm.REQUEST_KEYS))
    expected = reference_cost_details(slow)
    assert draft.metadata.get("cost_details", {}) == expected
    assert list(draft.metadata.get("cost_details", {})) == list(expected)  # (same order)
    assert fast.consumed == slow.consumed


# ----- router context ---------------------------------------------------------------------
def reference_router_section(attrs: SpanAttributes, hidden: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """`_router_context`'s fields as it read them: every header looked up, every value checked twice."""
    headers = hidden.get("additional_headers")
    if not isinstance(headers, Mapping):
        headers = {}
    fields = (
        ("model_group", attrs.get("litellm.model_group") or headers.get("x-litellm-model-group")),
        ("deployment_id", hidden.get("model_id")),
        ("api_base", litellm._safe_url(hidden.get("api_base"))),
        ("provider_model", attrs.get("litellm.provider.model") or hidden.get("litellm_model_name")),
        ("attempted_retries", as_int(headers.get("x-litellm-attempted-retries"))),
        ("attempted_fallbacks", as_int(headers.get("x-litellm-attempted-fallbacks"))),
        ("cache_hit", as_bool(attrs.get("litellm.cache_hit"))),
    )
    section: dict[str, Any] = {}
    for name, value in fields:
        if value is None or is_blank(value):
            if not stored:
                continue
            value = stored.get(name)
        if not is_blank(value):
            section[name] = value
    return section


SMALL = st.one_of(st.none(), st.sampled_from(["", " ", "g1", "3", "True", "no"]), st.integers(-1, 3), st.booleans())
HEADERS = st.one_of(st.none(), st.just({}), st.lists(SMALL, max_size=2),
                    st.dictionaries(st.sampled_from(["x-litellm-model-group", "x-litellm-attempted-retries",
                                                     "x-litellm-attempted-fallbacks", "other"]), SMALL, max_size=3))
HIDDEN = st.fixed_dictionaries({}, optional={"additional_headers": HEADERS, "model_id": SMALL,
                                             "api_base": st.sampled_from(["", "https://h.example/v1?k=s", "x"]),
                                             "litellm_model_name": SMALL})
STORED = st.dictionaries(st.sampled_from(["model_group", "deployment_id", "api_base", "provider_model",
                                          "attempted_retries", "cache_hit"]), SMALL, max_size=3)
ROUTER_ATTRIBUTES = st.dictionaries(st.sampled_from(["litellm.model_group", "litellm.provider.model",
                                                     "litellm.cache_hit"]), SMALL.filter(lambda v: v is not None),
                                    max_size=3)


@settings(max_examples=300, deadline=None)
@given(attributes=ROUTER_ATTRIBUTES, hidden=HIDDEN, stored=STORED)
def test_router_context_skips_absent_headers_only(attributes: dict[str, Any], hidden: dict[str, Any],
                                                  stored: dict[str, Any]) -> None:
    fast, slow = SpanAttributes(attributes), SpanAttributes(attributes)
    section: dict[str, Any] = {}
    litellm._router_context(fast, hidden, stored, section, Draft("model", "litellm_request"),
                            fast.present(litellm.REQUEST_KEYS))
    assert section == reference_router_section(slow, hidden, stored)
    assert fast.consumed == slow.consumed


# ----- conventions kept for spans without events ------------------------------------------
def test_an_answer_kept_for_spans_without_events_is_not_used_for_a_span_with_events() -> None:
    """LiteLLM's raw request span has no `gen_ai.*` names: GenAI looks at its (absent) events, and
    the answer is kept; a span with the same names and a `gen_ai.*` event still gets GenAI."""
    attributes = {"llm.openai.messages": "[]"}
    mapper = SpanMapper()
    plain = [make_span("step", attributes, trace_id=TRACE_ID, span_id=f"a1a1a1a1a1a1a1a{n}", scope="app")
             for n in range(3)]
    content = make_span("step", attributes, trace_id=TRACE_ID, span_id="b2b2b2b2b2b2b2b2", scope="app",
                        events=[{"name": "gen_ai.user.message", "timestamp": 1_795_486_649_863_480_001,
                                 "attributes": {"content": "hello"}}])
    answers = [mapper.map(span).convention for span in plain]
    assert answers == [SpanMapper().map(plain[0]).convention] * 3
    assert mapper.map(content).to_request() == SpanMapper(sessions=mapper.sessions).map(content).to_request()
    assert mapper.map(plain[0]).to_request() == SpanMapper(sessions=mapper.sessions).map(plain[0]).to_request()


def test_raw_request_span_is_absorbed_each_time(devserver: DevServer) -> None:
    spans = []
    for n in range(3):
        parent, child = f"c3c3c3c3c3c3c3c{n}", f"d4d4d4d4d4d4d4d{n}"
        spans.append(make_span("raw_gen_ai_request", {"llm.openai.stringified_raw_response": "{}"},
                               trace_id=TRACE_ID, span_id=child, parent=parent))
        spans.append(make_span("litellm_request", {"litellm.call_id": f"call-{n}", "gen_ai.request.model": "m",
                                                   "llm.request.type": "completion"},
                               trace_id=TRACE_ID, span_id=parent))
    events = export(devserver, spans)
    assert sorted(event["event_name"] for event in events) == ["litellm_request"] * 3


# ----- the context store ------------------------------------------------------------------
def test_store_answers_before_and_after_the_first_record() -> None:
    store = ContextStore()
    assert store.call("call-1") is None and store.request(5) is None
    store.record_call("call-1", session_id="s-1")
    store.record_request(5, user_id="u-1")
    assert store.call("call-1") == {"shared": {"session_id": "s-1"}}
    assert store.request(5) == {"user_id": "u-1"}
    assert store.call("call-2") is None
    store.clear()
    assert store.call("call-1") is None


# ----- finish reasons ---------------------------------------------------------------------
FINISH_TEXTS = st.one_of(
    st.sampled_from(['["stop"]', ' ["stop", "length"] ', '["stop"', "['stop']", '"stop"', "stop", "", "[]", '[1.5]',
                     "[18446744073709551616]", '["\\ud800"]', '[["a"]]', '"[\\"stop\\"]"', "[null, true, 3]"]),
    st.lists(st.one_of(st.text(max_size=4), st.integers(), st.floats(allow_nan=False), st.none()), max_size=3)
    .map(json.dumps),
    st.text(alphabet='[]"\', 0stop', max_size=12),
)


@settings(max_examples=400, deadline=None)
@given(value=st.one_of(FINISH_TEXTS, st.none(), st.integers(), st.tuples(st.text(max_size=3))))
def test_finish_reasons_decode_as_as_list(value: Any) -> None:
    assert genai.finish_reasons(value) == as_list(value)


# ----- caller metadata ------------------------------------------------------------------------
def test_litellm_fields_of_a_plain_sdk_call_and_of_a_proxy_call() -> None:
    section: dict[str, Any] = {}
    litellm._litellm_fields({"usage_object": "{}"}, section)
    assert section == {}
    litellm._litellm_fields({"usage_object": "{}", "routing_decision": "r", "team": "t"}, section)
    assert section == {"routing_decision": "r", "metadata": {"team": "t"}}
