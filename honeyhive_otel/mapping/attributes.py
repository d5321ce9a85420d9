"""A read-only view of one span that remembers which attributes a mapping consumed.

Consumed attributes are not repeated in `metadata.attributes`; everything else is kept
under its original key. With `debug=True` the view also records which attribute fed each
mapped field (provenance), which answers the usual "why is my input empty" question.
"""

from __future__ import annotations

import functools
import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from types import MappingProxyType
from typing import Any

from .values import is_blank

# Bound on the number of indexed slots rebuilt from `prefix.N.field` keys (index bombs).
MAX_INDEX = 10_000

_INDEXED = re.compile(r"^(\d{1,9})\.(.+)$")
# The same, matched at a position (`pattern.match(key, len(prefix))`: no slice of the key).
_INDEXED_AT = re.compile(r"(\d{1,9})\.(.+)$")

# Attribute value types that never hold a float.
_PLAIN_KINDS = frozenset((str, int, bool))


class SpanAttributes:
    """Attribute access with consumption tracking; every getter marks what it read."""

    __slots__ = ("_attrs", "consumed", "sources", "debug", "_prefix_cache", "_sorted_keys", "_events",
                 "_scope_name", "litellm_request")

    def __init__(self, attributes: Any, debug: bool = False) -> None:
        try:
            # (Not `if attributes`: the truth test of an SDK span's attributes is a Python-level `len`.)
            attrs: dict[str, Any] = _copy(attributes) if attributes is not None else {}
        except Exception:  # noqa: BLE001 - hostile mappings must not break the export
            attrs = {}
        try:
            self._attrs = _finite(attrs)
        except Exception:  # noqa: BLE001 - a sequence value that breaks on iteration: kept as is
            self._attrs = attrs
        self.consumed: set[str] = set()
        self.sources: dict[str, str] = {}
        self.debug = debug  # record provenance (`note`); read-only
        self._prefix_cache: dict[str, list[str]] = {}
        self._sorted_keys: list[str] | None = None
        self._events: tuple[Any, ...] | None = None
        self._scope_name: str | None = None
        # `litellm.is_request_span` of this span, decided once (the mapper and LiteLLM's applies/apply ask).
        self.litellm_request: bool | None = None

    # ----- plain access -------------------------------------------------------------
    def raw(self) -> dict[str, Any]:
        """All attributes, consumed or not (read-only use)."""
        return self._attrs

    def events(self, span: Any) -> tuple[Any, ...]:
        """The events of `span` (the span these attributes are of), read once: an SDK span copies
        its event list, under a lock, on every read of `span.events`."""
        events = self._events
        if events is None:
            events = self._events = tuple(getattr(span, "events", None) or ())
        return events

    def scope_name(self, span: Any) -> str:
        """The instrumentation scope name of `span` ("" when none), read once: every convention's
        `applies` asks, and an SDK span's properties are Python calls."""
        name = self._scope_name
        if name is None:
            name = self._scope_name = getattr(getattr(span, "instrumentation_scope", None), "name", "") or ""
        return name

    def has(self, key: str) -> bool:
        return key in self._attrs

    def peek(self, key: str) -> Any:
        """Read without consuming: for decisions that do not map the value anywhere."""
        return self._attrs.get(key)

    def present(self, keys: frozenset[str]) -> set[str]:
        """Which of `keys` the span has: one set intersection decides whether a whole group of
        lookups can be skipped (most of the keys a convention knows are absent on a span)."""
        return self._attrs.keys() & keys

    def get(self, *keys: str, field: str | None = None) -> Any:
        """The first present, non-blank value among `keys`; all present keys are consumed."""
        attrs = self._attrs
        found: Any = None
        found_key: str | None = None
        for key in keys:
            if key in attrs:  # most keys asked for are absent: one dict lookup each
                self.consumed.add(key)
                if found_key is None and not is_blank(attrs[key]):
                    found, found_key = attrs[key], key
        if found_key is not None and field and self.debug:
            self.note(field, found_key)
        return found

    def consume(self, *keys: str) -> None:
        """Mark keys as consumed without reading them (placeholders, duplicates)."""
        for key in keys:
            if key in self._attrs:
                self.consumed.add(key)

    def note(self, field: str, source: str) -> None:
        """Record that `field` of the event came from `source` (debug provenance)."""
        if self.debug and field not in self.sources:
            self.sources[field] = source

    # ----- prefixes and indexed keys ------------------------------------------------
    def keys_with_prefix(self, prefix: str) -> list[str]:
        """Keys starting with `prefix`: a binary search over the keys sorted once per span,
        so the ~25 prefixes the conventions ask about cost O(log n) each, not a full scan."""
        cached = self._prefix_cache.get(prefix)
        if cached is None:
            keys = self._sorted_keys
            if keys is None:
                keys = self._sorted_keys = sorted(self._attrs)
            start = bisect_left(keys, prefix)
            if start < len(keys) and keys[start].startswith(prefix):
                bound = _past_prefix(prefix)
                end = bisect_left(keys, bound, start + 1) if bound is not None else _scan_end(keys, prefix, start)
                cached = keys[start:end]
            else:
                cached = []
            self._prefix_cache[prefix] = cached
        return cached

    def has_prefix(self, prefix: str) -> bool:
        """Whether any key starts with `prefix`: one binary search, no list of the keys built."""
        keys = self._sorted_keys
        if keys is None:
            keys = self._sorted_keys = sorted(self._attrs)
        start = bisect_left(keys, prefix)
        return start < len(keys) and keys[start].startswith(prefix)

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
        attributes, consumed, start = self._attrs, self.consumed, len(prefix)
        for key in self.keys_with_prefix(prefix):
            match = _INDEXED_AT.match(key, start)
            if match is None:
                continue  # not an indexed key: it stays unconsumed, kept in metadata.attributes
            consumed.add(key)
            number, rest = match.groups()
            index = int(number)
            if index > MAX_INDEX:
                continue
            slots.setdefault(index, {})[rest] = attributes[key]
        return [slots[i] for i in sorted(slots)]

    def unconsumed(self) -> Iterator[tuple[str, Any]]:
        return iter(self.unconsumed_dict().items())

    def unconsumed_dict(self) -> dict[str, Any]:
        """The attributes no mapping consumed, in their original order."""
        consumed = self.consumed
        return {key: value for key, value in self._attrs.items() if key not in consumed}


