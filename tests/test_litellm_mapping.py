"""LiteLLM's `otel` spans -> HoneyHive events, from recorded and reference-shaped spans.

Recorded spans (tests/fixtures/spans/litellm_otel_*.json, real LiteLLM 1.106.2) and spans
built with the exact attribute shapes LiteLLM emits behind its proxy, in semconv mode and
from its v2 logger are exported through the real HoneyHiveSpanExporter to the devserver.
No callback ran for replayed spans, so this also proves the mapping works from span
attributes alone.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honeyhive_otel import HoneyHiveSpanExporter
from honeyhive_otel.devserver import DevServer
from honeyhive_otel.litellm.context import FAILURE, STORE, SUCCESS
from honeyhive_otel.mapping import SpanMapper
from tests.support.spans import dict_to_span, load_spans

FIXTURES = Path(__file__).parent / "fixtures" / "spans"
SECRET_KEY = "sk-live-0123456789abcdefABCDEF"

# Every StandardLoggingMetadata key LiteLLM 1.106.2 writes, empty ('') unless set.
EMPTY_METADATA = {f"metadata.{key}": "" for key in (
    "applied_guardrails", "cold_storage_object_key", "mcp_tool_call_metadata", "prompt_management_metadata",
    "requester_custom_headers", "requester_ip_address", "requester_metadata", "routing_decision",
    "spend_logs_metadata", "team_alias", "team_id", "usage_object", "used_client_oauth_token", "user_agent",
    "user_api_key_alias", "user_api_key_auth_metadata", "user_api_key_budget_reset_at",
    "user_api_key_end_user_id", "user_api_key_hash", "user_api_key_max_budget", "user_api_key_org_alias",
    "user_api_key_org_id", "user_api_key_project_alias", "user_api_key_project_id",
    "user_api_key_request_route", "user_api_key_spend", "user_api_key_team_alias", "user_api_key_team_id",
    "user_api_key_team_max_budget", "user_api_key_team_spend", "user_api_key_user_email",
    "user_api_key_user_id", "user_api_key_user_max_budget", "user_api_key_user_spend",
    "vector_store_request_metadata")}


def make_span(name: str, attributes: dict[str, Any], *, trace_id: str, span_id: str, parent: str | None = None,
              scope: str = "litellm", kind: str = "INTERNAL", status: str = "OK",
              events: list[dict[str, Any]] | None = None) -> Any:
    context = {"trace_id": trace_id, "span_id": span_id, "trace_flags": 1, "trace_state": [], "is_remote": False}
    return dict_to_span({
        "name": name, "context": context,
        "parent": {**context, "span_id": parent} if parent else None,
        "kind": kind, "start_time": 1_795_486_649_863_480_000, "end_time": 1_795_486_649_897_492_000,
        "status": {"code": status, "description": None}, "attributes": attributes, "events": events or [],
        "links": [], "resource": {"attributes": {"service.name": "litellm-proxy"}, "schema_url": ""},
        "instrumentation_scope": {"name": scope, "version": "", "schema_url": "", "attributes": {}},
    })


def export(server: DevServer, spans: list[Any], **options: Any) -> list[dict[str, Any]]:
    exporter = HoneyHiveSpanExporter(server_url=server.url, merge_window=0, **options)
    exporter.export(spans)
    exporter.force_flush()
    exporter.shutdown()
    return server.store.events()


def bodies(server: DevServer) -> str:
    return json.dumps([record.body for record in server.requests])


def fixture_events(server: DevServer, name: str) -> list[dict[str, Any]]:
    return export(server, load_spans(FIXTURES / f"litellm_otel_{name}.json"))


# ----- recorded spans -----------------------------------------------------------------
def test_completion_is_one_model_event_with_cost_and_context(devserver: DevServer) -> None:
    events = fixture_events(devserver, "completion")
    assert len(events) == 1  # raw_gen_ai_request is absorbed, never its own event
    event = events[0]
    assert event["event_type"] == "model"
    assert event["inputs"]["chat_history"][-1]["role"] == "user"
    assert event["outputs"]["role"] == "assistant" and event["outputs"]["content"]
    assert event["config"]["provider"] == "openai" and event["config"]["is_streaming"] is False
    metadata = event["metadata"]
    assert metadata["total_tokens"] == metadata["prompt_tokens"] + metadata["completion_tokens"]
    assert metadata["cost"] > 0 and metadata["cost_details"]["input_cost"] > 0
    assert metadata["litellm"]["call_id"] and metadata["litellm"]["api_base"].startswith("http://127.0.0.1")
    assert metadata["otel"]["convention"] == "litellm"
    assert not any(key.startswith("metadata.") for key in metadata.get("attributes", {}))


def test_stream_sets_is_streaming_and_absorbs_an_empty_raw_span(devserver: DevServer) -> None:
    (event,) = fixture_events(devserver, "stream")
    assert event["config"]["is_streaming"] is True
    assert event["outputs"]["content"] == "Echo: What is the capital of France?"


def test_tool_calls_and_definitions(devserver: DevServer) -> None:
    first, second = fixture_events(devserver, "tools")
    assert first["inputs"]["tools"][0]["function"]["name"] == "get_weather"
    call = first["outputs"]["tool_calls"][0]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert first["outputs"]["finish_reason"] == "tool_calls"
    assert second["outputs"]["content"] == "Tool said: sunny, 21 C"


def test_tool_call_history_keeps_the_calls_beside_empty_parts(devserver: DevServer) -> None:
    """LiteLLM writes an assistant's calls as `"tool_calls": [...]` next to `"parts": []`, and the tool
    message's `"tool_call_id"` next to its parts: both reach the history in OpenAI's form."""
    _, second = fixture_events(devserver, "tools")
    user, assistant, tool = second["inputs"]["chat_history"]
    assert user == {"role": "user", "content": "What is the weather in Paris?"}
    assert assistant == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    assert tool == {"role": "tool", "content": "sunny, 21 C", "tool_call_id": "call_1"}


def test_embedding_inputs_and_provider_from_model_prefix(devserver: DevServer) -> None:
    (event,) = fixture_events(devserver, "embedding")
    assert event["inputs"] == {"input": ["hello world", "goodbye world"]}
    assert event["config"]["provider"] == "openai"  # gen_ai.system is '' for embeddings
    assert "chat_history" not in event["inputs"] and "content" not in event["outputs"]


def test_failure_is_an_error_event(devserver: DevServer) -> None:
    (event,) = fixture_events(devserver, "failure")
    assert "ServiceUnavailableError" in event["error"]
    assert event["metadata"]["litellm"]["call_type"] == "completion"
    assert "cost" not in event["metadata"]


def test_router_context(devserver: DevServer) -> None:
    events = fixture_events(devserver, "router")
    assert len(events) == 3
    assert {event["metadata"]["litellm"]["deployment_id"] for event in events} == {"dep-a", "dep-b"}
    assert {event["metadata"]["litellm"]["model_group"] for event in events} == {"gpt-group"}


def test_router_fallback_without_callback_still_maps_both_attempts(devserver: DevServer) -> None:
    failed, succeeded = fixture_events(devserver, "router_fallback")
    assert failed["error"] and failed["metadata"]["litellm"]["model_group"] == "broken-group"
    assert succeeded["metadata"]["litellm"]["model_group"] == "gpt-group"
    assert succeeded["metadata"]["litellm"]["deployment_id"] == "dep-a"


def test_semconv_opt_in_shape(devserver: DevServer) -> None:
    events = fixture_events(devserver, "semconv")
    assert [event["event_name"] for event in events] == ["chat gpt-4o-mini"] * 3
    assert all(event["event_type"] == "model" and event["config"]["provider"] == "openai" for event in events)
    assert events[1]["outputs"]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_callback_record_fills_what_the_span_lacks(devserver: DevServer) -> None:
    """The store (filled by our callback in real runs) adds custom metadata, session and ids."""
    spans = load_spans(FIXTURES / "litellm_otel_tools.json")
    call_id = spans[0].attributes["litellm.call_id"]
    STORE.record_call(call_id, session_id="replay-session", user_id="u-1", custom_metadata={"feature": "x"},
                      trace_id="logical-1")
    STORE.begin_attempt(call_id, f"logical-{call_id}", model_group="tools-group", routing_strategy="least-busy")
    STORE.finish_attempt(call_id, f"logical-{call_id}", SUCCESS, tool_call_ids=["call_1"])
    event = export(devserver, spans[:2])[0]
    assert event["outputs"]["tool_calls"][0]["id"] == "call_1"
    assert event["metadata"]["feature"] == "x" and event["user_properties"]["user_id"] == "u-1"
    assert event["session_id"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "replay-session"))
    litellm = event["metadata"]["litellm"]
    assert (litellm["routing_strategy"], litellm["model_group"], litellm["attempt"]) == ("least-busy", "tools-group", 1)


# ----- reference-shaped spans -------------------------------------------------------
PROXY_TRACE = "b1d4d322f1e7360361e61df66720401f"


def proxy_request_span(*, span_id: str = "80ea06f8ff35bd77", parent: str | None = "92125fe1478d695c") -> Any:
    """LiteLLM's request span behind the proxy (litellm_otel_spans.md §7, P1) plus secrets a client sent."""
    requester = {
        "tags": ["tagA"], "session_id": "body-session", "custom_key": "cv", "api_key": SECRET_KEY,
        "trace_id": PROXY_TRACE,
        "headers": {"host": "127.0.0.1:4013", "user-agent": "research-client/1.0", "authorization": f"Bearer {SECRET_KEY}",
                    "cookie": "session=abc", "x-api-key": SECRET_KEY, "x-honeyhive-session-id": "header-session",
                    "x-honeyhive-user-id": "hh-user", "x-honeyhive-metadata-feature": "search"},
    }
    attributes = {
        **EMPTY_METADATA,
        "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", "content": "Say hi via proxy"}]}]',
        "gen_ai.output.messages": '[{"role": "assistant", "parts": [{"type": "text", "content": "hello"}], '
                                  '"finish_reason": "stop"}]',
        "gen_ai.operation.name": "acompletion", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-group", "gen_ai.system": "openai", "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 20, "gen_ai.usage.total_tokens": 30, "gen_ai.cost.total_cost": 1.35e-05,
        "gen_ai.cost.input_cost": 1.5e-06, "gen_ai.cost.output_cost": 1.2e-05,
        "hidden_params": json.dumps({"model_id": "deploy-a", "api_base": "https://user:pw@api.openai.com/v1?k=1",
                                     "response_cost": 1.35e-05, "additional_headers": {
                                         "x-litellm-model-group": "gpt-group", "x-litellm-attempted-retries": 1,
                                         "x-litellm-attempted-fallbacks": 0}}),
        "http.route": "/chat/completions", "litellm.call_id": "70726491-3192-46fc-96c2-f6503762a924",
        "litellm.model_group": "gpt-group", "litellm.provider.model": "openai/gpt-4o-mini",
        "llm.is_streaming": "False", "llm.request.type": "acompletion", "llm.user": "end-user-99",
        "llm.headers": f"{{'Authorization': 'Bearer {SECRET_KEY}'}}",
        "metadata.requester_custom_headers": repr({"x-my-custom-header": "hello", "x-honeyhive-session-id":
                                                   "header-session", "x-stainless-os": "Linux"}),
        "metadata.requester_ip_address": "127.0.0.1", "metadata.requester_metadata": repr(requester),
        "metadata.used_client_oauth_token": False, "metadata.user_agent": "research-client/1.0",
        "metadata.user_api_key_alias": "my-key-alias",
        "metadata.user_api_key_auth_metadata": "{'key_meta': 'k', 'cost_center': 'cc-9'}",
        "metadata.user_api_key_end_user_id": "end-user-99",
        "metadata.user_api_key_hash": "e125c17718a154f30f802a1b434c10911a25d6de7349173466e1ecca5e212491",
        "metadata.user_api_key_max_budget": 100.0, "metadata.user_api_key_org_id": "org-7",
        "metadata.user_api_key_request_route": "/chat/completions", "metadata.user_api_key_spend": 1.25,
        "metadata.user_api_key_team_alias": "research-team", "metadata.user_api_key_team_id": "team-123",
        "metadata.user_api_key_team_max_budget": 500.0, "metadata.user_api_key_team_spend": 3.5,
        "metadata.user_api_key_user_email": "u42@example.com", "metadata.user_api_key_user_id": "user-42",
        "metadata.usage_object": "{'completion_tokens': 20, 'prompt_tokens': 10, 'total_tokens': 30, "
                                 "'completion_tokens_details': {'reasoning_tokens': 4}, "
                                 "'prompt_tokens_details': {'cached_tokens': 2}}",
    }
    return make_span("litellm_request", attributes, trace_id=PROXY_TRACE, span_id=span_id, parent=parent)


