"""`compliance watch`: files are scored once they stop growing; a restart neither loses nor doubles a call."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from click.testing import CliRunner

from compliance.cli import cli
from compliance.history.store import Store
from compliance.sources.watch import FolderWatch, watch_folder

from .conftest import ROOT

DAY = ROOT / "samples" / "day"
TRANSCRIPTS = sorted(DAY.glob("*.txt"))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_file_is_taken_once_it_stops_growing_and_once_only(tmp_path):
    clock = Clock()
    watch = FolderWatch(tmp_path, settle=5, clock=clock)
    rec = tmp_path / "ivanova" / "2026-11-27" / "call.mp3"
    rec.parent.mkdir(parents=True)
    rec.write_bytes(b"ID3 part one")
    (tmp_path / "ivanova" / "2026-11-27" / ".call2.mp3.part").write_bytes(b"half")
    (tmp_path / "ivanova" / "2026-11-27" / "call.mp3.pbx.json").write_text("{}")
    assert watch.poll() == [] and watch.growing == [rec]
    clock.now = 4
    with rec.open("ab") as fh:
        fh.write(b" and two")  # still being written: the wait starts again
    assert watch.poll() == []
    clock.now = 8
    assert watch.poll() == []
    clock.now = 9.5
    assert watch.poll() == [rec] and watch.growing == []
    clock.now = 20
    assert watch.poll() == []  # taken once
    with rec.open("ab") as fh:
        fh.write(b" re-uploaded")
    clock.now = 21
    assert watch.poll() == []
    clock.now = 30
    assert watch.poll() == [rec]  # a changed file is taken again (the batch re-scores it once)


def test_nothing_is_scored_while_another_file_still_grows(tmp_path):
    clock = Clock()
    watch = FolderWatch(tmp_path, settle=1, clock=clock)
    (tmp_path / "a.txt").write_text("М: Добрый день\n")
    growing = tmp_path / "b.txt"
    scored: list[list[Path]] = []

    def tick(seconds: float) -> None:
        clock.now += seconds
        if clock.now < 5:
            growing.write_text("М: строка\n" * int(clock.now * 10))

    watch_folder(watch, scored.append, interval=0.5, once=True, sleep=tick)
    assert scored == [[tmp_path / "a.txt", growing]]  # one batch, after b.txt stopped growing at t = 5


def _watch(tmp_path: Path, folder: Path):
    return CliRunner().invoke(cli, ["watch", str(folder), "--db", str(tmp_path / "h.db"), "--once", "--settle",
                                    "0.6", "--interval", "0.1", "--lang", "en"])


def test_watch_scores_a_file_written_slowly_in_full_and_a_restart_doubles_nothing(tmp_path):
    folder = tmp_path / "drop" / "2026-11-27" / "sidorova"
    folder.mkdir(parents=True)
    for src in TRANSCRIPTS[:2]:
        shutil.copy(src, folder / src.name)
    slow = folder / TRANSCRIPTS[2].name
    lines = TRANSCRIPTS[2].read_text(encoding="utf-8").splitlines(keepends=True)

    def write_slowly() -> None:
        with slow.open("w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line)
                fh.flush()
                time.sleep(0.3)

    writer = threading.Thread(target=write_slowly)
    writer.start()
    try:
        time.sleep(0.1)
        first = _watch(tmp_path, tmp_path / "drop")
    finally:
        writer.join()
    assert first.exit_code == 0, first.output
    assert "analysed 3, skipped 0, failed 0" in first.output
    with Store(tmp_path / "h.db", read_only=True) as store:
        calls = store.calls()
        assert len(calls) == 3
        stored = next(c for c in calls if c.file.endswith(slow.name))
        assert len(stored.transcript.segments) == len([ln for ln in lines if ln.strip()])  # the whole file
    again = _watch(tmp_path, tmp_path / "drop")  # the watcher restarted: everything is already in the history
    assert "analysed 0, skipped 3, failed 0" in again.output
    with Store(tmp_path / "h.db", read_only=True) as store:
        assert len(store.calls()) == 3


def test_a_watch_service_stopped_by_sigterm_says_so_and_keeps_what_it_scored(tmp_path):
    # `systemctl stop` sends SIGTERM: the watcher stops as on Ctrl-C (exit 0, "stopped", no traceback), not killed
    # mid-call by the default handler; the calls it scored are in the history.
    folder = tmp_path / "drop" / "2026-11-27" / "sidorova"
    folder.mkdir(parents=True)
    for src in TRANSCRIPTS[:2]:
        shutil.copy(src, folder / src.name)
    db = tmp_path / "h.db"
    proc = subprocess.Popen([sys.executable, "-c", "from compliance.cli import main; main()", "watch",
                             str(tmp_path / "drop"), "--db", str(db), "--settle", "0.3", "--interval", "0.1",
                             "--lang", "en"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "new files: 2; analysed 2, …" once the first round is stored
        assert "analysed 2" in line, line
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped" in err and "Traceback" not in err
    with Store(db, read_only=True) as store:
        assert len(store.calls()) == 2
