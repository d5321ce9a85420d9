"""Tests for the test-support helpers: the FakeOpenAI server and the span (de)serialisation used by fixtures."""

from __future__ import annotations

import base64
import json
import math
import struct
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `tests.support` must be importable however pytest was started
    sys.path.insert(0, str(REPO))

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.trace import Link, SpanKind, Status, StatusCode  # noqa: E402

from tests.support.fake_openai import EMBEDDING_DIM, FakeOpenAI  # noqa: E402
from tests.support.spans import (  # noqa: E402
    CapturingExporter,
    decode_value,
    dict_to_log_record,
    dict_to_span,
    encode_value,
    load_fixture,
    load_logs,
    load_spans,
    log_record_to_dict,
    span_to_dict,
    spans_to_json,
)

FIXTURES = sorted((REPO / "tests" / "fixtures" / "spans").glob("*.json"))
KEY = "sk-test-not-a-secret"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}


# --------------------------------------------------------------------------------------------- FakeOpenAI


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI() as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture(scope="module")
def client(fake):
    openai = pytest.importorskip("openai")
    return openai.OpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0, timeout=10)


def test_base_url_and_requests_recorded(fake, client):
    assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/v1")
    before = len(fake.requests)
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "ping"}], user="u-1"
    )
    assert len(fake.requests) == before + 1
    assert fake.requests[-1]["user"] == "u-1"
    assert fake.log[-1]["path"] == "/v1/chat/completions"


def test_chat_echo_usage_and_ids(client):
    r = client.chat.completions.create(
        model="my-model",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello big world"}],
    )
    assert r.id.startswith("chatcmpl-fake-")
    assert r.model == "my-model"
    assert r.system_fingerprint
    assert r.choices[0].message.content == "Echo: hello big world"
    assert r.choices[0].finish_reason == "stop"
    # prompt = words of all messages (2 + 3), completion = words of the reply (4)
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (5, 4, 9)
    assert r.usage.prompt_tokens_details.cached_tokens == 0
    assert r.usage.completion_tokens_details.reasoning_tokens == 0


def test_chat_n_choices(client):
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], n=3)
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert r.choices[0].message.content == "Echo: hi"
    assert r.choices[2].message.content == "Echo: hi (choice 2)"


def test_tool_call_then_tool_result(client):
    msgs = [{"role": "user", "content": "weather?"}]
    r1 = client.chat.completions.create(model="gpt-4o-mini", messages=msgs, tools=[WEATHER_TOOL])
    choice = r1.choices[0]
    assert choice.finish_reason == "tool_calls"
    (tc,) = choice.message.tool_calls
    assert (tc.id, tc.function.name) == ("call_1", "get_weather")
    assert json.loads(tc.function.arguments) == {"city": "Paris", "days": 1}  # built from required params

    msgs += [
        {"role": "assistant", "content": None, "tool_calls": [tc.model_dump()]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    r2 = client.chat.completions.create(model="gpt-4o-mini", messages=msgs, tools=[WEATHER_TOOL])
    assert r2.choices[0].finish_reason == "stop"
    assert r2.choices[0].message.content == "Tool said: sunny"


def test_tool_without_required_params_defaults_to_paris(client):
    tool = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
    }
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], tools=[tool])
    assert json.loads(r.choices[0].message.tool_calls[0].function.arguments) == {"city": "Paris"}


def test_stream_text_with_usage(client):
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: one two three"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert all(c.id == chunks[0].id for c in chunks)


def test_stream_without_usage_has_no_usage_chunk(client):
    chunks = list(
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}], stream=True)
    )
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)


def test_stream_tool_call(client):
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "weather?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    name, args, ids, finish = "", "", set(), None
    for c in stream:
        for tc in c.choices[0].delta.tool_calls or []:
            ids.add(tc.id) if tc.id else None
            name += (tc.function.name or "") if tc.function else ""
            args += (tc.function.arguments or "") if tc.function else ""
        finish = c.choices[0].finish_reason or finish
    assert (name, ids, finish) == ("get_weather", {"call_1"}, "tool_calls")
    assert json.loads(args) == {"city": "Paris", "days": 1}


def test_embeddings_float_and_base64(fake, client):
    r = client.embeddings.create(
        model="text-embedding-3-small", input=["hello world", "bye"]
    )  # client sends base64
    assert fake.requests[-1]["encoding_format"] == "base64"
    assert [len(d.embedding) for d in r.data] == [EMBEDDING_DIM, EMBEDDING_DIM]
    assert r.usage.prompt_tokens == 3 and r.usage.total_tokens == 3
    r2 = client.embeddings.create(
        model="text-embedding-3-small", input="hello world", encoding_format="float"
    )
    assert r2.data[0].embedding == r.data[0].embedding  # deterministic, float and base64 agree
    raw = base64.b64encode(struct.pack(f"<{EMBEDDING_DIM}f", *r2.data[0].embedding)).decode()
    assert isinstance(raw, str)


def test_legacy_completions_and_models(client):
    r = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="say hi")
    assert r.choices[0].text == "Echo: say hi" and r.usage.prompt_tokens == 2
    assert "gpt-4o-mini" in [m.id for m in client.models.list()]


