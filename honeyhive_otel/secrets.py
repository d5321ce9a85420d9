"""The last line of defence against exporting a credential: scrub every body right before it leaves.

Conventions already leave the secret fields they know out (LiteLLM's request headers, for
example); this pass runs on every event and session body, whatever produced it, because
instrumentations and users put headers and keys in attributes we never mapped
(`http.request.header.authorization`, `llm.headers`, a repr of LiteLLM's `requester_metadata`):

- a mapping key that names a credential is removed. The key's last dotted segment is compared
  lowercase with '_' read as '-': exactly `token`, or ending in `authorization`, `cookie`,
  `api-key`, `password`, `secret`, `access-token`, ... Token *counts* stay
  (`gen_ai.usage.input_tokens`, `prompt_tokens`, `max_tokens` end in "tokens").
- in every string: the configured API key, `sk-...` keys (OpenAI, LiteLLM virtual keys),
  `hh_...` keys, `Bearer ...`/`Basic ...` credentials, the value of a quoted
  `"authorization": "..."`-like pair inside JSON or Python-repr text, and header lines such as
  `Cookie: ...` become "[redacted]".

`Scrubber.encode` gives the scrubbed JSON of a whole body. Most bodies hold nothing
credential-like, so it encodes first and looks for anything any rule above could match in the
encoded bytes (a few prefix-anchored patterns, in C); only a body where something could match
is walked value by value. The byte-level test errs towards walking: text such as
`"api_key": ` in a message costs a walk, never a leak.

(Nesting deeper than `MAX_DEPTH` is cut only on a walk; the mapping already bounds values at
64 levels.)

Also: a `__proto__` key is renamed `[__proto__]` (a JavaScript consumer merging objects naively
would otherwise have its prototype replaced). Bounded: nesting deeper than `MAX_DEPTH` is
replaced by a marker rather than walked, a string with more than `MAX_MATCHES` credential-like
matches is replaced whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from . import jsonfast

REDACTED = "[redacted]"
TOO_MANY = "[redacted: too many credential-like values]"
PROTO_RENAMED = "[__proto__]"
MAX_DEPTH = 100
MAX_MATCHES = 1_000  # per pattern and string: beyond it the whole string is replaced (bounded time)

_SECRET_SUFFIXES = (
    "authorization", "cookie", "cookies", "api-key", "apikey", "password", "passwd", "secret", "access-token",
    "refresh-token", "id-token", "auth-token", "session-token", "bearer-token", "private-key", "secret-key",
    "credentials", "subscription-key",
)
_SECRET_NAMES = "authorization|cookie|set-cookie|api[_-]?key|apikey|password|passwd|secret|token|credentials"

# Cheap triggers decide which patterns need to run: substring tests on the lowercased text.
_NAME_TRIGGERS = ("authoriz", "cookie", "key", "passw", "secret", "token", "credential")
_MIN_SECRET = 7  # "sk-abcd": nothing shorter can match a pattern
_KEY_CACHE_SIZE = 10_000
_SCALARS = frozenset({int, float, bool, type(None)})
# HoneyHive keys are `hh_` + 16 or more characters (`hh_ingst_<24>_<64>` for ingestion keys); a
# looser `hh-` rule masked harmless names such as a LiteLLM key alias "hh-test-key".
_RAW_KEY = re.compile(r"(?<![A-Za-z0-9_\-])(?:(?:sk|SK)[-_][A-Za-z0-9_\-]{4,}|(?:hh|HH)_[A-Za-z0-9_\-]{16,})")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]{6,}")
# "authorization": "...", 'api_key': '...', "x-api-key"="...": the quoted value of a secret-named key.
_QUOTED_PAIR = re.compile(
    r"""(?i)(["'])([A-Za-z0-9_.\-]*(?:""" + _SECRET_NAMES + r"""))\1(\s*[:=]\s*)(["'])((?:\\.|(?!\4)[^\\])*)\4""")
# Header text: "Cookie: a=b" on its own line.
_HEADER_LINE = re.compile(
    r"(?im)^(\s*(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|api-key)\s*:\s*)(\S.*)$")


_QUOTED_TRIGGER = re.compile(r"""(?:authorization|cookie|api[_-]?key|apikey|password|passwd|secret|token|credentials)["']\s*[:=]""")


def _triggered(lowered: str) -> bool:
    """Any trigger in the lowercased text: an `or` chain of substring tests (no generator frames)."""
    return ("key" in lowered or "token" in lowered or "secret" in lowered or "authoriz" in lowered
            or "cookie" in lowered or "passw" in lowered or "credential" in lowered or "bearer" in lowered
            or "basic" in lowered or "sk-" in lowered or "sk_" in lowered or "hh_" in lowered)


# ----- the byte-level pre-check of an encoded body --------------------------------------------
# Every rule above needs one of a few words in the text. The pre-check finds them in the
# lowercased encoded body with one pattern per *anchor*: a fairly rare letter of the word that
# the pattern starts with (the regex engine scans for a leading literal in a tight loop; a
# pattern starting with a choice tries every byte), checked around it with look-behinds. Each
# pattern is a scan of the whole body, so there are few: the anchors are shared between words.
# Measured (CPython 3.11, a 3.2 KB body of English text): a pass costs ~1.1 µs plus ~10-30 ns per
# anchor letter it meets. Substring tests are not cheaper: only a one-byte `in` is a memchr (hence
# the `z` gate below); for longer needles CPython runs a Horspool loop whose skip English text
# keeps defeating, ~1.3-2.9 µs per word. Anchoring on the separator instead needs look-behinds,
# ~15 ns each per `:` of the JSON.
# `_GAP` is anything that can stand between a name and its separator once encoded: whitespace,
# an escape (`\n`, `\u00a0`) or a non-ASCII character (`str.strip` and `\s` know Unicode spaces).
_GAP = rb"(?:\s|\\[a-z]|\\u[0-9a-f]{4}|[\x80-\xff])*"
# A separator after a secret-like name: a mapping key (`"x-api-key":`), a quoted pair inside a
# string (`\"api_key\": \"`, `'token': '`), a header line (`Cookie: `).
# The lookahead fails fast where most near misses fail ("tokens").
_SEP_START = rb"(?=[\s\\\"':=\x80-\xff])"
_SEP = _SEP_START + _GAP + rb"(?:\\?[\"'])?" + _GAP + rb"[:=]"
_WHITESPACE = rb"(?:\s|\\[a-z]|\\u[0-9a-f]{4}|[\x80-\xff])"
_ANCHORED = tuple(re.compile(pattern) for pattern in (
    # token (access-token...), api-key (apikey, private-key, secret-key, subscription-key), cookie(s), sk-
    rb"k(?:e(?:n" + _SEP_START + rb"(?<=token)|y" + _SEP_START + rb"(?:(?<=apikey)|(?<=api[-_]key)"
    rb"|(?<=private[-_]key)|(?<=secret[-_]key)|(?<=subscription[-_]key)))" + _SEP
    + rb"|i(?<=cooki)es?" + _SEP + rb"|[-_](?<=sk[-_])[a-z0-9_\-]{4})",
    rb"w(?:ord(?<=password)|d(?<=passwd))" + _SEP,
    rb"cr(?:et(?<=secret)|edentials)" + _SEP,
    rb"b(?:earer|asic)" + _WHITESPACE,
    rb'_(?:(?<=hh_)[a-z0-9_\-]{16}|_proto__":)',
))
# "authorization": a "z" is rare enough in text that a memchr decides whether to look at all.
_AUTHORIZATION = re.compile(rb"zation(?<=authorization)" + _SEP)
# Letters that Python reads as ASCII ones where `bytes.lower` does not: the KELVIN SIGN
# lowercases to "k" (`str.lower`, so a key can name a credential with it); re's IGNORECASE
# matches "\u0130" and "\u0131" with "i" and "\u017f" with "s" (so the rules' patterns can match
# them in a string that holds a trigger word elsewhere). Found through a rare UTF-8 byte first.
_KELVIN = "\u212a".encode()
_FOLDED = (b"\xc4", ("\u0130".encode(), "\u0131".encode())), (b"\xc5", ("\u017f".encode(),))


def _may_hold_secret(body: bytes, known: tuple[bytes, ...]) -> bool:
    """False only when no scrubbing rule could change anything in the encoded `body`."""
    for secret in known:
        if secret in body:
            return True
    lowered = body.lower()
    if not body.isascii() and _folds_to_ascii(body, lowered):
        return True
    for pattern in _ANCHORED:
        if pattern.search(lowered):
            return True
    return b"z" in lowered and _AUTHORIZATION.search(lowered) is not None


def _folds_to_ascii(body: bytes, lowered: bytes) -> bool:
    """True when a letter Python reads as ASCII could matter in `body` (the rare non-ASCII case)."""
    if b"\xaa" in body and _KELVIN in body:
        return True
    for lead, letters in _FOLDED:
        if lead in body and any(letter in body for letter in letters):
            # Only a string that also holds a trigger word is matched against those patterns.
            return _triggered(lowered.decode("latin-1"))
    return False


def _covered(form: bytes) -> bool:
    """True when a body holding `form` always makes an anchored pattern match (a HoneyHive key does)."""
    lowered = form.lower()
    return any(pattern.search(lowered) for pattern in _ANCHORED)


class _TooMany(Exception):
    pass


def _sub(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], value: str) -> str:
    result, count = pattern.subn(replace, value, count=MAX_MATCHES)
    if count >= MAX_MATCHES:
        raise _TooMany
    return result


