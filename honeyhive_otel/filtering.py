"""Which spans reach HoneyHive, and where a span goes when its parent did not.

Default rule (`default_rule`): a span is exported when it is an AI span (GenAI `gen_ai.*`
attributes or events, OpenInference, OpenLIT, Traceloop `traceloop.*`/`llm.*`, LiteLLM,
HoneyHive's own attributes, the context API's session span, or a known AI instrumentation
scope), or when it is the application's own span (no transport or database semantics, not
from a known infrastructure instrumentation). HTTP servers and clients, web frameworks,
databases, caches, queues and RPC, whether recognised by their instrumentation scope or by
their `http.*`/`url.*`/`db.*`/`rpc.*`/`messaging.*` attributes, are dropped as noise.
`ai_only` is the strict rule (application spans dropped too); `export_all` keeps everything.

`span_filter(span) -> True | False | None` overrides the rule (None: use the rule), then
`blocked_scopes` (exact scope names, or prefixes ending in "*") drop whole instrumentations.

Orphan repair (`SpanGate`): a kept span whose parent was dropped is forwarded as a copy
whose parent is its nearest kept ancestor, or no parent (the HoneyHive session) when there
is none. Parents usually end after their children, so when a child is judged its parent
may still be running: the parent's fate is then decided on the running parent (held by
reference since its start) and that decision is remembered: a parent judged "kept" this
way is exported even if it would otherwise be dropped, so no child ever points at a
missing event. A parent in another
process (remote) is trusted only by the span that received it directly: when this
process's own entry span (say its HTTP server span) was dropped as transport noise, the
caller's matching transport span is assumed dropped too, and the span hangs from the
session. A span is never re-parented across a session boundary (nested `session()`): a
span's session is the context API's `honeyhive.context.session_id` stamped on it.

Where the gate runs: behind `HoneyHiveSpanProcessor`'s own `BatchSpanProcessor`, on the
export thread (`SpanGate.export_batch`, called by `GatedExporter` for each batch). The
application thread then only records each started span by reference in `SpanGate.live`
(span id -> span; a plain dict, whose set and pop are atomic), so a parent that is still
running, or ended but not yet exported, can be judged when its child is; the export thread
forgets each span as it handles it and trims spans that never end. A parent that has
already ended by then is judged on its final attributes. With a user-supplied
`span_processor=` the gate runs on the application thread instead (`on_start`/`on_end`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext

from .gil import yielding
from .sessions import CONTEXT_SESSION_KEY
from .stats import RateLimitedLog, logger

SpanFilter = Callable[[Any], "bool | None"]

# Attribute prefixes that mark an AI span. Our own `honeyhive.context.*`/`honeyhive.baggage.*`
# stamps are excluded: every span started inside a session carries them.
AI_ATTRIBUTE_PREFIXES = (
    "gen_ai.", "llm.", "traceloop.", "openinference.", "embedding.", "retrieval.", "reranker.", "tool.",
    "tool_call.", "input.value", "output.value", "litellm.", "ai.", "honeyhive_", "agent.", "graph.node.",
)
OWN_STAMP_PREFIXES = ("honeyhive.context.", "honeyhive.baggage.")
AI_EVENT_PREFIXES = ("gen_ai.",)
# Instrumentation scopes of AI libraries (prefix match, lowercase).
AI_SCOPE_PREFIXES = (
    "honeyhive_otel", "litellm", "openinference", "openlit", "traceloop", "langchain", "langgraph", "llama_index",
    "llamaindex", "langfuse", "haystack", "crewai", "autogen", "dspy", "pydantic-ai", "pydantic_ai",
    "strands-agents", "openai.agents", "openai-agents", "google.adk", "gcp.vertex.agent", "semantic_kernel",
    "opentelemetry.util.genai",
    "opentelemetry.instrumentation.openai", "opentelemetry.instrumentation.anthropic",
    "opentelemetry.instrumentation.bedrock", "opentelemetry.instrumentation.cohere",
    "opentelemetry.instrumentation.google_generativeai", "opentelemetry.instrumentation.google_genai",
    "opentelemetry.instrumentation.vertexai", "opentelemetry.instrumentation.mistralai",
    "opentelemetry.instrumentation.groq", "opentelemetry.instrumentation.ollama",
    "opentelemetry.instrumentation.together", "opentelemetry.instrumentation.replicate",
    "opentelemetry.instrumentation.transformers", "opentelemetry.instrumentation.watsonx",
    "opentelemetry.instrumentation.alephalpha", "opentelemetry.instrumentation.sagemaker",
    "opentelemetry.instrumentation.langchain", "opentelemetry.instrumentation.llamaindex",
    "opentelemetry.instrumentation.haystack", "opentelemetry.instrumentation.crewai",
    "opentelemetry.instrumentation.mcp", "opentelemetry.instrumentation.openai_agents",
    "opentelemetry.instrumentation.agno", "opentelemetry.instrumentation.writer",
    "opentelemetry.instrumentation.chromadb", "opentelemetry.instrumentation.pinecone",
    "opentelemetry.instrumentation.qdrant", "opentelemetry.instrumentation.weaviate",
    "opentelemetry.instrumentation.milvus", "opentelemetry.instrumentation.lancedb",
    "opentelemetry.instrumentation.marqo",
)
# Attribute prefixes of transport, database and messaging semantics.
INFRA_ATTRIBUTE_PREFIXES = ("http.", "url.", "db.", "rpc.", "messaging.", "faas.")
# Any other `opentelemetry.instrumentation.*` scope is infrastructure (requests, fastapi, ...).
INFRA_SCOPE_PREFIXES = ("opentelemetry.instrumentation.", "io.opentelemetry.", "fastapi", "django", "flask",
                        "starlette", "uvicorn", "sqlalchemy", "celery", "redis", "botocore", "aiohttp")

MAX_TRACES = 4_096
MAX_NODES = 50_000
# Spans held by reference for the export thread (`SpanGate.live`): the processor allows its
# queue size plus this many running spans; spans that never end are judged and forgotten.
MAX_RUNNING_SPANS = 4_096


# ----- rules ------------------------------------------------------------------------------
def _scope_name(span: Any) -> str:
    scope = getattr(span, "instrumentation_scope", None)
    return str(getattr(scope, "name", "") or "").lower()


def _attribute_keys(span: Any) -> list[str]:
    try:
        return list(span.attributes or ())
    except Exception:  # noqa: BLE001 - a hostile mapping must not break the decision
        return []


def is_ai_span(span: Any) -> bool:
    """True for a span any AI convention describes, or from an AI instrumentation scope."""
    scope = _scope_name(span)
    if scope.startswith(AI_SCOPE_PREFIXES):
        return True
    for key in _attribute_keys(span):
        if key.startswith(AI_ATTRIBUTE_PREFIXES) or (
                key.startswith("honeyhive.") and not key.startswith(OWN_STAMP_PREFIXES)):
            return True
        if key in ("tag.tags", "input.mime_type"):
            return True
    for event in getattr(span, "events", None) or ():
        if str(getattr(event, "name", "")).startswith(AI_EVENT_PREFIXES):
            return True
    resource = getattr(getattr(span, "resource", None), "attributes", None) or {}
    return str(resource.get("telemetry.sdk.name", "")).lower() == "openlit"


def is_infrastructure(span: Any) -> bool:
    """True for transport/database/messaging spans: HTTP, web frameworks, SQL, caches, queues, RPC."""
    if _scope_name(span).startswith(INFRA_SCOPE_PREFIXES):
        return True
    return any(key.startswith(INFRA_ATTRIBUTE_PREFIXES) for key in _attribute_keys(span))


def default_rule(span: Any) -> bool:
    """AI spans and the application's own spans are exported; infrastructure noise is not."""
    return is_ai_span(span) or not is_infrastructure(span)


