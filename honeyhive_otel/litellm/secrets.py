"""Redaction of secrets in LiteLLM metadata: never export keys, auth headers or raw virtual keys.

LiteLLM copies request headers and key information into its metadata (`requester_metadata`,
`requester_custom_headers`, `litellm_params.metadata`). Key hashes are fine to export; raw
virtual keys (`sk-...`), `Authorization`/`Cookie` headers and API-key fields are not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

# Header and field names whose value is a credential (compared lowercase, '_' read as '-').
SECRET_KEYS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "api-key", "x-api-key", "apikey",
    "x-litellm-api-key", "litellm-api-key", "openai-api-key", "anthropic-api-key", "x-goog-api-key",
    "azure-api-key", "api-secret", "client-secret", "access-token", "refresh-token", "id-token", "password",
    "master-key", "user-api-key", "ocp-apim-subscription-key", "x-auth-token", "aws-secret-access-key",
    "aws-session-token", "secret", "private-key",
})

# A raw LiteLLM/OpenAI-style key anywhere in a string, and bearer credentials.
_RAW_KEY = re.compile(r"sk-[A-Za-z0-9_\-]{4,}")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{8,}|\b(basic)\s+[A-Za-z0-9+/]{16,}={0,2}")
MAX_DEPTH = 32


def is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and key.strip().lower().replace("_", "-") in SECRET_KEYS


def redact_text(text: str) -> str:
    """`text` with raw keys and bearer credentials replaced by "[redacted]"."""
    if "sk-" not in text and "earer" not in text.lower() and "asic" not in text.lower():
        return text
    text = _BEARER.sub(lambda match: f"{match.group(1) or match.group(2)} {REDACTED}", text)
    return _RAW_KEY.sub(REDACTED, text)


def redact(value: Any, _depth: int = 0) -> Any:
    """A copy of `value` without secret fields and with raw keys masked (bounded depth)."""
    if isinstance(value, str):
        return redact_text(value)
    if _depth >= MAX_DEPTH:
        return "[max depth]"
    if isinstance(value, Mapping):
        return {key: redact(item, _depth + 1) for key, item in value.items() if not is_secret_key(key)}
    if isinstance(value, (list, tuple)):
        return [redact(item, _depth + 1) for item in value]
    return value
