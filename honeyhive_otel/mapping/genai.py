"""OpenTelemetry GenAI (`gen_ai.*`): every form in use today, newest first.

Content can arrive as JSON attributes (`gen_ai.input.messages`, semconv >= 1.37), inside
a `gen_ai.client.inference.operation.details` event, as per-message events (1.27-1.36),
as 1.26 `gen_ai.content.prompt`/`completion` events, or as indexed `gen_ai.prompt.N.*`
attributes (Traceloop < 0.55, LiteLLM v1). See docs/semconv notes in the README.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import messages as msg
from .attributes import KeyNames, SpanAttributes, plain_dict
from .draft import Draft
from .values import (
    as_bool,
    as_int,
    as_list,
    as_text,
    decoded_as_json,
    is_blank,
    json_ready,
    parse_json,
    parse_json_fast,
    parse_structured,
)

CONVENTION = "genai"

DETAILS_EVENT = "gen_ai.client.inference.operation.details"
MESSAGE_EVENTS = {
    "gen_ai.system.message": "system", "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"
PROMPT_EVENT = "gen_ai.content.prompt"
COMPLETION_EVENT = "gen_ai.content.completion"
# The events `content_from_events` reads: other gen_ai.* events (streaming chunks...) are not copied.
_CONTENT_EVENTS = frozenset({DETAILS_EVENT, *MESSAGE_EVENTS, CHOICE_EVENT, PROMPT_EVENT, COMPLETION_EVENT})

# gen_ai.request.<name> -> config key. Anything else under gen_ai.request.* keeps its suffix.
REQUEST_PARAMS = {
    "temperature": "temperature", "max_tokens": "max_tokens", "top_p": "top_p", "top_k": "top_k",
    "frequency_penalty": "frequency_penalty", "presence_penalty": "presence_penalty", "seed": "seed",
    "stop_sequences": "stop", "choice.count": "n", "n": "n", "encoding_formats": "encoding_formats",
    "max_completion_tokens": "max_completion_tokens", "reasoning_effort": "reasoning_effort",
    "reasoning.level": "reasoning_effort", "repetition_penalty": "repetition_penalty",
    "tool_choice": "tool_choice", "embedding_dimension": "dimensions", "service_tier": "service_tier",
}
LEGACY_PARAMS = {
    "gen_ai.openai.request.seed": "seed", "gen_ai.openai.request.response_format": "response_format",
    "gen_ai.openai.request.service_tier": "service_tier", "openai.request.service_tier": "service_tier",
    "gen_ai.output.type": "output_type", "llm.frequency_penalty": "frequency_penalty",
    "llm.presence_penalty": "presence_penalty", "llm.top_k": "top_k", "llm.chat.stop_sequences": "stop",
}
FINISH_REASONS = "gen_ai.response.finish_reasons"
_FINISH_REASON = "gen_ai.response.finish_reason"  # (the singular form some emitters write)
STREAM_KEYS = ("gen_ai.request.stream", "gen_ai.request.is_stream", "gen_ai.is_streaming", "llm.is_streaming")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system")
USER_KEYS = ("gen_ai.request.user", "gen_ai.user", "llm.user")
# gen_ai.request.* suffixes read elsewhere (model, streaming, user), not copied into config.
_REQUEST_READ_ELSEWHERE = frozenset({"model", "stream", "is_stream", "user"})
CONTENT_REF_KEYS = ("gen_ai.input.messages_ref", "gen_ai.output.messages_ref", "gen_ai.system_instructions_ref",
                    "gen_ai.tool.definitions_ref")
FIRST_TOKEN_KEYS = (("gen_ai.response.time_to_first_chunk", "time_to_first_token_s"),
                    ("gen_ai.server.time_to_first_token", "time_to_first_token_s"))
SERVICE_TIER_KEYS = ("openai.response.service_tier", "gen_ai.openai.response.service_tier")
FINGERPRINT_KEYS = ("openai.response.system_fingerprint", "gen_ai.openai.response.system_fingerprint",
                    "gen_ai.openai.system_fingerprint")
TOOL_CALL_ARGUMENT_KEYS = ("gen_ai.tool.call.arguments", "gen_ai.tool.input", "gen_ai.tool.args")
TOOL_CALL_RESULT_KEYS = ("gen_ai.tool.call.result", "gen_ai.tool.output")
RETRIEVAL_QUERY_KEYS = ("gen_ai.retrieval.query.text", "gen_ai.retrieval.query")
AGENT_KEYS = ("gen_ai.agent.name", "gen_ai.agent.id", "gen_ai.agent.description", "gen_ai.workflow.name")
# Every attribute a section reads: a span carrying none of them skips the section's lookups.
_TOOL_KEYS = frozenset({"gen_ai.tool.name", "gen_ai.tool.description", "gen_ai.tool.call.id", "gen_ai.tool.type",
                        *TOOL_CALL_ARGUMENT_KEYS, *TOOL_CALL_RESULT_KEYS})
_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"
_RETRIEVAL_ONLY_KEYS = frozenset({"gen_ai.retrieval.documents", "gen_ai.data_source.id", *RETRIEVAL_QUERY_KEYS})
_RETRIEVAL_KEYS = _RETRIEVAL_ONLY_KEYS | {_DIMENSION_COUNT}
_CONTEXT_KEYS = frozenset({*USER_KEYS, *AGENT_KEYS})
_OPENAI_RESPONSE_KEYS = frozenset({*SERVICE_TIER_KEYS, *FINGERPRINT_KEYS})
_RESPONSE_MODEL, _RESPONSE_ID = "gen_ai.response.model", "gen_ai.response.id"
_RESPONSE_KEYS = frozenset({_RESPONSE_MODEL, _RESPONSE_ID, FINISH_REASONS, _FINISH_REASON,
                            *(key for key, _ in FIRST_TOKEN_KEYS),
                            *_OPENAI_RESPONSE_KEYS})
_TAIL_KEYS = _TOOL_KEYS | _RETRIEVAL_KEYS | _CONTEXT_KEYS
# The response keys besides model, id and finish reasons.
_RARE_RESPONSE_KEYS = frozenset({*(key for key, _ in FIRST_TOKEN_KEYS), *_OPENAI_RESPONSE_KEYS})

_PROVIDER_ALIASES = {
    "az.ai.openai": "azure", "azure.ai.openai": "azure", "azure.ai.inference": "azure", "azure_openai": "azure",
    "aws.bedrock": "bedrock", "gcp.vertex_ai": "vertex_ai", "gcp.gemini": "gemini", "gcp.gen_ai": "google",
    "x_ai": "xai", "mistral_ai": "mistral", "mistralai": "mistral", "ibm.watsonx.ai": "watsonx",
    "ibm.watson.ai": "watsonx", "hugging_face": "huggingface", "together_ai": "together",
}
_CONTAINER_OPENERS = ("[", "{")
_ROLE_LINE = re.compile(r"^(system|user|assistant|tool|function|developer|human|ai)\s*:\s?(.*)$", re.IGNORECASE)


def applies(attrs: SpanAttributes, span: Any) -> bool:
    return attrs.has_prefix("gen_ai.") or any(
        getattr(event, "name", "").startswith("gen_ai.") for event in attrs.events(span)
    )


def normalize_provider(value: Any) -> str | None:
    """Lowercase provider names with the well-known aliases folded (SPEC §3 `config.provider`)."""
    if type(value) is str:
        text = value.strip().lower()
        if not text:
            return None
    elif is_blank(value):
        return None
    else:
        text = str(value).strip().lower()
    return _PROVIDER_ALIASES.get(text, text)


def placeholder(value: Any) -> bool:
    """Instrumentors' stand-ins for "not set" (SPEC §3): empty strings and -1."""
    kind = type(value)
    if kind is int or kind is float:  # the common cases first; bool is not int here
        return value == -1
    if kind is str:
        return not value.strip()
    if is_blank(value):
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == -1


