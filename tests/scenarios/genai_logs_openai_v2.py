"""The official openai-v2 instrumentation in its default mode (content in log records), with
a LoggerProvider feeding `GenAILogRecordProcessor`.

Run as a subprocess (the instrumentor patches the openai package):
    python tests/scenarios/genai_logs_openai_v2.py join
        prints, for each exported span, the records the store held for it at export time;
    python tests/scenarios/genai_logs_openai_v2.py devserver <url>
        exports through HoneyHiveSpanExporter (whose mapper joins the records) to a devserver.
Expects OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true and no OTEL_SEMCONV_STABILITY_OPT_IN.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import openai  # noqa: E402
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult  # noqa: E402

from honeyhive_otel.logs import GenAILogRecordProcessor, GenAILogStore  # noqa: E402
from tests.support.fake_openai import FakeOpenAI  # noqa: E402
from tests.support.pipeline import make_pipeline  # noqa: E402

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


class JoinAtExport(SpanExporter):
    """Takes each span's records from the store when the span is exported, as the mapper does."""

    def __init__(self, store: GenAILogStore) -> None:
        self.store = store
        self.joined: list[dict[str, Any]] = []

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        for span in spans:
            records = self.store.take(span.context.trace_id, span.context.span_id)
            self.joined.append({"span": span.name, "records": records})
        return SpanExportResult.SUCCESS


def calls(client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "system", "content": "Be terse."}, {"role": "user", "content": "hello there"}])
    asked = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=asked, tools=TOOLS)
    call = first.choices[0].message
    client.chat.completions.create(model="gpt-4o-mini", tools=TOOLS, messages=[
        *asked, call.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.tool_calls[0].id, "content": "sunny, 21C"}])
    stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                            messages=[{"role": "user", "content": "stream this"}])
    for _ in stream:
        pass


def run(mode: str, server_url: str | None) -> Any:
    logs = LoggerProvider()
    if mode == "join":
        store = GenAILogStore()
        logs.add_log_record_processor(GenAILogRecordProcessor(store))
        exporter = JoinAtExport(store)
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(exporter))
    else:
        pipeline = make_pipeline(server_url, session_name="openai-v2 log records")
        logs.add_log_record_processor(pipeline.exporter.log_processor)
        provider = pipeline.provider
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider, logger_provider=logs)
    with FakeOpenAI() as fake:
        calls(openai.OpenAI(base_url=fake.base_url, api_key="sk-test-not-a-secret"))
    instrumentor.uninstrument()
    provider.force_flush()
    provider.shutdown()
    if mode == "join":
        return {"joined": exporter.joined, "left": store.snapshot()}
    return {"stats": pipeline.exporter.log_store.snapshot()}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)))
