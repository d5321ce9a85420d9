"""SQLite storage for the devserver's sessions and events.

Bodies are kept as JSON text exactly as the server accepted them, so tests can compare
what an exporter sent with what it meant to send. ``received_count`` counts how often an
event id was POSTed, which is how tests catch an exporter that re-sends created events.
One connection, guarded by a lock, serves all handler threads: simple, and plenty fast
for a development server.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    received_count INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    session_id TEXT,
    seq INTEGER NOT NULL,
    start_time REAL,
    body TEXT NOT NULL,
    received_count INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS events_by_session ON events (session_id, start_time, seq);
CREATE INDEX IF NOT EXISTS sessions_by_seq ON sessions (seq);
"""
_MERGED_SESSION_FIELDS = ("metadata", "user_properties")


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, ensure_ascii=False)


def _start_time(event: dict[str, Any]) -> float | None:
    value = event.get("start_time")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class Store:
    """Sessions and events in SQLite (``":memory:"`` or a file that survives restarts)."""

    def __init__(self, db_path: str = ":memory:") -> None:
        self.db_path = db_path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(db_path, check_same_thread=False)
        with self._lock:
            self._conn.executescript(_SCHEMA)
            self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- writes ------------------------------------------------------------------------
    def add_events(self, events: list[dict[str, Any]]) -> list[str]:
        """Store events (each already carrying event_id/session_id); returns their ids."""
        with self._lock:
            seq = self._next_seq("events")
            for offset, event in enumerate(events):
                self._conn.execute(
                    "INSERT INTO events (event_id, session_id, seq, start_time, body) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (event_id) DO UPDATE SET session_id = excluded.session_id, "
                    "start_time = excluded.start_time, body = excluded.body, "
                    "received_count = events.received_count + 1",
                    (event["event_id"], event.get("session_id"), seq + offset, _start_time(event), _dumps(event)),
                )
            self._conn.commit()
        return [event["event_id"] for event in events]

    def start_session(self, session: dict[str, Any]) -> dict[str, Any]:
        """Create a session, or merge metadata/user_properties into the existing one (the v1 rule)."""
        sid = session["session_id"]
        with self._lock:
            row = self._conn.execute("SELECT body FROM sessions WHERE session_id = ?", (sid,)).fetchone()
            if row is None:
                stored = session
                self._conn.execute("INSERT INTO sessions (session_id, seq, body) VALUES (?, ?, ?)",
                                   (sid, self._next_seq("sessions"), _dumps(stored)))
            else:
                stored = json.loads(row[0])
                for name in _MERGED_SESSION_FIELDS:
                    if isinstance(session.get(name), dict):
                        stored[name] = {**(stored.get(name) or {}), **session[name]}
                self._conn.execute(
                    "UPDATE sessions SET body = ?, received_count = received_count + 1 WHERE session_id = ?",
                    (_dumps(stored), sid))
            self._conn.commit()
        return stored

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM events")
            self._conn.execute("DELETE FROM sessions")
            self._conn.commit()

    # -- reads -------------------------------------------------------------------------
    def event(self, event_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT body FROM events WHERE event_id = ?", (event_id,))
        return json.loads(rows[0][0]) if rows else None

    def events(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """All events in arrival order, or one session's ordered by start_time then arrival."""
        if session_id is None:
            rows = self._query("SELECT body FROM events ORDER BY seq", ())
        else:
            rows = self._query("SELECT body FROM events WHERE session_id = ? "
                               "ORDER BY start_time IS NULL, start_time, seq", (session_id,))
        return [json.loads(body) for (body,) in rows]

    def session(self, session_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT body FROM sessions WHERE session_id = ?", (session_id,))
        return json.loads(rows[0][0]) if rows else None

    def sessions(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Sessions, newest first (by creation)."""
        rows = self._query("SELECT body FROM sessions ORDER BY seq DESC LIMIT ?",
                           (-1 if limit is None else limit,))
        return [json.loads(body) for (body,) in rows]

    def received_count(self, event_id: str) -> int:
        rows = self._query("SELECT received_count FROM events WHERE event_id = ?", (event_id,))
        return rows[0][0] if rows else 0

    def duplicates(self) -> dict[str, int]:
        """Event ids POSTed more than once, with how many times."""
        rows = self._query("SELECT event_id, received_count FROM events WHERE received_count > 1 ORDER BY seq", ())
        return dict(rows)

    def counts(self) -> dict[str, int]:
        rows = self._query("SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM sessions)", ())
        return {"events": rows[0][0], "sessions": rows[0][1]}

    # -- internals ---------------------------------------------------------------------
    def _next_seq(self, table: str) -> int:
        return self._conn.execute(f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {table}").fetchone()[0]

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()
