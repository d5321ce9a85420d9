"""Span -> HoneyHive event mapping: one module per convention, one event model."""

from .mapper import MappingOptions, SpanMapper

__all__ = ["MappingOptions", "SpanMapper"]
