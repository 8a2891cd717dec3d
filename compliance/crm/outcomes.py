"""Deal outcomes from Pipedrive beside the calls: which deals were won, for how much, and why others were lost.

`compliance pipedrive sync` refreshes the deals that analysed calls are linked to (the ``crm_pushes`` ledger names
each call's deal): the first run reads each deal, later runs ask Pipedrive which deals changed since the last sync
(``/v1/recents``) and read only those. A deal deleted in Pipedrive is kept as ``deleted``. The same client, retries
and one-line errors as the notes (:mod:`compliance.crm.pipedrive`).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from pydantic import BaseModel, Field

from compliance.crm.pipedrive import PipedriveClient
from compliance.errors import CrmError
from compliance.history.outcomes import DealOutcome, stored_outcomes
from compliance.history.store import Store
from compliance.text.catalogue import say

_STATUSES = ("open", "won", "lost", "deleted")


class SyncSummary(BaseModel):
    """What a sync did."""

    linked: int = 0                            # deals analysed calls are linked to
    read: int = 0                              # deals read from Pipedrive this run
    changed: int = 0                           # deals whose stored outcome changed
    deleted: int = 0
    errors: list[str] = Field(default_factory=list)


def parse_deal(data: dict[str, Any]) -> DealOutcome:
    """A deal as the API returns it (``/v1/deals/{id}`` or a ``recents`` item); unknown statuses count as open."""
    status = str(data.get("status") or "open")
    if data.get("deleted") or status == "deleted" or data.get("active_flag") is False and status not in ("won", "lost"):
        status = "deleted"
    try:
        value = float(data.get("value") or 0)
    except (TypeError, ValueError):
        value = 0.0
    return DealOutcome(deal_id=int(data["id"]), title=str(data.get("title") or ""),
                       status=status if status in _STATUSES else "open", value=value,
                       currency=str(data.get("currency") or ""), won_time=data.get("won_time") or None,
                       lost_time=data.get("lost_time") or None, lost_reason=data.get("lost_reason") or None,
                       update_time=data.get("update_time") or None)


def linked_deals(store: Store, account: str) -> set[int]:
    """Deals that analysed calls of this account are linked to (through the push ledger)."""
    rows = store.query("SELECT DISTINCT deal_id FROM crm_pushes WHERE account = ? AND deal_id IS NOT NULL", (account,))
    return {int(r["deal_id"]) for r in rows}


def _last_sync(store: Store, account: str) -> Optional[str]:
    row = store.query("SELECT MAX(synced_at) AS at FROM crm_deals WHERE account = ?", (account,))
    return row[0]["at"] if row and row[0]["at"] else None


def _save(store: Store, account: str, deal: DealOutcome, synced_at: str) -> None:
    store.execute(
        "INSERT INTO crm_deals (account, deal_id, title, status, value, currency, won_time, lost_time, lost_reason, "
        "update_time, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(account, deal_id) DO UPDATE SET "
        "title = excluded.title, status = excluded.status, value = excluded.value, currency = excluded.currency, "
        "won_time = excluded.won_time, lost_time = excluded.lost_time, lost_reason = excluded.lost_reason, "
        "update_time = excluded.update_time, synced_at = excluded.synced_at",
        (account, deal.deal_id, deal.title, deal.status, deal.value, deal.currency, deal.won_time, deal.lost_time,
         deal.lost_reason, deal.update_time, synced_at))


def _changed_since(client: PipedriveClient, since: str) -> dict[int, dict]:
    """Deals Pipedrive changed since ``since`` (UTC, ``YYYY-MM-DD HH:MM:SS``), with their data, by id."""
    out: dict[int, dict] = {}
    for item in client.paginate("/recents", {"since_timestamp": since, "items": "deal"}):
        data = item.get("data") if isinstance(item, dict) else None
        if isinstance(data, dict) and item.get("item") == "deal" and data.get("id") is not None:
            out[int(data["id"])] = data
    return out


def sync_outcomes(client: PipedriveClient, store: Store, account: str, *, full: bool = False,
                  now: Optional[dt.datetime] = None) -> SyncSummary:
    """Refresh the stored outcome of every deal analysed calls are linked to.

    Raises:
        CrmError: a fatal refusal (bad token, no permission); a single deal that fails is listed in ``errors``.
    """
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S")
    linked = linked_deals(store, account)
    stored = stored_outcomes(store, account)
    summary = SyncSummary(linked=len(linked))
    since = None if full else _last_sync(store, account)
    fresh: dict[int, dict] = _changed_since(client, since) if since else {}
    wanted = sorted(d for d in linked if d not in stored or d in fresh) if since else sorted(linked)
    for deal_id in wanted:
        try:
            data = fresh.get(deal_id) or _read_deal(client, deal_id)
        except CrmError as exc:
            if exc.fatal:
                raise
            summary.errors.append(say("err.crm.deal", deal=deal_id, why=exc))
            continue
        deal = parse_deal(data) if data else DealOutcome(deal_id=deal_id, status="deleted")
        summary.read += 1
        summary.deleted += deal.status == "deleted"
        if stored.get(deal_id) != deal:
            summary.changed += 1
        _save(store, account, deal, stamp)
    return summary


def _read_deal(client: PipedriveClient, deal_id: int) -> Optional[dict]:
    """One deal's data; None when Pipedrive no longer has it (404, or a deal marked deleted)."""
    try:
        data = client.get(f"/deals/{deal_id}")
    except CrmError as exc:
        if exc.status in (404, 410):
            return None
        raise
    return data if isinstance(data, dict) else None


