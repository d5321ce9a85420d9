"""Decode attribute values once, and make any value safe to send as JSON.

Instrumentors put structured data into string attributes in three ways: JSON, JSON inside
JSON (double-encoded), and Python `repr` strings (LiteLLM's `metadata.*`, old OpenLIT).
Everything here is bounded: hostile input must cost bounded time and memory.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import jsonfast

_orjson = jsonfast.orjson  # None when orjson is not installed

# Above these sizes a string is not parsed as structure: it is kept as text.
MAX_PARSE_CHARS = 8_000_000
MAX_REPR_PARSE_CHARS = 200_000
MAX_DEPTH = 64
_INT_BOUND = 2**63  # `to_jsonable` writes integers beyond +-2**63 as text

_JSON_OPENERS = ("{", "[", '"')
_CONTAINER_OPENERS = ("{", "[")
# `json.dumps(value, ensure_ascii=False, allow_nan=False)` without building an encoder per call.
_TEXT_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_REPR_OPENERS = "{[(\"'"
_REPR_WORDS = ("None", "True", "False")
# Outside its quoted strings, a repr made only of these characters (and the words None, True,
# False) is JSON once its quotes and words are respelled; see `_repr_as_json` (which joins the
# parts outside the strings with NUL; bytes.translate deletes them in C, str.translate per character).
_JSON_REPR_BYTES = b"\x000123456789+-.eE{}[]:, "


def _too_deep(value: Any, limit: int = MAX_DEPTH, allow_floats: bool = True) -> bool:
    """True when a decoded structure nests deeper than `limit`: some value sits more than `limit`
    levels below the top (iterative, no recursion); with `allow_floats=False`, also when it holds a float.
    Decoded JSON and literals hold plain dicts and lists: the walk goes one level at a time and looks
    at each value's type once."""
    level = [value]
    for _ in range(limit + 1):
        children: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is dict:
                children.extend(item.values())
            elif kind is list:
                children.extend(item)
            elif kind is float and not allow_floats:
                return True
        if not children:
            return False
        level = children
    return True