@functools.lru_cache(maxsize=512)
def _past_prefix(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix` ("ab" -> "ac"), None when
    there is none. Cached: the conventions ask about the same few prefixes on every span."""
    if prefix and prefix[-1] != "\U0010ffff":
        return prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return None


def _scan_end(keys: list[str], prefix: str, start: int) -> int:
    """The end of the run of sorted `keys` that start with `prefix`, by a scan (`_past_prefix` has no bound)."""
    end = start
    while end < len(keys) and keys[end].startswith(prefix):
        end += 1
    return end


def _copy(attributes: Any) -> dict[str, Any]:
    """A plain dict of the span's attributes. `ReadableSpan.attributes` is a read-only proxy of
    `BoundedAttributes`, whose own `copy()` is a C-level dict copy; `dict(proxy)` would instead
    call the mapping's `__getitem__` once per key."""
    if type(attributes) is MappingProxyType:
        try:
            copied = attributes.copy()
        except Exception:  # noqa: BLE001 - a hostile mapping's copy(): fall back to dict()
            copied = None
        if type(copied) is dict:
            return copied
    return dict(attributes)


def _finite(attrs: dict[str, Any]) -> dict[str, Any]:
    """Replace NaN and infinite floats (top level, or inside a sequence value) by the strings
    "NaN", "Infinity", "-Infinity": JSON has no such numbers and encoders disagree on them."""
    isfinite = math.isfinite
    for value in attrs.values():
        kind = type(value)
        if kind in _PLAIN_KINDS:
            continue  # most values: one type test each
        if kind is float:
            if isfinite(value):
                continue
        elif kind is tuple or kind is list:  # the SDK's sequences: most hold no float at all
            if float not in map(type, value) or all(isfinite(item) for item in value if type(item) is float):
                continue
        elif not _has_non_finite(value):
            continue
        break
    else:
        return attrs
    fixed: dict[str, Any] = {}
    for key, value in attrs.items():
        if type(value) not in _PLAIN_KINDS and _has_non_finite(value):
            if isinstance(value, float):
                fixed[key] = _finite_float(value)
            else:
                items = [_finite_float(item) if type(item) is float else item for item in value]
                fixed[key] = items if isinstance(value, list) else tuple(items)
    return {**attrs, **fixed}


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (tuple, list)) and float in map(type, value):
        return not all(math.isfinite(item) for item in value if type(item) is float)
    return False


def _finite_float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


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
