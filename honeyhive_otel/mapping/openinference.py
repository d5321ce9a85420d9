"""OpenInference (`openinference.span.kind`, `llm.*`, `input.value`...): Arize's convention.

Decisions (for the README):
- `config.model` is the requested model (`llm.request.model_name`, else `llm.model_name`);
  a different response model goes to `metadata.response_model`.
- `config.provider` is `llm.provider`, else `llm.system`, lowercased with GenAI's aliases
  plus OpenInference's own (`aws`/`amazon` -> `bedrock`, `vertexai` -> `vertex_ai`); when
  both are absent, a LiteLLM-style `provider/model` name with a well-known provider prefix
  names it.
- Messages are rebuilt from `llm.input_messages.N.message.*` into OpenAI messages and then
  normalised by `messages.py` like every other convention's.
- On LLM spans whose messages were rebuilt, `input.value`/`output.value` repeat the request
  and the response: they are consumed and not exported (their JSON only fills fields the
  flattened messages lack, such as a tool message's `tool_call_id`, and gives the response
  id and model). An `input.value` that is neither the request nor a message text is kept.
- `input.value`/`output.value` are JSON-decoded when their mime type says JSON, or when
  they decode to a JSON object; anything else is plain text.
- `"__REDACTED__"` (OpenInference's hide switches) is absent content, never text; the event
  then carries `metadata.redacted_content = true`.
- Embedding vectors are never exported: `embedding.*vector*` attributes are consumed and
  only their count and dimension are kept. An EMBEDDING span's `output.value` is dropped too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

from . import messages as msg
from .attributes import SpanAttributes, nest_indexed
from .draft import Draft
from .genai import normalize_provider
from .usage import TOKEN_SOURCES, USAGE_FIELDS
from .values import (
    MAX_DEPTH,
    as_bool,
    as_float,
    as_int,
    as_list,
    decoded_as_json,
    is_blank,
    parse_json,
    parse_json_exact_fast,
    parse_json_fast,
    parse_structured,
    parse_structured_jsonable,
    to_jsonable,
)

CONVENTION = "openinference"
KIND = "openinference.span.kind"
REDACTED = "__REDACTED__"

INPUT_VALUE, INPUT_MIME = "input.value", "input.mime_type"
OUTPUT_VALUE, OUTPUT_MIME = "output.value", "output.mime_type"

_PROVIDER_ALIASES = {"aws": "bedrock", "amazon": "bedrock", "vertexai": "vertex_ai", "google_genai": "google"}
# `provider/model` prefixes that name a provider unambiguously (LiteLLM's model strings).
_MODEL_PREFIX_PROVIDERS = frozenset({
    "openai", "azure", "anthropic", "bedrock", "vertex_ai", "gemini", "cohere", "mistral", "groq", "xai",
    "deepseek", "together_ai", "fireworks_ai", "ollama", "perplexity", "cerebras", "watsonx", "huggingface",
    "openrouter", "sagemaker", "databricks", "replicate", "anyscale", "deepinfra",
})
# Request parameters that are content (mapped elsewhere) or that must never be exported.
_NOT_CONFIG = frozenset({"model", "messages", "input", "prompt", "tools", "functions", "stream"})
_SECRET_KEY = re.compile(
    r"(api[_-]?key|secret|password|passwd|credential|authorization|cookie|access[_-]?key|session[_-]?token|"
    r"(^|_)ad_token|bearer|private[_-]?key)", re.IGNORECASE)
# draft.metadata keys a user's `metadata` attribute must not shadow.
_RESERVED_METADATA = frozenset({
    *USAGE_FIELDS, "cost", "cost_details", "token_details", "response_model", "response_id", "finish_reasons",
    "tags", "otel", "attributes", "mapping_errors", "tool_call_id", "redacted_content", "agent_name", "graph_node",
    "content_refs",
})
_USAGE_KEYS = frozenset(key for keys in TOKEN_SOURCES.values() for key in keys)
_VECTOR_KEY = re.compile(r"(^|\.)embedding\.vectors?$")
_VECTOR_SUFFIXES = ("embedding.vector", "embedding.vectors")  # what _VECTOR_KEY can match, checked first

# The single keys each section reads (indexed and prefixed keys aside): `apply` intersects
# them once with the span's keys and skips the sections that have nothing to read.
IDENTITY_KEYS = frozenset(("llm.request.model_name", "llm.model_name", "llm.response.model_name",
                           "embedding.model_name", "reranker.model_name", "llm.provider", "llm.system"))
TEMPLATE_FIELDS = (("llm.prompt_template.template", "template"), ("llm.prompt_template.version", "version"),
                   ("prompt.id", "id"), ("prompt.vendor", "vendor"), ("prompt.url", "url"))
TEMPLATE_VARIABLES = "llm.prompt_template.variables"
TEMPLATE_KEYS = frozenset((*(key for key, _ in TEMPLATE_FIELDS), TEMPLATE_VARIABLES))
TOOL_SPAN_KEYS = frozenset(("tool.name", "tool.description", "tool.id", "tool_call.id", "tool.parameters",
                            "tool.json_schema"))
GRAPH_NODE_KEYS = (("id", "graph.node.id"), ("name", "graph.node.name"), ("parent_id", "graph.node.parent_id"))
GRAPH_NODE_NAMES = frozenset(key for _, key in GRAPH_NODE_KEYS)
CONTEXT_KEYS = frozenset(("user.id", "metadata", "tag.tags", "agent.name", *GRAPH_NODE_NAMES))
FINISH_REASON = "llm.finish_reason"
READ_KEYS = frozenset((*IDENTITY_KEYS, *TEMPLATE_KEYS, *TOOL_SPAN_KEYS, *CONTEXT_KEYS, FINISH_REASON))
COST_PREFIX, TOKEN_COUNT_PREFIX = "llm.cost.", "llm.token_count."
_MESSAGE_PREFIX = "message."
_MESSAGE_CUT = len(_MESSAGE_PREFIX)
# A message with these fields only, and a text that does not start like JSON, is already in the
# normaliser's form (`_plain_message`).
_PLAIN_FIELDS = frozenset(("role", "content"))
_JSON_OPENERS = ("{", "[", '"')
_CONTAINER_OPENERS = ("{", "[")
_INT_BOUND = 2**63  # request parameters: `to_jsonable` writes integers beyond it as text
# `_tools`: the depth at which the walk of a list of tool schemas cut each of them.
_SCHEMA_DEPTH = MAX_DEPTH - 1
_ONE_READING_CHARS = 1_000  # `_call`: no key of a shorter JSON text is over `to_jsonable`'s 1000 characters


def applies(attrs: SpanAttributes, span: Any) -> bool:
    return attrs.has(KIND)


def apply(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    kind = str(attrs.peek(KIND) or "").strip().upper()
    state = _State(kind)
    present = attrs.present(READ_KEYS)
    if not present.isdisjoint(IDENTITY_KEYS):
        _identity(attrs, draft)
    _invocation_parameters(attrs, draft, state)
    _messages(attrs, draft, state, present)
    if attrs.has_prefix("llm.tools."):
        _tools(attrs, draft)
    if not present.isdisjoint(TEMPLATE_KEYS):
        _prompt_template(attrs, draft)
    _cost_and_token_details(attrs, draft)
    _embeddings(attrs, draft, state)
    if attrs.has_prefix("retrieval.documents.") or attrs.has_prefix("reranker."):
        _documents(attrs, draft)
    if not present.isdisjoint(TOOL_SPAN_KEYS):
        _tool_span(attrs, draft)
    _io_values(attrs, draft, state)
    if not present.isdisjoint(CONTEXT_KEYS):
        _context(attrs, draft, present)
    if state.redacted:
        draft.metadata.setdefault("redacted_content", True)


class _State:
    """What one span's mapping learned along the way (kind, what came from messages)."""

    __slots__ = ("kind", "redacted", "history_from_messages", "output_from_messages", "embedding_texts",
                 "invocation_tools")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.redacted = False
        self.history_from_messages = False
        self.output_from_messages = False
        self.embedding_texts = False
        self.invocation_tools: Any = None

    def text(self, value: Any) -> Any:
        """A content value, with OpenInference's redaction marker read as "absent"."""
        if isinstance(value, str) and value.strip() == REDACTED:
            self.redacted = True
            return None
        return value


