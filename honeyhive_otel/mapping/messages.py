"""One normaliser for chat content: every convention's messages become OpenAI chat messages.

Target shapes (SPEC §3): `{"role", "content"}`, plus `tool_calls` =
`[{"id", "type": "function", "function": {"name", "arguments": <JSON string>}}]` on
assistant messages and `tool_call_id` on tool messages. Text parts are joined into one
string; other parts are kept as OpenAI content parts; unknown part types are kept as-is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .values import (
    MAX_DEPTH,
    as_text,
    decoded_as_json,
    is_blank,
    json_ready,
    parse_json,
    parse_json_fast,
    parse_json_jsonable,
    parse_structured,
    parse_structured_jsonable,
    to_jsonable,
)


def _structured(value: Any) -> Any:
    """Strings are parsed (JSON, then Python repr); OTLP structured values (tuples of
    mappings, as log records carry them) become plain lists and dicts."""
    if isinstance(value, str):
        return parse_structured(value)
    if isinstance(value, (tuple, list, dict)) or hasattr(value, "items"):
        return to_jsonable(value)
    return value


_ROLE_ALIASES = {"human": "user", "ai": "assistant", "model": "assistant", "bot": "assistant",
                 "developer": "system", "function": "tool"}
# Role strings that need no cleaning, with their normal form (one lookup for the usual roles).
_NORMAL_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "tool": "tool", **_ROLE_ALIASES}

# OTel finish reasons -> OpenAI's spelling.
_FINISH_ALIASES = {"tool_call": "tool_calls", "function_call": "tool_calls", "end_turn": "stop",
                   "max_tokens": "length", "stop_sequence": "stop", "tool_use": "tool_calls"}
_NORMAL_FINISH_REASONS = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
                          "content_filter": "content_filter", "error": "error", **_FINISH_ALIASES}


def normalize_role(role: Any) -> str:
    if type(role) is str and role in _NORMAL_ROLES:
        return _NORMAL_ROLES[role]
    text = str(role).strip().lower() if not is_blank(role) else "user"
    return _ROLE_ALIASES.get(text, text)


def normalize_finish_reason(reason: Any) -> str | None:
    if type(reason) is str and reason in _NORMAL_FINISH_REASONS:
        return _NORMAL_FINISH_REASONS[reason]
    if is_blank(reason):
        return None
    text = str(reason).strip()
    return _FINISH_ALIASES.get(text.lower(), text)


def normalize_finish_reasons(reasons: Any) -> list[str]:
    """The non-blank reasons of a sequence, each as `normalize_finish_reason` makes it."""
    normal = _NORMAL_FINISH_REASONS
    result = []
    for reason in reasons:
        if type(reason) is str and reason in normal:  # (the usual reasons: no call)
            result.append(normal[reason])
        elif not is_blank(reason):
            result.append(normalize_finish_reason(reason))
    return result


# `json.dumps(value, ensure_ascii=False)` without building an encoder per call.
_ARGUMENTS_ENCODER = json.JSONEncoder(ensure_ascii=False)


def arguments_json(arguments: Any) -> str:
    """Tool-call arguments as exactly one JSON encoding (never a JSON string of a JSON string)."""
    if arguments is None:
        return "{}"
    if isinstance(arguments, str):
        parsed = parse_json_jsonable(arguments)
        if parsed is arguments:
            return arguments  # not JSON: keep what the model produced
        return _ARGUMENTS_ENCODER.encode(parsed)
    if json_ready(arguments, MAX_DEPTH - 1):  # (the usual arguments: no copy to make)
        return _ARGUMENTS_ENCODER.encode(arguments)
    return _ARGUMENTS_ENCODER.encode(to_jsonable(arguments))


def tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """An OpenAI tool call; id and name are strings (empty when the emitter gave none)."""
    return _encoded_tool_call(call_id, name, arguments_json(arguments))


def _encoded_tool_call(call_id: Any, name: Any, arguments: str) -> dict[str, Any]:
    """`tool_call` with its arguments encoded already."""
    return {
        "id": "" if is_blank(call_id) else str(call_id),
        "type": "function",
        "function": {"name": "" if is_blank(name) else str(name), "arguments": arguments},
    }


def normalize_tool_calls(calls: Any) -> list[dict[str, Any]]:
    """Tool calls in OpenAI, OTel-part, flat or Anthropic form -> OpenAI form."""
    fields = _plain_call_fields(calls)
    if fields is not None:
        return [tool_call(call_id, name, arguments) for call_id, name, arguments in fields]
    calls = _structured(calls)
    if isinstance(calls, dict):
        calls = [calls]
    if not isinstance(calls, list):
        return []
    result = []
    for call in calls:
        if not isinstance(call, dict):
            continue
        result.append(tool_call(*_call_fields(call)))
    return result


def _call_fields(call: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The id, name and arguments of one tool call, in any of the forms `normalize_tool_calls` reads."""
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    name = function.get("name", call.get("name"))
    arguments = function.get("arguments", call.get("arguments", call.get("input", call.get("args"))))
    return call.get("id", call.get("tool_call_id")), name, arguments


