"""`compliance pipedrive`: notes, call logs and recordings pushed to a fake Pipedrive on 127.0.0.1 (a real HTTP
server, started and stopped by a fixture), from a history a real batch built out of named transcript files.

No test reaches the internet: every command points at the fake's address.
"""
from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.batch.run import BatchOptions, run_batch
from compliance.cli import cli
from compliance.history.store import Store

from .conftest import FIXTURES, ROOT
from .fake_pipedrive import FakePipedrive

TOKEN = "pd-7f3a9c1e5b2d4a6f8e0c-secret"
CALLS = FIXTURES / "calls"
# A named file per call, as a recorder names them: date, time, manager, the client's number.
FILES = {
    "2026-11-27_10-31-02_ivanova_380991234567.txt": "verbatim_02_pipedrive_wholesale.txt",   # a call log has it
    "2026-11-27_11-05-40_petrov_380671112233.txt": "cannot_deliver_02_1c.txt",               # person with one deal
    "2026-11-27_12-15-33_ivanova_0935556677.txt": "paraphrased_01_logistics_site.txt",        # person, no deal
    "2026-11-27_13-30-02_sidorova_380500000000.txt": "not_connected_01_unavailable.txt",      # nobody has the number
}
TEAM = """\
managers:
  ivanova: {name: "Иванова Мария", level: newcomer, since: 2026-11-01, pipedrive_user_id: 11}
  petrov: {name: "Петров Олег", level: experienced, since: 2026-06-01}
  sidorova: {name: "Сидорова Анна", level: newcomer, since: 2026-11-15}
"""


_BUILT: list[tuple[Path, Path]] = []     # other test modules use these fixtures too: build once for all


@pytest.fixture(scope="session")
def built_history(tmp_path_factory) -> tuple[Path, Path]:
    """A history made by a real batch over the named files (once per session), and its roster."""
    if _BUILT:
        return _BUILT[0]
    root = tmp_path_factory.mktemp("pd-history")
    folder = root / "calls"
    folder.mkdir()
    for name, fixture in FILES.items():
        shutil.copy(CALLS / fixture, folder / name)
    team = root / "team.yaml"
    team.write_text(TEAM, encoding="utf-8")
    summary = run_batch(BatchOptions(folder=folder, db=root / "h.db", team=team, workers=1))
    assert summary.analysed == len(FILES)
    _BUILT.append((root / "h.db", team))
    return _BUILT[0]


@pytest.fixture
def history(built_history, tmp_path) -> tuple[Path, Path]:
    """A private copy of the built history for one test."""
    source, team = built_history
    db = tmp_path / "h.db"
    with sqlite3.connect(source) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    return db, team


@pytest.fixture
def fake(monkeypatch):
    """A fake Pipedrive with the company's users, persons, deals and the telephony's call logs."""
    server = FakePipedrive(TOKEN).start()
    try:
        st = server.state
        st.users = [{"id": 1, "name": "Owner Admin", "email": "owner@example.com", "active_flag": True},
                    {"id": 11, "name": "Иванова Мария", "email": "ivanova@example.com", "active_flag": True},
                    {"id": 12, "name": "Петров Олег", "email": "petrov@example.com", "active_flag": True}]
        st.persons = [{"id": 201, "name": "Виктор Петрович", "phone": [{"value": "+380 99 123 45 67", "primary": True}]},
                      {"id": 202, "name": "Игорь Васильевич", "phone": [{"value": "+38 (067) 111-22-33", "primary": True}]},
                      {"id": 203, "name": "Логистика Плюс", "phone": [{"value": "093 555 66 77", "primary": True}]}]
        st.deals = [{"id": 101, "title": "CRM для опта", "person_id": 201, "status": "open"},
                    {"id": 301, "title": "Доработка 1С", "person_id": 202, "status": "open"},
                    {"id": 302, "title": "Старая сделка", "person_id": 202, "status": "lost"}]
        # The telephony's log of the first call (Kyiv 10:31:02 is 08:31:02 UTC), and one of the same number an hour
        # and a half earlier that must not be taken.
        st.call_logs = {"a1": _log("a1", "+380991234567", "2026-11-27 08:31:30", deal=101, person=201),
                        "a0": _log("a0", "+380991234567", "2026-11-27 07:00:00", deal=999, person=201)}
        monkeypatch.setenv("PIPEDRIVE_API_TOKEN", TOKEN)
        monkeypatch.setenv("PIPEDRIVE_API_URL", server.url)
        yield server
    finally:
        server.stop()


