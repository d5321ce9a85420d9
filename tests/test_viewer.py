"""The devserver's web viewer in a real headless Chromium: a session exported through the real
exporter (debug=True, so field sources are recorded) is listed, opens as a tree, and an expanded
model event shows the conversation (roles, contents, the tool call) and where each field came from.
Event data is rendered as text, never as HTML.

Skips cleanly without Chromium (/usr/bin/chromium, Debian's `chromium`) or `playwright`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from honeyhive_otel import HoneyHiveSpanExporter

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS = '<img src=x onerror="window.__xss=1">'


def _text_parts(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": text}]}


def export_weather_session(server_url: str) -> str:
    """A workflow with a chat that asks for a tool, the tool call and the final chat; returns the session id."""
    exporter = HoneyHiveSpanExporter(server_url=server_url, debug=True, merge_window=0.0,
                                     session_name=f"weather demo {XSS}", source="viewer-test")
    provider = TracerProvider(resource=Resource.create({"service.name": "viewer-test"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("viewer.test", "1.0")
    asked = [_text_parts("system", "Be terse."), _text_parts("user", f"Weather in Paris? {XSS}")]
    call = {"role": "assistant", "finish_reason": "tool_calls",
            "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]}
    result = {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "sunny, 21C"}]}
    with tracer.start_as_current_span("weather workflow"):
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                 "gen_ai.request.model": "gpt-4o-mini", "gen_ai.input.messages": json.dumps(asked),
                                 "gen_ai.output.messages": json.dumps([call]), "gen_ai.usage.input_tokens": 12,
                                 "gen_ai.usage.output_tokens": 5})
        with tracer.start_as_current_span("execute_tool get_weather") as span:
            span.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
                                 "gen_ai.tool.call.id": "call_1", "gen_ai.tool.call.arguments": '{"city": "Paris"}',
                                 "gen_ai.tool.call.result": "sunny, 21C"})
        with tracer.start_as_current_span("chat gpt-4o-mini final") as span:
            answer = {"role": "assistant", "finish_reason": "stop",
                      "parts": [{"type": "text", "content": "Sunny, 21C in Paris."}]}
            span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                 "gen_ai.request.model": "gpt-4o-mini",
                                 "gen_ai.input.messages": json.dumps([*asked, call, result]),
                                 "gen_ai.output.messages": json.dumps([answer])})
        with tracer.start_as_current_span("failing step") as span:
            span.record_exception(RuntimeError("quota exceeded"))
            span.set_status(_error_status("quota exceeded"))
    provider.shutdown()
    return exporter.sessions.default_session_id


def _error_status(description: str) -> Any:
    from opentelemetry.trace import Status, StatusCode

    return Status(StatusCode.ERROR, description)


def test_viewer_routes_serve_page_assets_and_json(devserver) -> None:
    """Why: the page must come from package data with a strict CSP, and its JSON must not touch the API log."""
    session_id = export_weather_session(devserver.url)
    before = len(devserver.requests)
    page = requests.get(devserver.url + "/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script src="/static/viewer.js">' in page.text
    script = requests.get(devserver.url + "/static/viewer.js", timeout=5)
    assert script.status_code == 200 and "innerHTML" not in script.text.replace("never innerHTML", "")
    assert requests.get(devserver.url + "/static/..%2Fserver.py", timeout=5).status_code == 404
    sessions = requests.get(devserver.url + "/_dev/viewer/api/sessions", timeout=5).json()["sessions"]
    assert [s["session_id"] for s in sessions] == [session_id]
    detail = requests.get(f"{devserver.url}/_dev/viewer/api/sessions/{session_id}", timeout=5).json()
    assert len(detail["events"]) == 5
    assert requests.get(devserver.url + "/_dev/viewer/api/sessions/nope", timeout=5).status_code == 404
    assert len(devserver.requests) == before  # the viewer is not part of the request log


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", exc_type=ImportError)
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000})
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page, errors
        finally:
            context.close()


def test_viewer_shows_session_tree_and_conversation_in_chromium(devserver, browser_page, tmp_path: Path) -> None:
    session_id = export_weather_session(devserver.url)
    page, script_errors = browser_page
    page.goto(devserver.url + "/")

    item = page.locator(f'.session-item[data-session-id="{session_id}"]')
    item.wait_for(timeout=10_000)
    assert XSS in item.inner_text()  # the name is shown as text, not parsed as HTML
    item.click()
    rows = page.locator(".event-row")
    # (Not `wait_for_function`: when it has to poll, Playwright evaluates a string, which the
    # viewer's Content-Security-Policy rightly refuses.)
    rows.nth(4).wait_for(timeout=10_000)
    assert rows.count() == 5
    names = [name.strip() for name in page.locator(".event-row .event-name").all_inner_texts()]
    assert names[0] == "weather workflow"  # root first, children under it by start time
    assert names[1:] == ["chat gpt-4o-mini", "get_weather", "chat gpt-4o-mini final", "failing step"]
    assert page.locator(".event-row .bar").count() == 5

    final = rows.filter(has_text="chat gpt-4o-mini final")
    final.click()
    detail = page.locator(".event-detail:not([hidden])")
    detail.wait_for(timeout=5_000)
    text = detail.inner_text()
    history_roles = [r.strip() for r in detail.locator(".conversation").first.locator(".msg-role").all_text_contents()]
    assert history_roles == ["system", "user", "assistant", "tool"]
    for content in ("Be terse.", f"Weather in Paris? {XSS}", "sunny, 21C", "result of call_1", "Sunny, 21C in Paris."):
        assert content in text
    assert detail.locator(".tool-call-name").first.inner_text() == "get_weather"
    assert '"city": "Paris"' in detail.locator(".tool-call-arguments").first.inner_text()
    assert "inputs.chat_history ← gen_ai.input.messages" in text  # debug provenance
    assert "config.model ← gen_ai.request.model" in text

    rows.filter(has_text="failing step").click()
    assert "RuntimeError: quota exceeded" in page.locator(".event-detail:not([hidden]) .error-box").inner_text()

    assert page.evaluate("window.__xss") is None
    assert page.locator("img").count() == 0
    assert script_errors == []

    page.evaluate("window.scrollTo(0, 0)")
    shot = tmp_path / "viewer.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    if os.environ.get("HH_VIEWER_SCREENSHOT"):  # keep a copy to look at
        Path(os.environ["HH_VIEWER_SCREENSHOT"]).write_bytes(data)
