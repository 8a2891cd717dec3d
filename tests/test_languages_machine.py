"""Russian first for what other programs say and for texts no command line reaches (issue 23): SQLite's, FFmpeg's,
Pipedrive's and the HTTP client's own English words become a sentence of the catalogue in the run's language (the
raw words only quoted after it); the PBX webhook answers in the app's language with stable machine fields; the
engine's errors a library user meets (an unknown export format or period) are catalogue texts too."""
from __future__ import annotations

import datetime as dt
import re
import socket
import sqlite3
from types import SimpleNamespace

import httpx
import pytest
from starlette.testclient import TestClient

from compliance.crm.pipedrive import PipedriveClient
from compliance.history.daily import render_table
from compliance.history.periods import period_of
from compliance.history.readiness import assess_readiness
from compliance.scoring.score import choose_script
from compliance.scoring.transcript import Transcript
from compliance.speech.decode import decode_audio
from compliance.text import catalogue
from compliance.text.third_party import ffmpeg_reason, http_reason, sqlite_reason, transport_reason
from compliance.web.app import create_app

from .fake_pipedrive import FakePipedrive
from .language_check import CYRILLIC, foreign

LANGS = ("ru", "en")


def _in(lang: str, make):
    with catalogue.speaking(lang):
        try:
            return str(make())
        except Exception as exc:   # the error's own text, as the command line would show it
            return str(exc)


# -- SQLite, FFmpeg and the HTTP client, for real -------------------------------------------------------------

def _locked(tmp_path) -> sqlite3.OperationalError:
    db = tmp_path / "busy.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError) as err:
            sqlite3.connect(db, timeout=0).execute("SELECT * FROM t")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    return err.value


def _not_a_database(tmp_path) -> sqlite3.DatabaseError:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"these are not the pages of a database " * 200)
    with pytest.raises(sqlite3.DatabaseError) as err:
        sqlite3.connect(junk).execute("SELECT * FROM sqlite_master")
    return err.value


def _refused_connection() -> httpx.TransportError:
    with socket.socket() as sock:          # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(httpx.TransportError) as err:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    return err.value


@pytest.mark.parametrize("lang", LANGS)
def test_sqlite_words_become_a_sentence_of_the_catalogue(tmp_path, lang):
    locked, damaged = _locked(tmp_path), _not_a_database(tmp_path)
    assert "locked" in str(locked) and "not a database" in str(damaged)      # SQLite's own words
    assert _in(lang, lambda: sqlite_reason(locked)) == catalogue.text("why.sqlite.locked", lang)
    assert _in(lang, lambda: sqlite_reason(damaged)) == catalogue.text("why.sqlite.damaged", lang)
    assert _in(lang, lambda: sqlite_reason(sqlite3.OperationalError("disk I/O error"))) == \
        catalogue.text("why.sqlite.io", lang)
    unknown = _in(lang, lambda: sqlite_reason(sqlite3.OperationalError("too many SQL variables")))
    assert unknown == catalogue.text("why.unknown", lang, source="SQLite", words="too many SQL variables")
    assert unknown.index("SQLite") < unknown.index("too many")               # our sentence first, their words after
    assert foreign(unknown, lang) == []


@pytest.mark.parametrize("lang", LANGS)
def test_ffmpeg_words_become_a_sentence_of_the_catalogue(tmp_path, lang):
    import av

    text = tmp_path / "notes.mp3"
    text.write_text("М: Добрый день!\n" * 50, encoding="utf-8")
    with pytest.raises(av.error.FFmpegError) as invalid:
        av.open(str(text))
    with pytest.raises(av.error.FFmpegError) as missing:
        av.open(str(tmp_path / "nope.ogg"))
    assert _in(lang, lambda: ffmpeg_reason(invalid.value)) == catalogue.text("err.audio.invalid", lang)
    assert _in(lang, lambda: ffmpeg_reason(missing.value)) == catalogue.text("why.ffmpeg.missing", lang)
    odd = _in(lang, lambda: ffmpeg_reason("Error number -1234 occurred"))
    assert odd == catalogue.text("why.unknown", lang, source="FFmpeg", words="Error number -1234 occurred")
    said = _in(lang, lambda: decode_audio(text))       # the whole error a user sees
    assert catalogue.text("err.audio.invalid", lang) in said and "Invalid data" not in said
    assert foreign(said, lang, [str(text)]) == []