def test_proxy_request_fields_steering_and_no_secrets(devserver: DevServer) -> None:
    (event,) = export(devserver, [proxy_request_span(parent=None)])
    proxy = event["metadata"]["litellm"]["proxy"]
    assert proxy == {
        "key_hash": "e125c17718a154f30f802a1b434c10911a25d6de7349173466e1ecca5e212491",
        "key_alias": "my-key-alias", "team_id": "team-123", "team_alias": "research-team", "org_id": "org-7",
        "user_id": "user-42", "user_email": "u42@example.com", "end_user_id": "end-user-99",
        "route": "/chat/completions", "requester_ip": "127.0.0.1", "user_agent": "research-client/1.0",
        "spend": 1.25, "max_budget": 100.0, "team_spend": 3.5, "team_max_budget": 500.0,
        "key_metadata": {"key_meta": "k", "cost_center": "cc-9"},
        "custom_headers": {"x-my-custom-header": "hello"},
    }
    litellm = event["metadata"]["litellm"]
    assert (litellm["model_group"], litellm["deployment_id"], litellm["attempted_retries"]) == ("gpt-group", "deploy-a", 1)
    assert litellm["api_base"] == "https://api.openai.com/v1"  # no credentials, no query
    # Header steering beats the body's; the OpenAI `user` loses to the explicit HoneyHive user.
    assert event["session_id"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "header-session"))
    assert event["user_properties"]["user_id"] == "hh-user"
    assert (event["metadata"]["feature"], event["metadata"]["custom_key"], event["metadata"]["tags"]) == \
        ("search", "cv", ["tagA"])
    assert (event["metadata"]["cache_read_tokens"], event["metadata"]["reasoning_tokens"]) == (2, 4)
    sent = bodies(devserver)
    for secret in (SECRET_KEY, "session=abc", "Bearer"):
        assert secret not in sent
    assert "llm.headers" not in sent and "authorization" not in sent.lower()


