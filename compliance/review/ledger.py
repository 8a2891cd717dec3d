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
from compliance.history.decisions import CONFIRM, STAGE, SWAP, WHOLE_STAGE, load_decisions
from compliance.history.store import Store
from compliance.scoring.result import CallRecord, StageResult
from compliance.scoring.script import derived_line_id
from compliance.text.catalogue import say

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
    stale: bool = False                # the call's content changed after the dispute was opened


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str
    action: str                        # override | confirm | drop | dispute | dispute_accepted | dispute_rejected | example
    call_id: Optional[str] = None
    stage_id: Optional[str] = None
    line: Optional[int] = None
    line_id: Optional[str] = None
    before: Any = None
    after: Any = None
    note: str = ""


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def _audit(conn: sqlite3.Connection, actor: str, action: str, call_id: str, stage_id: str, line: Optional[int],
           before: Any, after: Any, note: str, line_id: Optional[str] = None) -> None:
    """Append one entry (a plain INSERT: a trigger refuses UPDATE, DELETE and a REPLACE of an entry)."""
    conn.execute("INSERT INTO audit (at, actor, action, call_id, stage_id, line, line_id, before_json, after_json, "
                 "note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (_now(), actor, action, call_id, stage_id, line, line_id, json.dumps(before, ensure_ascii=False),
                  json.dumps(after, ensure_ascii=False), note))


def _line_key(store: Store, record: CallRecord, stage: StageResult, line: Optional[int]) -> tuple[str, str]:
    """(line id, line text) of line ``line`` (from 0) of a call's stage: the id its script version gives it."""
    if line is None:
        return WHOLE_STAGE, ""
    ids = (store.script_line_ids(record.result.script_hash) or {}).get(stage.id)
    text = stage.lines[line].text
    return (ids[line] if ids and len(ids) == len(stage.lines) else derived_line_id(text)), text


def _content_of(conn: sqlite3.Connection, call_id: str) -> Optional[str]:
    row = conn.execute("SELECT content_hash FROM calls WHERE call_id = ?", (call_id,)).fetchone()
    return row[0] if row else None


def _stage_of(record: CallRecord, stage_id: str, line: Optional[int]) -> StageResult:
    stage = next((s for s in record.result.stages if s.id == stage_id), None)
    if stage is None:
        raise ReviewError(say("err.review.no_stage", call=record.call_id, stage=repr(stage_id),
                              stages=", ".join(s.id for s in record.result.stages) or "—"))
    if line is not None and not 0 <= line < len(stage.lines):
        raise ReviewError(say("err.review.no_line", call=record.call_id, stage=repr(stage_id), line=line + 1,
                              lines=len(stage.lines)))
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
        raise ReviewError(say("err.review.no_call", call=repr(call_id)))
    if not record.result.connected:
        raise ReviewError(say("err.review.not_connected", call=call_id))
    return record


def _write_override(store: Store, conn: sqlite3.Connection, record: CallRecord, stage_id: str, line: Optional[int],
                    present: bool, by: str, note: str, action: str) -> None:
    stage = _stage_of(record, stage_id, line)
    before = _state(stage, line)
    line_id, text = _line_key(store, record, stage, line)
    conn.execute("INSERT INTO overrides (call_id, stage_id, line_id, line, line_text, present, by_login, at, note, "
                 "content_hash, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active') "
                 "ON CONFLICT (call_id, stage_id, line_id) DO UPDATE SET line = excluded.line, "
                 "line_text = excluded.line_text, present = excluded.present, by_login = excluded.by_login, "
                 "at = excluded.at, note = excluded.note, content_hash = excluded.content_hash, status = 'active'",
                 (record.call_id, stage_id, line_id, STAGE if line is None else line, text, int(present), by, _now(),
                  note, _content_of(conn, record.call_id)))
    store.refresh_decided([record.call_id])   # the corrected adherence the team page sums, in this transaction
    _audit(conn, by, action, record.call_id, stage_id, line, before,
           {"present": present, "by": by, "note": note}, note, line_id or None)


