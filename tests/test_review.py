"""The review core (issue 11): decisions applied by one function, overrides surviving a re-score, disputes, the
append-only audit trail, accounts, agreement and kappa, and every reader (export, reports, readiness) seeing them."""
from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from click.testing import CliRunner

from compliance.cli import cli
from compliance.errors import ReviewError
from compliance.history.daily import render_export
from compliance.history.decisions import Decision, apply_decisions
from compliance.history.readiness import history_readiness
from compliance.history.rescore import rescore_history
from compliance.history.store import Store
from compliance.reports import write_reports
from compliance.review.agreement import agreement_report, cohen_kappa
from compliance.review.ledger import audit_trail, disputes, open_dispute, resolve_dispute, set_override
from compliance.review.users import add_user, remove_user, users, verify
from compliance.scoring.score import MatchOptions, score_call
from compliance.scoring.script_file import load_script
from compliance.scoring.transcript import load_transcript

from .conftest import FIXTURES
from .review_helpers import GOLDEN_SCRIPT, PASSWORDS, build_history, first_connected


@pytest.fixture()
def history(tmp_path):
    db = tmp_path / "history.db"
    return db, build_history(db)


def _decision(stage: str, present: bool, line=None, script=None) -> Decision:
    """A decision on a stage, or on line ``line`` of it (keyed by its id in ``script``)."""
    line_id = None if line is None else next(s for s in script.stages if s.id == stage).line_ids()[line]
    return Decision(call_id="c", stage_id=stage, line=line, line_id=line_id, present=present, by="lead",
                    at="2026-12-01T10:00:00", note="heard it")


def test_apply_decisions_recomputes_with_the_scorers_rules(default_script):
    transcript = load_transcript(FIXTURES / "calls" / "missing_01_no_payment_hotel.txt")
    machine = score_call(transcript, default_script, "newcomer", MatchOptions(meaning=False))
    missing = next(s for s in machine.stages if s.required and not s.present)
    fixed = apply_decisions(machine, [_decision(missing.id, True)])
    stage = next(s for s in fixed.stages if s.id == missing.id)
    assert stage.present and stage.override and stage.override.machine_present is False
    assert stage.score >= MatchOptions().meaning_credit
    assert fixed.coverage > machine.coverage and fixed.adherence > machine.adherence
    assert not any(s.id == missing.id for s in fixed.missing_required)
    # the machine's result is left as it was; no decision → the very same object
    assert not next(s for s in machine.stages if s.id == missing.id).present
    assert apply_decisions(machine, []) is machine
    # absent: the stage no longer counts, the score falls
    said = next(s for s in machine.stages if s.required and s.present)
    lower = apply_decisions(machine, [_decision(said.id, False)])
    assert lower.coverage < machine.coverage and lower.adherence < machine.adherence


def test_a_line_decision_moves_its_stage(default_script):
    transcript = load_transcript(FIXTURES / "calls" / "missing_01_no_payment_hotel.txt")
    machine = score_call(transcript, default_script, "newcomer", MatchOptions(meaning=False))
    missing = next(s for s in machine.stages if s.required and not s.present)
    ids = default_script.line_ids()
    fixed = apply_decisions(machine, [_decision(missing.id, True, line=0, script=default_script)], ids)
    stage = next(s for s in fixed.stages if s.id == missing.id)
    assert stage.present and stage.override is None and stage.lines[0].override.present
    # a stage decision is the last word, whatever order the decisions come in
    both = apply_decisions(machine, [_decision(missing.id, False),
                                     _decision(missing.id, True, line=0, script=default_script)], ids)
    assert not next(s for s in both.stages if s.id == missing.id).present


def test_a_decision_on_a_stage_the_script_lost_is_reported(default_script):
    transcript = load_transcript(FIXTURES / "calls" / "missing_01_no_payment_hotel.txt")
    machine = score_call(transcript, default_script, "newcomer", MatchOptions(meaning=False))
    fixed = apply_decisions(machine, [_decision("no_such_stage", True)])
    assert [m.code for m in fixed.messages if m.code == "override_orphaned"] == ["override_orphaned"]
    assert fixed.adherence == machine.adherence


