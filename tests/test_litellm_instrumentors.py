"""OpenInference or OpenLIT around LiteLLM's own `otel` callback: one model event per call.

The instrumentor's span wraps the call and LiteLLM's `litellm_request` is its child with the
same tokens; the exporter merges them (outer identity, union, LiteLLM's cost). Also the v2
logger built on our provider (the documented manual route). Subprocesses of
tests/scenarios/litellm_instrumentors.py run concurrently, each into its own devserver.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import devservers

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "tests" / "scenarios" / "litellm_instrumentors.py"
SCOPES = {"openinference": "openinference.instrumentation.litellm", "openlit": "openlit.instrumentation.litellm"}
WHICH = ("openinference", "openlit", "v2")


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, dict[str, Any]]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "LITELLM_", "OPENLIT"))}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    with devservers(WHICH) as servers:
        processes = {which: subprocess.Popen([sys.executable, str(SCENARIO), servers[which].url, which], cwd=REPO,
                                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for which in WHICH}
        results = {}
        for which, process in processes.items():
            _, stderr = process.communicate(timeout=240)
            assert process.returncode == 0, stderr[-4000:]
            results[which] = {"events": servers[which].store.events(), "server": servers[which]}
        yield results


@pytest.mark.parametrize("which", ["openinference", "openlit"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_one_model_event_with_both_instrumentations(runs: dict[str, dict[str, Any]], which: str, mode: str) -> None:
    events = runs[which]["events"]
    models = [event for event in events if event["event_type"] == "model"]
    assert len(models) == 2, [(event["event_name"], event["metadata"]["otel"]["scope"]) for event in events]
    (event,) = [event for event in models if event["metadata"].get("case") == mode]
    otel = event["metadata"]["otel"]
    assert otel["scope"]["name"] == SCOPES[which]  # the instrumentor's span is the event's identity
    assert [merged["scope"]["name"] for merged in otel["merged"]] == ["litellm"]
    assert event["metadata"]["litellm"]["call_id"]  # LiteLLM's own context, merged in
    assert event["inputs"]["chat_history"][-1]["content"] == f"{mode} hello"
    assert event["outputs"]["content"] == f"Echo: {mode} hello"
    # FakeOpenAI counts words: counted once, not once per span.
    metadata = event["metadata"]
    assert (metadata["prompt_tokens"], metadata["completion_tokens"], metadata["total_tokens"]) == (2, 3, 5)
    assert metadata["cost"] == pytest.approx(2.1e-06)  # LiteLLM's price is authoritative
    assert not runs[which]["server"].store.duplicates()


def test_v2_logger_built_on_our_provider(runs: dict[str, dict[str, Any]]) -> None:
    """LITELLM_OTEL_V2 ignores the global provider; built with ours it reports (async calls, in 1.106.2)."""
    events = runs["v2"]["events"]
    (event,) = [event for event in events if event["metadata"]["litellm"].get("call_type") == "acompletion"]
    assert event["event_type"] == "model" and event["config"]["provider"] == "openai"
    assert event["metadata"]["cost"] > 0 and event["metadata"]["total_tokens"] == 5
    assert event["metadata"]["otel"]["scope"]["name"] == "litellm"
