"""Span shapes and pipelines shared by the benchmark sections.

The benchmark span looks like a GenAI chat span with message content captured: ~30
attributes, `gen_ai.input.messages`/`gen_ai.output.messages` JSON of a chosen size. Every
variant of a comparison gets exactly the same span, so only the pipeline differs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

SCOPE = "benchmark.genai"
RESOURCE = Resource.create({"service.name": "honeyhive-otel-benchmark"})


class NoopExporter(SpanExporter):
    """The bare pipeline's exporter: accepts every batch and does nothing."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


class CollectingProcessor(SpanProcessor):
    """Keeps finished spans in a list, to build ReadableSpans once for export benchmarks."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


def messages_json(target_bytes: int, salt: int = 0) -> tuple[str, str]:
    """Input and output messages (GenAI JSON) whose sizes add up to about `target_bytes`.

    The input is a multi-turn conversation (system, then user/assistant turns of ~1 KB at
    most), the output one assistant message of about a quarter of the total, capped at 4 KB.
    """
    output_bytes = min(max(target_bytes // 4, 64), 4096)
    input_bytes = max(target_bytes - output_bytes, 64)
    turns: list[dict[str, Any]] = [
        {"role": "system", "parts": [{"type": "text", "content": "You are a terse assistant. Answer briefly."}]},
    ]
    size = len(json.dumps(turns))
    role = "user"
    index = 0
    while size < input_bytes:
        chunk = min(1024, input_bytes - size)
        text = _text(chunk, salt * 1_000 + index)
        turn = {"role": role, "parts": [{"type": "text", "content": text}]}
        turns.append(turn)
        size += len(json.dumps(turn)) + 2
        role = "assistant" if role == "user" else "user"
        index += 1
    output = [{"role": "assistant", "parts": [{"type": "text", "content": _text(output_bytes - 80, salt)}],
               "finish_reason": "stop"}]
    return json.dumps(turns), json.dumps(output)


def _text(size: int, salt: int) -> str:
    words = ("the", "model", "answers", "quickly", "with", "tokens", "and", "some", "context", "about",
             "benchmarks", "latency")
    parts: list[str] = [f"#{salt}"]
    total = len(parts[0])
    i = salt
    while total < size:
        word = words[i % len(words)]
        parts.append(word)
        total += len(word) + 1
        i += 7
    return " ".join(parts)[: max(size, 1)]


def llm_attributes(input_messages: str, output_messages: str, salt: int = 0) -> list[tuple[str, Any]]:
    """~30 attributes of a chat span, in the order an instrumentor would set them."""
    return [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.system", "openai"),
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.request.model", "gpt-4o-mini"),
        ("gen_ai.request.temperature", 0.2),
        ("gen_ai.request.max_tokens", 256),
        ("gen_ai.request.top_p", 1.0),
        ("gen_ai.request.seed", 42),
        ("gen_ai.request.stop_sequences", ("\n\n", "END")),
        ("gen_ai.input.messages", input_messages),
        ("gen_ai.output.messages", output_messages),
        ("gen_ai.response.id", f"chatcmpl-{salt:012d}"),
        ("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
        ("gen_ai.response.finish_reasons", ("stop",)),
        ("gen_ai.usage.input_tokens", 412),
        ("gen_ai.usage.output_tokens", 96),
        ("gen_ai.usage.total_tokens", 508),
        ("gen_ai.usage.cache_read.input_tokens", 128),
        ("gen_ai.conversation.id", "conv-benchmark"),
        ("gen_ai.output.type", "text"),
        ("server.address", "api.openai.com"),
        ("server.port", 443),
        ("http.response.status_code", 200),
        ("llm.is_streaming", False),
        ("llm.request.type", "completion"),
        ("user.id", "end-user-1"),
        ("app.route", "/chat"),
        ("app.tenant", "acme"),
        ("app.request_id", f"req-{salt}"),
        ("app.feature_flags", ("fast-path", "beta")),
    ]


# ----- the benchmark span's content in other conventions' forms ---------------------------
def _plain(messages_text: str) -> list[dict[str, Any]]:
    """GenAI parts-form messages (as `messages_json` makes them) in OpenAI's {role, content} form."""
    plain = []
    for message in json.loads(messages_text):
        item = {"role": message["role"], "content": message["parts"][0]["content"]}
        if "finish_reason" in message:
            item["finish_reason"] = message["finish_reason"]
        plain.append(item)
    return plain


