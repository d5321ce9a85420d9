"""A tiny, deterministic OpenAI-compatible HTTP server for tests (stdlib only).

Usage::

    with FakeOpenAI() as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test-not-a-secret")
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert fake.requests[-1]["model"] == "gpt-4o-mini"

Routes (all also answered without the ``/v1`` prefix):

* ``POST /v1/chat/completions``
    - request has ``tools`` (and ``tool_choice`` is not ``"none"``) and the last message is not a ``tool``
      message -> one assistant tool call (id ``call_1``, the first tool's name, arguments built from the
      tool's required parameters, ``{"city": "Paris"}`` when it has none), ``finish_reason="tool_calls"``;
    - otherwise text ``"Echo: <last user text>"`` (after a tool result: ``"Tool said: <content>"``),
      ``finish_reason="stop"``;
    - ``n`` > 1 gives n choices; choice 0 is the text above, choice i > 0 appends ``" (choice i)"``;
    - usage: prompt_tokens = words in all messages (min 1), completion_tokens = words in all choices'
      replies (tool calls count as 1 word each), with ``prompt_tokens_details.cached_tokens=0`` and
      ``completion_tokens_details.reasoning_tokens=0``;
    - ``stream: true`` -> Server-Sent Events (chunked transfer encoding): a role chunk, word chunks (or
      tool-call chunks, arguments in pieces, OpenAI style), a finish chunk, an optional usage chunk
      (``stream_options.include_usage``) and ``data: [DONE]``.
* ``POST /v1/embeddings``: one deterministic 8-dim vector per input (string, list of strings, token list
  or list of token lists); ``encoding_format="base64"`` (the ``openai`` client's default) is honoured.
* ``POST /v1/completions``: legacy text completion, ``"Echo: <prompt>"`` (stream supported).
* ``GET /v1/models`` and ``GET /v1/models/<id>``.

Any POST whose ``model`` is ``error-<code>`` (``error-503``, ``error-429``, ``error-400``...) is answered with that
HTTP status and an OpenAI-style error body; 429 also carries ``retry-after: 0``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOpenAI", "EMBEDDING_DIM", "CREATED", "SYSTEM_FINGERPRINT"]

EMBEDDING_DIM = 8
CREATED = 1735689600  # fixed "created" timestamp (2025-01-01T00:00:00Z) so replies are deterministic
SYSTEM_FINGERPRINT = "fp_fake_openai"
_ERROR_MODEL = re.compile(r"^error-(\d{3})$")
_MODELS = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "gpt-3.5-turbo-instruct"]

_ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", "timeout"),
    409: ("invalid_request_error", "conflict"),
    422: ("invalid_request_error", "unprocessable_entity"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "gateway_timeout"),
}


# --------------------------------------------------------------------------------------------- helpers


def _text_of(content: Any) -> str:
    """Plain text of an OpenAI message ``content`` (string, list of parts, or None)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    out.append(part["text"])
                elif isinstance(part.get("content"), str):
                    out.append(part["content"])
        return " ".join(out)
    return str(content)


def _words(text: str) -> int:
    return len(text.split())


def _message_words(msg: dict) -> int:
    n = _words(_text_of(msg.get("content")))
    for tc in msg.get("tool_calls") or []:
        fn = tc.get("function") or {}
        n += _words(str(fn.get("name", ""))) + _words(str(fn.get("arguments", "")))
    return n


def _prompt_tokens(messages: list) -> int:
    return max(1, sum(_message_words(m) for m in messages if isinstance(m, dict)))


def _example_value(name: str, schema: dict) -> Any:
    if not isinstance(schema, dict):
        return "test"
    if schema.get("enum"):
        return schema["enum"][0]
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "string")
    if typ == "integer":
        return 1
    if typ == "number":
        return 1.5
    if typ == "boolean":
        return True
    if typ == "array":
        return [_example_value(name, schema.get("items") or {})]
    if typ == "object":
        props = schema.get("properties") or {}
        return {k: _example_value(k, props.get(k, {})) for k in schema.get("required") or []}
    return "Paris" if name in ("city", "location", "place") else "test"


