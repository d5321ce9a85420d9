"""Traceloop / OpenLLMetry: `traceloop-sdk` entity spans and the `opentelemetry-instrumentation-*` extras.

GenAI runs first and maps content (JSON messages, or the indexed `gen_ai.prompt.N.*` keys of
instrumentations < 0.55), request parameters including the legacy `llm.*` ones, and usage.
This module adds what only Traceloop writes:

- entity spans (`traceloop.span.kind` = workflow/task/agent/tool): the decorated call's
  `traceloop.entity.input` `{"args": [...], "kwargs": {...}}` is unwrapped into an object
  (LangChain's `{"inputs", "tags", "metadata", "kwargs"}` form too), the output is parsed;
  values cut by the attribute length limit are kept as text;
- `traceloop.entity.name|path|version`, `traceloop.workflow.name`, managed prompts;
- `traceloop.association.properties.*`: user and customer ids, the rest to metadata (the
  session id is read by sessions.py);
- `llm.request.functions.N.*` (tools offered), `gen_ai.openai.api_base|api_version|api_type`,
  `gen_ai.response.stop_reason`, content-filter results; `llm.headers` is dropped unread
  (it may hold credentials).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from . import messages as msg
from .attributes import SpanAttributes
from .draft import Draft
from .event_type import MODEL, TOOL
from .openlit import to_embedding_input
from .values import as_float, is_blank, parse_json, parse_structured, to_jsonable

CONVENTION = "traceloop"

# Keys only Traceloop's instrumentations write (0.62 spans carry no `traceloop.*` key at all).
MARKER_KEYS = frozenset(("llm.request.type", "gen_ai.openai.api_base", "gen_ai.is_streaming",
                         "llm.usage.total_tokens", "llm.headers", "gen_ai.headers"))
REQUEST_PREFIX, FUNCTIONS_PREFIX = "llm.request.", "llm.request.functions."
COMPLETION_PREFIX = "gen_ai.completion."
TRACELOOP_PREFIX = "traceloop."
INSTRUMENTATION_SCOPE = "opentelemetry.instrumentation."
CALL_KEYS = frozenset(("args", "kwargs"))
LANGCHAIN_INPUT_KEYS = frozenset(("inputs", "input_str", "tags", "metadata", "kwargs"))
LANGCHAIN_OUTPUT_KEYS = frozenset(("outputs", "output", "kwargs"))
SECRET_KEYS = ("llm.headers", "gen_ai.headers")
ASSOCIATION_PREFIX = "traceloop.association.properties."
USER_FIELDS = ("user_id", "customer_id")
METADATA_KEYS = {
    "traceloop.entity.name": "entity_name",
    "traceloop.entity.path": "entity_path",
    "traceloop.entity.version": "entity_version",
    "traceloop.workflow.name": "workflow_name",
    "traceloop.correlation.id": "correlation_id",
    "gen_ai.openai.api_base": "api_base",
    "gen_ai.openai.api_version": "api_version",
    "gen_ai.openai.api_type": "api_type",
    "gen_ai.response.reasoning_effort": "response_reasoning_effort",
}
# Provenance names of the metadata fields (debug mode), built once.
_METADATA_NOTES = {key: f"metadata.{field}" for key, field in METADATA_KEYS.items()}
ENTITY_INPUT, ENTITY_OUTPUT, ENTITY_NAME = "traceloop.entity.input", "traceloop.entity.output", "traceloop.entity.name"
STOP_REASON = "gen_ai.response.stop_reason"
PROMPT_FILTER = "gen_ai.prompt.prompt_filter_results"
FILTER_SUFFIX = ".content_filter_results"  # gen_ai.completion.<N>.content_filter_results
PROMPT_PREFIX = "traceloop.prompt."  # managed prompts
MODEL_KEYS = ("llm.request.model", "llm.response.model")
# Every single key `apply` reads (prefixes aside): intersected once with the span's keys, so
# the sections whose keys are absent cost nothing.
READ_KEYS = frozenset((*SECRET_KEYS, ENTITY_INPUT, ENTITY_OUTPUT, ENTITY_NAME, *METADATA_KEYS, STOP_REASON,
                       PROMPT_FILTER, *MODEL_KEYS))
CHUNK_EVENTS = ("llm.content.completion.chunk", "gen_ai.content.completion.chunk")
EMBEDDING_TYPES = ("embedding", "embeddings")
# Tool parameters texts `_functions` leaves to `normalize_tool_definitions` (see `_short_object_text`):
# at most this long (its walk truncates keys over 1000 chars) and this nested (it cuts the parameters
# of a definition 62 levels down: two below the top of the list it walks).
_SHORT_SCHEMA_CHARS = 1_000
_SHORT_SCHEMA_BRACKETS = 60
_CONTAINER_OPENERS = ("{", "[")


def applies(attrs: SpanAttributes, span: Any) -> bool:
    if attrs.present(MARKER_KEYS):  # (one cached answer per set of attribute names)
        return True
    if attrs.has_prefix(TRACELOOP_PREFIX) or attrs.has_prefix(FUNCTIONS_PREFIX):
        return True
    return attrs.scope_name(span).startswith(INSTRUMENTATION_SCOPE) and attrs.has_prefix("gen_ai.prompt.")


def apply(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    plan: _KeyPlan = attrs.derived(_make_plan)  # worked out once per tuple of attribute names
    present = plan.read
    if present:
        if plan.secrets:
            attrs.consumed.update(plan.secrets)  # never read: headers may carry an API key
        _entity(attrs, draft, present)
        if plan.metadata:
            _metadata_fields(attrs, draft, plan.metadata)
    if plan.traceloop:
        if plan.association:
            _association(attrs, draft)
        if plan.prompt:
            _prompt_management(attrs, draft)
    _model(attrs, span, draft, plan)


# ----- entity spans ----------------------------------------------------------------------
def _entity(attrs: SpanAttributes, draft: Draft, present: set[str]) -> None:
    if ENTITY_INPUT not in present and ENTITY_OUTPUT not in present and (
            ENTITY_NAME not in present or draft.event_type != TOOL):
        return  # (a name alone matters only to a tool span, which it names)
    raw_input = attrs.get(ENTITY_INPUT, field="inputs")
    raw_output = attrs.get(ENTITY_OUTPUT, field="outputs")
    name = attrs.peek(ENTITY_NAME)
    if draft.event_type == TOOL:
        if not is_blank(name) and not draft.tool_name:
            draft.tool_name = str(name)  # the tool event is named after its tool (SPEC §3)
        if raw_input is not None:
            draft.set_default("tool_arguments", unwrap_input(raw_input))
        if raw_output is not None:
            draft.set_default("tool_result", unwrap_output(raw_output))
        return
    if raw_input is not None:
        draft.set_default("input_value", unwrap_input(raw_input))
    if raw_output is not None:
        draft.set_default("output_value", unwrap_output(raw_output))


def unwrap_input(value: Any) -> Any:
    """The decorated call's arguments as one object; text when it is not (or no longer) JSON.

    `{"args": [a], "kwargs": {...}}` -> the kwargs, plus the positional args under `args`; a
    single positional dict and nothing else is the object itself; LangChain's
    `{"inputs": ..., "tags": ..., "metadata": ..., "kwargs": ...}` -> its `inputs`.
    """
    parsed = parse_json(value) if isinstance(value, str) else to_jsonable(value)
    if not isinstance(parsed, dict):
        return parsed
    keys = set(parsed)
    if keys and keys <= CALL_KEYS:
        return _call_arguments(parsed.get("args"), parsed.get("kwargs"))
    if "inputs" in keys and keys <= LANGCHAIN_INPUT_KEYS:
        inputs = parsed.get("inputs")
        if is_blank(inputs) or inputs == {}:
            inputs = parse_structured(parsed.get("input_str")) if parsed.get("input_str") is not None else inputs
        return inputs if isinstance(inputs, dict) else {"input": inputs}
    return parsed


def _call_arguments(args: Any, kwargs: Any) -> Any:
    positional = list(args) if isinstance(args, (list, tuple)) else ([] if args is None else [args])
    named = dict(kwargs) if isinstance(kwargs, dict) else {}
    if len(positional) == 1 and isinstance(positional[0], dict) and not named:
        return dict(positional[0])
    if positional:
        named.setdefault("args" if "args" not in named else "positional_args", positional)
    return named


def unwrap_output(value: Any) -> Any:
    """The return value, parsed when JSON; LangChain's `{"outputs"|"output", "kwargs"}` unwrapped."""
    parsed = parse_json(value) if isinstance(value, str) else to_jsonable(value)
    if isinstance(parsed, dict):
        keys = set(parsed)
        if "kwargs" in keys and keys <= LANGCHAIN_OUTPUT_KEYS and len(keys) == 2:
            inner = parsed.get("outputs", parsed.get("output"))
            return parse_json(inner) if isinstance(inner, str) else inner
    return parsed


