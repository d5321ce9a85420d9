"""`opentelemetry-instrument` support: `OTEL_TRACES_EXPORTER=honeyhive` with the full processor.

The SDK's auto-configuration wraps every exporter named in `OTEL_TRACES_EXPORTER` in a
plain `BatchSpanProcessor`, and runs only when a package provides a configurator
(`opentelemetry-distro` does; without one, `opentelemetry-instrument` instruments but
exports nothing). This configurator, registered under the `opentelemetry_configurator`
entry point, performs exactly the SDK's standard configuration, except that the
`honeyhive` exporter gets a `HoneyHiveSpanProcessor` instead: context API values, baggage
sessions, noise filtering and orphan repair then work without a line of code. It also
becomes the handle that `honeyhive_otel.configure()` returns, so calling both does not
export twice. When several configurators are installed, the SDK runs the first one found
(set `OTEL_PYTHON_CONFIGURATOR=honeyhive` to choose this one); any of them still exports
through the `honeyhive` entry point, only without the processor's extras.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk._configuration import _initialize_components, _OTelSDKConfigurator
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from . import pipeline
from .exporter import HoneyHiveSpanExporter
from .processor import HoneyHiveSpanProcessor

logger = logging.getLogger("honeyhive_otel")


def export_span_processor(exporter: SpanExporter) -> SpanProcessor:
    """The processor the SDK's auto-configuration puts around each configured exporter."""
    if not isinstance(exporter, HoneyHiveSpanExporter):
        return BatchSpanProcessor(exporter)
    processor = HoneyHiveSpanProcessor(exporter, stats=exporter.stats)
    provider = trace.get_tracer_provider()  # the SDK sets it before it creates the exporters
    with pipeline._lock:
        if pipeline._handle is None:
            pipeline._handle = pipeline.Handle(
                provider=provider if isinstance(provider, TracerProvider) else None, processor=processor,
                exporter=exporter, installed_provider=True, stats_source=exporter.stats)
    return processor


class HoneyHiveConfigurator(_OTelSDKConfigurator):
    """The SDK's standard configurator, with `HoneyHiveSpanProcessor` for the `honeyhive` exporter."""

    def _configure(self, **kwargs: Any) -> None:
        if "export_span_processor" in inspect.signature(_initialize_components).parameters:
            kwargs.setdefault("export_span_processor", export_span_processor)
        else:  # an SDK too old for the hook: the exporter still works behind a BatchSpanProcessor
            logger.debug("this opentelemetry-sdk cannot take a span processor factory")
        super()._configure(**kwargs)