def _tool_call_for(tool: dict) -> tuple[str, str]:
    """(name, arguments JSON) for the first tool of a request."""
    fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool  # also accept flat tools
    name = str(fn.get("name") or "tool")
    params = fn.get("parameters") or {}
    required = params.get("required") if isinstance(params, dict) else None
    if required:
        props = params.get("properties") or {}
        args = {k: _example_value(k, props.get(k, {})) for k in required}
    else:
        args = {"city": "Paris"}
    return name, json.dumps(args)


def _embedding(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    # 8 multiples of 1/128 in [-1, 1): exact in float32, so base64 and float encodings agree
    return [(b - 128) / 128.0 for b in digest[:EMBEDDING_DIM]]


def _embedding_inputs(inp: Any) -> list[str]:
    if isinstance(inp, str):
        return [inp]
    if isinstance(inp, list):
        if not inp:
            return []
        if all(isinstance(x, int) for x in inp):  # one token list
            return [" ".join(str(x) for x in inp)]
        return [x if isinstance(x, str) else " ".join(str(t) for t in x) for x in inp]
    return [str(inp)]


class _State:
    def __init__(self, latency: float) -> None:
        self.lock = threading.Lock()
        self.counter = 0
        self.req_counter = 0
        self.requests: list[dict] = []
        self.log: list[dict] = []
        self.errors: list[BaseException] = []
        self.latency = latency

    def next_id(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def next_request_id(self) -> str:
        with self.lock:
            self.req_counter += 1
            return f"req-fake-{self.req_counter}"


# --------------------------------------------------------------------------------------------- handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"
    state: _State  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        pass

    # ---- plumbing

    def _route(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.startswith("/v1/"):
            path = path[3:]
        return path

    def _send_json(self, status: int, body: Any, headers: dict | None = None) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", self.state.next_request_id())
        self.send_header("openai-processing-ms", "1")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error_body(self, status: int, message: str, code: str | None = None) -> None:
        typ, default_code = _ERROR_TYPES.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None)
        )
        headers = {"retry-after": "0", "retry-after-ms": "0"} if status == 429 else None
        body = {"error": {"message": message, "type": typ, "param": None, "code": code or default_code}}
        self._send_json(status, body, headers)

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", self.state.next_request_id())
        self.end_headers()

    def _sse(self, payload: Any) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        data = f"data: {text}\n\n".encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_sse(self) -> None:
        self._sse("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}

    # ---- verbs

    def do_GET(self) -> None:  # noqa: N802
        route = self._route()
        self.state.log.append(
            {"method": "GET", "path": self.path, "headers": dict(self.headers), "body": None}
        )
        if route == "/models":
            data = [{"id": m, "object": "model", "created": CREATED, "owned_by": "fake"} for m in _MODELS]
            self._send_json(200, {"object": "list", "data": data})
        elif route.startswith("/models/"):
            mid = route[len("/models/") :]
            self._send_json(200, {"id": mid, "object": "model", "created": CREATED, "owned_by": "fake"})
        else:
            self._send_error_body(404, f"Unknown route GET {self.path}", "not_found")

    def do_POST(self) -> None:  # noqa: N802
        route = self._route()
        body = self._read_body()
        with self.state.lock:
            self.state.requests.append(body)
            self.state.log.append(
                {"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body}
            )
        if self.state.latency:
            time.sleep(self.state.latency)
        if not isinstance(body, dict):
            self._send_error_body(400, "Request body must be a JSON object")
            return
        m = _ERROR_MODEL.match(str(body.get("model", "")))
        if m:
            status = int(m.group(1))
            self._send_error_body(status, f"Fake error {status} requested by model {body['model']!r}")
            return
        if route == "/chat/completions":
            self._chat(body)
        elif route == "/embeddings":
            self._embeddings(body)
        elif route == "/completions":
            self._completions(body)
        else:
            self._send_error_body(404, f"Unknown route POST {self.path}", "not_found")

    # ---- chat

    def _chat(self, body: dict) -> None:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            self._send_error_body(400, "'messages' must be a non-empty array")
            return
        model = body.get("model", "gpt-4o-mini")
        n = max(1, int(body.get("n") or 1))
        last = messages[-1] if isinstance(messages[-1], dict) else {}
        tools = body.get("tools") or []
        want_tool = bool(tools) and last.get("role") != "tool" and body.get("tool_choice") != "none"

        tool_call = _tool_call_for(tools[0]) if want_tool else None
        if tool_call is None:
            if last.get("role") == "tool":
                base = f"Tool said: {_text_of(last.get('content'))}"
            else:
                user_text = next(
                    (
                        _text_of(x.get("content"))
                        for x in reversed(messages)
                        if isinstance(x, dict) and x.get("role") == "user"
                    ),
                    "",
                )
                base = f"Echo: {user_text}"
            texts = [base if i == 0 else f"{base} (choice {i})" for i in range(n)]
        else:
            texts = [None] * n

        prompt_tokens = _prompt_tokens(messages)
        completion_tokens = sum(_words(t) if t is not None else 1 for t in texts)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        rid = f"chatcmpl-fake-{self.state.next_id()}"
        finish = "tool_calls" if tool_call else "stop"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._chat_stream(rid, model, texts, tool_call, finish, usage if include_usage else None)
            return

        choices = []
        for i, text in enumerate(texts):
            msg: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
            if tool_call:
                msg["tool_calls"] = [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": tool_call[0], "arguments": tool_call[1]},
                    }
                ]
            choices.append({"index": i, "message": msg, "logprobs": None, "finish_reason": finish})
        self._send_json(
            200,
            {
                "id": rid,
                "object": "chat.completion",
                "created": CREATED,
                "model": model,
                "choices": choices,
                "usage": usage,
                "service_tier": "default",
                "system_fingerprint": SYSTEM_FINGERPRINT,
            },
        )

    def _chat_stream(
        self, rid: str, model: str, texts: list, tool_call: tuple | None, finish: str, usage: dict | None
    ) -> None:
        def chunk(choices: list, with_usage: Any = ...) -> dict:
            c = {
                "id": rid,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": model,
                "service_tier": "default",
                "system_fingerprint": SYSTEM_FINGERPRINT,
                "choices": choices,
            }
            if usage is not None:  # like OpenAI: every chunk carries "usage": null, the last one the totals
                c["usage"] = None if with_usage is ... else with_usage
            return c

        self._start_sse()
        for i, text in enumerate(texts):
            if tool_call:
                name, args = tool_call
                first = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ],
                    "refusal": None,
                }
                self._sse(chunk([{"index": i, "delta": first, "logprobs": None, "finish_reason": None}]))
                pieces = [args[j : j + 8] for j in range(0, len(args), 8)] or [""]
                for piece in pieces:
                    delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                    self._sse(chunk([{"index": i, "delta": delta, "logprobs": None, "finish_reason": None}]))
            else:
                first = {"role": "assistant", "content": "", "refusal": None}
                self._sse(chunk([{"index": i, "delta": first, "logprobs": None, "finish_reason": None}]))
                words = text.split(" ")
                for j, w in enumerate(words):
                    piece = w if j == 0 else " " + w
                    self._sse(
                        chunk(
                            [
                                {
                                    "index": i,
                                    "delta": {"content": piece},
                                    "logprobs": None,
                                    "finish_reason": None,
                                }
                            ]
                        )
                    )
        for i in range(len(texts)):
            self._sse(chunk([{"index": i, "delta": {}, "logprobs": None, "finish_reason": finish}]))
        if usage is not None:
            self._sse(chunk([], usage))
        self._end_sse()

    # ---- embeddings

    def _embeddings(self, body: dict) -> None:
        if "input" not in body:
            self._send_error_body(400, "'input' is required")
            return
        inputs = _embedding_inputs(body.get("input"))
        b64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(inputs):
            vec = _embedding(text)
            value: Any = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode("ascii") if b64 else vec
            data.append({"object": "embedding", "index": i, "embedding": value})
        tokens = max(1, sum(_words(t) for t in inputs))
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", "text-embedding-3-small"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # ---- legacy completions

    def _completions(self, body: dict) -> None:
        prompt = body.get("prompt", "")
        prompts = (
            prompt
            if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt)
            else [_text_of(prompt)]
        )
        model = body.get("model", "gpt-3.5-turbo-instruct")
        n = max(1, int(body.get("n") or 1))
        choices = []
        for p in prompts:
            for _ in range(n):
                choices.append(
                    {"text": f"Echo: {p}", "index": len(choices), "logprobs": None, "finish_reason": "stop"}
                )
        prompt_tokens = max(1, sum(_words(p) for p in prompts))
        completion_tokens = sum(_words(c["text"]) for c in choices)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        rid = f"cmpl-fake-{self.state.next_id()}"
        base = {
            "id": rid,
            "object": "text_completion",
            "created": CREATED,
            "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
        if body.get("stream"):
            self._start_sse()
            for c in choices:
                for j, w in enumerate(c["text"].split(" ")):
                    piece = w if j == 0 else " " + w
                    self._sse(
                        {
                            **base,
                            "choices": [
                                {"text": piece, "index": c["index"], "logprobs": None, "finish_reason": None}
                            ],
                        }
                    )
                self._sse(
                    {
                        **base,
                        "choices": [
                            {"text": "", "index": c["index"], "logprobs": None, "finish_reason": "stop"}
                        ],
                    }
                )
            if (body.get("stream_options") or {}).get("include_usage"):
                self._sse({**base, "choices": [], "usage": usage})
            self._end_sse()
            return
        self._send_json(200, {**base, "choices": choices, "usage": usage})


# --------------------------------------------------------------------------------------------- server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(
            exc, ConnectionError
        ):  # client went away (e.g. closed a stream after [DONE]): not an error
            return
        self.state.errors.append(exc)
        traceback.print_exc()


