"""Reading the history: the daily KPI and daily report text, and the export for spreadsheets."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from typing import Any, Iterable, Optional, TextIO

from pydantic import BaseModel

from compliance.history.roster import Targets
from compliance.history.schema import DayCount, DaySales, ManagerRow
from compliance.history.store import Store
from compliance.scoring.result import CallRecord, band_verdict
from compliance.text.catalogue import say
from compliance.text.formats import format_number

DAILY_TARGET = Targets().daily_band   # pages without a roster: the regulations' defaults
EXPORT_FORMATS = ("csv", "json")
_BASE_FIELDS = ["date", "time", "manager", "manager_name", "level", "file", "call_id", "script", "connected",
                "adherence", "coverage", "verdict", "overridden", "machine_adherence"]


class DailyReport(BaseModel):
    """One manager's day: the numbers of the daily report the managers send in the chat."""

    manager: str
    date: str
    calls: int
    connected: int
    chats: int = 0
    chats_replied: int = 0            # chats in which the client replied: contacts, like connected calls
    dials: Optional[int] = None       # calls dialled, as the PBX counts them (None: no PBX data that day)
    sales_sum: float = 0
    sales_count: int = 0
    targets: Targets = Targets()
    sales_from_crm: bool = False      # the sales are Pipedrive's won deals (nothing was entered for the day)
    currency: str = "UAH"

    @property
    def contacts(self) -> int:
        """What the KPI counts: connected calls and chats the client replied in («дозвонов/переписок»)."""
        return self.connected + self.chats_replied

    @property
    def kpi_status(self) -> str:
        """below / within / above the daily target of contacts."""
        return band_verdict(self.contacts, self.targets.daily_band)

    def text(self, lang: str = "ru") -> str:
        """The report as the team writes it, with chats apart from calls and their sum against the target."""
        from compliance.text.catalogue import text

        money = format_number(self.sales_sum, lang, 0 if float(self.sales_sum).is_integer() else 2)
        return "\n".join([
            text("daily.sales_sum", lang, sum=money, currency=currency_word(self.currency, lang)),
            text("daily.sales_count", lang, n=self.sales_count),
            *([text("daily.dials", lang, n=self.dials)] if self.dials is not None else []),
            text("daily.connected", lang, n=self.connected),
            text("daily.chats", lang, n=self.chats_replied),
            text("daily.contacts", lang, n=self.contacts, target=self.targets.contacts_per_day),
            text("daily.plan", lang),
        ])


def closed_deals(store: Store, manager: str, since: str, until: str,
                 currency: Optional[str] = None) -> list[tuple[str, str, float]]:
    """(day, status, value) of each deal of ``manager``'s calls won or lost in [since, until] (by the local date of
    ``won_time`` / ``lost_time``, which Pipedrive gives in UTC: a deal won at 01:00 in Kyiv is that day's, not the
    day before's), from what `compliance pipedrive sync` stored; empty without synced outcomes.
    With ``currency``, deals in another currency are left out (sums are never mixed)."""
    try:
        rows = store.query(
            "SELECT CASE d.status WHEN 'won' THEN d.won_time ELSE d.lost_time END AS day, d.status, "
            "d.value FROM crm_deals d WHERE d.status IN ('won', 'lost') AND (? IS NULL OR d.currency IN ('', ?)) "
            "AND d.deal_id IN (SELECT p.deal_id FROM crm_pushes p JOIN calls c ON c.call_id = p.call_id "
            "WHERE c.manager = ? AND p.account = d.account)", (currency, currency, manager))
    except sqlite3.OperationalError:
        return []
    days = ((local_day(r["day"]), r["status"], r["value"] or 0.0) for r in rows if r["day"])
    return sorted(d for d in days if since <= d[0] <= until)


def local_day(utc_time: str) -> str:
    """The local date (ISO) of a UTC time as Pipedrive writes it («2026-11-27 22:30:00»; a bare date is kept),
    in this machine's time zone with its summer time — the zone the recorder's file names are in."""
    try:
        moment = dt.datetime.fromisoformat(utc_time.strip())
    except ValueError:
        return utc_time[:10]
    if len(utc_time.strip()) <= 10:
        return moment.date().isoformat()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone().date().isoformat()


