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
is none. Parents usually end after their children, so at a child's end the parent's fate
is decided on the still-running parent (held by reference since its start) and that
decision is remembered: a parent judged "kept" this way is exported even if it would
otherwise be dropped, so no child ever points at a missing event. A parent in another
process (remote) is trusted only by the span that received it directly: when this
process's own entry span (say its HTTP server span) was dropped as transport noise, the
caller's matching transport span is assumed dropped too, and the span hangs from the
session. A span is never re-parented across a session boundary (nested `session()`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext

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
        self.live = live  # the running span, until it ends: its fate can be judged before its end
        self.session = session
        self.decision: bool | None = None  # final, at its own end
        self.provisional: bool | None = None  # judged while running, at a child's end
        self.sticky = False  # a child was attached to it: it must be exported


class SpanGate:
    """Decides at each span's end whether it is exported, and re-parents kept spans around dropped ones.

    Thread-safe; memory is bounded (oldest traces forgotten first). A forgotten or never
    seen parent is trusted as exported.
    """

    def __init__(self, span_filter: SpanFilter | None = None, blocked_scopes: Iterable[str] | None = None,
                 max_traces: int = MAX_TRACES, max_nodes: int = MAX_NODES) -> None:
        self.span_filter = span_filter
        blocked = [str(scope).strip().lower() for scope in (blocked_scopes or ()) if str(scope).strip()]
        self._blocked_exact = frozenset(scope for scope in blocked if not scope.endswith("*"))
        self._blocked_prefixes = tuple(scope[:-1] for scope in blocked if scope.endswith("*"))
        self.max_traces = max_traces
        self.max_nodes = max_nodes
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

    # ----- span lifecycle ------------------------------------------------------------
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
                return parent  # never seen, or forgotten: trusted
            if node.session and ancestor.session and ancestor.session != node.session:
                return None  # a nested session: its spans hang from their own session
            if self._kept(ancestor):
                return parent
            current = ancestor
        return None

    def _kept(self, node: _Node) -> bool:
        if node.decision is not None:
            return node.decision
        if node.provisional is None:
            live = node.live
            node.provisional = True if live is None else self.decide(live)
        if node.provisional:
            node.sticky = True
        return node.provisional

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