class FakeOpenAI:
    """Threaded fake OpenAI server bound to 127.0.0.1.

    ``FakeOpenAI(port=0).start()`` returns the server; ``.base_url`` ends in ``/v1``; ``.requests`` is the list of
    received JSON bodies (in arrival order), ``.log`` the same with method, path and headers, ``.errors`` any
    unexpected handler exceptions. Usable as a context
    manager (starts on enter if needed, stops on exit). ``latency`` (seconds) delays every POST answer.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", latency: float = 0.0) -> None:
        self.host = host
        self._port = port
        self._state = _State(latency)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> list[dict]:
        return self._state.requests

    @property
    def log(self) -> list[dict]:
        return self._state.log

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions raised while handling requests (client disconnects are ignored)."""
        return self._state.errors

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeOpenAI is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> FakeOpenAI:
        if self._httpd is not None:
            return self
        handler = type("FakeOpenAIHandler", (_Handler,), {"state": self._state})
        httpd = _Server((self.host, self._port), handler)
        httpd.state = self._state
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.name = f"FakeOpenAI:{self.port}"
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def clear(self) -> None:
        with self._state.lock:
            self._state.requests.clear()
            self._state.log.clear()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._httpd is not None else "stopped"
        return f"<FakeOpenAI {where}>"


if __name__ == "__main__":  # pragma: no cover - manual use: python -m tests.support.fake_openai [port]
    srv = FakeOpenAI(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print(f"FakeOpenAI listening on {srv.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
