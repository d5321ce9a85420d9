"""The per-span fast paths of the convention modules give exactly the results of the full reads.

Usage is read from the attributes a span carries, not by walking the whole table; sections of
the LiteLLM, OpenLIT, OpenInference and Traceloop mappings run only when one of their keys is
present; an OpenInference request body is normalised only when it can fill something; the
LiteLLM context store copies entries without `copy.deepcopy`. The references below are the
slow paths these replace.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.devserver import DevServer
from honeyhive_otel.litellm.context import FAILURE, ContextStore
from honeyhive_otel.litellm.secrets import redact
from honeyhive_otel.mapping import event_type, litellm, openinference, usage
from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.values import as_float, as_int, is_blank, parse_repr
from tests.test_litellm_mapping import EMPTY_METADATA, export, make_span

TRACE_ID = "6bc1c6e3e5f04a4f9a3c0e1d2b3a4f5e"


# ----- usage ----------------------------------------------------------------------------
def reference_usage(attrs: SpanAttributes) -> dict[str, Any]:
    """`read_usage` as a walk over the whole table: every field, every source in priority order."""
    found: dict[str, Any] = {}
    raw = attrs.raw
    present = raw.keys() & usage.USAGE_KEYS
    attrs.consumed.update(present)
    for field, keys in usage.TOKEN_SOURCES.items():
        for key in keys:
            if key in present:
                value = as_int(raw[key])
                if value is not None and value >= 0:
                    found[field] = value
                    attrs.note(f"metadata.{field}", key)
                    break
    usage.complete_total(found)
    for key in usage.COST_SOURCES:
        if key in present:
            cost = as_float(raw[key])
            if cost is not None and cost >= 0:
                found["cost"] = cost
                attrs.note("metadata.cost", key)
                break
    return found


USAGE_VALUES = st.one_of(
    st.integers(min_value=-5, max_value=10**6), st.floats(allow_nan=False, width=32), st.booleans(),
    st.sampled_from(["7", "-3", "12.0", "1e3", "", " ", "x", "None"]),
)


@settings(max_examples=400, deadline=None)
@given(attributes=st.dictionaries(st.sampled_from(sorted(usage.USAGE_KEYS) + ["gen_ai.usage.other", "llm.x"]),
                                  USAGE_VALUES, max_size=10),
       debug=st.booleans())
def test_usage_reads_the_present_sources_as_the_table_walk_does(attributes: dict[str, Any], debug: bool) -> None:
    fast, slow = SpanAttributes(attributes, debug=debug), SpanAttributes(attributes, debug=debug)
    got, want = usage.read_usage(fast), reference_usage(slow)
    assert list(got.items()) == list(want.items())  # same values, same field order
    assert fast.consumed == slow.consumed
    assert fast.sources == slow.sources


# ----- OpenInference: the request body is normalised only when it can fill the history ---
FILL_FIELDS = ("tool_call_id", "name", "tool_calls")
TEXT = st.one_of(st.none(), st.sampled_from(["", " ", "x", "call_1"]), st.integers(-1, 2))
PART = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["text", "tool_call", "tool_call_response", "reasoning", "uri", "other"]),
    "id": TEXT, "name": TEXT, "arguments": TEXT, "response": TEXT, "content": TEXT})
TOOL_CALL = st.fixed_dictionaries({}, optional={"id": TEXT, "type": st.just("function"), "name": TEXT,
                                                "function": st.fixed_dictionaries({}, optional={"name": TEXT})})
# Each message field's values; a message has a few fields (a short message shows which field matters).
MESSAGE_FIELDS = {
    "role": st.sampled_from(["user", "assistant", "system", "tool", "function", "human", "ai", ""]),
    "content": st.one_of(TEXT, st.lists(PART, max_size=2)), "parts": st.one_of(st.lists(PART, max_size=3), TEXT),
    "tool_calls": st.one_of(st.lists(TOOL_CALL, max_size=2), TEXT), "tool_call_id": TEXT, "id": TEXT, "name": TEXT,
    "reasoning_content": TEXT, "function_call": st.fixed_dictionaries({"name": TEXT}),
}
MESSAGE = st.lists(st.sampled_from(sorted(MESSAGE_FIELDS)), max_size=4, unique=True).flatmap(
    lambda fields: st.fixed_dictionaries({field: MESSAGE_FIELDS[field] for field in fields}))
MESSAGES = st.lists(st.one_of(MESSAGE, st.text(max_size=3), st.integers()), min_size=1, max_size=4)


@settings(max_examples=800, deadline=None)
@given(messages=MESSAGES)
def test_a_request_that_cannot_fill_needs_no_normalising(messages: list[Any]) -> None:
    """What `_fill_from_request` copies only ever comes from the keys `_may_fill` looks for."""
    if openinference._may_fill(messages):
        return
    normalized = msg.normalize_messages(messages) or []
    assert not any(message.get(field) for message in normalized for field in FILL_FIELDS)


@pytest.mark.parametrize("message", [
    {"role": "tool", "id": "call_1"}, {"role": "tool", "tool_call_id": "call_1"}, {"role": "user", "name": "bob"},
    {"role": "assistant", "tool_calls": [{"id": "call_1", "function": {"name": "f"}}]},
    {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1", "name": "f"}]},
    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "42"}]},
])
def test_every_source_of_a_fill_is_seen(message: dict[str, Any]) -> None:
    normalized = msg.normalize_messages([message])
    assert any(normalized[0].get(field) for field in FILL_FIELDS)
    assert openinference._may_fill([{"role": "user", "content": "hi"}, message])
    assert not openinference._may_fill([{"role": "user", "content": "hi"}, "text", 3])


def test_tool_messages_of_the_request_still_fill_the_history() -> None:
    request = [{"role": "assistant", "content": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
               {"role": "tool", "tool_call_id": "call_1", "content": "42"}]
    history = [{"role": "assistant", "content": None}, {"role": "tool", "content": "42"}]
    assert openinference._may_fill(request)
    openinference._fill_from_request(history, msg.normalize_messages(request))
    assert history[1]["tool_call_id"] == "call_1" and history[0]["tool_calls"][0]["id"] == "call_1"


def test_vector_keys_outside_the_indexed_form_are_never_exported(devserver: DevServer) -> None:
    attributes = {"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small",
                  "embedding.vector": (0.1, 0.2), "custom.embedding.vectors": (0.3, 0.4), "vectors.count": 2}
    (event,) = export(devserver, [make_span("embed", attributes, trace_id=TRACE_ID, span_id="a1a1a1a1a1a1a1a1",
                                            scope="openinference.instrumentation.x")])
    assert event["metadata"]["attributes"] == {"vectors.count": 2}


# ----- LiteLLM request spans: optional attributes are read only when present -----------------
def request_attributes(**extra: Any) -> dict[str, Any]:
    return {**EMPTY_METADATA, "litellm.call_id": "call-fast-1", "llm.request.type": "acompletion",
            "gen_ai.request.model": "gpt-4o-mini", "gen_ai.system": "openai",
            "hidden_params": json.dumps({"model_id": "dep-1", "response_cost": 0.5,
                                         "api_base": "https://api.example.com/v1?key=x"}), **extra}


def test_litellm_request_reads_each_optional_attribute(devserver: DevServer) -> None:
    attributes = request_attributes(**{
        "litellm.model_group": "team-gpt", "litellm.cache_hit": "True", "litellm.saved_cache_cost": 0.25,
        "litellm.team.metadata": '{"owner": "ml"}', "litellm.routing.strategy": "auto", "litellm.routing.empty": "",
        "litellm.metadata.session_id": "baggage-session", "http.route": "/chat/completions",
        "honeyhive.litellm.attempt": 1, "honeyhive.litellm.synthetic": True, "litellm.cost.input": 0.1,
        "gen_ai.cost.output_cost": 0.2, "gen_ai.cost.total_cost": 0.3, "gen_ai.cost.total": 0.3,
        "metadata.requester_custom_headers": "{'x-honeyhive-user-id': 'header-user'}",
        "metadata.user_api_key_end_user_id": "end-user",
    })
    (event,) = export(devserver, [make_span("litellm_request", attributes, trace_id=TRACE_ID,
                                            span_id="b2b2b2b2b2b2b2b2")])
    section = event["metadata"]["litellm"]
    assert section["call_id"] == "call-fast-1" and section["call_type"] == "acompletion"
    assert section["emitted_by"] == "honeyhive-otel"
    assert (section["model_group"], section["deployment_id"], section["cache_hit"]) == ("team-gpt", "dep-1", True)
    assert section["api_base"] == "https://api.example.com/v1" and section["saved_cache_cost"] == 0.25
    assert section["proxy"]["team_metadata"] == {"owner": "ml"}
    assert section["proxy"]["route"] == "/chat/completions"
    assert section["routing"] == {"strategy": "auto"}
    assert event["metadata"]["cost_details"] == {"input_cost": 0.1, "output_cost": 0.2}
    assert event["metadata"]["cost"] == 0.3  # the span's total, not hidden_params' response_cost
    assert event["session_id"] != event["event_id"] and event["user_properties"]["user_id"] == "header-user"
    # Names no reader knows stay visible, unmapped: `total` is read for LiteLLM v2's spelling only.
    assert event["metadata"]["attributes"] == {"gen_ai.cost.total": 0.3}


def test_litellm_request_without_optional_attributes(devserver: DevServer) -> None:
    (event,) = export(devserver, [make_span("litellm_request", request_attributes(), trace_id=TRACE_ID,
                                            span_id="c3c3c3c3c3c3c3c3")])
    section = event["metadata"]["litellm"]
    assert set(section) == {"call_id", "call_type", "deployment_id", "api_base"}
    assert event["metadata"]["cost"] == 0.5  # from hidden_params
    assert "cost_details" not in event["metadata"] and "attributes" not in event["metadata"]


def test_failed_request_with_zero_cost_has_no_cost(devserver: DevServer) -> None:
    attributes = request_attributes(**{"error.type": "RateLimitError"})
    attributes["hidden_params"] = json.dumps({"response_cost": 0.0})
    (event,) = export(devserver, [make_span("litellm_request", attributes, trace_id=TRACE_ID,
                                            span_id="d4d4d4d4d4d4d4d4", status="ERROR")])
    assert "cost" not in event["metadata"]


def reference_metadata_values(attrs: SpanAttributes) -> dict[str, Any]:
    """LiteLLM's `metadata.*` values, every string through `parse_repr` (but the unexported ones:
    kept as they are, for `_usage_details` to parse)."""
    values: dict[str, Any] = {}
    keys = attrs.keys_with_prefix("metadata.")
    attrs.consumed.update(keys)
    for key in keys:
        raw = attrs.raw[key]
        if key[len("metadata."):] in litellm.UNEXPORTED_FIELDS:
            if raw != "":
                values[key[len("metadata."):]] = raw
            continue
        if isinstance(raw, str):
            if raw in litellm.EMPTY_REPRS or raw.strip() in litellm.EMPTY_REPRS:
                continue
            value = parse_repr(raw)
        else:
            value = raw
        if is_blank(value) or value in ({}, []):
            continue
        name = key[len("metadata."):]
        values[name] = value if name in litellm.UNEXPORTED_FIELDS else redact(value)
    return values


METADATA_TEXT = st.one_of(
    st.text(alphabet="{}[]()'\" :,-1aNTsk ", max_size=12),
    st.sampled_from(["", " ", "[]", " {} ", "None", " True ", "False", "''", '""', "{'a': 1}", "[1, 'x']", "('t',)",
                     "'quoted'", '"dq"', "user@example.com", "sk-abcdef123456", "Bearer abcdefghij", "12.5", "-1"]),
)
METADATA_VALUE = st.one_of(METADATA_TEXT, st.integers(), st.floats(allow_nan=False), st.booleans(),
                           st.tuples(METADATA_TEXT))


@settings(max_examples=400, deadline=None)
@given(values=st.dictionaries(st.sampled_from(["user_api_key_alias", "requester_metadata", "usage_object", "team_id",
                                               "spend_logs_metadata", "custom", "user_agent"]),
                              METADATA_VALUE, max_size=6))
def test_litellm_metadata_values_parse_only_what_may_be_a_literal(values: dict[str, Any]) -> None:
    attributes = {f"metadata.{name}": value for name, value in values.items()}
    fast, slow = SpanAttributes(attributes), SpanAttributes(attributes)
    assert litellm._metadata_values(fast) == reference_metadata_values(slow)
    assert fast.consumed == slow.consumed


# ----- Traceloop: content-filter verdicts without indexed completions --------------------------
def test_prompt_filter_results_alone_are_mapped(devserver: DevServer) -> None:
    attributes = {"llm.request.type": "chat", "gen_ai.request.model": "gpt-4o",
                  "gen_ai.prompt.prompt_filter_results": '[{"prompt_index": 0, "content_filter_results": {}}]'}
    (event,) = export(devserver, [make_span("openai.chat", attributes, trace_id=TRACE_ID, span_id="e5e5e5e5e5e5e5e5",
                                            scope="opentelemetry.instrumentation.openai.v1")])
    assert event["metadata"]["content_filter_results"] == {
        "prompt": [{"prompt_index": 0, "content_filter_results": {}}]}
    assert "attributes" not in event["metadata"]


# ----- the LiteLLM context store hands out copies ---------------------------------------------
def test_store_entries_are_independent_copies() -> None:
    store = ContextStore()
    store.record_call("call", session_id="s", parameters={"stop": ["a"]}, custom_metadata={"k": {"n": 1}})
    store.begin_attempt("call", "trace", model_group="g", previous_attempts=[{"model": "m"}])
    store.finish_attempt("call", "trace", FAILURE, deployment_id="d")
    assert store.once("call", "failure:1")
    first = store.call("call")
    first["shared"]["parameters"]["stop"].append("b")
    first["shared"]["custom_metadata"]["k"]["n"] = 2
    first["attempts"][0]["previous_attempts"].append({"model": "x"})
    first["flags"].add("mine")
    second = store.call("call")
    assert second["shared"] == {"session_id": "s", "parameters": {"stop": ["a"]}, "custom_metadata": {"k": {"n": 1}}}
    assert second["attempts"][0]["previous_attempts"] == [{"model": "m"}]
    assert second["flags"] == {"failure:1"}
    store.finish_attempt("call", "trace", FAILURE, deployment_id="d2")  # the callback keeps updating the original
    assert len(second["attempts"]) == 1 and second["attempts"][0]["deployment_id"] == "d"


# ----- event type: the operation name is looked up as written, then cleaned ------------------
@pytest.mark.parametrize(("operation", "expected"), [
    ("chat", "model"), (" Chat ", "model"), ("EXECUTE_TOOL", "tool"), ("invoke_agent\n", "chain"),
    ("unknown", "model"), ("", "model"), (" ", "model"),
])
def test_operation_names_in_any_spelling(operation: str, expected: str) -> None:
    """An operation name the table does not know falls through to the later rules (here: a model name)."""
    attrs = SpanAttributes({"gen_ai.operation.name": operation, "gen_ai.request.model": "m"})
    assert event_type.decide(attrs) == expected
    assert "gen_ai.operation.name" in attrs.consumed
