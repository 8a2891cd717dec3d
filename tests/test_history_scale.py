"""A year of history: the hot queries probe indexes (EXPLAIN QUERY PLAN), what the pages and readiness read from
the summary columns says what reading every call in full says, and the reads in chunks return the same calls."""
from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Optional

import pytest

from compliance.history.migrations import _SCALE7_AWAITING, _V11_SCALE, _V12_DECIDED, MIGRATIONS
from compliance.history.periods import period_rows
from compliance.history.readiness import history_readiness, readiness_by_manager
from compliance.history.schema import CallMeta
from compliance.history.store import Store
from compliance.review.ledger import (
    confirm_decision,
    confirm_flags,
    drop_decision,
    line_id_of,
    open_dispute,
    resolve_dispute,
    set_override,
)
from compliance.scoring.quality import RecognitionQuality
from compliance.scoring.result import CallRecord, CallResult, LineResult, ReviewFlag, StageResult
from compliance.scoring.transcript import Segment, Transcript
from compliance.scoring.verdict import summarise
from compliance.web.views import _team_view_read_all, manager_view, team_view

STAGES = [("greeting", True), ("needs", True), ("offer", True), ("payment_timing", True), ("extra", False)]


def _call(rng: random.Random, i: int, manager: str, level: str, day: int) -> CallRecord:
    connected = rng.random() > 0.15
    stages = []
    for sid, required in STAGES:
        said = rng.random() < 0.8
        score = rng.uniform(55, 100) if said else rng.uniform(0, 30)
        stages.append(StageResult(id=sid, title=sid.title(), required=required, score=round(score, 1), present=said,
                                  lines=[LineResult(text=f"{sid} line", similarity=round(score, 1),
                                                    matched=f"{sid} said" if said else None)]))
    band = (85.0, 90.0) if level == "newcomer" else (55.0, 60.0)
    result = CallResult(script_id="sales_call", script_hash="h1", level=level, band=band, connected=connected,
                        stages=stages if connected else [], channel="chat" if i % 9 == 0 else "call",
                        quality=RecognitionQuality(rating=rng.choice(["good", "good", "fair", "poor"])))
    if connected:
        summarise(result)
        if rng.random() < 0.2:
            result.flags = [ReviewFlag(code="poor_recognition")]
    transcript = Transcript(segments=[Segment(text="Добрый день", speaker="manager", start=0.0, end=1.0)],
                            source=f"/calls/{i}.txt", duration=60.0)
    return CallRecord(call_id=f"c{i:05d}", file=f"/calls/{manager}/{i}.txt", manager=manager,
                      manager_name=manager.title(), date=f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}",
                      time=f"{9 + i % 9:02d}:{i % 60:02d}:00", level=level, result=result, transcript=transcript)


def _meta(record: CallRecord) -> CallMeta:
    return CallMeta(kind="chat" if record.result.channel == "chat" else "transcript", score_key="k",
                    transcribe_key="text", source_root="/calls", source_key=record.file[len("/calls/"):],
                    content_hash=record.call_id)