def won_deals(store: Store, manager: str, since: str, until: str, currency: Optional[str] = None) -> list[DaySales]:
    """Deals of ``manager``'s calls won in [since, until] (in ``currency`` when given), per day, as the day's sales."""
    per_day: dict[str, DaySales] = {}
    for day, status, value in closed_deals(store, manager, since, until, currency):
        if status == "won":
            entry = per_day.setdefault(day, DaySales(manager=manager, date=day))
            entry.sales_count += 1
            entry.sales_sum += value
    return list(per_day.values())


def manager_matches(store: Store, given: str) -> list[ManagerRow]:
    """The stored managers whose key or name holds what was typed (case-insensitive, ё = е), best first:
    the exact key alone when there is one."""
    from compliance.history.roster import normalize_manager_key

    wanted = normalize_manager_key(given)
    rows = store.managers()
    exact = [m for m in rows if m.id == wanted]
    if exact:
        return exact
    if not wanted:
        return []
    return [m for m in rows if wanted in m.id or wanted in normalize_manager_key(m.name)]


def days_with_calls(store: Store, manager: str, near: str, count: int = 3) -> list[str]:
    """Up to ``count`` days of ``manager``'s calls closest to ``near`` (ISO), in date order."""
    days = [c.date for c in store.daily_counts(manager=manager)]
    days.sort(key=lambda d: abs((dt.date.fromisoformat(d) - dt.date.fromisoformat(near)).days))
    return sorted(days[:count])


def currency_word(code: str, lang: str = "ru") -> str:
    """How the team writes its currency after a sum: «грн» for hryvnias (the regulations' own), else CLDR's symbol
    (Babel): «$», «€», «₸»."""
    from babel.numbers import get_currency_symbol

    return "грн" if code == "UAH" and lang == "ru" else get_currency_symbol(code, locale=lang)


def daily_report(store: Store, manager: str, date: str | dt.date | None = None, *,
                 sales_sum: Optional[float] = None, sales_count: Optional[int] = None,
                 targets: Optional[Targets] = None, currency: str = "UAH") -> DailyReport:
    """The daily report of ``manager`` on ``date`` (default today): calls and chats from the history, against
    ``targets`` (the roster's for this manager; the regulations' defaults when there is no roster).

    Sales given here are kept in the history for that day (the store must be writable); sales not given are
    the ones kept earlier, else the deals of the manager's calls won that day in Pipedrive (`pipedrive sync`),
    else 0 — so the week and month export can sum them.
    """
    day = str(date or dt.date.today())
    counts = store.daily_counts(manager=manager, since=day, until=day)
    count = counts[0] if counts else DayCount(manager=manager, date=day, calls=0, connected=0)
    stored = next(iter(store.sales(since=day, until=day, manager=manager)), None)
    from_crm = stored is None and sales_sum is None and sales_count is None
    if from_crm:
        stored = next(iter(won_deals(store, manager, day, day, currency)), None)
    sales = DaySales(manager=manager, date=day,
                     sales_count=sales_count if sales_count is not None else stored.sales_count if stored else 0,
                     sales_sum=sales_sum if sales_sum is not None else stored.sales_sum if stored else 0.0)
    if sales_sum is not None or sales_count is not None:
        store.save_sales(sales)
    return DailyReport(manager=manager, date=day, calls=count.calls, connected=count.connected, chats=count.chats,
                       chats_replied=count.chats_replied, sales_sum=sales.sales_sum, sales_count=sales.sales_count,
                       targets=targets or Targets(), sales_from_crm=from_crm and stored is not None,
                       currency=currency, dials=count.dials)


def _stage_ids(records: list[CallRecord]) -> list[str]:
    ids: list[str] = []
    for rec in records:
        for stage in rec.result.stages:
            if stage.id not in ids:
                ids.append(stage.id)
    return ids


