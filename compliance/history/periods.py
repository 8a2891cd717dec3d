"""The spreadsheet the regulations ask for: one row per manager per day, week or month.

Each row counts the manager's contacts — connected calls and chats the client replied in, apart and summed, as the
daily KPI counts them — the averages of structure and wording over them, the share within the level's band, open
disputes (when the history keeps disputes) and the sales entered with ``compliance daily``.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Iterable, Iterator, Optional

from pydantic import BaseModel

from compliance.history.daily import closed_deals
from compliance.history.roster import Targets, Team
from compliance.history.schema import DayCount, DaySales
from compliance.history.store import Store
from compliance.scoring.result import CallRecord, share_in_band
from compliance.text.catalogue import say

PERIODS = ("day", "week", "month")


class PeriodRow(BaseModel):
    """One manager in one period."""

    period: str                       # 2025-01-02 | 2025-W01 | 2025-01
    start: str                        # the period's first and last day (ISO)
    end: str
    manager: str
    manager_name: str = ""
    calls: int = 0                    # every call stored, connected or not
    chats: int = 0
    connected_calls: int = 0
    replied_chats: int = 0            # chats in which the client replied
    contacts: int = 0                 # connected calls + replied chats: what the daily KPI counts
    days: int = 0                     # days with at least one contact
    contacts_per_day: Optional[float] = None
    target_per_day: int = Targets().contacts_per_day
    structure: Optional[float] = None  # mean over contacts (required stages present, by words or meaning)
    wording: Optional[float] = None    # mean adherence to the script's wording over contacts
    in_band: Optional[float] = None    # percent of contacts within the level's band
    open_disputes: Optional[int] = None  # None: the history keeps no disputes
    sales_count: int = 0
    sales_sum: float = 0.0
    crm_sales_count: int = 0          # deals of the manager's calls won in the period (Pipedrive, `pipedrive sync`)
    crm_sales_sum: float = 0.0
    deals_closed: int = 0             # deals of the manager's calls won or lost in the period
    conversion: Optional[float] = None  # percent of those won (beside structure and wording)
    mean_won_value: Optional[float] = None
    dials: Optional[int] = None       # calls dialled, as the PBX counts them (None: no PBX data in the period)


def period_of(day: dt.date, by: str) -> tuple[str, dt.date, dt.date]:
    """The label, first and last day of the ``by`` period (day, ISO week, month) that holds ``day``."""
    if by == "day":
        return day.isoformat(), day, day
    if by == "week":
        year, week, weekday = day.isocalendar()
        first = day - dt.timedelta(days=weekday - 1)
        return f"{year}-W{week:02d}", first, first + dt.timedelta(days=6)
    if by == "month":
        first = day.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return f"{day:%Y-%m}", first, following - dt.timedelta(days=1)
    raise ValueError(say("err.period.unknown", by=repr(by), known=", ".join(PERIODS)))


def _mean(values: list[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return _round(sum(known) / len(known)) if known else None


def _round(value: Optional[float]) -> Optional[float]:
    return round(value, 1) if value is not None else None


def _row(label: str, first: dt.date, last: dt.date, manager: str, calls: list[CallRecord], sales: list[DaySales],
         disputes: Optional[dict[str, int]]) -> PeriodRow:
    chats = [r for r in calls if r.result.channel == "chat"]
    contacts = [r for r in calls if r.result.connected]
    days = {r.date for r in contacts}
    row = PeriodRow(
        period=label, start=first.isoformat(), end=last.isoformat(), manager=manager,
        manager_name=next((r.manager_name for r in calls if r.manager_name), ""),
        calls=len(calls) - len(chats), chats=len(chats), contacts=len(contacts),
        replied_chats=sum(1 for r in chats if r.result.connected), days=len(days),
        contacts_per_day=_round(len(contacts) / len(days)) if days else None,
        structure=_mean([r.result.structure for r in contacts]), wording=_mean([r.result.adherence for r in contacts]),
        in_band=_round(share_in_band(r.result.verdict for r in contacts)),
        open_disputes=sum(disputes.get(r.call_id, 0) for r in calls) if disputes is not None else None,
        sales_count=sum(s.sales_count for s in sales), sales_sum=sum(s.sales_sum for s in sales),
    )
    row.connected_calls = row.contacts - row.replied_chats
    return row


def period_rows(store: Store, by: str, *, since: Optional[dt.date] = None, until: Optional[dt.date] = None,
                manager: Optional[str] = None, team: Optional[Team] = None) -> list[PeriodRow]:
    """One row per manager per period with a call, a chat or sales in it, by period then manager; each row's
    target is the manager's contacts a day from the roster's ``targets:`` (the regulations' 40 without one).

    The calls are read in date order, a chunk at a time (from columns: ``Store.iter_contacts``), and each
    period's rows are made as soon as it ends, so a year of history is never in memory at once.

    Raises:
        ValueError: ``by`` is not day, week or month.
    """
    if by not in PERIODS:
        raise ValueError(say("err.period.unknown", by=repr(by), known=", ".join(PERIODS)))
    days = (str(since) if since else None, str(until) if until else None)
    sales: dict[tuple[str, str], list[DaySales]] = defaultdict(list)
    bounds: dict[str, tuple[dt.date, dt.date]] = {}
    for entry in store.sales(since=days[0], until=days[1], manager=manager):
        label, first, last = period_of(dt.date.fromisoformat(entry.date), by)
        bounds[label] = (first, last)
        sales[(label, entry.manager)].append(entry)
    pbx: dict[str, list[DayCount]] = defaultdict(list)
    for count in store.daily_counts(manager=manager, since=days[0], until=days[1]):
        if count.dials is not None:
            label, first, last = period_of(dt.date.fromisoformat(count.date), by)
            bounds[label] = (first, last)
            pbx[label].append(count)
    disputes = store.open_disputes()
    rows: list[PeriodRow] = []
    done: set[str] = set()
    calls = (store.iter_contacts(days[0], days[1], manager) if store.summarised
             else store.calls(since=days[0], until=days[1], manager=manager, with_transcripts=False))
    for label, first, last, by_manager in _periods(calls, by):
        bounds[label] = (first, last)
        rows += _period_rows(label, bounds[label], by_manager, sales, disputes, pbx.get(label, []))
        done.add(label)
    for label in sorted(set(bounds) - done):   # periods with sales or PBX calls and no scored call
        rows += _period_rows(label, bounds[label], {}, sales, disputes, pbx.get(label, []))
    rows.sort(key=lambda r: (r.period, r.manager))
    closed: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    for who in {row.manager for row in rows}:
        for day, status, value in closed_deals(store, who, days[0] or "0000-00-00", days[1] or "9999-12-31",
                                               team.currency if team else "UAH"):
            closed[(period_of(dt.date.fromisoformat(day), by)[0], who)].append((status, value))
    for row in rows:
        row.target_per_day = (team.targets_for(row.manager) if team else Targets()).contacts_per_day
        deals = closed[(row.period, row.manager)]
        won = [value for status, value in deals if status == "won"]
        row.crm_sales_count, row.crm_sales_sum, row.deals_closed = len(won), sum(won), len(deals)
        row.conversion = _round(100 * len(won) / len(deals)) if deals else None
        row.mean_won_value = _round(sum(won) / len(won)) if won else None
    return rows


def _periods(calls: Iterable[CallRecord], by: str) -> Iterator[tuple[str, dt.date, dt.date, dict[str, list[CallRecord]]]]:
    """The calls (in date order) a period at a time: its label, first and last day, its calls by manager."""
    current: Optional[tuple[str, dt.date, dt.date]] = None
    by_manager: dict[str, list[CallRecord]] = defaultdict(list)
    known: dict[str, tuple[str, dt.date, dt.date]] = {}   # a year has a few hundred days, and 100,000 calls
    for rec in calls:
        if not rec.date:
            continue
        period = known.get(rec.date) or known.setdefault(rec.date, period_of(dt.date.fromisoformat(rec.date), by))
        if current is not None and period[0] != current[0]:
            yield (*current, by_manager)
            by_manager = defaultdict(list)
        current = period
        by_manager[rec.manager].append(rec)
    if current is not None:
        yield (*current, by_manager)


def _period_rows(label: str, bounds: tuple[dt.date, dt.date], calls: dict[str, list[CallRecord]],
                 sales: dict[tuple[str, str], list[DaySales]], disputes: Optional[dict[str, int]],
                 pbx: list[DayCount]) -> list[PeriodRow]:
    who = sorted(set(calls) | {m for (lab, m) in sales if lab == label})
    rows = [_row(label, *bounds, m, calls.get(m, []), sales.get((label, m), []), disputes) for m in who]
    return _with_pbx(rows, label, bounds, pbx, calls)


def _with_pbx(rows: list[PeriodRow], label: str, bounds: tuple[dt.date, dt.date], pbx: list[DayCount],
              calls: dict[str, list[CallRecord]]) -> list[PeriodRow]:
    """Where the PBX reported a day, that day's calls, dials and connected calls as the daily report counts them
    (``Store.daily_counts``): unanswered calls that were never recorded count too, each PBX call once."""
    by_key = {r.manager: r for r in rows}
    for day in pbx:
        row = by_key.setdefault(day.manager, PeriodRow(period=label, start=bounds[0].isoformat(),
                                                       end=bounds[1].isoformat(), manager=day.manager))
        scored = [r for r in calls.get(day.manager, []) if r.date == day.date and r.result.channel != "chat"]
        scored_connected = sum(1 for r in scored if r.result.connected)
        added = day.connected - scored_connected
        if day.connected and not scored_connected:
            row.days += 1
        row.calls += day.calls - len(scored)
        row.connected_calls += added
        row.contacts += added
        row.dials = (row.dials or 0) + (day.dials or 0)
        row.contacts_per_day = _round(row.contacts / row.days) if row.days else None
    return list(by_key.values())
