"""`configure()`: one call that wires HoneyHive into the OpenTelemetry SDK.

It attaches to the SDK `TracerProvider` that already exists (created by the user, LiteLLM
or another vendor), or installs one. It is idempotent: a second call returns the first
handle. `OTEL_SDK_DISABLED=true` returns a handle that does nothing.
"""

from __future__ import annotations

import atexit
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from . import config as cfg
from .exporter import HoneyHiveSpanExporter
from .processor import HoneyHiveSpanProcessor
from .stats import ExportStats

logger = logging.getLogger("honeyhive_otel")

_lock = threading.Lock()
_handle: Handle | None = None


@dataclass
class Handle:
    """What `configure()` returns: flush, shut down, and read export statistics."""

    provider: TracerProvider | None = None
    processor: SpanProcessor | None = None
    exporter: HoneyHiveSpanExporter | None = None
    installed_provider: bool = False
    stats_source: ExportStats = field(default_factory=ExportStats)
    _shutdown: bool = False

    @property
    def enabled(self) -> bool:
        return self.processor is not None

    @property
    def session_id(self) -> str | None:
        return self.exporter.sessions.default_session_id if self.exporter else None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        if self.processor is None or self._shutdown:
            return True
        return self.processor.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        """Flush and stop exporting. Spans ended afterwards are counted as dropped."""
        global _handle
        if self._shutdown:
            return
        self._shutdown = True
        if self.processor is not None:
            self.force_flush(timeout_millis)
            self.processor.shutdown()
        with _lock:
            if _handle is self:
                _handle = None

    def stats(self) -> dict[str, Any]:
        return self.stats_source.snapshot()


def configure(
    api_key: str | None = None,
    server_url: str | None = None,
    project: str | None = None,
    source: str | None = None,
    session_name: str | None = None,
    *,
    session_id: str | None = None,
    session_mode: str = "process",
    tracer_provider: TracerProvider | None = None,
    debug: bool | None = None,
    timeout: float | None = None,
    merge_window: float = 2.0,
    allow_insecure_http: bool = False,
    **exporter_options: Any,
) -> Handle:
    """Send this process's LLM spans to HoneyHive; see the README for every option.

    `project` is informational only: HoneyHive's API key decides the project.
    """
    global _handle
    with _lock:
        if _handle is not None:
            logger.debug("honeyhive_otel.configure() called again: returning the existing handle")
            return _handle
        if cfg.env_bool("OTEL_SDK_DISABLED"):
            logger.info("OTEL_SDK_DISABLED is true: honeyhive-otel exports nothing")
            return Handle()
        stats = ExportStats()
        exporter = HoneyHiveSpanExporter(
            api_key=api_key, server_url=server_url, source=source, session_id=session_id,
            session_name=session_name, session_mode=session_mode, debug=debug, timeout=timeout,
            merge_window=merge_window, allow_insecure_http=allow_insecure_http, stats=stats,
            session_metadata={"project": project} if project else None, **exporter_options,
        )
        processor = HoneyHiveSpanProcessor(exporter, stats=stats)
        provider, installed = _attach(processor, tracer_provider)
        handle = Handle(provider=provider, processor=processor, exporter=exporter, installed_provider=installed,
                        stats_source=stats)
        if not installed:
            # We do not own the provider's shutdown: flush at exit ourselves.
            atexit.register(handle.shutdown)
        _handle = handle
        return handle


def _attach(processor: SpanProcessor, tracer_provider: TracerProvider | None) -> tuple[TracerProvider, bool]:
    """Add the processor to the given or global SDK provider, else install a new global one."""
    if tracer_provider is not None:
        tracer_provider.add_span_processor(processor)
        return tracer_provider, False
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        current.add_span_processor(processor)
        return current, False
    provider = TracerProvider(resource=Resource.create())
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:  # someone else won a race: attach to theirs
        other = trace.get_tracer_provider()
        if isinstance(other, TracerProvider):
            other.add_span_processor(processor)
            return other, False
    return provider, True
