"""Batch mode on real folders of transcripts and a real SQLite file: attribution, skipping, re-scoring,
failures, a killed run, two runs at once, and the commands that read the history."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.batch.run import BatchOptions, discover, run_batch
from compliance.batch.stopping import stop_on_signals
from compliance.cli import cli
from compliance.history.attribution import attribute, compile_patterns, index_manifest, load_manifest
from compliance.history.store import Store
from compliance.resources import default_script_path

from .conftest import ROOT

SAMPLE_DAY = ROOT / "samples" / "day"
SAMPLE_TEAM = ROOT / "samples" / "team.yaml"
GOOD = (SAMPLE_DAY / "2026-11-27" / "ivanova" / "2026-11-27_10-31-02_ivanova_380991234567.txt").read_text("utf-8")
WEAK = (SAMPLE_DAY / "2026-11-27_13-30-02_sidorova_380687654321.txt").read_text("utf-8")
SUPPORT_SCRIPT = """\
id: support_call
title: "Звонок в службу заботы"
stages:
  - id: hello
    title: "Приветствие"
    lines: ["Служба заботы о клиентах, слушаю вас."]
  - id: problem
    title: "Проблема"
    lines: ["Опишите, пожалуйста, что случилось с вашим заказом."]
  - id: solution
    title: "Решение"
    lines: ["Мы заменим товар бесплатно в течение трёх дней."]
"""
SUPPORT_CALL = """\
М: Служба заботы о клиентах, слушаю вас.
К: У меня сломался чайник.
М: Опишите, пожалуйста, что случилось с вашим заказом.
К: Не включается.
М: Мы заменим товар бесплатно в течение трёх дней.
"""


@pytest.fixture
def sample_day(tmp_path) -> Path:
    """The bundled sample day's transcripts (its recordings are batched in test_batch_audio.py)."""
    target = tmp_path / "sample-day"
    shutil.copytree(SAMPLE_DAY, target, symlinks=True,
                    ignore=lambda folder, names: [n for n in names if n.endswith((".ogg", ".mp3"))])
    return target


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _day(root: Path, n: int, managers=("ivanova", "petrov"), date="2026-11-27") -> Path:
    """``n`` distinct transcripts in a DATE/MANAGER layout (each differs by a last line)."""
    for i in range(n):
        manager = managers[i % len(managers)]
        text = (GOOD if i % 3 else WEAK) + f"К: Спасибо, звонок {i} ({root.name}).\n"
        _write(root / date / manager / f"call_{i:04d}.txt", text)
    return root


def _opts(folder: Path, db: Path, **kw) -> BatchOptions:
    return BatchOptions(folder=folder, db=db, **kw)


# --------------------------------------------------------------------------------------------------
# Attribution


PATTERNS = compile_patterns(None)


@pytest.mark.parametrize("rel, manager, date, time_, phone", [
    ("2026-11-27_10-31-02_ivanova_380991234567.mp3", "ivanova", "2026-11-27", "10:31:02", "380991234567"),
    ("20261127_103102_Petrov.wav", "petrov", "2026-11-27", "10:31:02", None),
    ("ivanova_2026-11-27_10-31-02_380991234567.ogg", "ivanova", "2026-11-27", "10:31:02", "380991234567"),
    ("2026-11-27 10.31 Иванова.m4a", "иванова", "2026-11-27", "10:31", None),
    ("out-380991234567-ivanova-20261127-103102-1701080000.12.wav", "ivanova", "2026-11-27", "10:31:02",
     "380991234567"),
    ("2026-11-27/ivanova/call1.txt", "ivanova", "2026-11-27", None, None),         # DATE/MANAGER
    ("petrov/27.11.2026/call1.txt", "petrov", "2026-11-27", None, None),           # MANAGER/DATE
    ("2026-11-27/ivanova/deep/er/call1.txt", "ivanova", "2026-11-27", None, None),
    # folders give manager and date; the name still gives time and phone
    ("2026-11-27/ivanova/2026-11-27_10-31-02_ivanova_380991234567.mp3", "ivanova", "2026-11-27", "10:31:02",
     "380991234567"),
    ("2026-11-27/2026-11-27_09-00-00_petrov.mp3", "petrov", "2026-11-27", "09:00:00", None),
    ("call1.txt", None, None, None, None),                                          # nothing to go on
    ("ivanova/call1.txt", None, None, None, None),                                  # no date anywhere
    ("2026-13-45_10-31-02_ivanova.mp3", None, None, None, None),                    # not a real date
])
def test_attribution_rules(tmp_path, rel, manager, date, time_, phone):
    root = tmp_path / "recordings"
    att = attribute(root / rel, root, patterns=PATTERNS)
    assert (att.manager, att.date, att.time, att.phone) == (manager, date, time_, phone)


