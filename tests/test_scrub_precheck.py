"""The scrubber's byte-level pre-check must never let through a body the full walk would change.

`Scrubber.encode` skips the value-by-value walk when the encoded body holds nothing any rule
could match. These tests build bodies from the fragments the rules look for (names, quotes,
separators, escapes, Unicode spaces, raw keys) and require `encode(v)` to equal the walked
result for every one of them: a pre-check that is too eager only costs time, one that is too
lax would leak a credential. The fragments include the letters Python reads as ASCII ones where
bytes do not (KELVIN SIGN, dotted/dotless i, long s) and the key names the anchors look behind for.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honeyhive_otel import jsonfast
from honeyhive_otel.secrets import Scrubber

API_KEY = "hh_live_0123456789abcdefghij"

FRAGMENTS = [
    "token", "Token", "TOKEN", "tokens", "key", "KEY", "api_key", "api-key", "x-api-key", "apikey", "secret", "password",
    "passwd", "authorization", "Authorization", "cookie", "cookies", "Set-Cookie", "credentials", "credential",
    "access_token", "private_key", "__proto__", "sk-", "sk_", "SK-", "hh_", "abcd", "ABCD1234", "0123456789abcdef",
    "bearer", "Bearer", "basic", "BASIC", "\u212aey", "\u017f", ":", "=", ": ", '"', "'", "\\", "\n", "\t", "\r\n",
    " ", "\u00a0", "\u2028", "\u3000", "\x0b", "\x1c", ".", "-", "_", "{", "}", "[", "]", ",", "hello world",
    "the answer", "é", "日本", API_KEY, API_KEY[:10],
    "private_key", "secret-key", "subscription_key", "api", "proxy-", "\u0131", "\u0130", "ba\u017fic", "bas\u0130c",
    "author\u0131zation", "\u017fecret", "coo\u212aie", "abcdefgh", "\x1f", "\x85", "\u2019",
]

text = st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join)
keys = st.one_of(text, st.sampled_from(["role", "content", "prompt_tokens", "user_api_key_hash", "token",
                                       "x-api-key", "Authorization", "__proto__", "llm.headers"]))
values = st.recursive(
    st.one_of(text, st.integers(-5, 5), st.none(), st.booleans()),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=20,
)


def walked(scrubber: Scrubber, value: Any) -> Any:
    return json.loads(jsonfast.dumps(scrubber.value(value)))


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_precheck_never_skips_a_body_the_walk_would_change(value: Any) -> None:
    scrubber = Scrubber([API_KEY])
    assert json.loads(scrubber.encode(value)) == walked(scrubber, value)


def test_known_shapes_are_caught() -> None:
    scrubber = Scrubber([API_KEY])
    cases = [
        {"headers": {"Authorization": "Bearer abcdefghijkl"}},
        {"metadata": {"user_api_key": "sk-1234567890"}},
        {"text": 'config: {"api_key": "xyz123"}'},
        {"text": "{'token': 'abc'}"},
        {"text": "GET /\nCookie: session=abc"},
        {"text": "call with sk-live-abcdef please"},
        {"text": f"the key is {API_KEY}"},
        {"x": {"__proto__": {"polluted": True}}},
        {"text": "auth: basic\u00a0dXNlcjpwYXNz"},
        {"api_\u212aey": "value"},
        {"x.private_key": "value", "Subscription-Key ": "value", "client_secret\t": "value"},
        # re's IGNORECASE reads ſ as s and ı/İ as i once a string holds a trigger word somewhere.
        {"text": "basically ba\u017fic abcdefghij"},
        {"text": "token\nauthor\u0131zation: abc"},
        {"text": "a basic rule: bas\u0130c\u00a0\x1c0123456789abcdef"},
    ]
    for case in cases:
        assert json.loads(scrubber.encode(case)) == walked(scrubber, case)
        assert json.loads(scrubber.encode(case)) != case, case


def test_a_clean_body_is_encoded_once_and_unchanged() -> None:
    scrubber = Scrubber([API_KEY])
    event = {"inputs": {"chat_history": [{"role": "user", "content": "How many tokens is this? The key point."}]},
             "metadata": {"prompt_tokens": 12, "user_api_key_hash": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05"}}
    assert scrubber.encode(event) == jsonfast.dumps(event)


def test_a_configured_key_of_any_shape_is_masked() -> None:
    """Keys the anchored patterns would not notice (no `hh_` prefix) are looked for verbatim."""
    for key in ("plain-secret-value", 'quo"ted\\secret'):
        scrubber = Scrubber([key])
        body = scrubber.encode({"inputs": {"note": f"the key is {key}."}, key: 1})
        assert key.encode() not in body and jsonfast.dumps(key)[1:-1] not in body
        assert json.loads(body) == walked(scrubber, {"inputs": {"note": f"the key is {key}."}, key: 1})