@pytest.mark.parametrize("lang", LANGS)
def test_a_refused_connection_is_said_in_the_run_language(lang):
    said = _in(lang, lambda: transport_reason(_refused_connection()))
    assert said.startswith(catalogue.text("why.net.connect", lang))
    assert foreign(said, lang) == [], said
    assert _in(lang, lambda: transport_reason(httpx.ReadTimeout(""))) == catalogue.text("why.net.read_timeout", lang)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 502, 503, 418])
def test_http_statuses_are_sentences_with_the_server_words_after_them(status, lang):
    said = _in(lang, lambda: http_reason(status, "Pipedrive", "Deal not found"))
    key = {401: "why.http.401", 403: "why.http.403", 404: "why.http.404", 429: "why.http.429", 400: "why.http.400",
           418: "why.http.other"}.get(status, "why.http.5xx")
    assert said.startswith(catalogue.text(key, lang, status=status))
    assert said.endswith("Pipedrive: «Deal not found»" if lang == "ru" else "Pipedrive: “Deal not found”")
    assert foreign(said, lang) == [], said
    assert _in(lang, lambda: http_reason(status, "Pipedrive", "—")) == catalogue.text(key, lang, status=status)


@pytest.mark.parametrize("lang", LANGS)
def test_pipedrive_404_and_403_read_as_our_sentence_then_pipedrive_words(lang):
    fake = FakePipedrive("tok").start()
    try:
        with PipedriveClient(fake.url, "tok", sleep=lambda s: None) as client:
            fake.state.fail_next = [404]
            missing = _in(lang, lambda: client.get("/deals/77"))
            fake.state.fail_next = [403]
            denied = _in(lang, lambda: client.post("/callLogs", {"outcome": "connected"}))
    finally:
        fake.stop()
    assert catalogue.text("why.http.404", lang) in missing and "(404)" in missing
    assert ("«Internal server error»" if lang == "ru" else "“Internal server error”") in missing   # the fake's words
    assert ("«You do not have permission»" if lang == "ru" else "“You do not have permission”") in denied
    for said in (missing, denied):
        assert foreign(said, lang, [fake.url]) == [], said


# -- the PBX webhook's answers ----------------------------------------------------------------------------------

TOKEN = "hook-token-5521-abc"
PROTOCOL = ["apiCallCompleted", "callDetails", "generalCallID", "startTime", "Signature"]   # the vendors' names


