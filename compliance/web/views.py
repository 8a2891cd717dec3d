"""The web app's page data: the team with open disputes first, a manager's calls, one call with its review."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, Field

from compliance.files import shown_name
from compliance.history.identity import Duplicate
from compliance.history.readiness import history_readiness
from compliance.history.store import Store
from compliance.reports.aggregate import _readiness_view
from compliance.reports.call_page import build_call_page
from compliance.reports.common import _chronological
from compliance.reports.views import CallPage, ReadinessView
from compliance.review.ledger import AuditEntry, Dispute, audit_trail, disputes
from compliance.scoring.result import CallRecord
from compliance.scoring.script import SalesScript


class DisputeRow(Dispute):
    """A dispute as people read it: whose call, when, with whom, which stage (not the call's hash or a stage id)."""

    manager_name: str = ""
    call_date: Optional[str] = None
    call_time: Optional[str] = None
    client: str = ""              # the client's phone when the PBX gave one, else the recording's or chat's name
    stage_title: str = ""
    line_text: str = ""


class CallRow(BaseModel):
    call_id: str
    date: Optional[str] = None
    time: Optional[str] = None
    connected: bool = True
    adherence: Optional[float] = None
    machine_adherence: Optional[float] = None   # when the lead's decisions changed the score
    verdict: Optional[str] = None
    overridden: bool = False
    open_disputes: int = 0
    flagged: bool = False                       # the verdict waits for the lead (poor recognition, …)
    quality: Optional[str] = None               # the recording's recognition quality: good | fair | poor
    chat: bool = False                          # a messenger chat, not a call


class ManagerRow(BaseModel):
    key: str
    name: str
    calls: int = 0
    mean: Optional[float] = None
    machine_mean: Optional[float] = None
    overridden: int = 0
    open_disputes: int = 0
    readiness: Optional[ReadinessView] = None


class TeamView(BaseModel):
    managers: list[ManagerRow] = Field(default_factory=list)
    disputes: list[DisputeRow] = Field(default_factory=list)
    duplicates: list[Duplicate] = Field(default_factory=list)   # copies of calls stored elsewhere, both places


class ManagerView(BaseModel):
    key: str
    name: str
    calls: list[CallRow] = Field(default_factory=list)   # one page of them, newest first
    disputes: list[DisputeRow] = Field(default_factory=list)
    page: int = 1
    pages: int = 1
    total: int = 0                                       # the manager's calls, all pages


class CallView(BaseModel):
    page: CallPage
    manager: str
    disputes: list[DisputeRow] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)
    stage_titles: dict[str, str] = Field(default_factory=dict)   # stage id → title, for the audit trail


def dispute_rows(store: Store, found: list[Dispute]) -> list[DisputeRow]:
    """The disputes with their call's manager, date, time, client and the stage's title: read from the calls' columns
    and stored stages and lines (``Store.dispute_places``), not by parsing each call's result."""
    places = store.dispute_places([(d.call_id, d.stage_id, d.line) for d in found])
    rows = []
    for d in found:
        place = places.get(d.call_id)
        row = DisputeRow(**d.model_dump(), manager_name=d.manager, stage_title=d.stage_id)
        if place is not None:
            row.manager_name = place["manager_name"] or place["manager"]
            row.call_date, row.call_time = place["date"], place["time"]
            row.client = place["phone"] or shown_name(place["file"])
            row.stage_title = place["stages"].get(d.stage_id) or row.stage_title
            row.line_text = place["lines"].get((d.stage_id, d.line), "") if d.line is not None else ""
        rows.append(row)
    return rows


def _mean(values: list[float]) -> Optional[float]:
    return round(sum(values) / len(values), 1) if values else None


def _row(record: CallRecord, open_disputes: int) -> CallRow:
    res = record.result
    return CallRow(call_id=record.call_id, date=record.date, time=record.time, connected=res.connected,
                   adherence=res.adherence, machine_adherence=record.machine.adherence if record.machine else None,
                   verdict=str(res.verdict) if res.verdict else None, overridden=record.machine is not None,
                   open_disputes=open_disputes, flagged=record.awaiting_review,
                   quality=res.quality.rating if res.quality else None, chat=res.channel == "chat")


