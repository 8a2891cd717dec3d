"""Russian by default, English complete (issue 23 point 1): every command's help in both languages, with no
text of the other language; the catalogue has the same keys and placeholders in both; errors and progress lines
follow ``--lang`` and ``COMPLIANCE_LANG``."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import click
import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

from compliance.cli import cli
from compliance.cli.localize import option_key
from compliance.text import catalogue

from .conftest import ROOT
from .language_check import foreign


def _commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand, found from the click group itself."""
    ctx = click.Context(group)
    found = [path]
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


COMMANDS = _commands()


def test_the_walk_finds_every_command():
    names = {" ".join(c) for c in COMMANDS}
    assert {"", "batch", "score", "serve", "team set-level", "users add", "pipedrive push", "script check"} <= names
    assert len(COMMANDS) >= 30


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "compliance")
def test_every_help_speaks_one_language(command, lang):
    result = CliRunner().invoke(cli, ["--lang", lang, *command, "--help"], prog_name="compliance")
    assert result.exit_code == 0, result.output
    assert foreign(result.output, lang) == [], result.output
    heading = "Использование:" if lang == "ru" else "Usage:"
    assert result.output.startswith(heading)


def _keys(command: click.Command, key: str):
    yield f"{key}.help"
    for param in command.params:
        if isinstance(param, click.Option) and param.name:
            yield option_key(key, param.name)
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _keys(sub, f"{key}.{name}")


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_command_and_option_has_its_text(lang):
    missing = [k for k in _keys(cli, "cli") if not catalogue.has(k, lang)]
    assert missing == []


def _catalog(lang: str):
    with catalogue.po_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


def _fields(text: str) -> set[str]:
    """The placeholders of a text; ``{side_ru}`` / ``{side_en}`` are one field said in each language."""
    found = set(re.findall(r"\{(\w*)[^{}]*\}", text)) | set(re.findall(r"%\((\w+)\)s", text))
    return {re.sub(r"_(ru|en)$", "", name) for name in found}