def _log(log_id: str, number: str, start: str, deal: int | None = None, person: int | None = None) -> dict:
    return {"id": log_id, "person_id": person, "deal_id": deal, "outcome": "connected", "to_phone_number": number,
            "from_phone_number": "+380441234567", "start_time": start, "end_time": start, "has_recording": False,
            "user_id": 1, "duration": "60"}


def _push(db: Path, team: Path, *args: str):
    return CliRunner().invoke(cli, ["pipedrive", "push", "--db", str(db), "--team", str(team),
                                    "--timezone", "Europe/Kyiv", *args])


def _pushed(db: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT * FROM crm_pushes ORDER BY call_id").fetchall()


def _notes_by_deal_or_person(fake: FakePipedrive) -> dict[str, dict]:
    return {(f"deal {n['deal_id']}" if n["deal_id"] else f"person {n['person_id']}"): n
            for n in fake.state.notes.values()}


# -- push end to end ---------------------------------------------------------------------------------------

def test_push_writes_a_note_on_each_calls_deal_or_person(history, fake):
    db, team = history
    result = _push(db, team)
    assert result.exit_code == 0, result.output
    notes = _notes_by_deal_or_person(fake)
    assert set(notes) == {"deal 101", "deal 301", "person 203"}
    assert notes["deal 101"]["person_id"] == 201          # from the call log at 08:31:30, not the one at 07:00
    assert notes["deal 301"]["person_id"] == 202          # the person's one open deal (the lost one is not)
    assert notes["person 203"]["deal_id"] is None         # a person without an open deal keeps the note
    first = notes["deal 101"]["content"]
    assert "<b>Оценка</b>" in first and "соответствие скрипту" in first and "коридора" in first
    assert "Кратко о разговоре" in first and "Договорились, в четверг после обеда." in first
    assert "Если предложение подойдёт — в этом месяце." in first          # when they will pay: the client's reply
    cannot = notes["deal 301"]["content"]
    assert "Почему не можем выполнить" in cannot and "программированием 1С мы не занимаемся" in cannot
    assert "Сайт у нас и правда старый." in cannot                           # the answer about future cooperation
    assert notes["deal 101"]["user_id"] == 11                               # ivanova's Pipedrive user
    assert notes["deal 301"]["user_id"] == 1                                # petrov has none: the token's owner
    assert "sidorova_380500000000.txt: в Pipedrive нет ни звонка, ни контакта с номером 380500000000" in result.output
    assert "Без pipedrive_user_id в составе: petrov" in result.output
    rows = _pushed(db)
    assert len(rows) == 3 and all(r["note_id"] and r["content_hash"] for r in rows)
    assert {r["call_log_id"] for r in rows} == {"a1", None}


def test_a_second_run_pushes_nothing(history, fake):
    db, team = history
    assert _push(db, team).exit_code == 0
    writes = fake.state.count("POST", "/v1/notes") + fake.state.count("PUT", "/v1/notes")
    again = _push(db, team)
    assert again.exit_code == 0, again.output
    assert fake.state.count("POST", "/v1/notes") + fake.state.count("PUT", "/v1/notes") == writes == 3
    assert "без изменений 3" in again.output and len(fake.state.notes) == 3


def test_a_rescored_call_updates_its_note_instead_of_adding_one(history, fake, tmp_path):
    db, team = history
    assert _push(db, team).exit_code == 0
    ids_before = {r["call_id"]: r["note_id"] for r in _pushed(db)}
    rescored = CliRunner().invoke(cli, ["rescore", "--script", str(_edit_band(tmp_path)), "--db", str(db)])
    assert rescored.exit_code == 0, rescored.output
    result = _push(db, team)
    assert result.exit_code == 0, result.output
    assert fake.state.count("POST", "/v1/notes") == 3                      # no new note
    assert fake.state.count("PUT", "/v1/notes/") == 2                      # ivanova's two newcomer calls
    assert "заметка обновлена" in result.output
    assert {r["call_id"]: r["note_id"] for r in _pushed(db)} == ids_before
    assert sum("40–50" in n["content"] for n in fake.state.notes.values()) == 2


def _edit_band(tmp_path) -> Path:
    edited = tmp_path / "sales_call.yaml"   # the lead moves the newcomers' band: every verdict line changes
    edited.write_text((ROOT / "scripts_yaml" / "sales_call.ru.yaml").read_text("utf-8").replace(
        "newcomer:    {min: 85, max: 90}", "newcomer:    {min: 40, max: 50}"), encoding="utf-8")
    return edited


def test_a_note_deleted_in_pipedrive_is_written_again_when_its_call_changes(history, fake, tmp_path):
    db, team = history
    assert _push(db, team).exit_code == 0
    gone = _notes_by_deal_or_person(fake)["deal 101"]["id"]
    del fake.state.notes[gone]
    assert CliRunner().invoke(cli, ["rescore", "--script", str(_edit_band(tmp_path)), "--db", str(db)]).exit_code == 0
    result = _push(db, team)
    assert result.exit_code == 0, result.output
    again = _notes_by_deal_or_person(fake)["deal 101"]
    assert again["id"] != gone and "40–50" in again["content"] and len(fake.state.notes) == 3
    assert again["id"] in {r["note_id"] for r in _pushed(db)}


def test_a_call_pipedrive_rejects_is_listed_and_the_push_goes_on(history, fake, tmp_path):
    db, team = history
    unknown_user = tmp_path / "team.yaml"
    unknown_user.write_text(team.read_text("utf-8").replace("pipedrive_user_id: 11", "pipedrive_user_id: 99"), "utf-8")
    result = _push(db, unknown_user)
    assert result.exit_code == 3
    assert result.output.count("ошибка: ") == 2 and ("Pipedrive отклонил POST /v1/notes (400): запрос не принят: данные неверны "
                                                    "— Pipedrive: «User not found»") in result.output
    assert set(_notes_by_deal_or_person(fake)) == {"deal 301"}               # petrov's note went in
    assert len(_pushed(db)) == 1


def test_dry_run_writes_nothing_anywhere(history, fake):
    db, team = history
    before = db.read_bytes()
    result = _push(db, team, "--dry-run", "--create-call-logs")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Пробный запуск ({fake.url}), ничего не записано.")
    assert "создать заметку: " in result.output and "создать журнал звонка: " in result.output
    assert not fake.state.notes and len(fake.state.call_logs) == 2
    assert all(method == "GET" for method, _ in fake.state.requests)
    assert db.read_bytes() == before and not _pushed(db)


# -- the client: rate limits, errors, pages ---------------------------------------------------------------

def test_rate_limit_is_waited_out_and_the_request_retried(history, fake):
    db, team = history
    fake.state.fail_next = [429, 429]
    began = time.monotonic()
    result = _push(db, team)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - began >= 1.9                                  # retry-after: 1, twice
    assert len(fake.state.notes) == 3


def test_server_errors_are_retried_then_stop_with_one_clear_error(history, fake):
    db, team = history
    fake.state.fail_next = [503] * 50
    result = _push(db, team)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Ошибка: Pipedrive ответил 503 на GET /v1/callLogs 4 раз подряд; возможно, сервис недоступен — попробуйте позже"]
    assert len(fake.state.requests) == 4 and not _pushed(db)              # one try and three retries
    fake.state.fail_next = [502]                                            # a blip: retried, nothing lost
    assert _push(db, team).exit_code == 0 and len(fake.state.notes) == 3


def test_a_refused_token_is_one_clear_error(history, fake, monkeypatch):
    db, team = history
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", "not-the-token")
    result = _push(db, team)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Ошибка: Pipedrive не принял токен API (401): проверьте PIPEDRIVE_API_TOKEN или --token-file и --api-url "
        "(токен принадлежит одной компании)"]
    assert len(fake.state.requests) == 1 and not _pushed(db)                # no retries of a refused token