def _plain_call_fields(calls: Any) -> list[tuple[Any, Any, Any]] | None:
    """The fields of each call of a list of plain calls (dicts with string keys, an absent or dict
    `function` with string keys, and a string or None for each field read), as `_call_fields` reads
    them after `to_jsonable`: that walk changes none of these (it copies the rest, which is never
    read), so it is skipped. None for anything else (the general path walks)."""
    if type(calls) is not list:
        return None
    fields = []
    for call in calls:
        if type(call) is not dict or not all(type(key) is str for key in call):
            return None
        function = call.get("function")
        if function is not None and (type(function) is not dict or not all(type(key) is str for key in function)):
            return None
        read = _call_fields(call)
        for value in read:
            if value is not None and type(value) is not str:
                return None
        fields.append(read)
    return fields


def _content_part(part: dict[str, Any]) -> dict[str, Any]:
    """A non-text OTel part as an OpenAI content part; unknown types are kept unchanged."""
    kind = part.get("type")
    modality = part.get("modality")
    mime = part.get("mime_type")
    if kind == "uri" and modality == "image":
        return {"type": "image_url", "image_url": {"url": part.get("uri")}}
    if kind == "blob" and modality == "image":
        return {"type": "image_url",
                "image_url": {"url": f"data:{mime or 'image/png'};base64,{part.get('content', '')}"}}
    if kind == "blob" and modality == "audio":
        audio_format = (mime or "audio/wav").split("/")[-1]
        return {"type": "input_audio", "input_audio": {"data": part.get("content", ""), "format": audio_format}}
    if kind == "file":
        return {"type": "file", "file": {"file_id": part.get("file_id"), **({"mime_type": mime} if mime else {})}}
    return to_jsonable(part)


def _join_text(texts: list[str]) -> str:
    return "\n".join(texts)


def _from_parts(role: str, parts: list[Any], extra: dict[str, Any] | None) -> list[dict[str, Any]]:
    """An OTel `{role, parts}` message -> one OpenAI message (or one per tool response)."""
    history: list[dict[str, Any]] = []
    _add_parts(role, parts, extra, history)
    return history


