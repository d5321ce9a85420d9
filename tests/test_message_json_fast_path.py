"""Message JSON decoded by orjson (`values.parse_json_fast`) maps exactly as the `json` path does.

`normalize_messages` and `normalize_output_messages` read a JSON string with orjson, convert the
usual OTel text message themselves (`messages._usual_message`) and check any other message with
`values.decoded_as_json` (no float, within MAX_DEPTH) before the general code converts it; anything
else goes through `parse_structured` as before. The reference here is that general code on the
`json` decoding of the same text, compared type-strictly (int vs float, key order).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honeyhive_otel.devserver import DevServer
from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping import values
from tests.support.message_reference import reference_output
from tests.support.spans import load_spans
from tests.test_litellm_mapping import export, make_span
from tests.test_values_fast_paths import same

FIXTURES = Path(__file__).parent / "fixtures" / "spans"
TRACE_ID = "5b8efff798038103d269b633813fc60c"


# ----- references: the json path the fast one replaces ------------------------------------------
def reference_messages(text: str) -> list[dict[str, Any]] | None:
    """`normalize_messages(text)` through `parse_structured` (json, its depth guard, then repr)."""
    return msg.history_from_parsed(values.parse_structured(text))


def reference_decode(text: str) -> Any:
    """What `json` decodes (None when it refuses), for the decoder comparison."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


# ----- documents --------------------------------------------------------------------------------
TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "hi \"there\"", "\\", "\udcff lone", "\ud83d\ude00", "\x00\x1f\x7f\x85", "\u2028",
                     '[{"type": "text", "text": "a"}]', '{"a": 1}', "[not json", "None"]),
)
NUMBER = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([2**64, 2**64 - 1, -(2**63) - 1, 0, -1]),
                   st.floats(allow_nan=False, allow_infinity=False))
SCALAR = st.one_of(TEXT, NUMBER, st.booleans(), st.none())
JSONISH = st.recursive(SCALAR, lambda children: st.one_of(st.lists(children, max_size=3),
                                                          st.dictionaries(TEXT, children, max_size=3)),
                       max_leaves=12)
TEXT_PART = st.fixed_dictionaries({"type": st.just("text"), "content": TEXT})
PART = st.one_of(
    TEXT_PART,
    st.fixed_dictionaries({"type": st.sampled_from(["text", "reasoning"]), "content": TEXT},
                          optional={"extra": JSONISH}),
    st.fixed_dictionaries({"type": st.just("tool_call"), "id": TEXT, "name": TEXT, "arguments": JSONISH}),
    st.fixed_dictionaries({"type": st.just("tool_call_response"), "id": TEXT, "response": JSONISH}),
    st.fixed_dictionaries({"type": st.sampled_from(["uri", "blob", "file", "other"]), "modality": TEXT},
                          optional={"content": JSONISH, "mime_type": TEXT}),
    st.fixed_dictionaries({"content": JSONISH}),
    TEXT, NUMBER,
)
ROLE = st.one_of(st.sampled_from(["user", "assistant", "system", "tool", "developer", "human", "model", "AI", " User ",
                                  ""]), TEXT, NUMBER, st.none())
USUAL = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "tool"]),
                               "parts": st.lists(TEXT_PART, min_size=1, max_size=1)},
                              optional={"finish_reason": st.sampled_from(["stop", "length", "tool_calls", "end_turn"])})
MESSAGE = st.one_of(
    USUAL,
    st.fixed_dictionaries({"role": ROLE, "parts": st.one_of(st.lists(PART, max_size=3), JSONISH)},
                          optional={"name": SCALAR, "finish_reason": SCALAR, "id": SCALAR}),
    st.fixed_dictionaries({"role": ROLE, "content": st.one_of(TEXT, JSONISH)},
                          optional={"tool_calls": JSONISH, "tool_call_id": SCALAR, "reasoning_content": SCALAR}),
    JSONISH,
)
MESSAGES = st.lists(st.one_of(USUAL, MESSAGE), max_size=5)
FINISH = st.one_of(st.none(), st.lists(st.sampled_from(["stop", "length", "", "tool_use"]), max_size=3))