def test_pagination_walks_every_page(history, fake):
    db, team = history
    fake.state.page_size = 2
    logs = {f"f{i}": _log(f"f{i}", f"+38050000{i:04d}", "2026-11-27 09:00:00") for i in range(7)}
    fake.state.call_logs = {**logs, **fake.state.call_logs}                 # the right log is on the last page
    result = _push(db, team)
    assert result.exit_code == 0, result.output
    assert fake.state.count("GET", "/v1/callLogs") == 5                     # 9 logs, 2 a page
    assert _notes_by_deal_or_person(fake)["deal 101"]["person_id"] == 201
    users = CliRunner().invoke(cli, ["pipedrive", "users"])
    assert users.exit_code == 0, users.output
    assert all(name in users.output for name in ("Owner Admin", "Иванова Мария", "Петров Олег"))
    assert fake.state.count("GET", "/v1/users") == 2


# -- call logs and recordings -------------------------------------------------------------------------------

def _add_recorded_call(db: Path, audio: Path) -> str:
    """A call stored as a batch over recordings stores it: kind audio, with the recording's path."""
    with Store(db) as store:
        record = next(r for r in store.calls() if r.manager == "petrov")
        meta = store.call_meta(record.call_id)
        assert meta is not None
        copy = record.model_copy(update={"call_id": "rec0001", "file": str(audio), "audio": str(audio),
                                         "time": "16:00:00"})
        # Another call (its own source and content), not the same one under a second id.
        store.save_call(copy, meta.model_copy(update={"kind": "audio", "source_key": None, "content_hash": None}))
    return "rec0001"