def _add_parts(role: str, parts: list[Any], extra: dict[str, Any] | None, history: list[dict[str, Any]]) -> None:
    """Append the OpenAI form of an OTel `{role, parts}` message to `history`: one message,
    or one per tool response."""
    if len(parts) == 1:  # the usual message: one text part, whose text is the content
        part = parts[0]
        if type(part) is dict and part.get("type") == "text" and type(text := part.get("content")) is str:
            message = {"role": role, "content": text}
            if extra:
                message.update(extra)
            history.append(message)
            return
    texts: list[str] = []
    # Built when first needed: most messages are text parts only, which become one string.
    content_parts: list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    reasoning: list[str] | None = None
    responses: list[dict[str, Any]] | None = None
    for part in parts:
        if isinstance(part, dict):
            kind = part.get("type")
            if kind == "text" or (kind is None and "content" in part):
                text = part.get("content")
                if type(text) is not str:
                    text = as_text(text) or ""
            else:
                if kind == "tool_call":
                    if tool_calls is None:
                        tool_calls = []
                    tool_calls.append(tool_call(part.get("id"), part.get("name"), part.get("arguments")))
                elif kind == "tool_call_response":
                    if responses is None:
                        responses = []
                    responses.append({"role": "tool",
                                      "tool_call_id": "" if is_blank(part.get("id")) else str(part["id"]),
                                      "content": as_text(part.get("response")) or ""})
                elif kind == "reasoning":
                    if reasoning is None:
                        reasoning = []
                    reasoning.append(as_text(part.get("content")) or "")
                else:
                    if content_parts is None:
                        content_parts = [{"type": "text", "text": earlier} for earlier in texts]
                    content_parts.append(_content_part(part))
                continue
        elif isinstance(part, str):
            text = part
        else:
            continue
        texts.append(text)
        if content_parts is not None:
            content_parts.append({"type": "text", "text": text})
    if responses and not texts and not tool_calls and content_parts is None:
        history.extend(responses)
        return
    message: dict[str, Any] = {"role": role}
    if content_parts is None:
        message["content"] = _join_text(texts) if texts else None
    else:
        message["content"] = content_parts
    if reasoning:
        message["reasoning_content"] = _join_text(reasoning)
    if extra:
        message.update(extra)
    if tool_calls:  # (calls given as parts win over a `tool_calls` field beside them)
        message["tool_calls"] = tool_calls
    history.append(message)
    if responses:
        history.extend(responses)


def _content_value(content: Any) -> Any:
    """OpenAI-style content: strings stay, lists of parts are normalised, structures kept."""
    if isinstance(content, list):
        texts = []
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                text = as_text(part.get("text", part.get("content"))) or ""
                texts.append(text)
                parts.append({"type": "text", "text": text})
            elif isinstance(part, str):
                texts.append(part)
                parts.append({"type": "text", "text": part})
            else:
                parts.append(to_jsonable(part))
        return _join_text(texts) if len(texts) == len(parts) else parts
    if content is None or isinstance(content, str):
        return content
    return to_jsonable(content)


# A string that JSON-decodes to a list starts with one of these (after whitespace): `[`, or `"`
# when the list is encoded twice. Other content strings are text: `_content_parts` keeps them.
_PARTS_OPENERS = ("[", '"')


def _content_parts(content: Any) -> Any:
    """Content given as a JSON string of OpenAI parts becomes the parts; any other string
    (including text that merely looks like JSON) stays the text the user wrote."""
    if isinstance(content, str):
        parsed = parse_json(content)
        if isinstance(parsed, list) and parsed and all(isinstance(p, dict) and "type" in p for p in parsed):
            return parsed
        return content
    return content


def normalize_message(message: Any) -> list[dict[str, Any]]:
    """Any single chat message -> a list of OpenAI messages (usually one)."""
    history: list[dict[str, Any]] = []
    _add_message(message, history)
    return history


def _add_message(message: Any, history: list[dict[str, Any]]) -> None:
    """Append the OpenAI form of any single chat message to `history` (`normalize_message`
    without a list per message: a history is built by appending to one list)."""
    if not isinstance(message, dict):
        if isinstance(message, str):
            history.append({"role": "user", "content": message})
        return
    role = normalize_role(message.get("role"))
    name = message.get("name")
    extra = {"name": str(name)} if name is not None and not is_blank(name) else None
    parts = message.get("parts")
    if isinstance(parts, list):
        _add_parts(role, parts, _with_call_fields(message, role, extra), history)
        return
    content = message.get("content")
    if type(content) is not str or content.lstrip()[:1] in _PARTS_OPENERS:  # (other text stays as is)
        content = _content_value(_content_parts(content))
    result: dict[str, Any] = {"role": role, "content": content}
    calls = message.get("tool_calls")
    if calls:
        normalized = normalize_tool_calls(calls)
        if normalized:
            result["tool_calls"] = normalized
    call_id = message.get("tool_call_id", message.get("id") if role == "tool" else None)
    if call_id is not None and not is_blank(call_id):
        result["tool_call_id"] = str(call_id)
    reasoning = message.get("reasoning_content")
    if reasoning is not None and not is_blank(reasoning):
        result["reasoning_content"] = as_text(reasoning)
    if extra:
        result.update(extra)
    history.append(result)