@pytest.mark.parametrize(
    ("code", "exc_name"),
    [(400, "BadRequestError"), (429, "RateLimitError"), (503, "InternalServerError")],
)
def test_error_models(client, code, exc_name):
    import openai

    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model=f"error-{code}", messages=[{"role": "user", "content": "x"}])
    err = info.value
    assert type(err).__name__ == exc_name and err.status_code == code
    assert err.body["type"] and err.body["message"]
    if code == 429:
        assert err.response.headers["retry-after"] == "0"


def test_error_model_on_embeddings(client):
    import openai

    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="error-500", input="x")


# --------------------------------------------------------------------------------------------- spans


def _live_spans() -> list[ReadableSpan]:
    exporter = CapturingExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = tp.get_tracer(
        "test.scope", "1.0", schema_url="https://opentelemetry.io/schemas/1.37.0", attributes={"a": 1}
    )
    with tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent:
        parent.set_attribute("s", "x" * 10)
        parent.set_attribute("i", 3)
        parent.set_attribute("f", 1.0)
        parent.set_attribute("nan", float("nan"))
        parent.set_attribute("inf", float("-inf"))
        parent.set_attribute("b", True)
        parent.set_attribute("strs", ["a", "b"])
        parent.set_attribute("ints", [1, 2])
        parent.set_attribute("floats", [0.5, float("inf")])
        parent.set_attribute("bools", [True, False])
        parent.set_attribute("empty", [])
        parent.add_event("evt", {"k": ("v",)}, timestamp=123)
        with tracer.start_as_current_span(
            "child", links=[Link(parent.get_span_context(), {"l": 1})]
        ) as child:
            child.set_status(Status(StatusCode.ERROR, "boom"))
            child.record_exception(ValueError("bad"))
    tp.shutdown()
    return exporter.spans


def test_value_codec_roundtrip():
    for value in [
        "s",
        1,
        2.5,
        True,
        None,
        (1, 2),
        ("a",),
        (),
        [1, (2,)],
        {"k": (1,)},
        {"$tuple": 1},
        b"\x00\xff",
    ]:
        assert decode_value(json.loads(json.dumps(encode_value(value)))) == value
    assert math.isnan(decode_value(encode_value(float("nan"))))
    assert decode_value(encode_value(float("inf"))) == float("inf")
    assert isinstance(decode_value(encode_value(1.0)), float)


def test_live_span_roundtrip():
    spans = _live_spans()
    dicts = json.loads(spans_to_json(spans))  # strict JSON (allow_nan=False)
    rebuilt = [dict_to_span(d) for d in dicts]
    assert [span_to_dict(s) for s in rebuilt] == [span_to_dict(s) for s in spans] == dicts
    child, parent = rebuilt
    assert isinstance(child, ReadableSpan)
    assert child.parent.span_id == parent.context.span_id
    assert child.status.status_code is StatusCode.ERROR and child.status.description == "boom"
    assert child.links[0].context.span_id == parent.context.span_id
    assert parent.kind is SpanKind.SERVER
    assert parent.attributes["strs"] == ("a", "b") and isinstance(parent.attributes["f"], float)
    assert math.isnan(parent.attributes["nan"])
    assert parent.instrumentation_scope.name == "test.scope" and parent.instrumentation_scope.version == "1.0"
    assert parent.resource.attributes["telemetry.sdk.language"] == "python"
    assert parent.events[0].attributes["k"] == ("v",)


def test_truncation():
    span = _live_spans()[1]
    d = span_to_dict(span, max_str_len=4)
    assert d["attributes"]["s"].startswith("xxxx...[truncated")


def test_fixtures_exist():
    assert len(FIXTURES) >= 20, "run `python tools/capture_spans.py` to (re)generate tests/fixtures/spans"


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_roundtrip(path):
    doc = load_fixture(path)
    assert doc["scenario"] == path.stem and doc["spans"]
    assert {"opentelemetry-sdk", "openai", "litellm"} <= set(doc["generator"])
    spans = load_spans(path)
    assert all(isinstance(s, ReadableSpan) for s in spans)
    assert [span_to_dict(s) for s in spans] == doc["spans"]
    for span in spans:  # a replay looks like a live span to exporters
        assert span.context.is_valid and span.end_time >= span.start_time
        assert span.instrumentation_scope is not None
        json.loads(span.to_json())
    sink = CapturingExporter()
    sink.export(spans)
    assert sink.names() == [s["name"] for s in doc["spans"]]
    if "logs" in doc:
        logs = load_logs(path)
        assert [log_record_to_dict(r) for r in logs] == doc["logs"]
        assert [log_record_to_dict(dict_to_log_record(d)) for d in doc["logs"]] == doc["logs"]


def test_fixtures_encode_as_otlp():
    trace_encoder = pytest.importorskip("opentelemetry.exporter.otlp.proto.common.trace_encoder")
    spans = [s for p in FIXTURES for s in load_spans(p)]
    request = trace_encoder.encode_spans(spans)
    assert sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans) == len(spans)
