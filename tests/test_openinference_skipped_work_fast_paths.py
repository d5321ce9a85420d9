"""OpenInference spans map with less work, to exactly what the old code made.

Each change is checked against a copy of the code it replaced (the `old_*` functions below):
- `_context` asks only for the keys the span has, and decodes a `metadata` text JSON-ready in one
  pass (`values.parse_structured_jsonable`) instead of decoding it and then walking it;
- `_messages` makes no list of messages for a slot GenAI filled already: it only needs to know whether
  there are messages and whether a text was redacted, so `_message_list` stops at the first message
  when no attribute under the prefix holds the redaction marker (and no output is built for a filled
  `output`);
- `_io_values` reads the `input.value` of an LLM span whose messages were rebuilt by its shape only
  (`_request_shape`: orjson's value, without the scan for integers beyond 64 bits), and decodes it
  again exactly when the request may fill the history and holds a float;
- `_identity` reads each model name once; `_may_fill` is a loop.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from honeyhive_otel.mapping import messages as msg
from honeyhive_otel.mapping import openinference as oi
from honeyhive_otel.mapping.attributes import SpanAttributes
from honeyhive_otel.mapping.draft import Draft
from honeyhive_otel.mapping.mapper import SpanMapper
from honeyhive_otel.mapping.values import as_list, is_blank, parse_structured, to_jsonable

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----- the old code ------------------------------------------------------------------------------
def old_context(attrs: SpanAttributes, draft: Draft) -> None:
    user = attrs.get("user.id", field="user_properties.user_id")
    if not is_blank(user):
        draft.user_properties.setdefault("user_id", str(user))
    raw = attrs.peek("metadata")
    if raw is not None:
        parsed = parse_structured(raw) if isinstance(raw, str) else raw
        if isinstance(parsed, dict):
            attrs.consume("metadata")
            attrs.note("metadata", "metadata")
            oi._merge_metadata(to_jsonable(parsed), draft)
    tags = attrs.peek("tag.tags")
    if tags is not None:
        listed = as_list(tags)
        if listed is not None:
            attrs.consume("tag.tags")
            draft.metadata.setdefault("tags", [str(tag) for tag in listed if not is_blank(tag)])
    agent = attrs.get("agent.name")
    if not is_blank(agent):
        draft.metadata.setdefault("agent_name", str(agent))
    node = {name: attrs.get(key) for name, key in oi.GRAPH_NODE_KEYS}
    node = {name: value for name, value in node.items() if not is_blank(value)}
    if node:
        draft.metadata.setdefault("graph_node", to_jsonable(node))


def old_messages(attrs: SpanAttributes, draft: Draft, state: Any, present: Any) -> None:
    """`_messages` before: every list made in full (`_message_list` wanting the messages)."""
    history = oi._message_list(attrs, "llm.input_messages", state, "user")
    if history:
        draft.set_default("chat_history", history)
        state.history_from_messages = True
        attrs.note("inputs.chat_history", "llm.input_messages.N.message.*")
    finish_reasons = None
    if oi.FINISH_REASON in present:
        finish = state.text(attrs.get(oi.FINISH_REASON, field="outputs.finish_reason"))
        finish_reasons = [str(finish)] if not is_blank(finish) else None
    if finish_reasons:
        draft.metadata.setdefault("finish_reasons", finish_reasons)
    outputs = oi._message_list(attrs, "llm.output_messages", state, "assistant")
    if outputs:
        draft.set_default("output", msg.output_from_messages(outputs, finish_reasons))
        state.output_from_messages = True
        attrs.note("outputs", "llm.output_messages.N.message.*")
    oi._prompts_and_choices(attrs, draft, state, finish_reasons)


def old_identity(attrs: SpanAttributes, draft: Draft) -> None:
    present = attrs.present(oi.IDENTITY_KEYS)
    attrs.consumed.update(present)
    raw = attrs.raw
    requested = raw.get("llm.request.model_name")
    named = raw.get("llm.model_name")
    response = raw.get("llm.response.model_name")
    other = raw.get("embedding.model_name")
    if is_blank(other):
        other = raw.get("reranker.model_name")
    model = next((value for value in (requested, named, other, response) if not is_blank(value)), None)
    if model is not None:
        draft.config.setdefault("model", str(model))
    if is_blank(response) and not is_blank(requested) and not is_blank(named) and named != requested:
        response = named
    if not is_blank(response):
        draft.metadata.setdefault("response_model", str(response))
    provider = raw.get("llm.provider")
    if is_blank(provider):
        provider = raw.get("llm.system")
    provider = oi.normalize_oi_provider(provider)
    if provider:
        draft.config.setdefault("provider", provider)
    if attrs.debug:
        for field, keys in oi._IDENTITY_SOURCES:
            source = next((key for key in keys if key in present and not is_blank(raw[key])), None)
            if source is not None:
                attrs.note(field, source)


def old_may_fill(messages: list[Any]) -> bool:
    return any(isinstance(m, dict) and not m.keys().isdisjoint(oi._FILL_SOURCE_KEYS) for m in messages)


def draft_state(draft: Draft) -> str:
    return repr((draft.chat_history, draft.output, draft.prompt, draft.config, draft.metadata, draft.user_properties))


# ----- context -------------------------------------------------------------------------------------
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=5))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)), max_leaves=8)
RESERVED = st.sampled_from(["cost", "tags", "response_model", "graph_node", "route"])


@st.composite
def metadata_values(draw: Any) -> Any:
    value = draw(st.one_of(JSON_VALUES, st.dictionaries(st.one_of(RESERVED, st.text(max_size=3)), JSON_VALUES,
                                                        max_size=3)))
    form = draw(st.integers(0, 6))
    if form == 0:
        return repr(value)  # a Python repr (LiteLLM-style)
    if form == 1:
        return json.dumps(json.dumps(value))  # double-encoded
    if form == 2:
        return draw(st.sampled_from(["", "  ", "{", "{'a': (1, 2)}", '{"a": NaN}', '{"a": 1e400}',
                                     '{"k' + "x" * 1200 + '": 1}', '{"a": 18446744073709551616}', 3, ("a", "b")]))
    return json.dumps(value, allow_nan=True)


CONTEXT_VALUES = st.one_of(st.none(), st.text(max_size=4), st.sampled_from(["", "  ", "agent", "n1"]), st.integers(),
                           st.tuples(st.text(max_size=3)), st.floats())


@st.composite
def context_attributes(draw: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(sorted(oi.CONTEXT_KEYS)), unique=True)):
        if key == "metadata":
            value = draw(metadata_values())
        elif key == "tag.tags":
            value = draw(st.one_of(st.tuples(st.text(max_size=3), st.just(" ")), st.just('["a", ""]'), CONTEXT_VALUES))
        else:
            value = draw(CONTEXT_VALUES)
        if value is not None:
            attributes[key] = value
    if draw(st.booleans()):
        attributes["other"] = "x"
    return attributes


@SETTINGS
@given(attributes=context_attributes(), taken=st.dictionaries(RESERVED, st.text(max_size=2), max_size=2),
       debug=st.booleans())
def test_context_is_what_the_old_read_made(attributes: dict[str, Any], taken: dict[str, Any], debug: bool) -> None:
    old_attrs, old_draft = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    attrs, draft = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    old_draft.metadata.update(taken)
    draft.metadata.update(taken)
    old_context(old_attrs, old_draft)
    oi._context(attrs, draft, attrs.present(oi.READ_KEYS))
    assert draft_state(draft) == draft_state(old_draft)
    assert json.dumps(draft.metadata, sort_keys=True, default=repr) == json.dumps(
        old_draft.metadata, sort_keys=True, default=repr)
    assert attrs.consumed == old_attrs.consumed
    assert attrs.sources == old_attrs.sources


def test_metadata_decoded_in_one_pass_keeps_the_walks_reading() -> None:
    """Integers beyond 2**63 and keys over 1000 characters are written as the walk wrote them."""
    for text in ('{"big": 18446744073709551616, "n": [1, 2.5]}', '{"k' + "x" * 1200 + '": 1}', "{'a': (1, 2)}"):
        old_draft, draft = Draft("model", "x"), Draft("model", "x")
        old_context(SpanAttributes({"metadata": text}), old_draft)
        attrs = SpanAttributes({"metadata": text})
        oi._context(attrs, draft, attrs.present(oi.READ_KEYS))
        assert repr(draft.metadata) == repr(old_draft.metadata)


# ----- messages for a slot GenAI filled ----------------------------------------------------------------
INDICES = st.sampled_from(["0", "1", "2", "10", "x"])
FIELDS = st.sampled_from([
    "message.role", "message.content", "message.tool_calls.0.tool_call.id", "message.tool_calls.0.tool_call.function.name",
    "message.tool_calls.0.tool_call.function.arguments", "message.tool_call_id", "message.name",
    "message.contents.0.message_content.type", "message.contents.0.message_content.text",
    "message.contents.1.message_content.image.image.url", "message.function_call_name",
    "message.function_call_arguments_json", "other",
])
VALUES = st.one_of(st.text(max_size=6), st.integers(-3, 2**65), st.booleans(), st.tuples(st.text(max_size=3)),
                   st.sampled_from(["user", "assistant", "tool", "text", "image", "__REDACTED__", " __REDACTED__\n",
                                    "x__REDACTED__", '{"city": "Paris"}', "[1]", "", " "]))
FILLED = st.sampled_from([None, [], {}, [{"role": "user", "content": "genai"}], {"role": "assistant", "content": "o"}])


@st.composite
def flattened(draw: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for prefix in ("llm.input_messages", "llm.output_messages"):
        for index in range(draw(st.integers(0, 3))):  # role/content messages, as most are
            attributes[f"{prefix}.{index}.message.role"] = draw(st.sampled_from(["user", "assistant", ""]))
            attributes[f"{prefix}.{index}.message.content"] = draw(VALUES)
    for _ in range(draw(st.integers(0, 6))):
        prefix = draw(st.sampled_from(["llm.input_messages", "llm.output_messages"]))
        attributes[f"{prefix}.{draw(INDICES)}.{draw(FIELDS)}"] = draw(VALUES)
    if draw(st.integers(0, 5)) == 0:
        attributes["llm.input_messages"] = json.dumps([{"role": "user", "content": "whole"}])
    if draw(st.integers(0, 5)) == 0:
        attributes["llm.output_messages"] = draw(st.sampled_from(["[]", '[{"role": "assistant", "content": "w"}]']))
    if draw(st.booleans()):
        attributes[oi.FINISH_REASON] = draw(st.sampled_from(["stop", "__REDACTED__", ""]))
    if draw(st.integers(0, 5)) == 0:
        attributes["llm.choices.0.completion.text"] = draw(VALUES)
    return attributes


@SETTINGS
@given(attributes=flattened(), history=FILLED, output=FILLED, debug=st.booleans())
def test_messages_for_filled_slots_are_what_the_old_read_made(attributes: dict[str, Any], history: Any, output: Any,
                                                               debug: bool) -> None:
    runs = []
    for messages in (old_messages, oi._messages):
        attrs, draft, state = SpanAttributes(attributes, debug=debug), Draft("model", "x"), oi._State("LLM")
        draft.chat_history, draft.output = history, output
        messages(attrs, draft, state, attrs.present(oi.READ_KEYS))
        runs.append((draft_state(draft), attrs.consumed, attrs.sources, state.redacted, state.history_from_messages,
                     state.output_from_messages))
    assert runs[0] == runs[1]


def test_a_redacted_text_after_the_first_message_is_still_seen() -> None:
    """GenAI's history is kept, and OpenInference's later redacted message still marks the event."""
    attributes = {"llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "hi",
                  "llm.input_messages.1.message.role": "assistant",
                  "llm.input_messages.1.message.content": "__REDACTED__"}
    attrs, draft, state = SpanAttributes(attributes), Draft("model", "x"), oi._State("LLM")
    draft.chat_history = [{"role": "user", "content": "genai"}]
    oi._messages(attrs, draft, state, attrs.present(oi.READ_KEYS))
    assert state.redacted and state.history_from_messages
    assert draft.chat_history == [{"role": "user", "content": "genai"}]
    assert attrs.consumed == set(attributes)


def test_a_span_with_both_conventions_maps_genai_history_and_openinference_redaction() -> None:
    """End to end through a real span: the GenAI history wins, every message attribute is consumed."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    genai = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "from genai"}]}])
    with provider.get_tracer("openinference.instrumentation.openai").start_as_current_span("chat") as span:
        span.set_attributes({"openinference.span.kind": "LLM", "gen_ai.operation.name": "chat",
                             "gen_ai.input.messages": genai, "llm.model_name": "gpt-4o-mini",
                             "llm.input_messages.0.message.role": "user",
                             "llm.input_messages.0.message.content": "from openinference",
                             "llm.input_messages.1.message.role": "assistant",
                             "llm.input_messages.1.message.content": "__REDACTED__",
                             "llm.output_messages.0.message.role": "assistant",
                             "llm.output_messages.0.message.content": "answer"})
    provider.shutdown()
    event = SpanMapper().map(exporter.get_finished_spans()[0])
    request = event.to_request()
    assert request["inputs"]["chat_history"] == [{"role": "user", "content": "from genai"}]
    assert request["metadata"]["redacted_content"] is True
    assert not any(key.startswith("llm.") for key in request["metadata"].get("attributes", {}))


# ----- identity and _may_fill ----------------------------------------------------------------------------
NAMES = st.one_of(st.none(), st.sampled_from(["", " ", "gpt-4o", "gpt-4o-2024", "openai/gpt-4o", "OpenAI", "aws"]),
                  st.integers(0, 2), st.booleans(), st.tuples(st.text(max_size=2)))


@SETTINGS
@given(values=st.fixed_dictionaries({}, optional={key: NAMES for key in sorted(oi.IDENTITY_KEYS)}),
       debug=st.booleans())
def test_identity_is_what_the_old_read_made(values: dict[str, Any], debug: bool) -> None:
    attributes = {key: value for key, value in values.items() if value is not None}
    old_attrs, old_draft = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    attrs, draft = SpanAttributes(attributes, debug=debug), Draft("model", "x")
    old_identity(old_attrs, old_draft)
    oi._identity(attrs, draft)
    assert draft_state(draft) == draft_state(old_draft)
    assert (attrs.consumed, attrs.sources) == (old_attrs.consumed, old_attrs.sources)


MESSAGE_KEYS = st.sampled_from(["role", "content", "tool_call_id", "name", "tool_calls", "id", "parts", "other"])


@SETTINGS
@given(messages=st.lists(st.one_of(st.dictionaries(MESSAGE_KEYS, st.none(), max_size=4), st.text(max_size=2),
                                   st.none()), max_size=4))
