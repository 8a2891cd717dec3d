"""`compliance users add` and `compliance script check` as people use them (issue 22, point 8): the password asked
twice and hidden at a terminal, an existing account not overwritten without --reset, a manager account only for a
roster name, and the README's `script check scripts_yaml/*.yaml` with a team examples file beside the scripts."""
from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.cli import cli
from compliance.history.store import Store
from compliance.review.users import verify

from .conftest import ROOT

TEAM = "managers:\n  ivanova: {name: Иванова Мария, level: newcomer}\n  petrov: {name: Петров Олег}\n"


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "team.yaml").write_text(TEAM, encoding="utf-8")
    Store(tmp_path / "h.db").close()
    return tmp_path / "h.db"


def _add(db: Path, *args: str, password: str | None = "a long password 1"):
    stdin = None if password is None else password + "\n"
    return CliRunner().invoke(cli, ["users", "add", *args, "--db", str(db)], input=stdin)


def test_re_adding_an_account_is_refused_without_reset(db):
    assert _add(db, "lead", "--role", "lead", "--password-stdin").exit_code == 0
    again = _add(db, "lead", "--role", "manager", "--manager", "ivanova", "--password-stdin", password="taken over!!")
    assert again.exit_code == 1
    assert again.output.strip().splitlines() == [
        "Ошибка: lead: такая учётная запись уже есть; добавьте --reset, чтобы задать новый пароль и роль"]
    with Store(db) as store:
        assert verify(store, "lead", "a long password 1") is not None and verify(store, "lead", "taken over!!") is None
    reset = _add(db, "lead", "--role", "lead", "--password-stdin", "--reset", password="a new password 2")
    assert reset.exit_code == 0, reset.output
    with Store(db) as store:
        assert verify(store, "lead", "a new password 2") is not None


def test_a_manager_account_needs_a_roster_name(db):
    res = _add(db, "nobody", "--role", "manager", "--manager", "nobody", "--password-stdin")
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        "Ошибка: --manager 'nobody': в team.yaml нет такого менеджера (есть: ivanova, petrov)"]
    assert _add(db, "ivanova", "--role", "manager", "--manager", "Ivanova", "--password-stdin").exit_code == 0
    (db.parent / "team.yaml").unlink()
    res = _add(db, "petrov", "--role", "manager", "--manager", "petrov", "--password-stdin")
    assert res.exit_code == 1 and "в истории нет звонков такого менеджера, а состава команды нет" in res.output


def test_without_password_stdin_and_no_terminal_says_how(db):
    res = _add(db, "lead", "--role", "lead", password="")
    assert res.exit_code == 2
    assert "нет терминала, чтобы спросить пароль: передайте его через --password-stdin" in res.output


def test_at_a_terminal_the_password_is_asked_twice_and_hidden(db):
    """A real terminal (a pseudo-terminal): the prompts come, nothing typed is echoed, a mismatch asks again."""
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", "from compliance.cli import cli; cli()", "users", "add",
                             "lead", "--role", "lead", "--db", str(db)], stdin=child, stdout=child, stderr=child, start_new_session=True,
                            cwd=db.parent, env={**os.environ, "PYTHONPATH": str(ROOT), "COMPLIANCE_LANG": "en"})
    os.close(child)
    seen = b""
    try:
        for n, typed in enumerate((b"first secret 1", b"other secret 2", b"a long password 1", b"a long password 1")):
            seen = _read_until(main, seen, lambda got, n=n: got.count(b"Password: ") + got.count(b"confirmation: ") > n)
            os.write(main, typed + b"\n")
        seen = _read_until(main, seen, lambda got: b"lead: lead" in got)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)
    text = seen.decode("utf-8", "replace")
    assert text.count("Password") >= 2 and "secret" not in text and "a long password" not in text
    with Store(db) as store:
        assert verify(store, "lead", "a long password 1") is not None


def _read_until(fd: int, got: bytes, done, timeout: float = 30.0) -> bytes:
    end = time.monotonic() + timeout
    while not done(got) and time.monotonic() < end:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                got += os.read(fd, 1024)
            except OSError:
                break
    assert done(got), got
    return got


def test_readme_script_check_with_a_team_examples_file(tmp_path, monkeypatch):
    folder = tmp_path / "scripts_yaml"
    shutil.copytree(ROOT / "scripts_yaml", folder)
    (folder / "sales_call.ru.examples.yaml").write_text(
        "greeting:\n  1:\n    - Доброго дня, это Мария из Смарт Мейкер\n", encoding="utf-8")
    files = sorted(str(p) for p in folder.glob("*.yaml"))
    res = CliRunner().invoke(cli, ["script", "check", *files])
    assert res.exit_code == 0, res.output
    assert f"{folder / 'sales_call.ru.examples.yaml'}: ok (примеры команды для sales_call.ru.yaml: 1 фраза)" \
        in res.output
    (folder / "sales_call.ru.examples.yaml").write_text("greeting:\n  9: [Добрый день]\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["script", "check", *files])
    assert res.exit_code == 1 and "greeting.9: в этапе 'greeting' нет строки 9" in res.output
    assert res.output.count("greeting.9") == 1                            # once, not with the script and alone
    (folder / "sales_call.ru.yaml").unlink()
    res = CliRunner().invoke(cli, ["script", "check", str(folder / "sales_call.ru.examples.yaml")])
    assert res.exit_code == 1 and "рядом с этими примерами команды нет скрипта sales_call.ru.yaml" in res.output