def test_mapping_itself_removes_secrets_before_any_scrubbing() -> None:
    event = SpanMapper().map(proxy_request_span(parent=None))
    text = json.dumps(event.to_request())
    assert SECRET_KEY not in text and "cookie" not in text.lower() and "llm.headers" not in text


def test_proxy_service_spans_join_the_requests_session(devserver: DevServer) -> None:
    """auth/router/proxy_pre_call are tool events; the proxy's request span is a chain event; one session."""
    root = "92125fe1478d695c"
    STORE.record_request(int(PROXY_TRACE, 16), session_id="proxy-session", user_id="proxy-user")
    spans = [
        make_span("auth", {"service": "auth", "call_type": "/chat/completions"}, trace_id=PROXY_TRACE,
                  span_id="67bd6352f4172880", parent=root),
        make_span("proxy_pre_call", {"service": "proxy_pre_call", "call_type": "add_litellm_data_to_request"},
                  trace_id=PROXY_TRACE, span_id="13ad4add03a59f29", parent=root),
        make_span("router", {"service": "router", "call_type": "async_get_available_deployment"},
                  trace_id=PROXY_TRACE, span_id="24a69c6575c9df63", parent=root),
        proxy_request_span(parent=root),
        make_span("raw_gen_ai_request", {"llm.openai.stringified_raw_response": "x",
                                         "metadata.user_api_key_team_id": "team-123"},
                  trace_id=PROXY_TRACE, span_id="69b939b9769178b5", parent="80ea06f8ff35bd77"),
        make_span("Received Proxy Server Request", {"http.route": "/chat/completions", "url.path": "/chat/completions",
                                                    "http.response.status_code": 200,
                                                    "litellm.preprocessing.duration_ms": 11.7},
                  trace_id=PROXY_TRACE, span_id=root, kind="SERVER"),
    ]
    events = {event["event_name"]: event for event in export(devserver, spans, session_mode="trace")}
    assert set(events) == {"auth", "proxy_pre_call", "router", "litellm_request", "Received Proxy Server Request"}
    for name in ("auth", "proxy_pre_call", "router"):
        assert events[name]["event_type"] == "tool" and events[name]["config"]["tool_name"] == name
        assert events[name]["inputs"]["service"] == name
    root_event = events["Received Proxy Server Request"]
    assert root_event["event_type"] == "chain" and root_event["metrics"]["preprocessing_duration_ms"] == 11.7
    assert root_event["metadata"]["litellm"]["proxy"]["route"] == "/chat/completions"
    # The request span names its own session (headers); the others join the request's recorded one.
    others = [event for name, event in events.items() if name != "litellm_request"]
    assert {event["session_id"] for event in others} == {str(uuid.uuid5(uuid.NAMESPACE_URL, "proxy-session"))}
    assert events["auth"]["user_properties"]["user_id"] == "proxy-user"