# ----- names, association properties, managed prompts ---------------------------------------
def _metadata_keys(present: Collection[str]) -> tuple[tuple[str, str], ...]:
    """(key, metadata field) of the METADATA_KEYS among `present`, in METADATA_KEYS order."""
    return tuple((key, field) for key, field in METADATA_KEYS.items() if key in present)


def _metadata_fields(attrs: SpanAttributes, draft: Draft, fields: tuple[tuple[str, str], ...]) -> None:
    """`fields` (as `_metadata_keys` gives them): each consumed, read or blank (as `SpanAttributes.get`
    consumes and notes it), copied unless blank."""
    raw, consumed, metadata = attrs.raw, attrs.consumed, draft.metadata
    for key, field in fields:
        consumed.add(key)
        value = raw[key]
        if type(value) is str:  # (the usual type: kept as it is)
            if not value.strip():
                continue
        elif is_blank(value):
            continue
        elif isinstance(value, (list, tuple)):
            value = to_jsonable(value)
        else:
            value = str(value)
        if attrs.debug:
            attrs.note(_METADATA_NOTES[key], key)
        metadata.setdefault(field, value)


def _association(attrs: SpanAttributes, draft: Draft) -> None:
    """Association properties: ids to user_properties (they beat `llm.user`), the rest to metadata."""
    for key in list(attrs.keys_with_prefix(ASSOCIATION_PREFIX)):
        name = key[len(ASSOCIATION_PREFIX):]
        if name == "session_id" or not name:
            continue  # sessions.py reads it
        value = attrs.get(key, field=f"user_properties.{name}" if name in USER_FIELDS else f"metadata.{name}")
        if is_blank(value):
            continue
        if name in USER_FIELDS:
            draft.user_properties[name] = str(value)
        else:
            draft.metadata.setdefault(name, to_jsonable(value))


