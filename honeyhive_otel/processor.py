"""`HoneyHiveSpanProcessor`: enriches spans from context, filters noise, then queues spans for export.

On the application thread it does only cheap work: at span start, stamp the context API's
values and W3C baggage on the span (LiteLLM's callback spans included: they start in a copy
of the caller's context); at span end, decide whether the span is exported (the
`filtering` rule, on complete attributes), re-parent it around filtered ancestors, and put
it in the SDK's `BatchSpanProcessor` queue (which honours the `OTEL_BSP_*` variables).
Every span the queue drops is counted; filtered and sampled-out spans are counted apart,
as choices rather than losses.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from opentelemetry import baggage
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from . import config as cfg
from .context import values_for_span
from .filtering import RULES, SpanFilter, SpanGate
from .sessions import BAGGAGE_SESSION_KEY, BAGGAGE_SESSION_NAME, BAGGAGE_SESSION_NAME_KEY
from .stats import ExportStats, RateLimitedLog, logger

_SHUTDOWN_TIMEOUT_S = 30.0  # the SDK BatchSpanProcessor's own shutdown timeout
BAGGAGE_SESSION_KEYS = ("honeyhive.session_id", "honeyhive_session_id", "session_id")
BAGGAGE_SESSION_NAME_KEYS = (BAGGAGE_SESSION_NAME, "honeyhive_session_name", "session_name")
_TRACE_ID_MASK = (1 << 64) - 1


class HoneyHiveSpanProcessor(SpanProcessor):
    """Wraps `BatchSpanProcessor(exporter)`; `span_processor=` replaces the inner processor.

    `span_filter(span) -> True | False | None` and `blocked_scopes` choose what is exported
    (see `filtering`; default: AI spans and the application's own spans, not HTTP/DB noise;
    else the `HONEYHIVE_SPAN_FILTER` (`default`, `ai`, `all`) and `HONEYHIVE_BLOCKED_SCOPES`
    variables). `sample_ratio` keeps that fraction of traces, whole traces only, decided from
    the trace id exactly as `TraceIdRatioBased` does; prefer the provider's sampler
    (`configure(sample_ratio=...)` installs one) so unsampled spans cost nothing.
    """

    def __init__(self, exporter: SpanExporter | None = None, *, span_processor: SpanProcessor | None = None,
                 stats: ExportStats | None = None, span_filter: SpanFilter | str | None = None,
                 blocked_scopes: Iterable[str] | None = None, sample_ratio: float | None = None) -> None:
        if span_processor is None:
            if exporter is None:
                raise ValueError("HoneyHiveSpanProcessor needs an exporter or a span_processor")
            span_processor = _batch_processor(exporter)
        self.exporter = exporter
        self.inner = span_processor
        self.stats = stats or getattr(exporter, "stats", None) or ExportStats()
        self._log = RateLimitedLog()
        self._queue = _bsp_queue(span_processor)
        self._queue_max = getattr(self._queue, "maxlen", None)
        self._shutdown = False
        self.gate = SpanGate(_resolve_filter(span_filter), _resolve_blocked(blocked_scopes))
        self._sample_bound = _sample_bound(sample_ratio)

    def set_sample_ratio(self, ratio: float | None) -> None:
        """Export only this fraction of traces (whole traces, by trace id); None exports all."""
        self._sample_bound = _sample_bound(ratio)

    # ----- SpanProcessor ------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            values = values_for_span(parent_context)
            if values is not None and values.attributes:
                span.set_attributes(values.attributes)
            self._stamp_baggage(span, parent_context)
            self.gate.on_start(span, values.session_id if values is not None else None)
        except Exception:  # noqa: BLE001 - never raise into the application; export it unenriched
            logger.debug("enrichment failed", exc_info=True)
        try:
            self.inner.on_start(span, parent_context=parent_context)
        except Exception:  # noqa: BLE001
            logger.debug("on_start failed", exc_info=True)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            if self._shutdown:
                self.stats.drop("after_shutdown")
                return
            if not span.context.trace_flags.sampled:
                self.gate.discard(span)
                return  # the provider's sampler recorded it without sampling: nothing to export
            if self._sample_bound is not None and (span.context.trace_id & _TRACE_ID_MASK) >= self._sample_bound:
                self.gate.discard(span)
                self.stats.add("spans_sampled_out")
                return
            try:
                forwarded = self.gate.on_end(span)
            except Exception:  # noqa: BLE001 - a filtering bug must not lose the span
                logger.debug("filtering failed", exc_info=True)
                forwarded = span
            if forwarded is None:
                self.stats.add("spans_filtered")
                return
            queue = self._queue
            if queue is not None and self._queue_max is not None and len(queue) >= self._queue_max:
                # The SDK's deque drops its oldest span to make room: count it.
                self.stats.drop("queue_full")
                self._log.warning("queue_full", "honeyhive-otel export queue is full (%d spans): dropping the "
                                  "oldest span. Raise OTEL_BSP_MAX_QUEUE_SIZE or check the connection.",
                                  self._queue_max)
            self.inner.on_end(forwarded)
        except Exception:  # noqa: BLE001
            logger.debug("on_end failed", exc_info=True)

    def shutdown(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        try:
            # The SDK waits for its export thread before it shuts the exporter down: cap the
            # exporter's deadline first, so a hanging server cannot hold shutdown past its timeout.
            begin = getattr(self.exporter, "begin_shutdown", None)
            if begin is not None:
                begin(_SHUTDOWN_TIMEOUT_S)
            self.inner.shutdown()
        except Exception:  # noqa: BLE001
            logger.debug("shutdown failed", exc_info=True)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export everything queued or held, returning within `timeout_millis` even if the server hangs."""
        if self._shutdown:
            return False
        deadline = time.monotonic() + timeout_millis / 1000
        done = threading.Event()
        result: list[bool] = [False]

        dropped_before = self.stats.dropped_total
        spooled_before = self.stats.spooled  # kept on disk for later is not delivered either

        def flush() -> None:
            try:
                ok = self.inner.force_flush(timeout_millis)
                remaining = max(0, int((deadline - time.monotonic()) * 1000))
                if self.exporter is not None and hasattr(self.exporter, "force_flush"):
                    ok = self.exporter.force_flush(remaining) and ok
                result[0] = bool(ok)
            except Exception:  # noqa: BLE001
                logger.debug("force_flush failed", exc_info=True)
            finally:
                done.set()

        threading.Thread(target=flush, name="HoneyHiveFlush", daemon=True).start()
        if not done.wait(max(0.0, deadline - time.monotonic())):
            self._log.warning("flush_timeout", "honeyhive-otel force_flush timed out after %d ms", timeout_millis)
            return False
        return result[0] and self.stats.dropped_total == dropped_before and self.stats.spooled == spooled_before

    # ----- enrichment ---------------------------------------------------------------
    def _stamp_baggage(self, span: Span, parent_context: Context | None) -> None:
        """W3C baggage `honeyhive.session_id`/`session_id` becomes the span's baggage session."""
        values = baggage.get_all(parent_context)
        if not values:
            return
        for key in BAGGAGE_SESSION_KEYS:
            value = values.get(key)
            if value:
                span.set_attribute(BAGGAGE_SESSION_KEY, str(value))
                break
        for key in BAGGAGE_SESSION_NAME_KEYS:
            value = values.get(key)
            if value:
                span.set_attribute(BAGGAGE_SESSION_NAME_KEY, str(value))
                break