def encodings(value: Any) -> st.SearchStrategy[str]:
    """JSON texts of `value` as emitters write them: compact or not, escaped or not, padded."""
    return st.builds(
        lambda ascii_only, separators, pad: pad[0] + json.dumps(value, ensure_ascii=ascii_only,
                                                                separators=separators) + pad[1],
        st.booleans(), st.sampled_from([(",", ":"), (", ", ": ")]),
        st.sampled_from([("", ""), (" ", "\n"), ("\t", ""), ("\u00a0", ""), ("", "\x1f"), ("", " x")]))


@st.composite
def message_texts(draw: st.DrawFn) -> str:
    return draw(encodings(draw(MESSAGES)))


# ----- the decoders agree ------------------------------------------------------------------------
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(message_texts(), JSONISH.flatmap(encodings)))
def test_a_value_orjson_decoded_and_that_passes_the_check_is_the_json_value(text: str) -> None:
    decoded = values.parse_json_fast(text)
    if decoded is not None and values.decoded_as_json(decoded):
        assert same(decoded, reference_decode(text))


MUTATION_ALPHABET = st.sampled_from(list('[]{}",:\\ \t\n0123456789.eE+-truefalsnNaIy\x00\x1f\x7f\u00e9\ud800\udc00'))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message_texts(), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 2), MUTATION_ALPHABET), max_size=3))
def test_orjson_accepts_no_text_json_refuses(text: str, edits: list[tuple[int, int, str]]) -> None:
    """Broken JSON (insertions, deletions, replacements): what orjson reads, json reads the same."""
    for position, operation, char in edits:
        position %= len(text) + 1
        if operation == 0:
            text = text[:position] + char + text[position:]
        elif operation == 1:
            text = text[:position] + text[position + 1:]
        else:
            text = text[:position] + char + text[position + 1:]
    decoded = values.parse_json_fast(text)
    if decoded is not None and values.decoded_as_json(decoded):
        assert same(decoded, reference_decode(text)), text


def test_what_the_check_refuses() -> None:
    big = values.parse_json_fast('[{"n": 18446744073709551616}]')
    assert big == [{"n": 1.8446744073709552e19}]  # orjson's float: json reads the int exactly
    assert not values.decoded_as_json(big)
    assert values.decoded_as_json(values.parse_json_fast('[{"n": 18446744073709551615, "m": -9223372036854775808}]'))
    assert not values.decoded_as_json([0.5])
    deepest = values.MAX_DEPTH
    assert values.decoded_as_json(json.loads("[" * deepest + "1" + "]" * deepest))  # the 1: MAX_DEPTH levels down
    assert not values.decoded_as_json(json.loads("[" * (deepest + 1) + "1" + "]" * (deepest + 1)))
    for text in ("['a', 'b']", "[NaN]", '["\\ud800"]', "[1e400]", "", " ", "nope", '[1] x', "\ufeff[]"):
        assert values.parse_json_fast(text) is None, text
    assert values.parse_json_fast("x" * (values.MAX_PARSE_CHARS + 1)) is None


# ----- the messages map the same ------------------------------------------------------------------
@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message_texts(), FINISH)
def test_message_json_maps_as_the_json_path_does(text: str, finish: list[Any] | None) -> None:
    assert same(msg.normalize_messages(text), reference_messages(text))
    assert same(msg.normalize_output_messages(text, finish), reference_output(text, finish))


def deep(levels: int) -> Any:
    """A value `levels` levels deep (a list at the bottom)."""
    value: Any = []
    for _ in range(levels):
        value = {"a": value}
    return value