EMBEDDING_OPERATIONS = frozenset({"embeddings", "embedding", "aembedding"})


def apply(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    raw = attrs.raw
    plan: _KeyPlan = attrs.derived(_make_plan)  # worked out once per tuple of attribute names
    # Read by the content and response sections, never changed (the SDK's tuple is used as it is);
    # often a JSON array string: parsed once.
    finish = raw.get(FINISH_REASONS)
    if finish is not None and type(finish) is not tuple:
        finish = finish_reasons(finish)
    _config(attrs, draft, plan)
    if plan.content:
        _content_from_attributes(attrs, draft, finish, plan.content)
    operation = str(raw.get("gen_ai.operation.name") or raw.get("llm.request.type") or "").lower()
    if operation in EMBEDDING_OPERATIONS and draft.chat_history and draft.embedding_input is None:
        # Some instrumentors record embedding inputs as user messages: they are inputs, not a chat.
        texts = [m.get("content") for m in draft.chat_history if m.get("content") is not None]
        draft.embedding_output = {**(draft.embedding_output or {}), "vector_count": len(texts)}
        draft.embedding_input = texts[0] if len(texts) == 1 else texts
        draft.chat_history = None
    events = attrs.events(span)
    if events:
        _content_from_events(events, draft, finish)
    if plan.indexed:
        _content_from_indexed(attrs, draft)
    if plan.response:
        _response(attrs, draft, finish, plan.response)
    tail = plan.tail  # most spans: no tool, retrieval or context keys
    if tail:
        if not tail.isdisjoint(_TOOL_KEYS):
            _tool(attrs, draft)
        if not tail.isdisjoint(_RETRIEVAL_KEYS):
            _embeddings_and_retrieval(attrs, draft, tail)
        if not tail.isdisjoint(_CONTEXT_KEYS):
            _context(attrs, draft, plan)


def finish_reasons(value: Any) -> list[Any] | None:
    """`as_list(value)`. LiteLLM writes a JSON array text (`'["stop"]'`): decoded by the faster
    `parse_json_fast` when orjson reads it as `json` does (`decoded_as_json`)."""
    if type(value) is str:
        decoded = parse_json_fast(value)
        if type(decoded) is list and (_strings_only(decoded) or decoded_as_json(decoded)):
            return decoded
    return as_list(value)


def _strings_only(values: list[Any]) -> bool:
    """Whether every value is a string, as the usual finish reasons are: orjson reads them as `json` does."""
    for value in values:  # (a loop: quicker than `all` over a generator for one or two reasons)
        if type(value) is not str:
            return False
    return True


# ----- which attributes a span has -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _KeyPlan:
    """Which of the attributes `apply` reads a span has. Worked out once per set of attribute
    names: the spans of one instrumentation share a few such sets, so the set intersections and
    prefix searches behind these fields run once per set, not once per span."""

    config_keys: frozenset[str]  # every attribute `_config` consumes
    provider: tuple[str, ...]  # PROVIDER_KEYS, in that order
    model: bool  # gen_ai.request.model
    # (attribute, config key) of the parameters copied into config, in the order they are read: the
    # gen_ai.request.* ones in name order, then LEGACY_PARAMS (so the first of two for a key wins).
    params: tuple[tuple[str, str], ...]
    streaming: tuple[str, ...]  # STREAM_KEYS, in that order (the first set one decides)
    content: frozenset[str]  # of _CONTENT_KEYS
    indexed: bool  # gen_ai.prompt.N.* or gen_ai.completion.N.*
    response: frozenset[str]  # of _RESPONSE_KEYS
    tail: frozenset[str]  # of _TAIL_KEYS
    user: tuple[str, ...]  # USER_KEYS, in that order (the first set one wins)
    agent: tuple[str, ...]  # AGENT_KEYS, in that order


def _make_plan(keys: tuple[Any, ...]) -> _KeyPlan:
    names = frozenset(keys)
    # gen_ai.request.*: model, stream and user included (read here or by _context), all consumed here.
    requested = tuple(sorted(key for key in names if isinstance(key, str) and key.startswith(_REQUEST_PREFIX)))
    params = []
    for key in requested:
        name = _REQUEST_CONFIG_KEYS.get(key)
        if name is None:  # not in the table: keeps its suffix
            params.append((key, key[len(_REQUEST_PREFIX):].replace(".", "_")))
        elif name:  # ("" for the keys read elsewhere)
            params.append((key, name))
    provider = tuple(key for key in PROVIDER_KEYS if key in names)
    legacy = tuple(key for key in LEGACY_PARAMS if key in names)
    streaming = tuple(key for key in STREAM_KEYS if key in names)
    return _KeyPlan(
        config_keys=frozenset((*provider, *requested, *legacy, *streaming)),
        provider=provider,
        model=_MODEL_KEY in names,
        params=(*params, *((key, LEGACY_PARAMS[key]) for key in legacy)),
        streaming=streaming,
        content=names & _CONTENT_KEYS,
        indexed=any(isinstance(key, str) and key.startswith(_INDEXED_PREFIXES) for key in names),
        response=names & _RESPONSE_KEYS,
        tail=names & _TAIL_KEYS,
        user=tuple(key for key in USER_KEYS if key in names),
        agent=tuple(key for key in AGENT_KEYS if key in names),
    )


# ----- config ----------------------------------------------------------------------
_REQUEST_PREFIX = "gen_ai.request."
_MODEL_KEY = "gen_ai.request.model"
# Full attribute name -> config key ("" for the keys read elsewhere); other names keep their suffix.
_REQUEST_CONFIG_KEYS = {_REQUEST_PREFIX + suffix: key for suffix, key in REQUEST_PARAMS.items()} | {
    _REQUEST_PREFIX + suffix: "" for suffix in _REQUEST_READ_ELSEWHERE}
_INDEXED_PREFIXES = ("gen_ai.prompt.", "gen_ai.completion.")


def _config(attrs: SpanAttributes, draft: Draft, plan: _KeyPlan) -> None:
    if not plan.config_keys:
        return
    config = draft.config
    raw = attrs.raw
    attrs.consumed.update(plan.config_keys)
    for key in plan.provider:  # the first one set
        provider = normalize_provider(raw[key])
        if provider is not None:  # (None: blank)
            if attrs.debug:
                attrs.note("config.provider", key)
            if provider:
                config.setdefault("provider", provider)
            break
    if plan.model:
        model = raw[_MODEL_KEY]
        if not is_blank(model):
            if attrs.debug:
                attrs.note("config.model", _MODEL_KEY)
            if type(model) is str or not placeholder(model):  # (a string's only placeholder is blank)
                config.setdefault("model", str(model))
    for key, name in plan.params:
        # The value as config keeps it: JSON strings decoded, tuples as lists; the instrumentors'
        # "not set" placeholders (see `placeholder`) skipped.
        value = raw[key]
        kind = type(value)
        if kind is int or kind is float:  # (most parameters; bool is not int here)
            if value == -1:
                continue
        elif kind is str:
            stripped = value.strip()
            if not stripped:
                continue
            if stripped[0] in '{["':  # (parse_json decodes only what starts so: most values are words)
                value = parse_json(value)
        elif kind is tuple:
            value = list(value)
        elif placeholder(value):
            continue
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, str):
            value = parse_json(value)
        config.setdefault(name, value)
    for key in plan.streaming:  # the first one set
        value = raw[key]
        if type(value) is bool:  # (the usual type: its own flag)
            flag = value
        elif is_blank(value):
            continue
        else:
            flag = as_bool(value)
        if attrs.debug:
            attrs.note("config.is_streaming", key)
        if flag is not None:
            config.setdefault("is_streaming", flag)
        break


