"""Validate request bodies against HoneyHive's *official* OpenAPI file with ``jsonschema``.

The devserver has its own small validator (no runtime dependency on jsonschema); checking
every body that reached it against the verbatim YAML in ``tests/fixtures`` keeps the two
from drifting apart. Regenerate the devserver's bundled schemas with
``python -m tests.support.openapi_check --write-schemas``.
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "honeyhive-openapi.yaml"
BUNDLED_SCHEMAS_PATH = (Path(__file__).resolve().parents[2] / "honeyhive_otel" / "devserver" / "schemas.json")
_DOC_URI = "urn:honeyhive:openapi"
_SESSION_BATCH = re.compile(r"^/v1/sessions/[^/]+/events/batch$")
_ROUTE_SCHEMAS = {"/v1/sessions": "StartSessionRequest", "/v1/events": "PostEventRequest",
                  "/v1/events/batch": "PostEventBatchRequest"}
# What the devserver bundles: the write routes' request bodies and their responses.
BUNDLED_SCHEMA_NAMES = ("StartSessionRequest", "PostEventRequest", "PostEventBatchRequest", "SessionProperties",
                        "SessionEventBatchRequest", "PostEventResponse", "PostEventBatchResponse",
                        "PostSessionStartResponse", "SessionTracesResponse")


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The official OpenAPI document (parsed once)."""
    with OPENAPI_PATH.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@cache
def validator_for(schema_name: str) -> Draft202012Validator:
    """A validator for one component schema; ``$ref``s resolve through the whole document."""
    resource = Resource.from_contents(openapi_document(), default_specification=DRAFT202012)
    registry = Registry().with_resource(_DOC_URI, resource)
    return Draft202012Validator({"$ref": f"{_DOC_URI}#/components/schemas/{schema_name}"}, registry=registry)


def request_schema_name(path: str) -> str:
    """The request-body component schema of a v1 write route."""
    if path in _ROUTE_SCHEMAS:
        return _ROUTE_SCHEMAS[path]
    if _SESSION_BATCH.match(path):
        return "SessionEventBatchRequest"
    raise AssertionError(f"no official request schema known for POST {path}")


def request_error(path: str, body: Any) -> str | None:
    """The official schema's objection to this body, or None if it is valid."""
    error = best_match(validator_for(request_schema_name(path)).iter_errors(body))
    return None if error is None else f"{error.json_path}: {error.message}"


def validate_request(path: str, body: Any) -> None:
    """Raise AssertionError naming the path and the error if ``body`` breaks the official schema."""
    error = request_error(path, body)
    if error is not None:
        raise AssertionError(f"POST {path}: body breaks the official HoneyHive schema: {error}")


def check_recorded_requests(records: list[Any]) -> None:
    """Assert the devserver and the official schema agree on every recorded write body.

    ``records`` are devserver ``RequestRecord``s. A body the devserver accepted must pass
    :func:`validate_request`; one it rejected on schema grounds must fail it too. The records
    also join the suite-wide secret scan (every test that checks its devserver feeds it).
    """
    from tests.support import secret_scan

    secret_scan.record(records)
    problems = []
    for rec in records:
        if not rec.is_write or rec.valid is None:
            continue
        if rec.valid:
            try:
                validate_request(rec.path, rec.body)
            except AssertionError as err:
                problems.append(f"devserver accepted it, but {err}")
        elif request_error(rec.path, rec.body) is None:
            problems.append(f"POST {rec.path}: devserver rejected ({rec.schema_error}) a body the official "
                            "schema accepts")
    assert not problems, "devserver drifted from the official schema:\n" + "\n".join(problems)


def component_schemas(names: tuple[str, ...] = BUNDLED_SCHEMA_NAMES) -> dict[str, Any]:
    """The named component schemas, verbatim from the official document."""
    schemas = openapi_document()["components"]["schemas"]
    return {name: schemas[name] for name in names}


def write_bundled_schemas() -> None:
    """Regenerate ``honeyhive_otel/devserver/schemas.json`` from the official YAML."""
    doc = openapi_document()
    version = doc["info"]["version"]
    data = {
        "x-source": (f"Component schemas copied from HoneyHive Data Plane API {version} (honeyhiveai/python-sdk "
                     "openapi/dataplane.yaml @66f5b597b039d2ca477074c1411c091eda69e03b, MIT); see "
                     "tests/fixtures/SOURCES.md. Regenerate with `python -m tests.support.openapi_check "
                     "--write-schemas`."),
        "x-openapi-version": version,
        "components": {"schemas": component_schemas()},
    }
    BUNDLED_SCHEMAS_PATH.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-schemas"]:
        sys.exit("usage: python -m tests.support.openapi_check --write-schemas")
    write_bundled_schemas()
