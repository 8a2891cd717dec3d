"""Reading the history: the daily KPI and daily report text, and the export for spreadsheets."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from pydantic import BaseModel

from compliance.history.store import Store
from compliance.scoring.result import CallRecord, band_verdict
from compliance.text.formats import format_number

DAILY_TARGET = (30, 40)
EXPORT_FORMATS = ("csv", "json")
_BASE_FIELDS = ["date", "time", "manager", "manager_name", "level", "file", "call_id", "script", "connected",
                "adherence", "coverage", "verdict", "overridden", "machine_adherence"]


class DailyReport(BaseModel):
    """One manager's day: the numbers of the daily report the managers send in the chat."""

    manager: str
    date: str
    calls: int
    connected: int
    sales_sum: float = 0
    sales_count: int = 0
    target: tuple[int, int] = DAILY_TARGET

    @property
    def kpi_status(self) -> str:
        """below / within / above the daily target of connected calls."""
        return band_verdict(self.connected, self.target)

    def text(self) -> str:
        """The report exactly as the team writes it."""
        return "\n".join([
            f"✅Сумма продаж – {_number(self.sales_sum)} грн",
            f"✅Кол-во продаж – {self.sales_count} шт",
            f"✅Кол-во дозвонов – {self.connected} шт.",
            "План на завтра:",
        ])


def _number(value: float) -> str:
    """``45 000``, ``12 500,50``: as the team writes sums in its daily report (Babel, Russian)."""
    return format_number(value, "ru", 0 if float(value).is_integer() else 2)


def daily_report(store: Store, manager: str, date: str | dt.date | None = None, *, sales_sum: float = 0,
                 sales_count: int = 0) -> DailyReport:
    """The daily report of ``manager`` on ``date`` (default today): connected calls from the recordings."""
    day = str(date or dt.date.today())
    counts = store.daily_counts(manager=manager, since=day, until=day)
    calls = counts[0].calls if counts else 0
    connected = counts[0].connected if counts else 0
    return DailyReport(manager=manager, date=day, calls=calls, connected=connected, sales_sum=sales_sum,
                       sales_count=sales_count)


def _stage_ids(records: list[CallRecord]) -> list[str]:
    ids: list[str] = []
    for rec in records:
        for stage in rec.result.stages:
            if stage.id not in ids:
                ids.append(stage.id)
    return ids


def export_rows(records: list[CallRecord]) -> list[dict[str, Any]]:
    """One flat row per call: who, when, script, scores, verdict, stage scores, missing stages."""
    stage_ids = _stage_ids(records)
    rows = []
    for rec in records:
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
        }
        for sid in stage_ids:
            stage = by_id.get(sid)
            row[f"stage_{sid}"] = stage.score if stage and stage.applies else None
        rows.append(row)
    return rows


def render_export(records: list[CallRecord], fmt: str) -> str:
    """CSV (comma-separated, for Google Sheets / Excel; write it with a BOM) or JSON (a list of rows).

    Raises:
        ValueError: unknown format.
    """
    rows = export_rows(records)
    if fmt == "json":
        for row, rec in zip(rows, records):
            row["stages"] = _stages_json(rec)
        return json.dumps(rows, ensure_ascii=False, indent=1)
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
    buf = io.StringIO()
    fields = list(rows[0]) if rows else _BASE_FIELDS
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\r\n")
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
