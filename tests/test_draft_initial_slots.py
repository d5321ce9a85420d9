"""`Draft`'s written-out initialiser starts every slot as the generated one did.

The reference is the declaration it replaced (defaults and factories on the fields): the same
fields in the same order, the same starting values, fresh dicts per draft, and what a dataclass
gives besides (equality, repr, `dataclasses.fields`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from honeyhive_otel.mapping.draft import Draft


@dataclass(slots=True)
class ReferenceDraft:
    event_type: str
    event_name: str
    convention: str = "otel"
    chat_history: list[dict[str, Any]] | None = None
    output: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    prompt: Any = None
    embedding_input: Any = None
    embedding_output: dict[str, Any] | None = None
    tool_name: str | None = None
    tool_description: str | None = None
    tool_call_id: str | None = None
    tool_arguments: Any = None
    tool_result: Any = None
    documents: list[Any] | None = None
    query: Any = None
    input_value: Any = None
    output_value: Any = None
    config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    user_properties: dict[str, Any] = field(default_factory=dict)
    feedback: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    disposition: str = "emit"
    session_id: Any = None
    session_name: str | None = None
    session_metadata: dict[str, Any] = field(default_factory=dict)


def slots(draft: Any) -> list[tuple[str, Any]]:
    return [(slot.name, getattr(draft, slot.name)) for slot in dataclasses.fields(draft)]


def test_a_new_draft_starts_as_the_generated_initialiser_started_it() -> None:
    draft, reference = Draft("model", "chat"), ReferenceDraft("model", "chat")
    assert slots(draft) == slots(reference)
    assert [type(value) for _, value in slots(draft)] == [type(value) for _, value in slots(reference)]


def test_each_draft_has_its_own_buckets() -> None:
    first, second = Draft("chain", "a"), Draft("chain", "a")
    assert first == second
    for name, value in slots(first):
        if isinstance(value, dict):
            value["x"] = 1
            assert getattr(second, name) == {}, name
    assert first != second
    assert repr(Draft("tool", "t")).startswith("Draft(event_type='tool', event_name='t', convention='otel'")