def test_may_fill_is_the_old_test(messages: list[Any]) -> None:
    assert oi._may_fill(messages) == old_may_fill(messages)


def test_request_parameters_with_non_text_names_keep_their_names() -> None:
    draft = Draft("model", "x")
    oi._apply_params({1: "a", "temperature": 0.5, None: 2}, draft, oi._State("LLM"))
    assert draft.config == {"1": "a", "temperature": 0.5, "None": 2, "is_streaming": False}


# ----- input.value of an LLM span whose messages were rebuilt --------------------------------------------
def request_texts(draw: Any) -> str:
    """A request body (or bare message list) as instrumentors write it, numbers and near misses included."""
    arguments = draw(st.one_of(st.text(max_size=4), st.dictionaries(st.text(max_size=2), st.one_of(
        st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from([2**64, 10**19, 1e19, 9.3e18])), max_size=2)))
    history = [{"role": "user", "content": draw(st.text(max_size=4))}]
    if draw(st.booleans()):
        call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}
        history.append({"role": "assistant", "content": None, "tool_calls": [call]})
        history.append({"role": "tool", "tool_call_id": "c1", "content": draw(st.text(max_size=3))})
    if draw(st.booleans()):
        history.append({"role": "user", "name": draw(st.text(max_size=2)), "content": draw(st.integers())})
    body: Any = {"messages": history, "model": "m", "seed": draw(st.integers(-(2**70), 2**70))}
    if draw(st.integers(0, 3)) == 0:
        body = history
    text = json.dumps(body)
    form = draw(st.integers(0, 9))
    if form == 0:
        return json.dumps(text)  # double-encoded
    if form == 1:
        return " " + text
    if form == 2:
        return text + "\n"
    if form == 3:
        return draw(st.sampled_from(['{"a": NaN}', '{"messages": [{"role": "user", "content": 1e400}]}', "{'a': 1}",
                                     "[" * 65 + "]" * 65, '{"messages": ' + "[" * 64 + "]" * 64 + "}", "[]", "{}",
                                     '{"messages": [{"role": "user", "content": "\\ud800"}]}', "hi", "[1, 2]",
                                     '{"messages": "x"}']))
    return text