# ----- identity ----------------------------------------------------------------------
def normalize_oi_provider(value: Any) -> str | None:
    """OpenInference provider/system values -> HoneyHive's lowercase provider names."""
    if is_blank(value):
        return None
    text = str(value).strip().lower()
    return normalize_provider(_PROVIDER_ALIASES.get(text, text))


def provider_from_model(model: Any) -> str | None:
    """`openai/gpt-4o-mini` names its provider; a bare model name names none."""
    if not isinstance(model, str) or "/" not in model:
        return None
    prefix = model.split("/", 1)[0].strip().lower()
    return normalize_provider(prefix) if prefix in _MODEL_PREFIX_PROVIDERS else None


def _identity(attrs: SpanAttributes, draft: Draft) -> None:
    present = attrs.present(IDENTITY_KEYS)
    attrs.consumed.update(present)  # (every identity key is read, blank or not)
    raw = attrs.raw
    # (each value read once: None when absent or blank)
    requested = _non_blank(raw.get("llm.request.model_name"))
    named = _non_blank(raw.get("llm.model_name"))
    response = _non_blank(raw.get("llm.response.model_name"))
    other = _non_blank(raw.get("embedding.model_name"))
    if other is None:
        other = _non_blank(raw.get("reranker.model_name"))
    for model in (requested, named, other, response):
        if model is not None:
            draft.config.setdefault("model", str(model))
            break
    if response is None and requested is not None and named is not None and named != requested:
        response = named
    if response is not None:
        draft.metadata.setdefault("response_model", str(response))
    provider = raw.get("llm.provider")
    if is_blank(provider):
        provider = raw.get("llm.system")
    provider = normalize_oi_provider(provider)
    if provider:
        draft.config.setdefault("provider", provider)
    if attrs.debug:
        for field, keys in _IDENTITY_SOURCES:
            source = next((key for key in keys if key in present and not is_blank(raw[key])), None)
            if source is not None:
                attrs.note(field, source)


def _non_blank(value: Any) -> Any:
    return None if is_blank(value) else value


# Where each identity field can come from, in the order they are noted (debug provenance).
_IDENTITY_SOURCES = (("config.model", ("llm.request.model_name",)), ("config.model", ("llm.model_name",)),
                     ("metadata.response_model", ("llm.response.model_name",)),
                     ("config.model", ("embedding.model_name", "reranker.model_name")),
                     ("config.provider", ("llm.provider", "llm.system")))


# ----- request parameters ------------------------------------------------------------
def _invocation_parameters(attrs: SpanAttributes, draft: Draft, state: _State) -> None:
    for key in ("llm.invocation_parameters", "embedding.invocation_parameters"):
        raw = attrs.peek(key)
        if raw is None:
            continue
        params = parse_json_exact_fast(raw, parse_structured) if isinstance(raw, str) else raw
        if not isinstance(params, dict):
            continue  # not JSON: left unconsumed, so it is kept under metadata.attributes
        attrs.consume(key)
        attrs.note("config", key)
        _apply_params(params, draft, state)
    if "provider" not in draft.config:
        provider = provider_from_model(draft.config.get("model"))
        if provider:
            draft.config["provider"] = provider


