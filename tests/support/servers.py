"""Several devservers for one fixture: started together, checked and stopped together."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from honeyhive_otel.devserver import DevServer
from tests.support import openapi_check


@contextmanager
def devservers(names: Iterable[str]) -> Iterator[dict[str, DevServer]]:
    """One running DevServer per name; on a clean exit every recorded request is checked against
    the official schema (and joins the secret scan); the servers always stop."""
    servers = {name: DevServer().start() for name in names}
    try:
        yield servers
        for server in servers.values():
            openapi_check.check_recorded_requests(server.requests)
    finally:
        for server in servers.values():
            server.stop()
