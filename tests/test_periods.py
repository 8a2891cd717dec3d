"""The week/month export (issue 12, point 8): one row per manager per period, contacts apart and summed, averages,
share in band, open disputes, sales from `compliance daily`; CSV with a BOM and no cell a spreadsheet would run."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3

import pytest
from click.testing import CliRunner

from compliance.cli import cli
from compliance.history.daily import daily_report
from compliance.history.periods import period_of, period_rows
from compliance.history.schema import CallMeta
from compliance.history.store import Store
from compliance.scoring.result import CallRecord, CallResult, Verdict

NAMES = {"ivanova": "Иванова Мария", "petrov": "=HYPERLINK(\"http://x\",\"Петров\")"}

#            manager     date          kind    connected  structure wording verdict
CALLS = [("ivanova", "2026-11-23", "call", True, 100.0, 88.0, Verdict.WITHIN),
         ("ivanova", "2026-11-23", "call", True, 80.0, 70.0, Verdict.BELOW),
         ("ivanova", "2026-11-27", "call", False, None, None, None),
         ("ivanova", "2026-11-27", "chat", True, 90.0, 86.0, Verdict.WITHIN),
         ("ivanova", "2026-11-30", "chat", False, None, None, None),
         ("petrov", "2026-12-01", "call", True, 60.0, 58.0, Verdict.WITHIN)]


@pytest.fixture()
def history(tmp_path):
    db = tmp_path / "h.db"
    with Store(db) as store:
        for i, (who, day, kind, connected, structure, wording, verdict) in enumerate(CALLS):
            result = CallResult(script_id="s", level="newcomer", band=(85, 90), connected=connected,
                                structure=structure, adherence=wording, verdict=verdict, channel=kind)
            record = CallRecord(call_id=f"c{i}", file=f"/calls/{i}.txt", manager=who, manager_name=NAMES[who],
                                date=day, result=result)
            store.save_call(record, CallMeta(kind="chat" if kind == "chat" else "transcript", score_key="k"))
        daily_report(store, "ivanova", "2026-11-23", sales_sum=15000, sales_count=2)
        daily_report(store, "ivanova", "2026-11-30", sales_sum=500.5, sales_count=1)
        daily_report(store, "sidorova", "2026-11-24", sales_sum=7000, sales_count=1)  # sales, no calls stored
    return db


@pytest.mark.parametrize("day, by, label, first, last", [
    ("2026-11-27", "day", "2026-11-27", "2026-11-27", "2026-11-27"),
    ("2026-11-27", "week", "2026-W48", "2026-11-23", "2026-11-29"),
    ("2026-11-30", "week", "2026-W49", "2026-11-30", "2026-12-06"),
    ("2027-01-01", "week", "2026-W53", "2026-12-28", "2027-01-03"),  # ISO week of the year before
    ("2026-02-10", "month", "2026-02", "2026-02-01", "2026-02-28"),
    ("2026-12-31", "month", "2026-12", "2026-12-01", "2026-12-31"),
])
def test_period_of(day, by, label, first, last):
    assert period_of(dt.date.fromisoformat(day), by) == (label, dt.date.fromisoformat(first),
                                                         dt.date.fromisoformat(last))


def test_rows_by_week(history):
    with Store(history, read_only=True) as store:
        rows = {(r.period, r.manager): r for r in period_rows(store, "week")}
    assert list(rows) == [("2026-W48", "ivanova"), ("2026-W48", "sidorova"), ("2026-W49", "ivanova"),
                          ("2026-W49", "petrov")]
    w48 = rows[("2026-W48", "ivanova")]
    assert (w48.calls, w48.chats, w48.connected_calls, w48.replied_chats, w48.contacts, w48.days) == (3, 1, 2, 1, 3, 2)
    assert (w48.structure, w48.wording, w48.in_band, w48.contacts_per_day) == (90.0, 81.3, 66.7, 1.5)
    assert (w48.sales_count, w48.sales_sum, w48.open_disputes, w48.target_per_day) == (2, 15000, 0, 40)
    assert (rows[("2026-W48", "sidorova")].contacts, rows[("2026-W48", "sidorova")].sales_sum) == (0, 7000)
    w49 = rows[("2026-W49", "ivanova")]
    assert (w49.chats, w49.replied_chats, w49.contacts, w49.structure, w49.sales_sum) == (1, 0, 0, None, 500.5)


def test_rows_by_month_and_day_and_filters(history):
    with Store(history, read_only=True) as store:
        months = [(r.period, r.manager, r.contacts, r.sales_count) for r in period_rows(store, "month")]
        days = [(r.period, r.manager) for r in period_rows(store, "day", manager="ivanova",
                                                           since=dt.date(2026, 11, 24))]
    assert months == [("2026-11", "ivanova", 3, 3), ("2026-11", "sidorova", 0, 1), ("2026-12", "petrov", 1, 0)]
    assert days == [("2026-11-27", "ivanova"), ("2026-11-30", "ivanova")]


def test_open_disputes_are_counted_when_the_history_keeps_them(history):
    # the review's disputes table (compliance serve); these calls have no stages, so the rows are written directly
    conn = sqlite3.connect(history)
    conn.executemany("INSERT INTO disputes (call_id, stage_id, manager, by_login, comment, status, at) "
                     "VALUES (?, 'greeting', 'm', 'm', 'not so', ?, '2026-12-01T10:00:00')",
                     [("c0", "open"), ("c1", "open"), ("c1", "rejected"), ("c5", "open")])
    conn.commit()
    conn.close()
    with Store(history, read_only=True) as store:
        rows = {(r.period, r.manager): r.open_disputes for r in period_rows(store, "week")}
    assert rows == {("2026-W48", "ivanova"): 2, ("2026-W48", "sidorova"): 0, ("2026-W49", "ivanova"): 0,
                    ("2026-W49", "petrov"): 1}


def test_export_by_week_csv_for_google_sheets(history, tmp_path):
    out = tmp_path / "weeks.csv"
    res = CliRunner().invoke(cli, ["export", "--by", "week", "--db", str(history), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "4 строк" in res.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Sheets and Excel read the Cyrillic right
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == len({(r["period"], r["manager"]) for r in rows}) == 4  # one row per manager per period
    petrov = next(r for r in rows if r["manager"] == "petrov")
    assert petrov["manager_name"] == "'" + NAMES["petrov"]  # a formula is written as text
    assert (petrov["contacts"], petrov["structure"], petrov["open_disputes"]) == ("1", "60.0", "0")
    ivanova = next(r for r in rows if r["period"] == "2026-W49" and r["manager"] == "ivanova")
    assert (ivanova["sales_count"], ivanova["sales_sum"], ivanova["structure"]) == ("1", "500.5", "")


@pytest.mark.parametrize("name", ["=1+1", "+380991234567", "-Петров", "@SUM(A1)"])
def test_period_csv_neutralises_formulas(history, name):
    conn = sqlite3.connect(history)
    conn.execute("UPDATE calls SET manager_name = ? WHERE manager = 'petrov'", (name,))
    conn.commit()
    conn.close()
    res = CliRunner().invoke(cli, ["export", "--by", "month", "--db", str(history)])
    rows = list(csv.DictReader(io.StringIO(res.stdout_bytes.decode("utf-8-sig"))))
    assert next(r for r in rows if r["manager"] == "petrov")["manager_name"] == "'" + name
    as_json = CliRunner().invoke(cli, ["export", "--by", "month", "--format", "json", "--db", str(history)])
    assert next(r for r in json.loads(as_json.output) if r["manager"] == "petrov")["manager_name"] == name


def test_export_by_period_of_an_empty_range_has_a_header(history):
    res = CliRunner().invoke(cli, ["export", "--by", "day", "--since", "2030-01-01", "--db", str(history)])
    assert res.exit_code == 0 and res.stdout_bytes.decode("utf-8-sig").startswith("period,start,end,manager,")