def set_override(store: Store, call_id: str, stage_id: str, present: bool, *, by: str, note: str = "",
                 line: Optional[int] = None) -> CallRecord:
    """The lead marks a stage (or line ``line``, from 0) present or absent; returns the call as now scored.

    Raises:
        ReviewError: no such call, stage or line, or the call did not connect.
    """
    with store.transaction() as conn:
        record = _call_or_fail(store, call_id)
        _write_override(store, conn, record, stage_id, line, present, by, note, "override")
    after = store.call(call_id)
    assert after is not None
    return after


def _call_decision(store: Store, call_id: str, kind: str, present: bool, by: str, note: str) -> CallRecord:
    """A decision about the whole call (``CONFIRM``, ``SWAP``), kept with the stage decisions and audited."""
    with store.transaction() as conn:
        record = _call_or_fail(store, call_id)
        before = [d for d in load_decisions(conn, [call_id]).get(call_id, []) if d.stage_id == kind]
        conn.execute("INSERT INTO overrides (call_id, stage_id, line_id, line, present, by_login, at, note, "
                     "content_hash, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active') "
                     "ON CONFLICT (call_id, stage_id, line_id) DO UPDATE SET present = excluded.present, "
                     "by_login = excluded.by_login, at = excluded.at, note = excluded.note, "
                     "content_hash = excluded.content_hash, status = 'active'",
                     (record.call_id, kind, WHOLE_STAGE, STAGE, int(present), by, _now(), note,
                      _content_of(conn, record.call_id)))
        store.refresh_decided([record.call_id])
        _audit(conn, by, "confirm_flags" if kind == CONFIRM else "swap", record.call_id, kind, None,
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
        raise ReviewError(say("err.review.dispute_comment"))
    with store.transaction() as conn:
        record = _call_or_fail(store, call_id)
        stage = _stage_of(record, stage_id, line)
        state = _state(stage, line)
        line_id = _line_key(store, record, stage, line)[0]
        cur = conn.execute("INSERT INTO disputes (call_id, stage_id, line, line_id, manager, by_login, comment, at, "
                           "content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (call_id, stage_id, STAGE if line is None else line, line_id, record.manager, by, comment,
                            _now(), _content_of(conn, call_id)))
        _audit(conn, by, "dispute", call_id, stage_id, line, state, {"status": "open"}, comment, line_id or None)
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
        raise ReviewError(say("err.review.reject_reason"))
    with store.transaction() as conn:
        found = dispute(store, dispute_id)
        if found.status != "open":
            raise ReviewError(say("err.review.dispute_done", dispute=dispute_id,
                                  status=say(f"review.status.{found.status}")))
        status = "accepted" if accept else "rejected"
        if accept:
            record = _call_or_fail(store, found.call_id)
            current = _state(_stage_of(record, found.stage_id, found.line), found.line)["present"]
            _write_override(store, conn, record, found.stage_id, found.line, not current, by,
                            note or found.comment, "override")
        conn.execute("UPDATE disputes SET status = ?, resolved_by = ?, resolved_at = ?, resolution = ? WHERE id = ?",
                     (status, by, _now(), note, dispute_id))
        _audit(conn, by, f"dispute_{status}", found.call_id, found.stage_id, found.line, {"status": "open"},
               {"status": status, "dispute": dispute_id}, note)
    return dispute(store, dispute_id)


_DISPUTES = "SELECT d.*, c.content_hash AS now FROM disputes d LEFT JOIN calls c ON c.call_id = d.call_id"


def _dispute(row: sqlite3.Row) -> Dispute:
    return Dispute(id=row["id"], call_id=row["call_id"], stage_id=row["stage_id"],
                   line=None if row["line"] == STAGE else row["line"], manager=row["manager"], by=row["by_login"],
                   comment=row["comment"], status=row["status"], at=row["at"], resolved_by=row["resolved_by"],
                   resolved_at=row["resolved_at"], resolution=row["resolution"],
                   stale=bool(row["content_hash"] and row["now"] and row["content_hash"] != row["now"]))


def dispute(store: Store, dispute_id: int) -> Dispute:
    row = store.connection.execute(_DISPUTES + " WHERE d.id = ?", (dispute_id,)).fetchone()
    if row is None:
        raise ReviewError(say("err.review.no_dispute", dispute=dispute_id))
    return _dispute(row)


