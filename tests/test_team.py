"""The roster file and the team commands."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest
from click.testing import CliRunner

from compliance.cli import cli
from compliance.history.roster import Team, TeamError, load_team, set_level

from .conftest import ROOT

SAMPLE_TEAM = ROOT / "samples" / "team.yaml"


def test_sample_roster_loads():
    team = load_team(SAMPLE_TEAM)
    assert set(team.managers) == {"ivanova", "petrov", "sidorova"}
    ivanova = team.get("Ivanova")  # keys compare case-insensitively
    assert ivanova.name == "Иванова Мария" and ivanova.level == "newcomer"
    assert team.get("sidorova").script == "sales_call"
    assert team.get("nobody") is None


def test_level_on_a_date_uses_since():
    petrov = load_team(SAMPLE_TEAM).get("petrov")  # experienced since 2026-06-01
    assert petrov.level_on("2026-11-27") == "experienced"
    assert petrov.level_on("2026-05-31") == "newcomer"
    assert petrov.level_on(None) == "experienced"


@pytest.mark.parametrize("text, message", [
    ("managers:\n  ivanova:\n    name: X\n    levl: newcomer\n", "managers.ivanova.levl: неизвестный ключ 'levl'"),
    ("managers:\n  ivanova:\n    level: senior\n", "managers.ivanova.level"),
    ("managers:\n  ivanova:\n    since: yesterday\n", "managers.ivanova.since"),
    ("managers: [\n", "ошибка YAML"),
    ("- just a list\n", "нужен словарь с ключом managers"),
])
def test_bad_roster_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "team.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TeamError, match=message.replace("[", r"\[")):
        load_team(path)


def test_set_level_rewrites_the_file_atomically(tmp_path):
    path = tmp_path / "team.yaml"
    shutil.copy(SAMPLE_TEAM, path)
    m = set_level(path, "ivanova", "experienced", since=dt.date(2026, 12, 1))
    assert (m.level, m.since) == ("experienced", dt.date(2026, 12, 1))
    again = load_team(path)
    assert again.get("ivanova").level == "experienced" and again.get("ivanova").name == "Иванова Мария"
    assert again.get("petrov").since == dt.date(2026, 6, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["team.yaml"]  # no temp files left
    with pytest.raises(TeamError, match="нет менеджера 'kovalenko'"):
        set_level(path, "kovalenko", "newcomer")
    set_level(path, "kovalenko", "newcomer", name="Коваленко Ирина", create=True)
    assert load_team(path).get("kovalenko").name == "Коваленко Ирина"


def test_team_commands(tmp_path):
    path = tmp_path / "team.yaml"
    shutil.copy(SAMPLE_TEAM, path)
    runner = CliRunner()
    res = runner.invoke(cli, ["team", "list", "--team", str(path), "--db", str(tmp_path / "none.db")])
    assert res.exit_code == 0, res.output
    assert "Иванова Мария" in res.output and "experienced" in res.output
    res = runner.invoke(cli, ["team", "set-level", "ivanova", "experienced", "--team", str(path),
                              "--since", "2026-12-01"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == f"ivanova: experienced с 2026-12-01  ({path})"
    res = runner.invoke(cli, ["team", "set-level", "ghost", "experienced", "--team", str(path)])
    assert res.exit_code == 1 and "Ошибка: " in res.output and "нет менеджера 'ghost'" in res.output
    res = runner.invoke(cli, ["team", "set-level", "ivanova", "senior", "--team", str(path)])
    assert res.exit_code == 2


def test_set_level_keeps_comments_goes_through_a_symlink_and_keeps_the_mode(tmp_path):
    import os
    import stat

    real = tmp_path / "shared" / "team.yaml"
    real.parent.mkdir()
    real.write_text("# Состав отдела продаж — ведёт Ольга\n"
                    "managers:\n"
                    "  ivanova:            # с ноября\n"
                    "    name: Иванова Мария\n"
                    "    level: newcomer\n"
                    "  petrov:\n"
                    "    name: Петров Олег\n"
                    "    level: experienced\n"
                    "    since: 2026-10-01\n", encoding="utf-8")
    real.chmod(0o644)
    link = tmp_path / "team.yaml"
    link.symlink_to(real)
    result = CliRunner().invoke(cli, ["team", "set-level", "ivanova", "experienced", "--since", "2026-12-01",
                                      "--team", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(real)
    text = real.read_text(encoding="utf-8")
    assert text.startswith("# Состав отдела продаж — ведёт Ольга\n") and "# с ноября" in text
    assert stat.S_IMODE(real.stat().st_mode) == 0o644
    team = load_team(link)
    assert team.managers["ivanova"].level == "experienced"
    assert team.managers["ivanova"].since == dt.date(2026, 12, 1)
    assert team.managers["petrov"].since == dt.date(2026, 10, 1)


# ------------------------------------------------------------------------------------------ daily targets

def test_targets_default_to_the_regulations_and_a_manager_overrides_only_what_they_give():
    team = load_team(SAMPLE_TEAM)
    assert (team.targets.contacts_per_day, team.targets.daily_band, team.targets.leads_per_day) == (40, (30, 40), 70)
    custom = Team.model_validate({
        "targets": {"contacts_per_day": 45, "connected_per_day": {"min": 35, "max": 45}},
        "managers": {"ivanova": {"targets": {"contacts_per_day": 25}}, "petrov": {}},
    })
    assert custom.targets_for("Ivanova").contacts_per_day == 25
    assert custom.targets_for("ivanova").daily_band == (35, 45)        # the rest is the team's
    assert custom.targets_for("petrov").contacts_per_day == 45
    assert custom.targets_for("nobody").contacts_per_day == 45


@pytest.mark.parametrize("text, message", [
    ("targets:\n  contacts_per_day: 0\n", "targets.contacts_per_day"),
    ("targets:\n  connected_per_day: {min: 40, max: 30}\n", "min 40 больше max 30"),
    ("targets:\n  contacts: 40\n", "targets.contacts: неизвестный ключ 'contacts'"),
    ("managers:\n  a:\n    targets: {leads_per_day: -1}\n", "managers.a.targets.leads_per_day"),
])
def test_bad_targets_name_the_field(tmp_path, text, message):
    path = tmp_path / "team.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TeamError, match=message):
        load_team(path)


def test_daily_report_and_export_read_the_targets_from_the_roster(tmp_path):
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    (day / "call.txt").write_text("М: Добрый день! Меня зовут Анна, компания «Ромашка».\nК: Да, слушаю.\n"
                                  "М: Расскажите, какую задачу хотите решить?\nК: Нужен сайт для магазина.\n",
                                  encoding="utf-8")
    team = tmp_path / "team.yaml"
    team.write_text("targets:\n  contacts_per_day: 35\nmanagers:\n  ivanova:\n    name: Иванова\n"
                    "    targets: {contacts_per_day: 20}\n", encoding="utf-8")
    db = str(tmp_path / "h.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["batch", str(tmp_path / "2026-11-27"), "--db", db, "--team", str(team)]).exit_code == 0
    run = runner.invoke(cli, ["daily", "ivanova", "--date", "27.11.2026", "--db", db, "--team", str(team)])
    assert run.exit_code == 0 and "✅Всего контактов – 0 из 20" in run.output, run.output
    run = runner.invoke(cli, ["daily", "ivanova", "--date", "27.11.2026", "--db", db])
    assert "из 40" in run.output                                        # no roster: the regulations
    run = runner.invoke(cli, ["export", "--by", "week", "--format", "json", "--db", db, "--team", str(team)])
    assert run.exit_code == 0 and '"target_per_day": 20' in run.output


def test_the_daily_report_writes_the_teams_currency(tmp_path):
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    (day / "call.txt").write_text("М: Добрый день!\nК: Здравствуйте.\n", encoding="utf-8")
    db = str(tmp_path / "h.db")
    assert CliRunner().invoke(cli, ["batch", str(tmp_path / "2026-11-27"), "--db", db]).exit_code == 0
    team = tmp_path / "team.yaml"
    team.write_text("currency: USD\nmanagers:\n  ivanova: {name: Иванова}\n", encoding="utf-8")
    run = CliRunner().invoke(cli, ["daily", "ivanova", "--date", "27.11.2026", "--sales-sum", "1500", "--db", db,
                                   "--team", str(team)])
    assert "✅Сумма продаж – 1\u00a0500 $" in run.output, run.output
    team.write_text("currency: грн\n", encoding="utf-8")
    with pytest.raises(TeamError, match="currency"):
        load_team(team)


# ------------------------------------------------------------------------------------------ adherence bands
def test_bands_default_to_the_scripts_levels_and_the_team_and_a_manager_set_them():
    from compliance.resources import default_script_path
    from compliance.scoring.script_file import load_script

    call, chat = load_script(default_script_path("call")), load_script(default_script_path("chat"))
    team = Team()
    assert team.targets.bands == {}                                         # the default: the scripts decide
    assert [(call.band(lv).min, call.band(lv).max) for lv in ("newcomer", "experienced")] == [(85, 90), (55, 60)]
    assert [(chat.band(lv, "chat").min, chat.band(lv, "chat").max) for lv in ("newcomer", "experienced")] == \
        [(80, 90), (50, 60)]
    custom = Team.model_validate({
        "targets": {"bands": {"calls": {"newcomer": {"min": 80, "max": 88}},
                              "chats": {"newcomer": {"min": 70, "max": 85}},
                              call.id: {"experienced": {"min": 50, "max": 58}}}},
        "managers": {"ivanova": {"targets": {"bands": {"calls": {"newcomer": {"min": 90, "max": 95}}}}}, "petrov": {}},
    })
    for_petrov, for_ivanova = custom.targets_for("petrov").bands, custom.targets_for("ivanova").bands

    def band(script, level, channel, bands):
        found = script.band(level, channel, bands)
        return found.min, found.max

    assert band(call, "newcomer", "call", for_petrov) == (80, 88)            # the team's calls band
    assert band(call, "experienced", "call", for_petrov) == (50, 58)         # the script's own entry
    assert band(chat, "newcomer", "chat", for_petrov) == (70, 85)            # the team's chats band
    assert band(chat, "experienced", "chat", for_petrov) == (50, 60)         # not given: the chat script's
    assert band(call, "newcomer", "call", for_ivanova) == (90, 95)           # the manager's own, level by level
    assert band(chat, "newcomer", "chat", for_ivanova) == (70, 85)           # the rest stays the team's


def test_a_band_upside_down_names_the_field(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text("targets:\n  bands:\n    chats: {newcomer: {min: 90, max: 80}}\n", encoding="utf-8")
    with pytest.raises(TeamError, match=r"targets.bands.chats.newcomer: min \(90\) больше max \(80\)"):
        load_team(path)
    path.write_text("targets:\n  bands:\n    calls: {guru: {min: 80, max: 90}}\n", encoding="utf-8")
    with pytest.raises(TeamError, match="targets.bands.calls.guru"):
        load_team(path)


def test_batch_and_rescore_judge_calls_by_the_teams_bands(tmp_path):
    """A newcomer's call judged by the team's band; a band changed in team.yaml judges the stored calls again."""
    from compliance.history.store import Store

    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "fixtures" / "calls" / "verbatim_01_dental_site.txt", day / "call.txt")
    team, db = tmp_path / "team.yaml", str(tmp_path / "h.db")
    team.write_text("managers:\n  ivanova: {name: Иванова}\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["batch", str(tmp_path / "2026-11-27"), "--db", db, "--team", str(team)]).exit_code == 0
    with Store(db) as store:
        first = store.calls()[0].result
    assert first.band == (85, 90) and first.verdict is not None             # no bands: the script's
    low = round(first.adherence - 40, 1)
    team.write_text("targets:\n  bands:\n    calls: {newcomer: {min: %s, max: 100}}\n"
                    "managers:\n  ivanova: {name: Иванова}\n" % low, encoding="utf-8")
    run = runner.invoke(cli, ["batch", str(tmp_path / "2026-11-27"), "--db", db, "--team", str(team)])
    assert run.exit_code == 0, run.output
    with Store(db) as store:
        again = store.calls()[0].result
    assert again.band == (low, 100) and again.verdict == "within"            # judged again by the team's band
    team.write_text("targets:\n  bands:\n    calls: {newcomer: {min: 10, max: 20}}\n", encoding="utf-8")
    assert runner.invoke(cli, ["rescore", "--db", db, "--team", str(team)]).exit_code == 0
    with Store(db) as store:
        assert store.calls()[0].result.verdict == "above"
