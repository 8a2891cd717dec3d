"""The SQLite history: round trips, queries, failures, migrations, concurrent writers — on real files."""
from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from compliance.errors import StoreError
from compliance.history import store as store_mod
from compliance.history.store import CallMeta, Failure, ManagerRow, Store, schema_version
from compliance.scoring.result import CallRecord, CallResult, ForbiddenHit, LineResult, StageResult
from compliance.scoring.transcript import Segment, TalkMetrics, Transcript


def _record(i: int, manager: str = "ivanova", date: str = "2026-11-27", connected: bool = True) -> CallRecord:
    stages = [
        StageResult(id="greeting", title="Приветствие", score=90.0, present=True, start=0.5,
                    lines=[LineResult(text="Добрый день, {client}!", similarity=95.0, matched="Добрый день, Ольга!",
                                      start=0.5)]),
        StageResult(id="needs", title="Запрос", score=20.0, present=False),
    ]
    result = CallResult(script_id="sales_call", script_hash="abc", level="newcomer", band=(85, 90),
                        connected=connected, adherence=60.0 + i if connected else None,
                        coverage=50.0, verdict="below" if connected else None, stages=stages if connected else [],
                        forbidden=[ForbiddenHit(phrase="как бы", matched="как бы", start=3.0)],
                        duration=61.0, talk=TalkMetrics(manager_share=0.6, client_share=0.4, interruptions=2))
    transcript = Transcript(segments=[Segment(text="Добрый день, Ольга!", speaker="manager", start=0.5, end=1.5)],
                            source=f"/calls/{i}.txt", duration=61.0)
    return CallRecord(call_id=f"hash{i:04d}", file=f"/calls/{i}.txt", manager=manager, manager_name="Иванова Мария",
                      date=date, time=f"10:{i % 60:02d}:00", level="newcomer", result=result, transcript=transcript)


def _meta(key: str = "k1") -> CallMeta:
    return CallMeta(kind="transcript", phone="380991234567", script_choice="default", score_key=key,
                    transcribe_key="text", attribution={"manager": "ivanova", "sources": {"manager": "folders"}})


def test_fresh_database_is_wal_and_versioned(tmp_path):
    db = tmp_path / "h.db"
    with Store(db) as store:
        assert store.version == schema_version() >= 1
        assert store.integrity_ok()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"calls", "stage_results", "line_results", "forbidden_hits", "failures", "batches", "managers",
            "scripts", "batch_calls"} <= tables


def test_call_round_trip_keeps_result_transcript_and_detail_tables(tmp_path):
    db = tmp_path / "h.db"
    with Store(db) as store:
        batch = store.begin_batch("/calls")
        rec = _record(1)
        store.save_call(rec, _meta(), batch)
    with Store(db) as store:  # a fresh connection reads what the first one committed
        [got] = store.calls()
        assert got.result == rec.result
        assert got.transcript == rec.transcript
        assert (got.manager, got.manager_name, got.date, got.time) == ("ivanova", "Иванова Мария", "2026-11-27",
                                                                       "10:01:00")
        meta = store.call_meta("hash0001")
        assert meta.phone == "380991234567" and meta.attribution["sources"] == {"manager": "folders"}
        conn = store._conn
        stage_rows = conn.execute("SELECT stage_id, present, score FROM stage_results ORDER BY position").fetchall()
        assert [tuple(r) for r in stage_rows] == [("greeting", 1, 90.0), ("needs", 0, 20.0)]
        assert conn.execute("SELECT matched FROM line_results").fetchone()[0] == "Добрый день, Ольга!"
        assert conn.execute("SELECT phrase FROM forbidden_hits").fetchone()[0] == "как бы"
        row = conn.execute("SELECT connected, talk_interruptions, talk_manager_share FROM calls").fetchone()
        assert tuple(row) == (1, 2, 0.6)
        # Saving again replaces, never duplicates (children too).
        store.save_call(_record(1), _meta("k2"), batch)
        assert len(store.calls()) == 1
        assert conn.execute("SELECT COUNT(*) FROM stage_results").fetchone()[0] == 2
        assert store.call_state("hash0001").score_key == "k2"


def test_calls_filters_by_dates_manager_and_batch(tmp_path):
    with Store(tmp_path / "h.db") as store:
        b1 = store.begin_batch("/a")
        store.save_call(_record(1, date="2026-11-25"), _meta(), b1)
        store.save_call(_record(2, date="2026-11-26", manager="petrov"), _meta(), b1)
        b2 = store.begin_batch("/b")
        store.save_call(_record(3, date="2026-11-27"), _meta(), b2)
        store.note_outcome(b2, "hash0001", "skipped")
        assert [r.call_id for r in store.calls()] == ["hash0001", "hash0002", "hash0003"]
        assert [r.call_id for r in store.calls(since="2026-11-26")] == ["hash0002", "hash0003"]
        assert [r.call_id for r in store.calls(until="2026-11-26", manager="ivanova")] == ["hash0001"]
        assert [r.call_id for r in store.calls(batch_id=b2)] == ["hash0001", "hash0003"]
        assert store.calls(with_transcripts=False)[0].transcript is None
        assert [(d.manager, d.date, d.connected) for d in store.daily_counts()] == [
            ("ivanova", "2026-11-25", 1), ("petrov", "2026-11-26", 1), ("ivanova", "2026-11-27", 1)]


