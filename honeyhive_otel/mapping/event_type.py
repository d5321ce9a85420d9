"""The HoneyHive event type of a span (SPEC §5): first match wins, never a guess from the name."""

from __future__ import annotations

from .attributes import SpanAttributes
from .values import is_blank

MODEL, TOOL, CHAIN = "model", "tool", "chain"
EVENT_TYPES = (MODEL, TOOL, CHAIN)

_OPERATION_TYPES = {
    # OTel GenAI values.
    "chat": MODEL, "text_completion": MODEL, "generate_content": MODEL, "embeddings": MODEL,
    "execute_tool": TOOL, "retrieval": TOOL,
    "invoke_agent": CHAIN, "create_agent": CHAIN, "invoke_workflow": CHAIN,
    # Values seen in the wild (LiteLLM call types, OpenLIT, Vercel, Traceloop).
    "completion": MODEL, "acompletion": MODEL, "generate": MODEL, "response": MODEL, "responses": MODEL,
    "aresponses": MODEL, "embedding": MODEL, "aembedding": MODEL, "atext_completion": MODEL,
    "image": MODEL, "audio": MODEL, "speech_to_text": MODEL, "text_to_speech": MODEL,
    "image_generation": MODEL, "transcription": MODEL, "rerank": MODEL, "arerank": MODEL,
    "model_request": MODEL, "llm_request": MODEL,
    "vectordb": TOOL, "vector_db_retrieve": TOOL,
    "agent": CHAIN, "agent_step": CHAIN, "task": CHAIN, "execute_task": CHAIN, "execution": CHAIN,
    "workflow": CHAIN, "tool_coordination": CHAIN, "user_prompt_processing": CHAIN,
}

_OPENINFERENCE_TYPES = {"LLM": MODEL, "EMBEDDING": MODEL, "TOOL": TOOL, "RETRIEVER": TOOL, "RERANKER": TOOL}
_TRACELOOP_TYPES = {"workflow": CHAIN, "task": CHAIN, "agent": CHAIN, "tool": TOOL, "llm": MODEL}

TOOL_ATTRIBUTES = ("gen_ai.tool.name", "gen_ai.tool.call.id")
MODEL_ATTRIBUTES = (
    "gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "llm.request.model",
    "llm.response.model", "embedding.model_name",
)
# Attributes that mark a framework-level span (agent, workflow, crew, graph node) which may
# still carry the model it uses: such a span stays a chain (openllmetry#3824).
AGENT_MARKER_PREFIXES = (
    "gen_ai.agent.", "gen_ai.workflow.", "gen_ai.task.", "crewai.", "agent.", "graph.node.", "langgraph.",
    "traceloop.workflow.",
)


EXPLICIT_ATTRIBUTES = ("honeyhive.event_type", "honeyhive_event_type")
KIND_ATTRIBUTES = ("gen_ai.operation.name", "openinference.span.kind", "traceloop.span.kind", "llm.request.type")
_KIND_ATTRIBUTE_SET = frozenset(KIND_ATTRIBUTES)


def explicit_type(attrs: SpanAttributes) -> str | None:
    value = attrs.get(*EXPLICIT_ATTRIBUTES)
    if isinstance(value, str) and value.strip().lower() in EVENT_TYPES:
        return value.strip().lower()
    return None


def decide(attrs: SpanAttributes, is_litellm_request: bool = False) -> str:
    """Apply SPEC §5's ordered rules; the kind attributes are consumed (they became the type)."""
    attrs.consumed.update(attrs.present(_KIND_ATTRIBUTE_SET))
    raw = attrs.raw  # (plain lookups: most spans are decided by their first one or two rules)
    if "honeyhive.event_type" in raw or "honeyhive_event_type" in raw:
        explicit = explicit_type(attrs)
        if explicit:
            return explicit
    operation = raw.get("gen_ai.operation.name")
    if isinstance(operation, str):
        # (the usual value is exactly a table key: stripped and lowercased only when it is not)
        decided = _OPERATION_TYPES.get(operation) or _OPERATION_TYPES.get(operation.strip().lower())
        if decided:
            return decided
    kind = raw.get("openinference.span.kind")
    if isinstance(kind, str) and not is_blank(kind):
        return _OPENINFERENCE_TYPES.get(kind.strip().upper(), CHAIN)
    traceloop_kind = raw.get("traceloop.span.kind")
    if isinstance(traceloop_kind, str):
        decided = _TRACELOOP_TYPES.get(traceloop_kind.strip().lower())
        if decided:
            return decided
    # (`value is not None` first: most of these keys are absent, and need no call to is_blank)
    request_type = raw.get("llm.request.type")
    if is_litellm_request or (request_type is not None and not is_blank(request_type)):
        return MODEL
    for key in TOOL_ATTRIBUTES:
        value = raw.get(key)
        if value is not None and not is_blank(value):
            return TOOL  # pydantic-ai and others set no operation name on tool spans
    for key in MODEL_ATTRIBUTES:
        value = raw.get(key)
        if value is not None and not is_blank(value):
            return CHAIN if has_agent_marker(attrs) else MODEL
    return CHAIN


def has_agent_marker(attrs: SpanAttributes) -> bool:
    return any(attrs.has_prefix(prefix) for prefix in AGENT_MARKER_PREFIXES)