@SETTINGS
@given(data=st.data(), mime=st.sampled_from([None, "application/json", "text/plain", "JSON", 3]),
       contents=st.lists(st.sampled_from(["hi", "", "{}", "x"]), min_size=1, max_size=3), genai=st.booleans())
def test_llm_input_value_is_read_as_the_exact_decoding_read_it(data: Any, mime: Any, contents: list[str],
                                                               genai: bool) -> None:
    """`_io_values` reads a rebuilt span's `input.value` by its shape only: the event is what the exact
    decoding (`decode_value`) made of it."""
    text = data.draw(st.composite(request_texts)())
    attributes: dict[str, Any] = {"input.value": text}
    if mime is not None:
        attributes["input.mime_type"] = mime
    for index, content in enumerate(contents):
        attributes[f"llm.input_messages.{index}.message.role"] = ("user", "assistant", "tool")[index % 3]
        attributes[f"llm.input_messages.{index}.message.content"] = content
    runs = []
    for exact in (True, False):
        attrs, draft, state = SpanAttributes(attributes), Draft("model", "x"), oi._State("LLM")
        if genai:
            draft.chat_history = [{"role": "user", "content": "genai"}]
        oi._messages(attrs, draft, state, attrs.present(oi.READ_KEYS))
        if exact:
            incoming = oi.decode_value(text, attrs.peek("input.mime_type"))
            oi._llm_values(attrs, draft, state, incoming, oi._ABSENT)
        else:
            oi._io_values(attrs, draft, state)
        runs.append((draft_state(draft), repr(draft.input_value), attrs.consumed, attrs.sources))
    assert runs[0] == runs[1]