def test_override_is_stored_apart_and_every_reader_sees_it(history, tmp_path):
    db, records = history
    call = next(r for r in records if r.call_id == "call001")  # skips payment_timing
    assert not next(s for s in call.result.stages if s.id == "payment_timing").present
    with Store(db) as store:
        machine_readiness = history_readiness(store, None, ["ivanova"])["ivanova"]
        after = set_override(store, call.call_id, "payment_timing", True, by="lead", note="said at the end")
        assert after.machine is not None and after.machine.adherence == call.result.adherence
        assert after.result.coverage > call.result.coverage
        # the stored machine result is untouched
        raw = store.connection.execute("SELECT result_json FROM calls WHERE call_id = ?", (call.call_id,)).fetchone()[0]
        assert '"override"' not in raw.replace('"override":null', "")
        stored = store.calls(with_transcripts=False)
        readiness = history_readiness(store, None, ["ivanova"])
    rows = json.loads(render_export(stored, "json"))
    row = next(r for r in rows if r["call_id"] == call.call_id)
    stage = next(s for s in row["stages"] if s["id"] == "payment_timing")
    assert stage["override"] == {"present": True, "by": "lead", "at": stage["override"]["at"], "note": "said at the end"}
    assert stage["present"] and not stage["machine_present"]
    assert row["overridden"] is True and row["machine_adherence"] == call.result.adherence
    assert row["adherence"] == after.result.adherence
    table = list(csv.DictReader(io.StringIO(render_export(stored, "csv"))))
    assert {r["call_id"]: r["overridden"] for r in table}[call.call_id] == "да"
    assert sum(r["overridden"] == "да" for r in table) == 1
    assert readiness["ivanova"].mean_adherence > machine_readiness.mean_adherence  # readiness sees the decision
    index = write_reports(tmp_path / "out", stored, scripts=[load_script(GOLDEN_SCRIPT)])
    page = next((index.parent / "managers" / "ivanova" / "calls").glob("2026-11-24*.html")).read_text(encoding="utf-8")
    assert "исправлено руководителем: lead" in page and "said at the end" in page and "оценка машины" in page
    listing = (index.parent / "managers" / "ivanova" / "index.html").read_text(encoding="utf-8")
    assert listing.count("✎ машина") == 1


