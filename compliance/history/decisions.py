"""The lead's decisions applied to a scored call: ONE function every reader (store, reports, export) goes through.

A decision marks a stage, or one line of a stage, present or absent. The machine's result is never changed in the
store: decisions are kept apart, keyed by (call, stage, line id), and applied whenever a call is read, so they
survive any re-scoring and any script edit that keeps the line's id (the line's ``id:``, or its text). A decision
whose stage or line left the script is reported with the line's original text, never applied to another line.
A decision taken on a call whose content has changed since (re-transcribed, corrected) still applies, and is
flagged ``stale`` until the lead confirms or drops it. The history owns these rows; the review app only writes them.
"""
from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Iterable, Optional

from pydantic import BaseModel

from compliance.messages import Message
from compliance.scoring.result import CallResult, Found, Override, StageResult

if TYPE_CHECKING:  # the scorer (numpy, the Russian dictionary) is imported only when a decision is applied
    from compliance.scoring.score import MatchOptions

STAGE = -1   # the ``line`` of a decision about the whole stage (a column of a primary key cannot be NULL)
# Decisions about the call rather than a stage, kept in the same table under ids no script stage can have:
CONFIRM = "@flags"     # present: the lead checked the call's review flags; it counts again
SWAP = "@parties"      # present: the parties of a one-channel call are the other way round (applied on re-scoring)
CALL_DECISIONS = frozenset({CONFIRM, SWAP})
WHOLE_STAGE = ""  # the ``line_id`` of a decision about the whole stage

LineIds = dict[str, list[str]]   # stage id → its lines' ids (``SalesScript.line_ids``) for one script version


class Decision(BaseModel):
    """One decision of the lead: a stage (``line_id`` is None) or a line of it, present or absent."""

    call_id: str
    stage_id: str
    line_id: Optional[str] = None     # the line's stable id; None: the whole stage
    line: Optional[int] = None        # where the line stood when decided (shown, never used to place it)
    line_text: str = ""               # the line's text when decided (shown when the line has left the script)
    present: bool
    by: str
    at: str
    note: str = ""
    content_hash: Optional[str] = None  # the call's content when decided
    stale: bool = False               # the call's content changed since: to be confirmed or dropped

    def override(self, machine_present: Optional[bool]) -> Override:
        return Override(present=self.present, by=self.by, at=self.at, note=self.note, machine_present=machine_present,
                        stale=self.stale)

    @property
    def where(self) -> str:
        """The stage, and the line's original text, as a lead reads it."""
        return self.stage_id if self.line_id is None else f"{self.stage_id} «{self.line_text or self.line_id}»"


def _line_index(stage: StageResult, decision: Decision, ids: Optional[list[str]]) -> Optional[int]:
    """Where the decided line is in this result: by its id, or (no script version known) only where the
    same text stands at the same place."""
    legacy = bool(decision.line_id and decision.line_id.startswith("#"))  # an older history read as it is
    if ids is not None and not legacy:
        return ids.index(decision.line_id) if decision.line_id in ids and len(ids) == len(stage.lines) else None
    at = decision.line
    if at is None or not 0 <= at < len(stage.lines):
        return None
    line = stage.lines[at]
    return at if legacy or (decision.line_text and decision.line_text in [line.text, *line.alternatives]) else None


def _apply_line(stage: StageResult, index: int, decision: Decision, opts: MatchOptions) -> None:
    """Mark one line; the stage's score and presence follow from its lines (as the scorer makes them)."""
    from compliance.scoring.score import line_said, stage_credit

    line = stage.lines[index]
    machine = line.override.machine_present if line.override else line.found is not Found.ABSENT
    line.override = decision.override(machine)
    # A line the lead heard is worth what a line said in own words is worth (unless its wording earned more).
    line.similarity = max(line.similarity, opts.meaning_credit) if decision.present else 0.0
    stage.score = stage_credit(stage.lines, opts)
    stage.present = any(line_said(ln) for ln in stage.lines)


def _apply_stage(stage: StageResult, decision: Decision, opts: MatchOptions) -> None:
    stage.override = decision.override(stage.override.machine_present if stage.override else stage.present)
    stage.present = decision.present
    stage.score = max(stage.score, opts.meaning_credit) if decision.present else 0.0
    if decision.present:
        stage.applies = True   # the lead heard it: it counts, even where the scorer took another branch
    elif not stage.required:
        stage.applies = False  # an optional stage counts only when said


def _orphan_message(decision: Decision) -> Message:
    return Message(code="override_orphaned", params={"stage": decision.where, "by": decision.by, "at": decision.at})


