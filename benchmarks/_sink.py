"""A minimal HTTP sink on 127.0.0.1 that accepts anything and answers 200 at once.

It runs in its own process (`python _sink.py` prints `PORT <n>`), so its CPU time and GIL
never count against the exporter being measured. Answers: `{"event_ids": [], "success":
true}` for event batches, `{}` for sessions, an empty body (an empty OTLP response) for
`/v1/traces`. HTTP/1.1 keep-alive, as a real collector or API would offer.
"""

from __future__ import annotations

import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

EVENTS_REPLY = b'{"event_ids": [], "success": true}'
SESSION_REPLY = b"{}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle on, the body of a reply waits for the
    # client's delayed ACK (~40 ms per request sent back to back).
    disable_nagle_algorithm = True

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
        if self.path.startswith("/v1/traces"):
            body, kind = b"", "application/x-protobuf"
        elif self.path.startswith("/v1/sessions"):
            body, kind = SESSION_REPLY, "application/json"
        else:
            body, kind = EVENTS_REPLY, "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence access logs
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def serve() -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever(poll_interval=0.5)


class SinkProcess:
    """Starts the sink as a child process; `.url` is its base URL. Use as a context manager."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> SinkProcess:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve())], stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 20
        line = self.proc.stdout.readline()
        if not line.startswith("PORT ") or time.monotonic() > deadline:
            self.close()
            raise RuntimeError(f"sink did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"
        return self

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    serve()
