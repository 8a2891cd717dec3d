"""A year of history written out a chunk at a time: `export --by call` and the HTML report read the calls in chunks
and write as they go (never ``Store.calls``, which holds every call), and write what reading everything wrote."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.cli import cli
from compliance.history.daily import render_export
from compliance.history.store import Store
from compliance.scoring.result import CallRecord
from tests.test_history_scale import _history


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, list[CallRecord]]:
    db = tmp_path_factory.mktemp("stream") / "history.db"
    return db, _history(db, per_manager=40)


def _no_full_read(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("Store.calls reads every call into memory")

    monkeypatch.setattr(Store, "calls", refuse)


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("options", [{}, {"manager": "petrov", "since": "2026-01-10"}, {"since": "2031-01-01"}])
def test_export_by_call_streams_what_reading_everything_wrote(history, tmp_path, monkeypatch, fmt, options):
    db, _ = history
    with Store(db, read_only=True) as store:
        expected = render_export(store.calls(with_transcripts=False, **options), fmt)
    _no_full_read(monkeypatch)
    monkeypatch.setattr("compliance.history.summaries.CHUNK", 7)   # many chunks, even in a small history
    args = ["export", "--by", "call", "--format", fmt, "--db", str(db)]
    for key, value in options.items():
        args += [f"--{key}", value]
    to_file = CliRunner().invoke(cli, args + ["-o", str(tmp_path / "out")])
    assert to_file.exit_code == 0, to_file.output
    written = (tmp_path / "out").read_bytes().decode("utf-8")
    assert written == ("\ufeff" if fmt == "csv" else "") + expected
    to_stdout = CliRunner().invoke(cli, args)
    assert to_stdout.exit_code == 0 and to_stdout.stdout_bytes.decode("utf-8") == written
    if fmt == "json" and options.get("manager"):
        assert {row["manager"] for row in json.loads(written)} == {"petrov"}


def test_stage_columns_come_in_the_order_calls_first_show_them(history):
    db, records = history
    with Store(db, read_only=True) as store:
        seen: list[str] = []
        for record in store.calls(with_transcripts=False):
            seen += [s.id for s in record.result.stages if s.id not in seen]
        assert store.stage_ids() == seen
        assert store.stage_ids(since="2031-01-01") == []


def test_a_failed_export_leaves_the_earlier_file(history, tmp_path, monkeypatch):
    db, _ = history
    out = tmp_path / "calls.csv"
    out.write_text("earlier", encoding="utf-8")

    def broken(self, *args, **kwargs):
        yield from ()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "iter_calls", broken)
    result = CliRunner().invoke(cli, ["export", "--by", "call", "--db", str(db), "-o", str(out)])
    assert result.exit_code == 1 and "на диске нет места" in result.output
    assert out.read_text(encoding="utf-8") == "earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["calls.csv"]


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.html"))}


def test_report_from_the_store_streams_what_the_records_make(history, tmp_path, monkeypatch):
    """A month's report read a chunk at a time from the store is the set the records themselves make, and at no
    moment are more than two chunks of records alive (the writer keeps digests, not records)."""
    import gc
    import weakref

    from compliance.reports import stream, write_reports, write_reports_from_store

    db, _ = history
    with Store(db, read_only=True) as store:
        records = store.calls(since="2026-02-01", until="2026-02-28", with_transcripts=False)
        write_reports(tmp_path / "records", records, generated_at="X", failures=[], readiness={}, scripts=[],
                      transcript_of=store.stored_transcript)
    monkeypatch.setattr("compliance.reports.write.CHUNK", 5)
    _no_full_read(monkeypatch)
    alive: list[weakref.ref] = []
    most = [0]
    real_records, real_add = Store.records, stream._Writer.add

    def tracked(self, ids, **kwargs):
        got = real_records(self, ids, **kwargs)
        alive.extend(weakref.ref(r) for r in got)
        return got

    def add(self, rec):
        real_add(self, rec)
        gc.collect()
        most[0] = max(most[0], sum(1 for ref in alive if ref() is not None))

    monkeypatch.setattr(Store, "records", tracked)
    monkeypatch.setattr(stream._Writer, "add", add)
    with Store(db, read_only=True) as store:
        write_reports_from_store(store, tmp_path / "store", since="2026-02-01", until="2026-02-28", generated_at="X",
                                 failures=[], readiness={}, scripts=[])
    assert _tree(tmp_path / "store") == _tree(tmp_path / "records")
    assert len(records) > 20 and 0 < most[0] <= 2 * 5


def test_a_long_report_lists_the_last_days_and_every_month_on_its_page(history, tmp_path, monkeypatch):
    import re

    from compliance.reports import stream, write_reports_from_store

    db, records = history
    monkeypatch.setattr(stream, "LISTED_DAYS", 5)
    with Store(db, read_only=True) as store:
        write_reports_from_store(store, tmp_path / "r", failures=[], readiness={})
    folder = tmp_path / "r" / "managers" / "petrov"
    index = (folder / "index.html").read_text(encoding="utf-8")
    mine = [r for r in records if r.manager == "petrov"]
    months = sorted({r.date[:7] for r in mine})
    assert re.findall(r'href="months/([\d-]+)\.html"', index) == months
    linked: list[str] = []
    for month in months:
        page = (folder / "months" / f"{month}.html").read_text(encoding="utf-8")
        linked += re.findall(r'href="\.\./calls/([^"]+)\.html"', page)
    pages = sorted(p.stem for p in (folder / "calls").glob("*.html"))
    assert sorted(set(linked)) == pages and len(pages) == len(mine)       # every call on its month's page
    listed = set(re.findall(r'href="calls/([^"]+)\.html"', index[index.index('<h2 id="calls">'):]))
    last_days = sorted({r.date for r in mine})[-5:]
    assert listed == {p for p in pages if p[:10] in last_days}            # the page lists the last 5 days
    assert 'id="calls-listed"' in index


def test_a_call_gone_while_the_report_is_written_is_left_out(history, tmp_path, monkeypatch):
    """A call listed for the report but gone from the history when its chunk is read: the rest is written."""
    from compliance.reports import write_reports_from_store

    db, _ = history
    real = Store.records
    with Store(db, read_only=True) as store:
        listed = store.chronological_calls(since="2026-02-01", until="2026-02-10")
    gone = {listed[0][0], listed[5][0]}
    monkeypatch.setattr(Store, "records", lambda self, ids, **kw: [r for r in real(self, ids, **kw)
                                                                  if r.call_id not in gone])
    with Store(db, read_only=True) as store:
        write_reports_from_store(store, tmp_path / "r", since="2026-02-01", until="2026-02-10", failures=[],
                                 readiness={}, scripts=[])
    pages = list((tmp_path / "r" / "managers").rglob("calls/*.html"))
    assert len(pages) == len(listed) - 2