def team_view(store: Store) -> TeamView:
    """Every manager with their corrected and machine means, readiness, and the disputes (open first).

    Read from the columns the store keeps per call (counts and sums in SQL), the lead's decisions included: each
    decided call's corrected adherence is stored when the decision is made (``Store.decided_totals``)."""
    if not store.summarised:
        return _team_view_read_all(store)
    found = disputes(store)
    open_by_manager: dict[str, int] = defaultdict(int)
    for d in found:
        open_by_manager[d.manager] += d.status == "open"
    decided = store.decided_totals()
    totals = {t["manager"]: t for t in store.manager_totals()}
    readiness = history_readiness(store, None, list(totals))
    rows = []
    for key, t in sorted(totals.items()):
        scored, machine_sum = t["scored"] or 0, t["adherence"] or 0.0
        # the lead's decisions move a call's adherence from the machine's to theirs
        changed, moved = (decided[key]["decided"], decided[key]["moved"] or 0.0) if key in decided else (0, 0.0)
        corrected = machine_sum + moved
        latest = store.latest_call(key)
        rows.append(ManagerRow(
            key=key, name=(latest["manager_name"] if latest else "") or key, calls=t["calls"],
            mean=round(corrected / scored, 1) if scored else None,
            machine_mean=round(machine_sum / scored, 1) if scored else None,
            overridden=changed, open_disputes=open_by_manager[key],
            readiness=_readiness_view(readiness.get(key), {})))
    rows.sort(key=lambda m: (-m.open_disputes, m.name))
    return TeamView(managers=rows, disputes=dispute_rows(store, found), duplicates=store.duplicates())


def _team_view_read_all(store: Store) -> TeamView:
    """The team page of an older history opened read-only (no summary columns): every call read."""
    records = store.calls(with_transcripts=False)
    found = disputes(store)
    open_by_manager: dict[str, int] = defaultdict(int)
    for d in found:
        open_by_manager[d.manager] += d.status == "open"
    by_manager: dict[str, list[CallRecord]] = defaultdict(list)
    for r in records:
        by_manager[r.manager].append(r)
    readiness = history_readiness(store, None, list(by_manager))
    rows = []
    for key, calls in sorted(by_manager.items()):
        scored = [c for c in calls if c.result.connected and c.result.adherence is not None]
        rows.append(ManagerRow(
            key=key, name=calls[-1].manager_name or key, calls=len(calls),
            mean=_mean([c.result.adherence for c in scored if c.result.adherence is not None]),
            machine_mean=_mean([(c.machine or c.result).adherence or 0.0 for c in scored]),
            overridden=sum(c.machine is not None for c in calls), open_disputes=open_by_manager[key],
            readiness=_readiness_view(readiness.get(key), {})))
    rows.sort(key=lambda m: (-m.open_disputes, m.name))
    return TeamView(managers=rows, disputes=dispute_rows(store, found), duplicates=store.duplicates())


PAGE_SIZE = 50   # calls on a manager's page: a year of calls is many pages


def manager_view(store: Store, key: str, page: int = 1) -> Optional[ManagerView]:
    """One page of a manager's calls, newest first (None when the history has no call of theirs)."""
    total = store.count_calls(key)
    if not total:
        return None
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 1), pages)
    records = store.calls_page(key, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    found = disputes(store, manager=key)
    open_by_call: dict[str, int] = defaultdict(int)
    for d in found:
        open_by_call[d.call_id] += d.status == "open"
    rows = [_row(r, open_by_call[r.call_id]) for r in reversed(_chronological(records))]
    latest = store.latest_call(key)
    return ManagerView(key=key, name=(latest["manager_name"] if latest else "") or key, calls=rows,
                       disputes=dispute_rows(store, found), page=page, pages=pages, total=total)


def call_view(store: Store, record: CallRecord, script: Optional[SalesScript]) -> CallView:
    """One call's page, its recording served by the app, its disputes and its audit trail."""
    page = build_call_page(record, script)
    page.audio_href = f"/calls/{record.call_id}/audio" if record.audio and Path(record.audio).is_file() else None
    page.back_href = f"/managers/{record.manager}"
    page.file = shown_name(record.file)
    return CallView(page=page, manager=record.manager, disputes=dispute_rows(store, disputes(store, call_id=record.call_id)),
                    audit=audit_trail(store, record.call_id),
                    stage_titles={s.id: s.title or s.id for s in record.result.stages})
