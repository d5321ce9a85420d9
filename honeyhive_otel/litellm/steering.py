"""How callers steer HoneyHive session, user and metadata through LiteLLM.

SDK: `litellm.completion(..., metadata={"session_id": ..., "user_id": ..., "feature": ...})`.
Proxy: headers `x-honeyhive-session-id`, `x-honeyhive-user-id`, `x-honeyhive-metadata-<key>`,
or the request body's `metadata` (`session_id`, `user_id`, custom keys). Header values win
over body values; `honeyhive_session_id`/`honeyhive_user_id` win over the plain names.

Pure functions over plain data (no LiteLLM import): the callback uses them on the call's
kwargs, the mapping on the span's parsed `metadata.requester_*` attributes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .secrets import redact

HEADER_SESSION = "x-honeyhive-session-id"
HEADER_USER = "x-honeyhive-user-id"
HEADER_METADATA_PREFIX = "x-honeyhive-metadata-"
SESSION_KEYS = ("honeyhive_session_id", "session_id")
USER_KEYS = ("honeyhive_user_id", "user_id")
MAX_CUSTOM_KEYS = 64

# Keys LiteLLM or its proxy put into request metadata itself: never the caller's metadata.
LITELLM_KEYS = frozenset({
    "headers", "trace_id", "generation_name", "used_client_oauth_token", "litellm_session_id",
    "model_group", "model_group_alias", "attempted_fallbacks", "attempted_retries", "original_model_group",
    "model_group_size", "max_retries", "deployment", "model_info", "api_base", "deployment_model_name",
    "caching_groups", "previous_models", "request_retry_count", "hidden_params", "endpoint",
    "requester_metadata", "requester_ip_address", "user_agent", "proxy_server_request", "metadata",
    "spend_logs_metadata", "requester_custom_headers", "litellm_parent_otel_span", "model_info_id",
    "fallback_depth", "previous_model", "mock_testing_fallbacks", "mock_testing_context_fallbacks",
    "disable_fallbacks", "tags_to_filter", "inherited_tags", "caller_tags", "litellm_api_version",
    "litellm_received_at", "queue_time_seconds", "llm_api_timing_windows", "global_max_parallel_requests",
})
LITELLM_KEY_PREFIXES = ("_", "user_api_key", "user_api_end_user", "litellm_", "x-litellm")
# Event metadata fields owned by the mapping: a caller key of that name goes under `caller_metadata`.
RESERVED_EVENT_KEYS = frozenset({
    "prompt_tokens", "completion_tokens", "total_tokens", "cache_read_tokens", "cache_write_tokens",
    "reasoning_tokens", "cost", "cost_details", "otel", "attributes", "litellm", "mapping_errors",
    "response_model", "response_id", "finish_reasons", "system_fingerprint", "aggregated_usage", "content_refs",
    "tool_call_id", "caller_metadata",
})


@dataclass
class Steering:
    """What the caller asked for: a session, a user, extra metadata."""

    session_id: str | None = None
    user_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def fill(self, other: Steering) -> Steering:
        """Values of `self` win; `other` fills what is missing."""
        merged = dict(other.metadata)
        merged.update(self.metadata)
        return Steering(self.session_id or other.session_id, self.user_id or other.user_id, merged)

    def as_fields(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "user_id": self.user_id, "custom_metadata": self.metadata or None}

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any] | None) -> Steering:
        fields = fields or {}
        custom = fields.get("custom_metadata")
        return cls(_text(fields.get("session_id")), _text(fields.get("user_id")),
                   dict(custom) if isinstance(custom, Mapping) else {})


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return None
    text = str(value).strip()
    return text or None


def plain(value: Any, depth: int = 0) -> tuple[bool, Any]:
    """(True, value) when `value` is plain JSON data (no objects, bounded depth), else (False, None)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return True, value
    if depth >= 8:
        return False, None
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            ok, converted = plain(item, depth + 1)
            if ok and isinstance(key, str):
                result[key] = converted
        return True, result
    if isinstance(value, (list, tuple)):
        items = [plain(item, depth + 1) for item in value]
        return True, [converted for ok, converted in items if ok]
    return False, None


def is_litellm_key(key: str) -> bool:
    return key in LITELLM_KEYS or key.startswith(LITELLM_KEY_PREFIXES)


def from_body(metadata: Mapping[str, Any] | None, skip_litellm_keys: bool = True) -> Steering:
    """Session, user and custom keys from a metadata dict (request body or SDK `metadata=`)."""
    if not isinstance(metadata, Mapping):
        return Steering()
    session = next((_text(metadata.get(key)) for key in SESSION_KEYS if _text(metadata.get(key))), None)
    user = next((_text(metadata.get(key)) for key in USER_KEYS if _text(metadata.get(key))), None)
    custom: dict[str, Any] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or key in SESSION_KEYS or key in USER_KEYS:
            continue
        if skip_litellm_keys and is_litellm_key(key):
            continue
        ok, converted = plain(value)
        if ok and len(custom) < MAX_CUSTOM_KEYS:
            custom[key] = converted
    return Steering(session, user, redact(custom))


def from_headers(headers: Mapping[str, Any] | None) -> Steering:
    """`x-honeyhive-*` request headers (case-insensitive); `x-honeyhive-metadata-a-b` -> key `a_b`."""
    if not isinstance(headers, Mapping):
        return Steering()
    lowered = {str(key).lower(): value for key, value in headers.items()}
    custom: dict[str, Any] = {}
    for key, value in lowered.items():
        if key.startswith(HEADER_METADATA_PREFIX) and len(custom) < MAX_CUSTOM_KEYS:
            name = key[len(HEADER_METADATA_PREFIX):].replace("-", "_")
            if name:
                custom[name] = _header_value(value)
    return Steering(_text(lowered.get(HEADER_SESSION)), _text(lowered.get(HEADER_USER)), redact(custom))


def _header_value(value: Any) -> Any:
    """Header values are text; a JSON object or array in one is decoded."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def from_request(body_metadata: Mapping[str, Any] | None, headers: Mapping[str, Any] | None) -> Steering:
    """Proxy request: headers win over the body's metadata."""
    return from_headers(headers).fill(from_body(body_metadata))


# `x-honeyhive-*` became session/user/metadata; `x-stainless-*` is the OpenAI SDK's own telemetry.
NOISE_HEADER_PREFIXES = ("x-honeyhive-", "x-stainless-")


def custom_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The caller's custom `x-*` headers worth keeping as metadata."""
    if not isinstance(headers, Mapping):
        return {}
    return {key: value for key, value in headers.items() if not str(key).lower().startswith(NOISE_HEADER_PREFIXES)}
