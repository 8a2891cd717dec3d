"""Nothing the lead decided is ever lost: stable call identity, stable script-line ids, duplicates shown and not
moved, chats by chat id, atomic writes under concurrency, and the upgrade of a history made by the schema-5 code.

Real SQLite files, real batches over real folders, a real `compliance serve` for the concurrent requests.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from compliance.batch.run import BatchOptions, run_batch
from compliance.cli import cli
from compliance.history.decisions import load_decisions
from compliance.history.store import Store
from compliance.resources import default_script_path
from compliance.review import ledger
from compliance.scoring.script import derived_line_id
from compliance.scoring.script_file import load_script

from .conftest import FIXTURES, ROOT
from .test_batch import GOOD, WEAK, _write
from .test_pipedrive import fake  # noqa: F401 - the fake Pipedrive server fixture

LEGACY = ROOT / "tests" / "fixtures" / "legacy_db" / "v5.db"
TEAM = ROOT / "samples" / "team.yaml"
GOLDEN = ROOT / "tests" / "golden" / "sales_call.yaml"
STALE_RU = "запись изменилась после решения — проверьте"


def _batch(folder: Path, db: Path, **kw):
    return run_batch(BatchOptions(folder=folder, db=db, workers=1, **kw))


def _rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


# -- 6. migration ---------------------------------------------------------------------------------------------------
def test_a_schema_5_history_upgrades_in_place_keeping_every_row(tmp_path):
    db = tmp_path / "v5.db"
    shutil.copy(LEGACY, db)
    tables = ("calls", "overrides", "disputes", "audit", "crm_pushes", "daily_sales", "users", "scripts",
              "stage_results", "line_results", "batches", "batch_calls")
    before = {t: _rows(db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables}
    calls_before = _rows(db, "SELECT call_id, file, manager, date, result_json, transcript_json FROM calls ORDER BY 1")
    audit_before = _rows(db, "SELECT id, at, actor, action, call_id, stage_id, line, before_json, after_json, note "
                             "FROM audit ORDER BY id")
    disputes_before = _rows(db, "SELECT id, call_id, stage_id, line, manager, comment, status FROM disputes ORDER BY id")
    overrides_before = _rows(db, "SELECT call_id, stage_id, line, present, by_login, at, note FROM overrides "
                                 "ORDER BY call_id, stage_id, line")
    assert _rows(db, "PRAGMA user_version")[0][0] == 5 and before["overrides"] == 3 and before["audit"] == 7
    with Store(db) as store:
        assert store.version >= 6
        applied = {c.call_id: c for c in store.calls()}
    after = {t: _rows(db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables}
    assert after == before
    assert _rows(db, "SELECT call_id, file, manager, date, result_json, transcript_json FROM calls "
                     "ORDER BY 1") == calls_before
    assert _rows(db, "SELECT id, at, actor, action, call_id, stage_id, line, before_json, after_json, note FROM audit "
                     "ORDER BY id") == audit_before
    assert _rows(db, "SELECT id, call_id, stage_id, line, manager, comment, status FROM disputes "
                     "ORDER BY id") == disputes_before
    assert _rows(db, "SELECT call_id, stage_id, line, present, by_login, at, note FROM overrides "
                     "ORDER BY call_id, stage_id, line") == overrides_before
    # Identity: the old id (a content hash) is kept, and becomes the content hash; the source is the path
    # under the folder the batch walked.
    sources = _rows(db, "SELECT call_id, content_hash, source_root, source_key FROM calls ORDER BY source_key")
    assert all(cid == content for cid, content, _, _ in sources)
    assert {(root, key) for _, _, root, key in sources} >= {
        ("/recordings", "2026-11-27/ivanova/chat.json"),
        ("/recordings", "2026-11-27/sidorova/2026-11-27_13-30-02_sidorova_380687654321.txt")}
    # The line decision got the id of the line it was on (line 2 of greeting in the stored script version).
    [(call_id, line_id, text)] = _rows(db, "SELECT call_id, line_id, line_text FROM overrides WHERE line >= 0")
    script_json = _rows(db, "SELECT s.script_json FROM scripts s JOIN calls c ON c.script_hash = s.hash "
                            f"WHERE c.call_id = '{call_id}'")[0][0]
    greeting = next(s for s in json.loads(script_json)["stages"] if s["id"] == "greeting")
    second = greeting["lines"][1] if isinstance(greeting["lines"][1], str) else greeting["lines"][1]["any"][0]
    assert (line_id, text) == (derived_line_id(second), second)
    # Every decision is still applied, and none is flagged (the content did not change).
    line = next(s for s in applied[call_id].result.stages if s.id == "greeting").lines[1]
    assert line.override is not None and line.override.present and not line.override.stale
    assert sum(s.override is not None for c in applied.values() for s in c.result.stages) == 2
    # The audit trail stays append-only, REPLACE included.
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("INSERT OR REPLACE INTO audit (id, at, actor, action) VALUES (1, 'x', 'x', 'x')")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET note = 'x' WHERE id = 1")
    conn.close()


def test_an_older_history_opened_read_only_still_shows_every_decision(tmp_path):
    db = tmp_path / "v5.db"
    shutil.copy(LEGACY, db)
    with Store(db, read_only=True) as store:
        calls = store.calls()
        assert store.version == 5 and store.duplicates() == []
    stages = [s for c in calls for s in c.result.stages if s.override]
    lines = [ln for c in calls for s in c.result.stages for ln in s.lines if ln.override]
    assert (len(stages), len(lines)) == (2, 1)
    assert _rows(db, "PRAGMA user_version") == [(5,)]


def test_an_upgraded_history_is_batched_again_without_new_calls(tmp_path):
    """The migrated sources find their calls again when the same folder is batched (here at another place)."""
    db = tmp_path / "v5.db"
    shutil.copy(LEGACY, db)
    conn = sqlite3.connect(db)
    folder = tmp_path / "recordings"
    conn.execute("UPDATE batches SET folder = ?", (str(folder.resolve()),))
    conn.execute("UPDATE calls SET file = replace(file, '/recordings', ?)", (str(folder),))
    conn.commit()
    conn.close()
    day = folder / "2026-11-27"
    sample = ROOT / "samples" / "day"
    _write(day / "ivanova" / "2026-11-27_10-31-02_ivanova_380991234567.txt",
           (sample / "2026-11-27" / "ivanova" / "2026-11-27_10-31-02_ivanova_380991234567.txt").read_text("utf-8"))
    shutil.copy(FIXTURES / "chats" / "telegram_single.json", day / "ivanova" / "chat.json")
    ids = {r[0] for r in _rows(db, "SELECT call_id FROM calls")}
    summary = _batch(folder, db, team=TEAM)
    assert summary.duplicates == 0 and summary.failed == 0
    assert {r[0] for r in _rows(db, "SELECT call_id FROM calls")} == ids
    # The chat is now known by its chat id.
    assert _rows(db, "SELECT source_key FROM calls WHERE kind = 'chat'")[0][0].startswith("chat:telegram:tg7771234:")


# -- 1. a call keeps its identity when its content changes ------------------------------------------------------------
def test_a_corrected_transcript_updates_the_call_in_place_and_flags_its_decisions(tmp_path):
    folder, db = tmp_path / "calls", tmp_path / "h.db"
    call_file = _write(folder / "2026-11-27" / "ivanova" / "call.txt", GOOD)
    _batch(folder, db, team=TEAM)
    with Store(db) as store:
        [call] = store.calls()
        stage = call.result.stages[1]
        ledger.set_override(store, call.call_id, stage.id, not stage.present, by="lead", note="слышно")
        ledger.set_override(store, call.call_id, "greeting", True, by="lead", line=0)
        ledger.open_dispute(store, call.call_id, "needs", by="ivanova", comment="я спросила")
    call_file.write_text(GOOD + "К: И ещё: пришлите счёт на почту.\n", encoding="utf-8")
    second = _batch(folder, db, team=TEAM)
    assert second.analysed == 1 and any("содержимое изменилось после решений руководителя (2)" in n for n in second.notes)
    with Store(db) as store:
        [again] = store.calls()
        assert again.call_id == call.call_id and "пришлите счёт" in again.transcript.segments[-1].text
        flagged = [s.override for s in again.result.stages if s.override] + [
            ln.override for s in again.result.stages for ln in s.lines if ln.override]
        assert len(flagged) == 2 and all(o.stale for o in flagged)
        assert [(d.status, d.stale) for d in ledger.disputes(store, call_id=call.call_id)] == [("open", True)]
        ledger.confirm_decision(store, call.call_id, stage.id, by="lead")
        line_id = load_script(default_script_path()).line_ids()["greeting"][0]
        ledger.drop_decision(store, call.call_id, "greeting", line_id, by="lead", note="не то")
        now = store.call(call.call_id)
        assert not next(s for s in now.result.stages if s.id == stage.id).override.stale
        assert next(s for s in now.result.stages if s.id == "greeting").lines[0].override is None
        assert [e.action for e in ledger.audit_trail(store, call.call_id)][-2:] == ["confirm", "drop"]
    # Dropped, not deleted: the row stays.
    assert _rows(db, "SELECT status FROM overrides ORDER BY line_id") == [("active",), ("dropped",)]
    assert _rows(db, "SELECT COUNT(*) FROM calls") == [(1,)]


def test_the_call_page_says_a_decision_needs_checking(tmp_path):
    from starlette.testclient import TestClient

    from compliance.web.app import create_app

    from .review_helpers import build_history, first_connected
    from .test_web import _login

    db = tmp_path / "h.db"
    records = build_history(db)
    call = first_connected(records, "ivanova")
    with Store(db) as store:
        ledger.set_override(store, call.call_id, "needs", True, by="lead")
        store.execute("UPDATE calls SET content_hash = 'corrected' WHERE call_id = ?", (call.call_id,))
    client = TestClient(create_app(db, secret="s"), follow_redirects=False)
    _login(client, "lead")
    page = client.get(f"/calls/{call.call_id}").text
    assert STALE_RU in page and 'action="/calls/' + call.call_id + '/decision"' in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    res = client.post(f"/calls/{call.call_id}/decision", data={"stage_id": "needs", "line_id": "",
                                                             "action": "confirm", "csrf_token": token})
    assert res.status_code == 303
    assert STALE_RU not in client.get(f"/calls/{call.call_id}").text


# -- 2. duplicates ----------------------------------------------------------------------------------------------------
def test_a_copy_under_another_manager_is_a_duplicate_scored_once_and_never_moves(tmp_path):
    folder, db = tmp_path / "calls", tmp_path / "h.db"
    _write(folder / "2026-11-27" / "ivanova" / "call.txt", GOOD)
    _write(folder / "2026-11-27" / "zzz_unknown" / "call.txt", GOOD)          # not in the roster
    _write(folder / "2026-11-26" / "ivanova" / "other.txt", WEAK)
    first = _batch(folder, db, team=TEAM)
    assert (first.analysed, first.duplicates) == (2, 1)
    [note] = [n for n in first.notes if "то же содержимое, что" in n]
    assert "zzz_unknown/call.txt" in note and "ivanova/call.txt" in note
    with Store(db) as store:
        owner = {c.file: c for c in store.calls()}
        [dup] = store.duplicates()
    assert dup.file.endswith("zzz_unknown/call.txt") and dup.scored_file.endswith("ivanova/call.txt")
    assert len(owner) == 2 and all(c.manager == "ivanova" for c in owner.values())
    for _ in range(2):  # rerun: the call stays where it is; the copy is listed again
        again = _batch(folder, db, team=TEAM)
        assert (again.analysed, again.duplicates, again.skipped) == (0, 1, 2)
        with Store(db) as store:
            assert {c.file: (c.call_id, c.manager, c.date) for c in store.calls()} == {
                f: (c.call_id, c.manager, c.date) for f, c in owner.items()}
            assert len(store.duplicates()) == 1


def test_the_team_page_lists_duplicates_with_both_places(tmp_path):
    from starlette.testclient import TestClient

    from compliance.review.users import add_user
    from compliance.web.app import create_app

    from .test_web import _login

    folder, db = tmp_path / "calls", tmp_path / "h.db"
    _write(folder / "2026-11-27" / "ivanova" / "call.txt", GOOD)
    _write(folder / "2026-11-28" / "ivanova" / "call-copy.txt", GOOD)
    _batch(folder, db, team=TEAM)
    with Store(db) as store:
        add_user(store, "lead", "lead", "lead-password-1")
    client = TestClient(create_app(db, secret="s"), follow_redirects=False)
    _login(client, "lead")
    page = client.get("/").text
    assert "2026-11-28/ivanova/call-copy.txt" in page and "2026-11-27/ivanova/call.txt" in page


# -- 3. script-line ids -----------------------------------------------------------------------------------------------
SCRIPT = """\
id: tiny
title: "Tiny"
stages:
  - id: greeting
    title: "Приветствие"
    lines:
{lines}
  - id: needs
    title: "Потребность"
    lines: ["Расскажите, какая задача стоит перед вами сейчас?"]