def _apply_params(params: dict[str, Any], draft: Draft, state: _State) -> None:
    config = draft.config
    for name, value in params.items():
        if type(name) is not str:  # (decoded JSON: always a str)
            name = str(name)
        if value is None or name in _NOT_CONFIG or _is_secret_name(name):
            continue
        kind = type(value)
        if kind is str or kind is bool or (kind is int and -_INT_BOUND <= value <= _INT_BOUND) or (
                kind is float and math.isfinite(value)):
            config.setdefault(name, value)  # (what to_jsonable keeps as it is, and holds no keys)
        else:
            config.setdefault(name, _without_secrets(to_jsonable(value)))
    stream = as_bool(params.get("stream"))
    if stream is not None:
        draft.config.setdefault("is_streaming", stream)
    elif state.kind == "LLM":
        draft.config.setdefault("is_streaming", False)
    model = params.get("model")
    if not is_blank(model) and "provider" not in draft.config:
        provider = provider_from_model(model)
        if provider:
            draft.config["provider"] = provider
    if not is_blank(model) and "model" not in draft.config:
        draft.config["model"] = str(model)
    if params.get("tools") is not None or params.get("functions") is not None:
        state.invocation_tools = params.get("tools", params.get("functions"))


@lru_cache(maxsize=1024)  # parameter names come from a small vocabulary: one regex search each
def _is_secret_name(name: str) -> bool:
    return _SECRET_KEY.search(name) is not None


def _without_secrets(value: Any) -> Any:
    """Drop secret-looking keys (headers, credentials) at any depth."""
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if not _is_secret_name(str(k))}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


# ----- messages ----------------------------------------------------------------------
def _messages(attrs: SpanAttributes, draft: Draft, state: _State, present: set[str]) -> None:
    history = _message_list(attrs, "llm.input_messages", state, "user", _unfilled(draft.chat_history))
    if history:
        draft.set_default("chat_history", history)
        state.history_from_messages = True
        attrs.note("inputs.chat_history", "llm.input_messages.N.message.*")
    finish_reasons = None
    if FINISH_REASON in present:
        finish = state.text(attrs.get(FINISH_REASON, field="outputs.finish_reason"))
        finish_reasons = [str(finish)] if not is_blank(finish) else None
    if finish_reasons:
        draft.metadata.setdefault("finish_reasons", finish_reasons)
    outputs = _message_list(attrs, "llm.output_messages", state, "assistant", _unfilled(draft.output))
    if outputs:
        if _unfilled(draft.output):
            draft.set_default("output", msg.output_from_messages(outputs, finish_reasons))
        state.output_from_messages = True
        attrs.note("outputs", "llm.output_messages.N.message.*")
    _prompts_and_choices(attrs, draft, state, finish_reasons)


def _unfilled(value: Any) -> bool:
    """Whether a draft slot holding `value` is still empty, as `Draft.set_default` reads it."""
    return value is None or value == [] or value == {}


def _message_list(attrs: SpanAttributes, prefix: str, state: _State, default_role: str,
                  wanted: bool = True) -> list[dict[str, Any]]:
    """Flattened `prefix.N.message.*` slots (or a JSON list under `prefix`) -> OpenAI messages.
    Without `wanted` (the slot is filled already: only whether there are messages and whether a
    text was redacted are read), the list stops at its first message when no attribute under
    `prefix` can hold the redaction marker (the messages after it could only set `state.redacted`)."""
    result: list[dict[str, Any]] = []
    if not attrs.has_prefix(prefix):
        return result
    indexed, _ = attrs.names.indexed(prefix + ".")
    attrs.consumed.update(indexed)  # (what `attrs.indexed` consumes)
    raw = attrs.raw
    first_only = not wanted and not _may_be_redacted(raw, attrs.keys_with_prefix(prefix + "."))
    for pairs, plain, nested in attrs.derived(_MESSAGE_SLOTS[prefix]):
        if first_only and result:
            break
        if plain is not None:  # a role and a text at most: no dict of fields
            role_key, content_key = plain
            message = _plain_message(raw[role_key] if role_key is not None else None,
                                     state.text(raw[content_key]) if content_key is not None else None, default_role)
            if message is not None:
                result.append(message)
                continue
        fields = {}
        for field, key in pairs:  # (a loop: a comprehension is a function call per message)
            fields[field] = raw[key]
        result.extend(_message_of(fields, state, default_role, nested))
    whole = attrs.peek(prefix)
    if not result and whole is not None:
        parsed = msg.normalize_messages(whole)
        if parsed is not None:
            attrs.consume(prefix)
            result = parsed
    return result


# The `contents.N.*` and the `tool_calls.N.*` fields of a message, each slot as (rest, field) pairs.
_NestedSlots = tuple[tuple[tuple[tuple[str, str], ...], ...], tuple[tuple[tuple[str, str], ...], ...]]
# Per message: its (field, name) pairs; when it has no field but a role and a text, (the name of the
# role, of the text), each None when absent (else None); its `_NestedSlots`.
_MessageSlots = tuple[tuple[tuple[tuple[str, str], ...], tuple[Any, Any] | None, _NestedSlots], ...]


def _input_message_slots(names: tuple[Any, ...]) -> _MessageSlots:
    return _message_slots(names, "llm.input_messages.")


def _output_message_slots(names: tuple[Any, ...]) -> _MessageSlots:
    return _message_slots(names, "llm.output_messages.")


_MESSAGE_SLOTS = {"llm.input_messages": _input_message_slots, "llm.output_messages": _output_message_slots}


def _may_be_redacted(raw: Any, names: Iterable[str]) -> bool:
    """Whether a value of `names` may be a redacted text (`_State.text`: the marker, blanks around it)."""
    for name in names:
        value = raw[name]
        if isinstance(value, str) and REDACTED in value:
            return True
    return False