def ai_only(span: Any) -> bool:
    """The strict rule, for `span_filter=`: only AI spans (the application's own spans dropped too)."""
    return is_ai_span(span)


def export_all(span: Any) -> bool:
    """For `span_filter=`: export every span."""
    return True


RULES: dict[str, SpanFilter] = {"default": default_rule, "ai": ai_only, "ai_only": ai_only, "all": export_all}


# ----- the gate -----------------------------------------------------------------------------
class _Node:
    """What is known of one span of a trace: its parent, its fate, its session."""

    __slots__ = ("parent", "context", "live", "session", "decision", "provisional", "sticky")

    def __init__(self, parent: SpanContext | None, context: SpanContext | None, live: Any, session: str | None):
        self.parent = parent
        self.context = context
        self.live = live  # the running span, until it is judged or ends: its fate can be judged before its end
        self.session = session
        self.decision: bool | None = None  # final, at its own end
        self.provisional: bool | None = None  # judged while running, at a child's end
        self.sticky = False  # a child was attached to it: it must be exported


def span_session(span: Any) -> str | None:
    """The context API's session stamped on `span` (`honeyhive.context.session_id`), if any."""
    try:
        attributes = span.attributes
        value = attributes.get(CONTEXT_SESSION_KEY) if attributes else None
    except Exception:  # noqa: BLE001 - a hostile mapping must not break the decision
        return None
    return value if isinstance(value, str) and value else None