def test_batch_folder_name_gives_date_but_manager_only_when_in_roster(tmp_path):
    day = tmp_path / "2026-11-27"
    att = attribute(day / "call1.txt", day, patterns=PATTERNS)
    assert (att.manager, att.date) == (None, "2026-11-27")
    ivanova = tmp_path / "ivanova"
    att = attribute(ivanova / "2026-11-27" / "c.txt", ivanova, patterns=PATTERNS, known_managers=["ivanova"])
    assert (att.manager, att.date, att.sources["manager"]) == ("ivanova", "2026-11-27", "folders")
    calls = tmp_path / "calls"
    att = attribute(calls / "2026-11-27" / "c.txt", calls, patterns=PATTERNS)
    assert att.manager is None  # "calls" is the batch folder, not a manager


def test_manifest_wins_and_custom_pattern(tmp_path):
    root = tmp_path / "rec"
    _write(root / "2026-11-27" / "ivanova" / "a.txt", GOOD)
    manifest = _write(tmp_path / "m.csv", "file,manager,date,script,level\n"
                                          "2026-11-27/ivanova/a.txt,petrov,2026-11-28,,experienced\n")
    index = index_manifest(load_manifest(manifest), root, manifest.parent)
    att = attribute(root / "2026-11-27" / "ivanova" / "a.txt", root, patterns=PATTERNS, manifest=index)
    assert (att.manager, att.date, att.level, att.sources["manager"]) == ("petrov", "2026-11-28", "experienced",
                                                                          "manifest")
    custom = compile_patterns([r"^rec(?P<phone>\d+)__(?P<manager>[a-z]+)__(?P<date>\d{8})$"])
    att = attribute(root / "rec0991__sidorova__20261127.wav", root, patterns=custom)
    assert (att.manager, att.date, att.phone) == ("sidorova", "2026-11-27", "0991")


@pytest.mark.usefixtures("english")
def test_bad_manifest_and_pattern_are_clear_errors(tmp_path):
    from compliance.history.attribution import AttributionError

    bad = _write(tmp_path / "m.csv", "file,manager,date\na.txt,ivanova,вчера\n")
    with pytest.raises(AttributionError, match=r"m.csv:2: 'вчера' is not a date"):
        load_manifest(bad)
    with pytest.raises(AttributionError, match="unknown group"):
        compile_patterns([r"(?P<who>\w+)"])
    with pytest.raises(AttributionError, match="invalid regex"):
        compile_patterns([r"(?P<manager>"])


# --------------------------------------------------------------------------------------------------
# Runs


def test_sample_day_then_second_run_skips_everything(tmp_path, sample_day):
    db = tmp_path / "h.db"
    first = run_batch(_opts(sample_day, db, team=SAMPLE_TEAM))
    assert (first.total, first.analysed, first.skipped, first.failed, first.not_connected) == (10, 10, 0, 0, 2)
    assert first.exit_code == 0 and first.unknown_managers == []
    by_manager = {k.manager: k for k in first.kpi}
    assert (by_manager["ivanova"].calls, by_manager["ivanova"].connected, by_manager["ivanova"].status) == \
        (4, 3, "below")
    second = run_batch(_opts(sample_day, db, team=SAMPLE_TEAM))
    assert (second.analysed, second.rescored, second.skipped) == (0, 0, 10)
    with Store(db) as store:
        records = store.calls()
        assert len(records) == 10
        assert {r.level for r in records if r.manager == "petrov"} == {"experienced"}
        assert {r.manager_name for r in records if r.manager == "sidorova"} == {"Сидорова Анна"}
        # the batch saw all ten, though it skipped them
        assert len(store.calls(batch_id=store.last_batch().id)) == 10
        sid = next(r for r in records if r.manager == "sidorova")
        assert store.call_meta(sid.call_id).script_choice == "roster"