def _request_attributes(salt: int) -> list[tuple[str, Any]]:
    """The benchmark span's attributes but its messages: model, parameters, response, usage, app keys."""
    return [(key, value) for key, value in llm_attributes("", "", salt)
            if key not in ("gen_ai.input.messages", "gen_ai.output.messages")]


def openai_form_attributes(salt: int) -> list[tuple[str, Any]]:
    """`gen_ai.input/output.messages` in OpenAI's {role, content} form (what many emitters write)."""
    inputs, outputs = messages_json(2048, salt)
    return [*_request_attributes(salt), ("gen_ai.input.messages", json.dumps(_plain(inputs))),
            ("gen_ai.output.messages", json.dumps(_plain(outputs)))]


def prompt_json_attributes(salt: int) -> list[tuple[str, Any]]:
    """`gen_ai.prompt` / `gen_ai.completion` JSON texts (OpenLIT before 1.35, Semantic Kernel)."""
    inputs, outputs = messages_json(2048, salt)
    completion = [{"role": m["role"], "content": m["content"]} for m in _plain(outputs)]
    return [*_request_attributes(salt), ("gen_ai.prompt", json.dumps(_plain(inputs))),
            ("gen_ai.completion", json.dumps(completion))]


def indexed_attributes(salt: int) -> list[tuple[str, Any]]:
    """`gen_ai.prompt.N.*` / `gen_ai.completion.N.*` (Traceloop before 0.55, LiteLLM v1)."""
    inputs, outputs = messages_json(2048, salt)
    attributes = [(key, value) for key, value in _request_attributes(salt)
                  if not key.startswith(("gen_ai.usage", "gen_ai.output", "gen_ai.conversation", "app.feature"))]
    for index, message in enumerate(_plain(inputs)):
        attributes += [(f"gen_ai.prompt.{index}.role", message["role"]),
                       (f"gen_ai.prompt.{index}.content", message["content"])]
    output = _plain(outputs)[0]
    attributes += [("gen_ai.completion.0.role", "assistant"), ("gen_ai.completion.0.content", output["content"]),
                   ("gen_ai.completion.0.finish_reason", "stop"), ("gen_ai.usage.prompt_tokens", 412),
                   ("gen_ai.usage.completion_tokens", 96), ("llm.usage.total_tokens", 508)]
    return attributes


def openinference_attributes(salt: int) -> list[tuple[str, Any]]:
    """An OpenInference LLM span: flattened messages, the request as `input.value` JSON, the answer as
    `output.value`, invocation parameters, token counts, session, user, metadata and tags."""
    inputs, outputs = messages_json(2048, salt)
    history, answer = _plain(inputs), _plain(outputs)[0]["content"]
    attributes: list[tuple[str, Any]] = [
        ("openinference.span.kind", "LLM"), ("llm.model_name", "gpt-4o-mini"), ("llm.provider", "openai"),
        ("llm.system", "openai"),
        ("llm.invocation_parameters", json.dumps({"temperature": 0.2, "max_tokens": 256, "top_p": 1.0, "seed": 42})),
        ("input.value", json.dumps({"messages": history, "model": "gpt-4o-mini"})),
        ("input.mime_type", "application/json"),
    ]
    for index, message in enumerate(history):
        attributes += [(f"llm.input_messages.{index}.message.role", message["role"]),
                       (f"llm.input_messages.{index}.message.content", message["content"])]
    attributes += [
        ("output.value", answer), ("output.mime_type", "text/plain"),
        ("llm.output_messages.0.message.role", "assistant"), ("llm.output_messages.0.message.content", answer),
        ("llm.token_count.prompt", 412), ("llm.token_count.completion", 96), ("llm.token_count.total", 508),
        ("session.id", "conv-benchmark"), ("user.id", "end-user-1"),
        ("metadata", json.dumps({"route": "/chat", "tenant": "acme", "request_id": f"req-{salt}"})),
        ("tag.tags", ("fast-path", "beta")),
    ]
    return attributes


# Form -> (scope name, attributes of span `salt`): the benchmark span's content (~2 KB of messages,
# about 30 attributes) as other conventions write it.
SHAPES = {
    "gen_ai messages, parts (the benchmark span)": (SCOPE, lambda salt: llm_attributes(*messages_json(2048, salt),
                                                                                      salt=salt)),
    "gen_ai messages, OpenAI form": (SCOPE, openai_form_attributes),
    "gen_ai.prompt JSON (OpenLIT < 1.35)": ("openlit.otel.tracing", prompt_json_attributes),
    "gen_ai.prompt.N (Traceloop < 0.55)": ("opentelemetry.instrumentation.openai.v1", indexed_attributes),
    "OpenInference": ("openinference.instrumentation.openai", openinference_attributes),
}


