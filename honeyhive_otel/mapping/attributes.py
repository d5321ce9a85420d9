"""A read-only view of one span that remembers which attributes a mapping consumed.

Consumed attributes are not repeated in `metadata.attributes`; everything else is kept
under its original key. With `debug=True` the view also records which attribute fed each
mapped field (provenance), which answers the usual "why is my input empty" question.
What the attribute names alone decide (prefix lookups, which keys of a set are present, ...)
is worked out once per tuple of names, shared by the spans that have them (`KeyNames`).
"""

from __future__ import annotations

import functools
import math
import re
from bisect import bisect_left
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Any

from opentelemetry.attributes import BoundedAttributes

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

    __slots__ = ("raw", "consumed", "sources", "debug", "names", "_events", "_scope", "litellm_request")

    def __init__(self, attributes: Any, debug: bool = False) -> None:
        try:
            # (Not `if attributes`: the truth test of an SDK span's attributes is a Python-level `len`.)
            attrs: dict[str, Any] = plain_dict(attributes) if attributes is not None else {}
        except Exception:  # noqa: BLE001 - hostile mappings must not break the export
            attrs = {}
        try:
            attrs = _finite(attrs)
        except Exception:  # noqa: BLE001 - a sequence value that breaks on iteration: kept as is
            pass
        # All attributes, consumed or not; read-only. (An attribute, not a method: the conventions
        # read it about ten times per span.)
        self.raw: dict[str, Any] = attrs
        self.consumed: set[str] = set()
        self.sources: dict[str, str] = {}
        self.debug = debug  # record provenance (`note`); read-only
        # What the attribute names alone decide (shared by the spans with the same names); read-only.
        self.names = key_names(attrs)
        self._events: tuple[Any, ...] | None = None
        self._scope: tuple[str, str] | None = None
        # `litellm.is_request_span` of this span, decided once (the mapper and LiteLLM's applies/apply ask).
        self.litellm_request: bool | None = None

    # ----- plain access -------------------------------------------------------------
    def events(self, span: Any) -> tuple[Any, ...]:
        """The events of `span` (the span these attributes are of), read once: an SDK span copies
        its event list, under a lock, on every read of `span.events`."""
        events = self._events
        if events is None:
            events = self._events = tuple(getattr(span, "events", None) or ())
        return events

    @property
    def events_read(self) -> bool:
        """Whether `events` was asked (what was decided so far may depend on the span's events)."""
        return self._events is not None

    def scope_name(self, span: Any) -> str:
        """The instrumentation scope name of `span` ("" when none), read once: every convention's
        `applies` asks, and an SDK span's properties are Python calls."""
        return self.scope(span)[0]

    def scope(self, span: Any) -> tuple[str, str]:
        """(name, version) of the instrumentation scope of `span` ("" when none), read once."""
        scope = self._scope
        if scope is None:
            scope = self._scope = _scope_texts(getattr(span, "instrumentation_scope", None))
        return scope

    def has(self, key: str) -> bool:
        return key in self.raw

    def peek(self, key: str) -> Any:
        """Read without consuming: for decisions that do not map the value anywhere."""
        return self.raw.get(key)

    def present(self, keys: frozenset[str]) -> frozenset[str]:
        """Which of `keys` the span has: one cached answer per set of attribute names decides whether
        a whole group of lookups can be skipped (most of the keys a convention knows are absent)."""
        found = self.names._present.get(keys)
        return found if found is not None else self.names.present(keys)

    def derived(self, build: Callable[[tuple[Any, ...]], Any]) -> Any:
        """`build(names)` of this span's attribute names (in order), worked out once per tuple of names.
        `build` must be a module-level function whose answer depends on the names alone."""
        found = self.names._derived.get(build, _ABSENT)
        return found if found is not _ABSENT else self.names.derived(build)

    def get(self, *keys: str, field: str | None = None) -> Any:
        """The first present, non-blank value among `keys`; all present keys are consumed."""
        attrs = self.raw
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
            if key in self.raw:
                self.consumed.add(key)

    def note(self, field: str, source: str) -> None:
        """Record that `field` of the event came from `source` (debug provenance)."""
        if self.debug and field not in self.sources:
            self.sources[field] = source

    # ----- prefixes and indexed keys ------------------------------------------------
    def keys_with_prefix(self, prefix: str) -> list[str]:
        """Keys starting with `prefix`, sorted. Read-only: the list is shared by the spans whose
        attributes have the same names."""
        found = self.names._prefixed.get(prefix)
        return found if found is not None else self.names.with_prefix(prefix)

    def has_prefix(self, prefix: str) -> bool:
        """Whether any key starts with `prefix`."""
        found = self.names._prefixed.get(prefix)
        if found is None:
            found = self.names.with_prefix(prefix)
        return bool(found)

    def prefixed(self, prefix: str, consume: bool = True) -> dict[str, Any]:
        """All attributes under `prefix`, keyed by the rest of the name."""
        keys = self.keys_with_prefix(prefix)
        if consume:
            self.consumed.update(keys)
        attributes, start = self.raw, len(prefix)
        return {key[start:]: attributes[key] for key in keys}

    def indexed(self, prefix: str) -> list[dict[str, Any]]:
        """Rebuild `prefix.N.rest` keys into a list of `{rest: value}` dicts, in index order.

        Gaps are skipped (not filled with empty slots) and indices above MAX_INDEX are
        consumed but ignored, so `llm.input_messages.999999999.message.role` costs nothing.
        Keys under `prefix` that are not indexed stay unconsumed (kept in metadata.attributes).
        """
        keys, slots = self.names.indexed(prefix)
        self.consumed.update(keys)
        attributes, found = self.raw, []
        for slot in slots:  # (loops: a comprehension is a function call, here one per slot)
            values = {}
            for rest, key in slot:
                values[rest] = attributes[key]
            found.append(values)
        return found

    def unconsumed(self) -> Iterator[tuple[str, Any]]:
        return iter(self.unconsumed_dict().items())

    def unconsumed_dict(self) -> dict[str, Any]:
        """The attributes no mapping consumed, in their original order."""
        attributes, unconsumed = self.raw, {}
        for key in self.names.left(self.consumed):  # (a loop: a comprehension is a function call per span)
            unconsumed[key] = attributes[key]
        return unconsumed


