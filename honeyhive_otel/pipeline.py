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
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

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
    logger_provider: Any = None  # the SDK LoggerProvider that feeds GenAI log records to the exporter
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
        if self.exporter is not None:
            self.exporter.log_processor.shutdown()
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
    session_mode: str | None = None,
    tracer_provider: TracerProvider | None = None,
    span_filter: Any = None,
    blocked_scopes: Any = None,
    sample_ratio: float | None = None,
    debug: bool | None = None,
    timeout: float | None = None,
    merge_window: float = 2.0,
    allow_insecure_http: bool = False,
    logger_provider: Any = None,
    capture_log_records: bool = True,
    **exporter_options: Any,
) -> Handle:
    """Send this process's LLM spans to HoneyHive; see the README for every option.

    `project` is informational only: HoneyHive's API key decides the project.
    `capture_log_records` joins the GenAI content that official instrumentations emit as log
    records to their spans (it attaches to the given or global SDK LoggerProvider, else
    installs one).
    """
    global _handle
    with _lock:
        if _handle is not None:
            logger.debug("honeyhive_otel.configure() called again: returning the existing handle")
            return _handle
        if cfg.env_bool("OTEL_SDK_DISABLED"):
            logger.info("OTEL_SDK_DISABLED is true: honeyhive-otel exports nothing")
            return Handle()
        if sample_ratio is not None:
            _ratio(sample_ratio)  # a bad value fails before anything is attached
        stats = ExportStats()
        exporter = HoneyHiveSpanExporter(
            api_key=api_key, server_url=server_url, source=source, session_id=session_id,
            session_name=session_name, session_mode=session_mode, debug=debug, timeout=timeout,
            merge_window=merge_window, allow_insecure_http=allow_insecure_http, stats=stats,
            session_metadata={"project": project} if project else None, **exporter_options,
        )
        processor = HoneyHiveSpanProcessor(exporter, stats=stats, span_filter=span_filter,
                                           blocked_scopes=blocked_scopes)
        provider, installed = _attach(processor, tracer_provider, sample_ratio)
        if sample_ratio is not None and not installed:
            # The provider is not ours, so neither is its sampler: sample whole traces at export.
            processor.set_sample_ratio(sample_ratio)
        logs = _attach_logs(exporter.log_processor, logger_provider) if capture_log_records else None
        handle = Handle(provider=provider, processor=processor, exporter=exporter, installed_provider=installed,
                        logger_provider=logs, stats_source=stats)
        if not installed:
            # We do not own the provider's shutdown: flush at exit ourselves.
            atexit.register(handle.shutdown)
        try:  # LiteLLM (an optional extra): a no-op without it, and it never raises
            from .litellm.hooks import install as install_litellm

            install_litellm(handle)
        except Exception:  # noqa: BLE001
            logger.debug("LiteLLM hooks not installed", exc_info=True)
        _handle = handle
        return handle


def current_handle() -> Handle | None:
    """The handle of the active `configure()`, if any (the context API uses its provider)."""
    return _handle


def _attach(processor: SpanProcessor, tracer_provider: TracerProvider | None,
            sample_ratio: float | None = None) -> tuple[TracerProvider, bool]:
    """Add the processor to the given or global SDK provider, else install a new global one.

    An installed provider samples whole traces: `ParentBased(TraceIdRatioBased(sample_ratio))`,
    else the SDK's own reading of OTEL_TRACES_SAMPLER/OTEL_TRACES_SAMPLER_ARG.
    """
    if tracer_provider is not None:
        tracer_provider.add_span_processor(processor)
        return tracer_provider, False
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        current.add_span_processor(processor)
        return current, False
    sampler = ParentBased(TraceIdRatioBased(_ratio(sample_ratio))) if sample_ratio is not None else None
    provider = TracerProvider(resource=Resource.create(), sampler=sampler)
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:  # someone else won a race: attach to theirs
        other = trace.get_tracer_provider()
        if isinstance(other, TracerProvider):
            other.add_span_processor(processor)
            return other, False
    return provider, True


def _ratio(value: float) -> float:
    ratio = float(value)
    if not 0.0 <= ratio <= 1.0:
        raise cfg.ConfigurationError(f"sample_ratio must be between 0 and 1, got {value}")
    return ratio


def _attach_logs(processor: Any, logger_provider: Any) -> Any:
    """Add the GenAI log-record processor to the given or global SDK LoggerProvider, else install one.

    Without an SDK LoggerProvider the content that official GenAI instrumentations emit as
    log records is discarded. Failing here must not fail configure(): spans still export.
    """
    try:
        from opentelemetry._logs import get_logger_provider, set_logger_provider
        from opentelemetry.sdk._logs import LoggerProvider

        if logger_provider is not None:
            logger_provider.add_log_record_processor(processor)
            return logger_provider
        current = get_logger_provider()
        if isinstance(current, LoggerProvider):
            current.add_log_record_processor(processor)
            return current
        provider = LoggerProvider(resource=Resource.create())
        provider.add_log_record_processor(processor)
        set_logger_provider(provider)
        current = get_logger_provider()
        if current is not provider and isinstance(current, LoggerProvider):  # someone else won a race
            current.add_log_record_processor(processor)
            return current
        return provider
    except Exception:  # noqa: BLE001
        logger.debug("could not attach the GenAI log-record processor", exc_info=True)
        return None
