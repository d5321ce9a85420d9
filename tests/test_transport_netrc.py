"""The API key reaches HoneyHive even when `~/.netrc` names the host.

requests replaces an `Authorization` header passed in `headers=` with netrc credentials for
the host; the transport sends the key as requests' auth, so netrc is never consulted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from honeyhive_otel.devserver import DevServer
from tests.support.pipeline import make_pipeline

KEY = "hh_netrc_test_key_0123456789ABCDEF"


@pytest.fixture
def netrc_for_localhost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "netrc"
    path.write_text("machine 127.0.0.1 login someone password not-the-honeyhive-key\n")
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))  # the environment of the host application, not our code
    return path


def _export_one(server_url: str, api_key: str | None) -> None:
    pipeline = make_pipeline(server_url, api_key=api_key, timeout=5)
    try:
        with pipeline.tracer().start_as_current_span("chat") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
        pipeline.flush()
    finally:
        pipeline.close()


def test_the_api_key_wins_over_netrc_credentials(netrc_for_localhost: Path) -> None:
    with DevServer(api_key=KEY) as server:
        _export_one(server.url, KEY)
        events = server.store.events()
        statuses = [request.status for request in server.requests]
    assert [event["event_name"] for event in events] == ["chat"]
    assert 401 not in statuses

