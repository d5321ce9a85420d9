"""Background work that lets the application's threads run.

Python threads share one interpreter lock (the GIL). A thread that never blocks keeps it for
the interpreter's whole switch interval (5 ms) each time it gets it, so an export thread
mapping a batch of 512 spans would stall an application thread for up to 5 ms at a time.
`time.sleep(0)` releases the lock; a waiting application thread can take it at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

# Work between two offers of the GIL to other threads.
YIELD_AFTER_S = 0.0002


def yielding(items: Iterable[T]) -> Iterator[T]:
    """`items`, offering the GIL to other threads after each `YIELD_AFTER_S` of work on them."""
    started = time.perf_counter()
    for item in items:
        yield item
        if time.perf_counter() - started >= YIELD_AFTER_S:
            time.sleep(0)
            started = time.perf_counter()