# ----- content ---------------------------------------------------------------------
INPUT_MESSAGES = "gen_ai.input.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
OUTPUT_MESSAGES = "gen_ai.output.messages"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
# Every attribute `_content_from_attributes` reads: most spans carry two or three of them.
_CONTENT_KEYS = frozenset({INPUT_MESSAGES, SYSTEM_INSTRUCTIONS, OUTPUT_MESSAGES, TOOL_DEFINITIONS, *CONTENT_REF_KEYS,
                           "gen_ai.prompt", "gen_ai.completion"})
# The content attributes besides the messages and system instructions.
_RARE_CONTENT_KEYS = _CONTENT_KEYS - {INPUT_MESSAGES, SYSTEM_INSTRUCTIONS, OUTPUT_MESSAGES}


def _content_from_attributes(attrs: SpanAttributes, draft: Draft, finish: Sequence[Any] | None,
                             present: frozenset[str]) -> None:
    """`finish`: the span's finish reasons (gen_ai.response.finish_reasons: the SDK's tuple, else
    `as_list` of it); `present`: the span's content attributes (of _CONTENT_KEYS)."""
    raw = attrs.raw
    history = system = None
    if INPUT_MESSAGES in present:
        history = _read(attrs, INPUT_MESSAGES, msg.normalize_messages(raw[INPUT_MESSAGES]),
                        "inputs.chat_history")
    if SYSTEM_INSTRUCTIONS in present:
        system = _read(attrs, SYSTEM_INSTRUCTIONS, msg.system_message(raw[SYSTEM_INSTRUCTIONS]), None)
    if system is not None:
        draft.set_default("chat_history", msg.prepend_system(history or [], system))
    elif history is not None:
        draft.set_default("chat_history", history)
    if OUTPUT_MESSAGES in present:
        draft.set_default("output", _read(attrs, OUTPUT_MESSAGES,
                                          msg.normalize_output_messages(raw[OUTPUT_MESSAGES], finish), "outputs"))
    if present.isdisjoint(_RARE_CONTENT_KEYS):
        return  # (most spans: only messages)
    if TOOL_DEFINITIONS in present:
        tools = msg.normalize_tool_definitions(raw[TOOL_DEFINITIONS])
        draft.set_default("tools", _read(attrs, TOOL_DEFINITIONS, tools, None))
    # Content uploaded elsewhere by a completion hook: keep the references.
    if not present.isdisjoint(CONTENT_REF_KEYS):
        for ref in CONTENT_REF_KEYS:
            if ref in present:
                value = attrs.get(ref)
                if not is_blank(value):
                    draft.metadata.setdefault("content_refs", {})[ref.removeprefix("gen_ai.")] = value
    # Old OpenLIT and Semantic Kernel builds put 1.26 content straight on the span.
    if "gen_ai.prompt" in present:
        prompt = attrs.peek("gen_ai.prompt")
        if isinstance(prompt, str) and not draft.chat_history:
            attrs.consume("gen_ai.prompt")
            draft.set_default("chat_history", parse_prompt_text(prompt))
    if "gen_ai.completion" in present:
        completion = attrs.peek("gen_ai.completion")
        if isinstance(completion, str) and not draft.output:
            attrs.consume("gen_ai.completion")
            draft.set_default("output", completion_output(completion, finish))