def _hook_answers(tmp_path, monkeypatch, lang: str) -> dict[str, tuple[int, dict]]:
    monkeypatch.setenv("BINOTEL_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.setenv("ZADARMA_API_SECRET", "zd-secret")
    client = TestClient(create_app(tmp_path / f"h-{lang}.db", secret="s", lang=lang))
    asks = {
        "wrong_token": lambda: client.post("/pbx/binotel/nope", json={"requestType": "apiCallCompleted"}),
        "no_call_details": lambda: client.post(f"/pbx/binotel/{TOKEN}", json={"requestType": "apiCallCompleted"}),
        "not_json": lambda: client.post(f"/pbx/binotel/{TOKEN}", content=b"{oops",
                                        headers={"content-type": "application/json"}),
        "not_json_object": lambda: client.post(f"/pbx/binotel/{TOKEN}", json=[1, 2]),
        "too_large": lambda: client.post(f"/pbx/binotel/{TOKEN}", content=b"{" * 70000,
                                         headers={"content-type": "application/json"}),
        "wrong_signature": lambda: client.post("/pbx/zadarma", data={"event": "NOTIFY_END"}),
    }
    answers = {}
    for code, ask in asks.items():
        res = ask()
        answers[code] = (res.status_code, res.json())
    return answers


def test_the_webhook_answers_in_the_app_language_with_stable_fields(tmp_path, monkeypatch):
    ru, en = (_hook_answers(tmp_path, monkeypatch, lang) for lang in LANGS)
    assert ru.keys() == en.keys()
    for code in ru:
        (ru_status, ru_body), (en_status, en_body) = ru[code], en[code]
        assert ru_status == en_status and ru_status in (400, 403, 413)
        assert ru_body["status"] == en_body["status"] == "error"
        assert ru_body["code"] == en_body["code"] == code                  # the machine field does not move
        assert CYRILLIC.search(ru_body["message"]) and foreign(ru_body["message"], "ru", PROTOCOL) == [], ru_body
        assert not CYRILLIC.search(en_body["message"]) and foreign(en_body["message"], "en", PROTOCOL) == [], en_body
        assert ru_body["message"] != en_body["message"]


def test_a_webhook_that_is_off_says_so_in_the_app_language(tmp_path, monkeypatch):
    monkeypatch.delenv("BINOTEL_WEBHOOK_TOKEN", raising=False)
    monkeypatch.delenv("ZADARMA_API_SECRET", raising=False)
    for lang in LANGS:
        client = TestClient(create_app(tmp_path / f"off-{lang}.db", secret="s", lang=lang))
        res = client.post("/pbx/binotel/x", json={})
        assert res.status_code == 404 and res.json()["code"] == "webhook_off"
        assert res.json()["message"] == catalogue.text("err.hook.binotel_off", lang, env="BINOTEL_WEBHOOK_TOKEN")
        echo = client.get("/pbx/zadarma", params={"zd_echo": "x"})
        assert echo.status_code == 404 and echo.text == catalogue.text("err.hook.no_echo", lang)


# -- errors only a library user meets -------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_engine_only_errors_are_catalogue_texts(lang):
    said = {
        "export": _in(lang, lambda: render_table([], "xml", ["file"])),
        "period": _in(lang, lambda: period_of(dt.date(2026, 11, 27), "year")),
        "scripts": _in(lang, lambda: choose_script(Transcript(segments=[]), [])),
        "readiness": _in(lang, lambda: assess_readiness([SimpleNamespace(manager="ivanova"),
                                                         SimpleNamespace(manager="petrov")], "newcomer")),
    }
    assert said["export"] == catalogue.text("err.export.format", lang, fmt="'xml'", known="csv, json")
    assert said["period"] == catalogue.text("err.period.unknown", lang, by="'year'", known="day, week, month")
    assert said["scripts"] == catalogue.text("err.score.no_scripts", lang)
    assert said["readiness"] == catalogue.text("err.readiness.one_manager", lang, managers="ivanova, petrov")
    for text in said.values():
        assert foreign(text, lang, ["ivanova", "petrov", "'xml'", "'year'"]) == [], text


# -- PyYAML's words, for a file a lead writes by hand -----------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("layout, key", [
    ("managers:\n  ivanova: level: newcomer\n", "why.yaml.colon"),
    ("managers:\n\tivanova: {level: newcomer}\n", "why.yaml.tab"),
    ("managers:\n  ivanova: {name: 'Иванова}\n", "why.yaml.quote"),
    ("managers: [\n", "why.yaml.bracket"),
])
def test_a_broken_team_file_says_what_to_fix_in_the_run_language(tmp_path, layout, key, lang):
    from click.testing import CliRunner

    from compliance.cli import cli

    team = tmp_path / "team.yaml"
    team.write_text(layout, encoding="utf-8")
    run = CliRunner().invoke(cli, ["--lang", lang, "team", "list", "--team", str(team)])
    assert run.exit_code == 1, run.output
    assert catalogue.text(key, lang) in run.output, run.output
    assert foreign(run.output, lang, [str(team)]) == [], run.output


# -- the developers' docstrings stay out of the help ------------------------------------------------------------

def _docstrings() -> list[tuple[tuple[str, ...], str]]:
    import click

    from compliance.cli import cli

    found = []

    def walk(group: click.Group, path: tuple[str, ...]) -> None:
        for name, command in group.commands.items():
            doc = (command.callback.__doc__ if command.callback else None) or ""
            found.append(((*path, name), doc))
            if isinstance(command, click.Group):
                walk(command, (*path, name))

    walk(cli, ())
    return found