def json_ready(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether decoded JSON `value` is what `to_jsonable` leaves as it is and `decoded_as_json` accepts
    (`limit` as there): dicts with string keys of at most 1000 chars, lists, strings, None, booleans and
    integers within +-2**63 only (no float), nesting no deeper than `limit`. Such a value can be
    encoded without a `to_jsonable` copy, and orjson's value of its JSON is `json`'s.
    (One of three level-by-level walks here, with `_too_deep` and `_holds_wide_number`: each checks
    other leaves, and a shared walker would cost a call per leaf on the message path.)"""
    level = [value]
    for _ in range(limit + 1):
        children: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is dict:
                for key in item:
                    if type(key) is not str or len(key) > 1_000:
                        return False
                children.extend(item.values())
            elif kind is list:
                children.extend(item)
            elif kind is int:
                if not -_INT_BOUND <= item <= _INT_BOUND:
                    return False
            elif kind is not str and item is not None and kind is not bool:
                return False
        if not children:
            return True
        level = children
    return False


def parse_json(text: Any) -> Any:
    """Parse a JSON string; return the input unchanged when it is not JSON.

    A JSON string whose decoded value is itself a JSON object or array encoded as a string
    (double encoding) is decoded once more, never further.
    """
    return _parse_json(text)


def parse_json_exact_fast(text: Any, parse: Callable[[Any], Any] = parse_json) -> Any:
    """`parse(text)` (`parse_json`, or `parse_structured`, which tries JSON first), decoded by orjson
    (several times faster) when that gives the same value: a JSON object or array with no run of 19
    digits (orjson reads integers beyond 64 bits as floats; `json` and orjson read every other number
    alike) and too few brackets to nest deeper than `parse`'s bound. Anything else, and any text
    orjson refuses (NaN, 1e400, lone surrogates: `json` reads them), is `parse`'s. (Not `parse_json`
    itself: for short or string-heavy texts the digit scan costs more than orjson saves.)"""
    if (type(text) is str and text[:1] in _CONTAINER_OPENERS and text.count("{") + text.count("[") <= MAX_DEPTH
            and not _has_long_digit_run(text)):
        value = parse_json_fast(text)  # (JSON whitespace after the value: `parse` strips it)
        if value is not None:
            return value
    return parse(text)


def parse_json_jsonable(text: Any) -> Any:
    """`to_jsonable(parse_json(text))`, walking the value at most once (short JSON: never)."""
    if not isinstance(text, str):
        return to_jsonable(text)
    return _parse_json(text, jsonable=True)


def _jsonable_decoded(value: Any, chars: int, brackets: int) -> Any:
    """`to_jsonable(value)` for a value `_JSONABLE_NUMBERS` decoded from a text of `chars` characters
    holding `brackets` `[` and `{`: its numbers are JSON-ready already, so only a key over 1000 chars or
    nesting over MAX_DEPTH needs the walk."""
    if chars <= 1_000 and brackets <= MAX_DEPTH:
        return value
    return to_jsonable(value)


def _parse_json(text: Any, jsonable: bool = False) -> Any:
    """`parse_json(text)`; with `jsonable`, `parse_json_jsonable(text)` for a string `text`."""
    if not isinstance(text, str):
        return text
    stripped = text.strip()
    if not stripped or stripped[0] not in _JSON_OPENERS or len(stripped) > MAX_PARSE_CHARS:
        return text
    if '"' not in stripped and "'" in stripped:
        return text  # a Python repr (JSON has ' only inside "strings"): no exception to raise
    loads = jsonable_loads if jsonable else jsonfast.loads
    try:
        value = loads(stripped)
    except (ValueError, RecursionError):
        return text
    if isinstance(value, str):
        inner = value.strip()
        if inner[:1] in ("{", "["):
            try:
                value = loads(inner)
            except (ValueError, RecursionError):
                return value
    brackets = stripped.count("[") + stripped.count("{")  # (counted once, for both checks)
    if brackets > MAX_DEPTH and _too_deep(value):
        return text  # (fewer brackets than MAX_DEPTH cannot nest deeper: skip the walk)
    return _jsonable_decoded(value, len(stripped), brackets) if jsonable else value


def parse_repr(text: Any) -> Any:
    """Parse a Python literal `repr` string safely (never `eval`); fall back to JSON, then text."""
    if not isinstance(text, str):
        return text
    parsed = parse_json(text)
    if parsed is not text:
        return parsed
    return _parse_literal(text)


def _parse_literal(text: str) -> Any:
    """The Python-literal half of `parse_repr`, for a string that is known not to be JSON."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped[0] not in _REPR_OPENERS and stripped not in _REPR_WORDS:
        return text
    if len(stripped) > MAX_REPR_PARSE_CHARS:
        return text
    as_json = _repr_as_json(stripped)
    if as_json is not None:  # LiteLLM's `metadata.usage_object`: ~60 us less than compiling it
        try:
            value = jsonable_loads(as_json)
        except (ValueError, RecursionError):
            pass  # e.g. `+1`, `1.`, `'a' 'b'`, a trailing comma: literal_eval decides
        else:
            brackets = as_json.count("[") + as_json.count("{")
            if brackets > MAX_DEPTH and _too_deep(value):
                return text
            return _jsonable_decoded(value, len(as_json), brackets)
    try:
        value = ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if _too_deep(value):
        return text
    return to_jsonable(value)


def _repr_as_json(text: str) -> str | None:
    """The JSON spelling of a repr of dicts, lists, plain strings, numbers and None/True/False.

    None unless the text is ASCII without double quotes or backslashes, and holds nothing but
    single-quoted strings, number characters, `{}[]:,`, spaces and the three words. A string
    without quotes or backslashes means the same in Python and JSON, a number that JSON accepts
    has the same value in Python, and a `(` or a name is refused: whatever `json.loads` reads
    from the result, `ast.literal_eval` reads the same from `text`.
    """
    if not text.isascii() or '"' in text or "\\" in text or "\x00" in text:
        return None
    parts = text.split("'")
    if len(parts) % 2 == 0:
        return None  # an unpaired quote
    outside = "\x00".join(parts[0::2])  # the text between the strings
    words = outside.replace("None", "").replace("True", "").replace("False", "")
    if words.encode("ascii").translate(None, _JSON_REPR_BYTES):  # (the text is ASCII)
        return None  # tuples, sets, names, comments...
    outside = outside.replace("None", "null").replace("True", "true").replace("False", "false")
    parts[0::2] = outside.split("\x00")
    return '"'.join(parts)


def parse_structured_jsonable(value: Any) -> Any:
    """`to_jsonable(parse_structured(value))`, walking the value at most once."""
    parsed = parse_json_jsonable(value)
    return _parse_literal(value) if parsed is value and isinstance(value, str) else parsed


def parse_structured(value: Any) -> Any:
    """JSON first, then Python repr: for attributes whose emitters disagree on the encoding."""
    parsed = _parse_json(value)
    if parsed is value and isinstance(value, str):
        return _parse_literal(value)  # (parse_repr would try JSON a second time)
    return parsed