class SpanGate:
    """Decides whether each ended span is exported, and re-parents kept spans around dropped ones.

    Two ways to drive it. On the export thread (`export_batch`, one call per batch), with
    the application thread recording started spans in `live`; or on the application thread
    (`on_start`/`on_end`/`discard`) when the processor cannot run inside the export.
    Thread-safe; memory is bounded (oldest traces forgotten first, `live` trimmed to
    `max_live`). A forgotten or never seen parent is trusted as exported.
    """

    def __init__(self, span_filter: SpanFilter | None = None, blocked_scopes: Iterable[str] | None = None,
                 max_traces: int = MAX_TRACES, max_nodes: int = MAX_NODES,
                 max_live: int = MAX_RUNNING_SPANS) -> None:
        self.span_filter = span_filter
        blocked = [str(scope).strip().lower() for scope in (blocked_scopes or ()) if str(scope).strip()]
        self._blocked_exact = frozenset(scope for scope in blocked if not scope.endswith("*"))
        self._blocked_prefixes = tuple(scope[:-1] for scope in blocked if scope.endswith("*"))
        self.max_traces = max_traces
        self.max_nodes = max_nodes
        self.max_live = max(1, max_live)
        # span id -> started span, filled by the application thread without a lock (dict set and
        # pop are atomic); emptied by the export thread as it handles each span.
        self.live: dict[int, Any] = {}
        self._traces: OrderedDict[int, dict[int, _Node]] = OrderedDict()
        self._nodes = 0
        # Re-entrant: a user's span_filter runs under it and may itself start spans.
        self._lock = threading.RLock()
        self._log = RateLimitedLog()

    # ----- decisions -----------------------------------------------------------------
    def decide(self, span: Any) -> bool:
        """The user's filter, then blocked scopes, then the default rule; never raises."""
        if self.span_filter is not None:
            try:
                verdict = self.span_filter(span)
            except Exception:  # noqa: BLE001 - a broken filter falls back to the default rule
                logger.debug("span_filter raised", exc_info=True)
                self._log.warning("span_filter", "honeyhive-otel span_filter raised; using the default rule")
                verdict = None
            if verdict is not None:
                return bool(verdict)
        scope = _scope_name(span)
        if scope and (scope in self._blocked_exact or scope.startswith(self._blocked_prefixes or ("\0",))):
            return False
        try:
            return default_rule(span)
        except Exception:  # noqa: BLE001
            return True

    # ----- on the export thread ------------------------------------------------------
    def export_batch(self, spans: Sequence[Any]) -> tuple[list[ReadableSpan], int]:
        """The spans of a batch to export (re-parented copies where needed), and how many were filtered.

        Every span of the batch is registered before any is judged, so a parent in the same
        batch is judged on its own end whatever the order; a parent not yet handled is found
        in `live` (still running, or queued behind) and judged now, which makes it sticky
        when kept.
        """
        live = self.live
        with self._lock:
            entries: list[tuple[Any, _Node, dict[int, _Node]]] = []
            for span in yielding(spans):
                context = span.context
                live.pop(context.span_id, None)
                nodes = self._trace(context.trace_id)
                node = nodes.get(context.span_id)
                if node is None:
                    node = nodes[context.span_id] = _Node(span.parent, context, None, span_session(span))
                    self._nodes += 1
                node.live = None
                entries.append((span, node, nodes))
            for span, node, _ in yielding(entries):
                node.decision = node.sticky or self.decide(span)
            kept: list[ReadableSpan] = []
            for span, node, nodes in entries:
                if node.decision:
                    parent = self._effective_parent(node, nodes)
                    kept.append(span if _same(parent, span.parent) else reparented(span, parent))
            self._trim_live()
            self._evict()
        return kept, len(entries) - len(kept)

    def tracked(self) -> int:
        """How many spans the gate holds by reference (running, or ended and not yet exported).

        Lock-free, so it answers even while the export thread runs a slow `span_filter`.
        """
        for _ in range(10):
            try:  # list() of a dict view is one C call: another thread cannot resize it meanwhile
                held = sum(1 for nodes in list(self._traces.values()) for node in list(nodes.values())
                           if node.live is not None)
            except RuntimeError:
                continue
            return len(self.live) + held
        return len(self.live)

    # ----- on the application thread (span_processor= given) --------------------------
    def on_start(self, span: Any, session: str | None) -> None:
        context = span.get_span_context()
        with self._lock:
            nodes = self._trace(context.trace_id)
            if context.span_id not in nodes:
                self._nodes += 1
            nodes[context.span_id] = _Node(span.parent, context, span, session)
            self._evict()

    def on_end(self, span: Any) -> ReadableSpan | None:
        """The span to forward (itself, or a re-parented copy), or None when it is filtered out."""
        context = span.context
        with self._lock:
            node = self._trace(context.trace_id).get(context.span_id)
            sticky = node is not None and node.sticky
        keep = sticky or self.decide(span)  # the user's filter runs outside the lock
        with self._lock:
            nodes = self._trace(context.trace_id)
            if node is None or nodes.get(context.span_id) is not node:
                node = _Node(span.parent, context, None, node.session if node is not None else None)
                self._nodes += context.span_id not in nodes
                nodes[context.span_id] = node
                self._evict()
            node.live = None
            node.decision = keep or node.sticky
            if not node.decision:
                return None
            parent = self._effective_parent(node, nodes)
        original = span.parent
        if _same(parent, original):
            return span
        return reparented(span, parent)

    def discard(self, span: Any) -> None:
        """A span that will not be exported for another reason (sampling): forget its reference."""
        context = span.context
        with self._lock:
            node = self._traces.get(context.trace_id, {}).get(context.span_id)
            if node is not None:
                node.live = None
                node.decision = node.decision if node.sticky else False

    # ----- internals -----------------------------------------------------------------
    def _effective_parent(self, node: _Node, nodes: dict[int, _Node]) -> SpanContext | None:
        """The nearest kept ancestor of `node` (None: the session root). Called under the lock."""
        current = node
        for _ in range(1_000):
            parent = current.parent
            if parent is None:
                return None
            if parent.is_remote:
                return parent if current is node else None
            ancestor = nodes.get(parent.span_id)
            if ancestor is None:
                ancestor = self._adopt_live(parent, nodes)
                if ancestor is None:
                    return parent  # never seen, or forgotten: trusted
            if node.session and ancestor.session and ancestor.session != node.session:
                return None  # a nested session: its spans hang from their own session
            if self._kept(ancestor):
                return parent
            current = ancestor
        return None

    def _adopt_live(self, parent: SpanContext, nodes: dict[int, _Node]) -> _Node | None:
        """A node for a parent the export thread has not handled yet, from `live`; None if unknown."""
        span = self.live.get(parent.span_id)
        if span is None:
            return None
        context = span.context
        if context is None or context.trace_id != parent.trace_id:
            return None
        node = nodes[context.span_id] = _Node(span.parent, context, span, span_session(span))
        self._nodes += 1
        return node

    def _kept(self, node: _Node) -> bool:
        if node.decision is not None:
            return node.decision
        if node.provisional is None:
            live = node.live
            node.provisional = True if live is None else self.decide(live)
            node.live = None  # judged once: the reference is no longer needed
        if node.provisional:
            node.sticky = True
        return node.provisional

    def _trim_live(self) -> None:
        """Forget the oldest spans of `live` beyond `max_live` (spans that never end), judging each now.

        The application thread may insert meanwhile: a RuntimeError from iterating leaves
        the trim to the next batch. A span judged kept here is sticky, so a child handled
        later never points at a span the gate then drops.
        """
        live = self.live
        excess = len(live) - self.max_live
        if excess <= 0:
            return
        excess += self.max_live // 8  # some slack, so the trim does not run on every batch
        try:
            oldest = list(islice(live, excess))
        except RuntimeError:
            return
        for span_id in oldest:
            span = live.pop(span_id, None)
            if span is None:
                continue
            try:
                context = span.context
                nodes = self._trace(context.trace_id)
                node = nodes.get(span_id)
                if node is None:
                    node = nodes[span_id] = _Node(span.parent, context, span, span_session(span))
                    self._nodes += 1
                if node.decision is None:
                    self._kept(node)
                node.live = None
            except Exception:  # noqa: BLE001 - forgetting must not fail the batch
                logger.debug("trimming a live span failed", exc_info=True)

    def _trace(self, trace_id: int) -> dict[int, _Node]:
        nodes = self._traces.get(trace_id)
        if nodes is None:
            nodes = self._traces[trace_id] = {}
        else:
            self._traces.move_to_end(trace_id)
        return nodes

    def _evict(self) -> None:
        while self._traces and (len(self._traces) > self.max_traces or self._nodes > self.max_nodes):
            _, nodes = self._traces.popitem(last=False)
            self._nodes -= len(nodes)


def _same(a: SpanContext | None, b: SpanContext | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.span_id == b.span_id and a.trace_id == b.trace_id


def reparented(span: Any, parent: SpanContext | None) -> ReadableSpan:
    """A copy of a finished span with another parent (a finished span is immutable)."""
    return ReadableSpan(
        name=span.name, context=span.context, parent=parent, resource=span.resource,
        attributes=span.attributes, events=span.events, links=span.links, kind=span.kind, status=span.status,
        start_time=span.start_time, end_time=span.end_time, instrumentation_scope=span.instrumentation_scope,
    )