def test_script_edit_rescores_from_stored_transcripts(tmp_path, monkeypatch):
    folder = _day(tmp_path / "day", 6)
    script = tmp_path / "script.yaml"
    shutil.copy(default_script_path(), script)
    db = tmp_path / "h.db"
    first = run_batch(_opts(folder, db, scripts=[script]))
    assert first.analysed == 6
    with Store(db) as store:
        before = {r.call_id: r.result for r in store.calls()}
    # Change the script; delete the transcripts too: re-scoring must need only the database.
    text = script.read_text("utf-8").replace("Какие сроки для вас важны?", "Когда вам нужен результат?")
    script.write_text(text, encoding="utf-8")
    monkeypatch.setattr("compliance.pipeline.load_transcript", lambda p: pytest.fail("read a transcript file"))
    second = run_batch(_opts(folder, db, scripts=[script]))
    assert (second.analysed, second.rescored, second.skipped) == (0, 6, 0)
    with Store(db) as store:
        after = {r.call_id: r.result for r in store.calls()}
        hashes = {r.script_hash for r in after.values()}
        assert len(store.calls()) == 6 and hashes != {b.script_hash for b in before.values()}
        assert store._conn.execute("SELECT COUNT(*) FROM scripts").fetchone()[0] == 2  # both versions kept
    changed = [cid for cid in before if before[cid].stages[1].lines != after[cid].stages[1].lines]
    assert changed, "the edited line must show up in the re-scored results"
    third = run_batch(_opts(folder, db, scripts=[script]))
    assert (third.rescored, third.skipped) == (0, 6)


def test_roster_changes_rescore_with_the_level_on_the_call_date(tmp_path):
    folder = _day(tmp_path / "day", 4, managers=("ivanova",))
    team = _write(tmp_path / "team.yaml", "managers:\n  ivanova: {name: Иванова, level: newcomer}\n")
    db = tmp_path / "h.db"
    assert run_batch(_opts(folder, db, team=team)).analysed == 4
    _write(team, "managers:\n  ivanova: {name: Иванова, level: experienced, since: 2026-12-01}\n")
    again = run_batch(_opts(folder, db, team=team))
    assert again.skipped == 4 and {f.level for f in again.files} == {"newcomer"}  # promoted after these calls
    _write(team, "managers:\n  ivanova: {name: Иванова, level: experienced, since: 2026-11-01}\n")
    promoted = run_batch(_opts(folder, db, team=team))
    assert promoted.rescored == 4
    with Store(db) as store:
        assert {(r.level, r.result.band) for r in store.calls()} == {("experienced", (55.0, 60.0))}


def test_unknown_manager_is_a_flagged_newcomer(tmp_path):
    folder = tmp_path / "day"
    _write(folder / "2026-11-27" / "kovalenko" / "a.txt", GOOD)
    _write(folder / "2026-11-27" / "petrov" / "b.txt", WEAK)
    db = tmp_path / "h.db"
    summary = run_batch(_opts(folder, db, team=SAMPLE_TEAM))
    assert summary.unknown_managers == ["kovalenko"] and summary.exit_code == 0
    out = {f.manager: f for f in summary.files}
    assert (out["kovalenko"].level, out["kovalenko"].unknown_manager) == ("newcomer", True)
    assert (out["petrov"].level, out["petrov"].unknown_manager) == ("experienced", False)
    with Store(db) as store:
        assert [(m.id, m.known) for m in store.managers() if m.id == "kovalenko"] == [("kovalenko", False)]