def _read(attrs: SpanAttributes, key: str, result: Any, field: str | None) -> Any:
    """`result`, the normalised value of a content attribute the span has (provenance `field`). The
    attribute is consumed only when it could be read (or is blank: every normaliser gives None for
    a blank value), so an unparseable value stays visible in metadata.attributes instead of vanishing."""
    if result is not None:
        attrs.consumed.add(key)
        if field and attrs.debug:
            attrs.note(field, key)
    elif is_blank(attrs.raw[key]):
        attrs.consumed.add(key)
    return result


def parse_prompt_text(text: str) -> list[dict[str, Any]]:
    """A 1.26 `gen_ai.prompt` value: a JSON message list, or OpenLIT's `role: text` lines."""
    ready = _ready_json(text)
    if ready is not None:
        history = msg.history_from_parsed(ready)  # (what `normalize_messages` makes of it, without a walk)
    else:
        parsed = parse_structured(text)
        history = msg.normalize_messages(parsed) if isinstance(parsed, (list, dict)) else None
    if history:
        return history
    messages: list[dict[str, Any]] = []
    for line in text.splitlines():
        match = _ROLE_LINE.match(line)
        if match:
            messages.append({"role": msg.normalize_role(match.group(1)), "content": match.group(2)})
        elif messages:
            messages[-1]["content"] += "\n" + line
        else:
            messages.append({"role": "user", "content": line})
    return messages or [{"role": "user", "content": text}]


