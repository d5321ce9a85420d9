"""`jsonfast` gives the same results with and without orjson.

orjson is a speed-up, not a behaviour: a Python without it (PyPy, a platform with no wheel)
must export exactly the same events. The comparison runs the real exporter into the
devserver twice, once in a subprocess where `import orjson` fails.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest
from support.servers import devservers

from honeyhive_otel import jsonfast

TRICKY_DOCUMENTS = [
    '{"a": 1, "b": [true, false, null], "c": "\\u00e9\\ud83d\\ude00"}',
    '{"nan": NaN, "inf": Infinity, "ninf": -Infinity}',  # json accepts these; orjson does not
    '{"big": 123456789012345678901234567890}',  # beyond 64 bits
    '"\\ud800 lone surrogate"',
    '{"dup": 1, "dup": 2}',
    "[1e400, -0.0, 1.5e-7]",
    ' {"leading": "whitespace"}',
    '{"trailing": "whitespace"}\n',
]


@pytest.mark.parametrize("document", TRICKY_DOCUMENTS)
def test_loads_matches_json(document: str) -> None:
    expected, actual = json.loads(document), jsonfast.loads(document)
    assert repr(actual) == repr(expected)  # repr: NaN != NaN, and -0.0 == 0.0


@pytest.mark.parametrize("document", ["", "{", "[1,]", "nope", "{'a': 1}", '{"a": 1} x', "1 2"])
def test_loads_rejects_what_json_rejects(document: str) -> None:
    with pytest.raises(ValueError):
        jsonfast.loads(document)


def test_dumps_matches_json_for_json_safe_values() -> None:
    value = {"text": "é \u2028 \x00 \"quoted\" \\", "n": [1, -2, 3.25, 1e-7, 2**63 - 1], "ok": None, "t": True}
    assert json.loads(jsonfast.dumps(value)) == value
    assert json.loads(jsonfast.dumps({"big": 2**70})) == {"big": 2**70}  # handed to json
    assert json.loads(jsonfast.dumps({1: "non-string key"})) == {"1": "non-string key"}
    assert jsonfast.dumps("\udcff") == b'"?"'  # a lone surrogate cannot be UTF-8


def test_dumps_rejects_what_the_exporter_must_bound() -> None:
    with pytest.raises((TypeError, ValueError)):
        jsonfast.dumps({"obj": object()})
    assert math.isnan(float("nan"))  # NaN never reaches dumps: the mapping writes it as "NaN"


_EXPORT_SCRIPT = textwrap.dedent("""
    import random, sys
    if sys.argv[2] == "without":
        sys.modules["orjson"] = None  # `import orjson` raises ImportError
    sys.path.insert(0, "benchmarks")
    import _spans
    from honeyhive_otel import jsonfast
    from honeyhive_otel.exporter import HoneyHiveSpanExporter
    exporter = HoneyHiveSpanExporter(server_url=sys.argv[1], session_id="1b0a8d1e-6a57-4c52-9d0e-3d2a1f6c7b11",
                                     merge_window=0)
    random.seed(7)  # the SDK draws trace and span ids from `random`: the same ids in both runs
    spans = _spans.build_spans(6, 3000)
    for span in spans:
        span._attributes = dict(span.attributes, **{"gen_ai.request.temperature": float("nan")})
    print(jsonfast.ENGINE, exporter.export(spans).name, exporter.force_flush())
    exporter.shutdown()
""")


def test_export_is_the_same_without_orjson(tmp_path) -> None:
    script = tmp_path / "export.py"
    script.write_text(_EXPORT_SCRIPT)
    modes = ("with", "without")
    with devservers(modes) as servers:
        for mode in modes:
            result = subprocess.run([sys.executable, str(script), servers[mode].url, mode], capture_output=True,
                                    text=True, timeout=60, cwd=str(_repo_root()))
            assert result.returncode == 0, result.stderr
            engine = "orjson" if mode == "with" else "json"
            assert result.stdout.split() == [engine, "SUCCESS", "True"]
        stored = {mode: servers[mode].store.events() for mode in modes}
    assert len(stored["with"]) == len(stored["without"]) == 6
    for first, second in zip(stored["with"], stored["without"], strict=True):
        assert _timeless(first) == _timeless(second)
        assert first["config"]["temperature"] == "NaN"


def _timeless(event: dict) -> str:
    """The event without its timestamps (each run built its spans at its own time)."""
    return json.dumps({k: v for k, v in event.items() if k not in ("start_time", "end_time", "duration")},
                      sort_keys=True)


def _repo_root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent
