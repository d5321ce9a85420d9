"""Optional on-disk spool: events that could not be delivered survive an outage and a restart.

Off by default; on with `spool_dir=` (or `HONEYHIVE_SPOOL_DIR`). When an export gives up on
events the server never answered for (retries and the export timeout exhausted, connection
refused, shutdown with HoneyHive unreachable), they are written here instead of being
dropped; events the server *rejected* (4xx) are not, since sending them again cannot help.

Layout: one file per failed export attempt, `<time_ns>-<pid>-<seq>-<events>.jsonl`, written
under a temporary name and renamed into place (a reader never sees half a file). Lines are
`{"session": StartSessionRequest}` for sessions the server has not confirmed yet, then
`{"event": PostEventRequest}`: the exact bodies that would have been sent, already scrubbed.

Replay (next start, and opportunistically after a successful export): oldest file first; a
file is claimed by renaming it to `<name>.claimed-<pid>` (two processes never replay the same
file), its sessions are created, its events sent; the file is deleted only once every event
was accepted or rejected. Events still undeliverable are written back as a new file. Event
ids are deterministic, so a replayed event is the same event, not a copy.

Bounded: beyond `max_bytes` the oldest files are deleted, and their events counted as dropped
(`spool_full`). Claims and temporary files left by a dead process are recovered at start.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .stats import ExportStats, RateLimitedLog, logger

DEFAULT_MAX_BYTES = 100 * 2**20
SUFFIX = ".jsonl"
_CLAIM = ".claimed-"
_TMP = ".tmp-"


@dataclass
class SpooledBatch:
    """The content of one spool file."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    events: list[bytes] = field(default_factory=list)  # encoded PostEventRequest bodies
    event_ids: list[str] = field(default_factory=list)


# deliver(batch) -> indices of events to keep for later, or None when nothing could be sent now.
Deliver = Callable[[SpooledBatch], "list[int] | None"]