def _prompt_management(attrs: SpanAttributes, draft: Draft) -> None:
    prompt = {}
    for key, value in attrs.prefixed(PROMPT_PREFIX).items():
        if not is_blank(value):
            prompt[key.replace(".", "_")] = to_jsonable(parse_json(value))
    if prompt:
        draft.metadata.setdefault("prompt", prompt)


# ----- model spans ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _KeyPlan:
    """Which of the keys `apply` reads a span has, found once per tuple of attribute names
    (`SpanAttributes.derived`): most of them are absent from most spans."""

    read: frozenset[str]  # of READ_KEYS
    secrets: tuple[str, ...]  # of SECRET_KEYS
    metadata: tuple[tuple[str, str], ...]  # `_metadata_keys` of `read`
    traceloop: bool  # any traceloop.* key
    association: bool  # any traceloop.association.properties.* key
    prompt: bool  # any traceloop.prompt.* key (managed prompts)
    model_keys: tuple[str, ...]  # of MODEL_KEYS, in that order
    functions: bool  # any llm.request.functions.* key
    completion_keys: tuple[str, ...]  # gen_ai.completion.*, sorted
    filter_keys: tuple[str, ...]  # those of completion_keys that `_filter_results` reads
    request_keys: tuple[str, ...]  # llm.request.*, sorted: all consumed (the type and tools included)
    request_params: tuple[tuple[str, str], ...]  # (key, config key) of those copied into config, in that order


