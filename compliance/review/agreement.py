"""Calibration: how often the lead and the machine agree, per stage and per line, and Cohen's kappa.

The reviewed calls are those the lead decided something on (an override or a resolved dispute). In a reviewed
call every stage counts: a stage the lead left alone is one the lead agreed with. Where the lead overrides often
and kappa is low, the scorer is weak.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Optional

from pydantic import BaseModel, Field

from compliance.history.store import Store
from compliance.scoring.result import CallRecord, Found
from compliance.scoring.score import line_said


class Agreement(BaseModel):
    """Machine against lead on one item (a stage, a line, or everything)."""

    key: str                           # stage id, "stage_id #n" for a line, or "all"
    title: str = ""
    reviewed: int = 0                  # decisions compared (stages or lines of reviewed calls)
    overridden: int = 0                # where the lead's decision differs from the machine's
    agreement: Optional[float] = None  # share agreed, 0–1
    kappa: Optional[float] = None      # Cohen's kappa; None when undefined (too few, or one class only)
    pairs: list[tuple[bool, bool]] = Field(default_factory=list, exclude=True)


class AgreementReport(BaseModel):
    since: Optional[str] = None
    calls_reviewed: int = 0
    overall: Agreement
    stages: list[Agreement] = Field(default_factory=list)
    lines: list[Agreement] = Field(default_factory=list)


def cohen_kappa(pairs: list[tuple[bool, bool]]) -> Optional[float]:
    """Cohen's kappa of two raters' yes/no decisions; None when chance agreement is total (kappa undefined)."""
    n = len(pairs)
    if not n:
        return None
    observed = sum(a == b for a, b in pairs) / n
    p_a, p_b = sum(a for a, _ in pairs) / n, sum(b for _, b in pairs) / n
    chance = p_a * p_b + (1 - p_a) * (1 - p_b)
    if chance >= 1:
        return None
    return round((observed - chance) / (1 - chance), 3)


def _finish(item: Agreement) -> Agreement:
    item.reviewed = len(item.pairs)
    item.overridden = sum(a != b for a, b in item.pairs)
    item.agreement = round(1 - item.overridden / item.reviewed, 3) if item.reviewed else None
    item.kappa = cohen_kappa(item.pairs)
    return item


def _collect(record: CallRecord, stages: dict[str, Agreement], lines: dict[str, Agreement]) -> None:
    machine = {s.id: s for s in (record.machine or record.result).stages}
    for stage in record.result.stages:
        before = machine.get(stage.id)
        if before is None or not stage.applies and not before.applies:
            continue
        stages.setdefault(stage.id, Agreement(key=stage.id, title=stage.title)).pairs.append(
            (before.present, stage.present))
        for i, (line, was) in enumerate(zip(stage.lines, before.lines)):
            key = f"{stage.id} #{i + 1}"
            lines.setdefault(key, Agreement(key=key, title=line.text)).pairs.append(
                (was.found is not Found.ABSENT, line_said(line)))


def _reviewed(store: Store) -> set[str]:
    """The calls the lead decided something on: a standing override or a resolved dispute. An override dropped
    because the call's content or the script changed under it is no decision any more."""
    queries = ("SELECT call_id FROM overrides WHERE status = 'active' "
               "UNION SELECT call_id FROM disputes WHERE status != 'open'",
               "SELECT call_id FROM overrides UNION SELECT call_id FROM disputes WHERE status != 'open'")
    for query in queries:  # the second: a history from before dropped decisions, opened read-only
        try:
            return {r[0] for r in store.connection.execute(query)}
        except sqlite3.OperationalError:
            continue
    return set()  # a history from before reviews: nothing reviewed


def agreement_report(store: Store, since: Optional[dt.date] = None) -> AgreementReport:
    """Machine-vs-lead agreement over the calls the lead reviewed (from ``since``, by the call's date)."""
    reviewed_ids = _reviewed(store)
    # Only the reviewed calls are read (a lead reviews dozens; the history holds a year of calls).
    records = [r for r in store.records(sorted(reviewed_ids), with_transcripts=False)
               if r.result.connected and (since is None or (r.date or "") >= str(since))]
    records.sort(key=lambda r: (r.date or "", r.time or "", r.call_id))
    stages: dict[str, Agreement] = {}
    lines: dict[str, Agreement] = {}
    for record in records:
        _collect(record, stages, lines)
    overall = Agreement(key="all", pairs=[p for s in stages.values() for p in s.pairs])
    return AgreementReport(
        since=str(since) if since else None, calls_reviewed=len(records), overall=_finish(overall),
        stages=sorted((_finish(s) for s in stages.values()), key=lambda a: (-a.overridden, a.key)),
        lines=sorted((x for x in map(_finish, lines.values()) if x.overridden), key=lambda a: (-a.overridden, a.key)),
    )
