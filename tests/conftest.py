"""Shared fixtures for the test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from honeyhive_otel.devserver import DevServer
from tests.support import openapi_check, secret_scan

# Keep litellm from fetching its model price map over the network (set before any test imports it).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="session", autouse=True)
def no_secret_leaks() -> Iterator[None]:
    """Across the whole suite, no test key may reach a request or a log line."""
    yield from secret_scan.secret_scan()


@pytest.fixture
def devserver() -> Iterator[DevServer]:
    """A running local HoneyHive v1 server; at teardown every write body it saw is checked
    against HoneyHive's official OpenAPI schema, so the devserver cannot drift from it."""
    server = DevServer().start()
    try:
        yield server
        openapi_check.check_recorded_requests(server.requests)  # also feeds the secret scan
    finally:
        server.stop()