def _history(db: Path, per_manager: int = 60, seed: int = 5) -> list[CallRecord]:
    rng = random.Random(seed)
    records = []
    with Store(db) as store:
        for i in range(per_manager * 3):
            manager = ("ivanova", "petrov", "sokolova")[i % 3]
            level = "experienced" if manager == "petrov" or (manager == "sokolova" and i > per_manager) else "newcomer"
            record = _call(rng, i, manager, level, i // 3)
            store.save_call(record, _meta(record))
            records.append(record)
        decided = [r for r in records if r.result.connected][::7]
        for r in decided:
            if r.result.flags:
                confirm_flags(store, r.call_id, by="lead")
            else:
                set_override(store, r.call_id, "needs", not r.result.stages[1].present, by="lead")
    return records


def _plans(conn: sqlite3.Connection, statements: list[str]) -> list[tuple[str, str]]:
    out = []
    for sql in statements:
        head = sql.lstrip().split(None, 1)[0].upper()
        if head in ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"):
            continue
        out += [(sql[:120], row[3]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
    return out


def _scans(conn: sqlite3.Connection, statements: list[str]) -> list[tuple[str, str]]:
    return [(sql, detail) for sql, detail in _plans(conn, statements)
            if detail.startswith("SCAN") and "CONSTANT ROW" not in detail and "sqlite_master" not in detail]


def _traced(store: Store, work) -> list[str]:
    seen: list[str] = []
    store.connection.set_trace_callback(seen.append)
    try:
        work()
    finally:
        store.connection.set_trace_callback(None)
    return seen


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, list[CallRecord]]:
    db = tmp_path_factory.mktemp("scale") / "history.db"
    return db, _history(db)


def test_hot_queries_probe_indexes(history):
    """Saving a call (new, and again), a manager's calls of a day, their newest 20, a call by id, its decisions,
    a page of a manager's calls, a batch finding a file's stored call and a content's owner: no statement scans a
    table."""
    db, records = history
    rng = random.Random(9)
    with Store(db) as store:
        fresh = _call(rng, 9999, "ivanova", "newcomer", 200)
        again = records[4].model_copy(update={"time": "18:00:00"})
        statements = _traced(store, lambda: (store.save_call(fresh, _meta(fresh)),
                                             store.save_call(again, _meta(again))))
        assert any(s.startswith("UPDATE failures") for s in statements)
        statements += _traced(store, lambda: (
            store.daily_counts(manager="ivanova", since="2026-01-05", until="2026-01-05"),
            store.readiness_calls("ivanova", "newcomer", 20),
            store.call(records[10].call_id),
            store.calls_page("petrov", 50, 50),
            store.has_calls("petrov"),
            store.latest_call("petrov"),
            # a batch's planning, one file at a time: its stored call by source, else by file; a content's owner
            store.find_source("/calls", [records[3].file[len("/calls/"):]], records[3].file),
            store.find_source("/elsewhere", ["x.txt", "y.txt"], "/elsewhere/x.txt"),
            store.content_owner(records[3].call_id),
            store.content_owner("0" * 64),
            # the team page: the calls awaiting the lead (ids only), the disputed stages' and lines' places
            store.awaiting_check("ivanova", "newcomer"),
            store.dispute_places([(records[5].call_id, records[5].result.stages[0].id, 0)])))
        scans = _scans(store.connection, statements)
    assert not scans, "\n".join(f"{detail}: {sql}" for sql, detail in scans)


def test_full_scan_is_caught(history):
    """The check itself fails on a query without an index."""
    db, _ = history
    with Store(db) as store:
        statements = _traced(store, lambda: store.query("SELECT call_id FROM calls WHERE phone = ?", ("1",)))
        assert _scans(store.connection, statements)


def test_readiness_from_summaries_is_the_full_reading(history):
    """The store's pick (newest window, flagged ones waiting; decided calls in full) judges as every call read."""
    db, _ = history
    with Store(db) as store:
        keys = store.manager_keys()
        everything = {k: store.calls(manager=k, with_transcripts=False) for k in keys}
        for window in (5, 20, 200):
            full = readiness_by_manager(everything, None, window=window)
            picked = history_readiness(store, None, keys, window=window)
            for key in keys:
                apart = {"manager_name", "conversion", "team_conversion"}  # history_readiness adds the CRM's
                assert picked[key].model_dump(exclude=apart) == full[key].model_dump(exclude=apart), (key, window)
        assert any(r.calls_awaiting_check for r in picked.values())


def test_team_page_from_columns_is_the_full_reading(history):
    db, _ = history
    with Store(db) as store:
        assert store.summarised
        fast, full = team_view(store), _team_view_read_all(store)
    assert fast.model_dump() == full.model_dump()
    assert any(m.overridden for m in fast.managers) and any(m.mean != m.machine_mean for m in fast.managers)


def test_manager_page_is_paginated_newest_first(history):
    db, _ = history
    with Store(db) as store:
        everything = store.calls(manager="ivanova", with_transcripts=False)
        first, second = manager_view(store, "ivanova", 1), manager_view(store, "ivanova", 2)
        beyond = manager_view(store, "ivanova", 99)
        assert manager_view(store, "nobody") is None
    assert first is not None and second is not None and beyond is not None
    assert first.total == len(everything) and first.pages == 1 + (len(everything) - 1) // 50
    shown = [c.call_id for c in first.calls + second.calls]
    assert len(first.calls) == min(50, len(everything)) and beyond.page == first.pages
    newest_first = sorted(everything, key=lambda r: (r.date or "", r.time or "", r.analysed_at or "", r.call_id),
                          reverse=True)
    assert shown == [r.call_id for r in newest_first][:len(shown)]


def test_chunked_reads_return_the_same_calls(history, monkeypatch):
    db, _ = history
    monkeypatch.setattr("compliance.history.summaries.CHUNK", 7)
    with Store(db) as store:
        whole = store.calls(manager="petrov")
        assert [r.model_dump() for r in store.iter_calls(manager="petrov")] == [r.model_dump() for r in whole]
        summaries = list(store.iter_summaries(manager="petrov"))
        assert [r.call_id for r in summaries] == [r.call_id for r in whole]
        for short, full in zip(summaries, whole):
            for field in ("connected", "adherence", "verdict", "structure", "channel", "flags"):
                assert getattr(short.result, field) == getattr(full.result, field), field
            assert short.result.quality == full.result.quality


def test_migration_adds_columns_and_indexes_to_an_existing_history(tmp_path):
    db = tmp_path / "old.db"
    _history(db, per_manager=6)
    with Store(db) as store:
        version = store.version
        expected = {r[0]: (r[1], r[2], r[3]) for r in store.query("SELECT call_id, flagged, quality, structure "
                                                                    "FROM calls")}
    conn = sqlite3.connect(db)  # back to the schema before V11_SCALE, as a history written by an older version
    for index in ("calls_decided", "calls_summary", "calls_file", "failures_content", "disputes_call", "disputes_manager",
                  "audit_call", "batch_calls_call", "overrides_active", "calls_awaiting", "calls_period"):
        conn.execute(f"DROP INDEX {index}")
    for column in ("flagged", "quality", "structure", "decided", "decided_adherence", "decided_structure",
                   "decided_verdict"):
        conn.execute(f"ALTER TABLE calls DROP COLUMN {column}")
    conn.execute("CREATE INDEX calls_manager_date ON calls(manager, date, time)")
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(_V11_SCALE)}")
    conn.commit()
    conn.close()
    with Store(db, read_only=True) as old:
        assert not old.summarised
        before = history_readiness(old, None, None)
    with Store(db) as store:
        assert store.version == version and store.summarised
        indexes = {r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"calls_summary", "calls_file", "failures_content", "overrides_active", "calls_awaiting",
                "calls_period"} <= indexes
        got = {r[0]: (r[1], r[2], r[3]) for r in store.query("SELECT call_id, flagged, quality, structure FROM calls")}
        assert got == expected and any(v[0] for v in got.values())
        assert history_readiness(store, None, None) == before


def test_batch_submits_through_a_bounded_window(tmp_path, monkeypatch):
    """A pool batch keeps at most WINDOW_PER_WORKER jobs a worker in flight, drops each future once saved, and
    still stores every file."""
    from compliance.batch import execute
    from compliance.batch.models import BatchOptions
    from compliance.batch.run import run_batch

    folder = tmp_path / "day"
    for i in range(45):
        path = folder / f"m{i % 3}" / "2026-11-27" / f"call-{i:03d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"М: Добрый день! Меня зовут Мария, компания «Смарт Мейкер».\nК: Заказ {i}.\n"
                        "М: Когда вы планируете оплату?\nК: Завтра.", encoding="utf-8")
    monkeypatch.setattr(execute, "WINDOW_PER_WORKER", 2)
    monkeypatch.setattr(execute.os, "cpu_count", lambda: 2)
    most = []
    fill = execute._Window._fill

    def watched(self, first=False):
        fill(self, first)
        most.append(len(self.futures))

    monkeypatch.setattr(execute._Window, "_fill", watched)
    summary = run_batch(BatchOptions(folder=folder, db=tmp_path / "h.db", workers=2))
    assert summary.failed == 0 and summary.analysed == 45
    assert most and max(most) == 4          # two workers, two jobs each
    with Store(tmp_path / "h.db") as store:
        assert len(store.call_ids()) == 45