def test_several_scripts_choose_automatically_and_record_the_choice(tmp_path):
    folder = tmp_path / "day"
    _write(folder / "2026-11-27" / "ivanova" / "sale.txt", GOOD)
    _write(folder / "2026-11-27" / "ivanova" / "care.txt", SUPPORT_CALL)
    support = _write(tmp_path / "support.yaml", SUPPORT_SCRIPT)
    db = tmp_path / "h.db"
    summary = run_batch(_opts(folder, db, scripts=[default_script_path(), support]))
    chosen = {Path(f.file).name: (f.script_id, f.script_choice) for f in summary.files}
    assert chosen == {"sale.txt": ("sales_call", "auto"), "care.txt": ("support_call", "auto")}
    with Store(db) as store:
        assert {store.call_meta(r.call_id).script_choice for r in store.calls()} == {"auto"}
    # A manifest naming the script overrides the automatic choice.
    manifest = _write(tmp_path / "m.csv", "file,manager,date,script\n2026-11-27/ivanova/care.txt,ivanova,"
                                          "2026-11-27,sales_call\n")
    again = run_batch(_opts(folder, db, scripts=[default_script_path(), support], manifest=manifest))
    care = next(f for f in again.files if f.file.endswith("care.txt"))
    assert (care.outcome, care.script_id, care.script_choice) == ("rescored", "sales_call", "manifest")


@pytest.mark.usefixtures("english")
def test_failures_are_listed_stored_and_the_batch_goes_on(tmp_path, monkeypatch):
    folder = _day(tmp_path / "day", 4)
    _write(folder / "2026-11-27" / "ivanova" / "call_0001b.json", '{"segments": [oops')        # bad JSON
    (folder / "2026-11-27" / "petrov" / "call_0002b.txt").write_bytes(b"\xff\xfe\x00bad")      # not UTF-8
    _write(folder / "no-date-here" / "call.txt", WEAK)                                            # unattributed
    (folder / "2026-11-27" / "petrov" / "gone.txt").symlink_to(tmp_path / "missing.txt")          # broken link
    locked = folder / "2026-11-27" / "locked"
    _write(locked / "x.txt", GOOD)
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    db = tmp_path / "h.db"
    summary = run_batch(_opts(folder, db))
    assert summary.analysed == 4 and summary.failed == 5 and summary.exit_code == 3
    kinds = {Path(f.file).name: f.kind for f in summary.failures}
    assert kinds == {"call_0001b.json": "transcript", "call_0002b.txt": "transcript", "call.txt": "unattributed",
                     "gone.txt": "unreadable", "locked": "folder"}
    reasons = {Path(f.file).name: f.reason for f in summary.failures}
    assert "invalid JSON" in reasons["call_0001b.json"] and "not UTF-8" in reasons["call_0002b.txt"]
    assert "cannot tell the manager and the date" in reasons["call.txt"]
    assert "permission denied" in reasons["locked"]   # the system's reason, in the run's language
    with Store(db) as store:
        stored = store.failures(summary.batch_id)
        assert {Path(f.file).name for f in stored} == set(kinds)
        assert len(store.calls()) == 4
    # Fixing the bad transcript resolves its failure on the next run.
    _write(folder / "2026-11-27" / "ivanova" / "call_0001b.json",
           json.dumps({"segments": [{"speaker": "manager", "text": "Добрый день!"}]}))
    monkeypatch.setattr(os, "scandir", real_scandir)
    again = run_batch(_opts(folder, db))
    assert again.analysed == 2 and again.skipped == 4 and again.failed == 3
    with Store(db) as store:
        assert {Path(f.file).name for f in store.failures()} == {"call_0002b.txt", "call.txt", "gone.txt"}


def test_duplicates_and_sidecar_transcripts(tmp_path):
    folder = tmp_path / "day"
    _write(folder / "2026-11-27" / "ivanova" / "a.txt", GOOD)
    _write(folder / "2026-11-27" / "ivanova" / "copy-of-a.txt", GOOD)
    (folder / "2026-11-27" / "ivanova" / "rec.mp3").write_bytes(b"ID3")
    _write(folder / "2026-11-27" / "ivanova" / "rec.json", '{"segments": []}')
    found, failures, ignored = discover(folder)
    assert [p.name for p in found] == ["a.txt", "copy-of-a.txt", "rec.mp3"] and not failures
    assert [Path(p).name for p in ignored] == ["rec.json"]


