"""Script format: validation, problems located at YAML lines, schema, packaged default."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.cli import cli
from compliance.errors import ScriptError
from compliance.scoring.script import SalesScript
from compliance.scoring.script_file import check_script_file, load_script

MINIMAL = """\
id: demo
title: "Демо"
language: ru
stages:
  - id: greeting
    title: "Приветствие"
    lines:
      - "Добрый день, {client}!"
      - any: ["Вам удобно говорить?", "Есть минута?"]
forbidden: ["не знаю"]
"""


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_documented_format_is_valid_with_defaults(tmp_path):
    script = load_script(_write(tmp_path, MINIMAL))
    assert script.levels["newcomer"].min == 85 and script.levels["experienced"].max == 60
    stage = script.stages[0]
    assert stage.required is True and stage.weight == 1
    assert stage.alternatives() == [["Добрый день, {client}!"], ["Вам удобно говорить?", "Есть минута?"]]


def test_architecture_example_is_valid(tmp_path):
    example = """\
    id: sales_call
    title: "Холодный звонок: продажа услуги"
    language: ru
    levels:
      newcomer:    {min: 85, max: 90}
      experienced: {min: 55, max: 60}
    stages:
      - id: greeting
        title: "Приветствие и представление"
        required: true
        weight: 1
        lines:
          - "Добрый день, {client}! Меня зовут {manager}, компания «Смарт Мейкер»."
          - any: ["Вам удобно сейчас говорить?", "Есть пара минут?"]
    forbidden: ["не знаю", "как бы"]
    """
    assert load_script(_write(tmp_path, example)).id == "sales_call"


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    "edit, path, message, line",
    [
        (lambda t: t.replace("title: \"Демо\"", "title: \"Демо\"\ncolour: red"), "colour", "unknown key", 3),
        (lambda t: t.replace("      - \"Добрый день, {client}!\"", "      - \"  \""), "stages.0.lines.0", "empty line", 8),
        (lambda t: t.replace("    title: \"Приветствие\"", "    title: \"Приветствие\"\n    weight: 0"),
         "stages.0.weight", "greater than 0", 7),
        (lambda t: t + "levels:\n  newcomer: {min: 90, max: 80}\n", "levels.newcomer", "greater than max", 12),
        (lambda t: t.replace("    lines:\n      - \"Добрый день, {client}!\"\n      - any: [\"Вам удобно говорить?\", \"Есть минута?\"]\n",
                             "    lines: []\n"), "stages.0.lines", "at least 1 item", 7),
        (lambda t: t.replace("{client}", "{klient}"), "stages.0.lines.0", "unknown placeholder {klient}", 8),
        (lambda t: t.replace("    title: \"Приветствие\"", "    title: \"Приветствие\"\n    act: hello"),
         "stages.0.act", "Input should be 'greeting'", 7),
    ],
)
def test_problems_name_field_and_yaml_line(tmp_path, edit, path, message, line):
    _, problems = check_script_file(_write(tmp_path, edit(MINIMAL)))
    assert problems, "expected a problem"
    problem = problems[0]
    assert problem.path == path
    assert message in problem.message
    assert problem.line == line


@pytest.mark.usefixtures("english")
def test_duplicate_stage_ids(tmp_path):
    text = MINIMAL.replace("forbidden:", "  - id: greeting\n    lines: [\"Ещё\"]\nforbidden:")
    _, problems = check_script_file(_write(tmp_path, text))
    assert any("duplicate stage id 'greeting'" in p.message for p in problems)


@pytest.mark.usefixtures("english")
def test_invalid_yaml_and_missing_file(tmp_path):
    _, problems = check_script_file(_write(tmp_path, "id: [unclosed\n"))
    assert problems[0].message.startswith("invalid YAML") and problems[0].line
    _, problems = check_script_file(tmp_path / "nope.yaml")
    assert problems[0].message.startswith("no such file")


def test_load_script_raises_with_all_problems(tmp_path):
    bad = MINIMAL.replace("title: \"Демо\"", "title: \"Демо\"\nextra: 1").replace("{client}", "{x}")
    with pytest.raises(ScriptError) as err:
        load_script(_write(tmp_path, bad))
    assert len(err.value.problems) == 2


def test_cli_check_prints_one_line_per_problem_and_exits_1(tmp_path):
    good = _write(tmp_path, MINIMAL, "good.yaml")
    bad = _write(tmp_path, MINIMAL.replace("weight", "w").replace("title: \"Демо\"", "title: \"Демо\"\nfoo: 1"), "bad.yaml")
    result = CliRunner().invoke(cli, ["script", "check", str(good), str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"{good}: ok")
    assert lines[1] == f"{bad}:3: foo: неизвестный ключ 'foo'; проверьте написание"


def test_cli_check_default_script_ok():
    result = CliRunner().invoke(cli, ["script", "check"])
    assert result.exit_code == 0, result.output
    assert "sales_call" in result.output


def test_schema_is_json_schema_of_script():
    result = CliRunner().invoke(cli, ["script", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["type"] == "object"
    assert {"id", "title", "stages"} <= set(schema["required"])
    assert schema["additionalProperties"] is False


def test_default_script_encodes_company_algorithm(default_script: SalesScript):
    ids = [s.id for s in default_script.stages]
    assert ids.index("greeting") < ids.index("needs") < ids.index("offer") < ids.index("payment_timing") \
        < ids.index("next_step") < ids.index("farewell")
    stages = {s.id: s for s in default_script.stages}
    assert len(stages["needs"].lines) >= 2
    assert stages["cannot_deliver"].required is False
    assert set(stages["cannot_deliver"].excludes) == {"offer", "payment_timing", "next_step"}
    assert all(s.required for s in default_script.stages if s.id != "cannot_deliver")
    assert "не знаю" in default_script.forbidden_phrases()
    assert default_script.language == "ru"
    greeting = " ".join(a for alts in stages["greeting"].alternatives() for a in alts)
    assert "{manager}" in greeting and "{company}" in greeting and "удобно" in greeting


def test_content_hash_ignores_layout(tmp_path):
    a = load_script(_write(tmp_path, MINIMAL, "a.yaml"))
    b = load_script(_write(tmp_path, "# comment\n" + MINIMAL, "b.yaml"))
    c = load_script(_write(tmp_path, MINIMAL.replace("Есть минута?", "Есть две минуты?"), "c.yaml"))
    assert a.content_hash() == b.content_hash() != c.content_hash()
    assert isinstance(a, SalesScript)