def _message_slots(names: tuple[Any, ...], prefix: str) -> _MessageSlots:
    """Per message under `prefix` (`prefix.N.message.<field>`, in index order), its (field, name)
    pairs (`_MessageSlots`): the slots of `attrs.indexed(prefix)` (names in sorted order, the last
    of a repeated field winning) cut to their `message.` fields, worked out once per tuple of names.
    Messages without such fields are left out (they make no message)."""
    flat = {name: name for name in sorted(name for name in names if isinstance(name, str) and name.startswith(prefix))}
    slots = []
    for slot in nest_indexed(flat, prefix):
        fields = {rest[_MESSAGE_CUT:]: name for rest, name in slot.items() if rest.startswith(_MESSAGE_PREFIX)}
        if fields:
            plain = (fields.get("role"), fields.get("content")) if fields.keys() <= _PLAIN_FIELDS else None
            slots.append((tuple(fields.items()), plain, _nested_slots(fields)))
    return tuple(slots)


def _nested_slots(fields: Iterable[str]) -> _NestedSlots:
    """The `contents.N.*` and `tool_calls.N.*` slots of a message's field names (`nest_indexed`)."""
    names = "\n".join(fields)  # (one search of all the names for each nested field)
    flat = {name: name for name in fields}
    contents = tuple(tuple(slot.items()) for slot in nest_indexed(flat, "contents.")) if "contents." in names else ()
    calls = tuple(tuple(slot.items()) for slot in nest_indexed(flat, "tool_calls.")) if "tool_calls." in names else ()
    return contents, calls


def _message_of(fields: dict[str, Any], state: _State, default_role: str,
                nested: _NestedSlots | None = None) -> list[dict[str, Any]]:
    """One flattened OpenInference message -> OpenAI message(s) through the shared normaliser: the
    `message.` fields of a slot (at least one), keyed by the rest of their names; `nested` is
    `_nested_slots(fields)` when already known (it depends on the names only)."""
    content = state.text(fields.get("content"))
    if fields.keys() <= _PLAIN_FIELDS:
        plain = _plain_message(fields.get("role"), content, default_role)
        if plain is not None:
            return [plain]
    role = fields.get("role")
    role = role if isinstance(role, str) and role.strip() else default_role
    message: dict[str, Any] = {"role": role}
    contents, call_slots = nested if nested is not None else _nested_slots(fields)
    reasoning: list[Any] = []
    if contents:
        parts = [_content_part({rest: fields[field] for rest, field in slot}, state) for slot in contents]
        parts = [part for part in parts if part is not None]
        reasoning = [part["text"] for part in parts if part.get("type") == "reasoning" and part.get("text")]
        parts = [part for part in parts if part.get("type") != "reasoning"]
        if content is None and parts:
            content = parts
    message["content"] = _as_content(content)
    if reasoning:
        message["reasoning_content"] = "\n".join(reasoning)
    calls = [_tool_call({rest: fields[field] for rest, field in slot}, state) for slot in call_slots]
    function_name = fields.get("function_call_name")
    if function_name is not None and not is_blank(function_name):
        calls.append(_call(None, function_name, state.text(fields.get("function_call_arguments_json"))))
    if calls:
        message["tool_calls"] = calls
    for key in ("tool_call_id", "name"):
        value = fields.get(key)
        if value is not None and not is_blank(value):
            message[key] = str(value)
    return msg.normalize_message(message)


def _plain_message(role: Any, content: Any, default_role: str) -> dict[str, Any] | None:
    """Most messages: a role and a text (`content`, read by `state.text`), as the shared normaliser
    makes them (`_message_of` only adds to a message that has more); None when the text could be
    read as JSON parts."""
    if content is None or (type(content) is str and content.lstrip()[:1] not in _JSON_OPENERS):
        return {"role": msg.normalize_role(role if isinstance(role, str) and role.strip() else default_role),
                "content": content}
    return None


def _as_content(content: Any) -> Any:
    """Content for the normaliser: text stays text even when it looks like JSON."""
    if isinstance(content, str):
        # The shared normaliser JSON-decodes string content; pass text as a text part so a
        # message that says `{"a": 1}` stays that text.
        stripped = content.strip()
        if stripped[:1] in ("{", "[", '"') and parse_json(content) is not content:
            return [{"type": "text", "text": content}]
        return content
    if isinstance(content, (list, tuple)) and not all(isinstance(part, dict) for part in content):
        return [{"type": "text", "text": str(part)} if not isinstance(part, dict) else part for part in content]
    return content


def _content_part(part: dict[str, Any], state: _State) -> dict[str, Any] | None:
    """`message_content.*` -> an OpenAI content part (unknown kinds keep their fields)."""
    fields = {key[len("message_content."):]: value for key, value in part.items()
              if key.startswith("message_content.")}
    kind = str(fields.get("type") or ("text" if "text" in fields else "")).lower()
    if kind in ("text", "reasoning"):
        text = state.text(fields.get("text"))
        return None if text is None else {"type": kind, "text": str(text)}
    if kind == "image" or "image.image.url" in fields:
        url = state.text(fields.get("image.image.url"))
        return None if is_blank(url) else {"type": "image_url", "image_url": {"url": str(url)}}
    if kind == "audio" or any(key.startswith("audio.audio.") for key in fields):
        audio = {key[len("audio.audio."):]: state.text(value) for key, value in fields.items()
                 if key.startswith("audio.audio.")}
        return {"type": "audio", "audio": to_jsonable({k: v for k, v in audio.items() if v is not None})}
    rest = {key: to_jsonable(state.text(value)) for key, value in fields.items() if key != "type"}
    rest = {key: value for key, value in rest.items() if value is not None}
    if not kind and not rest:
        return None
    return {"type": kind or "unknown", **rest}