def _make_plan(names: tuple[Any, ...]) -> _KeyPlan:
    read = READ_KEYS.intersection(names)
    request_keys = _sorted_with_prefix(names, REQUEST_PREFIX)
    params = []
    for key in request_keys:
        suffix = key[len(REQUEST_PREFIX):]
        if suffix not in ("type", "model") and not suffix.startswith("functions."):
            params.append((key, suffix.replace(".", "_")))
    completion_keys = _sorted_with_prefix(names, COMPLETION_PREFIX)
    return _KeyPlan(
        read=read,
        secrets=tuple(key for key in SECRET_KEYS if key in read),
        metadata=_metadata_keys(read),
        traceloop=any(isinstance(name, str) and name.startswith(TRACELOOP_PREFIX) for name in names),
        association=bool(_sorted_with_prefix(names, ASSOCIATION_PREFIX)),
        prompt=bool(_sorted_with_prefix(names, PROMPT_PREFIX)),
        model_keys=tuple(key for key in MODEL_KEYS if key in read),
        functions=any(key.startswith(FUNCTIONS_PREFIX) for key in request_keys),
        completion_keys=completion_keys,
        filter_keys=tuple(key for key in completion_keys if key.endswith(FILTER_SUFFIX)),
        request_keys=request_keys,
        request_params=tuple(params),
    )


def _sorted_with_prefix(names: tuple[Any, ...], prefix: str) -> tuple[str, ...]:
    return tuple(sorted(name for name in names if isinstance(name, str) and name.startswith(prefix)))


def _model(attrs: SpanAttributes, span: Any, draft: Draft, plan: _KeyPlan) -> None:
    present = plan.read
    if plan.functions:
        _functions(attrs, draft)
    if STOP_REASON in present:
        _stop_reason(attrs, draft)
    if plan.filter_keys or PROMPT_FILTER in present:
        _filter_results(attrs, draft, present, plan.filter_keys)  # (the other completion keys add nothing)
    for key in plan.model_keys:
        value = attrs.get(key)
        if not is_blank(value):
            draft.config.setdefault("model", str(value))
    if plan.request_keys:
        attrs.consumed.update(plan.request_keys)  # (the type and tools included)
        if plan.request_params:
            _request_parameters(attrs, draft, plan.request_params)
    if draft.event_type != MODEL:
        return
    raw = attrs.raw
    request_type = raw.get("llm.request.type") or raw.get("gen_ai.operation.name")
    if request_type and str(request_type).strip().lower() in EMBEDDING_TYPES:
        to_embedding_input(draft)
    if attrs.events(span):
        _first_chunk(attrs, span, draft)


def _request_parameters(attrs: SpanAttributes, draft: Draft, params: tuple[tuple[str, str], ...]) -> None:
    """Legacy `llm.request.*` parameters GenAI left: `params` as `_KeyPlan.request_params`."""
    attributes = attrs.raw
    for key, name in params:
        value = attributes[key]
        if is_blank(value) or value in ((), []):
            continue
        draft.config.setdefault(name, to_jsonable(parse_json(value)))


