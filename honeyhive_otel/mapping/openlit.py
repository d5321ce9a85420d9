"""OpenLIT: what OpenLIT adds on top of `gen_ai.*` (current 1.4x and old <= 1.3x builds).

GenAI runs first and already maps content, request parameters, usage and
`gen_ai.usage.cost`. This module adds OpenLIT's own keys (application, environment,
endpoint, SDK version, latency per output token, agent/workflow extras) and repairs what
old builds wrote in their own way, as seen in real spans of openlit 1.33.0:

- `"role: text"` prompt lines render a missing content as the word `None`;
- a call with `tools` records the placeholder completion "Function called with tools"
  instead of the reply, and no finish reason;
- `n > 1` writes one `gen_ai.content.completion.<i>` event per choice;
- embeddings put the input texts where chat messages go (a tuple in the prompt event,
  `str(inputs)` in mistral's `gen_ai.input.messages`);
- tool calls arrive as `gen_ai.response.tool_calls` (JSON or a Python repr) or, in
  1.35+, as `", "`-joined `gen_ai.tool.name` / `.call.id` / `.args` on the model span.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from . import messages as msg
from .attributes import SpanAttributes
from .draft import Draft
from .event_type import MODEL
from .usage import TOKEN_SOURCES
from .values import (
    MAX_DEPTH,
    as_float,
    as_int,
    as_list,
    as_text,
    is_blank,
    parse_json,
    parse_repr,
    parse_structured,
    to_jsonable,
)

CONVENTION = "openlit"

DETECT_KEYS = frozenset(("gen_ai.application_name", "gen_ai.endpoint", "gen_ai.usage.cost"))
TOOLS_PLACEHOLDER = "Function called with tools"
EMBEDDING_OPERATIONS = ("embedding", "embeddings")
PROMPT_EVENT = "gen_ai.content.prompt"
_CHOICE_EVENT = re.compile(r"^gen_ai\.content\.completion\.(\d{1,6})$")
MAX_CHOICES = 128
MAX_TOOL_CALLS = 128

# OpenLIT key -> metadata field (strings, kept as they are).
METADATA_KEYS = {
    "gen_ai.endpoint": "endpoint",
    "gen_ai.sdk.version": "sdk_version",
    "openai.api.type": "api_type",
    "openlit.agent.version_hash": "agent_version_hash",
}
# Token breakdowns OpenLIT reports that are not in the shared usage table.
EXTRA_USAGE = {
    "gen_ai.usage.completion_tokens_details.audio_tokens": "completion_audio_tokens",
    "gen_ai.usage.prompt_tokens_details.audio_tokens": "prompt_audio_tokens",
}
# Agent/workflow keys whose value is the chain's content rather than a description of it.
CHAIN_INPUT_KEYS = ("gen_ai.workflow.input",)
CHAIN_OUTPUT_KEYS = ("gen_ai.workflow.output",)
# Token attributes of the shared usage table: their presence means the total is reported.
TOKEN_KEYS = frozenset(key for keys in TOKEN_SOURCES.values() for key in keys)
SDK_NAME = "telemetry.sdk.name"
TOTAL_USAGE = "gen_ai.client.token.usage"
TIME_PER_TOKEN = "gen_ai.server.time_per_output_token"
# metadata.environment and metadata.application: the first set one of each, in this order.
ENVIRONMENT_KEYS = ("gen_ai.environment", "deployment.environment")
APPLICATION_KEYS = ("gen_ai.application_name", "service.name")
CONTEXT_KEYS = frozenset((SDK_NAME, *ENVIRONMENT_KEYS, *APPLICATION_KEYS, *METADATA_KEYS))
USAGE_KEYS = frozenset((TOTAL_USAGE, *EXTRA_USAGE, TIME_PER_TOKEN))
RESPONSE_TOOL_CALLS, TOOL_NAMES = "gen_ai.response.tool_calls", "gen_ai.tool.name"
# Every single key `apply` reads to decide what to do: intersected once with the span's keys,
# so the absent ones (most) cost no lookup each.
READ_KEYS = CONTEXT_KEYS | USAGE_KEYS | {RESPONSE_TOOL_CALLS, TOOL_NAMES}
# The attributes whose presence (or value) alone makes a span OpenLIT's.
_APPLIES_KEYS = DETECT_KEYS | {SDK_NAME}
# The attributes whose value `applies` reads (see `mapper.SpanMapper._applicable`).
APPLIES_VALUE_KEYS = frozenset((SDK_NAME,))
_DECODER = json.JSONDecoder()  # stateless: one for every call of _json_sequence


def applies(attrs: SpanAttributes, span: Any) -> bool:
    found = attrs.present(_APPLIES_KEYS)  # (one cached answer per set of attribute names: most spans have none)
    if found:
        if not found.isdisjoint(DETECT_KEYS):
            return True
        if SDK_NAME in found and _is_openlit_name(attrs.peek(SDK_NAME)):
            return True
    if attrs.scope_name(span).startswith("openlit"):
        return True
    # Old OpenLIT sets up the TracerProvider itself: its resource names it. Only GenAI spans
    # count, so a user's own spans under that provider are not claimed.
    return _openlit_resource(getattr(span, "resource", None)) and _has_genai(attrs, span)


# (resource, whether it names OpenLIT): the spans of a provider share one resource, read once.
_last_resource: tuple[Any, bool] = (object(), False)


def _openlit_resource(resource: Any) -> bool:
    global _last_resource
    last = _last_resource
    if last[0] is not resource:
        attributes = getattr(resource, "attributes", None)
        last = _last_resource = (resource, attributes is not None and _is_openlit_name(attributes.get(SDK_NAME)))
    return last[1]


def apply(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    plan: _KeyPlan = attrs.derived(_make_plan)  # worked out once per tuple of attribute names
    present = plan.present
    if plan.context:
        _context(attrs, draft, plan)
    if plan.usage:
        _usage_and_latency(attrs, draft, plan)
    if plan.agent_or_workflow:
        _agent_and_workflow(attrs, draft)
    if draft.event_type != MODEL:
        return
    if draft.chat_history and not plan.input_messages:  # (`_old_prompt` changes nothing otherwise)
        _old_prompt(span, attrs, draft)
    if not draft.output:  # (`_choices` fills only an empty output)
        _choices(attrs.events(span), draft)
    _placeholder_output(draft)
    _tool_calls(attrs, draft, present, plan.indexed_tool_calls)
    _finish_reason(attrs, draft)
    if str(attrs.peek("gen_ai.operation.name") or "").strip().lower() in EMBEDDING_OPERATIONS:
        to_embedding_input(draft, _raw_embedding_input(attrs, span))


# ----- which attributes a span has -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _KeyPlan:
    """Which of the attributes `apply` reads a span has. Worked out once per tuple of attribute
    names (`SpanAttributes.derived`): the spans of one instrumentation share a few such tuples."""

    present: frozenset[str]  # of READ_KEYS
    context: frozenset[str]  # of CONTEXT_KEYS: every one `_context` consumes
    environment: tuple[str, ...]  # ENVIRONMENT_KEYS, in that order (the first set one wins)
    application: tuple[str, ...]  # APPLICATION_KEYS, likewise
    metadata: tuple[tuple[str, str], ...]  # (key, field) of METADATA_KEYS
    usage: frozenset[str]  # of USAGE_KEYS: every one `_usage_and_latency` consumes
    extra_usage: tuple[tuple[str, str], ...]  # (key, field) of EXTRA_USAGE
    token_keys: bool  # any of TOKEN_KEYS (then `gen_ai.client.token.usage` is not the total)
    agent_or_workflow: bool  # gen_ai.agent.* or gen_ai.workflow.*
    input_messages: bool  # gen_ai.input.messages
    indexed_tool_calls: bool  # gen_ai.tool_call.*


def _make_plan(keys: tuple[Any, ...]) -> _KeyPlan:
    names = frozenset(keys)
    present = READ_KEYS & names

    def has_prefix(prefix: str) -> bool:
        return any(isinstance(key, str) and key.startswith(prefix) for key in names)

    return _KeyPlan(
        present=present,
        context=present & CONTEXT_KEYS,
        environment=tuple(key for key in ENVIRONMENT_KEYS if key in names),
        application=tuple(key for key in APPLICATION_KEYS if key in names),
        metadata=tuple((key, field) for key, field in METADATA_KEYS.items() if key in names),
        usage=present & USAGE_KEYS,
        extra_usage=tuple((key, field) for key, field in EXTRA_USAGE.items() if key in names),
        token_keys=not names.isdisjoint(TOKEN_KEYS),
        agent_or_workflow=has_prefix("gen_ai.agent.") or has_prefix("gen_ai.workflow."),
        input_messages="gen_ai.input.messages" in names,
        indexed_tool_calls=has_prefix("gen_ai.tool_call."),
    )


# ----- detection ----------------------------------------------------------------------
def _is_openlit_name(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "openlit"


def _has_genai(attrs: SpanAttributes, span: Any) -> bool:
    return attrs.has_prefix("gen_ai.") or any(
        getattr(event, "name", "").startswith("gen_ai.") for event in attrs.events(span))


# ----- context, usage, latency ----------------------------------------------------------
def _context(attrs: SpanAttributes, draft: Draft, plan: _KeyPlan) -> None:
    # Every context attribute the span has is consumed, read or blank (as `SpanAttributes.get`
    # consumes): one update, then plain reads. `deployment.environment` also decides `source`
    # (the mapper peeks it; consuming is safe).
    attrs.consumed.update(plan.context)
    raw, metadata = attrs.raw, draft.metadata
    for field, keys in (("environment", plan.environment), ("application", plan.application)):
        for key in keys:  # the first one set
            value = raw[key]
            if not is_blank(value):
                if attrs.debug:
                    attrs.note("metadata." + field, key)
                metadata.setdefault(field, str(value))
                break
    for key, field in plan.metadata:
        value = raw[key]
        if not is_blank(value):
            metadata.setdefault(field, str(value))


def _usage_and_latency(attrs: SpanAttributes, draft: Draft, plan: _KeyPlan) -> None:
    # Every one present is consumed; `as_int`/`as_float` give None for a blank value.
    present = plan.usage
    attrs.consumed.update(present)
    raw = attrs.raw
    # `gen_ai.client.token.usage` is a metric name OpenLIT also writes on the span: the total.
    if TOTAL_USAGE in present:
        total = as_int(raw[TOTAL_USAGE])
        if total is not None and total >= 0 and not plan.token_keys:
            draft.metadata.setdefault("total_tokens", total)
    for key, field in plan.extra_usage:
        value = as_int(raw[key])
        if value is not None and value >= 0:
            draft.metadata.setdefault(field, value)
    # Zero means "not measured" here (OpenLIT writes 0 for a non-streamed call).
    if TIME_PER_TOKEN in present:
        per_token = as_float(raw[TIME_PER_TOKEN])
        if per_token is not None and per_token > 0:
            draft.metrics.setdefault("time_per_output_token_s", per_token)


def _agent_and_workflow(attrs: SpanAttributes, draft: Draft) -> None:
    """`gen_ai.agent.*` / `gen_ai.workflow.*` extras GenAI left: metadata, except workflow I/O."""
    value = attrs.get(*CHAIN_INPUT_KEYS, field="inputs")
    if value is not None:
        draft.set_default("input_value", parse_structured(value))
    value = attrs.get(*CHAIN_OUTPUT_KEYS, field="outputs")
    if value is not None:
        draft.set_default("output_value", parse_structured(value))
    for prefix, name in (("gen_ai.agent.", "agent"), ("gen_ai.workflow.", "workflow")):
        for key in list(attrs.keys_with_prefix(prefix)):
            if key in attrs.consumed:
                continue
            value = attrs.get(key)
            if is_blank(value):
                continue
            field = f"{name}_{key[len(prefix):].replace('.', '_')}"
            draft.metadata.setdefault(field, to_jsonable(parse_json(value)))


# ----- content repairs (model spans) ------------------------------------------------------
def _has_old_prompt(attrs: SpanAttributes, span: Any) -> bool:
    """Content came from `role: text` lines (1.26-style event or attribute), not structured messages."""
    if attrs.has("gen_ai.input.messages"):
        return False
    if isinstance(attrs.peek("gen_ai.prompt"), str):
        return True
    for event in attrs.events(span):  # (a loop: a generator costs a frame per span)
        if getattr(event, "name", "") == PROMPT_EVENT:
            if isinstance((event.attributes or {}).get("gen_ai.prompt"), str):
                return True
    return False


def _old_prompt(span: Any, attrs: SpanAttributes, draft: Draft) -> None:
    """Old builds format each message as f"{role}: {content}", so a missing content reads `None`."""
    if not draft.chat_history or not _has_old_prompt(attrs, span):
        return
    for message in draft.chat_history:
        if message.get("role") == "assistant" and message.get("content") == "None":
            message["content"] = None


def _choices(span_events: tuple[Any, ...], draft: Draft) -> None:
    """`n > 1` in old builds: one `gen_ai.content.completion.<i>` event per choice."""
    if draft.output:
        return
    found: dict[int, str] = {}
    for event in span_events:
        match = _CHOICE_EVENT.match(getattr(event, "name", "") or "")
        if not match or len(found) >= MAX_CHOICES:
            continue
        text = (event.attributes or {}).get("gen_ai.completion")
        found.setdefault(int(match.group(1)), as_text(text) or "")
    if found:
        draft.output = msg.output_from_messages([{"role": "assistant", "content": found[i]} for i in sorted(found)])


def _placeholder_output(draft: Draft) -> None:
    """Old builds log "Function called with tools" instead of the reply: not model output."""
    output = draft.output
    if not output:
        return
    _drop_placeholder(output)
    for choice in output.get("choices") or ():
        _drop_placeholder(choice)


def _drop_placeholder(choice: dict[str, Any]) -> None:
    if choice.get("content") == TOOLS_PLACEHOLDER and not choice.get("tool_calls"):
        choice["content"] = None


def _tool_calls(attrs: SpanAttributes, draft: Draft, present: frozenset[str], indexed: bool) -> None:
    """Tool calls from `gen_ai.response.tool_calls`, 1.35+'s joined `gen_ai.tool.*` keys or, when
    `indexed` (the span has `gen_ai.tool_call.*` keys), LangGraph's indexed ones."""
    calls = []
    if RESPONSE_TOOL_CALLS in present:
        calls = parse_tool_calls(attrs.get(RESPONSE_TOOL_CALLS, field="outputs.tool_calls"))
    has_calls = draft.output and draft.output.get("tool_calls")
    if not calls and TOOL_NAMES in present:
        raw = attrs.raw
        arguments = raw.get("gen_ai.tool.args")
        # 1.35+ also writes the calls in gen_ai.output.messages, which GenAI read: the joined calls
        # would be dropped, so they are not built. Unless the indexed keys depend on them (read only
        # when these give no call), or the arguments nest deep enough that decoding them could
        # raise (the error is reported as before).
        if has_calls and not indexed and not _may_nest_deep(arguments):
            return
        calls = _joined_tool_calls(raw[TOOL_NAMES], raw.get("gen_ai.tool.call.id"), arguments)
    if not calls and indexed:
        calls = _indexed_tool_calls(attrs)
    if not calls or has_calls:
        return
    output = dict(draft.output or {"role": "assistant", "content": None, "finish_reason": None})
    output["tool_calls"] = calls
    if output.get("finish_reason") is None:
        output["finish_reason"] = "tool_calls"
    choices = output.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choices[0] = {**choices[0], "tool_calls": calls, "finish_reason": output["finish_reason"]}
    draft.output = output