def _tool_call(slot: dict[str, Any], state: _State) -> dict[str, Any]:
    arguments = state.text(slot.get("tool_call.function.arguments"))
    return _call(slot.get("tool_call.id"), slot.get("tool_call.function.name"), arguments)


def _call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """A tool call for `msg.normalize_message`, which reads its arguments (`msg.arguments_json`).
    These calls used to be made by `msg.tool_call` and then read again by the normaliser: a
    second reading changes nothing for None or a string of up to 1000 characters, so those
    are left to the normaliser's one reading; any other arguments (another type, or a longer
    text, whose keys over 1000 characters each reading cuts) are read here first, as before."""
    call = msg.tool_call(call_id, name, None)
    if not (arguments is None or (type(arguments) is str and len(arguments) <= _ONE_READING_CHARS)):
        arguments = msg.arguments_json(arguments)
    call["function"]["arguments"] = arguments
    return call


def _prompts_and_choices(attrs: SpanAttributes, draft: Draft, state: _State, finish: list[str] | None) -> None:
    if attrs.has_prefix("llm.prompts"):
        _prompts(attrs, draft, state)
    if not attrs.has_prefix("llm.choices."):
        return
    choices = [state.text(slot.get("completion.text")) for slot in attrs.indexed("llm.choices.")]
    choices = [text for text in choices if text is not None]
    if choices and not draft.output:
        draft.output = msg.output_from_messages([{"role": "assistant", "content": text} for text in choices], finish)
        state.output_from_messages = True


def _prompts(attrs: SpanAttributes, draft: Draft, state: _State) -> None:
    prompts = [state.text(slot.get("prompt.text")) for slot in attrs.indexed("llm.prompts.")]
    prompts = [text for text in prompts if text is not None]
    listed = attrs.peek("llm.prompts")
    if not prompts and isinstance(listed, (list, tuple)):
        attrs.consume("llm.prompts")
        prompts = [state.text(text) for text in listed if state.text(text) is not None]
    if prompts:
        draft.set_default("prompt", prompts[0] if len(prompts) == 1 else list(prompts))


# ----- tools advertised to the model ---------------------------------------------------
def _tools(attrs: SpanAttributes, draft: Draft) -> None:
    definitions = []
    for slot in attrs.indexed("llm.tools."):
        schema = _tool_schema(slot.get("tool.json_schema"))
        if isinstance(schema, dict):
            definitions.append(schema)
        elif not is_blank(slot.get("tool.name")):
            named = {"name": slot.get("tool.name"), "description": slot.get("tool.description")}
            definitions.append(to_jsonable(named, max_depth=_SCHEMA_DEPTH))
    tools = msg.tool_definitions_from_parsed(definitions) if definitions else None
    if tools:
        draft.set_default("tools", tools)


def _tool_schema(raw: Any) -> Any:
    """`to_jsonable(parse_structured(raw), max_depth=_SCHEMA_DEPTH)`: each schema as the one walk of
    the list of them (`msg.normalize_tool_definitions`) made it. A JSON object or dict repr with
    fewer brackets holds no container that deep, and `parse_structured_jsonable` gives it in one
    pass (orjson; a short text is never walked)."""
    if type(raw) is str and raw[:1] == "{" and raw.count("{") + raw.count("[") + raw.count("(") < _SCHEMA_DEPTH:
        return parse_structured_jsonable(raw)
    return to_jsonable(parse_structured(raw), max_depth=_SCHEMA_DEPTH)


# ----- prompt template -----------------------------------------------------------------
def _prompt_template(attrs: SpanAttributes, draft: Draft) -> None:
    template: dict[str, Any] = {}
    for key, name in TEMPLATE_FIELDS:
        value = attrs.get(key)
        if not is_blank(value):
            template[name] = value
    variables = attrs.get(TEMPLATE_VARIABLES)
    if variables is not None:
        template["variables"] = to_jsonable(parse_structured(variables))
    if template:
        draft.config.setdefault("prompt_template", template)


# ----- cost and token details ------------------------------------------------------------
def _cost_and_token_details(attrs: SpanAttributes, draft: Draft) -> None:
    costs, tokens_read = attrs.derived(_detail_keys)
    attributes = attrs.raw
    details: dict[str, Any] = {}
    for key, parts in costs:
        cost = attributes[key]
        if type(cost) is not float:  # (span floats are finite: the attribute view replaced NaN/inf)
            cost = as_float(cost)
        if cost is None:
            continue
        attrs.consumed.add(key)
        _put_parts(details, parts, cost)
    if details:
        draft.metadata.setdefault("cost_details", details)
        if not attrs.has("llm.cost.total"):
            parts = [details.get(name) for name in ("prompt", "completion")]
            if any(isinstance(part, float) for part in parts):
                draft.metadata.setdefault("cost", sum(part for part in parts if isinstance(part, float)))
    tokens: dict[str, Any] = {}
    for key, parts in tokens_read:
        count = attributes[key]
        if type(count) is not int:
            count = as_int(count)
        if count is None:
            continue
        attrs.consumed.add(key)
        _put_parts(tokens, parts, count)
    if tokens:
        draft.metadata.setdefault("token_details", tokens)


_DetailKeys = tuple[tuple[str, tuple[str, ...]], ...]