def disputes(store: Store, *, manager: Optional[str] = None, call_id: Optional[str] = None) -> list[Dispute]:
    """Disputes, open ones first, newest first within a status (only ``manager``'s or one call's, when given)."""
    where, args = [], []
    for cond, value in (("d.manager = ?", manager), ("d.call_id = ?", call_id)):
        if value is not None:
            where.append(cond)
            args.append(value)
    rows = store.connection.execute(
        f"{_DISPUTES} {'WHERE ' + ' AND '.join(where) if where else ''} "
        "ORDER BY d.status != 'open', d.at DESC, d.id DESC", args).fetchall()
    return [_dispute(r) for r in rows]


def audit_trail(store: Store, call_id: Optional[str] = None) -> list[AuditEntry]:
    """The audit trail, oldest first (one call's, when given)."""
    where, args = ("WHERE call_id = ?", [call_id]) if call_id else ("", [])
    rows = store.connection.execute(f"SELECT * FROM audit {where} ORDER BY id", args).fetchall()
    return [AuditEntry(id=r["id"], at=r["at"], actor=r["actor"], action=r["action"], call_id=r["call_id"],
                       stage_id=r["stage_id"], line=r["line"], line_id=r["line_id"],
                       before=json.loads(r["before_json"] or "null"),
                       after=json.loads(r["after_json"] or "null"), note=r["note"]) for r in rows]


def record_example(store: Store, call_id: str, stage_id: str, line: int, *, by: str, sentence: str,
                   file: str, line_id: Optional[str] = None) -> None:
    """Note in the audit trail that the lead made a manager's sentence an example of a line."""
    with store.transaction() as conn:
        _audit(conn, by, "example", call_id, stage_id, line, None,
               {"example": sentence, "file": file, "line_id": line_id}, sentence, line_id)


def line_id_of(store: Store, record: CallRecord, stage_id: str, line: int) -> tuple[str, str]:
    """(stable id, text) of line ``line`` (from 0) of a call's stage, as the call's script version has it.

    Raises:
        ReviewError: no such stage or line.
    """
    stage = _stage_of(record, stage_id, line)
    return _line_key(store, record, stage, line)


def _settle(store: Store, call_id: str, stage_id: str, line_id: Optional[str], *, by: str, drop: bool,
            note: str) -> None:
    key = line_id or WHOLE_STAGE
    with store.transaction() as conn:
        row = conn.execute("SELECT present, content_hash, status, line, line_text FROM overrides WHERE call_id = ? "
                           "AND stage_id = ? AND line_id = ?", (call_id, stage_id, key)).fetchone()
        if row is None or row["status"] != "active":
            raise ReviewError(say("err.review.no_decision_drop" if drop else "err.review.no_decision_confirm",
                                  call=call_id, stage=stage_id + (" " + key if key else "")))
        now = _content_of(conn, call_id)
        if drop:
            conn.execute("UPDATE overrides SET status = 'dropped' WHERE call_id = ? AND stage_id = ? AND line_id = ?",
                         (call_id, stage_id, key))
        else:
            conn.execute("UPDATE overrides SET content_hash = ? WHERE call_id = ? AND stage_id = ? AND line_id = ?",
                         (now, call_id, stage_id, key))
        store.refresh_decided([call_id])
        before = {"present": bool(row["present"]), "content_hash": row["content_hash"], "status": "active"}
        after = {**before, "status": "dropped"} if drop else {**before, "content_hash": now}
        _audit(conn, by, "drop" if drop else "confirm", call_id, stage_id, None if row["line"] == STAGE else row["line"],
               before, after, note or row["line_text"], key or None)


def confirm_decision(store: Store, call_id: str, stage_id: str, line_id: Optional[str] = None, *, by: str,
                     note: str = "") -> None:
    """The lead checked a decision after its call changed: it holds for the call as it is now (flag cleared).

    Raises:
        ReviewError: no such active decision.
    """
    _settle(store, call_id, stage_id, line_id, by=by, drop=False, note=note)


def drop_decision(store: Store, call_id: str, stage_id: str, line_id: Optional[str] = None, *, by: str,
                  note: str = "") -> None:
    """The lead withdraws a decision (stale, or orphaned by a script edit): no longer applied, the row and the
    audit trail keep it.

    Raises:
        ReviewError: no such active decision.
    """
    _settle(store, call_id, stage_id, line_id, by=by, drop=True, note=note)