def parse_tool_calls(value: Any) -> list[dict[str, Any]]:
    """OpenAI tool calls from JSON, a Python repr of dicts, or a repr of OpenAI SDK objects."""
    if is_blank(value) or value == "None":
        return []
    parsed = parse_structured(value) if isinstance(value, str) else value
    if isinstance(parsed, (list, dict)):
        return msg.normalize_tool_calls(parsed)[:MAX_TOOL_CALLS]
    if isinstance(parsed, str):
        return _sdk_repr_tool_calls(parsed)
    return []


_SDK_CALL = re.compile(
    r"ChatCompletionMessage(?:Function)?ToolCall\(id='(?P<id>[^']*)',\s*function=Function\("
    r"arguments=(?P<q>['\"])(?P<args>.*?)(?P=q),\s*name='(?P<name>[^']*)'\)")


def _sdk_repr_tool_calls(text: str) -> list[dict[str, Any]]:
    """`str(message.tool_calls)` of the openai SDK: `[ChatCompletionMessageToolCall(id='..', ...)]`."""
    calls = []
    for match in _SDK_CALL.finditer(text[:200_000]):
        quote = match.group("q")
        arguments = parse_repr(f"{quote}{match.group('args')}{quote}")
        calls.append(msg.tool_call(match.group("id"), match.group("name"), arguments))
        if len(calls) >= MAX_TOOL_CALLS:
            break
    return calls