def test_failed_proxy_request_span(devserver: DevServer) -> None:
    span = make_span("Failed Proxy Server Request", {"exception": "400: {'error': 'Invalid model name'}"},
                     trace_id="ba0b341c" + "0" * 24, span_id="faebd09bf27c6cab", status="ERROR")
    (event,) = export(devserver, [span])
    assert event["event_type"] == "chain" and event["error"]
    assert "Invalid model name" in event["metadata"]["litellm"]["proxy"]["exception"]


def test_v2_logger_span(devserver: DevServer) -> None:
    """LITELLM_OTEL_V2's shape (litellm_otel_spans.md §4): litellm.cost.*, litellm.call_type, no metadata.*."""
    attributes = {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-group",
        "gen_ai.response.finish_reasons": ("stop",), "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.model": "gpt-4o-mini", "gen_ai.system": "openai", "gen_ai.usage.completion_tokens": 20,
        "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 20, "gen_ai.usage.prompt_tokens": 10,
        "gen_ai.usage.total_tokens": 30, "litellm.call_id": "03897434-e76e-469a-8298-db37c7cf923d",
        "litellm.call_type": "acompletion", "litellm.cost.input": 1.5e-06, "litellm.cost.output": 1.2e-05,
        "litellm.cost.total": 1.35e-05, "litellm.cost.discount_amount": 0.0,
        "litellm.provider.model": "openai/gpt-4o-mini", "server.address": "api.openai.com",
    }
    span = make_span("chat gpt-group", attributes, trace_id="48c57fa1" + "1" * 24, span_id="8dd688bbdf2c74e4",
                     kind="CLIENT", status="UNSET")
    (event,) = export(devserver, [span])
    assert event["event_type"] == "model" and event["config"]["provider"] == "openai"
    assert event["metadata"]["cost"] == 1.35e-05
    assert event["metadata"]["cost_details"] == {"input_cost": 1.5e-06, "output_cost": 1.2e-05, "discount_amount": 0.0}
    assert (event["metadata"]["prompt_tokens"], event["metadata"]["total_tokens"]) == (10, 30)
    assert event["metadata"]["litellm"]["call_type"] == "acompletion"