Decided = tuple[int, Optional[float], Optional[float], Optional[str]]


def _decided_columns(store: Store) -> dict[str, Decided]:
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in store.query(
        "SELECT call_id, decided, decided_adherence, decided_structure, decided_verdict FROM calls")}


def _as_read(store: Store) -> dict[str, Decided]:
    """What reading each call in full (``apply_decisions`` on its stored result) says of it."""
    out: dict[str, Decided] = {}
    for r in store.calls(with_transcripts=False):
        res = r.result
        out[r.call_id] = ((1, res.adherence, res.structure, res.verdict) if r.machine is not None
                          else (0, None, None, None))
    return out


def test_stored_decided_adherence_follows_every_kind_of_decision(tmp_path):
    """After an override, a line override, a confirmed and a dropped decision, a confirmed flag, an accepted
    dispute and a re-scoring, the stored corrected adherence is what ``apply_decisions`` makes of the call."""
    db = tmp_path / "h.db"
    records = _history(db, per_manager=8, seed=11)
    connected = [r for r in records if r.result.connected and not r.result.flags]
    flagged = next(r for r in records if r.result.connected and r.result.flags)
    with Store(db) as store:
        assert _decided_columns(store) == _as_read(store)
        one, two, three = connected[1], connected[2], connected[3]
        steps = [
            lambda: set_override(store, one.call_id, "offer", not one.result.stages[2].present, by="lead"),
            lambda: set_override(store, two.call_id, "greeting", False, by="lead", line=0),
            lambda: set_override(store, two.call_id, "payment_timing", True, by="lead"),
            lambda: confirm_decision(store, two.call_id, "payment_timing", by="lead"),
            lambda: drop_decision(store, two.call_id, "payment_timing", by="lead"),
            lambda: drop_decision(store, two.call_id, "greeting",
                                  line_id_of(store, store.call(two.call_id), "greeting", 0)[0], by="lead"),
            lambda: confirm_flags(store, flagged.call_id, by="lead"),
            lambda: resolve_dispute(store, open_dispute(store, three.call_id, "needs", by="petrov",
                                                        comment="сказала").id, by="lead", accept=True, note="да"),
        ]
        for i, step in enumerate(steps):
            step()
            assert _decided_columns(store) == _as_read(store), i
        assert _decided_columns(store)[one.call_id][0] == 1 and _decided_columns(store)[two.call_id] == (0, None, None, None)
        # re-scored: the machine now hears the offer on call one, the lead's decision applies to the new score
        rescored = one.result.model_copy(deep=True)
        rescored.stages[2].present, rescored.stages[2].score = True, 95.0
        summarise(rescored)
        store.save_call(one.model_copy(update={"result": rescored}), _meta(one))
        assert _decided_columns(store) == _as_read(store)
        before = store.call(one.call_id)
        assert before is not None and before.machine is not None and before.machine.adherence == rescored.adherence


