"""Configured the OpenTelemetry way: opentelemetry-instrument, OTEL_* samplers, your own provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

import honeyhive_otel

REPO = Path(__file__).resolve().parents[1]
INSTRUMENT = Path(sys.executable).with_name("opentelemetry-instrument")


def run_python(code: str, env: dict[str, str], timeout: int = 60) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=timeout, cwd=REPO)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def events_per_trace(devserver) -> Counter:
    return Counter(event["metadata"]["otel"]["trace_id"] for event in devserver.store.events())


# ----- opentelemetry-instrument ------------------------------------------------------------
def test_opentelemetry_instrument_with_the_honeyhive_exporter_needs_no_code(devserver):
    """The `honeyhive` exporter entry point plus our configurator: auto-instrumented openai calls,
    with the session API and noise filtering, reach the server; configure() adopts that pipeline."""
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "honeyhive", "OTEL_METRICS_EXPORTER": "none",
           "OTEL_LOGS_EXPORTER": "none", "HONEYHIVE_SERVER_URL": devserver.url, "OTEL_SERVICE_NAME": "auto-app",
           "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
           "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
           "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "litellm"}
    done = subprocess.run([str(INSTRUMENT), sys.executable, "tests/scenarios/context_instrumented_app.py"],
                          capture_output=True, text=True, env=env, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    [event] = devserver.store.events()  # the httpx client span under it was filtered
    assert event["event_type"] == "model" and event["session_id"] == result["session_id"]
    assert event["parent_id"] == result["session_id"]
    assert event["user_properties"] == {"user_id": "u-1"}
    assert event["inputs"]["chat_history"] == [{"role": "user", "content": "hello there"}]
    assert event["metadata"]["otel"]["service_name"] == "auto-app"
    assert devserver.store.session(result["session_id"])["session_name"] == "auto-instrumented"
    assert result["stats"]["spans_filtered"] >= 1 and result["stats"]["dropped_total"] == 0


# ----- sampling: whole traces -------------------------------------------------------------------
EMIT_TRACES = """
    import honeyhive_otel
    from opentelemetry import trace
    handle = honeyhive_otel.configure(**OPTIONS)
    tracer = trace.get_tracer("app")
    for index in range(80):
        with tracer.start_as_current_span(f"workflow {index}"):
            for step in range(2):
                with tracer.start_as_current_span(f"chat {index}.{step}") as span:
                    span.set_attribute("gen_ai.operation.name", "chat")
    assert handle.force_flush(10_000)
    print(type(handle.provider.sampler).__name__, handle.provider.sampler.get_description())
"""


def test_sample_ratio_installs_a_parent_based_ratio_sampler_and_keeps_whole_traces(devserver):
    description = run_python(EMIT_TRACES.replace("**OPTIONS", "sample_ratio=0.5"),
                             {"HONEYHIVE_SERVER_URL": devserver.url, "OTEL_BSP_SCHEDULE_DELAY": "50"})
    assert description.startswith("ParentBased") and "TraceIdRatioBased{0.5}" in description
    traces = events_per_trace(devserver)
    assert 15 <= len(traces) <= 65
    assert set(traces.values()) == {3}  # never half a trace


def test_otel_traces_sampler_variables_are_honoured(devserver):
    description = run_python(EMIT_TRACES.replace("**OPTIONS", ""), {
        "HONEYHIVE_SERVER_URL": devserver.url, "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"})
    assert "TraceIdRatioBased{0.25}" in description
    traces = events_per_trace(devserver)
    assert 4 <= len(traces) <= 40 and set(traces.values()) == {3}


def test_sample_ratio_on_a_provider_we_do_not_own_samples_whole_traces_at_export(devserver):
    code = EMIT_TRACES.replace("import honeyhive_otel", textwrap.dedent("""\
        import honeyhive_otel
        from opentelemetry import trace as _trace
        from opentelemetry.sdk.trace import TracerProvider
        _trace.set_tracer_provider(TracerProvider())""").replace("\n", "\n    "))
    code = code.replace("**OPTIONS", "sample_ratio=0.5").replace(
        "    print(type(handle.provider.sampler).__name__, handle.provider.sampler.get_description())",
        "    print(handle.stats()['spans_sampled_out'])")
    sampled_out = int(run_python(code, {"HONEYHIVE_SERVER_URL": devserver.url, "OTEL_BSP_SCHEDULE_DELAY": "50"}))
    traces = events_per_trace(devserver)
    assert 15 <= len(traces) <= 65 and set(traces.values()) == {3}
    assert sampled_out == 3 * (80 - len(traces))


# ----- your own pipeline --------------------------------------------------------------------------
def test_processor_from_env_for_a_provider_you_build_yourself(devserver, monkeypatch):
    monkeypatch.setenv("HONEYHIVE_SERVER_URL", devserver.url)
    monkeypatch.setenv("HONEYHIVE_CAPTURE_CONTENT", "false")
    processor = honeyhive_otel.processor_from_env(span_filter="all", merge_window=0.2)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("app")
    with honeyhive_otel.session(name="own pipeline"):
        with tracer.start_as_current_span("GET /", attributes={"http.method": "GET"}):
            with tracer.start_as_current_span("chat") as span:
                span.set_attribute("gen_ai.operation.name", "chat")
                span.set_attribute("gen_ai.input.messages", '[{"role": "user", "content": "secret text"}]')
    provider.shutdown()
    events = {event["event_name"]: event for event in devserver.store.events()}
    assert set(events) == {"GET /", "chat"}  # span_filter="all": the HTTP span too
    assert events["chat"]["parent_id"] == events["GET /"]["event_id"]
    assert events["chat"]["inputs"]["chat_history"] == [{"role": "user"}]  # HONEYHIVE_CAPTURE_CONTENT=false
    assert devserver.store.session(events["chat"]["session_id"])["session_name"] == "own pipeline"


def test_configure_attaches_to_a_provider_passed_in(devserver):
    run_python("""
        import honeyhive_otel
        from opentelemetry.sdk.trace import TracerProvider
        mine = TracerProvider()
        handle = honeyhive_otel.configure(tracer_provider=mine, span_filter="ai")
        assert handle.provider is mine and not handle.installed_provider
        with honeyhive_otel.session(name="mine", span=True):
            with mine.get_tracer("app").start_as_current_span("app step"):
                with mine.get_tracer("app").start_as_current_span("chat") as span:
                    span.set_attribute("gen_ai.operation.name", "chat")
        assert handle.force_flush(5000)
    """, {"HONEYHIVE_SERVER_URL": devserver.url})
    events = {event["event_name"]: event for event in devserver.store.events()}
    assert set(events) == {"mine", "chat"}  # the session span came from `mine`; "ai" dropped "app step"
    assert events["chat"]["parent_id"] == events["mine"]["event_id"]
