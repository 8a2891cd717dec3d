"""`compliance pipedrive sync` and `outcomes` against the fake Pipedrive: deals linked by a real push, refreshed
incrementally, deleted deals kept, and the figures printed with their group sizes."""
from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from compliance.cli import cli

from .test_pipedrive import _push, built_history, fake, history  # noqa: F401  (fixtures)


def _deals(db) -> dict[int, sqlite3.Row]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return {r["deal_id"]: r for r in conn.execute("SELECT * FROM crm_deals")}


def test_sync_reads_linked_deals_then_only_what_changed(history, fake):
    db, team = history
    assert _push(db, team).exit_code == 0
    st = fake.state
    for deal in st.deals:
        deal["update_time"] = "2026-11-28 09:00:00"
    st.deals[0].update(status="won", value=45000, currency="UAH", won_time="2026-11-28 09:00:00")
    run = CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)])
    assert run.exit_code == 0, run.output
    assert "сделок со звонками 2; прочитано 2, изменилось 2" in run.output
    rows = _deals(db)
    assert rows[101]["status"] == "won" and rows[101]["value"] == 45000 and rows[301]["status"] == "open"
    assert fake.state.count("GET", "/v1/deals/") == 2

    # Nothing changed in Pipedrive since: the second sync asks /recents and reads no deal.
    before = fake.state.count("GET", "/v1/deals/")
    run = CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)])
    assert "прочитано 0, изменилось 0" in run.output and fake.state.count("GET", "/v1/deals/") == before
    assert fake.state.count("GET", "/v1/recents") == 1

    # One deal is lost later, one deleted: the lost one comes through /recents, the deleted one on a full sync.
    st.deals[1].update(status="lost", lost_reason="Дорого", update_time="2999-01-01 00:00:00")
    run = CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)])
    assert "прочитано 1, изменилось 1" in run.output
    assert _deals(db)[301]["lost_reason"] == "Дорого"
    st.deals = [d for d in st.deals if d["id"] != 101]
    run = CliRunner().invoke(cli, ["pipedrive", "sync", "--full", "--db", str(db)])
    assert run.exit_code == 0 and "удалено в CRM 1" in run.output
    assert _deals(db)[101]["status"] == "deleted"


def test_outcomes_say_too_few_deals_with_the_counts(history, fake):
    db, team = history
    assert _push(db, team).exit_code == 0
    fake.state.deals[0].update(status="won", value=45000, currency="UAH", update_time="2026-11-28 09:00:00")
    fake.state.deals[1].update(status="lost", update_time="2026-11-28 09:00:00")
    assert CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)]).exit_code == 0
    run = CliRunner().invoke(cli, ["pipedrive", "outcomes", "--db", str(db), "--json"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    offer = next(s for s in data["stages"] if s["stage_id"] == "offer")
    assert offer["claim"] == "few" and offer["interval"] is None
    assert offer["with_deals"] + offer["without_deals"] == 2
    team_row = next(m for m in data["managers"] if m["who"] == "")
    assert (team_row["closed"], team_row["won"], team_row["mean_value"]) == (2, 1, 45000)
    run = CliRunner().invoke(cli, ["pipedrive", "outcomes", "--db", str(db)])
    assert "мало данных:" in run.output and "нужно не меньше 30 в каждой группе" in run.output
    assert "команда: конверсия 1 из 2 = 50 %" in run.output


def test_a_bad_token_on_sync_is_one_line(history, fake, monkeypatch):
    db, team = history
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", "wrong")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO crm_pushes (call_id, account, deal_id, content_hash, pushed_at) "
                     "VALUES ('x', ?, 101, 'h', 'now')", (fake.url,))
    run = CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)])
    assert run.exit_code == 1 and "не принял токен API" in run.output and "Traceback" not in run.output


