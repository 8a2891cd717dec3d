"""Where a call came from, apart from what it holds: finding a stored call by its source, its content's copies
elsewhere (duplicates), and the line ids of the script versions calls were scored with.

A batch finds a file's stored call by (the folder it walked, the path under it), or a chat by its chat id, or
else by the file's absolute path (a history from before identities, or a batch over a folder above or below the
first one). The same content under another source is a duplicate: listed with both places, scored once.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import TYPE_CHECKING, Optional

from pydantic import BaseModel

from .schema import CallState

if TYPE_CHECKING:
    from .store import _Transaction


def script_line_ids(conn: sqlite3.Connection, script_hash: str) -> Optional[dict[str, list[str]]]:
    """Stage id → line ids of a stored script version (None when that version is not stored or unreadable)."""
    from compliance.scoring.script import SalesScript

    row = conn.execute("SELECT script_json FROM scripts WHERE hash = ?", (script_hash,)).fetchone()
    try:
        return SalesScript.model_validate_json(row[0]).line_ids() if row else None
    except ValueError:
        return None


class Duplicate(BaseModel):
    """A file whose content is already stored as another call: where it is, and the call that was scored."""

    file: str
    source_root: str
    source_key: str
    content_hash: str
    call_id: str
    scored_file: str = ""              # the place the call was scored from
    manager: Optional[str] = None      # where this copy would have been attributed
    date: Optional[str] = None
    first_seen: str
    last_seen: str


_STATE = ("SELECT call_id, file, score_key, transcribe_key, transcript_json IS NOT NULL AS has_t, content_hash, "
          "source_root, source_key FROM calls")


def _state(r: sqlite3.Row) -> CallState:
    return CallState(call_id=r["call_id"], file=r["file"], score_key=r["score_key"], transcribe_key=r["transcribe_key"],
                     has_transcript=bool(r["has_t"]), content_hash=r["content_hash"],
                     source_root=r["source_root"] or "", source_key=r["source_key"])


class SourceIndex:
    """Every stored call by source, by absolute file and by content: one query for a whole batch."""

    def __init__(self, states: list[CallState]) -> None:
        self.by_source = {(s.source_root, s.source_key): s for s in states}
        self.by_file = {s.file: s for s in states}
        self.by_content: dict[str, CallState] = {}
        for s in states:
            self.by_content.setdefault(s.content_hash or s.call_id, s)

    def find(self, root: str, keys: list[str], file: str) -> Optional[CallState]:
        """The stored call of this source (its first key that is stored), else of this file."""
        for key in keys:
            if (root, key) in self.by_source:
                return self.by_source[(root, key)]
        return self.by_file.get(file)


class IdentityStore:
    """Identity queries; mixed into ``Store`` (which opens ``_conn``)."""

    _conn: sqlite3.Connection
    _line_ids: dict[str, Optional[dict[str, list[str]]]]

    def _tx(self) -> "_Transaction":
        raise NotImplementedError

    def source_index(self) -> SourceIndex:
        return SourceIndex([_state(r) for r in self._conn.execute(_STATE)])

    def find_source(self, root: str, keys: list[str], file: str) -> Optional[CallState]:
        """``SourceIndex.find`` for one file, by index (a batch then holds no index of the whole history)."""
        for key in keys:
            row = self._conn.execute(_STATE + " WHERE source_root = ? AND source_key = ?", (root, key)).fetchone()
            if row is not None:
                return _state(row)
        row = self._conn.execute(_STATE + " WHERE file = ? ORDER BY rowid DESC LIMIT 1", (file,)).fetchone()
        return _state(row) if row else None

    def content_owner(self, content_hash: str) -> Optional[tuple[str, str]]:
        """(file, call id) of the stored call first holding this content (``SourceIndex.by_content``), by index."""
        row = self._conn.execute(
            "SELECT rowid, file, call_id FROM calls WHERE content_hash = ?1 UNION ALL "
            "SELECT rowid, file, call_id FROM calls WHERE call_id = ?1 AND content_hash IS NULL "
            "ORDER BY 1 LIMIT 1", (content_hash,)).fetchone()
        return (row[1], row[2]) if row else None

    def call_states(self) -> dict[str, CallState]:
        """Every stored call's state, by id (one query for a whole batch)."""
        return {r["call_id"]: _state(r) for r in self._conn.execute(_STATE)}

    def call_state(self, call_id: str) -> Optional[CallState]:
        row = self._conn.execute(_STATE + " WHERE call_id = ?", (call_id,)).fetchone()
        return _state(row) if row else None

    def script_line_ids(self, script_hash: str) -> Optional[dict[str, list[str]]]:
        """Stage id → line ids of a stored script version (None when that version is not stored)."""
        cache = self.__dict__.setdefault("_line_ids", {})
        if script_hash not in cache:
            cache[script_hash] = script_line_ids(self._conn, script_hash)
        return cache[script_hash]

    def note_duplicate(self, dup: Duplicate, batch_id: Optional[int]) -> None:
        """Keep (or refresh) a duplicate: the first time it was seen stays."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO duplicates (source_root, source_key, file, content_hash, call_id, manager, date, "
                "first_seen, last_seen, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (source_root, source_key) DO UPDATE SET file = excluded.file, "
                "content_hash = excluded.content_hash, call_id = excluded.call_id, manager = excluded.manager, "
                "date = excluded.date, last_seen = excluded.last_seen, batch_id = excluded.batch_id",
                (dup.source_root, dup.source_key, dup.file, dup.content_hash, dup.call_id, dup.manager, dup.date,
                 dup.first_seen, dup.last_seen, batch_id))

    def duplicates(self, batch_id: Optional[int] = None) -> list[Duplicate]:
        """Copies of stored calls (of one batch, when given), with the place each call was scored from."""
        try:
            rows = self._conn.execute(
                "SELECT d.*, c.file AS scored FROM duplicates d LEFT JOIN calls c ON c.call_id = d.call_id "
                "WHERE ? IS NULL OR d.batch_id = ? ORDER BY d.file", (batch_id, batch_id)).fetchall()
        except sqlite3.OperationalError:  # an older history opened read-only
            return []
        return [Duplicate(file=r["file"], source_root=r["source_root"], source_key=r["source_key"],
                          content_hash=r["content_hash"], call_id=r["call_id"], scored_file=r["scored"] or "",
                          manager=r["manager"], date=r["date"], first_seen=r["first_seen"], last_seen=r["last_seen"])
                for r in rows]


def now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")