def test_call_logs_are_created_where_none_exists_and_recordings_attached(history, fake, tmp_path):
    db, team = history
    audio = tmp_path / "2026-11-27_16-00-00_petrov_380671112233.ogg"
    shutil.copy(ROOT / "samples" / "voicemail.ogg", audio)
    _add_recorded_call(db, audio)
    first = _push(db, team, "--create-call-logs")
    assert first.exit_code == 0, first.output
    created = [log for key, log in fake.state.call_logs.items() if key not in ("a0", "a1")]
    assert len(created) == 3                                                # the first call had the telephony's log
    by_time = {log["start_time"]: log for log in created}
    assert set(by_time) == {"2026-11-27 09:05:40", "2026-11-27 10:15:33", "2026-11-27 14:00:00"}
    assert all(log["outcome"] == "connected" for log in created)
    assert by_time["2026-11-27 09:05:40"]["deal_id"] == 301 and by_time["2026-11-27 09:05:40"]["person_id"] == 202
    assert by_time["2026-11-27 10:15:33"]["user_id"] == 11
    assert not fake.state.recordings
    recorded = by_time["2026-11-27 14:00:00"]
    recorded["has_recording"] = True                                         # the telephony attached one since
    second = _push(db, team, "--create-call-logs", "--attach-recordings")
    assert second.exit_code == 0, second.output                              # its 409 "already exists" is fine
    assert "запись приложена" in second.output
    assert fake.state.count("POST", f"/v1/callLogs/{recorded['id']}/recordings") == 1
    assert {r["call_id"]: r["recording"] for r in _pushed(db)}["rec0001"] == 1
    recorded["has_recording"] = False
    del fake.state.call_logs[recorded["id"]]
    with sqlite3.connect(db) as conn:   # as if the first upload never happened: the file goes up for real
        conn.execute("UPDATE crm_pushes SET recording = 0, call_log_id = NULL, call_log_created = 0 "
                     "WHERE call_id = 'rec0001'")
    third = _push(db, team, "--create-call-logs", "--attach-recordings")
    assert third.exit_code == 0, third.output
    assert list(fake.state.recordings.values()) == [audio.read_bytes()]
    writes = sum(1 for method, _ in fake.state.requests if method != "GET")
    assert _push(db, team, "--create-call-logs", "--attach-recordings").exit_code == 0
    assert sum(1 for method, _ in fake.state.requests if method != "GET") == writes


def test_attach_recordings_needs_create_call_logs(history, fake):
    db, team = history
    result = _push(db, team, "--attach-recordings")
    assert result.exit_code == 2 and "добавьте --create-call-logs" in result.output
    assert not fake.state.requests


# -- the token stays secret ----------------------------------------------------------------------------------

def test_the_token_is_never_in_any_output_log_or_database(history, fake, tmp_path, caplog, monkeypatch):
    db, team = history
    caplog.set_level(logging.DEBUG)   # httpx and httpcore log every request at this level
    outputs = []
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    runs = [("--dry-run",), (), ("--json", "--create-call-logs"), ("--token-file", str(token_file))]
    for args in runs:
        outputs.append(_push(db, team, *args))
    fake.state.fail_next = [429, 503, 503, 503, 503]
    outputs.append(CliRunner().invoke(cli, ["pipedrive", "users"]))
    monkeypatch.delenv("PIPEDRIVE_API_TOKEN")
    outputs.append(_push(db, team, "--token-file", str(tmp_path / "missing")))
    outputs.append(CliRunner().invoke(cli, ["pipedrive", "users", "--token-file", str(token_file)]))
    assert [r.exit_code for r in outputs] == [0, 0, 0, 0, 1, 1, 0]
    texts = [r.output for r in outputs] + [r.stderr for r in outputs] + [caplog.text]
    texts += [repr(r.exception) for r in outputs if r.exception]
    assert caplog.records and all(TOKEN not in text for text in texts)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("h.db*"))
    assert stored and TOKEN.encode() not in stored
