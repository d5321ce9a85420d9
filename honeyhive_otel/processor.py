"""`HoneyHiveSpanProcessor`: enriches spans from context, then queues them for export.

On the application thread it does only cheap work: stamp context values at span start,
and at span end a queue put into the SDK's `BatchSpanProcessor` (which honours the
`OTEL_BSP_*` variables). Every span the queue drops is counted.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from opentelemetry import baggage
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from .sessions import BAGGAGE_SESSION_KEY
from .stats import ExportStats, RateLimitedLog, logger

BAGGAGE_SESSION_KEYS = ("honeyhive.session_id", "honeyhive_session_id", "session_id")


class HoneyHiveSpanProcessor(SpanProcessor):
    """Wraps `BatchSpanProcessor(exporter)`; `span_processor=` replaces the inner processor."""

    def __init__(self, exporter: SpanExporter | None = None, *, span_processor: SpanProcessor | None = None,
                 stats: ExportStats | None = None) -> None:
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

    # ----- SpanProcessor ------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            self._stamp_baggage(span, parent_context)
            self.inner.on_start(span, parent_context=parent_context)
        except Exception:  # noqa: BLE001 - never raise into the application
            logger.debug("on_start failed", exc_info=True)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            if self._shutdown:
                self.stats.drop("after_shutdown")
                return
            queue = self._queue
            if queue is not None and self._queue_max is not None and len(queue) >= self._queue_max:
                # The SDK's deque drops its oldest span to make room: count it.
                self.stats.drop("queue_full")
                self._log.warning("queue_full", "honeyhive-otel export queue is full (%d spans): dropping the "
                                  "oldest span. Raise OTEL_BSP_MAX_QUEUE_SIZE or check the connection.",
                                  self._queue_max)
            self.inner.on_end(span)
        except Exception:  # noqa: BLE001
            logger.debug("on_end failed", exc_info=True)

    def shutdown(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        try:
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
        return result[0] and self.stats.dropped_total == dropped_before

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
                return


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
