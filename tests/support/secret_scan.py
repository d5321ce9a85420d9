"""A suite-wide secret scan: no test key may reach a request body, a header or a log line.

Every request the devservers of the suite received and every log line emitted while it ran
(DEBUG included) are checked at the end of the session: a leak fails the run even if the
test that caused it asserted nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

# Secrets the tests use; none may ever be exported or logged.
SECRETS = ("hh-test-secret-", "hh-live-key-that-must-not-leak", "sk-test-provider-secret", "sk-virtual-key-do-not-leak", "cookie-secret-value",
           "bearer-token-secret")

_SEEN_REQUESTS: list[Any] = []
_SEEN_SERVERS: list[Any] = []


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not our concern here
            text = str(record.msg)
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name}: {text}")


def find_secrets(texts: list[str]) -> list[str]:
    """The texts that contain a test secret (shortened for the report)."""
    return [text[:300] for text in texts if any(secret in text for secret in SECRETS)]


def request_texts(records: list[Any]) -> list[str]:
    texts = []
    for record in records:
        texts.append(json.dumps(record.headers))
        if record.body is not None:
            texts.append(json.dumps(record.body, ensure_ascii=False))
    return texts


def secret_scan() -> Iterator[_Capture]:
    """Capture all logs of the session; at the end, no request or log line may hold a test secret."""
    capture = _Capture()
    root = logging.getLogger()
    ours = logging.getLogger("honeyhive_otel")
    previous = ours.level
    ours.setLevel(logging.DEBUG)
    root.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        ours.setLevel(previous)
    for server in _SEEN_SERVERS:  # servers whose requests were not collected at teardown
        _SEEN_REQUESTS.extend(server.requests)
    leaks = find_secrets(capture.lines) + find_secrets(request_texts(_SEEN_REQUESTS))
    assert not leaks, f"test secrets leaked into logs or requests: {leaks[:5]}"




def record(requests: list[Any]) -> None:
    """Keep a devserver's requests for the end-of-session scan."""
    _SEEN_REQUESTS.extend(requests)


def track_server(server: Any) -> Any:
    """Add a devserver started by a test itself to the end-of-session scan."""
    _SEEN_SERVERS.append(server)
    return server