def _detail_keys(names: tuple[Any, ...]) -> tuple[_DetailKeys, _DetailKeys]:
    """(the `llm.cost.<path>` names with their paths, the `llm.token_count.<kind>.<detail>` names with
    theirs), sorted, each path split at its dots; the total cost and the usage counts are usage.py's.
    Once per set of names."""
    keys = sorted(key for key in names if isinstance(key, str) and key.startswith((COST_PREFIX, TOKEN_COUNT_PREFIX)))
    costs = tuple((key, tuple(key[len(COST_PREFIX):].split("."))) for key in keys
                  if key.startswith(COST_PREFIX) and key != COST_PREFIX + "total")
    tokens = tuple((key, tuple(key[len(TOKEN_COUNT_PREFIX):].replace("_details", "").split("."))) for key in keys
                   if key.startswith(TOKEN_COUNT_PREFIX) and key not in _USAGE_KEYS
                   and "." in key[len(TOKEN_COUNT_PREFIX):])
    return costs, tokens


def _put_parts(target: dict[str, Any], parts: Sequence[str], value: Any) -> None:
    """`value` at the dotted path `parts` under `target`, making (or replacing by) dicts on the way."""
    for part in parts[:-1]:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            nxt = target[part] = {}
        target = nxt
    target[parts[-1]] = value


# ----- embeddings ----------------------------------------------------------------------
def _embeddings(attrs: SpanAttributes, draft: Draft, state: _State) -> None:
    texts: list[Any] = []
    vectors = 0
    dimension: int | None = None
    slots = attrs.indexed("embedding.embeddings.") if attrs.has_prefix("embedding.embeddings.") else ()
    for slot in slots:
        text = state.text(slot.get("embedding.text"))
        if text is not None:
            texts.append(text)
        vector = slot.get("embedding.vector")
        if isinstance(vector, (list, tuple)):
            vectors += 1
            dimension = dimension if dimension is not None else len(vector)
    attrs.consumed.update(attrs.derived(_vector_keys))  # never exported, even outside the indexed form
    whole = attrs.peek("embedding.embeddings")
    if whole is not None:
        attrs.consume("embedding.embeddings")  # a JSON form may hold vectors: dropped
    if texts:
        state.embedding_texts = True
        draft.set_default("embedding_input", texts[0] if len(texts) == 1 else texts)
    if vectors:
        summary = {"vector_count": vectors}
        if dimension is not None:
            summary["dimension"] = dimension
        draft.embedding_output = {**(draft.embedding_output or {}), **summary}


def _vector_keys(names: tuple[Any, ...]) -> tuple[str, ...]:
    """The names of embedding vectors (`embedding.vector`, `x.embedding.vectors`): once per set of names."""
    return tuple(key for key in names
                 if isinstance(key, str) and key.endswith(_VECTOR_SUFFIXES) and _VECTOR_KEY.search(key))


# ----- retrieval and reranking ----------------------------------------------------------
def _documents(attrs: SpanAttributes, draft: Draft) -> None:
    retrieved = _document_list(attrs, "retrieval.documents.")
    if retrieved:
        draft.set_default("documents", retrieved)
    query = attrs.get("reranker.query", field="inputs.query")
    reranker_inputs = _document_list(attrs, "reranker.input_documents.")
    reranked = _document_list(attrs, "reranker.output_documents.")
    top_k = as_int(attrs.get("reranker.top_k"))
    if top_k is not None:
        draft.config.setdefault("top_k", top_k)
    if reranker_inputs or query is not None:
        arguments: dict[str, Any] = {}
        if query is not None:
            arguments["query"] = query
        if reranker_inputs:
            arguments["documents"] = reranker_inputs
        draft.set_default("tool_arguments", arguments)
    if reranked:
        draft.set_default("documents", reranked)


def _document_list(attrs: SpanAttributes, prefix: str) -> list[dict[str, Any]]:
    documents = []
    for slot in attrs.indexed(prefix):
        document: dict[str, Any] = {}
        for key, value in slot.items():
            if not key.startswith("document.") or value is None:
                continue
            name = key[len("document."):]
            if name == "metadata":
                parsed = parse_structured(value)
                value = parsed if isinstance(parsed, dict) else value
            elif name == "score":
                value = as_float(value) if as_float(value) is not None else value
            elif name == "content" and isinstance(value, str) and value.strip() == REDACTED:
                continue
            document[name] = to_jsonable(value)
        if document:
            documents.append(document)
    return documents


# ----- tool spans ----------------------------------------------------------------------
def _tool_span(attrs: SpanAttributes, draft: Draft) -> None:
    draft.set_tool_identity(attrs.get("tool.name", field="config.tool_name"), attrs.get("tool.description"),
                            attrs.get("tool.id", "tool_call.id"))
    schema = attrs.get("tool.parameters", "tool.json_schema")
    if schema is not None:
        draft.config.setdefault("tool_parameters", to_jsonable(parse_structured(schema)))


# ----- input.value / output.value ---------------------------------------------------------
def _io_values(attrs: SpanAttributes, draft: Draft, state: _State) -> None:
    kind = state.kind
    tool = kind in ("TOOL", "RETRIEVER", "RERANKER") or (kind != "LLM" and draft.event_type == "tool")
    llm = kind != "EMBEDDING" and not tool and (kind == "LLM" or draft.event_type == "model")
    # An LLM span whose messages were rebuilt only reads whether `input.value` is the request.
    shape_only = llm and state.history_from_messages and bool(draft.chat_history)
    incoming = _read_value(attrs, INPUT_VALUE, INPUT_MIME, state, _request_shape if shape_only else decode_value)
    outgoing = _read_value(attrs, OUTPUT_VALUE, OUTPUT_MIME, state)
    if kind == "EMBEDDING":
        _embedding_values(attrs, draft, state, incoming, outgoing)
    elif tool:
        _tool_values(attrs, draft, state, incoming, outgoing)
    elif llm:
        _llm_values(attrs, draft, state, incoming, outgoing)
    else:
        _chain_values(attrs, draft, incoming, outgoing)


_ABSENT = object()


