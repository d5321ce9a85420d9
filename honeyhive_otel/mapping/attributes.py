"""A read-only view of one span that remembers which attributes a mapping consumed.

Consumed attributes are not repeated in `metadata.attributes`; everything else is kept
under its original key. With `debug=True` the view also records which attribute fed each
mapped field (provenance), which answers the usual "why is my input empty" question.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Any

from .values import is_blank

# Bound on the number of indexed slots rebuilt from `prefix.N.field` keys (index bombs).
MAX_INDEX = 10_000

_INDEXED = re.compile(r"^(\d{1,9})\.(.+)$")


class SpanAttributes:
    """Attribute access with consumption tracking; every getter marks what it read."""

    __slots__ = ("_attrs", "consumed", "sources", "_debug", "_prefix_cache", "_sorted_keys")

    def __init__(self, attributes: Any, debug: bool = False) -> None:
        try:
            self._attrs: dict[str, Any] = dict(attributes or {})
        except Exception:  # noqa: BLE001 - hostile mappings must not break the export
            self._attrs = {}
        self.consumed: set[str] = set()
        self.sources: dict[str, str] = {}
        self._debug = debug
        self._prefix_cache: dict[str, list[str]] = {}
        self._sorted_keys: list[str] | None = None

    # ----- plain access -------------------------------------------------------------
    def raw(self) -> dict[str, Any]:
        """All attributes, consumed or not (read-only use)."""
        return self._attrs

    def has(self, key: str) -> bool:
        return key in self._attrs

    def peek(self, key: str) -> Any:
        """Read without consuming: for decisions that do not map the value anywhere."""
        return self._attrs.get(key)

    def get(self, *keys: str, field: str | None = None) -> Any:
        """The first present, non-blank value among `keys`; all present keys are consumed."""
        found: Any = None
        found_key: str | None = None
        for key in keys:
            if key in self._attrs:
                self.consumed.add(key)
                value = self._attrs[key]
                if found_key is None and not is_blank(value):
                    found, found_key = value, key
        if field and found_key is not None:
            self.note(field, found_key)
        return found

    def consume(self, *keys: str) -> None:
        """Mark keys as consumed without reading them (placeholders, duplicates)."""
        for key in keys:
            if key in self._attrs:
                self.consumed.add(key)

    def note(self, field: str, source: str) -> None:
        """Record that `field` of the event came from `source` (debug provenance)."""
        if self._debug and field not in self.sources:
            self.sources[field] = source

    # ----- prefixes and indexed keys ------------------------------------------------
    def keys_with_prefix(self, prefix: str) -> list[str]:
        """Keys starting with `prefix`: a binary search over the keys sorted once per span,
        so the ~25 prefixes the conventions ask about cost O(log n) each, not a full scan."""
        cached = self._prefix_cache.get(prefix)
        if cached is None:
            if self._sorted_keys is None:
                self._sorted_keys = sorted(self._attrs)
            keys = self._sorted_keys
            start = bisect_left(keys, prefix)
            end = start
            while end < len(keys) and keys[end].startswith(prefix):
                end += 1
            cached = keys[start:end]
            self._prefix_cache[prefix] = cached
        return cached

    def has_prefix(self, prefix: str) -> bool:
        return bool(self.keys_with_prefix(prefix))

    def prefixed(self, prefix: str, consume: bool = True) -> dict[str, Any]:
        """All attributes under `prefix`, keyed by the rest of the name."""
        result: dict[str, Any] = {}
        for key in self.keys_with_prefix(prefix):
            result[key[len(prefix):]] = self._attrs[key]
            if consume:
                self.consumed.add(key)
        return result

    def indexed(self, prefix: str) -> list[dict[str, Any]]:
        """Rebuild `prefix.N.rest` keys into a list of `{rest: value}` dicts, in index order.

        Gaps are skipped (not filled with empty slots) and indices above MAX_INDEX are
        consumed but ignored, so `llm.input_messages.999999999.message.role` costs nothing.
        """
        slots: dict[int, dict[str, Any]] = {}
        for rest, value in self.prefixed(prefix, consume=False).items():
            match = _INDEXED.match(rest)
            if not match:
                continue  # not an indexed key: it stays unconsumed, kept in metadata.attributes
            self.consumed.add(prefix + rest)
            index = int(match.group(1))
            if index > MAX_INDEX:
                continue
            slots.setdefault(index, {})[match.group(2)] = value
        return [slots[i] for i in sorted(slots)]

    def unconsumed(self) -> Iterator[tuple[str, Any]]:
        for key, value in self._attrs.items():
            if key not in self.consumed:
                yield key, value


def nest_indexed(flat: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Like `SpanAttributes.indexed`, for a plain dict of already-stripped keys."""
    slots: dict[int, dict[str, Any]] = {}
    for key, value in flat.items():
        if not key.startswith(prefix):
            continue
        match = _INDEXED.match(key[len(prefix):])
        if not match:
            continue
        index = int(match.group(1))
        if index <= MAX_INDEX:
            slots.setdefault(index, {})[match.group(2)] = value
    return [slots[i] for i in sorted(slots)]


def first_present(mapping: dict[str, Any], keys: Iterable[str]) -> Any:
    """The first non-blank value of `keys` in a plain dict."""
    for key in keys:
        value = mapping.get(key)
        if not is_blank(value):
            return value
    return None