@SETTINGS
@given(data=st.data(), mime=st.sampled_from([None, "application/json", "text/plain"]))
def test_request_shape_is_the_exact_decoding_but_for_numbers(data: Any, mime: Any) -> None:
    text = data.draw(st.composite(request_texts)())
    shape, exact = oi._request_shape(text, mime), oi.decode_value(text, mime)
    assert type(shape) is type(exact)
    assert oi._request_message_list(shape) is None or oi._request_message_list(exact) is not None
    if oi.decoded_as_json(shape):  # no float: orjson read no integer beyond 64 bits
        assert repr(shape) == repr(exact)


def test_a_request_that_fills_the_history_is_read_exactly() -> None:
    """A tool call's arguments holding an integer beyond 64 bits reach the history as `json` reads them
    (and `to_jsonable` writes them: as text), not as orjson's float."""
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"n": 2**70}}}
    request = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None,
                                                                 "tool_calls": [call]}]}
    attributes = {"input.value": json.dumps(request), "input.mime_type": "application/json",
                  "llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "hi",
                  "llm.input_messages.1.message.role": "assistant", "llm.input_messages.1.message.content": "ok"}
    attrs, draft, state = SpanAttributes(attributes), Draft("model", "x"), oi._State("LLM")
    oi._messages(attrs, draft, state, attrs.present(oi.READ_KEYS))
    oi._io_values(attrs, draft, state)
    assert draft.chat_history[1]["tool_calls"][0]["function"]["arguments"] == json.dumps({"n": str(2**70)})
    assert "input.value" in attrs.consumed


def old_io_values(attrs: SpanAttributes, draft: Draft, state: Any) -> None:
    """`_io_values` before: both values decoded exactly (`decode_value`), then one reading per kind."""
    def read(key: str, mime_key: str) -> Any:
        if not attrs.has(key):
            return oi._ABSENT
        raw = attrs.peek(key)
        if state.text(raw) is None or is_blank(raw):
            attrs.consume(key, mime_key)
            return oi._ABSENT
        return oi.decode_value(raw, attrs.peek(mime_key))
    incoming, outgoing = read("input.value", "input.mime_type"), read("output.value", "output.mime_type")
    if state.kind == "EMBEDDING":
        oi._embedding_values(attrs, draft, state, incoming, outgoing)
    elif state.kind in ("TOOL", "RETRIEVER", "RERANKER") or (state.kind != "LLM" and draft.event_type == "tool"):
        oi._tool_values(attrs, draft, state, incoming, outgoing)
    elif state.kind == "LLM" or draft.event_type == "model":
        oi._llm_values(attrs, draft, state, incoming, outgoing)
    else:
        oi._chain_values(attrs, draft, incoming, outgoing)


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["LLM", "CHAIN", "TOOL", "EMBEDDING", "RETRIEVER", "AGENT", ""]),
       event_type=st.sampled_from(["model", "tool", "chain"]), rebuilt=st.booleans(),
       output=st.sampled_from([None, "hi", '{"choices": [{"message": {"role": "assistant", "content": "hi"}}]}',
                               "__REDACTED__", " "]))
def test_io_values_of_every_kind_are_what_the_old_read_made(data: Any, kind: str, event_type: str, rebuilt: bool,
                                                            output: Any) -> None:
    attributes: dict[str, Any] = {"input.value": data.draw(st.composite(request_texts)())}
    if output is not None:
        attributes["output.value"] = output
    if rebuilt:
        attributes.update({"llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "hi"})
    runs = []
    for io_values in (old_io_values, oi._io_values):
        attrs, draft, state = SpanAttributes(attributes), Draft(event_type, "x"), oi._State(kind)
        oi._messages(attrs, draft, state, attrs.present(oi.READ_KEYS))
        io_values(attrs, draft, state)
        runs.append((draft_state(draft), repr((draft.input_value, draft.output_value, draft.tool_arguments,
                                               draft.tool_result, draft.query, draft.embedding_input)),
                     attrs.consumed, state.redacted))
    assert runs[0] == runs[1]
