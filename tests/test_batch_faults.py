"""A batch when things break (issue 22, point 7): a full disk, a Dask scheduler without workers, the scheduler
killed mid-batch. Each ends with one line and a non-zero exit, the store intact, and a rerun that finishes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.cli import cli
from compliance.history.store import Store

from .conftest import FROZEN_DEFAULT
from .test_batch import _day
from .test_cluster import RECORDINGS, _free_port, _start, _stop
from .test_cluster import _day as _audio_day

COMPLIANCE = str(Path(sys.executable).parent / "compliance")
DASK = str(Path(sys.executable).parent / "dask")


def test_a_full_disk_mid_batch_is_one_line_and_the_store_stays_intact(tmp_path, monkeypatch):
    import compliance.batch.run as run_mod

    folder = _day(tmp_path / "calls", 6)
    db = tmp_path / "h.db"
    with Store(db):
        pass

    class FullStore(Store):  # SQLite's own SQLITE_FULL once the file may not grow by more than a few pages
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pages = self.connection.execute("PRAGMA page_count").fetchone()[0]
            self.connection.execute(f"PRAGMA max_page_count = {pages + 12}")

    monkeypatch.setattr(run_mod, "Store", FullStore)
    result = CliRunner().invoke(cli, ["batch", str(folder), "--db", str(db), "--workers", "1"])
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"Ошибка: {db}: диск заполнен") and "запустите batch снова" in last, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    with Store(db) as store:
        assert store.integrity_ok()
        stored = store.calls()
        assert len(stored) < 6 and all(c.result.stages for c in stored)  # whole calls only
        assert not store.connection.execute("SELECT count(*) FROM failures").fetchone()[0]
    monkeypatch.setattr(run_mod, "Store", Store)  # space again: the rerun finishes the rest
    again = CliRunner().invoke(cli, ["batch", str(folder), "--db", str(db), "--workers", "1", "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output)
    assert summary["analysed"] == 6 - len(stored) and summary["skipped"] == len(stored)


@pytest.mark.slow
def test_a_scheduler_without_workers_says_so_in_time_and_exits_non_zero(tmp_path):
    folder = _audio_day(tmp_path / "calls", dict(list(RECORDINGS.items())[:1]))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                       tmp_path / "scheduler.log")
    try:
        _wait_for_port(port)
        began = time.monotonic()
        run = subprocess.run([COMPLIANCE, "batch", str(folder), "--db", str(tmp_path / "h.db"), "--script",
                              str(FROZEN_DEFAULT), "--cluster", address], capture_output=True, text=True,
                             timeout=240, env={**os.environ, "COMPLIANCE_CLUSTER_WAIT": "5"})
        took = time.monotonic() - began
    finally:
        _stop(scheduler)
    assert run.returncode == 1, run.stderr
    assert run.stderr.strip().splitlines()[-1] == (f"Ошибка: у планировщика Dask {address} нет процессов (ждали 5 с); "
                                                   f"запустите хотя бы один (dask worker {address}) и batch снова")
    assert "Traceback" not in run.stderr and took < 120
    with Store(tmp_path / "h.db") as store:  # nothing was stored as failed: a rerun analyses the recording
        assert not store.connection.execute("SELECT count(*) FROM failures").fetchone()[0]


def _wait_for_port(port: int, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.slow
def test_the_scheduler_killed_mid_batch_leaves_the_rest_for_the_next_run(tmp_path):
    recordings = dict(list(RECORDINGS.items())[:4])
    folder = _audio_day(tmp_path / "calls", recordings)
    db = tmp_path / "h.db"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                       tmp_path / "scheduler.log")
    worker = None
    try:
        _wait_for_port(port)
        worker = _start([DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                         "--host", "127.0.0.1", "--local-directory", str(tmp_path / "w")], tmp_path / "worker.log")
        cmd = [COMPLIANCE, "batch", str(folder), "--db", str(db), "--script", str(FROZEN_DEFAULT), "--cluster", address]
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        assert proc.stderr is not None
        for line in proc.stderr:  # plain progress lines: "N/TOTAL outcome: file"
            if line[0].isdigit() and int(line.split("/", 1)[0]) >= 1:
                break
        os.killpg(scheduler.pid, signal.SIGKILL)  # the scheduler machine goes down
        scheduler.wait(10)
        rest = proc.stderr.read()
        code = proc.wait(180)
    finally:
        for p in (worker, scheduler):
            if p is not None:
                _stop(p)
    assert code == 1, rest
    last = rest.strip().splitlines()[-1]
    assert last.startswith(f"Ошибка: потеряна связь с планировщиком Dask {address} после")
    assert "запустите ту же команду" in last
    assert "Traceback" not in rest and "ClosedClientError" not in rest
    with Store(db) as store:
        first = {c.call_id for c in store.calls()}
        assert not store.connection.execute("SELECT count(*) FROM failures").fetchone()[0]
    assert 1 <= len(first) < len(recordings)
    again = subprocess.run(cmd[:-2] + ["--cluster", "local:1", "--json"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["skipped"] == len(first) and summary["analysed"] == len(recordings) - len(first)
    assert summary["failed"] == 0


def measure_only(task, data):
    """A stand-in for transcription: what matters here is how the recording reached the worker."""
    from compliance.batch.workers import _Done

    return _Done(False, f"received {len(data)} bytes", "audio")


@pytest.mark.slow
def test_recordings_go_to_workers_as_data_not_as_graphs(tmp_path, monkeypatch, recwarn):
    import cloudpickle

    import compliance.batch.cluster as cluster_mod
    from compliance.batch.run import BatchOptions, run_batch

    from .test_reports_browser import _write_wav

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers need not import the tests
    monkeypatch.setattr(cluster_mod, "work_bytes", measure_only)
    day = tmp_path / "calls" / "2026-11-27" / "ivanova"
    _write_wav(day / "2026-11-27_10-00-00_ivanova.wav", seconds=800, rate=8000)  # 12.8 MB: over Dask's 10 MB
    size = (day / "2026-11-27_10-00-00_ivanova.wav").stat().st_size
    summary = run_batch(BatchOptions(folder=tmp_path / "calls", db=tmp_path / "h.db", scripts=[FROZEN_DEFAULT],
                                     cache_dir=tmp_path / "cache", cluster="local:1"))
    assert [f.reason for f in summary.failures] == [f"received {size} bytes"]  # the whole recording arrived
    assert not [w for w in recwarn if "large graph" in str(w.message)], [str(w.message)[:80] for w in recwarn]
