"""Render a session's events as a readable tree (quickstart output, CLI, debugging)."""

from __future__ import annotations

from typing import Any


def _summary(event: dict[str, Any]) -> str:
    parts = [f"[{event.get('event_type')}] {event.get('event_name')}", f"{event.get('duration', 0):.1f} ms"]
    config = event.get("config") or {}
    metadata = event.get("metadata") or {}
    if config.get("model"):
        parts.append(f"model={config['model']}")
    if "total_tokens" in metadata:
        parts.append(f"tokens={metadata.get('prompt_tokens', 0)}+{metadata.get('completion_tokens', 0)}")
    if "cost" in metadata:
        parts.append(f"cost=${metadata['cost']:.6f}")
    if event.get("error"):
        parts.append(f"error={event['error']}")
    return "  ".join(parts)


def _preview(event: dict[str, Any], width: int) -> list[str]:
    lines = []
    history = (event.get("inputs") or {}).get("chat_history")
    if isinstance(history, list) and history:
        last = history[-1]
        lines.append(f"in:  {last.get('role')}: {str(last.get('content'))[:width]}")
    outputs = event.get("outputs") or {}
    if outputs.get("tool_calls"):
        calls = ", ".join(f"{c['function']['name']}({c['function']['arguments']})" for c in outputs["tool_calls"])
        lines.append(f"out: tool_calls: {calls[:width]}")
    elif outputs.get("content") is not None:
        lines.append(f"out: {str(outputs['content'])[:width]}")
    return lines


def render_tree(session: dict[str, Any] | None, events: list[dict[str, Any]], width: int = 80) -> str:
    """Events nested under their parents, ordered by start time."""
    session_id = (session or {}).get("session_id") or (events[0]["session_id"] if events else "?")
    by_parent: dict[str, list[dict[str, Any]]] = {}
    ids = {event["event_id"] for event in events}
    for event in sorted(events, key=lambda e: e.get("start_time") or 0):
        parent = event.get("parent_id")
        by_parent.setdefault(parent if parent in ids else session_id, []).append(event)
    name = (session or {}).get("session_name") or "session"
    lines = [f"session {name} ({session_id})"]

    def walk(parent_id: str, indent: str) -> None:
        children = by_parent.get(parent_id, [])
        for index, event in enumerate(children):
            last = index == len(children) - 1
            lines.append(f"{indent}{'└─ ' if last else '├─ '}{_summary(event)}")
            child_indent = indent + ("   " if last else "│  ")
            for preview in _preview(event, width):
                lines.append(f"{child_indent}   {preview}")
            walk(event["event_id"], child_indent)

    walk(session_id, "")
    return "\n".join(lines)