def test_team_page_from_columns_after_every_kind_of_decision(tmp_path):
    db = tmp_path / "h.db"
    records = _history(db, per_manager=12, seed=3)
    connected = [r for r in records if r.result.connected and not r.result.flags]
    with Store(db) as store:
        set_override(store, connected[0].call_id, "greeting", False, by="lead", line=0)
        set_override(store, connected[1].call_id, "offer", True, by="lead")
        drop_decision(store, connected[1].call_id, "offer", by="lead")
        set_override(store, connected[2].call_id, "extra", True, by="lead")
        fast, full = team_view(store), _team_view_read_all(store)
        assert fast.model_dump() == full.model_dump()
        for by in ("day", "week", "month"):
            from_columns = period_rows(store, by)
            store._summarised = False   # as an older history opened read-only: every call read in full
            assert [r.model_dump() for r in period_rows(store, by)] == [r.model_dump() for r in from_columns], by
            store._summarised = None
        assert any(r.wording for r in from_columns)


def test_migration_fills_the_decided_adherence_of_an_existing_history(tmp_path):
    db = tmp_path / "old.db"
    _history(db, per_manager=10)
    with Store(db) as store:
        version, expected = store.version, _decided_columns(store)
    assert any(v[0] for v in expected.values())
    conn = sqlite3.connect(db)  # back to the schema before V12_DECIDED
    for index in ("calls_decided", "calls_awaiting", "calls_period"):
        conn.execute(f"DROP INDEX {index}")
    for column in ("decided", "decided_adherence", "decided_structure", "decided_verdict"):
        conn.execute(f"ALTER TABLE calls DROP COLUMN {column}")
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(_V12_DECIDED)}")
    conn.commit()
    conn.close()
    with Store(db, read_only=True) as old:
        assert not old.summarised
    with Store(db) as store:
        assert store.version == version and store.summarised
        assert _decided_columns(store) == expected == _as_read(store)


