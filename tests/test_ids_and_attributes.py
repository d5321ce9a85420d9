"""The mapper's fast paths must give exactly what the plain versions gave.

Event ids are computed without `uuid.UUID` objects and must stay byte-identical to
`str(uuid.uuid5(...))` (a changed id would duplicate every re-sent event); the attribute
view's prefix index and non-finite float handling are checked against a plain scan.
"""

from __future__ import annotations

import math
import random
import uuid
from types import MappingProxyType

from honeyhive_otel.ids import (
    SPAN_NAMESPACE,
    event_id_for,
    normalize_session_id,
    parent_event_id_for,
    session_id_for_trace,
)
from honeyhive_otel.mapping.attributes import SpanAttributes


def test_event_ids_are_the_uuid5_of_the_span_identity() -> None:
    rng = random.Random(7)
    for _ in range(5_000):
        trace_id = rng.getrandbits(rng.choice((1, 16, 64, 128)))
        span_id = rng.getrandbits(rng.choice((1, 8, 64)))
        expected = str(uuid.uuid5(SPAN_NAMESPACE, f"{trace_id:032x}{span_id:016x}"))
        assert event_id_for(trace_id, span_id) == expected
        assert parent_event_id_for(trace_id, span_id) == expected
        assert session_id_for_trace(trace_id) == str(uuid.uuid5(SPAN_NAMESPACE, f"trace:{trace_id:032x}"))


def test_session_ids_map_like_uuid5_of_the_raw_text() -> None:
    rng = random.Random(11)
    alphabet = "abcXYZ019-_ é💡"
    raws = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(2_000)]
    raws += ["x" * 300, "conv-1", "conv-1", "  padded  ", 12345]
    for raw in raws:
        text = str(raw).strip()
        expected = (str(uuid.UUID(text)), None) if _is_uuid(text) else (str(uuid.uuid5(uuid.NAMESPACE_URL, text)), text)
        assert normalize_session_id(raw) == expected
    explicit = uuid.uuid4()
    assert normalize_session_id(str(explicit).upper()) == (str(explicit), None)
    assert normalize_session_id(f"{{{explicit}}}") == (str(explicit), None)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def test_prefix_lookups_match_a_plain_scan() -> None:
    rng = random.Random(3)
    alphabet = "ab._\U0010ffff"
    for _ in range(500):
        keys = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))): 1 for _ in range(rng.randint(0, 15))}
        attrs = SpanAttributes(keys)
        for _ in range(6):
            prefix = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3)))
            assert attrs.keys_with_prefix(prefix) == sorted(key for key in keys if key.startswith(prefix))


def test_non_finite_floats_become_strings_and_nothing_else_changes() -> None:
    source = {
        "nan": math.nan, "inf": math.inf, "ninf": -math.inf, "finite": 0.25, "int": 3, "text": "NaN",
        "floats": (0.5, math.inf, "x"), "listed": [math.nan, 1.0], "plain": ("a", "b"), "flag": True,
    }
    attrs = SpanAttributes(MappingProxyType(source))
    assert attrs.raw == {
        "nan": "NaN", "inf": "Infinity", "ninf": "-Infinity", "finite": 0.25, "int": 3, "text": "NaN",
        "floats": (0.5, "Infinity", "x"), "listed": ["NaN", 1.0], "plain": ("a", "b"), "flag": True,
    }
    assert math.isnan(source["nan"]) and source["floats"][1] == math.inf  # the span's own values are untouched


def test_present_and_unconsumed_views() -> None:
    attrs = SpanAttributes({"a": 1, "b": "", "c": 3})
    assert attrs.present(frozenset({"a", "b", "z"})) == {"a", "b"}
    assert attrs.get("z", "b", "a") == 1  # the first non-blank; every present key is consumed
    assert attrs.unconsumed_dict() == {"c": 3}
    assert list(attrs.unconsumed()) == [("c", 3)]
