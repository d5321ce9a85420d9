"""Lay a Draft out as HoneyHive `inputs`/`outputs`/`config` for its event type (SPEC §3)."""

from __future__ import annotations

from typing import Any

from . import messages as msg
from .draft import Draft
from .event_type import CHAIN, MODEL, TOOL
from .values import is_blank, parse_json


def _as_object(value: Any, key: str) -> dict[str, Any]:
    """An inputs/outputs object: JSON objects as they are, anything else under `key`."""
    parsed = parse_json(value) if isinstance(value, str) else value
    if isinstance(parsed, dict):
        return dict(parsed)
    return {key: parsed}


def _chat_from_value(value: Any) -> list[dict[str, Any]] | None:
    """A generic input that is really a chat (`{"messages": [...]}` or a list of messages)."""
    parsed = parse_json(value) if isinstance(value, str) else value
    if isinstance(parsed, dict) and isinstance(parsed.get("messages"), list):
        return msg.normalize_messages(parsed["messages"])
    if isinstance(parsed, list) and parsed and all(isinstance(m, dict) and "role" in m for m in parsed):
        return msg.normalize_messages(parsed)
    return None


def shape(draft: Draft) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (inputs, outputs) for the draft's event type; fills tool config in place."""
    if draft.event_type == MODEL:
        return _model(draft)
    if draft.event_type == TOOL:
        return _tool(draft)
    return _chain(draft)


def _model(draft: Draft) -> tuple[dict[str, Any], dict[str, Any]]:
    inputs: dict[str, Any] = {}
    history = draft.chat_history
    if history is None and draft.input_value is not None:
        history = _chat_from_value(draft.input_value)
    if history is not None:
        inputs["chat_history"] = history
    elif draft.embedding_input is not None:
        inputs["input"] = draft.embedding_input
    elif draft.prompt is not None:
        inputs["prompt"] = draft.prompt
    elif draft.input_value is not None:
        parsed = parse_json(draft.input_value)
        inputs["chat_history"] = [{"role": "user", "content": parsed if isinstance(parsed, str) else draft.input_value}]
    if draft.tools:
        inputs["tools"] = draft.tools
    if draft.output:
        outputs = dict(draft.output)
    elif draft.embedding_output:
        outputs = dict(draft.embedding_output)
        if "count" in outputs:  # one name for the number of vectors, whatever the convention
            outputs.setdefault("vector_count", outputs.pop("count"))
    elif draft.output_value is not None:
        parsed = parse_json(draft.output_value)
        outputs = ({"role": "assistant", "content": parsed} if isinstance(parsed, str)
                   else _as_object(parsed, "content"))
    else:
        outputs = {}
    return inputs, outputs


def _tool(draft: Draft) -> tuple[dict[str, Any], dict[str, Any]]:
    if draft.tool_name:
        draft.config.setdefault("tool_name", draft.tool_name)
        draft.event_name = draft.tool_name
    if draft.tool_description:
        draft.config.setdefault("tool_description", draft.tool_description)
    if draft.tool_call_id:
        draft.metadata.setdefault("tool_call_id", draft.tool_call_id)
    if draft.tool_arguments is not None:
        inputs = _as_object(draft.tool_arguments, "arguments")
    elif draft.query is not None:
        inputs = {"query": draft.query}
    elif draft.input_value is not None:
        inputs = _as_object(draft.input_value, "input")
    else:
        inputs = {}
    outputs: dict[str, Any] = {}
    if draft.tool_result is not None:
        outputs["message"] = draft.tool_result
    elif draft.output_value is not None:
        outputs["message"] = parse_json(draft.output_value)
    if draft.documents is not None:
        outputs["documents"] = draft.documents
    return inputs, outputs


def _chain(draft: Draft) -> tuple[dict[str, Any], dict[str, Any]]:
    inputs = _as_object(draft.input_value, "input") if draft.input_value is not None else {}
    if draft.chat_history is not None:
        inputs.setdefault("chat_history", draft.chat_history)
    if draft.tools:
        inputs.setdefault("tools", draft.tools)
    if draft.query is not None:
        inputs.setdefault("query", draft.query)
    outputs = _as_object(draft.output_value, "output") if draft.output_value is not None else {}
    if draft.output and not outputs:
        choices = draft.output.get("choices") or [draft.output]
        if len(choices) == 1 and not choices[0].get("tool_calls") and not is_blank(choices[0].get("content")):
            outputs["output"] = choices[0].get("content")
        else:
            outputs["messages"] = choices
    if draft.documents is not None:
        outputs.setdefault("documents", draft.documents)
    return inputs, outputs


__all__ = ["shape", "MODEL", "TOOL", "CHAIN"]
