"""`configure()` + `litellm.callbacks = ["otel"]` with real LiteLLM SDK calls (tests/scenarios/litellm_sdk.py).

One subprocess runs every case (LiteLLM's callbacks and configure() are process-global) against
FakeOpenAI and exports to a devserver; each test reads the events its case produced
(`metadata.case`). configure() runs before `import litellm` and the user assigns
`litellm.callbacks = ["otel"]` afterwards, so these tests also prove our callback survives both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from honeyhive_otel.devserver import DevServer
from tests.support import openapi_check

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "tests" / "scenarios" / "litellm_sdk.py"


@pytest.fixture(scope="module")
def run() -> Iterator[dict[str, Any]]:
    server = DevServer().start()
    try:
        done = subprocess.run([sys.executable, str(SCENARIO), server.url], capture_output=True, text=True,
                              cwd=REPO, timeout=240)
        assert done.returncode == 0, done.stderr[-4000:]
        output = json.loads(done.stdout.strip().splitlines()[-1])
        yield {"events": server.store.events(), "out": output, "server": server}
        openapi_check.check_recorded_requests(server.requests)
    finally:
        server.stop()


def case(run: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [event for event in run["events"] if event["metadata"].get("case") == name]


def session_of(raw: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, raw))


def test_completion_content_config_usage_and_steering(run: dict[str, Any]) -> None:
    (event,) = case(run, "completion")
    assert event["event_type"] == "model"
    assert event["inputs"]["chat_history"] == [{"role": "system", "content": "Be terse."},
                                               {"role": "user", "content": "hello there"}]
    assert event["outputs"]["content"] == "Echo: hello there" and event["outputs"]["finish_reason"] == "stop"
    config = event["config"]
    assert (config["provider"], config["model"], config["temperature"], config["max_tokens"],
            config["is_streaming"]) == ("openai", "gpt-4o-mini", 0.2, 50, False)
    metadata = event["metadata"]
    assert (metadata["prompt_tokens"], metadata["completion_tokens"], metadata["total_tokens"]) == (4, 3, 7)
    assert metadata["cost"] > 0 and metadata["cost_details"]["output_cost"] > 0
    assert metadata["litellm"]["call_id"] == run["out"]["cases"]["completion"]
    # metadata={"session_id", "user_id", "feature"}: LiteLLM drops these from its span; our callback kept them.
    assert metadata["feature"] == "search"
    assert event["user_properties"]["user_id"] == "user-7"
    assert event["session_id"] == session_of("sdk-session-1")


def test_acompletion(run: dict[str, Any]) -> None:
    (event,) = case(run, "acompletion")
    assert event["metadata"]["litellm"]["call_type"] == "acompletion"
    assert event["metadata"]["litellm"]["call_id"] == run["out"]["cases"]["acompletion"]
    assert event["outputs"]["content"] == "Echo: async hello"


@pytest.mark.parametrize("name", ["stream", "astream"])
def test_streaming(run: dict[str, Any], name: str) -> None:
    (event,) = case(run, name)
    assert event["config"]["is_streaming"] is True
    assert event["outputs"]["content"].startswith("Echo: ")
    assert event["metadata"]["total_tokens"] > 0


def test_tool_calls_with_ids(run: dict[str, Any]) -> None:
    (event,) = case(run, "tools")
    assert event["inputs"]["tools"][0]["function"]["name"] == "get_weather"
    (call,) = event["outputs"]["tool_calls"]
    assert call["id"] == run["out"]["cases"]["tools"]["tool_call_ids"][0]  # the span has no id: our callback's
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert event["outputs"]["finish_reason"] == "tool_calls"


def test_embeddings_without_vectors(run: dict[str, Any]) -> None:
    (event,) = case(run, "embedding")
    assert event["inputs"] == {"input": ["first", "second"]}
    assert event["outputs"] == {"vector_count": 2, "dimension": 8}
    assert event["config"]["provider"] == "openai"
    assert event["metadata"]["litellm"]["call_type"] == "aembedding"


def test_failure_is_one_error_event(run: dict[str, Any]) -> None:
    (event,) = case(run, "failure")
    assert "ServiceUnavailableError" in event["error"]
    assert "emitted_by" not in event["metadata"]["litellm"]  # LiteLLM's own otel span reported it


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_call_inside_a_closed_user_span(run: dict[str, Any], mode: str) -> None:
    """The user's span ended before LiteLLM's callback ran: the litellm_request child carries the call."""
    (parent,) = [event for event in run["events"] if event["event_name"] == f"user_workflow_{mode}"]
    (child,) = case(run, f"user_span_{mode}")
    assert parent["event_type"] == "chain" and parent["inputs"] == {} and "litellm" not in parent["metadata"]
    assert child["parent_id"] == parent["event_id"] and child["session_id"] == parent["session_id"]
    assert child["inputs"]["chat_history"][0]["content"].startswith("inside")
    assert child["metadata"]["total_tokens"] > 0


def test_router_with_two_deployments(run: dict[str, Any]) -> None:
    events = case(run, "router")
    assert len(events) == 4
    assert {event["metadata"]["litellm"]["deployment_id"] for event in events} == set(run["out"]["cases"]["router"])
    for event in events:
        litellm = event["metadata"]["litellm"]
        assert (litellm["model_group"], litellm["routing_strategy"]) == ("gpt-group", "simple-shuffle")
        assert litellm["deployment_id"] in ("dep-a", "dep-b")


def test_retry_and_fallback_attempts_share_a_session_and_are_told_apart(run: dict[str, Any]) -> None:
    events = sorted(case(run, "retry_fallback"), key=lambda event: event["metadata"]["litellm"]["attempt"])
    assert [event["metadata"]["litellm"]["attempt"] for event in events] == [1, 2, 3]
    assert len({event["metadata"]["litellm"]["trace_id"] for event in events}) == 1
    assert {event["session_id"] for event in events} == {session_of("sdk-fallback")}
    first, retry, fallback = (event["metadata"]["litellm"] for event in events)
    assert events[0]["error"] and events[1]["error"] and not events[2]["error"]
    assert first["model_group"] == retry["model_group"] == "broken-group"
    assert {first["deployment_id"], retry["deployment_id"]} <= {"dep-broken-1", "dep-broken-2"}
    # LiteLLM 1.106 de-duplicates retry failures on one request: the retry's span is ours.
    assert "emitted_by" not in first and retry["emitted_by"] == "honeyhive-otel"
    assert retry["attempted_retries"] == 1
    assert (fallback["model_group"], fallback["deployment_id"], fallback["attempted_fallbacks"]) == \
        ("backup-group", "dep-backup", 1)
    assert fallback["previous_attempts"][0]["model_group"] == "broken-group"


def test_our_callback_is_registered_once_everywhere(run: dict[str, Any]) -> None:
    """Registered at import (configure() ran first), kept although the user replaced litellm.callbacks."""
    assert set(run["out"]["registrations"].values()) == {1}, run["out"]["registrations"]


def test_nothing_lost_duplicated_or_leaked(run: dict[str, Any]) -> None:
    stats = run["out"]["stats"]
    assert stats["dropped_total"] == 0
    assert not run["server"].store.duplicates()
    assert not [event for event in run["events"] if event["event_name"] == "raw_gen_ai_request"]
    sent = json.dumps([record.body for record in run["server"].requests])
    assert "sk-test-not-a-secret" not in sent