def completion_output(text: str, finish: Sequence[Any] | None = None) -> dict[str, Any]:
    """A 1.26 `gen_ai.completion` value: JSON choices, or the assistant's text."""
    ready = _ready_json(text)
    if ready is not None:  # (what `normalize_output_messages` makes of it, without a walk)
        messages = msg.output_messages_from_parsed(ready)
        if messages:
            return msg.output_from_messages(messages, finish)
    else:
        parsed = parse_structured(text)
        if isinstance(parsed, (list, dict)):
            outputs = msg.normalize_output_messages(parsed, finish)
            if outputs:
                return outputs
    return msg.output_from_messages([{"role": "assistant", "content": text}], finish)


def _ready_json(text: str) -> list[Any] | dict[str, Any] | None:
    """`parse_structured(text)` when it is a JSON array or object that `to_jsonable` leaves as it is
    (`json_ready`), decoded by orjson (then its value is `json`'s); None for any other text. The
    normalisers walk (copy) a parsed value through `to_jsonable` first: such a value needs no walk."""
    if text.lstrip()[:1] not in _CONTAINER_OPENERS:
        return None  # (OpenLIT's `role: text` lines, plain text: not JSON, orjson need not raise)
    value = parse_json_fast(text)
    kind = type(value)
    if (kind is list or kind is dict) and json_ready(value):
        return value
    return None


def _event_attributes(event: Any) -> dict[str, Any]:
    attributes = plain_dict(getattr(event, "attributes", None) or {})
    body = attributes.pop("gen_ai.event.content", None)
    if isinstance(body, str):
        parsed = parse_json(body)
        if isinstance(parsed, dict):
            attributes = {**parsed, **attributes}
    return attributes


def _content_from_events(span_events: Iterable[Any], draft: Draft, finish: Sequence[Any] | None = None) -> None:
    """Span events, in the order: operation details, per-message events, 1.26 events."""
    events = [(name, _event_attributes(event)) for event in span_events
              if (name := getattr(event, "name", "")).startswith("gen_ai.") and name in _CONTENT_EVENTS]
    content_from_events(events, draft, finish)


