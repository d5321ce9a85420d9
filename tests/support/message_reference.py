"""The general path of `normalize_output_messages`, as a reference for its fast paths' tests."""

from __future__ import annotations

from typing import Any

from honeyhive_otel.mapping import messages as msg


def reference_output(value: Any, finish: list[Any] | None) -> dict[str, Any] | None:
    """`normalize_output_messages(value, finish)` through `_structured` (JSON, then Python repr), each
    choice converted by `_add_output` and copied by `output_from_messages`."""
    messages = msg.output_messages_from_parsed(msg._structured(value))
    return msg.output_from_messages(messages, finish) if messages else None