def test_cost_from_hidden_params_when_no_cost_attributes(devserver: DevServer) -> None:
    attributes = {**EMPTY_METADATA, "litellm.call_id": "c-hidden-cost", "llm.request.type": "completion",
                  "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
                  "hidden_params": json.dumps({"response_cost": 4.2e-06, "model_id": "dep-x",
                                               "litellm_overhead_time_ms": 3.5})}
    span = make_span("litellm_request", attributes, trace_id="c0570000" + "4" * 24, span_id="1234567890abcdef")
    (event,) = export(devserver, [span])
    assert event["metadata"]["cost"] == 4.2e-06 and event["metrics"]["litellm_overhead_ms"] == 3.5
    assert event["metadata"]["litellm"]["deployment_id"] == "dep-x"


def test_litellm_wrote_onto_a_user_span(devserver: DevServer) -> None:
    """Without USE_OTEL_LITELLM_REQUEST_SPAN LiteLLM writes its call onto the active span: still a model event."""
    attributes = {"litellm.call_id": "c-hijack", "llm.request.type": "completion", "gen_ai.system": "openai",
                  "gen_ai.request.model": "gpt-4o-mini", "hidden_params": "{}", "gen_ai.usage.input_tokens": 3}
    span = make_span("user_workflow", attributes, trace_id="d4481ceb" + "2" * 24, span_id="4772bdb4e59d51fb",
                     scope="user-app")
    (event,) = export(devserver, [span])
    assert event["event_type"] == "model" and event["metadata"]["litellm"]["call_id"] == "c-hijack"