def _with_call_fields(message: dict[str, Any], role: str, extra: dict[str, Any] | None) -> dict[str, Any] | None:
    """`extra` plus the tool calls and the tool call id that a `{role, parts}` message carries beside its
    parts, in OpenAI's form: LiteLLM writes an assistant's calls as `"tool_calls": [...]` next to empty
    parts, and a tool message's `"tool_call_id"`. (Calls given as parts win: see `_add_parts`.)"""
    calls = message.get("tool_calls")
    call_id = message.get("tool_call_id", message.get("id") if role == "tool" else None)
    if not calls and (call_id is None or is_blank(call_id)):
        return extra  # (the usual OTel message: parts only)
    fields: dict[str, Any] = {}
    if calls:
        normalized = normalize_tool_calls(calls)
        if normalized:
            fields["tool_calls"] = normalized
    if call_id is not None and not is_blank(call_id):
        fields["tool_call_id"] = str(call_id)
    if extra:
        fields.update(extra)
    return fields or extra


def normalize_messages(value: Any) -> list[dict[str, Any]] | None:
    """A list of messages (JSON string, list, or one message) -> OpenAI chat history."""
    if type(value) is str:
        history = _from_json(value, False)
        if history is not None:
            return history
    elif type(value) is list and _plain_messages(value):
        return history_from_parsed(value)  # (what `_structured` would make of what is read)
    return history_from_parsed(_structured(value))


# The message fields `_add_message` reads as text (`tool_calls` and `parts` aside).
_TEXT_FIELDS = ("role", "name", "content", "tool_call_id", "id", "reasoning_content")


def _plain_messages(messages: list[Any]) -> bool:
    """Whether `to_jsonable` leaves all that `_add_message` reads of each message as it is: each is a
    dict with string keys and no `parts`, whose text fields are strings or None and whose tool calls
    are absent or plain (`_plain_call_fields`), and no call is the message itself or holds it as its
    `function` (the walk would cut such a cycle, as it would a list of messages holding itself, which
    holds this message; a decoded request never has one)."""
    for message in messages:
        if type(message) is not dict or "parts" in message or not all(type(key) is str for key in message):
            return False
        for name in _TEXT_FIELDS:
            value = message.get(name)
            if value is not None and type(value) is not str:
                return False
        calls = message.get("tool_calls")
        if calls is not None and (_plain_call_fields(calls) is None or any(
                call is message or call.get("function") is message for call in calls)):
            return False
    return True


def history_from_parsed(value: Any) -> list[dict[str, Any]] | None:
    """The general path of `normalize_messages`, after parsing: a list of messages, an object with
    `messages`, or one message -> chat history (None for anything else)."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("messages", [value])
    if not isinstance(value, list):
        return None
    history: list[dict[str, Any]] = []
    for message in value:
        _add_message(message, history)
    return history


def system_message(instructions: Any) -> dict[str, Any] | None:
    """`gen_ai.system_instructions` (parts, text, or a JSON string of either) -> a system message."""
    value = _structured(instructions)
    if is_blank(value):
        return None
    if isinstance(value, str):
        return {"role": "system", "content": value}
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        converted = _from_parts("system", value, None)
        return converted[0] if converted else None
    return {"role": "system", "content": as_text(value)}


def prepend_system(history: list[dict[str, Any]], system: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Add the system instructions first unless the history already carries that text."""
    if system is None:
        return history
    for message in history:
        if message.get("role") == "system" and message.get("content") == system.get("content"):
            return history
    return [system, *history]


def output_from_messages(messages: list[dict[str, Any]],
                         finish_reasons: Sequence[Any] | None = None) -> dict[str, Any]:
    """Output messages (one per choice) -> `outputs` per SPEC §3."""
    return _outputs(messages, finish_reasons, False)