def test_overrides_survive_a_rescore_until_their_stage_leaves_the_script(history, tmp_path):
    db, records = history
    call = next(r for r in records if r.call_id == "call001")
    with Store(db) as store:
        set_override(store, call.call_id, "payment_timing", True, by="lead", note="")
    sample = tmp_path / "calls" / "c.txt"
    sample.parent.mkdir()
    sample.write_text((FIXTURES / "calls" / "missing_01_no_payment_hotel.txt").read_text(encoding="utf-8"),
                      encoding="utf-8")
    with Store(db) as store:
        # a call with a transcript so the re-score really scores it again
        transcript = load_transcript(sample)
        rec = call.model_copy(update={"transcript": transcript, "machine": None})
        from compliance.history.schema import CallMeta
        store.save_call(rec.model_copy(update={"result": store.call(call.call_id).machine}),
                        CallMeta(kind="transcript", score_key="k"))
        script = load_script(GOLDEN_SCRIPT)
        summary = rescore_history(store, [script], manager="ivanova")
        assert summary.rescored >= 1 and not summary.orphaned
        again = store.call(call.call_id)
        assert next(s for s in again.result.stages if s.id == "payment_timing").override.present
        # the script loses the stage: the decision is reported, not silently dropped
        edited = script.model_copy(deep=True)
        edited.stages = [s for s in edited.stages if s.id != "payment_timing"]
        for s in edited.stages:
            s.excludes = [x for x in s.excludes if x != "payment_timing"]
    import yaml

    edited_file = tmp_path / "edited.yaml"
    edited_file.write_text(yaml.safe_dump(edited.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(cli, ["rescore", "--script", str(edited_file), "--manager", "ivanova", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert f"решение руководителя не применено, этапа больше нет в скрипте: {call.file}: payment_timing" in res.output
    with Store(db) as store:
        gone = store.call(call.call_id)
        assert any(m.code == "override_orphaned" for m in gone.result.messages)


@pytest.mark.usefixtures("english")
def test_disputes_and_the_audit_trail(history):
    db, records = history
    call = first_connected(records, "ivanova")
    stage = next(s for s in call.result.stages if s.applies)
    with Store(db) as store:
        with pytest.raises(ReviewError, match="needs a comment"):
            open_dispute(store, call.call_id, stage.id, by="ivanova", comment="  ")
        d = open_dispute(store, call.call_id, stage.id, by="ivanova", comment="I did say it")
        second = open_dispute(store, call.call_id, stage.id, by="ivanova", comment="and again")
        assert [x.status for x in disputes(store, manager="ivanova")] == ["open", "open"]
        accepted = resolve_dispute(store, d.id, by="lead", accept=True, note="right")
        assert accepted.status == "accepted" and accepted.resolved_by == "lead"
        flipped = next(s for s in store.call(call.call_id).result.stages if s.id == stage.id)
        assert flipped.present is (not stage.present) and flipped.override.by == "lead"
        with pytest.raises(ReviewError, match="needs a reason"):
            resolve_dispute(store, second.id, by="lead", accept=False, note="")
        resolve_dispute(store, second.id, by="lead", accept=False, note="already fixed")
        with pytest.raises(ReviewError, match="already"):
            resolve_dispute(store, second.id, by="lead", accept=True, note="")
        assert [x.status for x in disputes(store)] == ["accepted", "rejected"] or \
            {x.status for x in disputes(store)} == {"accepted", "rejected"}
        trail = audit_trail(store, call.call_id)
        assert [e.action for e in trail] == ["dispute", "dispute", "override", "dispute_accepted", "dispute_rejected"]
        assert trail[2].before["present"] is stage.present and trail[2].after["present"] is (not stage.present)
        # append-only: the database itself refuses to edit or delete the trail
        for sql in ("UPDATE audit SET note = 'x'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                store.connection.execute(sql)
        assert len(audit_trail(store)) == 5


def test_open_disputes_come_first(history):
    db, records = history
    call = first_connected(records, "ivanova")
    with Store(db) as store:
        old = open_dispute(store, call.call_id, "greeting", by="ivanova", comment="one")
        resolve_dispute(store, old.id, by="lead", accept=False, note="no")
        newer = open_dispute(store, call.call_id, "needs", by="ivanova", comment="two")
        assert [d.id for d in disputes(store)] == [newer.id, old.id]


@pytest.mark.usefixtures("english")
def test_override_refuses_unknown_things(history):
    db, records = history
    call = first_connected(records, "ivanova")
    with Store(db) as store:
        with pytest.raises(ReviewError, match="no call"):
            set_override(store, "nope", "greeting", True, by="lead")
        with pytest.raises(ReviewError, match="no stage 'nope'"):
            set_override(store, call.call_id, "nope", True, by="lead")
        with pytest.raises(ReviewError, match="has no line 99"):
            set_override(store, call.call_id, "greeting", True, by="lead", line=98)
        nc = next(r for r in records if not r.result.connected)
        with pytest.raises(ReviewError, match="not connected"):
            set_override(store, nc.call_id, "greeting", True, by="lead")


@pytest.mark.usefixtures("english")
def test_accounts(history):
    db, _ = history
    with Store(db) as store:
        assert [u.login for u in users(store)] == ["hacker", "ivanova", "lead", "petrov"]
        assert verify(store, "lead", PASSWORDS["lead"]).is_lead
        assert verify(store, "lead", "wrong password") is None and verify(store, "nobody", "x" * 10) is None
        raw = store.connection.execute("SELECT password_hash FROM users WHERE login = 'lead'").fetchone()[0]
        assert raw.startswith("$argon2") and PASSWORDS["lead"] not in raw
        for args, match in ((("Bad Login", "lead", "x" * 10), "login"), (("a", "boss", "x" * 10), "role"),
                            (("a", "manager", "x" * 10), "--manager"), (("a", "lead", "short"), "too short")):
            with pytest.raises(ReviewError, match=match):
                add_user(store, *args)
        remove_user(store, "petrov")
        with pytest.raises(ReviewError, match="no account"):
            remove_user(store, "petrov")


def test_kappa():
    assert cohen_kappa([(True, True), (False, False)] * 5) == 1.0
    assert cohen_kappa([(True, False), (False, True)] * 5) == -1.0
    assert cohen_kappa([(True, True)] * 4) is None  # one class only: undefined
    # 20 items: 15 agree; machine yes 10 of 20, lead yes 11 → po .75, pe .5·.55 + .5·.45 = .5 → kappa .5
    pairs = [(True, True)] * 8 + [(False, False)] * 7 + [(True, False)] * 2 + [(False, True)] * 3
    assert cohen_kappa(pairs) == pytest.approx(0.5)


def test_agreement_report(history):
    db, records = history
    call = next(r for r in records if r.call_id == "call001")
    with Store(db) as store:
        assert agreement_report(store).calls_reviewed == 0
        set_override(store, call.call_id, "payment_timing", True, by="lead")
        report = agreement_report(store)
    assert report.calls_reviewed == 1
    by_id = {a.key: a for a in report.stages}
    assert by_id["payment_timing"].overridden == 1 and by_id["payment_timing"].agreement == 0.0
    assert report.stages[0].key == "payment_timing"  # the weakest first
    assert report.overall.overridden == 1 and report.overall.reviewed == sum(a.reviewed for a in report.stages)
    # A decision dropped when the call's content changed under it is no review: the call leaves the count.
    with Store(db) as store:
        store.connection.execute("UPDATE overrides SET status = 'dropped' WHERE call_id = ?", (call.call_id,))
        store.connection.commit()
        assert agreement_report(store).calls_reviewed == 0


def test_cli_users_review_and_agreement(history):
    db, records = history
    runner = CliRunner()
    team = db.parent / "team.yaml"       # a manager account names a manager of the roster
    team.write_text("managers:\n  sidorova: {name: Сидорова Анна}\n", encoding="utf-8")
    res = runner.invoke(cli, ["users", "add", "sidorova", "--role", "manager", "--manager", "Sidorova",
                              "--password-stdin", "--db", str(db), "--team", str(team)], input="sidorova-secret\n")
    assert res.exit_code == 0, res.output
    assert "sidorova: manager (sidorova)" in res.output
    res = runner.invoke(cli, ["users", "add", "x", "--role", "lead", "--password-stdin", "--db", str(db)], input="short\n")
    assert res.exit_code == 1 and "Ошибка: x: пароль слишком короткий" in res.output
    listed = runner.invoke(cli, ["users", "list", "--db", str(db)]).output
    assert "sidorova\tmanager\tsidorova" in listed and "hash" not in listed
    assert runner.invoke(cli, ["users", "remove", "sidorova", "--db", str(db)]).exit_code == 0
    res = runner.invoke(cli, ["users", "remove", "sidorova", "--db", str(db)])
    assert res.exit_code == 1 and "Ошибка: нет учётной записи 'sidorova'" in res.output
    res = runner.invoke(cli, ["review", "override", "call001", "payment_timing", "--present", "--by", "lead",
                              "--note", "said it", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "payment_timing → есть" in res.output and "машина:" in res.output
    res = runner.invoke(cli, ["review", "override", "call001", "nope", "--absent", "--by", "lead", "--db", str(db)])
    assert res.exit_code == 1 and "Ошибка: звонок call001: в его скрипте нет этапа 'nope'" in res.output
    res = runner.invoke(cli, ["review", "agreement", "--db", str(db)])
    assert res.exit_code == 0 and "Проверено звонков: 1" in res.output and "payment_timing" in res.output
    data = json.loads(runner.invoke(cli, ["review", "agreement", "--json", "--db", str(db)]).output)
    assert data["overall"]["overridden"] == 1
    out = runner.invoke(cli, ["export", "--format", "json", "--db", str(db)]).output
    assert any(s.get("override", {}).get("note") == "said it" for row in json.loads(out) for s in row["stages"])


def test_cli_serve_refuses_without_accounts(tmp_path):
    res = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "none.db")])
    assert res.exit_code == 1 and "истории ещё нет" in res.output
    Store(tmp_path / "empty.db").close()
    res = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "empty.db")])
    assert res.exit_code == 1 and "учётных записей ещё нет; сначала добавьте: compliance users add" in res.output


def test_a_batch_rescore_keeps_decisions_and_reports_a_lost_stage(tmp_path):
    import shutil

    from compliance.batch.run import run_batch
    from compliance.resources import default_script_path

    from .test_batch import _day, _opts

    folder = _day(tmp_path / "day", 2)
    script = tmp_path / "script.yaml"
    shutil.copy(default_script_path(), script)
    db = tmp_path / "h.db"
    assert run_batch(_opts(folder, db, scripts=[script])).analysed == 2
    with Store(db) as store:
        call = store.calls()[0]
        said = next(s for s in call.result.stages if s.id == "farewell").present
        set_override(store, call.call_id, "farewell", not said, by="lead", note="listened")
    text = script.read_text("utf-8")
    script.write_text(text.replace("Какие сроки для вас важны?", "Когда вам нужен результат?"), encoding="utf-8")
    second = run_batch(_opts(folder, db, scripts=[script]))
    assert second.rescored == 2 and not any("decision" in n for n in second.notes)
    with Store(db) as store:
        kept = next(s for s in store.call(call.call_id).result.stages if s.id == "farewell")
        assert kept.present is (not said) and kept.override.note == "listened"
    script.write_text(script.read_text("utf-8").replace("id: farewell", "id: goodbye"), encoding="utf-8")
    third = run_batch(_opts(folder, db, scripts=[script]))
    assert third.rescored == 2
    assert [n for n in third.notes if "'farewell'" in n and "этого больше нет в скрипте" in n and call.file in n]


@pytest.mark.usefixtures("english")
def test_team_examples_file_is_read_with_its_script_and_checked(tmp_path):
    import shutil

    from compliance.scoring.examples import examples_path
    from compliance.scoring.script_file import add_example

    script_file = tmp_path / "sales.yaml"
    shutil.copy(GOLDEN_SCRIPT, script_file)
    before = load_script(script_file)
    first_line = load_script(script_file).line_ids()["needs"][0]
    written = add_example(script_file, "needs", first_line, "А что для вас сейчас главное?")
    assert written == examples_path(script_file) == tmp_path / "sales.examples.yaml"
    add_example(script_file, "needs", first_line, "А что для вас сейчас главное?")  # once only
    after = load_script(script_file)
    assert after.stages[1].examples()[0][-1] == "А что для вас сейчас главное?"
    assert after.stages[1].examples()[0].count("А что для вас сейчас главное?") == 1
    assert after.content_hash() != before.content_hash()  # the next batch re-scores with it
    res = CliRunner().invoke(cli, ["script", "check", str(script_file)])
    assert res.exit_code == 0 and "ok" in res.output
    written.write_text("needs:\n  9: [x]\nnope:\n  1: [y]\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["script", "check", str(script_file)])
    assert res.exit_code == 1
    assert f"{written}: needs: needs.9: no line 9 in stage 'needs'" in res.output
    assert f"{written}: nope: no stage 'nope' in the script" in res.output
    with pytest.raises(Exception, match="no line 9"):
        load_script(script_file)


def test_cli_serve_warns_off_loopback(history, monkeypatch):
    import uvicorn

    db, _ = history
    ran: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(kw))
    res = CliRunner().invoke(cli, ["serve", "--db", str(db)])
    assert res.exit_code == 0 and "HTTPS" not in res.output and ran[-1]["host"] == "127.0.0.1"
    res = CliRunner().invoke(cli, ["serve", "--db", str(db), "--host", "0.0.0.0", "--port", "8123"])
    assert res.exit_code == 0 and "HTTPS" in res.output and ran[-1] == {"host": "0.0.0.0", "port": 8123,
                                                                        "log_level": "warning"}


def test_agreement_on_a_history_from_before_reviews(tmp_path):
    import sqlite3 as sq

    from compliance.history.migrations_first import _V1, _V2

    db = tmp_path / "old.db"
    with sq.connect(db) as conn:  # a history made before the review tables existed (the first two versions)
        for step in (_V1, _V2):
            conn.executescript(step)
        conn.execute("PRAGMA user_version = 2")
    with Store(db, read_only=True) as store:
        assert agreement_report(store).calls_reviewed == 0 and store.calls() == []
