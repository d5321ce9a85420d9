"""Service B of the two-process baggage test: an HTTP service that makes an LLM call per request.

    python tests/scenarios/context_service_b.py <devserver_url>
Prints `listening <url>` once ready. Each POST extracts the W3C headers with
`opentelemetry.propagate.extract` (as any instrumented server does), opens a SERVER span
(transport noise, filtered), makes a GenAI span named `service b <question>` inside it,
flushes to the devserver, then answers. Runs until terminated.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from opentelemetry import context, propagate  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

from tests.support.pipeline import make_pipeline  # noqa: E402

PIPELINE = make_pipeline(sys.argv[1], resource={"service.name": "service-b"}, session_name="service b default")
TRACER = PIPELINE.tracer("service-b")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        token = context.attach(propagate.extract(dict(self.headers)))
        try:
            with TRACER.start_as_current_span("POST /answer", kind=SpanKind.SERVER,
                                              attributes={"http.request.method": "POST", "url.path": "/answer"}):
                name = "answer" if body.get("question") == "hi" else body.get("question", "?")
                with TRACER.start_as_current_span(f"service b {name}") as span:
                    span.set_attribute("gen_ai.operation.name", "chat")
                    span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        finally:
            context.detach(token)
        PIPELINE.flush()
        payload = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening http://127.0.0.1:{server.server_address[1]}/answer", flush=True)
    try:
        server.serve_forever()
    finally:
        PIPELINE.close()
