"""JSON through `orjson` when it is installed, the standard library otherwise.

Encoding events is a large share of the exporter's CPU; orjson does it several times
faster. The bytes differ only in layout: whatever orjson refuses (integers beyond 64 bits,
non-string keys, lone surrogates, other types) is handed to `json`, which decides exactly
as it did without orjson. Non-finite floats never get here: the mapping writes them as
"NaN"/"Infinity" strings (orjson would write null, `json` would raise).
"""

from __future__ import annotations

import json
from typing import Any

try:  # an optional speed-up: a required dependency on CPython, absent elsewhere
    import orjson
except ImportError:  # tests/test_jsonfast.py runs the exporter both ways
    orjson = None  # type: ignore[assignment]

ENGINE = "orjson" if orjson is not None else "json"
_DECODER = json.JSONDecoder()


def loads(text: str | bytes) -> Any:
    """`json.loads`. Not orjson's: it reads integers beyond 64 bits as floats (digits lost), and
    ruling those out costs more than orjson saves on message-sized documents.

    A document with no surrounding whitespace (what the mapping passes: it strips) skips
    `json.loads`'s two whitespace scans; anything else gets `json.loads` itself.
    """
    if isinstance(text, str):
        try:
            value, end = _DECODER.raw_decode(text)
        except ValueError:
            return json.loads(text)  # leading whitespace, or invalid: json's verdict and message
        if end == len(text):
            return value
    return json.loads(text)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of a JSON-safe value; raises TypeError (or ValueError) when the
    value is not JSON-safe, so the exporter bounds the event and tries again.

    A lone surrogate (half a UTF-16 pair: "\\udcff", e.g. from bytes decoded with
    `surrogateescape`) cannot be UTF-8: it becomes "?" rather than costing the whole event.
    """
    if orjson is not None:
        try:
            return orjson.dumps(value)
        except TypeError:
            pass  # non-string keys, integers beyond 64 bits, lone surrogates, other types
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8", "replace")
