"""What conventions extract from a span, before it is shaped into an event by type.

Convention modules fill semantic slots (chat history, tool arguments, generic input...)
and never decide the final `inputs`/`outputs` layout: `shape.py` does that once, so the
same call yields the same event whichever convention described it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .values import is_blank

# Slot values that count as "still empty" (compared by equality, so built once, never mutated).
_EMPTY_SLOT_VALUES = (None, {}, [])


@dataclass(slots=True)
class Draft:
    event_type: str
    event_name: str
    convention: str = "otel"
    # Model content.
    chat_history: list[dict[str, Any]] | None = None
    output: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    prompt: Any = None  # a text-completion prompt that is not a chat
    embedding_input: Any = None
    embedding_output: dict[str, Any] | None = None
    # Tool content.
    tool_name: str | None = None
    tool_description: str | None = None
    tool_call_id: str | None = None
    tool_arguments: Any = None
    tool_result: Any = None
    documents: list[Any] | None = None
    query: Any = None
    # Generic content (chain events, fallbacks).
    input_value: Any = None
    output_value: Any = None
    # Buckets filled directly.
    config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    user_properties: dict[str, Any] = field(default_factory=dict)
    feedback: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # "absorb": the span only adds detail to its parent (LiteLLM's raw request span), no own event.
    disposition: str = "emit"
    # Session hints found on the span (resolved by sessions.py).
    session_id: Any = None
    session_name: str | None = None
    session_metadata: dict[str, Any] = field(default_factory=dict)

    def set_tool_identity(self, name: Any, description: Any, call_id: Any) -> None:
        """A tool span's name, description and call id, where no earlier convention set them."""
        for slot, value in (("tool_name", name), ("tool_description", description), ("tool_call_id", call_id)):
            if getattr(self, slot) is None and not is_blank(value):
                setattr(self, slot, str(value))

    def set_default(self, slot: str, value: Any) -> bool:
        """Fill `slot` only when it is still empty; returns whether it was set."""
        if value is None or getattr(self, slot) not in _EMPTY_SLOT_VALUES:
            return False
        setattr(self, slot, value)
        return True
