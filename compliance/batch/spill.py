"""A batch's plan on disk: the files found, the jobs planned and the identities taken in this run, kept in a
private temporary SQLite database (deleted when closed, or by the system when the process dies), so the main
process holds a bounded amount whatever the number of files.

A job is kept pickled without its roster manager and script (shared objects, found again by key when the job is
read back); what the plan sorts by (a path's parts, a chat's size, a recording's length) is kept in columns.
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Protocol

if TYPE_CHECKING:
    from compliance.history.schema import CallState
    from compliance.scoring.script import SalesScript

    from .plan import _Job

_TABLES = """
CREATE TABLE paths (key BLOB PRIMARY KEY, path BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE found (seq INTEGER PRIMARY KEY, stored INTEGER NOT NULL, size INTEGER NOT NULL,
                    no_manager INTEGER NOT NULL, job BLOB NOT NULL, state BLOB);
CREATE TABLE taken (call_id TEXT PRIMARY KEY, file TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE owners (content_hash TEXT PRIMARY KEY, file TEXT NOT NULL, call_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE jobs (seq INTEGER PRIMARY KEY, lane TEXT NOT NULL, duration REAL NOT NULL, job BLOB NOT NULL);
CREATE INDEX jobs_lane ON jobs (lane);
"""
_CHUNK = 256  # rows read back at a time


def path_key(path: Path) -> bytes:
    """A key whose byte order is ``sorted()``'s order of paths (part by part; UTF-8 keeps code point order)."""
    return "\0".join(path.parts).encode("utf-8", "surrogatepass")


class PlanSpill:
    """The plan of one batch run, on disk."""

    def __init__(self, unpack: Callable[["_Job", Optional[str]], "_Job"]) -> None:
        # "": a private temporary database on disk, removed when the connection closes.
        self.conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = OFF")
        self.conn.execute("PRAGMA synchronous = OFF")
        self.conn.execute("PRAGMA cache_size = -4096")  # 4 MB of pages in memory; the rest stays on disk
        self.conn.executescript(_TABLES)
        self._unpack = unpack
        self.scripts: dict[str, SalesScript] = {}     # the scripts the planned jobs name, by content hash

    def close(self) -> None:
        self.conn.close()

    # -- the files found ---------------------------------------------------------------------------------
    def add_path(self, path: Path) -> None:
        # The path as bytes: a name need not be UTF-8.
        self.conn.execute("INSERT OR IGNORE INTO paths (key, path) VALUES (?, ?)", (path_key(path), os.fsencode(path)))

    def path_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM paths").fetchone()[0])

    def paths(self) -> Iterator[Path]:
        """Every path found, sorted as ``sorted()`` sorts paths."""
        for (raw,) in self._rows("SELECT path FROM paths ORDER BY key"):
            yield Path(os.fsdecode(raw))

    # -- jobs and what the history holds of them ---------------------------------------------------------
    def _pack(self, job: _Job) -> bytes:
        if job.script is not None:
            self.scripts.setdefault(job.script.content_hash(), job.script)
        bare = dataclasses.replace(job, manager=None, script=None)
        return pickle.dumps((bare, job.script.content_hash() if job.script else None), pickle.HIGHEST_PROTOCOL)

    def _job(self, blob: bytes) -> _Job:
        bare, script = pickle.loads(blob)
        return self._unpack(bare, script)

    def add_found(self, job: _Job, state: Optional[CallState]) -> None:
        self.conn.execute("INSERT INTO found (stored, size, no_manager, job, state) VALUES (?, ?, ?, ?, ?)",
                          (state is not None, job.size, job.manager is None, self._pack(job),
                           pickle.dumps(state, pickle.HIGHEST_PROTOCOL) if state is not None else None))

    def stored(self) -> Iterator[tuple[_Job, CallState]]:
        """Jobs of calls the history holds: the fuller export of a chat first, else in the order found."""
        for blob, state in self._rows("SELECT job, state FROM found WHERE stored ORDER BY size DESC, seq"):
            yield self._job(blob), pickle.loads(state)

    def new(self) -> Iterator[_Job]:
        """Jobs of new calls: a roster manager's copy of a content first, else in the order found."""
        for (blob,) in self._rows("SELECT job FROM found WHERE NOT stored ORDER BY no_manager, seq"):
            yield self._job(blob)

    # -- identities taken in this run --------------------------------------------------------------------
    def taken(self, call_id: str) -> Optional[str]:
        row = self.conn.execute("SELECT file FROM taken WHERE call_id = ?", (call_id,)).fetchone()
        return row[0] if row else None

    def take(self, call_id: str, file: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO taken (call_id, file) VALUES (?, ?)", (call_id, file))

    def owner(self, content_hash: str) -> Optional[tuple[str, str]]:
        row = self.conn.execute("SELECT file, call_id FROM owners WHERE content_hash = ?", (content_hash,)).fetchone()
        return (row[0], row[1]) if row else None

    def own(self, content_hash: str, file: str, call_id: str) -> None:
        """The first place of a content in this run (a later one does not replace it)."""
        self.conn.execute("INSERT OR IGNORE INTO owners (content_hash, file, call_id) VALUES (?, ?, ?)",
                          (content_hash, file, call_id))

    # -- the plan's outcome --------------------------------------------------------------------------------
    def put(self, lane: str, job: _Job) -> None:
        """``lane``: skip, audio (recordings to transcribe) or local (transcripts, chats, re-scores)."""
        self.conn.execute("INSERT INTO jobs (lane, duration, job) VALUES (?, ?, ?)",
                          (lane, job.duration, self._pack(job)))

    def lane(self, name: str) -> "Lane":
        return Lane(self, name)

    def audio_seconds(self) -> float:
        return float(self.conn.execute("SELECT COALESCE(SUM(duration), 0) FROM jobs WHERE lane = 'audio'").fetchone()[0])

    def _rows(self, sql: str, args: tuple = ()) -> Iterator[tuple]:
        cursor = self.conn.execute(sql, args)
        while rows := cursor.fetchmany(_CHUNK):
            yield from rows


class Jobs(Protocol):
    """Jobs that can be counted and read in order: a list, or a plan's lane on disk."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[_Job]: ...


class Lane:
    """The jobs of one lane, read back from disk as they are iterated (recordings the longest first)."""

    def __init__(self, spill: PlanSpill, name: str) -> None:
        self.spill, self.name = spill, name

    def __len__(self) -> int:
        return int(self.spill.conn.execute("SELECT COUNT(*) FROM jobs WHERE lane = ?", (self.name,)).fetchone()[0])

    def __bool__(self) -> bool:
        return self.spill.conn.execute("SELECT 1 FROM jobs WHERE lane = ? LIMIT 1", (self.name,)).fetchone() is not None

    def __iter__(self) -> Iterator[_Job]:
        order = "duration DESC, seq" if self.name == "audio" else "seq"
        for (blob,) in self.spill._rows(f"SELECT job FROM jobs WHERE lane = ? ORDER BY {order}", (self.name,)):
            yield self.spill._job(blob)
