"""LiteLLM's own `otel` callback spans (scope `litellm`): request, raw, proxy and service spans.

Runs after genai.py, which already read the `gen_ai.*` content, usage, provider and request
parameters. This module adds what only LiteLLM carries:

- request spans (`litellm.call_id`; default schema, semconv opt-in and the v2 logger):
  tool calls from `gen_ai.completion.N.function_call.*`, tool definitions from
  `llm.request.functions.*`, cost and its breakdown, embeddings, provider fallbacks, and
  router/proxy context under `metadata.litellm` / `metadata.litellm.proxy`;
- `raw_gen_ai_request` spans: absorbed into their parent (never an event of their own);
- proxy service spans (`auth`, `router`, `proxy_pre_call`: attributes `service`/`call_type`)
  become tool events; the proxy's `Received Proxy Server Request` span is a chain event.

`metadata.*` values are Python repr strings (`''` = absent): parsed with `parse_repr`, never
`eval`. Secrets never leave: `llm.headers`/`gen_ai.headers` are dropped, credential fields in
requester metadata are removed and raw `sk-...` keys are masked. What the spans lack (custom
caller metadata, failed deployment, previous attempts, routing strategy) comes from the
process-global store that `honeyhive_otel.litellm`'s callback fills; the store is consulted by
call id and trace id, so replayed spans still map from their attributes alone.

This module must not import litellm.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry.trace import SpanKind

from ..litellm import steering
from ..litellm.context import STORE, pick_attempt
from ..litellm.secrets import redact
from . import messages as msg
from .attributes import SpanAttributes
from .draft import Draft
from .event_type import CHAIN, MODEL, TOOL
from .values import (
    MAX_DEPTH,
    as_bool,
    as_float,
    as_int,
    as_list,
    is_blank,
    parse_json,
    parse_json_exact_fast,
    parse_json_fast,
    parse_repr,
)

CONVENTION = "litellm"
SCOPE = "litellm"
SYNTHETIC_ATTRIBUTE = "honeyhive.litellm.synthetic"  # set on the error spans our callback emits
ATTEMPT_ATTRIBUTE = "honeyhive.litellm.attempt"  # ... with the attempt they report

SECRET_ATTRIBUTES = ("llm.headers", "gen_ai.headers")
EMBEDDING_CALL_TYPES = frozenset({"embedding", "aembedding", "embeddings"})
METADATA_PREFIX = "metadata."
FUNCTIONS_PREFIX = "llm.request.functions."
# metadata.<key> -> metadata.litellm.proxy.<name>
PROXY_FIELDS = {
    "user_api_key_hash": "key_hash", "user_api_key_alias": "key_alias", "user_api_key_team_id": "team_id",
    "user_api_key_team_alias": "team_alias", "user_api_key_org_id": "org_id", "user_api_key_org_alias": "org_alias",
    "user_api_key_project_id": "project_id", "user_api_key_project_alias": "project_alias",
    "user_api_key_user_id": "user_id", "user_api_key_user_email": "user_email",
    "user_api_key_end_user_id": "end_user_id", "user_api_key_request_route": "route",
    "requester_ip_address": "requester_ip", "user_agent": "user_agent", "user_api_key_spend": "spend",
    "user_api_key_max_budget": "max_budget", "user_api_key_team_spend": "team_spend",
    "user_api_key_team_max_budget": "team_max_budget", "user_api_key_user_spend": "user_spend",
    "user_api_key_user_max_budget": "user_max_budget", "user_api_key_budget_reset_at": "budget_reset_at",
    "user_api_key_auth_metadata": "key_metadata", "team_id": "team_id", "team_alias": "team_alias",
}
# The metadata keys `_proxy_fields` reads: none present (a plain SDK call) skips it.
PROXY_KEYS = frozenset((*PROXY_FIELDS, "requester_custom_headers"))
# metadata.<key> kept as metadata.litellm.<key> when not empty.
LITELLM_FIELDS = ("spend_logs_metadata", "routing_decision", "applied_guardrails", "mcp_tool_call_metadata",
                  "vector_store_request_metadata", "prompt_management_metadata", "cold_storage_object_key")
# metadata.<key> read and dropped: steering input, duplicates or noise.
DROPPED_FIELDS = frozenset({"requester_metadata", "requester_custom_headers", "usage_object", "used_client_oauth_token"})
# metadata.<key> that never reach the event (usage_object is read for its token counts only):
# neither parsed nor redacted by `_metadata_values`.
UNEXPORTED_FIELDS = frozenset({"usage_object", "used_client_oauth_token"})
# metadata.<key> mapped by name; the rest is the caller's metadata.
KNOWN_FIELDS = frozenset({*PROXY_FIELDS, *LITELLM_FIELDS, *DROPPED_FIELDS})
# `metadata.*` values that parse to nothing (most of the ~35 keys of a plain SDK call are '').
EMPTY_REPRS = frozenset({"", "[]", "{}", "None", "''", '""'})
# The text `parse_repr` reads as a Python literal: starting with one of these, or one of the words
# (it returns any other text unchanged).
REPR_OPENERS = frozenset("{[(\"'")
REPR_WORDS = frozenset(("None", "True", "False"))
_RATE_PREFIXES = ("discount", "margin")
COST_PREFIXES = ("gen_ai.cost.", "litellm.cost.")
TOTAL_COST_NAMES = ("total_cost", "total")  # read by usage.py
# The router's response headers `_router_context` reads (an SDK call has none of them).
ROUTER_HEADERS = frozenset(("x-litellm-model-group", "x-litellm-attempted-retries",
                            "x-litellm-attempted-fallbacks"))
# metadata.litellm.<name> that only the callback's record of the call holds (after those the
# span may carry: model_group ... cache_hit).
STORED_ROUTER_FIELDS = ("routing_strategy", "max_retries", "trace_id", "attempt", "previous_attempts", "deployment")
# The single keys the request mapping reads besides `litellm.call_id` (most are absent): one
# intersection with the span's keys, instead of one lookup per key.
REQUEST_KEYS = frozenset((
    "hidden_params", SYNTHETIC_ATTRIBUTE, ATTEMPT_ATTRIBUTE, "litellm.call_type", "http.route", "litellm.team.metadata",
    "litellm.model_group", "litellm.provider.model", "litellm.cache_hit", "litellm.saved_cache_cost",
    "gen_ai.cost.total_cost", "litellm.cost.total", "error.type",
))
# `_usage_mapping`: the longest text it decodes (`parse_repr` walks the value of a longer one); the
# mappings `_usage_details` reads counts from.
_SHORT_USAGE_CHARS = 1_000
_USAGE_DETAILS = ("prompt_tokens_details", "completion_tokens_details")
_INT_BOUND = 2**63
# Caller request parameters (from the callback) that become config when the span lacks them.
REQUEST_PARAMETERS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "n",
                      "presence_penalty", "frequency_penalty", "tool_choice", "response_format", "reasoning_effort",
                      "parallel_tool_calls", "logprobs", "top_logprobs", "dimensions", "encoding_format")


# ----- detection --------------------------------------------------------------------
def is_request_span(attrs: SpanAttributes, span: Any) -> bool:
    """A LiteLLM call: its own `litellm_request`, or a span LiteLLM wrote its call onto
    (decided once per span, remembered on its attributes view)."""
    decided = attrs.litellm_request
    if decided is None:
        raw = attrs.raw
        decided = attrs.litellm_request = "litellm.call_id" in raw and (
            attrs.scope_name(span) == SCOPE or "hidden_params" in raw or "llm.request.type" in raw)
    return decided


def applies(attrs: SpanAttributes, span: Any) -> bool:
    decided = attrs.litellm_request  # (the mapper asked `is_request_span` first: no second call)
    if decided is None:
        decided = is_request_span(attrs, span)
    return decided or attrs.scope_name(span) == SCOPE


def _is_service_span(attrs: SpanAttributes) -> bool:
    return not is_blank(attrs.peek("service")) and not attrs.has("litellm.call_id")


def _is_proxy_request_span(attrs: SpanAttributes, span: Any) -> bool:
    kind = getattr(span, "kind", None)  # (an enum member's `.name` is a Python-level property)
    server = kind is SpanKind.SERVER if type(kind) is SpanKind else getattr(kind, "name", "") == "SERVER"
    return server or attrs.has("litellm.preprocessing.duration_ms") or (
        attrs.has("exception") and not attrs.has("litellm.call_id"))


_NOT_RAW_SEGMENTS = frozenset({"request", "response", "usage", "token_count", "input_messages", "output_messages",
                               "invocation_parameters", "prompts", "function_call"})


def _is_raw_request_span(attrs: SpanAttributes, span: Any) -> bool:
    """`raw_gen_ai_request` (or renamed by `generation_name`): a child holding only the provider's body.

    Streams and mocked calls leave it empty (behind the proxy: only the team stamp); then only
    its default name identifies it.
    """
    if getattr(span, "parent", None) is None:
        return False
    body_only, has_body = attrs.derived(_raw_body_keys)
    if not body_only:
        return False
    # (Body keys only: no `litellm.call_id`, `service` or proxy request keys; a server span is the proxy's.)
    kind = getattr(span, "kind", None)
    if kind is SpanKind.SERVER if type(kind) is SpanKind else getattr(kind, "name", "") == "SERVER":
        return False
    return has_body or str(getattr(span, "name", "")) == "raw_gen_ai_request"


def _raw_body_keys(names: tuple[Any, ...]) -> tuple[bool, bool]:
    """(whether every name is `llm.<provider>.<field>` (the provider's request/response body) or the
    team stamp on it, whether one is a body key): once per tuple of names."""
    has_body = False
    for key in names:
        if type(key) is not str:
            return False, False
        if key.startswith("llm."):
            end = key.find(".", 4)
            if end < 0 or key[4:end] in _NOT_RAW_SEGMENTS:
                return False, False
            has_body = True
        elif not key.startswith("metadata.user_api_key_team_"):
            return False, False
    return True, has_body


# ----- apply ------------------------------------------------------------------------
def apply(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    attrs.consume(*SECRET_ATTRIBUTES)
    if is_request_span(attrs, span):
        _request(attrs, span, draft)
        return
    if attrs.scope_name(span) != SCOPE:
        return
    if _is_raw_request_span(attrs, span):
        draft.disposition = "absorb"
        attrs.consumed.update(attrs.keys_with_prefix("llm."))  # the provider's body: its parent has it
        attrs.consumed.update(attrs.keys_with_prefix(METADATA_PREFIX))
        return
    if _is_service_span(attrs):
        _service(attrs, draft)
    elif _is_proxy_request_span(attrs, span):
        _proxy_request(attrs, draft)
    _steer_from_request_store(span, draft)


def _explicit_type(attrs: SpanAttributes) -> bool:
    return not is_blank(attrs.peek("honeyhive.event_type")) or not is_blank(attrs.peek("honeyhive_event_type"))


def _service(attrs: SpanAttributes, draft: Draft) -> None:
    """LiteLLM ServiceLogging spans (`auth`, `router`, `proxy_pre_call`, ...): tool events."""
    service = attrs.get("service")
    call_type = attrs.get("call_type")
    if not _explicit_type(attrs):
        draft.event_type = TOOL
    draft.tool_name = draft.tool_name or draft.event_name
    arguments = {"service": str(service)}
    if not is_blank(call_type):
        arguments["call_type"] = str(call_type)
    draft.set_default("tool_arguments", arguments)
    _litellm_section(draft)["service"] = str(service)


def _proxy_request(attrs: SpanAttributes, draft: Draft) -> None:
    """`Received Proxy Server Request` (and `Failed Proxy Server Request`): chain events."""
    if not _explicit_type(attrs) and draft.event_type == MODEL:
        draft.event_type = CHAIN
    proxy = _proxy_section(draft)
    route = attrs.get("http.route")
    path = attrs.get("url.path")
    if not is_blank(route) or not is_blank(path):
        proxy.setdefault("route", str(route if not is_blank(route) else path))
    status = as_int(attrs.get("http.response.status_code"))
    if status is not None:
        proxy["status_code"] = status
    duration = as_float(attrs.get("litellm.preprocessing.duration_ms"))
    if duration is not None:
        draft.metrics.setdefault("preprocessing_duration_ms", duration)
    exception = attrs.get("exception")
    if not is_blank(exception):
        proxy["exception"] = redact(str(exception))
        draft.error = draft.error or redact(str(exception))
    _proxy_fields(_metadata_values(attrs), proxy)


def _steer_from_request_store(span: Any, draft: Draft) -> None:
    """Proxy spans without call data join the session the request named (recorded at pre-call)."""
    context = getattr(span, "context", None)
    request = STORE.request(getattr(context, "trace_id", 0))
    if request:
        _steer(draft, steering.Steering.from_fields(request), custom=False)


# ----- request spans ----------------------------------------------------------------
def _request(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    present = attrs.present(REQUEST_KEYS)
    call_id = str(attrs.get("litellm.call_id"))
    hidden = _hidden_params(_read(attrs, present, "hidden_params"))
    stored = _stored(attrs, span, call_id, hidden, present)
    values = _metadata_values(attrs)
    section = _litellm_section(draft)
    section["call_id"] = call_id
    if _read(attrs, present, SYNTHETIC_ATTRIBUTE):
        section["emitted_by"] = "honeyhive-otel"
    call_type = _call_type(attrs, present)
    if call_type:
        section["call_type"] = call_type
    _router_context(attrs, hidden, stored, section, draft, present)
    _litellm_fields(values, section)
    proxy = _proxy_fields(values, {})
    route = _read(attrs, present, "http.route")
    if not is_blank(route):
        proxy.setdefault("route", str(route))
    if proxy:
        section["proxy"] = {**proxy, **section.get("proxy", {})}
    if "litellm.team.metadata" in present:
        _team_metadata(attrs, section)
    if "usage_object" in values:
        _usage_details(values["usage_object"], draft)
    _cost(attrs, hidden, draft, present)
    _provider(attrs, stored, draft)
    _tools(attrs, draft)
    _tool_calls(attrs, stored, draft)
    if stored:
        _config_from_store(stored, draft)
    if call_type in EMBEDDING_CALL_TYPES:
        _embeddings(stored, draft)
    _request_steering(attrs, values, stored, span, draft)
    if attrs.has_prefix("litellm.routing."):
        _routing_attributes(attrs, section)


def _read(attrs: SpanAttributes, present: frozenset[str], key: str) -> Any:
    """`attrs.get(key)` when `key` is among the keys `present` on the span, else None (no lookup)."""
    return attrs.get(key) if key in present else None


def _failed(attrs: SpanAttributes, span: Any) -> bool:
    status = getattr(getattr(getattr(span, "status", None), "status_code", None), "name", "")
    return status == "ERROR" or not is_blank(attrs.peek("error.type"))


def _stored(attrs: SpanAttributes, span: Any, call_id: str, hidden: dict[str, Any],
            present: set[str]) -> dict[str, Any]:
    """The callback's record of this call: the caller's steering plus the attempt this span reports."""
    number = as_int(_read(attrs, present, ATTEMPT_ATTRIBUTE))
    entry = STORE.call(call_id)
    if not entry:
        return {}  # no callback record (plain `callbacks=["otel"]`, replayed spans)
    attempt = pick_attempt(entry, number=number, failed=_failed(attrs, span),
                           model_group=attrs.peek("litellm.model_group"), deployment_id=hidden.get("model_id"))
    return {**(entry.get("shared") or {}), **attempt}


def _call_type(attrs: SpanAttributes, present: set[str]) -> str | None:
    value = attrs.peek("llm.request.type")
    if is_blank(value):
        value = _read(attrs, present, "litellm.call_type")
    if is_blank(value):
        operation = attrs.peek("gen_ai.operation.name")
        value = "embedding" if operation == "embeddings" else None
    return str(value) if not is_blank(value) else None


def _hidden_params(value: Any) -> dict[str, Any]:
    """`_json_object(value)`, a JSON text decoded by orjson where its value is `json`'s."""
    return _json_object(parse_json_exact_fast(value))


def _json_object(value: Any) -> dict[str, Any]:
    """The object of a JSON text (or a mapping), else {}; read-only (its readers look up keys)."""
    parsed = parse_json(value) if isinstance(value, str) else value
    if type(parsed) is dict:
        return parsed  # (decoded here, or a plain dict: no copy, no ABC check)
    return dict(parsed) if isinstance(parsed, Mapping) else {}


def _metadata_values(attrs: SpanAttributes) -> dict[str, Any]:
    """Every `metadata.*` attribute, consumed, blanks dropped; parsed from repr and secrets removed,
    but for UNEXPORTED_FIELDS: those are kept as they are (only `_usage_details` reads one, and
    parses it itself when it may hold what it looks for)."""
    values: dict[str, Any] = {}
    keys = attrs.keys_with_prefix(METADATA_PREFIX)
    if not keys:
        return values
    attrs.consumed.update(keys)
    attributes = attrs.raw
    for key in [key for key in keys if attributes[key] != ""]:  # (most of them are '')
        raw = attributes[key]
        name = key[len(METADATA_PREFIX):]
        if name in UNEXPORTED_FIELDS:
            values[name] = raw
            continue
        if isinstance(raw, str):
            stripped = raw.strip()
            if stripped in EMPTY_REPRS:
                continue
            # Behind the proxy most values are plain text (ids, emails, routes): parsed only when
            # they may be a literal, which `parse_repr` would otherwise find out in a few calls.
            value = parse_repr(raw) if stripped[0] in REPR_OPENERS or stripped in REPR_WORDS else raw
        else:
            value = raw
        if is_blank(value) or value in ({}, []):
            continue
        values[name] = redact(value)
    return values


def _litellm_section(draft: Draft) -> dict[str, Any]:
    section = draft.metadata.get("litellm")
    if not isinstance(section, dict):
        section = draft.metadata["litellm"] = {}
    return section


def _proxy_section(draft: Draft) -> dict[str, Any]:
    section = _litellm_section(draft)
    proxy = section.get("proxy")
    if not isinstance(proxy, dict):
        proxy = section["proxy"] = {}
    return proxy


def _proxy_fields(values: Mapping[str, Any], proxy: dict[str, Any]) -> dict[str, Any]:
    if values.keys().isdisjoint(PROXY_KEYS):
        return proxy  # a plain SDK call: no key, team or requester fields
    for key, name in PROXY_FIELDS.items():  # (in table order: `user_api_key_team_id` beats `team_id`)
        if key in values:
            proxy.setdefault(name, values[key])
    headers = steering.custom_headers(_as_mapping(values.get("requester_custom_headers")))
    if headers:
        proxy.setdefault("custom_headers", headers)
    return proxy


def _litellm_fields(values: Mapping[str, Any], section: dict[str, Any]) -> None:
    if values.keys() <= DROPPED_FIELDS:
        return  # (a plain SDK call: its only value is the usage object)
    for key in LITELLM_FIELDS:
        if key in values:
            section.setdefault(key, values[key])
    extra = {key: value for key, value in values.items() if key not in KNOWN_FIELDS}
    if extra:
        section.setdefault("metadata", extra)


def _as_mapping(value: Any) -> Mapping[str, Any] | None:
    if value is None:
        return None  # (the usual case: no such metadata)
    parsed = parse_repr(value) if isinstance(value, str) else value
    return parsed if isinstance(parsed, Mapping) else None


def _safe_url(value: Any) -> str | None:
    """An api_base without credentials or query string."""
    if is_blank(value):
        return None
    return _safe_url_text(str(value))


@lru_cache(maxsize=256)  # a process talks to a handful of api_bases: each is parsed once
def _safe_url_text(text: str) -> str | None:
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")) if parts.scheme else text


def _router_context(attrs: SpanAttributes, hidden: dict[str, Any], stored: dict[str, Any],
                    section: dict[str, Any], draft: Draft, present: set[str]) -> None:
    """Model group, deployment, retries and fallbacks: span first, then the callback's record."""
    headers = hidden.get("additional_headers")
    if (not headers or (type(headers) is not dict and not isinstance(headers, Mapping))
            or ROUTER_HEADERS.isdisjoint(headers)):
        headers = None  # (an SDK call: `{}`, or only the provider's `llm_provider-*` headers)
    fields = (
        ("model_group", _read(attrs, present, "litellm.model_group")
         or (headers.get("x-litellm-model-group") if headers else None)),
        ("deployment_id", hidden.get("model_id")),
        ("api_base", _safe_url(hidden.get("api_base"))),
        ("provider_model", _read(attrs, present, "litellm.provider.model") or hidden.get("litellm_model_name")),
        ("attempted_retries", as_int(headers.get("x-litellm-attempted-retries")) if headers else None),
        ("attempted_fallbacks", as_int(headers.get("x-litellm-attempted-fallbacks")) if headers else None),
        ("cache_hit", as_bool(attrs.get("litellm.cache_hit")) if "litellm.cache_hit" in present else None),
    )
    for name, value in fields:
        if value is None or is_blank(value):
            if not stored:
                continue  # no callback record to fall back on (plain `callbacks=["otel"]`, replays)
            value = stored.get(name)
            if is_blank(value):
                continue
        section[name] = value
    if stored:
        for name in STORED_ROUTER_FIELDS:
            value = stored.get(name)
            if not is_blank(value):
                section[name] = value
    saved = as_float(_read(attrs, present, "litellm.saved_cache_cost"))
    if saved:
        section["saved_cache_cost"] = saved
    overhead = as_float(hidden.get("litellm_overhead_time_ms"))
    if overhead is not None:
        draft.metrics.setdefault("litellm_overhead_ms", overhead)


def _team_metadata(attrs: SpanAttributes, section: dict[str, Any]) -> None:
    value = attrs.get("litellm.team.metadata")
    if not is_blank(value):
        section.setdefault("proxy", {}).setdefault("team_metadata", redact(parse_json(value)))


def _routing_attributes(attrs: SpanAttributes, section: dict[str, Any]) -> None:
    """The auto-router's decision (`litellm.routing.*`)."""
    routing = {key: redact(value) for key, value in attrs.prefixed("litellm.routing.").items() if not is_blank(value)}
    if routing:
        section.setdefault("routing", routing)


def _usage_details(usage: Any, draft: Draft) -> None:
    """Cached and reasoning tokens live only in `metadata.usage_object` (default schema), in the
    mappings under its `*_tokens_details`. `usage`: the attribute's value, unparsed."""
    if isinstance(usage, str):
        # A repr (or JSON) text spells each mapping with a `{` of its own, unless it hides one
        # behind an escape (double-encoded JSON): with one `{`, it holds no details to read.
        if usage.count("{") < 2 and "\\" not in usage:
            return  # (e.g. `'prompt_tokens_details': None`, as mocked responses write it)
        usage = _usage_mapping(usage)
    # (`type(...) is dict` first: a decoded value is a dict, and `isinstance(..., Mapping)` is an ABC check)
    if type(usage) is not dict and not isinstance(usage, Mapping):
        return
    prompt_details = usage.get("prompt_tokens_details")
    if type(prompt_details) is dict or isinstance(prompt_details, Mapping):
        cached = as_int(prompt_details.get("cached_tokens"))
        if cached is not None:
            draft.metadata.setdefault("cache_read_tokens", cached)
        written = as_int(prompt_details.get("cache_creation_tokens") or prompt_details.get("cache_write_tokens"))
        if written is not None:
            draft.metadata.setdefault("cache_write_tokens", written)
    completion_details = usage.get("completion_tokens_details")
    if type(completion_details) is dict or isinstance(completion_details, Mapping):
        reasoning = as_int(completion_details.get("reasoning_tokens"))
        if reasoning is not None:
            draft.metadata.setdefault("reasoning_tokens", reasoning)


def _usage_mapping(text: str) -> Any:
    """`parse_repr(text)` as `_usage_details` reads it (the counts in its two details mappings).

    LiteLLM writes the usage object as the repr of a dict of counts: single-quoted keys, numbers,
    nested dicts. When the text is ASCII without `"` or backslash (so every `'` opens or closes a
    string, and no string holds an escape), and short and shallow enough for `parse_repr` to use its
    decoded value as it is, the text with its quotes swapped and `None` spelled `null` is JSON of the
    same value, or no JSON at all (`True`, tuples...: `parse_repr` decides), unless it holds one of the
    JSON words Python refuses (`null`, `true`, `false`). (A `None` inside a string is respelled too:
    no count read changes, a text is never a number either way.) orjson decodes it several times
    faster than `parse_repr` converts and decodes the text, and reads numbers as it does but an integer
    beyond 64 bits (a float for orjson, a text for `parse_repr`): when a count may be one, `parse_repr` decides.
    """
    if ('"' not in text and "\\" not in text and "'" in text and len(text) <= _SHORT_USAGE_CHARS and text.isascii()
            and text.count("{") + text.count("[") <= MAX_DEPTH
            and "null" not in text and "true" not in text and "false" not in text):
        as_json = text.replace("'", '"')
        if "None" in as_json:
            as_json = as_json.replace("None", "null")  # (streamed calls: `'text_tokens': None`)
        decoded = parse_json_fast(as_json)
        if type(decoded) is dict and _plain_counts(decoded):
            return decoded
    return parse_repr(text)


def _plain_counts(usage: dict[str, Any]) -> bool:
    """Whether each number in the details mappings of `usage` (decoded by orjson) is within +-2**63."""
    for name in _USAGE_DETAILS:
        details = usage.get(name)
        if type(details) is dict:
            for value in details.values():
                kind = type(value)
                if (kind is int or kind is float) and not -_INT_BOUND <= value <= _INT_BOUND:
                    return False
    return True


def _cost_plan(names: tuple[Any, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(the cost breakdown's keys among `names`; (key, its name in `cost_details`) of each): read by
    `_cost` in this order (`gen_ai.cost.*`, then `litellm.cost.*`, each sorted), once per tuple of names."""
    plan = []
    for prefix in COST_PREFIXES:
        for key in sorted(name for name in names if type(name) is str and name.startswith(prefix)):
            name = key[len(prefix):]
            if name in TOTAL_COST_NAMES:
                continue
            if prefix == "litellm.cost." and not name.endswith("cost") and not name.startswith(_RATE_PREFIXES):
                name = f"{name}_cost"  # v2 spells `litellm.cost.input` what v1 calls `input_cost`
            plan.append((key, name))
    return tuple(key for key, _ in plan), tuple(plan)


def _cost(attrs: SpanAttributes, hidden: dict[str, Any], draft: Draft, present: set[str]) -> None:
    """`gen_ai.cost.total_cost`/`litellm.cost.total` (read by usage.py) else `hidden_params.response_cost`."""
    keys, plan = attrs.derived(_cost_plan)
    if keys:
        attrs.consumed.update(keys)
        attributes = attrs.raw
        details: dict[str, Any] = {}
        for key, name in plan:
            value = attributes[key]
            if type(value) is not float:  # (span floats are finite: the attribute view replaced NaN/inf)
                value = as_float(value)
            if value is not None:
                details[name] = value
        if details:
            draft.metadata.setdefault("cost_details", details)
    if "gen_ai.cost.total_cost" in present or "litellm.cost.total" in present or "cost" in draft.metadata:
        return
    cost = as_float(hidden.get("response_cost"))
    if cost is not None and cost >= 0 and (cost > 0 or "error.type" not in present):
        draft.metadata["cost"] = cost


def _provider(attrs: SpanAttributes, stored: dict[str, Any], draft: Draft) -> None:
    """`gen_ai.system` is '' for embeddings: the callback's provider, the model prefix, the error's."""
    if draft.config.get("provider"):
        return
    provider = stored.get("provider")
    if is_blank(provider):
        model = attrs.peek("litellm.provider.model")
        if isinstance(model, str) and "/" in model:
            provider = model.split("/", 1)[0]
    if is_blank(provider):
        provider = attrs.peek("error.llm_provider") or attrs.peek("litellm.provider.error.llm_provider")
    if not is_blank(provider):
        draft.config["provider"] = str(provider).strip().lower()


def _tools(attrs: SpanAttributes, draft: Draft) -> None:
    """`llm.request.functions.N.{name,description,parameters}` -> tool definitions."""
    keys = attrs.keys_with_prefix(FUNCTIONS_PREFIX)
    if not keys or (draft.tools and attrs.consumed.issuperset(keys)):
        return  # none offered, or Traceloop's reader already mapped and consumed them
    functions = attrs.indexed(FUNCTIONS_PREFIX)
    if functions and not draft.tools:
        draft.set_default("tools", msg.normalize_tool_definitions(functions))


def _tool_calls(attrs: SpanAttributes, stored: dict[str, Any], draft: Draft) -> None:
    """`gen_ai.completion.N.function_call.*` (N = tool-call index) when the output lacks tool calls."""
    if not attrs.has_prefix("gen_ai.completion."):
        return  # (the usual request span: its output is in gen_ai.output.messages)
    slots = attrs.indexed("gen_ai.completion.")
    ids = stored.get("tool_call_ids") if isinstance(stored.get("tool_call_ids"), list) else []
    calls = []
    for index, slot in enumerate(slots):
        name = slot.get("function_call.name")
        if is_blank(name):
            continue
        call_id = ids[index] if index < len(ids) else None
        calls.append(msg.tool_call(call_id, name, slot.get("function_call.arguments")))
    if not calls:
        return
    output = dict(draft.output or {})
    if output.get("tool_calls"):
        return
    output.setdefault("role", "assistant")
    output.setdefault("content", None)
    output["tool_calls"] = calls
    if not output.get("finish_reason"):
        finish = as_list(attrs.peek("gen_ai.response.finish_reasons"))
        output["finish_reason"] = msg.normalize_finish_reason(finish[0]) if finish else "tool_calls"
    choices = output.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choices[0] = {**choices[0], "tool_calls": calls}
    draft.output = output


def _config_from_store(stored: dict[str, Any], draft: Draft) -> None:
    if "is_streaming" not in draft.config and stored.get("stream") is not None:
        draft.config["is_streaming"] = bool(stored["stream"])
    parameters = stored.get("parameters")
    if isinstance(parameters, Mapping):
        for name in REQUEST_PARAMETERS:
            value = parameters.get(name)
            if value is not None and value != "":
                draft.config.setdefault(name, value)


def _embeddings(stored: dict[str, Any], draft: Draft) -> None:
    """Embedding inputs are texts, not a chat; outputs are the vector count and size, never vectors."""
    history = draft.chat_history
    if history is not None:
        texts = [message.get("content") for message in history if message.get("content") is not None]
        draft.embedding_input = texts[0] if len(texts) == 1 else texts
        draft.chat_history = None
    output = dict(draft.embedding_output or {})
    for name, key in (("vector_count", "embedding_count"), ("dimension", "embedding_dimension")):
        value = as_int(stored.get(key))
        if value is not None:
            output[name] = value  # what the provider returned beats a count of the inputs
    if output:
        draft.embedding_output = output
    draft.output = None


def _request_steering(attrs: SpanAttributes, values: Mapping[str, Any], stored: dict[str, Any],
                      span: Any, draft: Draft) -> None:
    """Caller's session, user and metadata: span (proxy headers/body) > callback record > request."""
    requester = _as_mapping(values.get("requester_metadata"))
    headers = _as_mapping(values.get("requester_custom_headers")) or {}
    if requester and isinstance(requester.get("headers"), Mapping):
        headers = {**requester["headers"], **headers}
    baggage = {key: value for key, value in attrs.prefixed("litellm.metadata.").items()
               if not is_blank(value)} if attrs.has_prefix("litellm.metadata.") else {}
    context = getattr(span, "context", None)
    request = STORE.request(getattr(context, "trace_id", 0))
    if requester or headers or baggage or stored or request:  # else nothing to steer by
        wanted = steering.from_request(requester, headers)
        wanted = wanted.fill(steering.from_body(baggage, skip_litellm_keys=False))
        wanted = wanted.fill(steering.Steering.from_fields(stored))
        wanted = wanted.fill(steering.Steering.from_fields(request))
        _steer(draft, wanted, custom=True)
    end_user = values.get("user_api_key_end_user_id")
    if not is_blank(end_user):
        draft.user_properties.setdefault("user_id", str(end_user))


def _steer(draft: Draft, wanted: steering.Steering, custom: bool) -> None:
    if wanted.session_id and is_blank(draft.session_id):
        draft.session_id = wanted.session_id
    if wanted.user_id:
        draft.user_properties["user_id"] = wanted.user_id  # explicit steering beats the OpenAI `user`
    if not custom:
        return
    for key, value in wanted.metadata.items():
        if key in steering.RESERVED_EVENT_KEYS:
            draft.metadata.setdefault("caller_metadata", {}).setdefault(key, value)
        else:
            draft.metadata.setdefault(key, value)
