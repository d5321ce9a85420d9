"""The on-disk spool's own guarantees: bounded (drop oldest, counted), crash leftovers recovered,
corrupt lines counted, rejected events not replayed forever, off by default."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from honeyhive_otel import HoneyHiveSpanExporter
from honeyhive_otel.ids import event_id_for
from tests.reliability import harness


def _spans(count: int, prefix: str) -> list[Any]:
    tracer = TracerProvider().get_tracer("spool")
    spans = []
    for index in range(count):
        span = tracer.start_span(f"{prefix} {index}")
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.prompt", "p" * 200)
        span.end()
        spans.append(span)
    return spans


def _ids(spans: list[Any]) -> list[str]:
    return [event_id_for(s.context.trace_id, s.context.span_id) for s in spans]


def _offline_exporter(server: Any, spool: Path, **options: Any) -> HoneyHiveSpanExporter:
    server.faults.set("/v1/", "refuse")
    return HoneyHiveSpanExporter(server_url=server.url, merge_window=0, timeout=0.3, spool_dir=spool, **options)


def _replay_with_new_exporter(server: Any, spool: Path) -> HoneyHiveSpanExporter:
    """A new exporter on the same spool replays it at start; shutdown waits for the replay."""
    exporter = HoneyHiveSpanExporter(server_url=server.url, merge_window=0, timeout=5, spool_dir=spool)
    assert harness.wait_until(lambda: not list(spool.glob("*.jsonl*")), 10)
    exporter.shutdown()
    return exporter


def test_the_spool_is_off_by_default(devserver, monkeypatch):
    monkeypatch.delenv("HONEYHIVE_SPOOL_DIR", raising=False)
    exporter = HoneyHiveSpanExporter(server_url=devserver.url)
    assert exporter.spool is None
    exporter.shutdown()


def test_a_full_spool_drops_its_oldest_files_and_counts_their_events(devserver, tmp_path):
    spool = tmp_path / "spool"
    batches = [_spans(10, f"batch {n}") for n in range(5)]
    probe = _offline_exporter(devserver, tmp_path / "probe")
    probe.export(batches[0])
    probe.shutdown()
    file_size = sum(f.stat().st_size for f in (tmp_path / "probe").glob("*.jsonl"))
    exporter = _offline_exporter(devserver, spool, spool_max_bytes=int(file_size * 2.5))
    for batch in batches:
        exporter.export(batch)
    exporter.shutdown()
    first = exporter.stats.snapshot()
    assert first["dropped"] == {"spool_full": 30} and first["spooled"] == 50
    assert len(list(spool.glob("*.jsonl"))) == 2
    devserver.faults.clear()
    second = _replay_with_new_exporter(devserver, spool).stats.snapshot()
    stored = harness.stored_ids(devserver)
    assert sorted(stored) == sorted(_ids(batches[3]) + _ids(batches[4]))  # the newest survive
    assert second["replayed"] == 20 and devserver.store.duplicates() == {}
    assert len(stored) + first["dropped_total"] == 50  # every event accounted for


def test_leftovers_of_a_dead_process_are_recovered(devserver, tmp_path):
    spool = tmp_path / "spool"
    spans = _spans(8, "crashed")
    exporter = _offline_exporter(devserver, spool)
    exporter.export(spans)
    exporter.shutdown()
    (path,) = spool.glob("*.jsonl")
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    path.rename(path.with_name(f"{path.name}.claimed-{dead_pid}"))  # it died while replaying
    (spool / f".tmp-{dead_pid}-00001-1-1.jsonl").write_bytes(b'{"event": {"half":')  # it died while writing
    with path.with_name(f"{path.name}.claimed-{dead_pid}").open("ab") as handle:
        handle.write(b"not json at all\n")  # and a line that cannot be read
    devserver.faults.clear()
    replayer = _replay_with_new_exporter(devserver, spool)
    assert sorted(harness.stored_ids(devserver)) == sorted(_ids(spans))
    assert replayer.stats.snapshot()["dropped"] == {"spool_corrupt": 1}
    assert list(spool.iterdir()) == []


def test_events_the_server_rejects_on_replay_are_counted_not_kept_forever(devserver, tmp_path):
    spool = tmp_path / "spool"
    exporter = _offline_exporter(devserver, spool)
    exporter.export(_spans(4, "rejected later"))
    exporter.shutdown()
    devserver.faults.clear()
    devserver.faults.set("/v1/events/batch", "status", status=400)
    replayer = _replay_with_new_exporter(devserver, spool)
    assert replayer.stats.snapshot()["dropped"] == {"export_failed": 4}
    assert list(spool.iterdir()) == [] and devserver.store.events() == []


def test_spool_files_are_written_atomically_and_privately(devserver, tmp_path):
    spool = tmp_path / "spool"
    exporter = _offline_exporter(devserver, spool)
    started = time.monotonic()
    exporter.export(_spans(3, "private"))
    exporter.shutdown()
    assert time.monotonic() - started < 5
    assert oct(spool.stat().st_mode & 0o777) == oct(0o700)
    names = [p.name for p in spool.iterdir()]
    assert len(names) == 1 and names[0].endswith("-3.jsonl") and not names[0].startswith(".tmp")
    lines = (spool / names[0]).read_bytes().splitlines()
    assert lines[0].startswith(b'{"session":') and all(line.startswith(b'{"event":') for line in lines[1:])
    assert os.getpid() == int(names[0].split("-")[1])


def test_a_spool_that_cannot_be_written_counts_a_drop_and_never_raises(devserver, tmp_path):
    spool = tmp_path / "spool"
    exporter = _offline_exporter(devserver, spool)
    spool.rmdir()
    spool.write_text("a file where the directory was")
    exporter.export(_spans(3, "unwritable"))
    exporter.shutdown()
    assert exporter.stats.snapshot()["dropped"] == {"spool_error": 3}
