"""The devserver's web viewer: a static page plus two read-only JSON routes.

Why: seeing a session as a tree with timings, the conversation each model call saw, and
which span attribute fed each field answers most "why does my trace look like this"
questions faster than reading JSON.

Routes (GET only; not in the request log, not subject to faults or the API key, like
``/_dev/faults``):

- ``/``: the page (``static/index.html``); ``/static/<name>``: its CSS and JS (package data).
- ``/_dev/viewer/api/sessions?limit=N``: ``{"sessions": [...]}`` newest first.
- ``/_dev/viewer/api/sessions/{session_id}``: ``{"session": {...} | null, "events": [...]}``.

Every response carries a strict Content-Security-Policy (scripts and styles from this
origin only); the page renders event data with text nodes only.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote

from .store import Store

API_PREFIX = "/_dev/viewer/api/"
_STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_-]+\.(html|js|css|svg|png)$")
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                                "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
Response = tuple[int, str, bytes, dict[str, str]]


def handles(path: str) -> bool:
    """Whether the viewer answers this path."""
    return path in ("/", "/index.html") or path.startswith("/static/") or path.startswith(API_PREFIX)


@lru_cache(maxsize=16)
def _static(name: str) -> bytes | None:
    try:
        return resources.files("honeyhive_otel.devserver").joinpath("static", name).read_bytes()
    except (FileNotFoundError, IsADirectoryError, OSError):
        return None


def _json(status: int, payload: Any) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return status, "application/json", body, dict(SECURITY_HEADERS)


def respond(store: Store, method: str, path: str, query: str) -> Response:
    """The viewer's answer to ``method path?query``: (status, content type, body, headers)."""
    if method != "GET":
        return _json(405, {"error": f"method {method} not allowed on {path}"})
    if path in ("/", "/index.html"):
        path = "/static/index.html"
    if path.startswith("/static/"):
        name = path[len("/static/"):]
        data = _static(name) if _STATIC_NAME.match(name) else None
        if data is None:
            return _json(404, {"error": f"no static file {name!r}"})
        return 200, _STATIC_TYPES["." + name.rsplit(".", 1)[1]], data, dict(SECURITY_HEADERS)
    rest = path[len(API_PREFIX):]
    if rest == "sessions":
        return _json(200, {"sessions": store.sessions(_limit(query))})
    if rest.startswith("sessions/") and rest.count("/") == 1:
        session_id = unquote(rest[len("sessions/"):])
        session, events = store.session(session_id), store.events(session_id)
        if session is None and not events:
            return _json(404, {"error": "session not found"})
        return _json(200, {"session": session, "events": events})
    return _json(404, {"error": f"no viewer route {path}"})


def _limit(query: str) -> int:
    try:
        return max(0, min(int(parse_qs(query).get("limit", ["200"])[0]), 10_000))
    except ValueError:
        return 200
