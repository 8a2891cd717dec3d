"""Is the CRM right about each call? The regulations: "if we can't deliver — set the status in the CRM and describe
the situation"; after a call the next step is a reminder call, an invoice or a payment.

`compliance pipedrive check` lists, per manager and day, the calls whose deal disagrees with the call:
- the can't-deliver branch was said, but the deal is still open (no lost reason);
- a next step was agreed, or the payment timing settled, but the deal has no open activity to follow it.
With ``apply`` (the lead's choice; dry run by default) it marks the deal lost with the manager's own words as the
reason, or adds a call activity for the next working day with the agreed step as its note. Each change is kept in
the ledger (``crm_actions``: never twice) and the audit trail. It also counts the deals a manager handled a day
(«Обработано лидов») against the roster's target.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Literal, Optional

from pydantic import BaseModel, Field

from compliance.crm.pipedrive import PipedriveClient
from compliance.crm.summary import summarise
from compliance.errors import CrmError
from compliance.history.outcomes import stored_outcomes
from compliance.history.store import Store

Kind = Literal["cannot_deliver_open", "next_step_no_activity", "payment_no_followup"]
ACTOR = "pipedrive-check"


class Finding(BaseModel):
    """One call whose deal disagrees with what was said in it."""

    call_id: str
    file: str
    manager: str
    date: Optional[str] = None
    time: Optional[str] = None
    deal_id: int
    kind: Kind
    evidence: str = ""                    # the words the fix would write (the manager's, the client's reply)
    applied: bool = False
    created_id: Optional[int] = None      # the activity created
    error: Optional[str] = None


class CheckSummary(BaseModel):
    findings: list[Finding] = Field(default_factory=list)
    checked: int = 0                      # calls with a synced deal
    applied: int = 0
    already: int = 0                      # fixed by an earlier run
    deals_per_day: dict[str, dict[str, int]] = Field(default_factory=dict)   # manager → day → deals handled
    dry_run: bool = True


def _done_before(store: Store, account: str) -> set[tuple[str, str]]:
    return {(r["call_id"], r["kind"]) for r in store.query("SELECT call_id, kind FROM crm_actions WHERE account = ?",
                                                            (account,))}


def _open_activities(client: PipedriveClient, deal_id: int) -> int:
    return sum(1 for _ in client.paginate(f"/deals/{deal_id}/activities", {"done": 0}))


def _next_working_day(day: Optional[str]) -> str:
    start = dt.date.fromisoformat(day) if day else dt.date.today()
    following = start + dt.timedelta(days=1)
    while following.weekday() >= 5:
        following += dt.timedelta(days=1)
    return following.isoformat()


def check_crm(store: Store, client: PipedriveClient, account: str, *, since: Optional[str] = None,
              until: Optional[str] = None, apply: bool = False) -> CheckSummary:
    """Every analysed call in [since, until] linked to a synced deal, against what the deal shows.

    Raises:
        CrmError: a fatal refusal (bad token, no permission); a single call that fails keeps its error.
    """
    outcomes = stored_outcomes(store, account)
    links = {r["call_id"]: int(r["deal_id"]) for r in store.query(
        "SELECT call_id, deal_id FROM crm_pushes WHERE account = ? AND deal_id IS NOT NULL", (account,))}
    done = _done_before(store, account)
    summary = CheckSummary(dry_run=not apply)
    handled: dict[str, Counter] = {}
    for record in store.calls(since=since, until=until):
        deal_id = links.get(record.call_id)
        if deal_id is None or deal_id not in outcomes:
            continue
        summary.checked += 1
        handled.setdefault(record.manager, Counter())[record.date or ""] += 1
        deal = outcomes[deal_id]
        said = {line.key: " / ".join(q.text for q in line.quotes)
                for line in summarise(record.result, record.transcript.segments if record.transcript else [])}
        wanted: list[tuple[Kind, str]] = []
        if "cannot_deliver" in said and deal.status == "open":
            wanted.append(("cannot_deliver_open", said["cannot_deliver"]))
        elif deal.status == "open" and ("next_step" in said or "payment" in said):
            wanted.append(("next_step_no_activity" if "next_step" in said else "payment_no_followup",
                           said.get("next_step") or said["payment"]))
        for kind, evidence in wanted:
            if (record.call_id, kind) in done:
                summary.already += 1
                continue
            if kind != "cannot_deliver_open" and _open_activities(client, deal_id):
                continue
            finding = Finding(call_id=record.call_id, file=record.file, manager=record.manager, date=record.date,
                              time=record.time, deal_id=deal_id, kind=kind, evidence=evidence)
            summary.findings.append(finding)
            if apply:
                _apply(store, client, account, finding)
                summary.applied += finding.applied
    summary.deals_per_day = {m: dict(sorted(c.items())) for m, c in sorted(handled.items())}
    return summary


def _apply(store: Store, client: PipedriveClient, account: str, finding: Finding) -> None:
    """Make the one change a finding asks for, then record it in the ledger and the audit trail."""
    after: dict[str, object]
    try:
        if finding.kind == "cannot_deliver_open":
            client.put(f"/deals/{finding.deal_id}", {"status": "lost", "lost_reason": finding.evidence[:250]})
            after = {"status": "lost", "lost_reason": finding.evidence[:250]}
        else:
            body = {"deal_id": finding.deal_id, "type": "call", "due_date": _next_working_day(finding.date),
                    "subject": ("Следующий шаг: " if finding.kind == "next_step_no_activity" else "Оплата: ")
                    + finding.evidence[:120], "note": finding.evidence}
            created = client.post("/activities", body)
            finding.created_id = int(created["id"]) if isinstance(created, dict) and created.get("id") else None
            after = body
    except CrmError as exc:
        if exc.fatal:
            raise
        finding.error = str(exc)
        return
    finding.applied = True
    now = dt.datetime.now().isoformat(timespec="seconds")
    if finding.kind == "cannot_deliver_open":        # the stored outcome follows what was just written
        store.execute("UPDATE crm_deals SET status = 'lost', lost_reason = ? WHERE account = ? AND deal_id = ?",
                      (finding.evidence[:250], account, finding.deal_id))
    store.execute("INSERT OR IGNORE INTO crm_actions (account, call_id, kind, deal_id, created_id, at) "
                  "VALUES (?, ?, ?, ?, ?, ?)", (account, finding.call_id, finding.kind, finding.deal_id,
                                                finding.created_id, now))
    store.execute("INSERT INTO audit (at, actor, action, call_id, before_json, after_json, note) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)", (now, ACTOR, f"crm.{finding.kind}", finding.call_id,
                                                   json.dumps({"deal_id": finding.deal_id, "status": "open"}),
                                                   json.dumps(after, ensure_ascii=False), account))