def shaped_spans(form: str, count: int) -> list[ReadableSpan]:
    """`count` finished spans of one form of `SHAPES`, each with its own messages."""
    scope, attributes_of = SHAPES[form]
    collector = CollectingProcessor()
    tracer = make_provider(collector).get_tracer(scope)
    for i in range(count):
        emit_span(tracer, attributes_of(i))
    return collector.spans


def make_provider(processor: SpanProcessor | None) -> TracerProvider:
    provider = TracerProvider(resource=RESOURCE)
    if processor is not None:
        provider.add_span_processor(processor)
    return provider


def noop_processor() -> BatchSpanProcessor:
    """The bare pipeline: the SDK's BatchSpanProcessor with its default settings."""
    return BatchSpanProcessor(NoopExporter())


def honeyhive_processor(server_url: str) -> Any:
    """`HoneyHiveSpanProcessor(HoneyHiveSpanExporter(...))` with the defaults configure() uses."""
    from honeyhive_otel.exporter import HoneyHiveSpanExporter
    from honeyhive_otel.processor import HoneyHiveSpanProcessor

    return HoneyHiveSpanProcessor(HoneyHiveSpanExporter(server_url=server_url, session_name="benchmark"))


def emit_span(tracer: Any, attributes: list[tuple[str, Any]]) -> None:
    """Application-thread work for one span: start, set each attribute, end."""
    span = tracer.start_span("chat gpt-4o-mini")
    for key, value in attributes:
        span.set_attribute(key, value)
    span.end()


def build_spans(count: int, payload_bytes: int, unique: bool = True) -> list[ReadableSpan]:
    """`count` finished ReadableSpans of the benchmark shape (built once, exported many times)."""
    collector = CollectingProcessor()
    tracer = make_provider(collector).get_tracer(SCOPE)
    shared = messages_json(payload_bytes)
    for i in range(count):
        inputs, outputs = messages_json(payload_bytes, salt=i) if unique else shared
        emit_span(tracer, llm_attributes(inputs, outputs, salt=i))
    return collector.spans


# ----- captured spans of real instrumentors --------------------------------------------------
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "spans"
# Fixture file name prefix -> the family its spans come from (mixed captures are kept whole).
FAMILIES = {"openai_v2": "openai-v2 (GenAI)", "traceloop": "Traceloop", "openinference": "OpenInference",
            "openlit": "OpenLIT", "litellm_otel": "LiteLLM otel"}


def captured_spans(prefix: str, count: int) -> list[ReadableSpan]:
    """`count` spans replayed from the captured fixtures `tests/fixtures/spans/<prefix>_*.json` (spans
    that real instrumentors produced: see that folder's README), each capture repeated under a new
    trace id. Spans of one capture share one Resource object, as the spans of one provider do."""
    if str(FIXTURES.parent.parent) not in sys.path:  # (tests/: its support package replays fixtures)
        sys.path.insert(0, str(FIXTURES.parent.parent))
    from support.spans import dict_to_span, load_fixture

    captures = [load_fixture(path)["spans"] for path in sorted(FIXTURES.glob(f"{prefix}_*.json"))]
    resources: dict[str, Resource] = {}
    spans: list[ReadableSpan] = []
    replica = 0
    while len(spans) < count:
        for capture in captures:
            replica += 1
            trace_id = f"{0x5EED0000 + replica:032x}"
            for data in capture:
                span = dict_to_span(_with_trace_id(data, trace_id))
                key = json.dumps(dict(span.resource.attributes), sort_keys=True, default=str)
                spans.append(_with_resource(span, resources.setdefault(key, span.resource)))
    return spans[:count]


def _with_trace_id(data: dict[str, Any], trace_id: str) -> dict[str, Any]:
    data = dict(data)
    for key in ("context", "parent"):
        if data.get(key):
            data[key] = {**data[key], "trace_id": trace_id}
    return data


def _with_resource(span: ReadableSpan, resource: Resource) -> ReadableSpan:
    """The same span with `resource` (public constructor and properties only)."""
    return ReadableSpan(name=span.name, context=span.context, parent=span.parent, resource=resource,
                        attributes=span.attributes, events=span.events, links=span.links, kind=span.kind,
                        status=span.status, start_time=span.start_time, end_time=span.end_time,
                        instrumentation_scope=span.instrumentation_scope)