def _functions(attrs: SpanAttributes, draft: Draft) -> None:
    """`llm.request.functions.N.{name,description,parameters}`: the tools offered."""
    if draft.tools:
        return  # an earlier convention mapped them (`_request_parameters` consumes the keys)
    slots = attrs.indexed(FUNCTIONS_PREFIX)
    if not slots:
        return
    definitions = []
    # Whether the definitions are JSON-ready (`to_jsonable` would leave them as they are): strings
    # (or no description) only, as emitters write them. Then `normalize_tool_definitions` is spared its walk.
    ready = True
    for slot in slots:
        name = slot.get("name")
        if is_blank(name):
            continue
        description = slot.get("description")
        if type(name) is not str or (description is not None and type(description) is not str):
            ready = False
        definition = {"name": name, "description": description}
        parameters = slot.get("parameters")
        if parameters is not None:
            # A schema's text is left to `normalize_tool_definitions`, which decodes it JSON-ready
            # (orjson): decoded here, it would cost that function a walk over every node.
            if not _short_object_text(parameters):
                parameters = parse_structured(parameters)
                ready = False
            definition["parameters"] = parameters
        definitions.append(definition)
    tools = (msg.tool_definitions_from_parsed if ready else msg.normalize_tool_definitions)(definitions)
    if tools:
        draft.set_default("tools", tools)


def _short_object_text(value: Any) -> bool:
    """Whether `normalize_tool_definitions` reads `value` (a tool's parameters) to the same definition
    as it reads `parse_structured(value)`: a text starting with `{` or `[` (decoded to a container, or
    kept as it is, never to a string or None, which it would decode again or drop), short enough to
    hold no key its walk cuts (over 1000 chars) and too few brackets to reach its depth limit."""
    return (type(value) is str and len(value) <= _SHORT_SCHEMA_CHARS and value.lstrip()[:1] in _CONTAINER_OPENERS
            and value.count("{") + value.count("[") <= _SHORT_SCHEMA_BRACKETS)


def _stop_reason(attrs: SpanAttributes, draft: Draft) -> None:
    reason = attrs.get(STOP_REASON)
    if is_blank(reason):
        return
    draft.metadata.setdefault("stop_reason", str(reason))
    draft.metadata.setdefault("finish_reasons", [msg.normalize_finish_reason(reason)])
    if draft.output and draft.output.get("finish_reason") is None:
        draft.output["finish_reason"] = msg.normalize_finish_reason(reason)


def _filter_results(attrs: SpanAttributes, draft: Draft, present: set[str],
                    completion_keys: tuple[str, ...]) -> None:
    """Azure content-filter verdicts (GenAI's indexed reader consumed them without mapping)."""
    results = {}
    prompt_filter = attrs.peek(PROMPT_FILTER) if PROMPT_FILTER in present else None
    if prompt_filter is not None:
        results["prompt"] = to_jsonable(parse_json(prompt_filter))
        attrs.consume(PROMPT_FILTER)
    for key in completion_keys:
        if key.endswith(FILTER_SUFFIX):
            results[key.removeprefix(COMPLETION_PREFIX).removesuffix(FILTER_SUFFIX)] = \
                to_jsonable(parse_json(attrs.peek(key)))
            attrs.consume(key)
        if len(results) > 64:
            break
    if results:
        draft.metadata.setdefault("content_filter_results", results)


def _first_chunk(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    """Streams: the first chunk event's time is the time to first token."""
    if "time_to_first_token_s" in draft.metrics:
        return
    events = attrs.events(span)
    if not events:
        return
    start = getattr(span, "start_time", None)
    for event in events:
        if getattr(event, "name", "") in CHUNK_EVENTS:
            stamp = getattr(event, "timestamp", None)
            if isinstance(start, int) and isinstance(stamp, int) and stamp >= start:
                seconds = as_float((stamp - start) / 1e9)
                if seconds is not None:
                    draft.metrics["time_to_first_token_s"] = seconds
            return


__all__ = ["CONVENTION", "applies", "apply", "unwrap_input", "unwrap_output"]
