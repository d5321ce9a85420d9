"""OpenAI-form messages (`{"role": str, "content": str}`) in message JSON take the fast path.

`messages._usual_message` converts them after orjson decoding without the `decoded_as_json` walk
and the general `_add_message`; these tests require exactly what the general path gives on
`parse_structured`'s value (`json`'s), for inputs and for outputs with a finish reason, including
content that looks like JSON parts (left to the general path) and roles that need normalising.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping.values import parse_structured
from tests.test_values_fast_paths import same

ROLES = st.one_of(st.sampled_from(["user", "assistant", "system", "tool", "model", "human", "ai", "Assistant ", "",
                                   " ", "developer"]), st.text(max_size=6), st.none(), st.integers(0, 2))
CONTENTS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "  ", "[1, 2]", ' [{"type": "text", "text": "hi"}]', '"quoted"', '{"a": 1}',
                     '[{"type": "text", "text": "from parts"}]', "\n[not json", "x" * 2_000]),
    st.none(), st.integers(), st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=5)}),
                                       max_size=2),
)
EXTRA = st.dictionaries(st.sampled_from(["finish_reason", "name", "tool_call_id", "id", "parts"]),
                        st.one_of(st.sampled_from(["stop", "length", "tool_call", "call_1", ""]), st.none(),
                                  st.integers(0, 2)), max_size=2)
MESSAGES = st.builds(lambda role, content, extra: {"role": role, "content": content, **extra}, ROLES, CONTENTS, EXTRA)


@settings(max_examples=1000, deadline=None)
@given(st.lists(MESSAGES, min_size=1, max_size=4))
def test_openai_form_messages_convert_as_the_general_path(messages: list[dict[str, Any]]) -> None:
    text = json.dumps(messages, ensure_ascii=False)
    decoded = parse_structured(text)
    assert same(msg.normalize_messages(text), msg.history_from_parsed(decoded))
    expected_outputs = msg.output_messages_from_parsed(decoded)
    expected = msg.output_from_messages(expected_outputs, ["stop"]) if expected_outputs else None
    assert same(msg.normalize_output_messages(text, ["stop"]), expected)


def test_the_usual_openai_messages_take_the_fast_path() -> None:
    history = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    output = [{"role": "assistant", "content": "hello", "finish_reason": "stop"}]
    assert [msg._usual_message(m, False) for m in history] == history
    assert msg._usual_message(output[0], True) == output[0]
    assert msg._usual_message(output[0], False) is None  # a finish reason belongs to outputs
    # Content that looks like JSON parts, and roles the general path decides, are left to it.
    assert msg._usual_message({"role": "user", "content": ' [{"type": "text", "text": "x"}]'}, False) is None
    assert msg._usual_message({"role": None, "content": "x"}, False) is None
    assert msg.normalize_messages(json.dumps(history)) == history
    assert msg.normalize_messages(json.dumps([{"role": "human", "content": "hi"}])) == [{"role": "user", "content": "hi"}]