def test_daily_report_and_week_sheet_take_sales_from_won_deals_until_the_manager_enters_them(history, fake):
    db, team = history
    _won_and_synced(db, team, fake, "2026-11-27 15:00:00")
    run = CliRunner().invoke(cli, ["daily", "ivanova", "--date", "27.11.2026", "--db", str(db)])
    assert run.exit_code == 0, run.output
    assert "✅Сумма продаж – 45\u00a0000 грн\n✅Кол-во продаж – 1 шт" in run.output
    assert "выигранные в этот день сделки из Pipedrive" in run.output
    run = CliRunner().invoke(cli, ["export", "--by", "week", "--format", "json", "--db", str(db)])
    rows = {r["manager"]: r for r in json.loads(run.output)}
    assert (rows["ivanova"]["crm_sales_count"], rows["ivanova"]["crm_sales_sum"]) == (1, 45000)
    assert (rows["ivanova"]["deals_closed"], rows["ivanova"]["conversion"], rows["ivanova"]["mean_won_value"]) == \
        (1, 100.0, 45000)
    assert rows["petrov"]["crm_sales_count"] == 0 and rows["petrov"]["conversion"] is None
    # What the manager enters wins, and is kept.
    run = CliRunner().invoke(cli, ["daily", "ivanova", "--date", "27.11.2026", "--sales-sum", "50000",
                                   "--sales-count", "2", "--db", str(db)])
    assert "✅Сумма продаж – 50\u00a0000 грн" in run.output and "из Pipedrive" not in run.output
    run = CliRunner().invoke(cli, ["daily", "ivanova", "--date", "27.11.2026", "--db", str(db)])
    assert "✅Кол-во продаж – 2 шт" in run.output


def test_readiness_panel_shows_conversion_beside_adherence(history, fake, tmp_path):
    db, team = history
    assert _push(db, team).exit_code == 0
    fake.state.deals[0].update(status="won", value=45000, currency="UAH", update_time="2026-11-27 15:00:00")
    assert CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)]).exit_code == 0
    out = tmp_path / "reports"
    run = CliRunner().invoke(cli, ["report", "--db", str(db), "--team", str(team), "--out", str(out)])
    assert run.exit_code == 0, run.output
    page = (out / "managers" / "ivanova" / "index.html").read_text(encoding="utf-8")
    assert "Сделки по звонкам (Pipedrive): выиграно 1 из 1 закрытых" in page
    assert "у команды" in page and "мало сделок для вывода" in page
    petrov = (out / "managers" / "petrov" / "index.html").read_text(encoding="utf-8")
    assert "Сделки по звонкам" not in petrov                      # his deal is still open: nothing closed


def test_crm_check_lists_what_disagrees_and_applies_each_fix_once(history, fake):
    db, team = history
    assert _push(db, team).exit_code == 0
    assert CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)]).exit_code == 0
    run = CliRunner().invoke(cli, ["pipedrive", "check", "--db", str(db), "--team", str(team)])
    assert run.exit_code == 0, run.output
    assert "Расхождений (пробный запуск, ничего не изменено): 2" in run.output
    assert "сделка 301: «не можем выполнить» сказано, а сделка открыта" in run.output
    assert "сделка 101: следующий шаг договорён, а в сделке нет открытого дела" in run.output
    assert "обработано лидов 1 из 70" in run.output
    assert fake.state.deals[1]["status"] == "open" and not fake.state.activities     # a dry run changes nothing

    run = CliRunner().invoke(cli, ["pipedrive", "check", "--apply", "--db", str(db), "--team", str(team)])
    assert run.exit_code == 0 and "Исправлено в Pipedrive: 2" in run.output, run.output
    lost = next(d for d in fake.state.deals if d["id"] == 301)
    assert lost["status"] == "lost" and "1С" in lost["lost_reason"]                  # the manager's own words
    (activity,) = fake.state.activities
    assert activity["deal_id"] == 101 and activity["type"] == "call" and activity["due_date"] == "2026-11-30"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM crm_actions").fetchone()[0] == 2
        audit = conn.execute("SELECT actor, action FROM audit ORDER BY id").fetchall()
    assert ("pipedrive-check", "crm.cannot_deliver_open") in audit and len(audit) == 2

    run = CliRunner().invoke(cli, ["pipedrive", "check", "--apply", "--db", str(db), "--team", str(team)])
    assert "Исправлено в Pipedrive: 0; исправлено раньше: 1" in run.output           # 301 is lost now: not open
    assert len(fake.state.activities) == 1


