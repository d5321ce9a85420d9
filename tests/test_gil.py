"""`gil.yielding` hands the GIL over only while the application is active (decision logic only)."""

from __future__ import annotations

from honeyhive_otel import gil


def test_without_a_reporting_processor_it_always_hands_over() -> None:
    activity = gil._Activity()
    assert activity.recent(now=1_000.0)


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
