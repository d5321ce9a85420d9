"""Token usage and cost, under one name each, whatever convention reported them.

Rules (documented in the README):
- `prompt_tokens` counts every input token, cached ones included (OpenAI and OTel
  semantics); `cache_read_tokens` and `cache_write_tokens` are a breakdown of it, never
  added to it. `completion_tokens` includes `reasoning_tokens` likewise.
- Zero is a value and is kept. `total_tokens` is computed when the emitter gave none.
- An emitter's own cost (USD) is accepted as the cost; nothing is re-priced here.
"""

from __future__ import annotations

from typing import Any

from .attributes import SpanAttributes
from .values import as_float, as_int

# Field -> attribute names, highest priority first, across every convention.
TOKEN_SOURCES: dict[str, tuple[str, ...]] = {
    "prompt_tokens": (
        "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
        "llm.usage.prompt_tokens",
    ),
    "completion_tokens": (
        "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion",
        "llm.usage.completion_tokens",
    ),
    "total_tokens": ("llm.token_count.total", "gen_ai.usage.total_tokens", "llm.usage.total_tokens"),
    "cache_read_tokens": (
        "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read", "gen_ai.usage.prompt_tokens_details.cached_tokens",
    ),
    "cache_write_tokens": (
        "gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens", "llm.token_count.prompt_details.cache_write",
        "gen_ai.usage.prompt_tokens_details.cache_creation_tokens",
    ),
    "reasoning_tokens": (
        "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
        "llm.token_count.completion_details.reasoning", "gen_ai.usage.completion_tokens_details.reasoning_tokens",
        "llm.usage.reasoning_tokens",
    ),
}

COST_SOURCES: tuple[str, ...] = (
    "llm.cost.total", "gen_ai.usage.cost", "gen_ai.cost.total_cost", "litellm.cost.total", "operation.cost",
)

USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens", "cache_read_tokens",
                "cache_write_tokens", "reasoning_tokens")

# Every attribute read_usage reads: intersected once with a span's keys, so a span pays for
# the usage attributes it carries, not for the ~30 names the table knows.
USAGE_KEYS = frozenset((*(key for keys in TOKEN_SOURCES.values() for key in keys), *COST_SOURCES))
# Attribute -> its field; attributes in table order (field by field, highest priority first).
_FIELD_OF: dict[str, str] = {
    **{key: field for field, keys in TOKEN_SOURCES.items() for key in keys}, **dict.fromkeys(COST_SOURCES, "cost")}
# Provenance names of the fields (debug mode), built once.
_NOTES = {field: f"metadata.{field}" for field in (*TOKEN_SOURCES, "cost")}


def _sources_present(names: tuple[str, ...]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]] | None:
    """((attribute, field) of the token counts among `names`, the cost attributes among them), each
    in table order, None when there are none: worked out once per tuple of attribute names
    (`SpanAttributes.derived`), so a span pays for the usage attributes it carries, not for the ~30
    names the table knows."""
    present = USAGE_KEYS.intersection(names)
    if not present:
        return None
    tokens = tuple((key, field) for key, field in _FIELD_OF.items() if key in present and field != "cost")
    return tokens, tuple(key for key in COST_SOURCES if key in present)


def read_usage(attrs: SpanAttributes) -> dict[str, Any]:
    """Usage and cost found on the span, as `metadata` fields; every source present is consumed.

    Only the sources present are visited, in table order: the first valid one of a field wins."""
    usage: dict[str, Any] = {}
    sources = attrs.derived(_sources_present)
    if sources is None:
        return usage
    tokens, costs = sources
    consumed = attrs.consumed
    raw = attrs.raw
    debug = attrs.debug
    for key, field in tokens:
        consumed.add(key)
        if field in usage:
            continue  # a higher-priority source gave it
        value = raw[key]
        if type(value) is not int:  # token counts are ints: no conversion needed
            value = as_int(value)
            if value is None:
                continue
        if value < 0:
            continue
        usage[field] = value
        if debug:
            attrs.note(_NOTES[field], key)
    complete_total(usage)  # (before the cost: the order of the fields)
    for key in costs:
        consumed.add(key)
        if "cost" in usage:
            continue  # a higher-priority source gave it
        value = as_float(raw[key])
        if value is None or value < 0:
            continue
        usage["cost"] = value
        if debug:
            attrs.note(_NOTES["cost"], key)
    return usage


def complete_total(usage: dict[str, Any]) -> None:
    """Compute `total_tokens` from prompt and completion when it is missing."""
    if "total_tokens" not in usage and ("prompt_tokens" in usage or "completion_tokens" in usage):
        usage["total_tokens"] = usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)


def has_usage(metadata: dict[str, Any]) -> bool:
    return any(field in metadata for field in USAGE_FIELDS) or "cost" in metadata


def strip_usage(metadata: dict[str, Any]) -> dict[str, Any]:
    """Remove usage and cost from `metadata`, returning what was removed."""
    removed = {}
    for field in (*USAGE_FIELDS, "cost"):
        if field in metadata:
            removed[field] = metadata.pop(field)
    return removed
