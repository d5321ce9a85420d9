"""Output choices built in place, and finish reasons normalised without a call per usual reason.

`normalize_output_messages` owns the messages it converts: one holding only a role and content
(and maybe its finish reason) becomes its choice in place (`messages._outputs`), instead of being
copied key by key as `output_from_messages` copies a caller's messages. The reference is that
copy, compared type-strictly and with key order; a caller's values are never changed.
`normalize_finish_reasons` is the list form of `normalize_finish_reason` that skips blanks.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honeyhive_otel.devserver import DevServer
from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping.values import is_blank
from tests.support.message_reference import reference_output
from tests.test_litellm_mapping import export, make_span
from tests.test_message_json_fast_path import FINISH, MESSAGE, USUAL
from tests.test_values_fast_paths import same

TRACE_ID = "5b8efff798038103d269b633813fc60c"


OPENAI_STYLE = st.fixed_dictionaries(
    {"role": st.sampled_from(["assistant", "user", "", "AI"]), "content": st.one_of(st.text(max_size=5), st.none())},
    optional={"finish_reason": st.one_of(st.sampled_from(["stop", "end_turn", " Length ", ""]), st.none(), st.integers()),
              "name": st.text(max_size=3), "tool_calls": st.just([{"id": "c", "function": {"name": "f"}}]),
              "reasoning_content": st.text(max_size=3)})
CHOICES = st.one_of(st.lists(st.one_of(USUAL, OPENAI_STYLE, MESSAGE), max_size=4), USUAL, OPENAI_STYLE,
                    st.text(max_size=5))


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CHOICES, FINISH, st.booleans())
def test_choices_built_in_place_equal_the_copies(value: Any, finish: list[Any] | None, as_json: bool) -> None:
    if as_json:
        value = json.dumps(value)
    before = copy.deepcopy(value)
    expected = reference_output(value, finish)
    assert same(msg.normalize_output_messages(value, finish), expected)
    assert same(value, before)  # the caller's choices are read, never changed


def test_a_callers_messages_stay_as_they_were() -> None:
    messages = [{"role": "assistant", "content": "hi"}, {"role": "assistant", "content": "yo", "finish_reason": "end_turn"}]
    before = copy.deepcopy(messages)
    outputs = msg.output_from_messages(messages, ["length"])
    assert messages == before
    assert outputs["choices"] == [{"role": "assistant", "content": "hi", "finish_reason": "length"},
                                  {"role": "assistant", "content": "yo", "finish_reason": "stop"}]


REASONS = st.lists(st.one_of(st.sampled_from(["stop", "length", "tool_calls", "end_turn", "max_tokens", "tool_use",
                                              "", " ", " Stop ", "STOP", "content_filter", "odd"]),
                             st.none(), st.integers(-1, 2), st.booleans(), st.text(max_size=4)), max_size=4)


@settings(max_examples=500, deadline=None)
@given(st.one_of(REASONS, REASONS.map(tuple)))
def test_finish_reasons_normalise_as_one_by_one(reasons: Any) -> None:
    expected = [msg.normalize_finish_reason(reason) for reason in reasons if not is_blank(reason)]
    assert same(msg.normalize_finish_reasons(reasons), expected)


def test_exported_outputs_and_finish_reasons(devserver: DevServer) -> None:
    outputs = [{"role": "assistant", "parts": [{"type": "text", "content": "One."}], "finish_reason": "end_turn"},
               {"role": "assistant", "parts": [{"type": "text", "content": "Two."}]}]
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                  "gen_ai.output.messages": json.dumps(outputs), "gen_ai.response.finish_reasons": ("stop", "max_tokens")}
    span = make_span("chat", attributes, trace_id=TRACE_ID, span_id="00000000000000b1", scope="tests")
    [event] = export(devserver, [span])
    assert event["outputs"]["choices"] == [{"role": "assistant", "content": "One.", "finish_reason": "stop"},
                                           {"role": "assistant", "content": "Two.", "finish_reason": "length"}]
    assert list(event["outputs"]) == ["role", "content", "finish_reason", "choices"]
    assert event["metadata"]["finish_reasons"] == ["stop", "length"]