def _joined_tool_calls(names: Any, ids: Any, args: Any) -> list[dict[str, Any]]:
    """1.35+: all calls of a reply as `", "`-joined names, ids and JSON arguments."""
    if is_blank(names) or not isinstance(names, str):
        return []
    name_list = [name.strip() for name in names.split(",")]
    id_list = [item.strip() for item in ids.split(",")] if isinstance(ids, str) and not is_blank(ids) else []
    arg_list = _json_sequence(args) if isinstance(args, str) else []
    if len(name_list) > MAX_TOOL_CALLS:
        return []
    ids_split = not id_list or len(id_list) == len(name_list)
    args_split = is_blank(args) or len(arg_list) == len(name_list)
    if len(name_list) > 1 and not (ids_split and args_split):
        return [msg.tool_call(ids, names, args)]  # cannot split reliably: keep as one
    calls = []
    for index, name in enumerate(name_list):
        call_id = id_list[index] if index < len(id_list) else None
        arguments = arg_list[index] if index < len(arg_list) else (args if len(name_list) == 1 else None)
        calls.append(msg.tool_call(call_id, name, arguments))
    return calls


def _may_nest_deep(value: Any) -> bool:
    """Whether `_json_sequence(value)` could nest deeper than MAX_DEPTH (and so, in principle, hit the
    recursion limit): a text with fewer brackets cannot."""
    return isinstance(value, str) and value.count("[") + value.count("{") > MAX_DEPTH