def test_dispute_rows_from_columns_are_those_of_the_full_reading(tmp_path):
    """The team page's disputes (manager, date, client, the stage's title, the line's text) read from columns and
    the stored stages and lines say what reading each disputed call in full says."""
    from compliance.review.ledger import disputes, open_dispute
    from compliance.web.views import dispute_rows, shown_name

    db = tmp_path / "h.db"
    records = _history(db, per_manager=6)
    with Store(db) as store:
        connected = [r for r in records if r.result.connected][:4]
        for i, r in enumerate(connected):
            stage = r.result.stages[i % len(r.result.stages)]
            open_dispute(store, r.call_id, stage.id, by=r.manager, comment="не так",
                         line=(len(stage.lines) - 1) if i % 2 and stage.lines else None)
        found = disputes(store)
        rows = dispute_rows(store, found)
        assert len(rows) == 4
        for d, row in zip(found, rows):
            record, meta = store.call(d.call_id), store.call_meta(d.call_id)
            assert record is not None and meta is not None
            stage = next(s for s in record.result.stages if s.id == d.stage_id)
            assert (row.manager_name, row.call_date, row.call_time) == (record.manager_name or record.manager,
                                                                        record.date, record.time)
            assert row.client == (meta.phone or shown_name(record.file))
            assert row.stage_title == (stage.title or stage.id)
            assert row.line_text == (stage.lines[d.line].text if d.line is not None else "")
        assert any(r.line_text for r in rows)


def test_the_calls_awaiting_the_lead_are_listed_from_their_own_index(history, tmp_path):
    """The scale7 migration adds its indexes to an existing history; the team page's list of the calls awaiting the
    lead reads calls_awaiting alone (not the manager's whole range of calls_summary, nor the rows), the period
    export calls_period alone."""
    db, _ = history
    copy = tmp_path / "old.db"
    with Store(db) as store:
        version = store.version
        store.connection.execute(f"VACUUM INTO '{copy}'")
    conn = sqlite3.connect(copy)
    conn.execute("DROP INDEX calls_awaiting")
    conn.execute("DROP INDEX calls_period")
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(_SCALE7_AWAITING)}")
    conn.commit()
    conn.close()
    with Store(copy) as store:
        assert store.version == version
        statements = _traced(store, lambda: store.awaiting_check("ivanova", "newcomer"))
        plans = [detail for _sql, detail in _plans(store.connection, statements)]
        assert any("COVERING INDEX calls_awaiting" in p for p in plans), plans
        for manager in (None, "petrov"):  # the period export: every column from calls_period, one manager's too
            statements = _traced(store, lambda who=manager: list(store.iter_contacts("2026-01-01", None, who)))
            plans = [detail for _sql, detail in _plans(store.connection, statements)]
            assert plans and all("COVERING INDEX calls_period" in p for p in plans), plans
