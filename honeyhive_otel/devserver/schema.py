"""A small, strict JSON-Schema validator for the request bodies of HoneyHive's v1 write routes.

Why not ``jsonschema``: the package must not pull it in at runtime, and the schemas in
``schemas.json`` (copied from HoneyHive's OpenAPI file) use only a handful of keywords.
Supporting exactly those keywords, and refusing any other, means a schema update that
needs more cannot be silently half-checked.

Errors name the offending field the way the devserver reports it: ``events[0].project``,
``session_properties.start_time``; the body itself is ``$``.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from typing import Any

SUPPORTED_KEYWORDS = frozenset(
    {"type", "enum", "required", "properties", "additionalProperties", "items", "$ref", "description",
     "deprecated", "title", "example", "examples"}
)
_REF_PREFIX = "#/components/schemas/"


class SchemaError(ValueError):
    """A body that breaks the schema; ``field`` is the path of the offending value."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.message = message
        self.field = field


@lru_cache(maxsize=1)
def load_schemas() -> dict[str, Any]:
    """The bundled component schemas, by name (read once)."""
    text = resources.files(__package__).joinpath("schemas.json").read_text(encoding="utf-8")
    schemas = json.loads(text)["components"]["schemas"]
    for name, schema in schemas.items():
        _check_keywords(schema, name)
    return schemas


def validate(instance: Any, schema_name: str) -> None:
    """Raise :class:`SchemaError` for the first violation of component schema ``schema_name``."""
    schemas = load_schemas()
    _validate(instance, schemas[schema_name], "", schemas)


def _check_keywords(schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        raise ValueError(f"schema at {where} is not an object")
    unknown = set(schema) - SUPPORTED_KEYWORDS
    if unknown:
        raise ValueError(f"schema at {where} uses unsupported keywords {sorted(unknown)}")
    for name, sub in schema.get("properties", {}).items():
        _check_keywords(sub, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _check_keywords(schema[key], f"{where}.{key}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _label(path: str) -> str:
    return path or "$"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number" if math.isfinite(value) else "non-finite number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), type(value).__name__)


def _is_type(value: Any, expected: str) -> bool:
    if expected == "null":
        return value is None
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if expected == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if expected == "string":
        return isinstance(value, str)
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    raise ValueError(f"unsupported schema type {expected!r}")


def _validate(value: Any, schema: dict[str, Any], path: str, schemas: dict[str, Any]) -> None:
    ref = schema.get("$ref")
    if ref is not None:
        if not ref.startswith(_REF_PREFIX) or ref[len(_REF_PREFIX):] not in schemas:
            raise ValueError(f"unresolvable $ref {ref!r}")
        _validate(value, schemas[ref[len(_REF_PREFIX):]], path, schemas)
    expected = schema.get("type")
    if expected is not None:
        allowed = expected if isinstance(expected, list) else [expected]
        if not any(_is_type(value, t) for t in allowed):
            raise SchemaError(f"expected {' or '.join(allowed)}, got {_type_name(value)}", _label(path))
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"{value!r} is not one of {schema['enum']}", _label(path))
    if isinstance(value, dict):
        _validate_object(value, schema, path, schemas)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _validate(item, schema["items"], f"{path}[{index}]", schemas)


def _validate_object(value: dict[str, Any], schema: dict[str, Any], path: str, schemas: dict[str, Any]) -> None:
    for name in schema.get("required", []):
        if name not in value:
            raise SchemaError(f"required field {name!r} is missing", _join(path, name))
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            _validate(item, properties[key], _join(path, key), schemas)
        elif extra is False:
            raise SchemaError(f"unknown field {key!r} is not allowed here", _join(path, key))
        elif isinstance(extra, dict) and extra:
            _validate(item, extra, _join(path, key), schemas)