def apply_decisions(result: CallResult, decisions: Iterable[Decision], line_ids: Optional[LineIds] = None,
                    options: Optional[MatchOptions] = None) -> CallResult:
    """The call's result with the lead's decisions in place: stage presence, scores, adherence, coverage,
    structure and verdict recomputed by the scorer's own rules. ``result`` itself is left as it is.

    ``line_ids`` are the line ids of the script version the result was scored with. Line decisions go first,
    then stage decisions (a stage decision is the last word on its stage). A decision whose stage or line is
    no longer in the script is noted in ``messages`` (code ``override_orphaned``, with the line's text).
    """
    ordered = sorted(decisions, key=lambda d: d.line_id is None)
    if not ordered or not result.connected:
        return result
    from compliance.scoring.score import MatchOptions, summarise

    opts = options or MatchOptions()
    # a copy made by pydantic's own (Rust) validation: several times faster than copy.deepcopy on a full result
    out = CallResult.model_validate(result.model_dump())
    by_id = {s.id: s for s in out.stages}
    for decision in ordered:
        stage = by_id.get(decision.stage_id)
        if decision.stage_id == CONFIRM:
            out.flags = [] if decision.present else out.flags
            continue
        if decision.stage_id in CALL_DECISIONS:
            continue
        if stage is None:
            out.messages.append(_orphan_message(decision))
            continue
        if decision.line_id is None:
            _apply_stage(stage, decision, opts)
            continue
        index = _line_index(stage, decision, None if line_ids is None else line_ids.get(stage.id))
        if index is None:
            out.messages.append(_orphan_message(decision))
        else:
            _apply_line(stage, index, decision, opts)
    summarise(out)
    return out


def orphaned(result: CallResult, decisions: Iterable[Decision], line_ids: Optional[LineIds] = None) -> list[Decision]:
    """Decisions that refer to a stage (or a line) the call's script no longer has."""
    by_id = {s.id: s for s in result.stages}
    return [d for d in decisions if d.stage_id not in CALL_DECISIONS and d.stage_id not in by_id or (
        d.stage_id in by_id and d.line_id is not None
        and _line_index(by_id[d.stage_id], d, None if line_ids is None else line_ids.get(d.stage_id)) is None)]


def orphaned_by_script(decisions: Iterable[Decision], line_ids: LineIds) -> list[Decision]:
    """Decisions a script with these stages and line ids would leave without their stage or line."""
    return [d for d in decisions if d.stage_id not in CALL_DECISIONS and (
        d.stage_id not in line_ids or (d.line_id is not None and d.line_id not in line_ids[d.stage_id]))]


_COLUMNS = "o.call_id, o.stage_id, o.line_id, o.line, o.line_text, o.present, o.by_login, o.at, o.note, o.content_hash"


def load_decisions(conn: sqlite3.Connection, call_ids: Optional[list[str]] = None) -> dict[str, list[Decision]]:
    """The current (not dropped) decisions of the history, by call (of ``call_ids`` only, when given), each
    flagged ``stale`` when its call's content changed after it.

    A history from before reviews existed has no table: no decisions (it may be opened read-only).
    """
    sql = (f"SELECT {_COLUMNS}, c.content_hash AS now FROM overrides o LEFT JOIN calls c ON c.call_id = o.call_id "
           "WHERE o.status = 'active'")
    args: list[str] = []
    if call_ids is not None:
        sql += f" AND o.call_id IN ({', '.join('?' * len(call_ids))})"
        args = call_ids
    try:
        rows = conn.execute(sql + " ORDER BY o.at, o.rowid", args).fetchall()
    except sqlite3.OperationalError:
        return _load_v5(conn, call_ids)
    out: dict[str, list[Decision]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(Decision(
            call_id=r[0], stage_id=r[1], line_id=r[2] or None, line=None if r[3] == STAGE else r[3],
            line_text=r[4] or "", present=bool(r[5]), by=r[6], at=r[7], note=r[8] or "", content_hash=r[9],
            stale=bool(r[9] and r[10] and r[9] != r[10])))
    return out


def _load_v5(conn: sqlite3.Connection, call_ids: Optional[list[str]]) -> dict[str, list[Decision]]:
    """Decisions of an older history opened read-only (no line ids yet: placed by position and text)."""
    try:
        rows = conn.execute("SELECT call_id, stage_id, line, present, by_login, at, note FROM overrides "
                            "ORDER BY at, rowid").fetchall()
    except sqlite3.OperationalError:
        return {}
    out: dict[str, list[Decision]] = {}
    for r in rows:
        if call_ids is None or r[0] in call_ids:
            line = None if r[2] == STAGE else r[2]
            out.setdefault(r[0], []).append(Decision(
                call_id=r[0], stage_id=r[1], line_id=None if line is None else f"#{line + 1}", line=line,
                present=bool(r[3]), by=r[4], at=r[5], note=r[6] or ""))
    return out


class AtRisk(BaseModel):
    """A decision a script edit would leave without its stage or line, and the call it is on."""

    decision: Decision
    file: str


def decisions_at_risk(conn: sqlite3.Connection, script_id: str, line_ids: LineIds) -> list[AtRisk]:
    """The stored decisions on calls scored with script ``script_id`` that a version of it with these stages
    and line ids would orphan (what ``script check --db`` warns about)."""
    files = {r[0]: r[1] for r in conn.execute("SELECT call_id, file FROM calls WHERE script_id = ?", (script_id,))}
    decisions = load_decisions(conn, list(files))
    return [AtRisk(decision=d, file=files[d.call_id])
            for call_id in files for d in orphaned_by_script(decisions.get(call_id, []), line_ids)]
