"""`gil.yielding` hands the GIL over only while the application is active (decision logic only)."""

from __future__ import annotations

import threading

from honeyhive_otel import gil


def test_without_a_reporting_processor_it_hands_over_while_other_threads_are_alive() -> None:
    activity = gil._Activity()
    assert activity.recent(now=1_000.0)
    assert not activity.recent(now=1_000.0, others_alive=False)


def test_only_threads_besides_the_caller_and_our_own_count_as_others() -> None:
    release = threading.Event()
    own = threading.Thread(target=release.wait, name="HoneyHiveRelease", daemon=True)
    own.start()
    try:
        alive = {thread for thread in threading.enumerate() if thread is not threading.current_thread()}
        expected = any(not thread.name.startswith(gil.OWN_THREAD_PREFIX) for thread in alive)
        assert gil._others_alive() is expected  # pytest may run helper threads of its own
        application = threading.Thread(target=release.wait, name="app-worker", daemon=True)
        application.start()
        assert gil._others_alive()
    finally:
        release.set()


def test_with_a_reporting_processor_it_hands_over_only_after_recent_span_starts() -> None:
    activity = gil._Activity()
    activity.reported = True
    assert not activity.recent(now=1_000.0)  # the application never started a span
    activity.spans += 1  # what note_activity does on an application thread
    assert activity.recent(now=1_000.0)
    # While the export thread holds the GIL the application cannot start spans: it still
    # counts as active for ACTIVE_FOR_S after the last start it was seen making.
    assert activity.recent(now=1_000.0 + gil.ACTIVE_FOR_S / 2)
    assert not activity.recent(now=1_000.0 + gil.ACTIVE_FOR_S * 2)


def test_yielding_returns_every_item_in_order() -> None:
    assert list(gil.yielding(range(10_000))) == list(range(10_000))
