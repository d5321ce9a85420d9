"""What conventions extract from a span, before it is shaped into an event by type.

Convention modules fill semantic slots (chat history, tool arguments, generic input...)
and never decide the final `inputs`/`outputs` layout: `shape.py` does that once, so the
same call yields the same event whichever convention described it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .values import is_blank

# Slot values that count as "still empty" (compared by equality, so built once, never mutated).
_EMPTY_SLOT_VALUES = (None, {}, [])


@dataclass(slots=True, init=False)
class Draft:
    """The slots a span's conventions fill (`Draft(event_type, event_name)`: everything else starts
    empty). The initialiser is written out: a generated one builds each empty dict through a factory
    and checks a sentinel per field, once per span."""

    event_type: str
    event_name: str
    convention: str
    # Model content.
    chat_history: list[dict[str, Any]] | None
    output: dict[str, Any] | None
    tools: list[dict[str, Any]] | None
    prompt: Any  # a text-completion prompt that is not a chat
    embedding_input: Any
    embedding_output: dict[str, Any] | None
    # Tool content.
    tool_name: str | None
    tool_description: str | None
    tool_call_id: str | None
    tool_arguments: Any
    tool_result: Any
    documents: list[Any] | None
    query: Any
    # Generic content (chain events, fallbacks).
    input_value: Any
    output_value: Any
    # Buckets filled directly.
    config: dict[str, Any]
    metadata: dict[str, Any]
    metrics: dict[str, Any]
    user_properties: dict[str, Any]
    feedback: dict[str, Any]
    error: str | None
    # "absorb": the span only adds detail to its parent (LiteLLM's raw request span), no own event.
    disposition: str
    # Session hints found on the span (resolved by sessions.py).
    session_id: Any
    session_name: str | None
    session_metadata: dict[str, Any]

    def __init__(self, event_type: str, event_name: str) -> None:
        self.event_type = event_type
        self.event_name = event_name
        self.convention = "otel"
        self.chat_history = self.output = self.tools = self.prompt = None
        self.embedding_input = self.embedding_output = None
        self.tool_name = self.tool_description = self.tool_call_id = None
        self.tool_arguments = self.tool_result = None
        self.documents = self.query = self.input_value = self.output_value = None
        self.config = {}
        self.metadata = {}
        self.metrics = {}
        self.user_properties = {}
        self.feedback = {}
        self.error = None
        self.disposition = "emit"
        self.session_id = self.session_name = None
        self.session_metadata = {}

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
