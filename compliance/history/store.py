"""History in SQLite: every scored call with its transcript, failures, batches, managers.

One file (default ``./compliance.db``), WAL mode, schema versioned with ``PRAGMA user_version``.
Writes are short transactions (one call each), so a killed batch loses at most the call in flight
and two batches can share a database. Reports and re-scoring read everything from here.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from compliance.errors import StoreError
from compliance.scoring.result import CallRecord, CallResult
from compliance.scoring.transcript import Transcript
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason
from compliance.text.third_party import sqlite_reason

if TYPE_CHECKING:
    pass

from .bookkeeping import Bookkeeping
from .decisions import Decision, apply_decisions, load_decisions
from .identity import IdentityStore
from .pbx import PbxStore
from .schema import (
    MIGRATIONS,
    BatchInfo,
    CallMeta,
    CallState,
    DayCount,
    DaySales,
    Failure,
    ManagerRow,
    _split_sql,
    day_filter,
)
from .summaries import SummaryStore
from .vectors import EmbeddingStore

# The rows readers import from here (their home is ``schema``).
__all__ = ["BatchInfo", "CallMeta", "CallState", "DayCount", "DaySales", "Failure", "ManagerRow", "Store",
           "StoreError", "DEFAULT_DB", "schema_version"]

DEFAULT_DB = "compliance.db"


BUSY_TIMEOUT_MS = 60_000


def schema_version() -> int:
    """The schema version this code writes."""
    return len(MIGRATIONS)


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")



def _why_unusable(path: Path, exc: BaseException, read_only: bool) -> str:
    """The cause, in words a person can act on: the file, its folder, or what the file is."""
    folder = path.resolve().parent
    if not read_only and path.exists() and not os.access(path, os.W_OK):
        return say("err.store.read_only")
    if not read_only and not os.access(folder, os.W_OK):
        return say("err.store.folder_not_writable", folder=folder)
    if read_only and not os.access(path, os.R_OK):
        return say("err.store.unreadable")
    said = str(exc).lower()
    if "not a database" in said or "malformed" in said:   # SQLite's words for a damaged or foreign file
        return say("err.store.damaged")
    return say("err.store.not_a_database", why=sqlite_reason(exc))


class Store(SummaryStore, EmbeddingStore, Bookkeeping, IdentityStore, PbxStore):
    """The history database. Use as a context manager, or call :meth:`close`.

    Raises:
        StoreError: the file is not a database, is from a newer version, or cannot be opened.
    """

    def __init__(self, path: str | Path = DEFAULT_DB, *, read_only: bool = False) -> None:
        """Open (and create, and upgrade) the history; ``read_only`` opens an existing one as it is: no
        migration, no change of journal mode, no write (what export, daily, readiness and reports use)."""
        self.path = Path(path)
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(say("err.store.no_folder", path=self.path, why=os_reason(exc))) from None
        try:
            target = str(self.path)
            if read_only:
                # A folder that cannot be written holds no WAL index: read the file as it stands.
                frozen = not os.access(self.path.resolve().parent, os.W_OK)
                target = f"file:{self.path.resolve()}?mode=ro" + ("&immutable=1" if frozen else "")
            self._conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                         check_same_thread=False, uri=read_only)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._refuse_foreign()
            if read_only:
                self._check_version()
            else:
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
                self._conn.execute("PRAGMA foreign_keys = ON")
                self._migrate()
        except BaseException as exc:
            if hasattr(self, "_conn"):
                self._conn.close()
            if not isinstance(exc, sqlite3.DatabaseError):
                raise
            raise StoreError(say("err.store.unusable", path=self.path,
                                 why=_why_unusable(self.path, exc, read_only))) from None

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> "_Transaction":
        return _Transaction(self._conn)

    def _refuse_foreign(self) -> None:
        """Another program's database is never touched: no tables added, no journal mode changed."""
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and tables and "calls" not in tables:
            shown = ", ".join(sorted(tables)[:5]) + (" …" if len(tables) > 5 else "")
            raise StoreError(say("err.store.foreign", path=self.path, tables=shown))

    def _check_version(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(say("err.store.newer", path=self.path, version=version, known=len(MIGRATIONS)))

    def _migrate(self) -> None:
        with self._tx() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StoreError(say("err.store.newer", path=self.path, version=version, known=len(MIGRATIONS)))
            for target in range(version, len(MIGRATIONS)):
                step = MIGRATIONS[target]
                if callable(step):
                    step(conn)
                else:
                    for stmt in _split_sql(step):
                        conn.execute(stmt)
                conn.execute(f"PRAGMA user_version = {target + 1}")

    @property
    def version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def integrity_ok(self) -> bool:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- managers and scripts ----------------------------------------------------------------------
    def upsert_manager(self, row: ManagerRow) -> None:
        """Add or update a manager; an unknown one never overwrites a roster entry."""
        with self._tx() as conn:
            if not row.known:
                conn.execute("INSERT OR IGNORE INTO managers (id, name, level, since, known, updated_at) "
                             "VALUES (?, ?, ?, ?, 0, ?)", (row.id, row.name, row.level, row.since, _now()))
                return
            conn.execute(
                "INSERT INTO managers (id, name, level, since, known, updated_at) VALUES (?, ?, ?, ?, 1, ?) "
                "ON CONFLICT(id) DO UPDATE SET name = excluded.name, level = excluded.level, "
                "since = excluded.since, known = 1, updated_at = excluded.updated_at",
                (row.id, row.name, row.level, row.since, _now()),
            )

    def managers(self) -> list[ManagerRow]:
        rows = self._conn.execute("SELECT * FROM managers ORDER BY id").fetchall()
        return [ManagerRow(id=r["id"], name=r["name"], level=r["level"], since=r["since"], known=bool(r["known"]))
                for r in rows]

    def save_script(self, script: Any) -> None:
        """Keep each script version once, by content hash (so old calls can show what they were scored on)."""
        with self._tx() as conn:
            conn.execute("INSERT OR IGNORE INTO scripts (hash, id, title, script_json, first_seen) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (script.content_hash(), script.id, script.title,
                          script.model_dump_json(), _now()))

    def latest_scripts(self) -> dict[str, str]:
        """Script id → the JSON of its newest stored version."""
        rows = self._conn.execute("SELECT id, script_json FROM scripts ORDER BY first_seen, rowid").fetchall()
        return {row[0]: row[1] for row in rows}

    # -- calls -------------------------------------------------------------------------------------
    def stored_transcript_json(self, call_id: str) -> Optional[str]:
        row = self._conn.execute("SELECT transcript_json FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        return row[0] if row else None

    def stored_transcript(self, call_id: str) -> Optional[Transcript]:
        raw = self.stored_transcript_json(call_id)
        return Transcript.model_validate_json(raw) if raw else None

    def save_call(self, record: CallRecord, meta: CallMeta, batch_id: int | None = None,
                  outcome: str = "analysed", transcript_json: str | None = None) -> None:
        """Store one scored call (updating an older score or content of it in place) in one short transaction.

        ``transcript_json`` (already serialised) is stored instead of ``record.transcript`` when given.

        Raises:
            StoreError: another call already holds this source (a call keeps its id: find it, don't make one).
        """
        res = record.result
        talk = res.talk
        analysed_at = record.analysed_at or _now()
        values = {
            "call_id": record.call_id, "file": record.file, "kind": meta.kind, "audio": record.audio,
            "manager": record.manager, "manager_name": record.manager_name,
            "unknown_manager": int(meta.unknown_manager), "date": record.date, "time": record.time,
            "phone": meta.phone, "level": record.level,
            "attribution_json": json.dumps(meta.attribution, ensure_ascii=False),
            "script_id": res.script_id, "script_hash": res.script_hash, "script_choice": meta.script_choice,
            "score_key": meta.score_key, "model": record.model, "transcribe_key": meta.transcribe_key,
            "connected": int(res.connected), "not_connected_reason": res.not_connected_reason,
            "adherence": res.adherence, "coverage": res.coverage, "verdict": res.verdict,
            "band_min": res.band[0], "band_max": res.band[1], "order_ok": int(res.order_ok),
            "duration": res.duration, "flagged": len(res.flags), "structure": res.structure,
            "quality": res.quality.rating if res.quality else None,
            "talk_manager_share": talk.manager_share if talk else None,
            "talk_client_share": talk.client_share if talk else None,
            "talk_longest_monologue": talk.longest_manager_monologue if talk else None,
            "talk_interruptions": talk.interruptions if talk else None,
            "talk_silence": talk.silence if talk else None,
            "result_json": res.model_dump_json(),
            "transcript_json": transcript_json or (record.transcript.model_dump_json() if record.transcript else None),
            "batch_id": batch_id, "analysed_at": analysed_at,
        }
        values.update(source_root=meta.source_root, source_key=meta.source_key or record.file,
                      content_hash=meta.content_hash or record.call_id)
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        update = ", ".join(f"{c} = excluded.{c}" for c in values if c != "call_id")
        with self._tx() as conn:
            holder = conn.execute("SELECT call_id FROM calls WHERE source_root = ? AND source_key = ?",
                                  (values["source_root"], values["source_key"])).fetchone()
            if holder is not None and holder[0] != record.call_id:
                raise StoreError(say("err.store.other_id", file=record.file, holder=holder[0], call=record.call_id))
            # The same call (its id) updated in place: the lead's decisions, disputes and CRM notes stay with it.
            for table in ("stage_results", "line_results", "forbidden_hits"):
                conn.execute(f"DELETE FROM {table} WHERE call_id = ?", (record.call_id,))
            conn.execute(f"INSERT INTO calls ({cols}) VALUES ({marks}) ON CONFLICT (call_id) DO UPDATE SET {update}",
                         tuple(values.values()))
            conn.executemany(
                "INSERT INTO stage_results (call_id, stage_id, position, title, required, applies, present, "
                "score, start) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(record.call_id, s.id, i, s.title, int(s.required), int(s.applies), int(s.present), s.score,
                  s.start) for i, s in enumerate(res.stages)])
            conn.executemany(
                "INSERT INTO line_results (call_id, stage_id, position, text, similarity, matched, start) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(record.call_id, s.id, j, ln.text, ln.similarity, ln.matched, ln.start)
                 for s in res.stages for j, ln in enumerate(s.lines)])
            conn.executemany(
                "INSERT INTO forbidden_hits (call_id, position, phrase, matched, start) VALUES (?, ?, ?, ?, ?)",
                [(record.call_id, i, h.phrase, h.matched, h.start) for i, h in enumerate(res.forbidden)])
            if batch_id is not None:
                conn.execute("INSERT OR REPLACE INTO batch_calls (batch_id, call_id, outcome) VALUES (?, ?, ?)",
                             (batch_id, record.call_id, outcome))
            conn.execute("UPDATE failures SET resolved = 1 WHERE resolved = 0 AND (file = ? OR content_hash = ?)",
                         (record.file, values["content_hash"]))
            self.refresh_decided([record.call_id])   # a re-scored call: its decisions applied to the new score

    def _record(self, row: sqlite3.Row, with_transcript: bool, decisions: list[Decision]) -> CallRecord:
        """A stored call as every reader sees it: the lead's decisions applied, the machine's result beside."""
        transcript = None
        if with_transcript and row["transcript_json"]:
            transcript = Transcript.model_validate_json(row["transcript_json"])
        machine = CallResult.model_validate_json(row["result_json"])
        result = apply_decisions(machine, decisions, self.script_line_ids(machine.script_hash) if decisions else None)
        return CallRecord(
            call_id=row["call_id"], file=row["file"], manager=row["manager"], manager_name=row["manager_name"],
            date=row["date"], time=row["time"], level=row["level"],
            result=result, transcript=transcript, machine=machine if result is not machine else None,
            audio=row["audio"], model=row["model"], analysed_at=row["analysed_at"],
        )

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection, for the review ledger's own tables (compliance.review)."""
        return self._conn

    def transaction(self) -> "_Transaction":
        """A short write transaction (``with store.transaction() as conn:``)."""
        return self._tx()

    def calls(self, since: str | dt.date | None = None, until: str | dt.date | None = None,
              manager: str | None = None, *, batch_id: int | None = None,
              with_transcripts: bool = True) -> list[CallRecord]:
        """Stored calls in time order; ``since``/``until`` are inclusive ISO dates.

        ``batch_id`` limits to the calls a batch saw (analysed, re-scored or skipped as unchanged).
        """
        where: list[str] = []
        args: list[Any] = []
        if since:
            where.append("c.date >= ?")
            args.append(str(since))
        if until:
            where.append("c.date <= ?")
            args.append(str(until))
        if manager:
            where.append("c.manager = ?")
            args.append(manager)
        join = ""
        if batch_id is not None:
            join = "JOIN batch_calls b ON b.call_id = c.call_id AND b.batch_id = ?"
            args.insert(0, batch_id)
        cols = "c.*" if with_transcripts else "c.*, NULL AS transcript_json"
        sql = (f"SELECT {cols} FROM calls c {join} {'WHERE ' + ' AND '.join(where) if where else ''} "
               "ORDER BY c.date, c.time, c.file")
        rows = self._conn.execute(sql, args).fetchall()
        decisions = load_decisions(self._conn)
        return [self._record(r, with_transcripts, decisions.get(r["call_id"], [])) for r in rows]

    def call(self, call_id: str) -> Optional[CallRecord]:
        row = self._conn.execute("SELECT * FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        return self._record(row, True, load_decisions(self._conn, [call_id]).get(call_id, [])) if row else None

    def call_meta(self, call_id: str) -> Optional[CallMeta]:
        row = self._conn.execute("SELECT * FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        if row is None:
            return None
        return CallMeta(kind=row["kind"], phone=row["phone"], unknown_manager=bool(row["unknown_manager"]),
                        script_choice=row["script_choice"], score_key=row["score_key"],
                        transcribe_key=row["transcribe_key"],
                        attribution=json.loads(row["attribution_json"] or "{}"),
                        **({k: row[k] for k in ("source_key", "content_hash")} if "content_hash" in row.keys()
                           else {}), source_root=row["source_root"] or "" if "source_root" in row.keys() else "")

    def daily_counts(self, manager: str | None = None, since: str | None = None,
                     until: str | None = None) -> list[DayCount]:
        """Calls and chats, and how many of each connected, per manager per day; where the PBX reported the day,
        its calls (unanswered ones too) and dials count (``history.pbx``)."""
        where, args = day_filter("", manager, since, until, "date IS NOT NULL")
        rows = self._conn.execute(
            "SELECT manager, date, SUM(kind != 'chat') AS calls, SUM(connected AND kind != 'chat') AS connected, "
            "SUM(kind = 'chat') AS chats, SUM(connected AND kind = 'chat') AS replied FROM calls "
            f"WHERE {where} GROUP BY manager, date ORDER BY date, manager", args).fetchall()
        counts = [DayCount(manager=r["manager"], date=r["date"], calls=r["calls"] or 0, connected=r["connected"] or 0,
                           chats=r["chats"] or 0, chats_replied=r["replied"] or 0) for r in rows]
        return self.with_pbx_counts(counts, manager, since, until)

    def has_calls(self, manager: str) -> bool:
        """Whether any call or chat of ``manager`` is stored (one index probe, not a read of their calls)."""
        return self._conn.execute("SELECT 1 FROM calls WHERE manager = ? LIMIT 1", (manager,)).fetchone() is not None

    def has_table(self, name: str) -> bool:
        """Whether the history has this table (an older one, opened read-only, may not)."""
        return self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                  (name,)).fetchone() is not None

    def open_disputes(self) -> Optional[dict[str, int]]:
        """Open disputes per call id (``compliance.review.ledger`` writes them); None when the history is an old
        one opened read-only, without the ``disputes`` table."""
        if not self.has_table("disputes"):
            return None
        try:
            rows = self._conn.execute("SELECT call_id, COUNT(*) FROM disputes WHERE status = 'open' GROUP BY call_id")
            return {r[0]: r[1] for r in rows}
        except sqlite3.OperationalError:
            return None

    # -- tables other subpackages keep here (crm) ----------------------------------------------------
    def query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one query over a table a subpackage owns (its SQL stays with it)."""
        return self._conn.execute(sql, tuple(args)).fetchall()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> None:
        """One write to such a table, in its own short transaction."""
        with self._tx() as conn:
            conn.execute(sql, tuple(args))

class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (rollback on error): take the write lock up front, hold it briefly."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        # SQLite may have rolled back already (a full disk, SQLITE_FULL): a second ROLLBACK would raise and hide
        # the real cause ("cannot rollback - no transaction is active").
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
