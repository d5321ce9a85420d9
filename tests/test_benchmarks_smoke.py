"""Smoke test of `benchmarks/run.py --quick`: it runs end to end and writes every section.

No timing is asserted (a loaded CI machine would make that flaky); the numbers themselves
are read by people from the full run's table and `benchmarks/results.json`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("app_thread", "export_throughput", "real_spans", "span_shapes", "scaling", "litellm", "memory")


@pytest.mark.slow
def test_quick_benchmark_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Targets" in proc.stdout
    results = json.loads(out.read_text())
    assert results["mode"] == "quick"
    machine = results["machine"]
    assert machine["cpu_model"] and machine["cores"] and machine["packages"]["honeyhive-otel"]
    for name in SECTIONS:
        assert "error" not in results["sections"][name], results["sections"][name].get("error")
    assert results["targets"] and all(t["value"] is not None for t in results["targets"])
    # A benchmark of failed exports would be worthless: the HoneyHive variants really delivered.
    export = results["sections"]["export_throughput"]
    assert export["honeyhive_stats"]["events_exported"] == export["honeyhive_stats"]["spans_received"] > 0
    assert all(v["failed_exports"] == 0 for v in export["variants"].values())
    families = results["sections"]["real_spans"]["families"]
    assert len(families) == 5 and all(row["cpu_ns_per_span"]["honeyhive"] > 0 for row in families.values())
    shapes = results["sections"]["span_shapes"]["families"]
    assert len(shapes) == 5 and all(row["cpu_ns_per_span"]["honeyhive"] > 0 for row in shapes.values())
    app = results["sections"]["app_thread"]["honeyhive_stats"]
    assert app["events_exported"] == app["spans_received"] > 0
    litellm = results["sections"]["litellm"]["variants"]["honeyhive"]["exporter_stats"]
    assert litellm["events_exported"] > 0


def test_every_span_shape_maps_to_the_benchmark_spans_content() -> None:
    """The forms the `span_shapes` section measures are read as their conventions: each gives the same
    chat history and answer as the benchmark span (else the section would time a mapping that fails)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import _spans
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from honeyhive_otel.mapping.mapper import SpanMapper

    mapper = SpanMapper()
    events = {form: mapper.map(_spans.shaped_spans(form, 1)[0]) for form in _spans.SHAPES}
    reference = events.pop("gen_ai messages, parts (the benchmark span)")
    assert len(reference.inputs["chat_history"]) >= 3
    for form, event in events.items():
        assert event.event_type == "model", form
        assert event.inputs["chat_history"] == reference.inputs["chat_history"], form
        assert event.outputs["content"] == reference.outputs["content"], form
        assert event.config["model"].startswith("gpt-4o-mini"), form
