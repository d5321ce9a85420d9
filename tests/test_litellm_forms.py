"""Every way of enabling LiteLLM's `otel` callback, both provider orders, and the async exit race.

Three subprocesses of tests/scenarios/litellm_forms.py run concurrently, each into its own
devserver:

- `success_only` (`litellm.success_callback = ["otel"]`), LiteLLM first: it made a call and
  created the global provider before `configure()`, which attaches to it; the script ends
  without flushing.
- `callbacks` (`litellm.callbacks = ["otel"]`), LiteLLM imported before `configure()`
  installs the provider: LiteLLM's logging worker flushes at exit *after* our provider shut
  down, so the last `acompletion` is lost unless we drain the worker first. No flush either.
- `both` (`success_callback` and `callbacks`), `configure()` first, with LiteLLM's own
  `OTEL_EXPORTER_OTLP_ENDPOINT` set: the bypassed export is warned about once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import devservers

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "tests" / "scenarios" / "litellm_forms.py"
FORMS = {
    "success_only": (["--litellm-first", "--exit-without-flush"], {}),
    "callbacks": (["--import-litellm-first", "--exit-without-flush"], {}),
    "both": ([], {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}),
}
CASES = ("sync_ok", "sync_fail", "async_ok", "async_fail")


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OTEL_", "HONEYHIVE_", "LITELLM_", "USE_OTEL"))}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, dict[str, Any]]]:
    with devservers(FORMS) as servers:
        processes = {
            form: subprocess.Popen([sys.executable, str(SCENARIO), servers[form].url, form, *args], cwd=REPO,
                                   env=_env(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for form, (args, extra) in FORMS.items()
        }
        results = {}
        for form, process in processes.items():
            stdout, stderr = process.communicate(timeout=240)
            assert process.returncode == 0, stderr[-4000:]
            marker = next(line for line in stdout.splitlines() if line.startswith('{"queued_at_exit"'))
            results[form] = {"events": servers[form].store.events(), "stderr": stderr,
                             "queued_at_exit": json.loads(marker)["queued_at_exit"], "server": servers[form]}
        yield results


def events_of(run: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [event for event in run["events"] if event["metadata"].get("case") == name]


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("name", CASES)
def test_every_call_arrives_exactly_once(runs: dict[str, dict[str, Any]], form: str, name: str) -> None:
    events = events_of(runs[form], name)
    assert len(events) == 1, [event["event_name"] for event in runs[form]["events"]]
    assert bool(events[0]["error"]) == name.endswith("_fail")
    assert events[0]["event_type"] == "model"


@pytest.mark.parametrize("form", list(FORMS))
def test_failures_come_from_litellm_unless_it_drops_them(runs: dict[str, dict[str, Any]], form: str) -> None:
    """With `success_callback` alone LiteLLM reports no failure: our callback emits it, once."""
    for name in ("sync_fail", "async_fail"):
        (event,) = events_of(runs[form], name)
        emitted_by = event["metadata"]["litellm"].get("emitted_by")
        assert emitted_by == ("honeyhive-otel" if form == "success_only" else None)
        assert "boom" in event["error"]
        assert event["inputs"]["chat_history"] == [{"role": "user", "content": "hello"}]


def test_configure_after_litellm_created_its_provider(runs: dict[str, dict[str, Any]]) -> None:
    """configure() attached to LiteLLM's provider: every later call arrives; earlier ones were not ours."""
    run = runs["success_only"]
    assert {event["metadata"].get("case") for event in run["events"]} == set(CASES)


def test_last_acompletion_before_exit_is_not_lost(runs: dict[str, dict[str, Any]]) -> None:
    run = runs["callbacks"]
    assert run["queued_at_exit"] >= 1  # the callback was still queued when the script ended
    (event,) = events_of(run, "async_ok")
    assert event["outputs"]["content"] == "ok"


def test_bypassed_litellm_exporter_is_warned_once(runs: dict[str, dict[str, Any]]) -> None:
    warnings = [line for line in runs["both"]["stderr"].splitlines() if "will not build that exporter" in line]
    assert len(warnings) == 1 and "OTEL_EXPORTER_OTLP_ENDPOINT" in warnings[0]
    for form in ("success_only", "callbacks"):
        assert "will not build that exporter" not in runs[form]["stderr"]


@pytest.mark.parametrize("form", list(FORMS))
def test_no_duplicates(runs: dict[str, dict[str, Any]], form: str) -> None:
    assert not runs[form]["server"].store.duplicates()