def test_failures_per_batch_and_resolved_by_a_later_success(tmp_path):
    with Store(tmp_path / "h.db") as store:
        b1 = store.begin_batch("/calls")
        store.save_failure(Failure(file="/calls/1.txt", reason="bad", kind="transcript", batch_id=b1))
        store.save_failure(Failure(file="/calls/9.mp3", reason="corrupt", kind="audio", batch_id=b1))
        store.finish_batch(b1, {"failed": 2})
        assert [f.file for f in store.failures(b1)] == ["/calls/1.txt", "/calls/9.mp3"]
        assert store.last_batch().summary == {"failed": 2} and store.last_batch().status == "done"
        b2 = store.begin_batch("/calls")
        store.save_call(_record(1), _meta(), b2)  # /calls/1.txt now analysed
        assert [f.file for f in store.failures()] == ["/calls/9.mp3"]
        assert [f.file for f in store.failures(b1)] == ["/calls/1.txt", "/calls/9.mp3"]  # history kept
        assert store.last_batch().id == b2 and store.last_batch().status == "running"
        assert store.last_batch(finished=True).id == b1


def test_unknown_manager_never_overwrites_roster_entry(tmp_path):
    with Store(tmp_path / "h.db") as store:
        store.upsert_manager(ManagerRow(id="ivanova", name="Иванова Мария", level="experienced", since="2026-11-01"))
        store.upsert_manager(ManagerRow(id="ivanova", known=False))
        store.upsert_manager(ManagerRow(id="kovalenko", known=False))
        assert [(m.id, m.level, m.known) for m in store.managers()] == [
            ("ivanova", "experienced", True), ("kovalenko", "newcomer", False)]


def test_migration_from_an_older_version_keeps_data(tmp_path, monkeypatch):
    db = tmp_path / "h.db"
    with Store(db) as store:
        store.save_call(_record(1), _meta())
        old_version = store.version
    added = "ALTER TABLE calls ADD COLUMN crm_deal TEXT; CREATE INDEX calls_crm ON calls(crm_deal)"
    monkeypatch.setattr(store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS, added])
    with Store(db) as store:
        assert store.version == old_version + 1
        assert [r.call_id for r in store.calls()] == ["hash0001"]
        assert store._conn.execute("SELECT crm_deal FROM calls").fetchone()[0] is None


def test_failed_migration_rolls_back_and_leaves_the_database_usable(tmp_path, monkeypatch):
    db = tmp_path / "h.db"
    with Store(db) as store:
        store.save_call(_record(1), _meta())
        version = store.version

    def broken(conn):
        conn.execute("ALTER TABLE calls ADD COLUMN half_done TEXT")
        raise sqlite3.OperationalError("disk full (simulated)")

    monkeypatch.setattr(store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS, broken])
    with pytest.raises(StoreError, match="disk full"):
        Store(db)
    monkeypatch.undo()
    with Store(db) as store:
        assert store.version == version
        cols = {r[1] for r in store._conn.execute("PRAGMA table_info(calls)")}
        assert "half_done" not in cols
        assert len(store.calls()) == 1


def test_newer_database_and_non_database_are_refused(tmp_path):
    db = tmp_path / "h.db"
    Store(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {schema_version() + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="более новой версией"):
        Store(db)
    junk = tmp_path / "notes.db"
    junk.write_text("this is not sqlite" * 100)
    with pytest.raises(StoreError, match="notes.db: файл повреждён или это не база SQLite"):
        Store(junk)
    with Store(tmp_path / "new" / "folder" / "h.db") as store:  # the folder is made
        assert store.version == schema_version()
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="не удаётся создать папку"):
        Store(tmp_path / "file" / "h.db")


def _writer(db: str, start: int, count: int) -> None:
    with Store(db) as store:
        batch = store.begin_batch(f"/w{start}")
        for i in range(start, start + count):
            store.save_call(_record(i), _meta())
            store.save_failure(Failure(file=f"/bad/{i}", reason="x", kind="audio", batch_id=batch))
        store.finish_batch(batch, {})


def test_two_processes_writing_at_once_do_not_corrupt(tmp_path):
    db = str(tmp_path / "h.db")
    Store(db).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db, start, 150)) for start in (0, 100)]  # ids 100–149 overlap
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Store(db) as store:
        assert store.integrity_ok()
        assert len(store.calls(with_transcripts=False)) == 250
        assert store._conn.execute("SELECT COUNT(*) FROM failures").fetchone()[0] == 300
        assert store._conn.execute("SELECT COUNT(*) FROM stage_results").fetchone()[0] == 500