def test_changed_file_replaces_its_old_call(tmp_path):
    folder = _day(tmp_path / "day", 2)
    db = tmp_path / "h.db"
    run_batch(_opts(folder, db))
    target = folder / "2026-11-27" / "ivanova" / "call_0000.txt"
    target.write_text(GOOD + "К: исправлено\n", encoding="utf-8")
    summary = run_batch(_opts(folder, db))
    assert (summary.analysed, summary.skipped) == (1, 1)
    with Store(db) as store:
        assert len(store.calls()) == 2  # the edited file's old score is gone, not kept beside the new one


# --------------------------------------------------------------------------------------------------
# Killed and concurrent runs (real subprocesses)


def _batch_cmd(folder: Path, db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-c", "from compliance.cli import main; main()", "batch", str(folder), "--db", str(db),
            *extra]


def hear_ctrl_c() -> None:
    """In the child: Ctrl-C's default, as at a terminal. A test run started in the background by a script (`cmd &`)
    inherits SIGINT ignored, and Python then never raises KeyboardInterrupt: the test would not test Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _batch_running(folder: Path, db: Path, done: int) -> subprocess.Popen:
    """A real batch in its own process, returned once ``done`` files are through (plain progress lines)."""
    proc = subprocess.Popen(_batch_cmd(folder, db), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            preexec_fn=hear_ctrl_c)
    assert proc.stderr is not None
    for line in proc.stderr:  # "N/TOTAL outcome: file"
        if line[0].isdigit() and int(line.split("/", 1)[0]) >= done:
            break
    return proc


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.2)
    return False


def test_sigterm_stops_like_ctrl_c_and_workers_go_with_it(tmp_path):
    folder = _day(tmp_path / "day", 150)
    db = tmp_path / "h.db"
    proc = _batch_running(folder, db, done=30)
    children = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(60) == 130
    assert "Прервано" in rest and "Traceback" not in rest
    assert _gone(children, 15)
    with Store(db) as store:
        assert store.last_batch().status == "interrupted"


def test_kill_9_mid_batch_then_rerun_loses_nothing(tmp_path):
    folder = _day(tmp_path / "day", 240)
    db = tmp_path / "h.db"
    proc = _batch_running(folder, db, done=60)
    children = _children(proc.pid)
    assert children, "the batch runs its workers in child processes"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    # Workers and the resource tracker do not outlive their batch (each holds ~0.5 GB).
    assert _gone(children, 15), f"left behind: {[p for p in children if _alive(p)]}"
    with Store(db) as store:
        assert store.integrity_ok()
        stored = len(store.calls(with_transcripts=False))
        assert 60 <= stored < 240, "killed mid-way"
        assert store.last_batch().status == "interrupted"  # still 'running' in the row, but its process is gone
    rerun = subprocess.run(_batch_cmd(folder, db, "--json"), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["skipped"] == stored and summary["analysed"] == 240 - stored and summary["failed"] == 0
    with Store(db) as store:
        assert len(store.calls(with_transcripts=False)) == 240


def test_ctrl_c_stops_cleanly_and_a_rerun_finishes(tmp_path):
    # Enough files that the batch is still at work when the signal lands: the progress lines wait in the pipe, and
    # with cached script vectors 150 transcripts were sometimes all done by the time the 30th line was read.
    folder = _day(tmp_path / "day", 800)
    db = tmp_path / "h.db"
    proc = _batch_running(folder, db, done=30)
    assert proc.poll() is None, "the batch finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(60) == 130
    assert "Прервано" in rest and "Traceback" not in rest
    with Store(db) as store:
        assert store.last_batch().status == "interrupted"
        stored = len(store.calls(with_transcripts=False))
    rerun = subprocess.run(_batch_cmd(folder, db, "--json"), capture_output=True, text=True, timeout=120)
    summary = json.loads(rerun.stdout)
    assert rerun.returncode == 0 and summary["skipped"] == stored and summary["analysed"] == 800 - stored


def test_a_stop_that_was_swallowed_still_stops_the_batch_at_the_next_file(tmp_path):
    # Compiled code the batch calls into can swallow the KeyboardInterrupt a signal raises (pydantic-core does, inside
    # an isinstance check while a worker's task is built): the batch then ran to its end and exited 0 after Ctrl-C.
    folder = _day(tmp_path / "day", 12)
    db = tmp_path / "h.db"
    seen: list[int] = []

    def swallowing_progress(p) -> None:
        seen.append(p.done)
        if p.done == 3:
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1)  # the handler runs here, in the main thread
            except KeyboardInterrupt:
                pass  # swallowed, as by the compiled code

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), stop_on_signals():
        run_batch(_opts(folder, db, workers=1), progress=swallowing_progress)
    assert max(seen) == 3, "stopped at the next file"
    assert signal.getsignal(signal.SIGTERM) is before
    with Store(db) as store:
        assert store.last_batch().status == "interrupted"
        assert len(store.calls(with_transcripts=False)) == 4  # the next file's call is whole in the store, then stop


def test_two_batches_on_one_database_at_once(tmp_path):
    folder = _day(tmp_path / "day", 120)
    other = _day(tmp_path / "other", 60, managers=("sidorova",), date="2026-11-28")
    db = tmp_path / "h.db"
    procs = [subprocess.Popen(_batch_cmd(f, db, "--json"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in (folder, folder, other)]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    summaries = [json.loads(out) for out, _ in outs]
    # The two runs over the same folder share the work; nothing is lost or doubled.
    assert summaries[0]["analysed"] + summaries[0]["skipped"] == 120
    assert summaries[2]["analysed"] == 60
    with Store(db) as store:
        assert store.integrity_ok()
        assert len(store.calls(with_transcripts=False)) == 180
        n_stages = store._conn.execute("SELECT COUNT(*) FROM stage_results").fetchone()[0]
        assert n_stages == 180 * 7
        statuses = [r[0] for r in store._conn.execute("SELECT status FROM batches")]
        assert statuses == ["done"] * 3


# --------------------------------------------------------------------------------------------------
# Commands


def test_cli_batch_sample_day_with_reports(tmp_path, monkeypatch, sample_day):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cli, ["batch", str(sample_day), "--team", str(SAMPLE_TEAM), "--out", "reports"])
    assert res.exit_code == 0, res.output
    assert "проанализировано 10" in res.output and "не дозвонились 2" in res.output and "ошибок 0" in res.output
    assert Path("compliance.db").is_file()
    try:
        import compliance.reports  # noqa: F401
    except ImportError:
        return
    assert Path("reports/index.html").is_file() and "Отчёты: " in res.output


def test_cli_batch_copy_audio_reaches_the_report_writer(tmp_path, monkeypatch, sample_day):
    import compliance.reports as reports

    seen = {}

    def fake_write_reports(store, out_dir, **kwargs):
        seen.update(kwargs)
        return Path(out_dir) / "index.html"

    monkeypatch.setattr(reports, "write_reports_from_store", fake_write_reports)
    res = CliRunner().invoke(cli, ["batch", str(sample_day), "--team", str(SAMPLE_TEAM), "--db",
                                   str(tmp_path / "h.db"), "--out", str(tmp_path / "r"), "--copy-audio"])
    assert res.exit_code == 0, res.output
    assert seen["copy_audio"] is True


def test_cli_batch_exit_code_3_and_usage_errors(tmp_path):
    folder = _day(tmp_path / "day", 2)
    _write(folder / "2026-11-27" / "ivanova" / "bad.json", "{")
    runner = CliRunner()
    db = str(tmp_path / "h.db")
    res = runner.invoke(cli, ["batch", str(folder), "--db", db])
    assert res.exit_code == 3
    assert "ошибок 1" in res.output and "bad.json" in res.output
    res = runner.invoke(cli, ["batch", str(tmp_path / "nope"), "--db", db])
    assert res.exit_code == 1 and res.output.strip().endswith("nope: нет такой папки; проверьте путь")
    res = runner.invoke(cli, ["batch", str(folder), "--db", db, "--script", str(tmp_path / "x.yaml")])
    assert res.exit_code == 1 and "Ошибка: ошибка в скрипте" in res.output and "нет такого файла" in res.output
    res = runner.invoke(cli, ["batch", str(folder), "--db", db, "--date", "tomorrow"])
    assert res.exit_code == 2
    res = runner.invoke(cli, ["batch", str(folder), "--db", str(tmp_path / "out" / "h.db"), "--out",
                              str(tmp_path / "out")])
    assert res.exit_code == 2 and "не может лежать в папке отчётов" in res.output


def test_cli_daily_readiness_export(tmp_path, sample_day):
    db = tmp_path / "h.db"
    run_batch(_opts(sample_day, db, team=SAMPLE_TEAM))
    runner = CliRunner()
    res = runner.invoke(cli, ["daily", "ivanova", "--date", "2026-11-27", "--sales-sum", "15000",
                              "--sales-count", "2", "--db", str(db)])
    assert res.exit_code == 0
    assert res.output == ("✅Сумма продаж – 15\u00a0000 грн\n✅Кол-во продаж – 2 шт\n✅Кол-во дозвонов – 3 шт.\n"
                          "✅Кол-во переписок – 0 шт.\n✅Всего контактов – 3 из 40\nПлан на завтра:\n")
    res = runner.invoke(cli, ["daily", "petrov", "--date", "2026-11-26", "--db", str(db)])
    assert "✅Кол-во дозвонов – 0 шт." in res.output

    res = runner.invoke(cli, ["readiness", "--db", str(db), "--team", str(SAMPLE_TEAM), "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["manager"]: r for r in map(json.loads, res.output.splitlines())}
    assert set(rows) == {"ivanova", "petrov", "sidorova"}
    assert rows["ivanova"]["ready"] is False and rows["ivanova"]["calls_considered"] == 3
    assert rows["petrov"]["ready"] is None and rows["petrov"]["level"] == "experienced"
    res = runner.invoke(cli, ["readiness", "ivanova", "--db", str(db), "--team", str(SAMPLE_TEAM)])
    assert res.exit_code == 0 and res.output.startswith("Иванова Мария (ivanova) — новичок: пока не готов")
    res = runner.invoke(cli, ["readiness", "ghost", "--db", str(db), "--team", str(SAMPLE_TEAM)])
    assert res.exit_code == 1 and "менеджера 'ghost' нет ни в составе, ни в истории" in res.output

    out = tmp_path / "calls.csv"
    res = runner.invoke(cli, ["export", "--format", "csv", "--manager", "petrov", "--db", str(db), "-o", str(out)])
    assert res.exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("date,time,manager,manager_name,level") and len(lines) == 4
    assert all(",petrov,Петров Олег,experienced," in line for line in lines[1:])
    res = runner.invoke(cli, ["export", "--format", "json", "--since", "2026-11-27", "--until", "2026-11-27",
                              "--db", str(db)])
    rows = json.loads(res.output)
    assert len(rows) == 10 and {"adherence", "verdict", "stage_greeting"} <= set(rows[0])
    res = runner.invoke(cli, ["export", "--db", str(tmp_path / "none.db")])
    assert res.exit_code == 1 and "истории ещё нет" in res.output


def test_progress_eta_and_terminal_line():
    from compliance.batch.run import BatchProgress
    from compliance.cli.batch import _Progress

    assert BatchProgress(done=0, total=10).eta is None
    assert BatchProgress(done=5, total=10, elapsed=10).eta == pytest.approx(10)
    waiting = BatchProgress(done=5, total=10, elapsed=10, audio_total=600)
    assert waiting.eta is None  # no audio transcribed yet: unknown, not "0 s"
    assert BatchProgress(done=6, total=10, elapsed=60, audio_done=200, audio_total=600).eta == pytest.approx(120)
    import io

    from rich.console import Console

    screen = io.StringIO()
    bar = _Progress(Console(file=screen, force_terminal=True, width=140, color_system=None))
    bar.start(Path("day"))
    assert "поиск записей и расшифровок в day" in screen.getvalue()       # from the first second
    bar(BatchProgress(done=0, total=10))                                  # files found, not yet sorted into work
    assert "оценка расшифровок" not in screen.getvalue() and "загрузка" not in screen.getvalue()
    bar(BatchProgress(done=0, total=10, audio_total=600, planned=True))   # recordings ahead: the models load now
    assert "загрузка моделей распознавания и смысла" in screen.getvalue()
    bar(BatchProgress(done=6, total=10, elapsed=60, audio_done=200, audio_total=600))
    assert "распознавание и оценка" in screen.getvalue()
    bar(BatchProgress(done=10, total=10, elapsed=100, audio_done=600, audio_total=600))
    shown = screen.getvalue()
    assert "6/10 звонков · аудио 3.3/10.0 мин · осталось ~2:00" in shown
    assert "10/10 звонков · аудио 10.0/10.0 мин" in shown and bar._bar is None  # stopped at the end


def test_progress_when_piped_names_each_step_once(capsys):
    from compliance.batch.run import BatchProgress
    from compliance.cli.batch import _Progress

    bar = _Progress()
    bar.tty = False
    bar.start(Path("day"))
    bar(BatchProgress(done=0, total=2))
    bar(BatchProgress(done=0, total=2, planned=True))
    bar(BatchProgress(done=1, total=2, file="a.txt", outcome="analysed"))
    bar(BatchProgress(done=2, total=2, file="b.txt", outcome="analysed"))
    err = capsys.readouterr().err.splitlines()
    assert err == ["— поиск записей и расшифровок в day…", "— оценка расшифровок…", "1/2 проанализирован: a.txt",
                   "2/2 проанализирован: b.txt"]


def test_daily_report_sums_are_written_as_the_team_writes_them():
    from compliance.history.daily import DailyReport

    text = DailyReport(manager="ivanova", date="2026-11-27", calls=40, connected=35, sales_sum=45000,
                       sales_count=3).text()
    assert "✅Сумма продаж – 45\u00a0000 грн" in text
    assert "12\u00a0500,50 грн" in DailyReport(manager="m", date="2026-11-27", calls=1, connected=1,
                                               sales_sum=12500.5).text()


@pytest.mark.usefixtures("english")
def test_a_file_that_failed_is_listed_not_retried_until_it_changes_or_retry_failed(tmp_path):
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    bad = day / "bad.txt"
    bad.write_text("[1.2.3] М: Добрый день\n", encoding="utf-8")
    db = tmp_path / "h.db"
    first = run_batch(_opts(tmp_path / "2026-11-27", db))
    assert first.failed == 1 and "bad timestamp" in first.failures[0].reason
    again = run_batch(_opts(tmp_path / "2026-11-27", db))
    assert again.failed == 1 and "failed before with the same content; not retried" in again.failures[0].reason
    assert "bad timestamp" in again.failures[0].reason
    retried = run_batch(_opts(tmp_path / "2026-11-27", db, retry_failed=True))
    assert retried.failed == 1 and "not retried" not in retried.failures[0].reason
    bad.write_text("М: Добрый день! Это Ольга, компания «Смарт Мейкер». Удобно говорить?\nК: Да, слушаю.\n"
                   "М: Расскажите, какую задачу хотите решить?\nК: Нужен сайт для магазина, срочно.\n"
                   "М: Спасибо, до свидания!\nК: До свидания.\n", encoding="utf-8")
    fixed = run_batch(_opts(tmp_path / "2026-11-27", db))
    assert fixed.failed == 0 and fixed.analysed == 1


def test_recordings_go_to_the_workers_largest_first():
    """The short calls fill the workers' ends instead of one long call running alone at the end."""
    from types import SimpleNamespace

    from compliance.batch.workers import _longest_first

    durations = {"a.ogg": 10.0, "b.ogg": 300.0, "c.ogg": 20.0, "gone.ogg": 0.0}  # 0: could not be probed
    jobs = [SimpleNamespace(path=name, duration=seconds) for name, seconds in durations.items()]
    assert [j.path for j in _longest_first(jobs)] == ["b.ogg", "c.ogg", "a.ogg", "gone.ogg"]


def test_progress_says_when_the_files_are_sorted_before_the_first_one_is_done(tmp_path):
    """The reader sees the next step (loading the models, or scoring) as soon as the folder is read and sorted into
    work, not only after the first file: the bar no longer sits on a wrong step while the models load."""
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    (day / "a.txt").write_text("[00:00] М: Добрый день, компания Альфа, меня зовут Анна.\n[00:03] К: Да.\n",
                               encoding="utf-8")
    seen: list[tuple[int, bool]] = []
    run_batch(_opts(tmp_path / "2026-11-27", tmp_path / "h.db"), progress=lambda p: seen.append((p.done, p.planned)))
    assert seen[0] == (0, False) and seen[1] == (0, True) and seen[-1] == (1, True)