class Spool:
    """A directory of undelivered events, bounded in bytes. Thread- and process-safe."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES,
                 stats: ExportStats | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.max_bytes = max(1, int(max_bytes))
        self.stats = stats or ExportStats()
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._log = RateLimitedLog()
        self.recover()

    # ----- writing -----------------------------------------------------------------
    def write(self, sessions: list[bytes], events: list[bytes]) -> bool:
        """Keep encoded sessions and events as one new file; False (events counted as dropped) if impossible."""
        if not events:
            return True
        if self._write_file(sessions, events):
            self.stats.add("spooled", len(events))
            return True
        return False

    def _write_file(self, sessions: list[bytes], events: list[bytes], count_drops: bool = True) -> bool:
        data = b"".join([*(b'{"session":' + s + b"}\n" for s in sessions),
                         *(b'{"event":' + e + b"}\n" for e in events)])
        if len(data) > self.max_bytes:
            if count_drops:
                self._drop("spool_full", len(events), "an export attempt is larger than spool_max_bytes")
            return False
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(self._seq)}-{len(events)}{SUFFIX}"
        tmp = self.directory / f"{_TMP}{os.getpid()}-{name}"
        try:
            with self._lock:
                self._make_room(len(data))
                with open(tmp, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.directory / name)
        except OSError as error:
            _unlink(tmp)
            if count_drops:
                self._drop("spool_error", len(events), f"cannot write the spool: {type(error).__name__}")
            return False
        return True

    def _make_room(self, incoming: int) -> None:
        """Delete the oldest unclaimed files until `incoming` more bytes fit (their events counted)."""
        files = []
        total = 0
        for entry in self._entries():
            size = entry.stat().st_size
            total += size
            if entry.name.endswith(SUFFIX):
                files.append((entry.name, size))
        files.sort()
        for name, size in files:
            if total + incoming <= self.max_bytes:
                return
            if _unlink(self.directory / name):
                total -= size
                self._drop("spool_full", _event_count(name), "spool full: dropped its oldest events")

    # ----- replay ------------------------------------------------------------------
    def pending(self) -> list[Path]:
        """Unclaimed spool files, oldest first."""
        try:
            return sorted((Path(e.path) for e in self._entries() if e.name.endswith(SUFFIX)), key=lambda p: p.name)
        except OSError:
            return []

    def replay(self, deliver: Deliver, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Hand spooled files to `deliver`, oldest first, until one cannot be delivered; returns files done."""
        done = 0
        for path in self.pending():
            if should_stop():
                break
            claimed = self._claim(path)
            if claimed is None:
                continue  # another process or thread took it
            try:
                batch = self._read(claimed)
                keep = deliver(batch)
            except Exception:  # noqa: BLE001 - a broken file must not stop the exporter
                logger.debug("spool replay failed for %s", claimed.name, exc_info=True)
                keep = None
            if keep is None:
                self._release(claimed, path)
                break
            if keep:  # the same events, moved to a new file (already counted as spooled)
                kept_sessions = [json.dumps(s, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                                 for s in batch.sessions]
                if not self._write_file(kept_sessions, [batch.events[i] for i in keep], count_drops=False):
                    self._release(claimed, path)
                    break
            _unlink(claimed)
            done += 1
            if keep:
                break
        return done

    def _claim(self, path: Path) -> Path | None:
        claimed = path.with_name(f"{path.name}{_CLAIM}{os.getpid()}")
        try:
            os.rename(path, claimed)
        except OSError:
            return None
        return claimed

    def _release(self, claimed: Path, original: Path) -> None:
        try:
            os.rename(claimed, original)
        except OSError:
            logger.debug("could not release spool file %s", claimed.name, exc_info=True)

    def _read(self, path: Path) -> SpooledBatch:
        batch = SpooledBatch()
        corrupt = 0
        with open(path, "rb") as handle:
            for line in handle:
                try:
                    item = json.loads(line)
                    if "event" in item:
                        event = item["event"]
                        batch.events.append(json.dumps(event, ensure_ascii=False, separators=(",", ":"),
                                                       allow_nan=False).encode("utf-8"))
                        batch.event_ids.append(str(event.get("event_id", "")))
                    elif "session" in item:
                        batch.sessions.append(item["session"])
                except (ValueError, TypeError, AttributeError):
                    corrupt += 1
        if corrupt:
            self._drop("spool_corrupt", corrupt, "unreadable lines in a spool file")
        return batch

    # ----- housekeeping ------------------------------------------------------------
    def recover(self) -> None:
        """Give back claims and remove temporary files of processes that died."""
        try:
            entries = list(self._entries())
        except OSError:
            return
        for entry in entries:
            name = entry.name
            if _CLAIM in name:
                original, _, pid = name.rpartition(_CLAIM)
                if not _alive(pid):
                    try:
                        os.rename(entry.path, self.directory / original)
                    except OSError:
                        pass
            elif name.startswith(_TMP):
                pid = name[len(_TMP):].split("-", 1)[0]
                if not _alive(pid):
                    _unlink(Path(entry.path))

    def size(self) -> int:
        try:
            return sum(entry.stat().st_size for entry in self._entries())
        except OSError:
            return 0

    def _entries(self) -> list[os.DirEntry[str]]:
        with os.scandir(self.directory) as it:
            return [entry for entry in it if entry.is_file()]

    def _drop(self, reason: str, count: int, message: str) -> None:
        self.stats.drop(reason, count)
        self.stats.error(message)
        self._log.warning(f"spool-{reason}", "honeyhive-otel dropped %d spooled events: %s", count, message)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._log = RateLimitedLog()


def _event_count(name: str) -> int:
    try:
        return int(name[: -len(SUFFIX)].rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def _alive(pid: str) -> bool:
    try:
        number = int(pid)
    except ValueError:
        return False
    if number == os.getpid():
        return True
    try:
        os.kill(number, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except OSError:
        return False