def _json_sequence(text: str) -> list[Any]:
    """`'{"a": 1}, {"b": 2}'` -> two values; [] when the text is not such a sequence."""
    decoder = _DECODER
    values: list[Any] = []
    position = 0
    text = text.strip()
    while position < len(text) and len(values) <= MAX_TOOL_CALLS:
        try:
            value, end = decoder.raw_decode(text, position)
        except ValueError:
            return []
        values.append(value)
        position = end
        while position < len(text) and text[position] in ", \n\t":
            position += 1
    return values


def _indexed_tool_calls(attrs: SpanAttributes) -> list[dict[str, Any]]:
    """LangGraph spans: `gen_ai.tool_call.<i>.name|id|arguments`."""
    if not attrs.has_prefix("gen_ai.tool_call."):
        return []
    return [msg.tool_call(slot.get("id"), slot.get("name"), slot.get("arguments"))
            for slot in attrs.indexed("gen_ai.tool_call.")][:MAX_TOOL_CALLS]


def _finish_reason(attrs: SpanAttributes, draft: Draft) -> None:
    """Old builds' completion events carry no finish reason; the span attribute does."""
    if not draft.output or draft.output.get("finish_reason") is not None:
        return
    reasons = as_list(attrs.peek("gen_ai.response.finish_reasons"))
    if not reasons:
        return
    draft.output["finish_reason"] = msg.normalize_finish_reason(reasons[0])
    for index, choice in enumerate(draft.output.get("choices") or []):
        if choice.get("finish_reason") is None and index < len(reasons):
            choice["finish_reason"] = msg.normalize_finish_reason(reasons[index])


