"""The lead's decisions applied to a scored call: ONE function every reader (store, reports, export) goes through.

A decision marks a stage, or one line of a stage, present or absent. The machine's result is never changed in the
store: decisions are kept apart, keyed by (call, stage, line), and applied whenever a call is read, so they survive
any re-scoring until their stage leaves the script (then they are reported, not dropped).
"""
from __future__ import annotations

import sqlite3
from typing import Iterable, Optional

from pydantic import BaseModel

from compliance.messages import Message
from compliance.scoring.result import CallResult, Found, Override, StageResult
from compliance.scoring.score import MatchOptions, line_said, stage_credit, summarise

STAGE = -1   # the ``line`` of a decision about the whole stage (a column of a primary key cannot be NULL)
# Decisions about the call rather than a stage, kept in the same table under ids no script stage can have:
CONFIRM = "@flags"     # present: the lead checked the call's review flags; it counts again
SWAP = "@parties"      # present: the parties of a one-channel call are the other way round (applied on re-scoring)
CALL_DECISIONS = frozenset({CONFIRM, SWAP})


class Decision(BaseModel):
    """One decision of the lead: a stage (``line`` is None) or a line of it, present or absent."""

    call_id: str
    stage_id: str
    line: Optional[int] = None
    present: bool
    by: str
    at: str
    note: str = ""

    def override(self, machine_present: Optional[bool]) -> Override:
        return Override(present=self.present, by=self.by, at=self.at, note=self.note, machine_present=machine_present)


def _apply_line(stage: StageResult, decision: Decision, opts: MatchOptions) -> bool:
    """Mark one line; the stage's score and presence follow from its lines (as the scorer makes them)."""
    if decision.line is None or not 0 <= decision.line < len(stage.lines):
        return False
    line = stage.lines[decision.line]
    machine = line.override.machine_present if line.override else line.found is not Found.ABSENT
    line.override = decision.override(machine)
    # A line the lead heard is worth what a line said in own words is worth (unless its wording earned more).
    line.similarity = max(line.similarity, opts.meaning_credit) if decision.present else 0.0
    stage.score = stage_credit(stage.lines, opts)
    stage.present = any(line_said(ln) for ln in stage.lines)
    return True


def _apply_stage(stage: StageResult, decision: Decision, opts: MatchOptions) -> None:
    stage.override = decision.override(stage.override.machine_present if stage.override else stage.present)
    stage.present = decision.present
    stage.score = max(stage.score, opts.meaning_credit) if decision.present else 0.0
    if decision.present:
        stage.applies = True   # the lead heard it: it counts, even where the scorer took another branch
    elif not stage.required:
        stage.applies = False  # an optional stage counts only when said


def apply_decisions(result: CallResult, decisions: Iterable[Decision],
                    options: Optional[MatchOptions] = None) -> CallResult:
    """The call's result with the lead's decisions in place: stage presence, scores, adherence, coverage,
    structure and verdict recomputed by the scorer's own rules. ``result`` itself is left as it is.

    Line decisions go first, then stage decisions (a stage decision is the last word on its stage). A decision
    whose stage is no longer in the script is noted in ``messages`` (code ``override_orphaned``).
    """
    opts = options or MatchOptions()
    ordered = sorted(decisions, key=lambda d: d.line is None)
    if not ordered or not result.connected:
        return result
    out = result.model_copy(deep=True)
    by_id = {s.id: s for s in out.stages}
    for decision in ordered:
        stage = by_id.get(decision.stage_id)
        if decision.stage_id == CONFIRM:
            out.flags = [] if decision.present else out.flags
        elif decision.stage_id in CALL_DECISIONS:
            continue
        elif stage is None:
            out.messages.append(Message(code="override_orphaned", params={
                "stage": decision.stage_id, "by": decision.by, "at": decision.at}))
        elif decision.line is None:
            _apply_stage(stage, decision, opts)
        elif not _apply_line(stage, decision, opts):
            out.messages.append(Message(code="override_orphaned", params={
                "stage": f"{decision.stage_id} #{decision.line + 1}", "by": decision.by, "at": decision.at}))
    summarise(out)
    return out


def orphaned(result: CallResult, decisions: Iterable[Decision]) -> list[Decision]:
    """Decisions that refer to a stage (or a line) the call's script no longer has."""
    by_id = {s.id: s for s in result.stages}
    return [d for d in decisions if (d.stage_id not in by_id and d.stage_id not in CALL_DECISIONS)
            or (d.stage_id in by_id and d.line is not None and not 0 <= d.line < len(by_id[d.stage_id].lines))]


def load_decisions(conn: sqlite3.Connection, call_ids: Optional[list[str]] = None) -> dict[str, list[Decision]]:
    """The current decisions of the history, by call (of ``call_ids`` only, when given).

    A history from before reviews existed has no table: no decisions (it may be opened read-only).
    """
    sql = "SELECT call_id, stage_id, line, present, by_login, at, note FROM overrides"
    args: list[str] = []
    if call_ids is not None:
        sql += f" WHERE call_id IN ({', '.join('?' * len(call_ids))})"
        args = call_ids
    try:
        rows = conn.execute(sql + " ORDER BY at, rowid", args).fetchall()
    except sqlite3.OperationalError:
        return {}
    out: dict[str, list[Decision]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(Decision(call_id=r[0], stage_id=r[1], line=None if r[2] == STAGE else r[2],
                                                 present=bool(r[3]), by=r[4], at=r[5], note=r[6] or ""))
    return out