def _outputs(messages: list[dict[str, Any]], finish_reasons: Sequence[Any] | None,
             owned: bool) -> dict[str, Any]:
    """`output_from_messages`. With `owned` (the messages were built by this module for these outputs:
    each a new dict with a non-empty role first, then content), a message holding nothing else but
    its finish reason, as most do, becomes its choice in place instead of being copied key by key."""
    choices = []
    for index, message in enumerate(messages):
        reason = message.get("finish_reason")
        if reason is None and finish_reasons and index < len(finish_reasons):
            reason = finish_reasons[index]
        size = len(message)
        if owned and (size == 2 or (size == 3 and "finish_reason" in message)):
            choice = message  # (the finish reason is set last, or already is: the key order below)
        else:
            choice = {"role": message.get("role") or "assistant", "content": message.get("content")}
            if message.get("tool_calls"):
                choice["tool_calls"] = message["tool_calls"]
            if message.get("reasoning_content"):
                choice["reasoning_content"] = message["reasoning_content"]
        choice["finish_reason"] = normalize_finish_reason(reason)
        choices.append(choice)
    if not choices:
        return {}
    if len(choices) == 1:
        return choices[0]
    outputs = dict(choices[0])
    outputs["choices"] = choices
    return outputs


def normalize_output_messages(value: Any,
                              finish_reasons: Sequence[Any] | None = None) -> dict[str, Any] | None:
    """`gen_ai.output.messages`-like value -> outputs, keeping each choice's finish_reason."""
    messages = _from_json(value, True) if type(value) is str else None
    if messages is None:
        messages = output_messages_from_parsed(_structured(value))
    return _outputs(messages, finish_reasons, True) if messages else None