def _texts(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def test_both_languages_have_the_same_keys_and_placeholders():
    ru, en = _catalog("ru"), _catalog("en")
    ids = {lang: {m.id if isinstance(m.id, str) else m.id[0] for m in cat if m.id} for lang, cat in (("ru", ru), ("en", en))}
    assert ids["ru"] == ids["en"]
    for message in ru:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        other = en[message.id]
        assert all(_texts(message)), f"no Russian text for {source!r}"
        click_own = _texts(other)[0] == source   # click's English words: msgid = the English text
        if isinstance(message.id, tuple):        # plural forms: each uses some of the fields of all
            wanted = set().union(*map(_fields, message.id if click_own else _texts(other)))
            assert all(_fields(text) <= wanted for text in _texts(message)), (source, _texts(message))
            continue
        wanted = _fields(source if click_own else _texts(other)[0])
        assert all(_fields(text) == wanted for text in _texts(message)), (source, _texts(message))


def test_every_msgid_is_one_kind_of_text():
    """The command line's keys (cli.…), the reports' (dotted), the engine's messages (snake_case codes), click's
    own English words: the readers of the catalogue tell them apart by their form."""
    from compliance.messages import TEXTS
    from compliance.reports.i18n import CATALOGUE

    cli_keys = {k for k in catalogue.keys("ru") if k.startswith("cli.")}
    reports, codes = set(CATALOGUE["ru"]), set(TEXTS["ru"])
    assert len(reports) > 250 and len(codes) > 60 and len(cli_keys) > 300
    assert not (reports & codes) and not (reports & cli_keys) and not (codes & cli_keys)
    assert set(CATALOGUE["en"]) == reports and set(TEXTS["en"]) == codes


def test_plural_forms_follow_each_language():
    assert catalogue.plural("cli.export.rows", 1, "ru", output="x.csv") == "1 строка → x.csv"
    assert catalogue.plural("cli.export.rows", 3, "ru", output="x.csv") == "3 строки → x.csv"
    assert catalogue.plural("cli.export.rows", 5, "ru", output="x.csv") == "5 строк → x.csv"
    assert catalogue.plural("cli.export.rows", 21, "ru", output="x.csv") == "21 строка → x.csv"
    assert catalogue.plural("cli.export.rows", 1, "en", output="x.csv") == "1 row → x.csv"
    assert catalogue.plural("cli.export.rows", 3, "en", output="x.csv") == "3 rows → x.csv"


def test_the_language_comes_from_the_option_then_the_environment():
    choose = catalogue.choose_language
    assert choose([], {}) == "ru"
    assert choose([], {"COMPLIANCE_LANG": "en"}) == "en"
    assert choose(["--lang", "ru"], {"COMPLIANCE_LANG": "en"}) == "ru"
    assert choose(["report", "--lang=en"], {}) == "en"
    assert choose(["score", "--", "--lang", "en"], {}) == "ru"
    assert choose([], {"COMPLIANCE_LANG": "de"}) == "ru"


def test_errors_and_usage_errors_follow_the_language(tmp_path):
    runner = CliRunner()
    missing = tmp_path / "none.db"
    ru = runner.invoke(cli, ["daily", "ivanova", "--db", str(missing)])
    assert ru.exit_code == 1
    assert "Ошибка:" in ru.output and "истории ещё нет" in ru.output
    en = runner.invoke(cli, ["daily", "ivanova", "--db", str(missing)], env={"COMPLIANCE_LANG": "en"})
    assert "Error:" in en.output and "no history yet" in en.output and foreign(en.output, "en") == []
    bad = runner.invoke(cli, ["--lang", "en", "export", "--since", "2026-11-30", "--until", "2026-11-01"])
    assert bad.exit_code == 2 and "--since 2026-11-30 is after --until 2026-11-01" in bad.output
    typo = runner.invoke(cli, ["report", "--sinse", "x"])
    assert typo.exit_code == 2 and "Нет такого параметра" in typo.output and "Использование:" in typo.output
    day = runner.invoke(cli, ["--lang", "en", "daily", "x", "--date", "someday"])
    assert day.exit_code == 2 and "is not a day" in day.output and foreign(day.output, "en") == []


def test_score_prints_a_call_in_the_language_of_the_run():
    call = str(ROOT / "samples" / "day" / "2026-11-27_11-05-40_sidorova_380671112233.txt")
    ru = CliRunner().invoke(cli, ["score", call])
    en = CliRunner().invoke(cli, ["score", call], env={"COMPLIANCE_LANG": "en"})
    assert ru.exit_code == en.exit_code == 0, ru.output + en.output
    assert "Соответствие скрипту" in ru.output and "Script adherence" in en.output
    assert "Соответствие" not in en.output and "коридор" not in en.output and "уровень" not in en.output


def test_the_installed_command_starts_in_english_from_the_environment():
    """The real entry point, as a user runs it: the language is chosen before click renders the help."""
    env = {**os.environ, "COMPLIANCE_LANG": "en"}
    run = subprocess.run([sys.executable, "-c", "from compliance.cli import main; main()", "users", "--help"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Usage:") and foreign(run.stdout, "en") == []


def test_the_compiled_catalogue_is_cached_and_a_read_only_cache_still_works(tmp_path, monkeypatch):
    catalogue.translations.cache_clear()
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))
    try:
        assert catalogue.text("cli.opt.db", "en") == "History database (SQLite)."
        compiled = list((tmp_path / "cache" / "locale").glob("compliance-en-*.mo"))
        assert len(compiled) == 1 and not list((tmp_path / "cache" / "locale").glob(".*.tmp"))
        catalogue.translations.cache_clear()
        blocked = tmp_path / "a-file"
        blocked.write_text("not a folder", encoding="utf-8")
        monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(blocked))   # the cache cannot be written: compiled in memory
        assert catalogue.text("cli.opt.db", "ru") == "База истории (SQLite)."
    finally:
        catalogue.translations.cache_clear()


def test_the_daily_report_is_written_in_the_run_language():
    from compliance.history.daily import DailyReport

    report = DailyReport(manager="ivanova", date="2026-11-27", calls=40, connected=35, sales_sum=45000, sales_count=3)
    assert "✅Сумма продаж – 45\u00a0000 грн" in report.text("ru") and "План на завтра:" in report.text("ru")
    english = report.text("en")
    assert "✅Sales – 45,000 UAH" in english and "✅Connected calls – 35" in english
    assert foreign(english, "en") == []
