"""LiteLLM's own `otel` callback spans (placeholder until its module lands)."""

from __future__ import annotations

from typing import Any

from .attributes import SpanAttributes
from .draft import Draft

CONVENTION = "litellm"


def is_request_span(attrs: SpanAttributes, span: Any) -> bool:
    scope = getattr(getattr(span, "instrumentation_scope", None), "name", "")
    return scope == "litellm" and attrs.has("litellm.call_id")


def applies(attrs: SpanAttributes, span: Any) -> bool:
    return getattr(getattr(span, "instrumentation_scope", None), "name", "") == "litellm"


def apply(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    return None
