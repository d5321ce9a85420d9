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
from honeyhive_otel.secrets import Scrubber, _may_hold_secret

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


# Words dense in the pre-check's anchor letters (k, w, c-r, b, _) that never form a credential:
# every one costs the byte-level check a near miss, as in long model output.
NEAR_MISSES = ("quickly", "tokens", "benchmarks", "about", "with", "answers", "monkey", "secretary", "passage",
               "cookbook", "bearing", "basically", "risky", "user_id", "keyboard", "broken", "credit", "hh")
FILLER = " ".join(NEAR_MISSES * 40)

# Credentials the walk masks, each in a shape that needs a different rule.
CREDENTIALS = [
    "\nAuthorization: secret-value",
    "{'api_key': 'xyz123'}",
    '{"password": "hunter2"}',
    " Bearer abcdefghijkl",
    " sk-live-abcdef",
    " hh_0123456789abcdefghij",
]


def _assert_caught(scrubber: Scrubber, value: Any) -> None:
    body = scrubber.encode(value)
    assert json.loads(body) == walked(scrubber, value)
    assert json.loads(body) != value, value


def test_a_credential_among_many_near_misses_is_caught() -> None:
    """Hundreds of anchor-letter hits before, after or around the credential: no pass gives up early."""
    scrubber = Scrubber([API_KEY])
    assert not _may_hold_secret(jsonfast.dumps({"inputs": {"content": FILLER}}), ())  # the filler alone is clean
    for credential in CREDENTIALS:
        for text in (FILLER + credential, credential.lstrip() + " " + FILLER, FILLER + credential + " " + FILLER):
            _assert_caught(scrubber, {"inputs": {"content": text}})
    _assert_caught(scrubber, {**{f"{word}_{i}": FILLER for i, word in enumerate(NEAR_MISSES)}, "z.access_token": "v"})


def test_a_credential_at_either_edge_of_the_body_is_caught() -> None:
    """The first and last bytes of a body (a bare string, a first or last key) are searched like the rest."""
    scrubber = Scrubber([API_KEY])
    for credential in CREDENTIALS:
        _assert_caught(scrubber, credential.lstrip())
        _assert_caught(scrubber, [credential.lstrip()])
        _assert_caught(scrubber, {"a": 1, "z": credential.lstrip()})
    _assert_caught(scrubber, {"token": 1, "a": FILLER})
    _assert_caught(scrubber, {"a": FILLER, "cookie": 1})
    _assert_caught(scrubber, {"__proto__": {"polluted": True}})


def test_gaps_between_a_name_and_its_separator_are_seen_through() -> None:
    """Whitespace the rules skip (\\s, Unicode spaces, which JSON writes escaped or as UTF-8) between a
    secret name, its quote and its separator."""
    scrubber = Scrubber([API_KEY])
    gaps = [" ", "\t", "\n", "\x0b", "\x1c", "\x85", "\u00a0", "\u2028", "\u3000", " \t\u00a0"]
    for gap in gaps:
        for name in ("token", "api_key", "Cookie", "PASSWORD", "client_secret", "credentials", "authorization"):
            _assert_caught(scrubber, {f"x.{name}{gap}": "value"})
            _assert_caught(scrubber, {"text": f"{FILLER} {{'{name}'{gap}:{gap}'value'}}"})
            _assert_caught(scrubber, {"text": f'{FILLER} {{"{name}"{gap}={gap}"value"}}'})
        for header in ("Cookie", "x-api-key", "Proxy-Authorization"):
            _assert_caught(scrubber, {"text": f"GET / HTTP/1.1\n{header}{gap}:{gap}a=b"})
        _assert_caught(scrubber, {"text": f"{FILLER} basic{gap}dXNlcjpwYXNzd29yZA=="})
