"""The review ledger: the lead's overrides, the managers' disputes, and the audit trail of both.

Every change is one short transaction that also appends to ``audit`` (who, when, before, after, note); the audit
table refuses UPDATE and DELETE (triggers in the schema), so the trail is only ever appended to.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any, Literal, Optional

from pydantic import BaseModel

from compliance.errors import ReviewError
from compliance.history.store import Store
from compliance.scoring.result import CallRecord, StageResult

from .decisions import CONFIRM, STAGE, SWAP, load_decisions

Status = Literal["open", "accepted", "rejected"]


class Dispute(BaseModel):
    id: int
    call_id: str
    stage_id: str
    line: Optional[int] = None
    manager: str                       # the roster key of the call's manager
    by: str                            # the login that disputed
    comment: str
    status: Status = "open"
    at: str
    resolved_by: Optional[str] = None
    resolved_at: Optional[str] = None
    resolution: Optional[str] = None


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str
    action: str                        # override | dispute | dispute_accepted | dispute_rejected
    call_id: Optional[str] = None
    stage_id: Optional[str] = None
    line: Optional[int] = None
    before: Any = None
    after: Any = None
    note: str = ""


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def _audit(conn: sqlite3.Connection, actor: str, action: str, call_id: str, stage_id: str, line: Optional[int],
           before: Any, after: Any, note: str) -> None:
    conn.execute("INSERT INTO audit (at, actor, action, call_id, stage_id, line, before_json, after_json, note) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (_now(), actor, action, call_id, stage_id, line, json.dumps(before, ensure_ascii=False),
                  json.dumps(after, ensure_ascii=False), note))


def _stage_of(record: CallRecord, stage_id: str, line: Optional[int]) -> StageResult:
    stage = next((s for s in record.result.stages if s.id == stage_id), None)
    if stage is None:
        raise ReviewError(f"call {record.call_id}: no stage {stage_id!r} in its script "
                          f"(stages: {', '.join(s.id for s in record.result.stages) or 'none'})")
    if line is not None and not 0 <= line < len(stage.lines):
        raise ReviewError(f"call {record.call_id}: stage {stage_id!r} has no line {line + 1} (it has {len(stage.lines)})")
    return stage


def _state(stage: StageResult, line: Optional[int]) -> dict[str, Any]:
    """What a stage (or a line) is now, for the audit trail."""
    if line is None:
        return {"present": stage.present, "override": stage.override.model_dump() if stage.override else None}
    ln = stage.lines[line]
    return {"present": ln.override.present if ln.override else ln.found.value != "absent",
            "override": ln.override.model_dump() if ln.override else None}


def _call_or_fail(store: Store, call_id: str) -> CallRecord:
    record = store.call(call_id)
    if record is None:
        raise ReviewError(f"no call {call_id!r} in the history")
    if not record.result.connected:
        raise ReviewError(f"call {call_id}: not connected, nothing to review")
    return record


def _write_override(conn: sqlite3.Connection, record: CallRecord, stage_id: str, line: Optional[int], present: bool,
                    by: str, note: str, action: str) -> None:
    before = _state(_stage_of(record, stage_id, line), line)
    conn.execute("INSERT INTO overrides (call_id, stage_id, line, present, by_login, at, note) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_id, stage_id, line) DO UPDATE SET "
                 "present = excluded.present, by_login = excluded.by_login, at = excluded.at, note = excluded.note",
                 (record.call_id, stage_id, STAGE if line is None else line, int(present), by, _now(), note))
    _audit(conn, by, action, record.call_id, stage_id, line, before,
           {"present": present, "by": by, "note": note}, note)


def set_override(store: Store, call_id: str, stage_id: str, present: bool, *, by: str, note: str = "",
                 line: Optional[int] = None) -> CallRecord:
    """The lead marks a stage (or line ``line``, from 0) present or absent; returns the call as now scored.

    Raises:
        ReviewError: no such call, stage or line, or the call did not connect.
    """
    with store.transaction() as conn:
        record = _call_or_fail(store, call_id)
        _write_override(conn, record, stage_id, line, present, by, note, "override")
    after = store.call(call_id)
    assert after is not None
    return after


def _call_decision(store: Store, call_id: str, kind: str, present: bool, by: str, note: str) -> CallRecord:
    """A decision about the whole call (``CONFIRM``, ``SWAP``), kept with the stage decisions and audited."""
    with store.transaction() as conn:
        record = _call_or_fail(store, call_id)
        before = [d for d in load_decisions(conn, [call_id]).get(call_id, []) if d.stage_id == kind]
        conn.execute("INSERT INTO overrides (call_id, stage_id, line, present, by_login, at, note) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_id, stage_id, line) DO UPDATE SET "
                     "present = excluded.present, by_login = excluded.by_login, at = excluded.at, note = excluded.note",
                     (record.call_id, kind, STAGE, int(present), by, _now(), note))
        _audit(conn, by, "confirm" if kind == CONFIRM else "swap", record.call_id, kind, None,
               {"present": before[0].present if before else False}, {"present": present, "by": by}, note)
    after = store.call(call_id)
    assert after is not None
    return after


def confirm_flags(store: Store, call_id: str, *, by: str, note: str = "") -> CallRecord:
    """The lead checked a flagged call (speakers not separated, poor recognition…): it counts toward readiness.

    Raises:
        ReviewError: no such call, or it did not connect.
    """
    return _call_decision(store, call_id, CONFIRM, True, by, note)


def swap_parties(store: Store, call_id: str, *, by: str, note: str = "") -> CallRecord:
    """The lead says the parties of a one-channel call are the other way round; the next re-scoring (``compliance
    rescore``, the review app right after) scores the other party as the manager. A second swap undoes it.

    Raises:
        ReviewError: no such call, or it did not connect.
    """
    current = any(d.present for d in load_decisions(store.connection, [call_id]).get(call_id, [])
                  if d.stage_id == SWAP)
    return _call_decision(store, call_id, SWAP, not current, by, note)


def open_dispute(store: Store, call_id: str, stage_id: str, *, by: str, comment: str,
                 line: Optional[int] = None) -> Dispute:
    """A manager disputes the decision on a stage (or a line) of their call, with a comment."""
    if not comment.strip():
        raise ReviewError("a dispute needs a comment: say what the machine got wrong")
    with store.transaction() as conn:
        record = _call_or_fail(store, call_id)
        state = _state(_stage_of(record, stage_id, line), line)
        cur = conn.execute("INSERT INTO disputes (call_id, stage_id, line, manager, by_login, comment, at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (call_id, stage_id, STAGE if line is None else line, record.manager, by, comment, _now()))
        _audit(conn, by, "dispute", call_id, stage_id, line, state, {"status": "open"}, comment)
        assert cur.lastrowid is not None
        dispute_id = int(cur.lastrowid)
    return dispute(store, dispute_id)


def resolve_dispute(store: Store, dispute_id: int, *, by: str, accept: bool, note: str) -> Dispute:
    """The lead accepts a dispute (the disputed decision is overridden: present becomes absent and back) or
    rejects it with a reason.

    Raises:
        ReviewError: no such dispute, it is already resolved, or a rejection without a reason.
    """
    if not accept and not note.strip():
        raise ReviewError("a rejected dispute needs a reason")
    with store.transaction() as conn:
        found = dispute(store, dispute_id)
        if found.status != "open":
            raise ReviewError(f"dispute {dispute_id} is already {found.status}")
        status = "accepted" if accept else "rejected"
        if accept:
            record = _call_or_fail(store, found.call_id)
            current = _state(_stage_of(record, found.stage_id, found.line), found.line)["present"]
            _write_override(conn, record, found.stage_id, found.line, not current, by, note or found.comment,
                            "override")
        conn.execute("UPDATE disputes SET status = ?, resolved_by = ?, resolved_at = ?, resolution = ? WHERE id = ?",
                     (status, by, _now(), note, dispute_id))
        _audit(conn, by, f"dispute_{status}", found.call_id, found.stage_id, found.line, {"status": "open"},
               {"status": status, "dispute": dispute_id}, note)
    return dispute(store, dispute_id)


def _dispute(row: sqlite3.Row) -> Dispute:
    return Dispute(id=row["id"], call_id=row["call_id"], stage_id=row["stage_id"],
                   line=None if row["line"] == STAGE else row["line"], manager=row["manager"], by=row["by_login"],
                   comment=row["comment"], status=row["status"], at=row["at"], resolved_by=row["resolved_by"],
                   resolved_at=row["resolved_at"], resolution=row["resolution"])


def dispute(store: Store, dispute_id: int) -> Dispute:
    row = store.connection.execute("SELECT * FROM disputes WHERE id = ?", (dispute_id,)).fetchone()
    if row is None:
        raise ReviewError(f"no dispute {dispute_id}")
    return _dispute(row)


def disputes(store: Store, *, manager: Optional[str] = None, call_id: Optional[str] = None) -> list[Dispute]:
    """Disputes, open ones first, newest first within a status (only ``manager``'s or one call's, when given)."""
    where, args = [], []
    for cond, value in (("manager = ?", manager), ("call_id = ?", call_id)):
        if value is not None:
            where.append(cond)
            args.append(value)
    rows = store.connection.execute(
        f"SELECT * FROM disputes {'WHERE ' + ' AND '.join(where) if where else ''} "
        "ORDER BY status != 'open', at DESC, id DESC", args).fetchall()
    return [_dispute(r) for r in rows]


def audit_trail(store: Store, call_id: Optional[str] = None) -> list[AuditEntry]:
    """The audit trail, oldest first (one call's, when given)."""
    where, args = ("WHERE call_id = ?", [call_id]) if call_id else ("", [])
    rows = store.connection.execute(f"SELECT * FROM audit {where} ORDER BY id", args).fetchall()
    return [AuditEntry(id=r["id"], at=r["at"], actor=r["actor"], action=r["action"], call_id=r["call_id"],
                       stage_id=r["stage_id"], line=r["line"], before=json.loads(r["before_json"] or "null"),
                       after=json.loads(r["after_json"] or "null"), note=r["note"]) for r in rows]


def record_example(store: Store, call_id: str, stage_id: str, line: int, *, by: str, sentence: str,
                   file: str) -> None:
    """Note in the audit trail that the lead made a manager's sentence an example of a line."""
    with store.transaction() as conn:
        _audit(conn, by, "example", call_id, stage_id, line, None, {"example": sentence, "file": file}, sentence)
