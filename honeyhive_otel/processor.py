"""`HoneyHiveSpanProcessor`: enriches spans from context, queues them, filters noise on the export thread.

The application thread does almost nothing beyond what the SDK's `BatchSpanProcessor` does:
at span start, stamp the context API's values and W3C baggage on the span (LiteLLM's
callback spans included: they start in a copy of the caller's context; nothing to do
outside a scope) and record the span by reference for the filter; at span end, the
shutdown and sampling checks, then the queue put (the SDK queue honours `OTEL_BSP_*`).
Whether a span is exported (the `filtering` rule, on complete attributes) and the
re-parenting around filtered ancestors run on the export thread, in `GatedExporter`, in
front of the real exporter; with a user-supplied `span_processor=` they run at span end.
Every span the queue drops is counted; filtered and sampled-out spans are counted apart,
as choices rather than losses.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry import baggage
from opentelemetry.context import Context, get_current
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from . import config as cfg
from . import gil
from .context import _KEY as _VALUES_KEY
from .context import ContextValues, current
from .filtering import MAX_RUNNING_SPANS, RULES, SpanFilter, SpanGate
from .sessions import BAGGAGE_SESSION_KEY, BAGGAGE_SESSION_NAME, BAGGAGE_SESSION_NAME_KEY
from .stats import ExportStats, RateLimitedLog, logger

_SHUTDOWN_TIMEOUT_S = 30.0  # the SDK BatchSpanProcessor's own shutdown timeout
BAGGAGE_SESSION_KEYS = ("honeyhive.session_id", "honeyhive_session_id", "session_id")
BAGGAGE_SESSION_NAME_KEYS = (BAGGAGE_SESSION_NAME, "honeyhive_session_name", "session_name")
_TRACE_ID_MASK = (1 << 64) - 1
try:  # where `baggage.get_all` looks: read directly, on the hot path
    from opentelemetry.baggage import _BAGGAGE_KEY
except ImportError:  # pragma: no cover - a future API without it: the public call
    _BAGGAGE_KEY = None


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
        self.stats = stats or getattr(exporter, "stats", None) or ExportStats()
        self.gate = SpanGate(_resolve_filter(span_filter), _resolve_blocked(blocked_scopes))
        own = span_processor is None
        if span_processor is None:
            if exporter is None:
                raise ValueError("HoneyHiveSpanProcessor needs an exporter or a span_processor")
            span_processor = _batch_processor(GatedExporter(exporter, self.gate, self.stats))
        self.exporter = exporter
        self.inner = span_processor
        self._log = RateLimitedLog()
        self._queue = _bsp_queue(span_processor)
        self._queue_max = getattr(self._queue, "maxlen", None)
        self._shutdown = False
        self._sample_bound = _sample_bound(sample_ratio)
        # Our own BatchSpanProcessor: the gate runs on its export thread, this thread only records
        # started spans in `gate.live` (capped; the export thread trims it to `max_live`). The
        # SDK's on_start does nothing, so it is not called.
        self._live: dict[int, Any] | None = self.gate.live if own else None
        self.gate.max_live = (self._queue_max or 2048) + MAX_RUNNING_SPANS
        self._live_cap = 2 * self.gate.max_live
        self._forward_start = not own
        gil.report_activity()  # span starts tell the export thread when to hand the GIL over
        if own and hasattr(os, "register_at_fork"):
            # The SDK empties its queue in a forked child: forget the parent's spans with it.
            after_fork = weakref.WeakMethod(self._after_fork_in_child)
            os.register_at_fork(after_in_child=lambda: (method := after_fork()) is not None and method())

    def _after_fork_in_child(self) -> None:
        self.gate.live.clear()

    def set_sample_ratio(self, ratio: float | None) -> None:
        """Export only this fraction of traces (whole traces, by trace id); None exports all."""
        self._sample_bound = _sample_bound(ratio)

    # ----- SpanProcessor ------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        gil.note_activity()
        try:
            # The cheapest checks first: outside any scope there is nothing to stamp.
            ctx = get_current() if parent_context is None else parent_context
            values = ctx.get(_VALUES_KEY)
            bag = ctx.get(_BAGGAGE_KEY) if _BAGGAGE_KEY is not None else baggage.get_all(parent_context)
            if values is None and parent_context is not None:
                # A context built elsewhere (extracted from headers) carries no values of ours; the
                # span is still started inside the caller's scope, so the current values apply.
                values = current()
            if values is not None or bag:
                self._enrich(span, values, bag)
            live = self._live
            if live is not None:
                if len(live) < self._live_cap:
                    live[span.context.span_id] = span
            else:
                self.gate.on_start(span, values.session_id if isinstance(values, ContextValues) else None)
        except Exception:  # noqa: BLE001 - never raise into the application; export it unenriched
            logger.debug("enrichment failed", exc_info=True)
        if self._forward_start:
            try:
                self.inner.on_start(span, parent_context=parent_context)
            except Exception:  # noqa: BLE001
                logger.debug("on_start failed", exc_info=True)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            context = span.context
            if self._shutdown:
                self._forget(span)
                self.stats.drop("after_shutdown")
                return
            if not context.trace_flags.sampled:
                self._forget(span)
                return  # the provider's sampler recorded it without sampling: nothing to export
            if self._sample_bound is not None and (context.trace_id & _TRACE_ID_MASK) >= self._sample_bound:
                self._forget(span)
                self.stats.add("spans_sampled_out")
                return
            if self._live is None:  # a user-supplied span_processor: filter here, before it
                try:
                    forwarded = self.gate.on_end(span)
                except Exception:  # noqa: BLE001 - a filtering bug must not lose the span
                    logger.debug("filtering failed", exc_info=True)
                    forwarded = span
                if forwarded is None:
                    self.stats.add("spans_filtered")
                    return
                span = forwarded
            queue = self._queue
            if queue is not None and self._queue_max is not None and len(queue) >= self._queue_max:
                self._queue_full(queue)
            self.inner.on_end(span)
        except Exception:  # noqa: BLE001
            logger.debug("on_end failed", exc_info=True)

    def _forget(self, span: ReadableSpan) -> None:
        """A span that will not be exported: drop its reference (without the gate's lock, when we can)."""
        if self._live is not None:
            self._live.pop(span.context.span_id, None)
        else:
            self.gate.discard(span)

    def _queue_full(self, queue: Any) -> None:
        """The SDK's deque drops its oldest span to make room: count it, and stop tracking it."""
        self.stats.drop("queue_full")
        self._log.warning("queue_full", "honeyhive-otel export queue is full (%d spans): dropping the "
                          "oldest span. Raise OTEL_BSP_MAX_QUEUE_SIZE or check the connection.", self._queue_max)
        if self._live is not None:
            try:
                oldest = queue[-1]  # what appendleft is about to push out (unless the export thread took it)
            except IndexError:
                return
            self._live.pop(oldest.context.span_id, None)

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
    @staticmethod
    def _enrich(span: Span, values: Any, bag: Any) -> None:
        """The context API's values, then W3C baggage `honeyhive.session_id`/`session_id`, on the span."""
        if isinstance(values, ContextValues) and values.attributes:
            span.set_attributes(values.attributes)
        if isinstance(bag, Mapping) and bag:
            _stamp_baggage(span, bag)


def _stamp_baggage(span: Span, values: Mapping[str, Any]) -> None:
    """W3C baggage `honeyhive.session_id`/`session_id` becomes the span's baggage session."""
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


class GatedExporter(SpanExporter):
    """The real exporter behind the span gate: filtering and re-parenting, on the export thread.

    For each batch the `BatchSpanProcessor` hands over, the gate decides which spans are
    exported (counting the others in `spans_filtered`) and re-parents the kept ones; the
    real exporter gets the rest. Anything else (`force_flush`, `shutdown`, attributes such
    as `stats` or `begin_shutdown`) is the real exporter's.
    """

    def __init__(self, exporter: SpanExporter, gate: SpanGate, stats: ExportStats) -> None:
        self.exporter = exporter
        self.gate = gate
        self.stats = stats
        self._shutdown_takes_timeout = _takes_timeout(getattr(exporter, "shutdown", None))

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            kept, filtered = self.gate.export_batch(spans)
        except Exception:  # noqa: BLE001 - a filtering bug must not lose the spans
            logger.debug("filtering failed", exc_info=True)
            kept, filtered = list(spans), 0
        if filtered:
            self.stats.add("spans_filtered", filtered)
        if not kept:
            return SpanExportResult.SUCCESS
        return self.exporter.export(kept)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        flush = getattr(self.exporter, "force_flush", None)
        return True if flush is None else bool(flush(timeout_millis))

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        # The SDK passes its remaining time only to exporters whose shutdown names `timeout_millis`.
        if self._shutdown_takes_timeout:
            self.exporter.shutdown(timeout_millis=timeout_millis)  # type: ignore[call-arg]
        else:
            self.exporter.shutdown()

    def __getattr__(self, name: str) -> Any:
        if name == "exporter":  # not yet set (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.exporter, name)


def _takes_timeout(method: Any) -> bool:
    try:
        return "timeout_millis" in inspect.getfullargspec(method).args
    except TypeError:
        return False


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