def content_from_events(events: Iterable[tuple[str, dict[str, Any]]], draft: Draft,
                        finish: Sequence[Any] | None = None) -> None:
    """GenAI content events as (name, attributes) pairs: a span's events, or the log records
    `honeyhive_otel.logs` kept for the span (body fields flattened into the attributes)."""
    events = list(events)
    if not events:
        return
    history: list[dict[str, Any]] = []
    choices: list[tuple[int, dict[str, Any], Any]] = []
    prompt_texts: list[str] = []
    completion_texts: list[str] = []
    for name, attributes in events:
        if not isinstance(name, str) or not name.startswith("gen_ai.") or not isinstance(attributes, dict):
            continue
        if name == DETAILS_EVENT:
            apply_details(attributes, draft)
        elif name in MESSAGE_EVENTS:
            message = dict(attributes)
            message.setdefault("role", MESSAGE_EVENTS[name])
            if MESSAGE_EVENTS[name] == "tool" and "id" in message:
                message.setdefault("tool_call_id", message.get("id"))
            history.extend(msg.normalize_message(message))
        elif name == CHOICE_EVENT:
            message = parse_structured(attributes.get("message"))
            message = dict(message) if isinstance(message, dict) else {"content": attributes.get("content")}
            message.setdefault("role", "assistant")
            if attributes.get("tool_calls") is not None:
                message["tool_calls"] = attributes.get("tool_calls")
            converted = msg.normalize_message(message)
            index = as_int(attributes.get("index"))
            choices.append((index if index is not None else len(choices), converted[0] if converted else {},
                            attributes.get("finish_reason")))
        elif name == PROMPT_EVENT:
            text = attributes.get("gen_ai.prompt", attributes.get("gen_ai.input.messages"))
            if text is not None:
                prompt_texts.append(as_text(text) or "")
        elif name == COMPLETION_EVENT:
            text = attributes.get("gen_ai.completion", attributes.get("gen_ai.output.messages"))
            if text is not None:
                completion_texts.append(as_text(text) or "")
    if history:
        draft.set_default("chat_history", history)
    if choices:
        ordered = []
        for _, message, reason in sorted(choices, key=lambda item: item[0]):
            message = dict(message)
            message["finish_reason"] = reason
            ordered.append(message)
        draft.set_default("output", msg.output_from_messages(ordered))
    if prompt_texts and not draft.chat_history:
        history = []
        for text in prompt_texts:
            history.extend(parse_prompt_text(text))
        draft.set_default("chat_history", history)
    if completion_texts and not draft.output:
        if len(completion_texts) == 1:
            draft.set_default("output", completion_output(completion_texts[0], finish))
        else:
            draft.set_default("output", msg.output_from_messages(
                [{"role": "assistant", "content": text} for text in completion_texts], finish))


def apply_details(attributes: dict[str, Any], draft: Draft) -> None:
    """The structured content of an operation-details event or log record."""
    history = msg.normalize_messages(attributes.get("gen_ai.input.messages"))
    system = msg.system_message(attributes.get("gen_ai.system_instructions"))
    if history is not None or system is not None:
        draft.set_default("chat_history", msg.prepend_system(history or [], system))
    finish = as_list(attributes.get("gen_ai.response.finish_reasons"))
    draft.set_default("output", msg.normalize_output_messages(attributes.get("gen_ai.output.messages"), finish))
    draft.set_default("tools", msg.normalize_tool_definitions(attributes.get("gen_ai.tool.definitions")))


_PROMPT_PREFIX, _COMPLETION_PREFIX = _INDEXED_PREFIXES
# The fields of a `gen_ai.completion.N` slot that make it a message (the first part of a field's name).
_OUTPUT_FIELDS = ("content", "role", "tool_calls", "finish_reason", "refusal")


def _content_from_indexed(attrs: SpanAttributes, draft: Draft) -> None:
    """Traceloop < 0.55 and LiteLLM v1: `gen_ai.prompt.N.*` and `gen_ai.completion.N.*`.

    Which slots a span has, and which are usual (`_IndexedPlan`), is worked out once per tuple of
    names: a usual slot becomes its message without a dict of its fields."""
    plan: _IndexedPlan = attrs.derived(_make_indexed_plan)
    raw = attrs.raw
    attrs.consumed.update(plan.keys)  # (as `SpanAttributes.indexed` consumes them)
    if plan.prompts and not draft.chat_history:
        history = []
        for content, role, _, fields in plan.prompts:
            if fields is None:
                history.extend(msg.normalize_message({"role": raw[role] or "user", "content": raw[content]}))
            else:
                history.extend(indexed_message(_slot_values(raw, fields), "user"))
        draft.set_default("chat_history", history)
        if attrs.debug:
            attrs.note("inputs.chat_history", "gen_ai.prompt.N.*")
    if plan.completions and not draft.output:
        messages = []
        for content, role, finish, fields in plan.completions:
            if fields is None:
                converted = msg.normalize_message({"role": raw[role] or "assistant", "content": raw[content]})
                reason = raw[finish] if finish is not None else None
            else:
                item = _slot_values(raw, fields)
                converted = indexed_message(item, "assistant")
                reason = item.get("finish_reason")
            if converted:
                message = converted[0]
                message["finish_reason"] = reason
                messages.append(message)
        if messages:
            draft.set_default("output", msg.output_from_messages(messages))
            if attrs.debug:
                attrs.note("outputs", "gen_ai.completion.N.*")