class KeyNames:
    """What a span's attribute names alone decide: its names sorted, which start with a prefix,
    which of a set of keys are present, anything a module `derived` from them.

    Worked out once per tuple of names (`key_names`): the spans of one instrumentation share a few
    such tuples, so the sorting, binary searches and set intersections behind these answers run
    once per tuple, not once per span. Nothing here depends on attribute values. (SpanAttributes
    reads the answer dicts directly: a question already answered costs one dict read, no call.)
    """

    __slots__ = ("keys", "_sorted", "_prefixed", "_indexed", "_present", "_derived", "_left", "_last_left")

    def __init__(self, keys: tuple[Any, ...]) -> None:
        self.keys = keys  # in the attributes' order
        self._sorted: list[Any] | None = None
        self._prefixed: dict[str, list[str]] = {}
        self._indexed: dict[str, tuple[tuple[str, ...], tuple[tuple[tuple[str, str], ...], ...]]] = {}
        self._present: dict[frozenset[str], frozenset[str]] = {}
        self._derived: dict[Callable[[tuple[Any, ...]], Any], Any] = {}
        self._left: dict[frozenset[str], tuple[Any, ...]] = {}
        # The last `left` question and answer: the spans of one instrumentation consume the same
        # names, and comparing the set with the last one is cheaper than freezing and hashing it.
        self._last_left: tuple[frozenset[str], tuple[Any, ...]] = (frozenset(), keys)

    def with_prefix(self, prefix: str) -> list[str]:
        """The names starting with `prefix`, in sorted order: a binary search over the sorted names."""
        keys = self._sorted
        if keys is None:
            keys = self._sorted = sorted(self.keys)
        start = bisect_left(keys, prefix)
        if start < len(keys) and keys[start].startswith(prefix):
            bound = _past_prefix(prefix)
            end = bisect_left(keys, bound, start + 1) if bound is not None else _scan_end(keys, prefix, start)
            found = keys[start:end]
        else:
            found = []
        return _remember(self._prefixed, prefix, found)

    def present(self, keys: frozenset[str]) -> frozenset[str]:
        """Which of `keys` are among the names."""
        return _remember(self._present, keys, keys.intersection(self.keys))

    def derived(self, build: Callable[[tuple[Any, ...]], Any]) -> Any:
        """`build(names)`, once per `build`."""
        found = self._derived.get(build, _ABSENT)
        if found is _ABSENT:
            found = _remember(self._derived, build, build(self.keys))
        return found

    def indexed(self, prefix: str) -> tuple[tuple[str, ...], tuple[tuple[tuple[str, str], ...], ...]]:
        """(the indexed names under `prefix`, their slots in index order: each the (rest, name) pairs
        of one index, in name order), for `SpanAttributes.indexed`."""
        found = self._indexed.get(prefix)
        if found is None:
            names = self._prefixed.get(prefix)
            if names is None:
                names = self.with_prefix(prefix)
            indexed: list[str] = []
            slots: dict[int, list[tuple[str, str]]] = {}
            start = len(prefix)
            for name in names:
                match = _INDEXED_AT.match(name, start)
                if match is None:
                    continue
                indexed.append(name)
                number, rest = match.groups()
                index = int(number)
                if index <= MAX_INDEX:
                    slots.setdefault(index, []).append((rest, name))
            found = (tuple(indexed), tuple(tuple(slots[index]) for index in sorted(slots)))
            _remember(self._indexed, prefix, found)
        return found

    def left(self, consumed: set[str]) -> tuple[Any, ...]:
        """The names not in `consumed`, in order (the spans of one instrumentation consume the same)."""
        last = self._last_left
        if consumed == last[0]:
            return last[1]
        question = frozenset(consumed)
        found = self._left.get(question)
        if found is None:
            found = _remember(self._left, question, tuple(key for key in self.keys if key not in question))
        self._last_left = (question, found)
        return found