def test_messages_at_the_depth_limit_and_beyond() -> None:
    usual = {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
    for levels in range(values.MAX_DEPTH - 5, values.MAX_DEPTH + 2):
        for message in ({"role": "assistant", "parts": [{"type": "tool_call", "id": "c", "name": "f",
                                                          "arguments": deep(levels)}]},
                        {"role": "user", "parts": [{"type": "text", "content": "x"}], "extra": deep(levels)}):
            text = json.dumps([usual, message])
            expected = reference_messages(text)
            assert same(msg.normalize_messages(text), expected), levels
            assert same(msg.normalize_output_messages(text), reference_output(text, None)), levels
            assert (expected is None) == values._too_deep(json.loads(text)), levels


def test_numbers_orjson_reads_differently_keep_their_json_value() -> None:
    text = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "x"}]},
                       {"role": "assistant", "parts": [{"type": "tool_call", "id": "c", "name": "f",
                                                         "arguments": {"big": 2**64, "neg": -(2**63) - 1, "f": 0.1}}]}])
    history = msg.normalize_messages(text)
    # (beyond 64 bits, the JSON-safe form keeps the digits as a string: orjson's float would lose them)
    assert history[1]["tool_calls"][0]["function"]["arguments"] == \
        '{"big": "18446744073709551616", "neg": "-9223372036854775809", "f": 0.1}'
    assert same(history, reference_messages(text))


def test_recorded_message_json_maps_as_the_json_path_does() -> None:
    """Every gen_ai.input/output.messages value of the captured spans; their usual messages (every
    one but tool calls and their results) need no check."""
    texts = []
    for path in sorted(FIXTURES.glob("*.json")):
        for span in load_spans(path):
            for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
                if isinstance(span.attributes.get(key), str):
                    texts.append(span.attributes[key])
    assert len(texts) > 40
    for text in texts:
        assert same(msg.normalize_messages(text), reference_messages(text)), text
        assert same(msg.normalize_output_messages(text, ["stop"]), reference_output(text, ["stop"])), text
    usual = [text for text in texts if "tool_call" not in text and text.startswith("[{")]
    assert usual and all(msg._usual_message(message, True) is not None
                         for text in usual for message in json.loads(text))


# ----- end to end ---------------------------------------------------------------------------------
def test_exported_event_of_message_json(devserver: DevServer) -> None:
    """The usual messages, a tool call with an integer beyond 64 bits, and a message nested too deep."""
    usual = [{"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
             {"role": "user", "parts": [{"type": "text", "content": "Sum \u00e9 \U0001f600"}]}]
    call = {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "add",
                                            "arguments": {"a": 2**70, "b": 1.5}}]}
    outputs = [{"role": "assistant", "parts": [{"type": "text", "content": "Done."}], "finish_reason": "stop"}]
    too_deep = json.dumps([usual[1], {"role": "user", "parts": [{"type": "text", "content": "x"}],
                                      "extra": deep(values.MAX_DEPTH)}])
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
    spans = [make_span(name, {**base, **attributes}, trace_id=TRACE_ID, span_id=f"{index + 1:016x}", scope="tests")
             for index, (name, attributes) in enumerate([
                 ("usual", {"gen_ai.input.messages": json.dumps(usual), "gen_ai.output.messages": json.dumps(outputs)}),
                 ("call", {"gen_ai.input.messages": json.dumps([*usual, call], ensure_ascii=False)}),
                 ("deep", {"gen_ai.input.messages": too_deep}),
             ])]
    events = {event["event_name"]: event for event in export(devserver, spans)}
    assert events["usual"]["inputs"]["chat_history"] == [{"role": "system", "content": "Be brief."},
                                                         {"role": "user", "content": "Sum \u00e9 \U0001f600"}]
    assert events["usual"]["outputs"] == {"role": "assistant", "content": "Done.", "finish_reason": "stop"}
    arguments = events["call"]["inputs"]["chat_history"][2]["tool_calls"][0]["function"]["arguments"]
    assert arguments == '{"a": "1180591620717411303424", "b": 1.5}'  # all digits kept
    assert "chat_history" not in events["deep"]["inputs"]  # kept as the attribute it was
    assert events["deep"]["metadata"]["attributes"]["gen_ai.input.messages"] == too_deep