def _read_value(attrs: SpanAttributes, key: str, mime_key: str, state: _State,
                decode: Callable[[Any, Any], Any] | None = None) -> Any:
    """The value decoded (`decode_value` unless told), or _ABSENT; a redacted value is consumed and
    reads as absent."""
    if not attrs.has(key):
        return _ABSENT
    raw = attrs.peek(key)
    if state.text(raw) is None or is_blank(raw):
        attrs.consume(key, mime_key)
        return _ABSENT
    return (decode or decode_value)(raw, attrs.peek(mime_key))


def _request_shape(raw: Any, mime: Any) -> Any:
    """`decode_value(raw, mime)` but for its numbers: orjson's value of a JSON container, without the
    scan for integers beyond 64 bits (which orjson reads as floats, `json` exactly) that
    `parse_json_exact_fast` makes first. For `_llm_values` to recognise a request whose messages it
    has (it reads no number; a request that may fill the history is decoded again, exactly)."""
    if type(raw) is str and raw[:1] in _CONTAINER_OPENERS and raw.count("{") + raw.count("[") <= MAX_DEPTH:
        json_mime = isinstance(mime, str) and "json" in mime.lower()
        if json_mime or raw[:1] == "{":
            value = parse_json_fast(raw)  # (None when orjson refuses the text: `decode_value` decides)
            if value is not None and (json_mime or isinstance(value, dict)):
                return value
    return decode_value(raw, mime)


def decode_value(raw: Any, mime: Any) -> Any:
    """JSON when the mime type says so or the text is a JSON object; otherwise the text."""
    if not isinstance(raw, str):
        return to_jsonable(raw)
    if isinstance(mime, str) and ("json" in mime.lower()):
        return parse_json_exact_fast(raw)
    if raw.lstrip()[:1] == "{":
        parsed = parse_json_exact_fast(raw)
        if isinstance(parsed, dict):
            return parsed
    return raw


def _take(attrs: SpanAttributes, key: str, mime_key: str, field: str) -> None:
    attrs.consume(key, mime_key)
    attrs.note(field, key)


def _llm_values(attrs: SpanAttributes, draft: Draft, state: _State, incoming: Any, outgoing: Any) -> None:
    if incoming is not _ABSENT:
        request = _request_message_list(incoming)
        if state.history_from_messages and draft.chat_history:
            if request is not None:
                if _may_fill(request):  # (else normalising the request would fill nothing)
                    if not decoded_as_json(request, MAX_DEPTH - 1):  # (`_request_shape`: a float may be
                        # an integer beyond 64 bits, read by orjson)
                        request = _request_message_list(decode_value(attrs.peek(INPUT_VALUE), attrs.peek(INPUT_MIME)))
                    _fill_from_request(draft.chat_history, msg.normalize_messages(request))
                attrs.consume(INPUT_VALUE, INPUT_MIME)
            elif isinstance(incoming, str) and any(m.get("content") == incoming for m in draft.chat_history):
                attrs.consume(INPUT_VALUE, INPUT_MIME)
        elif not draft.chat_history and draft.prompt is None:
            _take(attrs, INPUT_VALUE, INPUT_MIME, "inputs.chat_history")
            if request is not None:
                draft.chat_history = msg.normalize_messages(request)
            elif isinstance(incoming, dict) and not is_blank(incoming.get("prompt")):
                draft.prompt = incoming["prompt"]
            elif isinstance(incoming, str):
                draft.chat_history = [{"role": "user", "content": incoming}]
            else:
                draft.input_value = incoming
    if outgoing is not _ABSENT:
        response = outgoing if isinstance(outgoing, dict) else None
        if response is not None:
            _response_identity(response, draft)
        if state.output_from_messages and draft.output:
            if response is not None or (isinstance(outgoing, str) and _mentions(draft.output, outgoing)):
                attrs.consume(OUTPUT_VALUE, OUTPUT_MIME)
        elif not draft.output:
            _take(attrs, OUTPUT_VALUE, OUTPUT_MIME, "outputs")
            choices = _response_choices(response) if response is not None else None
            if choices:
                draft.output = choices
            elif isinstance(outgoing, str):
                draft.output = msg.output_from_messages([{"role": "assistant", "content": outgoing}],
                                                        draft.metadata.get("finish_reasons"))
            else:
                draft.output_value = outgoing
    if draft.tools is None and state.invocation_tools is not None:
        draft.set_default("tools", msg.normalize_tool_definitions(state.invocation_tools))


def _request_message_list(value: Any) -> list[Any] | None:
    """The messages of a request body (`{"messages": [...]}`) or a bare message list, as sent
    (`msg.normalize_messages` makes them the chat)."""
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return value["messages"]
    if isinstance(value, list) and value and all(isinstance(m, dict) and "role" in m for m in value):
        return value
    return None


# The request-message keys from which the normaliser derives what `_fill_from_request` copies
# (tool_call_id, name, tool_calls; a tool message's id; parts of any kind).
_FILL_SOURCE_KEYS = frozenset(("tool_call_id", "name", "tool_calls", "id", "parts"))


def _may_fill(messages: list[Any]) -> bool:
    """Whether `_fill_from_request` could copy anything from these request messages: most
    requests are plain role/content messages, whose normalised form fills nothing."""
    for message in messages:  # (a loop, and the set reading the dict's keys: no generator per call)
        if isinstance(message, dict) and not _FILL_SOURCE_KEYS.isdisjoint(message):
            return True
    return False


def _fill_from_request(history: list[dict[str, Any]], request: list[dict[str, Any]]) -> None:
    """Fields the flattened messages lack (a tool message's tool_call_id), taken from the request."""
    if len(history) != len(request):
        return
    for mine, theirs in zip(history, request, strict=True):
        if mine.get("role") != theirs.get("role"):
            return
    for mine, theirs in zip(history, request, strict=True):
        for key in ("tool_call_id", "name", "tool_calls"):
            if key not in mine and theirs.get(key):
                mine[key] = theirs[key]