_ABSENT = object()
# Bounds: on the tuples of names kept; on the size of a tuple worth keeping (names, and their
# characters: a relayed span may carry any names); on the answers one tuple keeps per kind of
# question (the code asks at most a few dozen: prefixes, key sets, builders).
MAX_KEY_NAMES = 256
MAX_NAMES_KEPT = 256
MAX_NAME_CHARS = 16_384
MAX_ANSWERS = 64
_KEY_NAMES: dict[tuple[Any, ...], KeyNames] = {}
# The shared `KeyNames` of the last span: the spans of a batch mostly come from one instrumentation.
# (One object, replaced whole.)
_last_key_names = KeyNames(())


def key_names(attributes: dict[str, Any]) -> KeyNames:
    """The `KeyNames` of the names of `attributes`, in their order (one instrumentation sets them
    in the same order); shared by every span with the same names."""
    global _last_key_names
    names = tuple(attributes)
    try:
        found = _last_key_names
        if names == found.keys:  # (comparing the names with the last ones is cheaper than hashing them)
            return found
        found = _KEY_NAMES.get(names)
        if found is None:
            found = KeyNames(names)
            if worth_keeping(names):
                if len(_KEY_NAMES) >= MAX_KEY_NAMES:
                    _KEY_NAMES.clear()  # many distinct tuples (not a few instrumentations'): start over
                _KEY_NAMES[names] = found
        else:
            _last_key_names = found
    except Exception:  # noqa: BLE001 - a hostile name whose hash or comparison fails: not shared
        found = KeyNames(names)
    return found


def worth_keeping(names: tuple[Any, ...]) -> bool:
    """Whether a tuple of names is small enough to keep (checked once per new tuple, not per span)."""
    if len(names) > MAX_NAMES_KEPT:
        return False
    try:
        return sum(map(len, names)) <= MAX_NAME_CHARS
    except TypeError:  # a name without a length (not a string): not kept
        return False


def _remember(answers: dict[Any, Any], question: Any, answer: Any) -> Any:
    """Keep `answer` unless `answers` is full; returns it."""
    if len(answers) < MAX_ANSWERS:
        answers[question] = answer
    return answer


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


# The last instrumentation scope read and its (name, version): the spans of a batch mostly share
# one scope, whose `name` and `version` are Python-level properties. (One tuple, replaced whole.)
_last_scope: tuple[Any, tuple[str, str]] = (object(), ("", ""))


def _scope_texts(scope: Any) -> tuple[str, str]:
    """(name, version) of an instrumentation scope, "" when absent or empty."""
    global _last_scope
    last = _last_scope
    if last[0] is scope:
        return last[1]
    texts = (getattr(scope, "name", "") or "", getattr(scope, "version", None) or "")
    _last_scope = (scope, texts)
    return texts


def plain_dict(attributes: Any) -> dict[str, Any]:
    """A plain dict of an attribute mapping. The SDK's are `BoundedAttributes` (an event's, a
    resource's) or a read-only proxy of one (`ReadableSpan.attributes`); its own `copy()` is a
    C-level dict copy, where `dict(mapping)` would call its Python `__getitem__` once per key."""
    kind = type(attributes)
    if kind is MappingProxyType or kind is BoundedAttributes:
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
        if kind is str:
            continue  # most values: one type test each
        if kind is float:
            if isfinite(value):
                continue
        elif kind is int or kind is bool:
            continue
        elif kind is tuple or kind is list:  # the SDK's sequences: most hold a few texts
            for item in value:
                if type(item) is float and not isfinite(item):
                    break
            else:
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
