"""The command line: exit codes, exact error lines, JSON Lines, and --help for every command."""
from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from compliance.cli import cli

from .test_match import FULL, PAD


@pytest.fixture
def calls(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(FULL, encoding="utf-8")
    short = tmp_path / "short.txt"
    short.write_text("М: Добрый день!\nК: Не интересно.\n", encoding="utf-8")
    partial = tmp_path / "partial.txt"
    partial.write_text("М: Добрый день, Анна! Вам удобно сейчас говорить?\nК: Да.\nМ: Не знаю, что вам предложить." + PAD,
                       encoding="utf-8")
    return good, short, partial


def test_score_table(calls):
    good, _, _ = calls
    result = CliRunner().invoke(cli, ["score", str(good), "--level", "newcomer"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "✓ greeting" in out and "Соответствие скрипту: 100.0 %" in out and "выше коридора" in out
    assert "← «Когда вы планируете оплату?»" in out            # the whole sentence, as said


def test_score_json_lines_with_file(calls):
    result = CliRunner().invoke(cli, ["score", *map(str, calls), "--json", "--level", "experienced"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["file"] for r in rows] == [str(p) for p in calls]
    good, short, partial = rows
    for key in ("adherence", "coverage", "level", "band", "verdict", "connected", "order_ok", "stages", "forbidden"):
        assert key in good
    assert good["band"] == [55, 60] and good["verdict"] == "above"
    assert set(good["stages"][0]) >= {"id", "score", "present", "lines"}
    assert set(good["stages"][0]["lines"][0]) >= {"text", "similarity", "matched", "start"}
    assert short["connected"] is False and short["not_connected_reason"]
    assert partial["forbidden"][0]["phrase"] == "не знаю" and partial["verdict"] == "below"


def test_score_missing_file_reports_and_continues(calls, tmp_path):
    good = calls[0]
    missing = tmp_path / "missing.txt"
    result = CliRunner().invoke(cli, ["score", str(missing), str(good), "--json"])
    assert result.exit_code == 1
    assert f"Ошибка: {missing}: нет такого файла; проверьте путь" in result.output
    assert json.loads(result.output.strip().splitlines()[-1])["file"] == str(good)


def test_score_bad_script_is_one_error_line(calls, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntitle: t\nstages: []\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["score", str(calls[0]), "--script", str(bad)])
    assert result.exit_code == 1
    assert result.output == f"Ошибка: ошибка в скрипте {bad}:3: stages: нужно не меньше 1 (элементов списка)\n"


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


def test_every_command_has_help_with_example():
    for path, command in _commands(cli):
        for lang, example in (("ru", "Пример:"), ("en", "Example:")):
            result = CliRunner().invoke(cli, ["--lang", lang, *path, "--help"])
            assert result.exit_code == 0, path
            if not isinstance(command, click.Group):
                assert example in result.output, f"{' '.join(path)} --help has no example ({lang})"


def test_root_shim_runs_from_checkout():
    result = subprocess.run([sys.executable, "cli.py", "--help"], capture_output=True, text=True,
                            cwd=__import__("pathlib").Path(__file__).resolve().parent.parent)
    assert result.returncode == 0 and "score" in result.stdout
