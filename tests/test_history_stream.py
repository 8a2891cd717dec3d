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
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert out.read_text(encoding="utf-8") == "earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["calls.csv"]