def parse_json_fast(text: str) -> Any:
    """orjson's value of the JSON `text`, for a caller that checks what the value holds (`decoded_as_json`);
    None when orjson refuses the text (or is not installed, or the text is over MAX_PARSE_CHARS).

    orjson decodes several times faster than `json`, and to the same value but for numbers (it reads
    integers beyond 64 bits as floats) and for what one of them refuses (NaN, lone surrogates...).
    """
    if _orjson is None or len(text) > MAX_PARSE_CHARS or ('"' not in text and "'" in text):
        return None  # (the last: a Python repr, which orjson would refuse at the cost of an exception)
    try:
        return _orjson.loads(text)
    except ValueError:  # (orjson's JSONDecodeError is one)
        return None


def decoded_as_json(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value`, from `parse_json_fast` (or a part of such a value `MAX_DEPTH - limit` levels
    below its top), is what `parse_json` gives for it: it holds no float (orjson and `json` agree on
    every other JSON value; a float may be an integer beyond 64 bits, which `json` reads exactly) and
    nests no deeper than `limit` (the depth guard of `parse_json`)."""
    return not _too_deep(value, limit, allow_floats=False)


def is_blank(value: Any) -> bool:
    """Instrumentors write '' or None for "absent"; treat both as missing."""
    if type(value) is str:
        return not value.strip()
    return value is None or (isinstance(value, str) and value.strip() == "")


def to_jsonable(value: Any, *, max_depth: int = MAX_DEPTH, max_chars: int | None = None) -> Any:
    """Convert any value into something `json.dumps(..., allow_nan=False)` accepts.

    Tuples become lists, NaN/Inf become strings, bytes are decoded with replacement, keys
    become strings, cycles and over-deep nesting are cut with a marker, objects of other
    types become their `repr` (bounded), and with `max_chars` long strings are truncated
    (one walk does both: this runs on every exported event).
    """
    return _jsonable(value, 0, max_depth, max_chars, set())


def _jsonable(item: Any, depth: int, max_depth: int, max_chars: int | None, seen: set[int]) -> Any:
    """One step of `to_jsonable`; `seen` holds the containers on the path (cycle detection)."""
    kind = type(item)
    if kind is str:
        return item if max_chars is None or len(item) <= max_chars else truncate_text(item, max_chars)
    if item is None or kind is bool:
        return item
    if kind is int:
        return item if -(2**63) <= item <= 2**63 else str(item)
    if kind is float:
        if math.isfinite(item):
            return item
        return "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
    is_mapping = kind is dict or (kind is not list and isinstance(item, Mapping))
    if is_mapping or kind is list or isinstance(item, (list, tuple, set, frozenset)) or (
            isinstance(item, Sequence) and not isinstance(item, (str, bytes, bytearray, memoryview))):
        if depth >= max_depth:
            return "[max depth]"
        marker = id(item)
        if marker in seen:
            return "[cycle]"
        seen.add(marker)
        depth += 1
        try:
            if is_mapping:
                return {(key if type(key) is str and len(key) <= 1_000 else _key(key, max_chars)):
                        _jsonable(child, depth, max_depth, max_chars, seen) for key, child in item.items()}
            return [_jsonable(child, depth, max_depth, max_chars, seen) for child in item]
        except Exception:  # noqa: BLE001 - a hostile container must not break the export
            return f"<unreadable {type(item).__name__}>"
        finally:
            seen.discard(marker)
    return _scalar(item, max_chars)


def _scalar(item: Any, max_chars: int | None) -> Any:
    """Subclasses of the JSON scalars, bytes, and anything else (as a bounded repr)."""
    if isinstance(item, bool):
        return bool(item)
    if isinstance(item, str):
        return truncate_text(str(item), max_chars)
    if isinstance(item, int):
        number = int(item)
        return number if -(2**63) <= number <= 2**63 else str(number)
    if isinstance(item, float):
        number = float(item)
        if math.isfinite(number):
            return number
        return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
    if isinstance(item, (bytes, bytearray, memoryview)):
        return truncate_text(bytes(item).decode("utf-8", errors="replace"), max_chars)
    try:
        text = repr(item)
    except Exception:  # noqa: BLE001 - a hostile __repr__ must not break the export
        text = f"<{type(item).__name__}>"
    return text[:10_000]


def _jsonable_int(text: str) -> Any:
    number = int(text)
    return number if -(2**63) <= number <= 2**63 else str(number)


def _jsonable_float(text: str) -> Any:
    number = float(text)  # (a JSON number is never NaN)
    return number if math.isfinite(number) else ("Infinity" if number > 0 else "-Infinity")


# Decodes JSON numbers as `to_jsonable` writes them (NaN and Infinity as strings): the exact path of
# `jsonable_loads` (orjson reads big ints as floats).
_JSONABLE_NUMBERS = json.JSONDecoder(parse_int=_jsonable_int, parse_float=_jsonable_float, parse_constant=str)
_WIDE_FLOAT = float(2**63)
# `_may_hold_wide_number`: a run of 19 digits in a text whose digits are made zeros and other bytes spaces
# (one C pass, ~1 ns a character: quicker than walking a decoded tool schema or message list of up to
# ~500 characters, slower than walking a document made of a few long strings).
_DIGIT_SCAN_CHARS = 500
_LONG_DIGITS = b"0" * 19
_DIGITS_AS_ZEROS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))


def jsonable_loads(text: str) -> Any:
    """`_JSONABLE_NUMBERS.decode(text)`: by orjson (several times faster than `json` calling a
    Python hook per number) when its value is the same. orjson reads every document it accepts as
    `json` does, but integers: those beyond 64 bits become floats, and `to_jsonable` writes those
    beyond 2**63 as text. A document that may hold one (`_may_hold_wide_number`) is decoded again by
    `json`, as is every document orjson refuses (NaN, 1e400, lone surrogates...), which gets `json`'s
    value or error."""
    if _orjson is not None:
        try:
            value = _orjson.loads(text)
        except ValueError:  # (orjson's JSONDecodeError is one)
            pass
        else:
            if not _may_hold_wide_number(text, value):
                return value
    return _JSONABLE_NUMBERS.decode(text)


def _may_hold_wide_number(text: str, value: Any) -> bool:
    """Whether orjson's `value` of `text` may hold an integer beyond +-2**63: `_has_long_digit_run(text)`,
    or for a text over `_DIGIT_SCAN_CHARS` (mostly long strings, where scanning every character costs
    more than walking the few values), `_holds_wide_number(value)`."""
    if len(text) <= _DIGIT_SCAN_CHARS:
        return len(text) >= 19 and _has_long_digit_run(text)
    return _holds_wide_number(value)


def _has_long_digit_run(text: str) -> bool:
    """Whether `text` has a run of 19 digits: only there can JSON hold an integer beyond +-2**63, which
    orjson reads as a float where `json` reads it exactly (a shorter integer is within 2**63)."""
    return _LONG_DIGITS in text.encode("utf-8", "replace").translate(_DIGITS_AS_ZEROS)


def _holds_wide_number(value: Any) -> bool:
    """Whether decoded JSON holds an integer beyond +-2**63, or a whole float as large (maybe such an
    integer, read by orjson): one level at a time, no recursion (orjson decodes 1024 levels)."""
    level = [value]
    while level:
        children: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is dict:
                children.extend(item.values())
            elif kind is list:
                children.extend(item)
            elif kind is int:
                if not -_INT_BOUND <= item <= _INT_BOUND:
                    return True
            elif kind is float and (item >= _WIDE_FLOAT or item <= -_WIDE_FLOAT) and item.is_integer():
                return True
        level = children
    return False


def truncate_text(text: str, max_chars: int | None) -> str:
    """Cut a long string, keeping its head and an explicit marker with the original length."""
    if max_chars is None or len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}...[truncated by honeyhive-otel: {len(text)} chars]"


def _key(key: Any, max_chars: int | None = None) -> str:
    if isinstance(key, str):
        return truncate_text(str(key), 1_000)
    if isinstance(key, (bytes, bytearray)):
        return bytes(key).decode("utf-8", errors="replace")
    return str(to_jsonable(key))


def as_int(value: Any) -> int | None:
    """An integer token count from an int, a numeric string or a float; None otherwise."""
    kind = type(value)
    if kind is int:
        return value
    if kind is float:
        return int(value) if math.isfinite(value) else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return int(number) if math.isfinite(number) else None
    return None


def as_float(value: Any) -> float | None:
    """A finite float from a number or numeric string; None otherwise."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        return float(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_bool(value: Any) -> bool | None:
    """A boolean from a bool or the strings LiteLLM and others write ('True', 'false', '1')."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
    if isinstance(value, int):
        return bool(value)
    return None


def as_list(value: Any) -> list[Any] | None:
    """A list from a sequence attribute, a JSON array string, or a single scalar."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return list(value)
    parsed = parse_structured(value) if isinstance(value, str) else value
    if isinstance(parsed, list):
        return parsed
    if isinstance(parsed, str) and parsed.strip() == "":
        return None
    return [parsed]


def as_text(value: Any) -> str | None:
    """A string form of a content value: strings as-is, structures as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return _TEXT_ENCODER.encode(to_jsonable(value))
    except (TypeError, ValueError):
        return str(value)
