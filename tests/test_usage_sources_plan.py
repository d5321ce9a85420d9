"""`usage.read_usage` reads the token counts, then the costs, from a per-name-set plan.

The sources a span carries are found once per tuple of attribute names, split into token counts
and costs (`usage._sources_present`), so the token loop needs no cost test and the total is
completed once before the cost; the reference is the single loop over the table it replaces,
compared type-strictly with field order, consumption and provenance.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.devserver import DevServer
from honeyhive_otel.mapping import usage
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.values import as_float, as_int
from tests.test_litellm_mapping import export, make_span
from tests.test_values_fast_paths import same

TRACE_ID = "5b8efff798038103d269b633813fc60c"


def reference_read_usage(attrs: SpanAttributes) -> dict[str, Any]:
    """`read_usage` as one loop over every source of the table, in table order."""
    found: dict[str, Any] = {}
    raw = attrs.raw
    for field, keys in (*usage.TOKEN_SOURCES.items(), ("cost", usage.COST_SOURCES)):
        for key in keys:
            if key not in raw:
                continue
            attrs.consumed.add(key)
            if field in found:
                continue
            if field == "cost":
                usage.complete_total(found)
                value = as_float(raw[key])
            else:
                value = raw[key] if type(raw[key]) is int else as_int(raw[key])
            if value is None or value < 0:
                continue
            found[field] = value
            attrs.note(f"metadata.{field}", key)
    usage.complete_total(found)
    return found


KEYS = [*(key for keys in usage.TOKEN_SOURCES.values() for key in keys), *usage.COST_SOURCES,
        "gen_ai.request.model", "llm.token_count.prompt_details.audio"]
VALUES = st.one_of(
    st.sampled_from([0, 1, 7, -1, 2**70, 3.9, -0.5, 0.0, float("nan"), float("inf"), True, False, None, "", " ",
                     "12", " 3.5 ", "-2", "nan", "1e3", "x", (1, 2), ()]),
    st.integers(-5, 10**6), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4),
)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=len(KEYS)).map(dict), st.booleans())
def test_usage_reads_as_the_table_loop_does(attributes: dict[str, Any], debug: bool) -> None:
    expected_attrs = SpanAttributes(attributes, debug=debug)
    expected = reference_read_usage(expected_attrs)
    attrs = SpanAttributes(attributes, debug=debug)
    assert same(usage.read_usage(attrs), expected)
    assert attrs.consumed == expected_attrs.consumed
    assert list(attrs.sources.items()) == list(expected_attrs.sources.items())


def test_total_before_cost_and_first_valid_source(devserver: DevServer) -> None:
    """The computed total comes before the cost; an invalid higher-priority source falls through."""
    attributes = {"gen_ai.usage.cost": "0.25", "llm.cost.total": -1, "gen_ai.usage.output_tokens": "nope",
                  "llm.token_count.completion": 5, "gen_ai.usage.input_tokens": 7, "gen_ai.operation.name": "chat"}
    span = make_span("chat", attributes, trace_id=TRACE_ID, span_id="00000000000000a1", scope="tests")
    [event] = export(devserver, [span])
    metadata = event["metadata"]
    fields = [name for name in metadata if name in (*usage.USAGE_FIELDS, "cost")]
    assert fields == ["prompt_tokens", "completion_tokens", "total_tokens", "cost"]
    assert (metadata["prompt_tokens"], metadata["completion_tokens"], metadata["total_tokens"]) == (7, 5, 12)
    assert metadata["cost"] == 0.25
    assert not set(metadata.get("attributes", {})) & set(usage.USAGE_KEYS)  # every source consumed