def output_messages_from_parsed(value: Any) -> list[dict[str, Any]] | None:
    """The general path of `normalize_output_messages`, after parsing: a list of choices (or one)
    -> one message per choice, each with its finish_reason (None for anything else)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return None
    messages: list[dict[str, Any]] = []
    for choice in value:
        _add_output(choice, messages)
    return messages


def _add_output(choice: Any, messages: list[dict[str, Any]]) -> None:
    """Append the message of one output choice to `messages`, with the choice's finish_reason: one
    message per choice (a choice's tool responses are not outputs)."""
    count = len(messages)
    _add_message(choice, messages)
    if len(messages) == count:
        return
    del messages[count + 1:]
    if isinstance(choice, dict) and choice.get("finish_reason") is not None:
        messages[count]["finish_reason"] = choice.get("finish_reason")


def _from_json(text: str, output: bool) -> list[dict[str, Any]] | None:
    """The messages of `text`, a JSON list, as `normalize_messages` makes them (with `output`, as
    `normalize_output_messages` makes them before `output_from_messages`), decoded by the faster
    `parse_json_fast`; None when that is not enough (not a list, or a message holding what orjson
    may read differently from `json`, or nested too deep): the general path then decides.

    The usual OTel message is converted here (`_usual_message`): it holds strings only, 3 levels
    deep (and a tool call's arguments, checked by `json_ready`), which orjson reads as `json` does,
    so it needs no other check. Any other message is checked (`decoded_as_json`) before the general
    code converts it.
    """
    decoded = parse_json_fast(text)
    if type(decoded) is not list:
        return None
    add = _add_output if output else _add_message
    messages: list[dict[str, Any]] = []
    for message in decoded:
        usual = _usual_message(message, output)
        if usual is not None:
            messages.append(usual)
        elif decoded_as_json(message, MAX_DEPTH - 1):  # (the messages are one level below the top)
            add(message, messages)
        else:
            return None
    return messages


def _usual_message(message: Any, output: bool) -> dict[str, Any] | None:
    """A message of one part as `_add_message` makes it, and with `output` the same with a string
    "finish_reason" as `_add_output` makes it; None for anything else. The part is the usual text
    `{"type": "text", "content": str}`, tool call `{"type": "tool_call", "id": str, "name": str,
    "arguments": ...}` (arguments: None, a string, or a value `json_ready` accepts) or tool response
    `{"type": "tool_call_response", "id": str, "response": str}`. OpenAI's `{"role": str, "content":
    str}` is a usual message too (many emitters write that form), unless its content looks like a
    JSON list of parts. (Checked in full: the message holds these keys only, so nothing else in it
    needs the `decoded_as_json` check.)"""
    if type(message) is not dict:
        return None
    size = len(message)
    if size != 2 and not (output and size == 3 and type(message.get("finish_reason")) is str):
        return None
    content = message.get("content")
    if type(content) is str:  # OpenAI's form: with the size checked above, it holds nothing else
        role = message.get("role")
        if type(role) is not str or content.lstrip()[:1] in _PARTS_OPENERS:
            return None
        converted = {"role": _NORMAL_ROLES.get(role) or normalize_role(role), "content": content}
        if size == 3:
            converted["finish_reason"] = message["finish_reason"]
        return converted
    try:  # (subscripts: quicker than `get`, and the usual message has these keys)
        role = message["role"]
        parts = message["parts"]
    except KeyError:
        return None
    if type(role) is not str or type(parts) is not list or len(parts) != 1:
        return None
    part = parts[0]
    if type(part) is not dict:
        return None
    if len(part) == 2:  # the usual text part
        try:
            if part["type"] != "text":
                return None
            content = part["content"]
        except KeyError:
            return None
        if type(content) is not str:
            return None
        converted = {"role": _NORMAL_ROLES.get(role) or normalize_role(role), "content": content}
    else:
        kind = part.get("type")
        if kind == "tool_call":
            converted = _usual_tool_call(role, part)
        elif kind == "tool_call_response":
            converted = _usual_tool_response(part)
        else:
            return None
        if converted is None:
            return None
    if size == 3:
        converted["finish_reason"] = message["finish_reason"]
    return converted


def _usual_tool_call(role: str, part: dict[str, Any]) -> dict[str, Any] | None:
    """The message `_add_parts` makes of a usual tool-call part (see `_usual_message`), or None."""
    if len(part) != 4 or "arguments" not in part:
        return None
    call_id = part.get("id")
    name = part.get("name")
    arguments = part["arguments"]
    if type(call_id) is not str or type(name) is not str:
        return None
    if arguments is None or type(arguments) is str:
        encoded = arguments_json(arguments)
    elif json_ready(arguments, MAX_DEPTH - 4):  # (the arguments sit 4 levels below the top of the list)
        encoded = _ARGUMENTS_ENCODER.encode(arguments)  # (what `arguments_json` makes of them)
    else:
        return None
    return {"role": _NORMAL_ROLES.get(role) or normalize_role(role), "content": None,
            "tool_calls": [_encoded_tool_call(call_id, name, encoded)]}


def _usual_tool_response(part: dict[str, Any]) -> dict[str, Any] | None:
    """The tool message `_add_parts` makes of a usual tool-response part (see `_usual_message`), or None."""
    if len(part) != 3:
        return None
    call_id = part.get("id")
    response = part.get("response")
    if type(call_id) is not str or type(response) is not str:
        return None
    return {"role": "tool", "tool_call_id": "" if is_blank(call_id) else call_id, "content": response}


def normalize_tool_definitions(value: Any) -> list[dict[str, Any]] | None:
    """Tool definitions in OTel, OpenAI, Anthropic or flat form -> OpenAI function tools."""
    return tool_definitions_from_parsed(parse_structured_jsonable(value))  # (the one walk)


def tool_definitions_from_parsed(value: Any) -> list[dict[str, Any]] | None:
    """`normalize_tool_definitions` of a value that is JSON-ready already (as `to_jsonable` makes it)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return None
    tools = []
    for item in value:
        item = parse_structured_jsonable(item) if isinstance(item, str) else item
        if not isinstance(item, dict):
            continue
        function = item.get("function") if isinstance(item.get("function"), dict) else item
        name = function.get("name")
        if is_blank(name):
            tools.append(item)
            continue
        definition: dict[str, Any] = {"name": str(name)}
        if not is_blank(function.get("description")):
            definition["description"] = str(function["description"])
        parameters = function.get("parameters", function.get("input_schema"))
        if parameters is not None:
            definition["parameters"] = (parse_structured_jsonable(parameters)
                                        if isinstance(parameters, str) else parameters)
        tool_type = item.get("type") if not is_blank(item.get("type")) else "function"
        tools.append({"type": tool_type, "function": definition})
    return tools