# ----- embeddings ---------------------------------------------------------------------------
def _raw_embedding_input(attrs: SpanAttributes, span: Any) -> Any:
    """The embedding input as the emitter wrote it: attribute, else the 1.26 prompt event."""
    value = attrs.peek("gen_ai.input.messages")
    if value is None:
        for event in attrs.events(span):
            if getattr(event, "name", "") == PROMPT_EVENT:
                attributes = event.attributes or {}
                value = attributes.get("gen_ai.prompt", attributes.get("gen_ai.input.messages"))
                break
    return value


def embedding_texts(value: Any) -> Any:
    """Input texts of an embeddings call from OTel messages, a list of strings, JSON or a repr."""
    if isinstance(value, tuple):
        value = list(value)
    parsed = parse_structured(value) if isinstance(value, str) else value
    if isinstance(parsed, str):
        return parsed
    if isinstance(parsed, dict):
        parsed = [parsed]
    if not isinstance(parsed, list):
        return None
    texts: list[Any] = []
    for item in parsed:
        if isinstance(item, dict):
            converted = msg.normalize_message(item)
            texts.append(converted[0].get("content") if converted else to_jsonable(item))
        else:
            texts.append(to_jsonable(item))
    return texts


def to_embedding_input(draft: Draft, raw: Any = None) -> None:
    """An embeddings call is not a chat: its texts become `inputs.input` (SPEC §3)."""
    texts = embedding_texts(raw) if raw is not None else None
    if texts is None and draft.chat_history:
        texts = [message.get("content") for message in draft.chat_history]
    if texts is None:
        return
    draft.chat_history = None
    if isinstance(texts, list):
        draft.embedding_output = {**(draft.embedding_output or {}), "count": len(texts)}
        # One text reads as that text, as the LiteLLM and OpenInference conventions give it.
        texts = texts[0] if len(texts) == 1 else texts
    draft.embedding_input = texts