def _phrases(doc: str) -> set[str]:
    """Runs of five words of a docstring's prose: what would show if the docstring leaked into the help."""
    prose = "\n".join(line for line in doc.splitlines() if "compliance " not in line)   # not the example lines
    prose = re.sub(r"\S*\.\w+|\b[A-Z]\w*", " ", prose)     # file names, names and brands: the same in Russian
    words = re.findall(r"[a-z][a-z']+", prose)
    return {" ".join(words[i:i + 5]).lower() for i in range(len(words) - 4)}


def test_no_help_shows_the_developers_docstring_in_russian():
    from click.testing import CliRunner

    from compliance.cli import cli

    documented = [(path, doc) for path, doc in _docstrings() if len(_phrases(doc)) > 3]
    assert len(documented) >= 20       # the commands keep an English docstring beside their catalogue help
    for path, doc in documented:
        shown = CliRunner().invoke(cli, ["--lang", "ru", *path, "--help"], prog_name="compliance")
        assert shown.exit_code == 0, shown.output
        prose = " ".join(re.findall(r"[A-Za-z][A-Za-z']+", shown.output)).lower()
        leaked = sorted(p for p in _phrases(doc) if p in prose)
        assert leaked == [], (path, leaked[:3])


@pytest.mark.parametrize("lang", LANGS)
def test_a_fault_of_ours_in_a_batch_is_said_as_one_in_the_run_language(tmp_path, monkeypatch, lang):
    import shutil

    from click.testing import CliRunner

    from compliance.batch import workers
    from compliance.cli import cli

    from .conftest import ROOT

    def broken(*args, **kwargs):
        return "М: добрый день"[40]    # the kind of slip a bug makes

    monkeypatch.setattr(workers, "analyse_file", broken)
    folder = tmp_path / "day"
    folder.mkdir()
    shutil.copy(ROOT / "samples" / "day" / "2026-11-27_11-05-40_sidorova_380671112233.txt", folder)
    run = CliRunner().invoke(cli, ["--lang", lang, "batch", str(folder), "--db", str(tmp_path / "h.db"),
                                   "--workers", "1"])
    assert run.exit_code == 3, run.output
    said = catalogue.text("why.internal", lang, what="IndexError: string index out of range")
    assert said in run.output, run.output
    assert foreign(run.output, lang, [str(folder), str(tmp_path / "h.db"), "sidorova"]) == [], run.output


@pytest.mark.parametrize("lang", LANGS)
def test_a_transcript_without_prefixes_is_noted_once_in_the_run_language(tmp_path, lang):
    from click.testing import CliRunner

    from compliance.cli import cli

    plain = tmp_path / "plain.txt"
    plain.write_text("Добрый день, меня зовут Ольга\nДа, слушаю вас\n", encoding="utf-8")
    run = CliRunner().invoke(cli, ["--lang", lang, "score", str(plain)])
    assert run.exit_code == 0, run.output
    notes = [line for line in run.output.splitlines() if "«М:»" in line]
    assert notes == [catalogue.text("cli.result.note", lang, note=catalogue.text("no_prefixes", lang))], run.output
    assert foreign(run.output, lang, [str(plain), "plain.txt"]) == [], run.output


@pytest.mark.parametrize("lang", LANGS)
def test_a_batch_with_nothing_to_report_says_so_in_the_run_language(tmp_path, lang):
    from click.testing import CliRunner

    from compliance.cli import cli

    (tmp_path / "empty").mkdir()
    run = CliRunner().invoke(cli, ["--lang", lang, "batch", str(tmp_path / "empty"), "--db", str(tmp_path / "h.db"),
                                   "--out", str(tmp_path / "out")])
    assert catalogue.text("err.batch.no_calls_for_reports", lang) in run.output, run.output
    assert foreign(run.output, lang, [str(tmp_path)]) == [], run.output


