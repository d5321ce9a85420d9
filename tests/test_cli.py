"""`honeyhive-otel` run as a user runs it (a subprocess): `doctor` against a real devserver,
`convert` on real Collector-style OTLP JSON and real `ConsoleSpanExporter` output, and the
`devserver` delegation."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from honeyhive_otel import HoneyHiveSpanExporter
from honeyhive_otel.devserver import DevServer
from tests.support.otlp_json import spans_to_otlp_json

SESSION_ID = "2f1d8a52-3c51-4c9e-8a8b-6e0f3d1b2c44"
KEY = "hh_test_0123456789abcdefWXYZ"


def cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HONEYHIVE_", "HH_"))}
    return subprocess.run([sys.executable, "-m", "honeyhive_otel.cli", *args], capture_output=True, text=True,
                          env={**clean, **(env or {})}, input=stdin, timeout=60)


# ----------------------------------------------------------------------------- doctor
def test_doctor_round_trip_against_devserver(devserver) -> None:
    result = cli("doctor", "--server-url", devserver.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "server reachable: honeyhive-otel devserver answered HTTP 200" in result.stdout
    assert "read back from the devserver: the stored event matches" in result.stdout
    assert "opentelemetry-sdk 1." in result.stdout and "all checks passed" in result.stdout
    (event,) = devserver.store.events()
    assert event["event_name"] == "honeyhive-otel doctor test event"
    assert devserver.store.session(event["session_id"])["session_name"] == "honeyhive-otel doctor"


def test_doctor_shows_only_the_key_suffix_and_fails_on_a_rejected_key() -> None:
    with DevServer(api_key=KEY) as server:
        good = cli("doctor", env={"HONEYHIVE_SERVER_URL": server.url, "HONEYHIVE_API_KEY": KEY})
        bad = cli("doctor", env={"HONEYHIVE_SERVER_URL": server.url, "HONEYHIVE_API_KEY": KEY + "-wrong"})
    assert good.returncode == 0, good.stdout
    assert "API key: set (…WXYZ) (from HONEYHIVE_API_KEY)" in good.stdout
    assert "server URL: " + server.url + " (from HONEYHIVE_SERVER_URL)" in good.stdout
    assert bad.returncode == 1 and "test event: not accepted" in bad.stdout
    for output in (good.stdout + good.stderr, bad.stdout + bad.stderr):
        assert KEY not in output and KEY[:12] not in output


def test_doctor_fails_when_unreachable_or_misconfigured() -> None:
    with DevServer() as server:
        url = server.url
    unreachable = cli("doctor", "--server-url", url)  # stopped: nothing listens there any more
    assert unreachable.returncode == 1 and "server reachable: no (ConnectionError" in unreachable.stdout
    no_key = cli("doctor", "--server-url", "https://api.example.invalid")
    assert no_key.returncode == 1 and "configuration: HoneyHive API key missing" in no_key.stdout


def _fake_distribution(root: Path, name: str, version: str) -> Path:
    """A real installed-distribution record (dist-info) that importlib.metadata finds first."""
    info = root / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return root


def test_doctor_flags_compromised_and_unpublished_litellm(tmp_path: Path, devserver) -> None:
    for version, words in (("1.82.7", "compromised release"), ("1.82.8", "compromised release"),
                           ("1.107.1", "never published")):
        site = _fake_distribution(tmp_path / version, "litellm", version)
        result = cli("doctor", "--server-url", devserver.url, "--no-send", env={"PYTHONPATH": str(site)})
        assert result.returncode == 1, result.stdout
        assert f"[FAIL] litellm {version}: " in result.stdout and words in result.stdout


# ----------------------------------------------------------------------------- convert
def _spans(console: io.StringIO | None = None) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "convert-app"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    if console is not None:
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=console)))
    tracer = provider.get_tracer("convert.app", "0.3")
    messages = [{"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
                {"role": "user", "parts": [{"type": "text", "content": "Weather in Oslo?"}]}]
    answer = [{"role": "assistant", "finish_reason": "tool_calls", "parts": [
        {"type": "tool_call", "id": "call_9", "name": "get_weather", "arguments": {"city": "Oslo"}}]}]
    with tracer.start_as_current_span("agent run", attributes={"gen_ai.operation.name": "invoke_agent",
                                                               "app.custom": "kept"}):
        with tracer.start_as_current_span("chat gpt-4o", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
                "gen_ai.input.messages": json.dumps(messages), "gen_ai.output.messages": json.dumps(answer),
                "gen_ai.usage.input_tokens": 20, "gen_ai.usage.output_tokens": 7}):
            pass
        with tracer.start_as_current_span("execute_tool get_weather", attributes={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.call.arguments": '{"city": "Oslo"}', "gen_ai.tool.call.result": "cold"}):
            pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def _exported(spans: list[ReadableSpan], server: DevServer) -> dict[str, Any]:
    exporter = HoneyHiveSpanExporter(server_url=server.url, session_id=SESSION_ID, session_name="file",
                                     source="replay", debug=True, merge_window=0.2)
    exporter.export(spans)
    exporter.shutdown()
    return {event["event_id"]: event for event in server.store.events()}


def test_convert_collector_file_equals_what_the_exporter_sends(tmp_path: Path, devserver) -> None:
    spans = _spans()
    path = tmp_path / "traces.json"
    # The Collector's file exporter: one ExportTraceServiceRequest per line.
    path.write_text("\n".join(json.dumps(spans_to_otlp_json([span])) for span in spans) + "\n")
    result = cli("convert", str(path), "--explain", "--session-id", SESSION_ID, "--session-name", "file",
                 "--source", "replay")
    assert result.returncode == 0, result.stderr
    converted = {event["event_id"]: event for event in json.loads(result.stdout)}
    assert json.dumps(converted, sort_keys=True) == json.dumps(_exported(spans, devserver), sort_keys=True)
    explain = result.stderr
    assert "chat gpt-4o [model] span" in explain and "convention=genai scope=convert.app 0.3" in explain
    assert re.search(r"\n  inputs\.chat_history +<- gen_ai\.input\.messages\n", explain)
    assert "unmapped, kept in metadata.attributes: app.custom" in explain
    assert "3 spans -> 3 events" in explain


def test_convert_console_exporter_output(tmp_path: Path, devserver) -> None:
    console = io.StringIO()
    spans = _spans(console)
    path = tmp_path / "console.txt"
    path.write_text(console.getvalue())  # pretty-printed objects, one after another
    result = cli("convert", str(path), "--session-id", SESSION_ID, "--session-name", "file", "--source", "replay")
    assert result.returncode == 0, result.stderr
    converted = {event["event_id"]: event for event in json.loads(result.stdout)}
    expected = _exported(spans, devserver)
    assert converted.keys() == expected.keys()
    for event_id, event in converted.items():
        want = expected[event_id]
        # The console format has no instrumentation scope and microsecond times; all else is equal.
        for field in ("event_type", "event_name", "parent_id", "inputs", "outputs", "config", "error"):
            assert event[field] == want[field], field
        assert abs(event["start_time"] - want["start_time"]) < 0.002
        assert "sources" not in event["metadata"]["otel"]  # provenance only with --explain
    chat = next(event for event in converted.values() if event["event_type"] == "model")
    assert chat["inputs"]["chat_history"][1] == {"role": "user", "content": "Weather in Oslo?"}
    assert chat["outputs"]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_convert_tree_stdin_and_bad_input(tmp_path: Path) -> None:
    document = json.dumps(spans_to_otlp_json(_spans()), indent=2)
    tree = cli("convert", "-", "--format", "tree", "--session-name", "stdin run", stdin=document)
    assert tree.returncode == 0, tree.stderr
    lines = tree.stdout.splitlines()
    assert lines[0].startswith("session stdin run (")
    assert any("[chain] agent run" in line for line in lines)
    assert any("[model] chat gpt-4o" in line and "tokens=20+7" in line for line in lines)
    assert any("out: tool_calls: get_weather" in line for line in lines)

    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}')
    failed = cli("convert", str(bad))
    assert failed.returncode == 2 and "traceId must be 32 hex digits" in failed.stderr
    assert cli("convert", str(tmp_path / "missing.json")).returncode == 2


# ----------------------------------------------------------------------------- the rest
def test_help_lists_commands_and_devserver_delegates() -> None:
    help_text = cli("--help")
    assert help_text.returncode == 0
    for command in ("doctor", "convert", "relay", "devserver"):
        assert command in help_text.stdout
    delegated = cli("devserver", "--help")
    assert delegated.returncode == 0 and "--fault" in delegated.stdout
    assert cli().returncode == 2