def _resolve_filter(span_filter: SpanFilter | str | None) -> SpanFilter | None:
    """A callable, a rule name (`default`, `ai`, `all`), or HONEYHIVE_SPAN_FILTER."""
    if callable(span_filter):
        return span_filter
    name = (span_filter or cfg.env("HONEYHIVE_SPAN_FILTER") or "default").strip().lower()
    if name not in RULES:
        raise cfg.ConfigurationError(f"span_filter must be a callable or one of {sorted(RULES)}, got {name!r}")
    return None if name == "default" else RULES[name]


def _resolve_blocked(blocked_scopes: Iterable[str] | None) -> list[str]:
    if blocked_scopes is not None:
        if isinstance(blocked_scopes, str):
            blocked_scopes = blocked_scopes.split(",")
        return [str(scope).strip() for scope in blocked_scopes if str(scope).strip()]
    return [scope.strip() for scope in (cfg.env("HONEYHIVE_BLOCKED_SCOPES") or "").split(",") if scope.strip()]


def _sample_bound(ratio: float | None) -> int | None:
    """The TraceIdRatioBased bound for `ratio`; None when every trace is kept."""
    if ratio is None:
        return None
    ratio = float(ratio)
    if not 0.0 <= ratio <= 1.0:
        raise cfg.ConfigurationError(f"sample_ratio must be between 0 and 1, got {ratio}")
    return None if ratio >= 1.0 else round(ratio * (_TRACE_ID_MASK + 1))


def processor_from_env(**options: Any) -> HoneyHiveSpanProcessor:
    """A `HoneyHiveSpanProcessor` and its exporter, for a `TracerProvider` you build yourself.

    Options of the processor (`span_filter`, `blocked_scopes`, `sample_ratio`) and of
    `HoneyHiveSpanExporter` (`api_key`, `server_url`, `capture_content`, `redact`, ...) are
    accepted; anything not given comes from the HONEYHIVE_*/OTEL_* variables.

        provider.add_span_processor(honeyhive_otel.processor_from_env(span_filter="all"))
    """
    from .exporter import HoneyHiveSpanExporter  # late: the exporter module does not need the processor

    processor_options = {key: options.pop(key) for key in ("span_filter", "blocked_scopes", "sample_ratio")
                         if key in options}
    exporter = HoneyHiveSpanExporter(**options)
    return HoneyHiveSpanProcessor(exporter, stats=exporter.stats, **processor_options)


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    try:
        return int(float(value)) if value else None
    except ValueError:
        logger.warning("ignoring %s=%r: not a number", name, value)
        return None


def _batch_processor(exporter: SpanExporter) -> BatchSpanProcessor:
    """The SDK's BatchSpanProcessor with the OTEL_BSP_* variables, made consistent.

    The SDK raises when the batch size exceeds the queue size (for example only
    OTEL_BSP_MAX_QUEUE_SIZE=64 set); a misconfiguration must not crash the application,
    so the batch size is clamped to the queue size.
    """
    queue = _env_int("OTEL_BSP_MAX_QUEUE_SIZE")
    queue = queue if queue and queue > 0 else 2048
    batch = _env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
    batch = min(batch if batch and batch > 0 else 512, queue)
    delay = _env_int("OTEL_BSP_SCHEDULE_DELAY")
    timeout = _env_int("OTEL_BSP_EXPORT_TIMEOUT")
    return BatchSpanProcessor(
        exporter, max_queue_size=queue, max_export_batch_size=batch,
        schedule_delay_millis=delay if delay is not None and delay >= 0 else 5000,
        export_timeout_millis=timeout if timeout is not None and timeout >= 0 else 30000,
    )


def _bsp_queue(processor: Any) -> Any:
    """The SDK BatchSpanProcessor's deque, to count drops; None for other processors."""
    batch = getattr(processor, "_batch_processor", None)
    return getattr(batch, "_queue", None)