def export_row(rec: CallRecord, stage_ids: list[str]) -> dict[str, Any]:
    """One call's flat row: who, when, script, scores, verdict, a score per stage of ``stage_ids``, missing stages."""
    res = rec.result
    by_id = {s.id: s for s in res.stages}
    row: dict[str, Any] = {
        "date": rec.date, "time": rec.time, "manager": rec.manager, "manager_name": rec.manager_name,
        "level": rec.level, "file": rec.file, "call_id": rec.call_id, "script": res.script_id,
        "connected": res.connected, "not_connected_reason": res.not_connected_reason,
        "adherence": res.adherence, "coverage": res.coverage, "verdict": res.verdict,
        # The lead's decisions are in the columns above; the machine's own score stands beside them.
        "overridden": rec.machine is not None,
        "machine_adherence": (rec.machine or res).adherence, "machine_coverage": (rec.machine or res).coverage,
        "machine_verdict": (rec.machine or res).verdict,
        "band_min": res.band[0], "band_max": res.band[1], "order_ok": res.order_ok,
        "missing_stages": " ".join(s.id for s in res.missing_required),
        "forbidden": " | ".join(h.phrase for h in res.forbidden),
        "duration": res.duration,
        "manager_talk_share": res.talk.manager_share if res.talk else None,
        "channel": res.channel,
        "first_response": res.chat.first_response if res.chat else None,
        "longest_wait": res.chat.longest_wait if res.chat else None,
    }
    for sid in stage_ids:
        stage = by_id.get(sid)
        row[f"stage_{sid}"] = stage.score if stage and stage.applies else None
    return row


def export_rows(records: list[CallRecord]) -> list[dict[str, Any]]:
    """One flat row per call (``export_row``), with a column for every stage any of the calls has."""
    stage_ids = _stage_ids(records)
    return [export_row(rec, stage_ids) for rec in records]


def render_export(records: list[CallRecord], fmt: str) -> str:
    """CSV (comma-separated, for Google Sheets / Excel; write it with a BOM) or JSON (a list of rows).

    Raises:
        ValueError: unknown format.
    """
    buf = io.StringIO()
    write_export(records, fmt, _stage_ids(records), buf)
    return buf.getvalue()


def write_export(records: Iterable[CallRecord], fmt: str, stage_ids: list[str], out: TextIO) -> int:
    """``render_export`` a row at a time into ``out`` (the same text), for calls read a chunk at a time
    (``Store.iter_calls``): ``stage_ids`` are the stage columns, known beforehand (``Store.stage_ids``).
    Returns how many rows were written.

    Raises:
        ValueError: unknown format.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(say("err.export.format", fmt=repr(fmt), known=", ".join(EXPORT_FORMATS)))
    writer: Optional[csv.DictWriter] = None
    count = 0
    for rec in records:
        row = export_row(rec, stage_ids)
        if fmt == "json":  # each stage with the lead's decision beside the machine's
            row["stages"] = _stages_json(rec)
            # json.dumps(rows, indent=1) of the whole list, one row at a time: each row one level in
            text = json.dumps(row, ensure_ascii=False, indent=1).replace("\n", "\n ")
            out.write(("[\n " if count == 0 else ",\n ") + text)
        else:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\r\n")
                writer.writeheader()
            writer.writerow({k: _cell(v) for k, v in row.items()})
        count += 1
    if fmt == "json":
        out.write("\n]" if count else "[]")
    elif writer is None:
        csv.DictWriter(out, fieldnames=_BASE_FIELDS, lineterminator="\r\n").writeheader()
    return count


def render_table(rows: list[dict[str, Any]], fmt: str, fields: list[str]) -> str:
    """Rows as CSV (cells that a spreadsheet would run as formulas are written as text) or JSON; ``fields`` are
    the CSV header when there are no rows.

    Raises:
        ValueError: unknown format.
    """
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1)
    if fmt != "csv":
        raise ValueError(say("err.export.format", fmt=repr(fmt), known=", ".join(EXPORT_FORMATS)))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else fields, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def _stages_json(rec: CallRecord) -> list[dict[str, Any]]:
    """Each stage as scored, with the lead's decision (``override``) and the machine's own presence beside it."""
    machine = {s.id: s for s in (rec.machine or rec.result).stages}
    out = []
    for stage in rec.result.stages:
        item: dict[str, Any] = {"id": stage.id, "present": stage.present, "applies": stage.applies,
                                "score": stage.score, "machine_present": machine[stage.id].present}
        if stage.override is not None:
            item["override"] = stage.override.model_dump(include={"present", "by", "at", "note"})
        lines = [{"line": i + 1, **ln.override.model_dump(include={"present", "by", "at", "note"})}
                 for i, ln in enumerate(stage.lines) if ln.override is not None]
        if lines:
            item["line_overrides"] = lines
        out.append(item)
    return out


# A cell that starts with one of these is a formula to Excel and Google Sheets (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, float):
        return round(value, 1)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # shown as text, never run: a manager's name «=HYPERLINK(…)» stays a name
    return value
