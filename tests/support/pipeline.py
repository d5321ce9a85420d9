"""A real SDK pipeline wired to a devserver: TracerProvider -> HoneyHiveSpanProcessor -> exporter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from honeyhive_otel import HoneyHiveSpanExporter, HoneyHiveSpanProcessor


@dataclass
class Pipeline:
    provider: TracerProvider
    processor: HoneyHiveSpanProcessor
    exporter: HoneyHiveSpanExporter

    def tracer(self, name: str = "tests") -> Any:
        return self.provider.get_tracer(name)

    def flush(self) -> None:
        assert self.processor.force_flush(10_000), "flush did not complete"

    def close(self) -> None:
        self.provider.shutdown()


def make_pipeline(server_url: str, resource: dict[str, Any] | None = None, **exporter_options: Any) -> Pipeline:
    exporter_options.setdefault("merge_window", 0.5)
    exporter = HoneyHiveSpanExporter(server_url=server_url, **exporter_options)
    processor = HoneyHiveSpanProcessor(exporter)
    provider = TracerProvider(resource=Resource.create(resource or {"service.name": "tests"}))
    provider.add_span_processor(processor)
    return Pipeline(provider, processor, exporter)