def test_our_error_span_picks_its_own_attempt(devserver: DevServer) -> None:
    call_id = "c-proxy-fallback"
    STORE.begin_attempt(call_id, "lt-1", model_group="broken-group", deployment_id="deploy-broken")
    STORE.finish_attempt(call_id, "lt-1", FAILURE, deployment_id="deploy-broken")
    STORE.begin_attempt(call_id, "lt-1", model_group="broken-group", deployment_id="deploy-broken-2")
    STORE.finish_attempt(call_id, "lt-1", FAILURE, deployment_id="deploy-broken-2")
    attributes = {"litellm.call_id": call_id, "llm.request.type": "acompletion", "litellm.model_group": "broken-group",
                  "error.type": "InternalServerError", "honeyhive.litellm.synthetic": True,
                  "honeyhive.litellm.attempt": 2}
    span = make_span("litellm_request", attributes, trace_id="e8170af4" + "3" * 24, span_id="850b8b22a2d1d571",
                     status="ERROR")
    (event,) = export(devserver, [span])
    litellm = event["metadata"]["litellm"]
    assert (litellm["deployment_id"], litellm["attempt"], litellm["emitted_by"]) == ("deploy-broken-2", 2, "honeyhive-otel")


# ----- hostile metadata -------------------------------------------------------------
_values = st.one_of(
    st.text(max_size=40), st.integers(), st.floats(allow_nan=True), st.booleans(),
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=4).map(repr),
    st.lists(st.text(max_size=10), max_size=4).map(repr),
    st.sampled_from(["{'a': ", "[[[[", "{'x': sk-abcdefgh1234}", "None", "''", "{'authorization': 'sk-abcd12345678'}"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(sorted(EMPTY_METADATA)), _values, max_size=8))
def test_any_metadata_maps_without_errors_or_leaks(values: dict[str, Any]) -> None:
    attributes = {**EMPTY_METADATA, **values, "litellm.call_id": "c-fuzz", "llm.request.type": "completion"}
    event = SpanMapper().map(make_span("litellm_request", attributes, trace_id="f" * 32, span_id="1" * 16))
    assert "mapping_errors" not in event.metadata
    assert "sk-abcd12345678" not in json.dumps(event.to_request(), default=str)


@pytest.mark.parametrize("name", ["completion", "stream", "tools", "embedding", "failure", "router", "semconv"])
def test_no_litellm_metadata_attribute_is_left_unmapped(name: str) -> None:
    """Every `metadata.*` and `hidden_params` attribute is consumed (parsed), never dumped raw."""
    for span in load_spans(FIXTURES / f"litellm_otel_{name}.json"):
        event = SpanMapper().map(span)
        leftover = event.metadata.get("attributes", {})
        assert not [key for key in leftover if key.startswith("metadata.") or key == "hidden_params"]


def test_stream_raw_span_behind_the_proxy_is_absorbed(devserver: DevServer) -> None:
    """Streamed calls' raw span has no body; behind the proxy it still carries the team stamp."""
    raw = make_span("raw_gen_ai_request", {"metadata.user_api_key_team_id": "team-123",
                                           "metadata.user_api_key_team_alias": "research-team"},
                    trace_id=PROXY_TRACE, span_id="11b3843e3c69891c", parent="98e28ac289a73257")
    events = export(devserver, [raw, proxy_request_span(span_id="98e28ac289a73257", parent=None)])
    assert [event["event_name"] for event in events] == ["litellm_request"]
