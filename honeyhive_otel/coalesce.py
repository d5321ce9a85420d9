"""Cross-span fixes that need more than one span: merges, re-parenting, usage counted once.

- A model span nested directly under a model span describes one call seen by two
  instrumentations (OpenInference/OpenLIT around LiteLLM's `litellm_request`, LangChain
  around the OpenAI SDK): they become one event, the outer span's identity with the union
  of both, tokens and cost counted once.
- LiteLLM's `raw_gen_ai_request` never becomes an event of its own.
- A chain event whose descendants already report usage keeps it only as
  `metadata.aggregated_usage`, so session totals do not count it twice.

The two spans of a pair can arrive in any order and in different export batches, so a
model event whose partner may still come is held for a short window (bounded count and
time). Everything held is released on flush and shutdown.
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .event import Event
from .gil import yielding
from .ids import event_id_for
from .mapping.usage import has_usage, strip_usage

MODEL = "model"
# Scopes of instrumentors that wrap a LiteLLM call that LiteLLM's own callback also reports.
_WRAPPER_SCOPE_HINTS = ("litellm",)


@dataclass(slots=True)
class _Note:
    """What is known of one span of a trace (bounded memory)."""

    parent: int | None = None
    event_type: str | None = None
    descendant_usage: bool = False
    merged_into: int | None = None


class Coalescer:
    """Stateful, not thread-safe: the exporter calls it under its own lock."""

    def __init__(self, window_s: float = 2.0, max_held: int = 10_000, max_traces: int = 5_000,
                 max_spans_per_trace: int = 5_000) -> None:
        self.window_s = window_s
        self.max_held = max_held
        self.max_traces = max_traces
        self.max_spans_per_trace = max_spans_per_trace
        self._held: OrderedDict[tuple[int, int], tuple[Event, float]] = OrderedDict()
        # (trace_id, parent_span_id) -> held span ids: finds held children without a scan.
        self._held_children: dict[tuple[int, int | None], set[int]] = {}
        self._traces: OrderedDict[int, dict[int, _Note]] = OrderedDict()
        self.merged = 0

    # ----- public ------------------------------------------------------------------
    def add(self, events: list[Event], now: float | None = None) -> list[Event]:
        """Take newly mapped events; return those ready to send now."""
        now = time.monotonic() if now is None else now
        ready: list[Event] = []
        # Children usually end first; handling parents after their children lets one batch
        # resolve most pairs without holding anything.
        for event in events:
            self._note(event)
        for event in yielding(events):
            self._place(event, now, ready)
        if len(self._held) > self.max_held:
            ready.extend(self._overflow())
        return ready

    def due(self, now: float | None = None) -> list[Event]:
        """Held events whose window has passed."""
        now = time.monotonic() if now is None else now
        released = []
        for key, (event, deadline) in list(self._held.items()):
            if deadline <= now:
                self._unhold(key)
                released.append(self._finalise(event))
        return released

    def drain(self) -> list[Event]:
        """Everything held (flush, shutdown)."""
        released = [self._finalise(event) for event, _ in self._held.values()]
        self._held.clear()
        self._held_children.clear()
        return released

    def next_deadline(self) -> float | None:
        return min((deadline for _, deadline in self._held.values()), default=None)

    def __len__(self) -> int:
        return len(self._held)

    # ----- trace memory ------------------------------------------------------------
    def _trace(self, trace_id: int) -> dict[int, _Note]:
        notes = self._traces.get(trace_id)
        if notes is None:
            notes = self._traces[trace_id] = {}
            while len(self._traces) > self.max_traces:
                self._traces.popitem(last=False)
        else:
            self._traces.move_to_end(trace_id)
        return notes

    def _note(self, event: Event) -> None:
        notes = self._trace(event.trace_id)
        note = notes.get(event.span_id)
        if note is None:
            if len(notes) >= self.max_spans_per_trace:
                return
            note = notes[event.span_id] = _Note()
        note.parent = event.parent_span_id
        note.event_type = event.event_type
        # (A root has no ancestors to mark.)
        if event.parent_span_id is not None and event.event_type == MODEL and has_usage(event.metadata):
            self._mark_ancestors(notes, event.parent_span_id)

    def _mark_ancestors(self, notes: dict[int, _Note], span_id: int | None) -> None:
        steps = 0
        while span_id is not None and steps < 1_000:
            note = notes.get(span_id)
            if note is None:
                if len(notes) >= self.max_spans_per_trace:
                    return
                note = notes[span_id] = _Note()
            note.descendant_usage = True
            span_id = note.parent
            steps += 1

    # ----- placement ---------------------------------------------------------------
    def _place(self, event: Event, now: float, ready: list[Event]) -> None:
        """Merge, hold or release `event`; what can be sent now goes to `ready`."""
        notes = self._trace(event.trace_id)
        self._follow_aliases(event, notes)
        if event.disposition == "absorb":
            self._alias(notes, event.span_id, event.parent_span_id)
            self.merged += 1
            return
        if self._held:  # a partner can only be a held event (usually nothing is held)
            if event.event_type == MODEL:
                parent_key = (event.trace_id, event.parent_span_id) if event.parent_span_id else None
                held_parent = self._held.get(parent_key) if parent_key else None
                if held_parent is not None and held_parent[0].event_type == MODEL:
                    self._merge(held_parent[0], event)
                    self._alias(notes, event.span_id, event.parent_span_id)
                    self._unhold(parent_key)
                    ready.append(self._finalise(held_parent[0]))
                    return
                child = self._held_model_child(event)
                if child is not None:
                    self._unhold((child.trace_id, child.span_id))
                    self._merge(event, child)
                    self._alias(notes, child.span_id, event.span_id)
                    ready.append(self._finalise(event))
                    return
            else:
                ready.extend(self._release_children(event))
        if self._should_hold(event, notes):
            self._hold(event, now + self.window_s)
        else:
            ready.append(self._finalise(event))

    def _should_hold(self, event: Event, notes: dict[int, _Note]) -> bool:
        if self.window_s <= 0:
            return False
        if event.event_type == MODEL:
            parent = notes.get(event.parent_span_id) if event.parent_span_id else None
            # Hold while the parent is unseen, or is a model span of this batch that will
            # absorb this one when it is placed.
            waiting_for_parent = (event.parent_span_id is not None and not event.parent_is_remote
                                  and (parent is None or parent.event_type in (None, MODEL)))
            return waiting_for_parent or self._may_wrap(event)
        return has_usage(event.metadata)

    def _hold(self, event: Event, deadline: float) -> None:
        self._held[(event.trace_id, event.span_id)] = (event, deadline)
        self._held_children.setdefault((event.trace_id, event.parent_span_id), set()).add(event.span_id)

    def _unhold(self, key: tuple[int, int]) -> Event | None:
        entry = self._held.pop(key, None)
        if entry is None:
            return None
        event = entry[0]
        siblings = self._held_children.get((event.trace_id, event.parent_span_id))
        if siblings is not None:
            siblings.discard(event.span_id)
            if not siblings:
                del self._held_children[(event.trace_id, event.parent_span_id)]
        return event

    def _held_children_of(self, event: Event) -> list[Event]:
        span_ids = self._held_children.get((event.trace_id, event.span_id))
        if not span_ids:
            return []  # the common case: nothing of this span is held
        return [self._held[(event.trace_id, span_id)][0] for span_id in list(span_ids)]

    def _held_model_child(self, event: Event) -> Event | None:
        for held in self._held_children_of(event):
            if held.event_type == MODEL:
                return held
        return None

    def _release_children(self, event: Event) -> list[Event]:
        """A non-model parent arrived: its held model children wait no longer."""
        released = []
        for held in self._held_children_of(event):
            if held.event_type == MODEL and not self._may_wrap(held):
                self._unhold((held.trace_id, held.span_id))
                released.append(self._finalise(held))
        return released

    @staticmethod
    def _may_wrap(event: Event) -> bool:
        """A model event of an instrumentor that may wrap a call LiteLLM also reports."""
        if event.convention == "litellm":
            return False
        return _wrapper_scope(str(event.metadata.get("otel", {}).get("scope", {}).get("name", "")))

    def _overflow(self) -> list[Event]:
        released = []
        while len(self._held) > self.max_held:
            key = next(iter(self._held))
            event = self._unhold(key)
            if event is not None:
                released.append(self._finalise(event))
        return released

    # ----- aliases and finishing ---------------------------------------------------
    def _alias(self, notes: dict[int, _Note], span_id: int, target: int | None) -> None:
        note = notes.setdefault(span_id, _Note())
        note.merged_into = target

    @staticmethod
    def _follow_aliases(event: Event, notes: dict[int, _Note]) -> None:
        parent = event.parent_span_id
        steps = 0
        while parent is not None and steps < 100:
            note = notes.get(parent)
            if note is None or note.merged_into is None:
                break
            parent = note.merged_into
            steps += 1
        if steps and parent is not None:
            event.parent_span_id = parent
            event.parent_id = event_id_for(event.trace_id, parent)

    def _finalise(self, event: Event) -> Event:
        """Last look before sending: usage a descendant already reported is not counted again."""
        notes = self._traces.get(event.trace_id) or {}
        self._follow_aliases(event, notes)
        note = notes.get(event.span_id)
        if event.event_type != MODEL and note is not None and note.descendant_usage and has_usage(event.metadata):
            event.metadata["aggregated_usage"] = strip_usage(event.metadata)
        return event

    def _merge(self, outer: Event, inner: Event) -> None:
        """Union `inner` into `outer` in place: outer wins, inner fills what outer lacks."""
        self.merged += 1
        for key, value in inner.inputs.items():
            outer.inputs.setdefault(key, value)
        if not outer.outputs:
            outer.outputs = dict(inner.outputs)
        else:
            for key, value in inner.outputs.items():
                outer.outputs.setdefault(key, value)
        for key, value in inner.config.items():
            outer.config.setdefault(key, value)
        if inner.convention == "litellm" and outer.config.get("provider") == "litellm" and inner.config.get("provider"):
            outer.config["provider"] = inner.config["provider"]  # the real provider behind LiteLLM
        _merge_metadata(outer.metadata, inner.metadata, inner_is_litellm=inner.convention == "litellm")
        for key, value in inner.user_properties.items():
            outer.user_properties.setdefault(key, value)
        for key, value in inner.metrics.items():
            outer.metrics.setdefault(key, value)
        outer.error = outer.error or inner.error
        if inner.session is not None and outer.session is not None and inner.session.metadata.get("raw_session_id"):
            outer.session_id = inner.session_id
            outer.session = inner.session
            if outer.parent_span_id is None:
                outer.parent_id = inner.session_id


@functools.lru_cache(maxsize=256)
def _wrapper_scope(scope_name: str) -> bool:
    """Whether an instrumentation scope of this name may wrap a LiteLLM call (asked per model event:
    the events of a batch come from a few scopes)."""
    scope = scope_name.lower()
    return any(hint in scope for hint in _WRAPPER_SCOPE_HINTS)


def _merge_metadata(outer: dict[str, Any], inner: dict[str, Any], inner_is_litellm: bool) -> None:
    inner = dict(inner)
    inner_otel = inner.pop("otel", {})
    if inner_is_litellm and "cost" in inner:
        outer["cost"] = inner.pop("cost")  # LiteLLM prices the call itself: its figure is authoritative
    for key, value in inner.items():
        if key == "attributes" and isinstance(value, dict) and isinstance(outer.get("attributes"), dict):
            for name, item in value.items():
                outer["attributes"].setdefault(name, item)
        else:
            outer.setdefault(key, value)
    merged = outer.setdefault("otel", {}).setdefault("merged", [])
    merged.append({key: inner_otel.get(key) for key in ("scope", "convention", "span_id") if key in inner_otel})