"""
HELLO = '      - "Добрый день! Меня зовут Мария, компания «Смарт Мейкер»."'
TIME = '      - "Вам удобно сейчас говорить?"'


def test_decisions_stay_on_their_line_through_script_edits_and_orphans_are_warned(tmp_path):
    folder, db = tmp_path / "calls", tmp_path / "h.db"
    script = tmp_path / "tiny.yaml"
    script.write_text(SCRIPT.format(lines=f"{HELLO}\n{TIME}"), encoding="utf-8")
    _write(folder / "2026-11-27" / "ivanova" / "call.txt", GOOD)
    _batch(folder, db, scripts=[script])
    with Store(db) as store:
        [call] = store.calls()
        ledger.set_override(store, call.call_id, "greeting", False, by="lead", line=1, note="не спросила")
    time_id = load_script(script).line_ids()["greeting"][1]
    # A line inserted before it: the decision stays on «Вам удобно…», now line 3.
    script.write_text(SCRIPT.format(lines=f'      - "Алло, слышите меня?"\n{HELLO}\n{TIME}'), encoding="utf-8")
    assert CliRunner().invoke(cli, ["script", "check", str(script), "--db", str(db)]).exit_code == 0
    _batch(folder, db, scripts=[script])
    with Store(db) as store:
        lines = next(s for s in store.call(call.call_id).result.stages if s.id == "greeting").lines
        assert [ln.override is not None for ln in lines] == [False, False, True]
        assert lines[2].text == "Вам удобно сейчас говорить?"
    # The line's text edited without an id: check warns with what to do, and the batch says it.
    edited = TIME.replace("Вам удобно", "Удобно вам")
    script.write_text(SCRIPT.format(lines=f"{HELLO}\n{edited}"), encoding="utf-8")
    res = CliRunner().invoke(cli, ["script", "check", str(script), "--db", str(db)])
    assert res.exit_code == 4, res.output
    assert "«Вам удобно сейчас говорить?»" in res.output and f"`id: {time_id}`" in res.output
    orphaned = _batch(folder, db, scripts=[script])
    assert any("«Вам удобно сейчас говорить?»" in n and "этого больше нет в скрипте" in n for n in orphaned.notes)
    with Store(db) as store:
        result = store.call(call.call_id).result
        assert all(ln.override is None for s in result.stages for ln in s.lines)  # never on another line
        assert any(m.code == "override_orphaned" and "Вам удобно сейчас говорить?" in m.params["stage"]
                   for m in result.messages)
        assert len(load_decisions(store.connection)[call.call_id]) == 1  # kept
    # Following the advice (the edited line takes the old id) puts the decision back on it.
    script.write_text(SCRIPT.format(lines=f"{HELLO}\n      - {{any: [\"Удобно вам сейчас говорить?\"], "
                                          f"id: {time_id}}}"), encoding="utf-8")
    assert CliRunner().invoke(cli, ["script", "check", str(script), "--db", str(db)]).exit_code == 0
    _batch(folder, db, scripts=[script])
    with Store(db) as store:
        lines = next(s for s in store.call(call.call_id).result.stages if s.id == "greeting").lines
        assert lines[1].override is not None and not lines[1].override.present


def test_line_ids_explicit_or_derived_and_unique(tmp_path):
    script = tmp_path / "s.yaml"
    script.write_text(SCRIPT.format(lines=f"{HELLO}\n      - {{any: [\"Есть минута?\"], id: time}}"), encoding="utf-8")
    ids = load_script(script).line_ids()["greeting"]
    assert ids[1] == "time" and ids[0] == derived_line_id("добрый  день! меня зовут мария, компания «смарт мейкер»")
    script.write_text(SCRIPT.format(lines=f"{HELLO}\n{HELLO}"), encoding="utf-8")
    res = CliRunner().invoke(cli, ["script", "check", str(script)])
    assert res.exit_code == 1 and "одинаковый id" in res.output and "дайте одной из них свой id:" in res.output


# -- 4. chats by chat id ----------------------------------------------------------------------------------------------
def test_a_chat_exported_again_with_more_messages_updates_the_same_chat(tmp_path):
    folder, db = tmp_path / "chats", tmp_path / "h.db"
    export = json.loads((FIXTURES / "chats" / "telegram_single.json").read_text("utf-8"))
    target = folder / "2026-11-27" / "ivanova" / "export-1.json"
    _write(target, json.dumps(export, ensure_ascii=False))
    _batch(folder, db, team=TEAM)
    with Store(db) as store:
        [chat] = store.calls()
        ledger.set_override(store, chat.call_id, chat.result.stages[0].id, True, by="lead")
    messages = len(chat.transcript.segments)
    more = dict(export, messages=[*export["messages"], {"id": 999, "type": "message", "date": "2025-01-02T11:00:00",
                                                        "from": "Анна Смирнова", "text": "Спасибо, оплачу завтра."}])
    target.unlink()
    _write(folder / "2026-11-28" / "ivanova" / "export-2.json", json.dumps(more, ensure_ascii=False))
    _batch(folder, db, team=TEAM)
    with Store(db) as store:
        [again] = store.calls()
        assert again.call_id == chat.call_id and len(again.transcript.segments) == messages + 1
        assert [s.text for s in again.transcript.segments[:messages]] == [s.text for s in chat.transcript.segments]
        assert sum(d.chats for d in store.daily_counts()) == 1
        assert again.result.stages[0].override.stale
    # Both exports in the folder: still one chat, the other listed as an older export.
    _write(folder / "2026-11-27" / "ivanova" / "export-1.json", json.dumps(export, ensure_ascii=False))
    both = _batch(folder, db, team=TEAM)
    assert both.duplicates == 1
    assert _rows(db, "SELECT COUNT(*) FROM calls") == [(1,)]


# -- 5. concurrent writes over real HTTP ------------------------------------------------------------------------------
def test_concurrent_examples_overrides_and_disputes_all_land(tmp_path):
    from .review_helpers import PASSWORDS, build_history, first_connected
    from .web_server import running_server

    db = tmp_path / "h.db"
    records = build_history(db)
    call = first_connected(records, "ivanova")
    script_file = tmp_path / "sales_call.yaml"
    shutil.copy(GOLDEN, script_file)
    with Store(db) as store:
        ledger.set_override(store, call.call_id, "payment_timing", True, by="lead", line=0)
    stages = [s.id for s in call.result.stages]
    n = 24
    with running_server(db, "--script", str(script_file)) as base:
        tokens = {}
        clients = {}
        for who in ("lead", "ivanova"):
            http = clients[who] = httpx.Client(base_url=base, timeout=120)
            page = http.get("/login").text
            token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            assert http.post("/login", data={"login": who, "password": PASSWORDS[who],
                                             "csrf_token": token}).status_code == 303
            tokens[who] = http.get("/", follow_redirects=True).text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        start = threading.Barrier(3 * n)
        codes: list[int] = []

        def post(who: str, url: str, data: dict) -> None:
            start.wait(timeout=60)
            res = clients[who].post(url, data={**data, "csrf_token": tokens[who]})
            codes.append(res.status_code)

        jobs = []
        for i in range(n):
            jobs.append(("lead", f"/calls/{call.call_id}/example", {
                "stage_id": "payment_timing", "line": "0", "sentence": f"Оплатите, пожалуйста, до пятницы, вариант {i}."}))
            jobs.append(("lead", f"/calls/{call.call_id}/override", {
                "stage_id": stages[i % len(stages)], "line": "", "present": str(i % 2), "note": f"решение {i}"}))
            jobs.append(("ivanova", f"/calls/{call.call_id}/dispute", {
                "stage_id": stages[i % len(stages)], "line": "", "comment": f"спор {i}"}))
        threads = [threading.Thread(target=post, args=job) for job in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        for http in clients.values():
            http.close()
    assert codes.count(303) == 3 * n, codes
    examples = load_script(script_file).stages[3].examples()[0]
    assert all(f"вариант {i}." in " ".join(examples) for i in range(n)), examples
    with Store(db) as store:
        trail = ledger.audit_trail(store, call.call_id)
        assert len(ledger.disputes(store, call_id=call.call_id)) == n
    actions = [e.action for e in trail]
    assert (actions.count("example"), actions.count("override"), actions.count("dispute")) == (n, n + 1, n)
    assert all(e.actor and e.at and e.after is not None for e in trail)


# -- 1. the CRM note of a corrected call is updated in place ----------------------------------------------------------
def test_a_corrected_call_updates_its_pipedrive_note_in_place(tmp_path, fake):  # noqa: F811 - the fixture
    from .test_pipedrive import CALLS, _push
    from .test_pipedrive import TEAM as PD_TEAM

    folder, db = tmp_path / "calls", tmp_path / "h.db"
    team = tmp_path / "team.yaml"
    team.write_text(PD_TEAM, encoding="utf-8")
    call = _write(folder / "2026-11-27_10-31-02_ivanova_380991234567.txt",
                  (CALLS / "missing_01_no_payment_hotel.txt").read_text("utf-8"))
    _batch(folder, db, team=team)
    assert _push(db, team).exit_code == 0
    [note_id] = [r[0] for r in _rows(db, "SELECT note_id FROM crm_pushes")]
    call.write_text(call.read_text("utf-8") + "М: И когда вам удобно оплатить счёт — сегодня или завтра?\n",
                    encoding="utf-8")
    assert _batch(folder, db, team=team).analysed == 1
    again = _push(db, team)
    assert again.exit_code == 0, again.output
    assert fake.state.count("POST", "/v1/notes") == 1 and fake.state.count("PUT", "/v1/notes/") == 1
    assert [r[0] for r in _rows(db, "SELECT note_id FROM crm_pushes")] == [note_id] and len(fake.state.notes) == 1


def test_gap_mining_counts_each_line_by_its_id_across_script_versions(tmp_path):
    from compliance.history.phrasings import mine_phrasings
    from compliance.scoring.result import Found

    folder, db = tmp_path / "calls", tmp_path / "h.db"
    script = tmp_path / "tiny.yaml"
    script.write_text(SCRIPT.format(lines=f"{HELLO}\n{TIME}"), encoding="utf-8")
    _write(folder / "2026-11-27" / "ivanova" / "call.txt", GOOD)
    _batch(folder, db, scripts=[script])
    script.write_text(SCRIPT.format(lines=f'      - "Алло, слышите меня?"\n{HELLO}\n{TIME}'), encoding="utf-8")
    with Store(db) as store:
        records = store.calls()
        mined = mine_phrasings(records, load_script(script), versions=store.script_line_ids)
    said = next(s for s in records[0].result.stages if s.id == "greeting").lines
    by_text = {ln.line: ln for ln in mined.lines if ln.stage_id == "greeting"}
    assert by_text["Алло, слышите меня?"].calls == 0        # not in the version the call was scored with
    for old in said:
        entry = by_text[old.text]
        assert entry.calls == 1 and entry.verbatim == int(old.found is Found.VERBATIM)
