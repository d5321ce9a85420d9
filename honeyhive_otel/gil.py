"""Background work that lets the application's threads run.

Python threads share one interpreter lock (the GIL). A thread that never blocks keeps it for
the interpreter's whole switch interval (5 ms) each time it gets it, so an export thread
mapping a batch of 512 spans would stall an application thread for up to 5 ms at a time.
`yielding` hands the GIL over after every `YIELD_AFTER_S` of work, but only while the
application is active: the handover is a `time.sleep(0)`, which Linux turns into a ~50 µs
sleep (timer slack), a price worth paying only when someone is waiting. Activity is what
`HoneyHiveSpanProcessor` reports from the application's threads (`note_activity`, one
integer add per span start and end). An exporter used without it (behind a plain
`BatchSpanProcessor`) hands over whenever any other thread is alive besides its own helper
threads: with nobody to hand over to (a script exporting on its only thread), it does not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

# Work between two handovers of the GIL to the application's threads.
YIELD_AFTER_S = 0.0002
# Threads honeyhive-otel starts itself (`HoneyHiveRelease`, `HoneyHiveSpoolReplay`): never the application.
OWN_THREAD_PREFIX = "HoneyHive"
# The application counts as active for this long after it last started a span: while the export
# thread holds the GIL the application cannot start any, so "since the last check" would miss it.
ACTIVE_FOR_S = 0.02


class _Activity:
    """Span starts reported by the application's threads, as seen by the export thread(s).

    Plain attribute updates: a lost increment under a race only delays one handover."""

    def __init__(self) -> None:
        self.spans = 0  # bumped on the application's threads
        self.reported = False  # whether a processor bumps it at all
        self.seen = 0
        self.last_active = 0.0

    def recent(self, now: float, others_alive: bool = True) -> bool:
        """`others_alive`: whether any thread but the caller and our own helpers is alive (only
        read when no processor reports span starts)."""
        if not self.reported:
            return others_alive  # nothing reports: assume any other thread may be waiting
        if self.spans != self.seen:
            self.seen, self.last_active = self.spans, now
        return now - self.last_active < ACTIVE_FOR_S


_activity = _Activity()


def note_activity() -> None:
    """Called on the application's threads at each span start: the application is running."""
    _activity.spans += 1


def report_activity() -> None:
    """A processor will call `note_activity`: hand over only while the application is active."""
    _activity.reported = True


def yielding(items: Iterable[T]) -> Iterator[T]:
    """`items`, handing the GIL to the application after each `YIELD_AFTER_S` of work on them
    while the application is active."""
    others_alive = _activity.reported or _others_alive()
    clock = time.perf_counter  # (read after every item: a local name, no attribute lookups)
    due = clock() + YIELD_AFTER_S
    for item in items:
        yield item
        now = clock()
        if now >= due:
            if _activity.recent(now, others_alive):
                time.sleep(0)
            due = clock() + YIELD_AFTER_S


def _others_alive() -> bool:
    """Whether a thread other than the current one and honeyhive-otel's own is alive."""
    current = threading.current_thread()
    return any(thread is not current and not thread.name.startswith(OWN_THREAD_PREFIX)
               for thread in threading.enumerate())