def test_usage_placeholders_speak_the_run_language():
    """``[OPTIONS] FOLDER`` reads «[ПАРАМЕТРЫ] ПАПКА» in Russian, and again ``[OPTIONS] FOLDER`` in an English run
    after it in the same process (the placeholders click derives are kept)."""
    from click.testing import CliRunner

    from compliance.cli import cli

    from .test_languages import COMMANDS

    runner = CliRunner()
    for lang, want in (("ru", "Использование: compliance batch [ПАРАМЕТРЫ] ПАПКА"),
                       ("en", "Usage: compliance batch [OPTIONS] FOLDER"),
                       ("ru", "Использование: compliance batch [ПАРАМЕТРЫ] ПАПКА")):
        run = runner.invoke(cli, ["--lang", lang, "batch", "--help"], prog_name="compliance")
        assert run.output.splitlines()[0] == want
        assert ("--out ПАПКА" if lang == "ru" else "--out DIRECTORY") in run.output
    latin_placeholder = re.compile(r"(?<![\w/.:-])[A-Z][A-Z_]{2,}\b")
    for command in COMMANDS:
        run = runner.invoke(cli, ["--lang", "ru", *command, "--help"], prog_name="compliance")
        usage, _, rest = run.output.partition("\n")
        options = [line.split()[1] for line in rest.splitlines()
                   if line.startswith("  -") and len(line.split()) > 1 and not line.split()[1][0].islower()]
        shown = usage.replace(" ".join(("compliance", *command)), "") + " " + " ".join(options)
        assert latin_placeholder.findall(shown) == [], (command, shown)
    run = runner.invoke(cli, ["--lang", "ru", "batch"], prog_name="compliance")
    assert "'ПАПКА'" in run.output and run.exit_code == 2


@pytest.mark.parametrize("lang", LANGS)
def test_the_system_words_the_catalogue_does_not_know_are_quoted_after_ours(tmp_path, lang):
    import errno
    import resource

    from compliance.text.os_errors import os_reason

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    try:
        with pytest.raises(OSError) as err:
            for i in range(128):
                held.append(open(tmp_path / f"f{i}", "w"))   # a real «Too many open files»
    finally:
        for fh in held:
            fh.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert err.value.errno == errno.EMFILE
    said = _in(lang, lambda: os_reason(err.value))
    assert said == catalogue.text("why.system", lang, words=err.value.strerror)
    assert foreign(said, lang) == []
    assert _in(lang, lambda: os_reason(OSError(errno.ENOSPC, "No space left on device"))) == \
        catalogue.text("err.os.enospc", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_database_fault_that_is_no_lock_is_said_as_what_it_is(tmp_path, monkeypatch, lang):
    """A disk I/O error is not «the database is busy»: the page says SQLite's trouble in the app's language."""
    from compliance.web.context import Review

    def failing(self):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setenv("BINOTEL_WEBHOOK_TOKEN", TOKEN)
    client = TestClient(create_app(tmp_path / "h.db", secret="s", lang=lang))
    monkeypatch.setattr(Review, "store", failing)
    notice = {"requestType": "apiCallCompleted", "callDetails": {"generalCallID": "9", "startTime": "1795000000"}}
    res = client.post(f"/pbx/binotel/{TOKEN}", json=notice)
    assert res.status_code == 503
    with catalogue.speaking(lang):
        io_sentence = catalogue.text("why.sqlite.io", lang)
    assert io_sentence.split(" (")[0] in res.text and "disk I/O" not in res.text
    assert catalogue.text("web.busy", lang) not in res.text


@pytest.mark.parametrize("lang", LANGS)
def test_python_regex_and_yaml_words_follow_our_sentence(tmp_path, lang, default_script):
    from compliance.history.attribution import compile_patterns
    from compliance.scoring.examples import examples_path, merge_examples

    said = _in(lang, lambda: compile_patterns([r"(?P<manager>["]))
    assert said.endswith("«unterminated character set at position 12»)" if lang == "ru"
                         else "“unterminated character set at position 12”)"), said
    script_file = tmp_path / "sales_call.yaml"
    examples_path(script_file).write_text("greeting:\n\t1: [Добрый день]\n", encoding="utf-8")
    with catalogue.speaking(lang):
        _, problems = merge_examples(default_script, script_file)
        shown = [str(p.message) for p in problems]
    assert len(shown) == 1 and catalogue.text("why.yaml.tab", lang) in shown[0], shown