def _mentions(output: dict[str, Any], text: str) -> bool:
    choices = output.get("choices") or [output]
    return any(choice.get("content") == text for choice in choices)


def _response_identity(response: dict[str, Any], draft: Draft) -> None:
    """The id and model of an OpenAI-style response body."""
    if not isinstance(response.get("choices"), list):
        return
    if not is_blank(response.get("id")):
        draft.metadata.setdefault("response_id", str(response["id"]))
    if not is_blank(response.get("model")) and response.get("model") != draft.config.get("model"):
        draft.metadata.setdefault("response_model", str(response["model"]))


def _response_choices(response: dict[str, Any]) -> dict[str, Any] | None:
    choices = response.get("choices")
    if not isinstance(choices, list):
        return None
    messages = []
    for choice in choices:
        if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
            messages.append({**choice["message"], "finish_reason": choice.get("finish_reason")})
    return msg.normalize_output_messages(messages) if messages else None


def _embedding_values(attrs: SpanAttributes, draft: Draft, state: _State, incoming: Any, outgoing: Any) -> None:
    if incoming is not _ABSENT:
        attrs.consume(INPUT_VALUE, INPUT_MIME)  # the texts again, or the request
        if not state.embedding_texts:
            value = parse_structured(incoming) if isinstance(incoming, str) else incoming
            if isinstance(value, dict) and "input" in value:
                value = value["input"]
            draft.set_default("embedding_input", value)
    if outgoing is not _ABSENT:
        attrs.consume(OUTPUT_VALUE, OUTPUT_MIME)  # may hold vectors: never exported
        if not draft.embedding_output:
            _embedding_summary(outgoing, draft)


def _embedding_summary(value: Any, draft: Draft) -> None:
    """Count and dimension of an OpenAI-style embeddings response, vectors dropped."""
    data = value.get("data") if isinstance(value, dict) else None
    if not isinstance(data, list):
        return
    vectors = [item.get("embedding") for item in data if isinstance(item, dict)]
    vectors = [vector for vector in vectors if isinstance(vector, list)]
    if vectors:
        draft.embedding_output = {"vector_count": len(vectors), "dimension": len(vectors[0])}


def _tool_values(attrs: SpanAttributes, draft: Draft, state: _State, incoming: Any, outgoing: Any) -> None:
    if incoming is not _ABSENT:
        _take(attrs, INPUT_VALUE, INPUT_MIME, "inputs")
        if state.kind in ("RETRIEVER", "RERANKER") and draft.query is None and draft.tool_arguments is None:
            draft.query = incoming
        elif isinstance(incoming, dict):
            draft.set_default("tool_arguments", incoming)
        else:
            draft.set_default("input_value", {"input": incoming})
    if outgoing is not _ABSENT:
        _take(attrs, OUTPUT_VALUE, OUTPUT_MIME, "outputs.message")
        if draft.documents is not None and not isinstance(outgoing, str):
            return  # the documents again, already mapped
        draft.set_default("tool_result", outgoing)


def _chain_values(attrs: SpanAttributes, draft: Draft, incoming: Any, outgoing: Any) -> None:
    if incoming is not _ABSENT:
        _take(attrs, INPUT_VALUE, INPUT_MIME, "inputs")
        draft.set_default("input_value", incoming if isinstance(incoming, dict) else {"input": incoming})
    if outgoing is not _ABSENT:
        _take(attrs, OUTPUT_VALUE, OUTPUT_MIME, "outputs")
        draft.set_default("output_value", outgoing if isinstance(outgoing, dict) else {"output": outgoing})


# ----- context -------------------------------------------------------------------------
def _context(attrs: SpanAttributes, draft: Draft, present: frozenset[str]) -> None:
    """`present`: the CONTEXT_KEYS of the span (an absent key reads as None: it is not asked for)."""
    if "user.id" in present:
        user = attrs.get("user.id", field="user_properties.user_id")
        if not is_blank(user):
            draft.user_properties.setdefault("user_id", str(user))
    raw = attrs.peek("metadata")
    if raw is not None:
        # (a string is decoded JSON-ready in one pass: no walk of the value afterwards)
        parsed = parse_structured_jsonable(raw) if isinstance(raw, str) else raw
        if isinstance(parsed, dict):
            attrs.consume("metadata")
            attrs.note("metadata", "metadata")
            _merge_metadata(parsed if isinstance(raw, str) else to_jsonable(parsed), draft)
    tags = attrs.peek("tag.tags")
    if tags is not None:
        listed = as_list(tags)
        if listed is not None:
            attrs.consume("tag.tags")
            draft.metadata.setdefault("tags", [str(tag) for tag in listed if not is_blank(tag)])
    if "agent.name" in present:
        agent = attrs.get("agent.name")
        if not is_blank(agent):
            draft.metadata.setdefault("agent_name", str(agent))
    if not present.isdisjoint(GRAPH_NODE_NAMES):
        node = {name: attrs.get(key) for name, key in GRAPH_NODE_KEYS}
        node = {name: value for name, value in node.items() if not is_blank(value)}
        if node:
            draft.metadata.setdefault("graph_node", to_jsonable(node))


def _merge_metadata(values: dict[str, Any], draft: Draft) -> None:
    """The user's metadata under its own keys; a key that would shadow a mapped field is nested."""
    shadowed: dict[str, Any] = {}
    for key, value in values.items():
        if key in _RESERVED_METADATA or key in draft.metadata:
            shadowed[key] = value
        else:
            draft.metadata[key] = value
    if shadowed:
        nested = draft.metadata.setdefault("metadata", {})
        if isinstance(nested, dict):
            for key, value in shadowed.items():
                nested.setdefault(key, value)