def test_a_deal_with_an_open_activity_is_not_a_finding(history, fake):
    db, team = history
    assert _push(db, team).exit_code == 0
    assert CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)]).exit_code == 0
    fake.state.activities.append({"id": 9, "deal_id": 101, "done": 0, "subject": "Перезвонить", "type": "call"})
    run = CliRunner().invoke(cli, ["pipedrive", "check", "--db", str(db)])
    assert "сделка 101" not in run.output and "сделка 301" in run.output


def test_sync_walks_every_page_of_recents_and_stops_on_no_permission(history, fake):
    db, team = history
    assert _push(db, team).exit_code == 0
    assert CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)]).exit_code == 0
    fake.state.page_size = 1                                   # one item a page: the walk must follow next_start
    fake.state.deals.append({"id": 999, "title": "Чужая", "person_id": 1, "status": "won"})
    for deal in fake.state.deals:
        deal.update(update_time="2999-01-01 00:00:00", status="won", value=10, currency="UAH")
    run = CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)])
    assert "прочитано 2, изменилось 2" in run.output           # 999 has no call: not stored
    assert fake.state.count("GET", "/v1/recents") == 4          # four changed deals, one a page (the first sync reads deals)
    assert set(_deals(db)) == {101, 301}
    fake.state.fail_next = [403]
    run = CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)])
    assert run.exit_code == 1 and "нет прав" in run.output and "Traceback" not in run.output


def _won_and_synced(db, team, fake, when: str) -> None:
    """The first pushed call's deal won at ``when`` (UTC, as Pipedrive writes it), and synced."""
    assert _push(db, team).exit_code == 0
    fake.state.deals[0].update(status="won", value=45000, currency="UAH", won_time=when, update_time=when)
    assert CliRunner().invoke(cli, ["pipedrive", "sync", "--db", str(db)]).exit_code == 0


@pytest.fixture
def kyiv(monkeypatch):
    """This machine's clock in Kyiv (UTC+2 in winter, UTC+3 in summer) for the test, then as it was."""
    import time

    monkeypatch.setenv("TZ", "Europe/Kyiv")
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


def test_a_deal_won_after_midnight_local_time_counts_on_the_local_day(history, fake, kyiv):
    """Pipedrive writes won_time in UTC: 22:30 UTC on the 26th is 00:30 on the 27th in Kyiv, the 27th's sale."""
    db, team = history
    _won_and_synced(db, team, fake, "2026-11-26 22:30:00")
    on_27 = CliRunner().invoke(cli, ["daily", "ivanova", "--date", "27.11.2026", "--db", str(db)])
    on_26 = CliRunner().invoke(cli, ["daily", "ivanova", "--date", "26.11.2026", "--db", str(db)])
    assert "✅Кол-во продаж – 1 шт" in on_27.output, on_27.output
    assert "✅Кол-во продаж – 1 шт" not in on_26.output


def test_local_day_of_pipedrive_times(kyiv):
    from compliance.history.daily import local_day

    assert local_day("2026-11-26 22:30:00") == "2026-11-27"      # winter: UTC+2
    assert local_day("2026-07-26 20:30:00") == "2026-07-26"      # summer: UTC+3, 23:30 the same day
    assert local_day("2026-07-26 21:30:00") == "2026-07-27"
    assert local_day("2026-11-26") == "2026-11-26"                # a bare date is kept
    assert local_day("garbage!") == "garbage!"
