"""traceloop convention (placeholder until its module lands)."""

from __future__ import annotations

from typing import Any

from .attributes import SpanAttributes
from .draft import Draft

CONVENTION = "traceloop"


def applies(attrs: SpanAttributes, span: Any) -> bool:
    return False


def apply(attrs: SpanAttributes, span: Any, draft: Draft) -> None:
    return None