def _safe_key(key: str) -> str:
    """`__proto__` as a JSON key can pollute prototypes in a JavaScript consumer that merges naively."""
    return PROTO_RENAMED if key == "__proto__" else key


def is_secret_key(key: Any) -> bool:
    """True for a mapping key whose value is a credential (not for token counts)."""
    if not isinstance(key, str):
        return False
    segment = key.rsplit(".", 1)[-1].strip().lower().replace("_", "-")
    return segment == "token" or segment.endswith(_SECRET_SUFFIXES)


class Scrubber:
    """Removes secret keys and masks secret values; knows the configured API key(s) verbatim."""

    def __init__(self, known_secrets: Iterable[str | None] = ()) -> None:
        self.known = tuple(s for s in known_secrets if isinstance(s, str) and len(s) >= 8)
        # How each known secret can appear in an encoded body: verbatim, or JSON-escaped; the
        # pre-check looks for those its patterns would not catch anyway.
        forms = dict.fromkeys(form for secret in self.known
                              for form in (secret.encode("utf-8", "replace"), jsonfast.dumps(secret)[1:-1]))
        self._known_encoded = tuple(form for form in forms if not _covered(form))
        self._keys: dict[str, str | None] = {}  # mapping key -> key to write (None: drop); keys repeat a lot

    def text(self, value: str) -> str:
        """`value` with every credential it contains replaced by "[redacted]"."""
        if len(value) < _MIN_SECRET:
            return value
        for secret in self.known:
            if secret in value:
                value = value.replace(secret, REDACTED)
        lowered = value.lower()  # substring tests on lowered text: far cheaper than a (?i) regex scan
        if not _triggered(lowered):
            return value
        try:
            if any(name in lowered for name in _NAME_TRIGGERS):
                if ("'" in value or '"' in value) and _QUOTED_TRIGGER.search(lowered):
                    value = _sub(_QUOTED_PAIR, lambda m: f"{m[1]}{m[2]}{m[1]}{m[3]}{m[4]}{REDACTED}{m[4]}", value)
                if ":" in value:
                    value = _sub(_HEADER_LINE, lambda m: m[1] + REDACTED, value)
            if "bearer" in lowered or "basic" in lowered:
                value = _sub(_AUTH_SCHEME, lambda m: f"{m[1]}{m[2]}{REDACTED}", value)
            if "sk" in lowered or "hh" in lowered:
                value = _sub(_RAW_KEY, lambda m: REDACTED, value)
        except _TooMany:
            return TOO_MANY
        return value

    def encode(self, value: Any) -> bytes:
        """The scrubbed `value` as compact JSON (`jsonfast.dumps`), walking it only when needed.

        Raises TypeError/ValueError like `jsonfast.dumps` for a value that is not JSON-safe.
        """
        body = jsonfast.dumps(value)
        if not _may_hold_secret(body, self._known_encoded):
            return body
        return jsonfast.dumps(self.value(value))

    def value(self, value: Any, depth: int = 0) -> Any:
        """A scrubbed copy of a JSON-like value (dicts, lists, strings, scalars)."""
        kind = type(value)
        if kind in _SCALARS:
            return value
        if kind is str or isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                return "[max depth]"
            result = {}
            for key, item in value.items():
                if isinstance(key, str):
                    key = self._key(key)
                    if key is None:
                        continue
                result[key] = item if type(item) in _SCALARS else self.value(item, depth + 1)
            return result
        if isinstance(value, (list, tuple)):
            if depth >= MAX_DEPTH:
                return "[max depth]"
            return [item if type(item) in _SCALARS else self.value(item, depth + 1) for item in value]
        return value

    def _key(self, key: str) -> str | None:
        """The key to write for `key`, or None when its value is a credential (cached: keys repeat)."""
        cached = self._keys.get(key, "")
        if cached != "":
            return cached
        result = None if is_secret_key(key) else _safe_key(self.text(key))
        if len(self._keys) >= _KEY_CACHE_SIZE:
            self._keys.clear()
        self._keys[key] = result
        return result
