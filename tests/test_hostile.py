"""Hostile but realistic input (issue 10): each case failed before, and the rule behind it holds in general."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.cli import cli
from compliance.errors import TranscriptError
from compliance.scoring.score import score_call
from compliance.scoring.transcript import load_transcript, parse_text_transcript

from .conftest import FROZEN_DEFAULT, ROOT

GOOD = (ROOT / "tests" / "fixtures" / "calls" / "verbatim_01_dental_site.txt").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ transcripts

@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("text", ["", "   \n\t\n", "\ufeff\n"])
def test_empty_transcript_is_an_error_not_a_call(tmp_path, text):
    path = tmp_path / "empty.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TranscriptError, match="empty transcript"):
        load_transcript(path)


@pytest.mark.usefixtures("english")
def test_empty_transcript_fails_in_a_batch_and_does_not_count_as_a_call(tmp_path):
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    (day / "empty.txt").write_text("\n", encoding="utf-8")
    (day / "good.txt").write_text(GOOD, encoding="utf-8")
    run = CliRunner().invoke(cli, ["batch", str(tmp_path / "2026-11-27"), "--db", str(tmp_path / "h.db"), "--json"])
    summary = json.loads(run.output)
    assert run.exit_code == 3
    assert summary["analysed"] == 1 and summary["failed"] == 1 and summary["not_connected"] == 0
    assert "empty transcript" in summary["failures"][0]["reason"]


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("content, message", [
    ('{"segments": [{"start": NaN, "text": "Добрый день", "speaker": "manager"}]}', "NaN is not a number"),
    ('{"segments": [{"start": Infinity, "text": "Добрый день", "speaker": "manager"}]}', "Infinity"),
    ('{"segments": [{"start": 1e400, "text": "Добрый день", "speaker": "manager"}]}', "too large"),
    ('{"segments": [{"start": ' + "9" * 400 + ', "text": "Добрый день", "speaker": "manager"}]}', "too large"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_json_transcript_with_non_finite_or_absurd_numbers_is_rejected(tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TranscriptError, match=message):
        load_transcript(path)


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("stamp", [":", "1.2.3", "ab", "9" * 400, ""])
def test_bad_timestamp_names_the_line(tmp_path, stamp):
    path = tmp_path / "t.txt"
    path.write_text(f"М: Добрый день!\n[{stamp}] К: Здравствуйте.\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match=r"t\.txt: line 2: bad timestamp"):
        load_transcript(path)


@pytest.mark.usefixtures("english")
def test_bad_timestamp_in_one_file_does_not_stop_the_others(tmp_path):
    bad, good = tmp_path / "bad.txt", tmp_path / "good.txt"
    bad.write_text("[1.2.3] М: Добрый день!\n", encoding="utf-8")
    good.write_text(GOOD, encoding="utf-8")
    run = CliRunner().invoke(cli, ["score", str(bad), str(good), "--script", str(FROZEN_DEFAULT), "--json"])
    assert run.exit_code == 1
    rows = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [r["file"] for r in rows] == [str(good)]
    assert "bad.txt: line 1: bad timestamp" in run.stderr


@pytest.mark.parametrize("manager, client", [("M", "K"), ("m", "k"), ("Менеджер Ольга", "Клиент Андрей"),
                                             ("Менеджер Ольга Петрова", "Клиент Андрей")])
def test_latin_look_alikes_and_roles_with_names_are_speakers(manager, client):
    text = "\n".join(line.replace("М:", f"{manager}:", 1).replace("К:", f"{client}:", 1) for line in GOOD.splitlines())
    transcript = parse_text_transcript(text)
    assert {s.speaker for s in transcript.segments} == {"manager", "client"}
    assert score_call(transcript, __import__("compliance").load_script(FROZEN_DEFAULT)).connected


def test_client_with_a_name_is_not_charged_for_forbidden_phrases():
    script = __import__("compliance").load_script(FROZEN_DEFAULT)
    text = GOOD + "\nКлиент Андрей: Ну не знаю, как бы дорого.\nМ: Понимаю вас."
    result = score_call(parse_text_transcript(text), script)
    assert not result.forbidden, result.forbidden


def test_unknown_prefix_is_reported_with_its_line_never_silently_merged():
    transcript = parse_text_transcript("М: Добрый день!\nК: Здравствуйте.\nСупервайзер: Я подключился.\n")
    assert any(note.startswith("строка 3: «Супервайзер:»") for note in transcript.notes)


# ------------------------------------------------------------------------------------------ safe output

@pytest.mark.parametrize("name", ["=2+3", "=HYPERLINK(\"http://x\",\"y\")", "+7 999", "-1", "@SUM(A1)", "\tx"])
def test_csv_export_neutralises_formulas_and_json_keeps_the_text(name):
    from compliance.history.daily import render_export
    from compliance.scoring.result import CallRecord

    result = score_call(parse_text_transcript(GOOD), __import__("compliance").load_script(FROZEN_DEFAULT))
    record = CallRecord(call_id="c1", file=f"{name}.txt", manager="ivanova", manager_name=name, date="2026-11-27",
                        result=result)
    rows = list(csv.DictReader(render_export([record], "csv").splitlines()))
    assert rows[0]["manager_name"] == "'" + name and rows[0]["file"] == "'" + name + ".txt"
    assert json.loads(render_export([record], "json"))[0]["manager_name"] == name


def test_export_file_gets_the_usual_mode(tmp_path, sample_db):
    out = tmp_path / "calls.csv"
    old = os.umask(0o022)
    try:
        run = CliRunner().invoke(cli, ["export", "--db", str(sample_db), "-o", str(out)])
    finally:
        os.umask(old)
    assert run.exit_code == 0, run.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


@pytest.fixture()
def sample_db(tmp_path):
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    (day / "good.txt").write_text(GOOD, encoding="utf-8")
    db = tmp_path / "h.db"
    assert CliRunner().invoke(cli, ["batch", str(tmp_path / "2026-11-27"), "--db", str(db)]).exit_code == 0
    return db


# ------------------------------------------------------------------------------------------ scripts

BARE_LIST = 'id: t\ntitle: T\nstages:\n  - id: greeting\n    lines:\n      - ["Добрый день", "Здравствуйте"]\n'


@pytest.mark.parametrize("command", [["script", "check"], ["score", "CALL", "--script"], ["batch", "DAY", "--script"]])
def test_a_line_written_as_a_bare_list_is_one_clear_message_everywhere(tmp_path, command):
    script = tmp_path / "bad.yaml"
    script.write_text(BARE_LIST, encoding="utf-8")
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    (day / "call.txt").write_text(GOOD, encoding="utf-8")
    args = [{"CALL": str(day / "call.txt"), "DAY": str(tmp_path / "2026-11-27")}.get(a, a) for a in command]
    run = CliRunner().invoke(cli, [*args, str(script), *(["--db", str(tmp_path / "h.db")] if "batch" in args else [])])
    assert run.exit_code == 1
    assert f"{script}:6: stages.0.lines.0: строка — это фраза или {{any: [фразы]}}" in run.output
    assert "Traceback" not in run.output and run.exception is None or isinstance(run.exception, SystemExit)


@pytest.mark.parametrize("weight", [".inf", "1e309", ".nan", "-1", "0"])
def test_a_weight_that_would_break_scoring_is_rejected_by_check(tmp_path, weight):
    script = tmp_path / "w.yaml"
    script.write_text(f"id: t\ntitle: T\nstages:\n  - id: a\n    weight: {weight}\n    lines: [\"Добрый день\"]\n",
                      encoding="utf-8")
    run = CliRunner().invoke(cli, ["script", "check", str(script)])
    assert run.exit_code == 1 and f"{script}:5: stages.0.weight:" in run.output


# ------------------------------------------------------------------------------------------ the right command

def test_score_on_a_recording_and_analyze_on_a_transcript_point_to_the_right_command(tmp_path):
    recording = ROOT / "tests" / "fixtures" / "audio" / "call_full.stereo.ogg"
    transcript = tmp_path / "call.txt"
    transcript.write_text(GOOD, encoding="utf-8")
    run = CliRunner().invoke(cli, ["score", str(recording)])
    assert run.exit_code == 1 and f"это запись, а не расшифровка; запустите `compliance analyze {recording}`" in run.stderr
    run = CliRunner().invoke(cli, ["analyze", str(transcript)])
    assert run.exit_code == 1 and f"это расшифровка, а не запись; запустите `compliance score {transcript}`" in run.stderr


# ------------------------------------------------------------------------------------------ batch folders

def test_a_manager_folder_that_is_a_link_is_followed_and_a_loop_is_walked_once(tmp_path):
    elsewhere = tmp_path / "mnt" / "calls" / "ivanova"
    elsewhere.mkdir(parents=True)
    (elsewhere / "call.txt").write_text(GOOD, encoding="utf-8")
    (elsewhere / "loop").symlink_to(elsewhere)            # a link loop must not hang or double-count
    day = tmp_path / "2026-11-27"
    day.mkdir()
    (day / "ivanova").symlink_to(elsewhere)
    run = CliRunner().invoke(cli, ["batch", str(day), "--db", str(tmp_path / "h.db"), "--json"])
    summary = json.loads(run.output)
    assert run.exit_code == 0 and summary["analysed"] == 1 and summary["total"] == 1
    assert summary["files"][0]["manager"] == "ivanova"


# ------------------------------------------------------------------------------------------ numbers and names

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "-5", "abc"])
def test_daily_rejects_a_sales_sum_that_is_not_money(sample_db, value):
    run = CliRunner().invoke(cli, ["daily", "ivanova", "--date", "2026-11-27", "--sales-sum", value,
                                   "--db", str(sample_db)])
    assert run.exit_code == 2 and "--sales-sum" in run.output and "Traceback" not in run.output


@pytest.mark.parametrize("value, shown", [("12,5", "12,50"), ("45 000", "45\u00a0000"), ("45000", "45\u00a0000")])
def test_daily_takes_sums_as_people_type_them(sample_db, value, shown):
    run = CliRunner().invoke(cli, ["daily", "ivanova", "--date", "2026-11-27", "--sales-sum", value,
                                   "--db", str(sample_db)])
    assert run.exit_code == 0, run.output
    assert f"✅Сумма продаж – {shown} грн" in run.output


@pytest.mark.parametrize("name, head, said", [
    ("call.txt", b"RIFF\x24\x00\x00\x00WAVEfmt ", "запись WAV"),
    ("call.txt", b"ID3\x03\x00\x00\x00\x00\x00", "запись MP3"),
    ("call.json", b"OggS\x00\x02" + bytes(30), "запись Ogg"),
    ("export.txt", b"PK\x03\x04" + bytes(30), "архив ZIP"),
    ("call.txt", "М: привет".encode() + b"\x00\x01\x02" * 40, "двоичный файл"),
    ("result.json", bytes(range(1, 9)) * 200, "двоичный файл"),
])
def test_a_binary_file_given_as_a_transcript_is_refused(tmp_path, name, head, said):
    path = tmp_path / name
    path.write_bytes(head)
    run = CliRunner().invoke(cli, ["score", str(path)])
    assert run.exit_code == 2, run.output
    assert f"{path}: {said}" in run.output and "Traceback" not in run.output
    with pytest.raises(TranscriptError, match="а не расшифровка|а не текст"):
        load_transcript(path)


def test_text_with_tabs_and_form_feeds_is_still_text(tmp_path):
    path = tmp_path / "call.txt"
    path.write_text("М:\tДобрый день!\f\r\nК:\tЗдравствуйте.\r\n", encoding="utf-8")
    assert load_transcript(path).speakers_known


def test_a_day_without_calls_says_where_it_looked_and_what_to_try(sample_db):
    run = CliRunner().invoke(cli, ["daily", "ivanova", "--date", "25.11.2026", "--db", str(sample_db)])
    assert run.exit_code == 0 and "✅Всего контактов – 0 из 40" in run.stdout
    assert f"25.11.2026: у ivanova нет звонков и переписок в {sample_db}" in run.stderr
    assert "ближайшие дни со звонками: 27.11.2026" in run.stderr and "compliance batch" in run.stderr
    run = CliRunner().invoke(cli, ["daily", "ivanova", "--date", "27.11.2026", "--db", str(sample_db)])
    assert run.exit_code == 0 and run.stderr == ""


def test_part_of_a_name_fitting_several_managers_lists_them(tmp_path):
    for who in ("ivanova", "ivanenko"):
        day = tmp_path / "2026-11-27" / who
        day.mkdir(parents=True)
        (day / "good.txt").write_text(GOOD + f"\nМ: Это {who}.\n", encoding="utf-8")
    db = str(tmp_path / "h.db")
    assert CliRunner().invoke(cli, ["batch", str(tmp_path / "2026-11-27"), "--db", db]).exit_code == 0
    run = CliRunner().invoke(cli, ["daily", "ivan", "--db", db])
    assert run.exit_code == 1 and "возможно, вы имели в виду: ivanenko, ivanova?" in run.output
    run = CliRunner().invoke(cli, ["export", "--manager", "IVANENKO", "--db", db])
    assert run.exit_code == 0


@pytest.mark.parametrize("typed", ["2026-11-27", "27.11.2026", "27.11.26", "20261127", " 27.11.2026 "])
def test_daily_takes_dates_as_people_type_them(sample_db, typed):
    run = CliRunner().invoke(cli, ["daily", "ivanova", "--date", typed, "--db", str(sample_db)])
    assert run.exit_code == 0, run.output
    assert "✅Кол-во дозвонов – 1 шт." in run.output


@pytest.mark.parametrize("word, back", [("сегодня", 0), ("Вчера", 1), ("позавчера", 2), ("today", 0), ("yesterday", 1)])
def test_relative_days(word, back):
    from compliance.text.dates import parse_day

    assert parse_day(word, today=dt.date(2026, 12, 1)) == dt.date(2026, 12, 1) - dt.timedelta(days=back)


@pytest.mark.parametrize("typed", ["31.02.2026", "завтра", "27/11", "2026-13-01", ""])
def test_a_day_that_is_not_one_is_a_usage_error(sample_db, typed):
    run = CliRunner().invoke(cli, ["export", "--since", typed, "--db", str(sample_db)])
    assert run.exit_code == 2 and "не дата" in run.output and "27.11.2026" in run.output
    assert "Traceback" not in run.output


def test_unknown_manager_and_reversed_dates_are_errors_not_empty_reports(sample_db):
    run = CliRunner().invoke(cli, ["daily", "ivanov", "--db", str(sample_db)])
    assert run.exit_code == 1 and "'ivanov' — не ключ менеджера; возможно, вы имели в виду: ivanova?" in run.output
    run = CliRunner().invoke(cli, ["daily", "kovalenko", "--db", str(sample_db)])
    assert run.exit_code == 1 and "менеджера 'kovalenko' нет в истории" in run.output
    run = CliRunner().invoke(cli, ["export", "--manager", "nobody", "--db", str(sample_db)])
    assert run.exit_code == 1 and "менеджера 'nobody' нет в истории" in run.output
    run = CliRunner().invoke(cli, ["export", "--since", "2026-11-28", "--until", "2026-11-01", "--db", str(sample_db)])
    assert run.exit_code == 2 and "позже, чем --until" in run.output


def test_json_output_never_holds_nan_or_infinity(sample_db):
    run = CliRunner().invoke(cli, ["export", "--format", "json", "--db", str(sample_db)])
    json.loads(run.output, parse_constant=lambda name: pytest.fail(f"{name} in JSON output"))


# ------------------------------------------------------------------------------------------ databases

def test_another_programs_database_is_refused_untouched(tmp_path):
    import hashlib
    import sqlite3

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (45000)")
    conn.commit()
    conn.close()
    before = hashlib.sha256(other.read_bytes()).hexdigest()
    for args in (["export"], ["daily", "ivanova"], ["readiness"], ["batch", str(tmp_path)]):
        run = CliRunner().invoke(cli, [*args, "--db", str(other)])
        assert run.exit_code == 1 and "это не история call-compliance (в ней другие таблицы: invoices)" in run.output
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]  # no -wal, no -shm


def test_read_only_commands_never_migrate(sample_db):
    import sqlite3

    conn = sqlite3.connect(sample_db)
    conn.execute("DROP TABLE embeddings")
    conn.execute("PRAGMA user_version = 1")  # as the previous version left it
    conn.commit()
    conn.close()
    for args in (["export"], ["daily", "ivanova"], ["readiness", "ivanova"], ["script", "phrasings"]):
        run = CliRunner().invoke(cli, [*args, "--db", str(sample_db)])
        assert run.exit_code == 0, (args, run.output)
    conn = sqlite3.connect(sample_db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


# ------------------------------------------------------------------------------------------ file names

def test_a_file_name_that_is_not_utf8_is_analysed_and_shown_safely(tmp_path):
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    raw = os.fsencode(day) + b"/b\xffname.txt"
    with open(raw, "wb") as fh:
        fh.write(GOOD.encode("utf-8"))
    (day / "after.txt").write_text(GOOD.replace("Добрый", "Доброе утро и добрый"), encoding="utf-8")
    with open(os.fsencode(day) + b"/\xfe\xfd.txt", "wb") as fh:
        fh.write(b"")  # and one that fails: its failure must be stored and printed too
    db = tmp_path / "h.db"
    run = CliRunner().invoke(cli, ["batch", str(tmp_path / "2026-11-27"), "--db", str(db), "--json"])
    summary = json.loads(run.output)
    assert run.exit_code == 3, run.output
    assert summary["analysed"] == 2 and summary["failed"] == 1
    assert any(f["file"].endswith("b\\xffname.txt") for f in summary["files"])
    plain = CliRunner().invoke(cli, ["batch", str(tmp_path / "2026-11-27"), "--db", str(db)])
    assert plain.exit_code == 3 and "\\xfe\\xfd.txt" in plain.output
    scored = CliRunner().invoke(cli, ["score", os.fsdecode(raw), "--json", "--script", str(FROZEN_DEFAULT)])
    assert scored.exit_code == 0
    row = json.loads(scored.stdout.encode("utf-8"))  # valid UTF-8 JSON
    assert row["file"].endswith("b\\xffname.txt")


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("key", ['""', "../../x", "a/b", ".hidden", "'..'"])
def test_empty_or_path_like_roster_keys_are_rejected(tmp_path, key):
    from compliance.errors import TeamError
    from compliance.history.roster import load_team

    roster = tmp_path / "team.yaml"
    roster.write_text(f"managers:\n  {key}:\n    name: X\n    level: newcomer\n", encoding="utf-8")
    with pytest.raises(TeamError, match="must be a plain name"):
        load_team(roster)


def test_manifest_rows_match_across_case_and_separators_and_unmatched_rows_are_listed(tmp_path):
    day = tmp_path / "day"
    (day / "calls").mkdir(parents=True)
    (day / "calls" / "x.txt").write_text(GOOD, encoding="utf-8")
    (day / "calls" / "y.txt").write_text(GOOD.replace("Добрый", "Доброе утро, добрый"), encoding="utf-8")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,manager,date\n"
                        "calls\\x.txt,ivanova,2026-11-27\n"      # written on Windows
                        "calls/Y.TXT,petrov,2026-11-27\n"       # another case
                        "calls/missing.mp3,ivanova,2026-11-27\n", encoding="utf-8")
    run = CliRunner().invoke(cli, ["batch", str(day), "--db", str(tmp_path / "h.db"), "--manifest", str(manifest),
                                   "--json"])
    summary = json.loads(run.output)
    assert run.exit_code == 3
    by_file = {Path(f["file"]).name: f for f in summary["files"] if f.get("manager")}
    assert by_file["x.txt"]["manager"] == "ivanova" and by_file["y.txt"]["manager"] == "petrov"
    assert [Path(f["file"]).name for f in summary["failures"]] == ["missing.mp3"]
    assert "не совпадает ни с одним файлом" in summary["failures"][0]["reason"]


# ------------------------------------------------------------------------------------------ where things go

def test_export_and_roster_to_a_missing_folder_name_the_folder(sample_db, tmp_path):
    run = CliRunner().invoke(cli, ["export", "--db", str(sample_db), "-o", str(tmp_path / "nope" / "x.csv")])
    assert run.exit_code == 1 and f"папки {tmp_path / 'nope'} нет" in run.output
    run = CliRunner().invoke(cli, ["export", "--db", str(sample_db), "-o", ""])
    assert run.exit_code in (1, 2) and "Traceback" not in run.output and "папка" in run.output
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("h.db"))  # nothing written in cwd
    run = CliRunner().invoke(cli, ["team", "set-level", "ivanova", "experienced", "--name", "Иванова",
                                   "--team", str(tmp_path / "missing" / "team.yaml")])
    assert run.exit_code == 1 and f"папки {tmp_path / 'missing'} нет" in run.output


def _without_root_powers() -> list[str]:
    """A command prefix under which file permissions apply even to root (CAP_DAC_OVERRIDE dropped)."""
    import shutil

    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0:
        return []
    if setpriv is None:
        pytest.skip("root ignores file permissions and setpriv (util-linux) is missing to drop that power")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]


def test_a_read_only_database_or_folder_is_named_as_the_cause(sample_db, tmp_path):
    import subprocess
    import sys

    prefix = _without_root_powers()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, sys.executable, "-c", "from compliance.cli import main; main()", *args],
                              capture_output=True, text=True)

    day = tmp_path / "2026-11-27"
    sample_db.chmod(0o444)
    tmp_path.chmod(0o555)  # neither the database nor its folder can be written
    try:
        batch = run("batch", str(day), "--db", str(sample_db))
        assert batch.returncode == 1 and "файл базы только для чтения" in batch.stderr, batch.stderr
        fresh = run("batch", str(day), "--db", str(tmp_path / "new.db"))
        assert fresh.returncode == 1 and f"в папку {tmp_path} нельзя писать" in fresh.stderr, fresh.stderr
        export = run("export", "--db", str(sample_db))  # reading needs no write permission
        assert export.returncode == 0, export.stderr
        for result in (batch, fresh):
            assert "Traceback" not in result.stderr
    finally:
        tmp_path.chmod(0o755)
        sample_db.chmod(0o644)


@pytest.mark.parametrize("n, ru, en", [(1, "1 слово", "1 word"), (3, "3 слова", "3 words"), (5, "5 слов", "5 words"),
                                       (11, "11 слов", "11 words"), (21, "21 слово", "21 words"),
                                       (24, "24 слова", "24 words"), (0, "0 слов", "0 words")])
def test_counts_take_the_plural_form_of_each_language(n, ru, en):
    from compliance.messages import Message

    assert Message(code="too_short", params={"words": n}).text("ru").endswith(f"({ru})")
    assert Message(code="too_short", params={"words": n}).text("en").endswith(f"({en})")


def test_export_counts_its_rows_in_russian(sample_db, tmp_path):
    run = CliRunner().invoke(cli, ["export", "--db", str(sample_db), "-o", str(tmp_path / "x.csv")])
    assert run.exit_code == 0 and "1 звонок →" in run.output