# A slot of `_IndexedPlan`: the (content, role, finish_reason or None) attributes of a usual slot
# (`_usual_slot`), then None; or (None, None, None) and the slot's (field, attribute) pairs, in name order.
_Slot = tuple[str | None, str | None, str | None, tuple[tuple[str, str], ...] | None]


@dataclass(frozen=True, slots=True)
class _IndexedPlan:
    """The indexed slots of a tuple of attribute names, in index order (as `SpanAttributes.indexed`
    finds them), worked out once per tuple."""

    keys: tuple[str, ...]  # every indexed name under both prefixes (consumed, read or not)
    prompts: tuple[_Slot, ...]
    completions: tuple[_Slot, ...]  # the slots holding a message field (LiteLLM's function_call-only ones aside)


def _make_indexed_plan(names: tuple[Any, ...]) -> _IndexedPlan:
    # (The names under the prefixes only: the same answers as the span's own `KeyNames`, less to sort.)
    found = KeyNames(tuple(name for name in names if isinstance(name, str) and name.startswith(_INDEXED_PREFIXES)))
    prompt_keys, prompts = found.indexed(_PROMPT_PREFIX)
    completion_keys, completions = found.indexed(_COMPLETION_PREFIX)
    return _IndexedPlan(
        keys=prompt_keys + completion_keys,
        prompts=tuple(_slot_plan(slot) for slot in prompts),
        completions=tuple(_slot_plan(slot) for slot in completions
                          if any(rest.split(".")[0] in _OUTPUT_FIELDS for rest, _ in slot)),
    )


def _slot_plan(slot: tuple[tuple[str, str], ...]) -> _Slot:
    """The `_Slot` of one slot of `KeyNames.indexed`."""
    usual = _usual_slot(slot)
    return (None, None, None, slot) if usual is None else (*usual, None)


def _usual_slot(slot: tuple[tuple[str, str], ...]) -> tuple[str, str, str | None] | None:
    """The (content, role, finish_reason or None) attributes of a slot (its (field, attribute) pairs,
    in name order) holding these fields only, as instrumentors write a text message; None for any
    other slot. `indexed_message` of such a slot reads its role and content only."""
    size = len(slot)
    if size == 2:
        (first, content), (second, role) = slot
        if first == "content" and second == "role":
            return content, role, None
    elif size == 3:
        (first, content), (second, finish), (third, role) = slot
        if first == "content" and second == "finish_reason" and third == "role":
            return content, role, finish
    return None


def _slot_values(raw: dict[str, Any], slot: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """{field: value} of one slot, as `SpanAttributes.indexed` builds it (a later pair wins)."""
    values = {}
    for rest, key in slot:
        values[rest] = raw[key]
    return values


def indexed_message(item: dict[str, Any], default_role: str) -> list[dict[str, Any]]:
    """One `gen_ai.prompt.N` slot (keys without the prefix) -> OpenAI messages."""
    message: dict[str, Any] = {"role": item.get("role") or default_role}
    content = item.get("content", item.get("user"))
    if content is None and item.get("refusal") is not None:
        content = item.get("refusal")
    message["content"] = content
    calls = []
    call_slots: dict[int, dict[str, Any]] = {}
    for key, value in item.items():
        if key.startswith("tool_calls."):
            parts = key.split(".", 2)
            if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) <= 10_000:
                call_slots.setdefault(int(parts[1]), {})[parts[2]] = value
    for index in sorted(call_slots):
        slot = call_slots[index]
        calls.append(msg.tool_call(slot.get("id"), slot.get("name"), slot.get("arguments")))
    if calls:
        message["tool_calls"] = calls
    if not is_blank(item.get("tool_call_id")):
        message["tool_call_id"] = item["tool_call_id"]
    return msg.normalize_message(message)


# ----- response, tool, retrieval, context -------------------------------------------
def _response(attrs: SpanAttributes, draft: Draft, finish_reasons: Sequence[Any] | None,
              present: frozenset[str]) -> None:
    """`finish_reasons`: gen_ai.response.finish_reasons as `apply` read it (the SDK's tuple, else `as_list`);
    `present`: the span's response attributes (of _RESPONSE_KEYS)."""
    raw = attrs.raw
    # Every response attribute the span has is consumed, read or blank: one update, then plain reads
    # (provenance noted as `SpanAttributes.get` notes it).
    attrs.consumed.update(present)
    metadata = draft.metadata
    if _RESPONSE_MODEL in present:
        response_model = raw[_RESPONSE_MODEL]
        if not is_blank(response_model):
            if attrs.debug:
                attrs.note("metadata.response_model", _RESPONSE_MODEL)
            response_model = str(response_model)
            metadata.setdefault("response_model", response_model)
            draft.config.setdefault("model", response_model)
    if _RESPONSE_ID in present:
        response_id = raw[_RESPONSE_ID]
        if not is_blank(response_id):
            if attrs.debug:
                attrs.note("metadata.response_id", _RESPONSE_ID)
            metadata.setdefault("response_id", str(response_id))
    # gen_ai.response.finish_reasons when set, else the singular form some emitters write.
    plural = raw.get(FINISH_REASONS)
    if type(plural) is tuple or not is_blank(plural):  # (the SDK's sequences are tuples: never blank)
        finish = finish_reasons
    elif _FINISH_REASON in present:
        singular = raw[_FINISH_REASON]
        finish = None if is_blank(singular) else as_list(singular)
    else:
        finish = None
    if finish:
        metadata.setdefault("finish_reasons", msg.normalize_finish_reasons(finish))
    if present.isdisjoint(_RARE_RESPONSE_KEYS):
        return
    # (Read inline: OpenAI's spans carry both the tier and the fingerprint.)
    for key, name in FIRST_TOKEN_KEYS:
        if key in present:
            value = raw[key]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                draft.metrics.setdefault(name, value)
    for keys, field in ((SERVICE_TIER_KEYS, "service_tier"), (FINGERPRINT_KEYS, "system_fingerprint")):
        for key in keys:  # the first one set
            if key in present:
                value = raw[key]
                if not is_blank(value):
                    metadata.setdefault(field, str(value))
                    break


def _tool(attrs: SpanAttributes, draft: Draft) -> None:
    draft.set_tool_identity(attrs.get("gen_ai.tool.name", field="config.tool_name"),
                            attrs.get("gen_ai.tool.description"), attrs.get("gen_ai.tool.call.id"))
    arguments = attrs.get(*TOOL_CALL_ARGUMENT_KEYS, field="inputs")
    if arguments is not None:
        draft.set_default("tool_arguments", parse_structured(arguments))
    result = attrs.get(*TOOL_CALL_RESULT_KEYS, field="outputs.message")
    if result is not None:
        draft.set_default("tool_result", parse_structured(result))
    tool_type = attrs.get("gen_ai.tool.type")
    if not is_blank(tool_type):
        draft.config.setdefault("tool_type", str(tool_type))


def _embeddings_and_retrieval(attrs: SpanAttributes, draft: Draft, present: frozenset[str]) -> None:
    """`present`: the span's tool, retrieval and context keys (an embeddings span has only the first)."""
    if _DIMENSION_COUNT in present:
        dimension = as_int(attrs.get(_DIMENSION_COUNT))
        if dimension is not None:
            draft.embedding_output = {**(draft.embedding_output or {}), "dimension": dimension}
    if present.isdisjoint(_RETRIEVAL_ONLY_KEYS):
        return
    query = attrs.get(*RETRIEVAL_QUERY_KEYS, field="inputs.query")
    if query is not None:
        draft.set_default("query", query)
    documents = attrs.get("gen_ai.retrieval.documents", field="outputs.documents")
    if documents is not None:
        parsed = parse_structured(documents)
        draft.set_default("documents", parsed if isinstance(parsed, list) else [parsed])
    data_source = attrs.get("gen_ai.data_source.id")
    if not is_blank(data_source):
        draft.config.setdefault("data_source_id", str(data_source))


def _context(attrs: SpanAttributes, draft: Draft, plan: _KeyPlan) -> None:
    """The user and agent keys of `plan` (the span's), each consumed, read or blank."""
    raw, consumed = attrs.raw, attrs.consumed
    user_keys = plan.user
    if user_keys:
        consumed.update(user_keys)
        for key in user_keys:  # the first one set
            user = raw[key]
            if not is_blank(user):
                if attrs.debug:
                    attrs.note("user_properties.user_id", key)
                draft.user_properties.setdefault("user_id", str(user))
                break
    for key in plan.agent:
        consumed.add(key)
        value = raw[key]
        if not is_blank(value):
            draft.metadata.setdefault(key.removeprefix("gen_ai.").replace(".", "_"), value)
