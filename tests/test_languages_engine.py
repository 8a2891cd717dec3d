"""Russian first for what the engine says (issue 23): the errors raised deep in the engine (roster, history,
Pipedrive, audio, sources, chats, scripts) and the web app's refusals speak the run's language, with no text of
the other; a band is shown with the one sentence that explains it, from the one home the pages take it from."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from compliance.cli import cli
from compliance.crm.note import render_note
from compliance.scoring.band import band_why_key
from compliance.scoring.result import CallRecord
from compliance.scoring.score import score_call
from compliance.scoring.transcript import load_transcript
from compliance.text import catalogue
from compliance.web.app import create_app

from .conftest import FIXTURES, ROOT
from .fake_pipedrive import FakePipedrive
from .language_check import CYRILLIC, foreign, visible_text

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FIELD = "managers.ivanova.level"
STAGES = ("greeting", "needs", "offer", "payment_timing", "next_step", "cannot_deliver", "farewell")

CALL = ROOT / "samples" / "day" / "2026-11-27_11-05-40_sidorova_380671112233.txt"


# -- the band's sentence -------------------------------------------------------------------------------------

def test_the_band_sentence_has_one_home():
    assert band_why_key("call", "newcomer") == "band.why.call.newcomer"
    assert band_why_key("chat", "experienced") == "band.why.chat.experienced"
    assert band_why_key("call", "trainee") is None   # a script's own level: no sentence rather than a wrong one


def test_the_result_line_explains_its_band_in_the_run_language():
    for lang, level in (("ru", "newcomer"), ("en", "newcomer"), ("ru", "experienced"), ("en", "experienced")):
        run = CliRunner().invoke(cli, ["--lang", lang, "score", str(CALL), "--level", level])
        assert run.exit_code == 0, run.output
        sentence = catalogue.text(f"band.why.call.{level}", lang)
        lines = run.output.splitlines()
        summary = next(i for i, line in enumerate(lines) if "85–90 %" in line or "55–60 %" in line)
        assert lines[summary + 1].strip() == sentence, lines[summary:]
    chat = CliRunner().invoke(cli, ["score", str(FIXTURES / "chats" / "telegram_single.json")])
    assert chat.exit_code == 0, chat.output
    assert catalogue.text("band.why.chat.newcomer", "ru") in chat.output


def test_the_pipedrive_note_explains_its_band(default_script):
    transcript = load_transcript(CALL)
    for level in ("newcomer", "experienced"):
        record = CallRecord(call_id="c1", file=str(CALL), manager="sidorova", date="2026-11-27", time="11:05:40",
                            result=score_call(transcript, default_script, level), transcript=transcript)
        for lang in ("ru", "en"):
            note = render_note(record, lang)
            sentence = catalogue.text(f"band.why.call.{level}", lang).replace("'", "&#x27;")
            assert f"<p><i>{sentence}</i></p>" in note


# -- the engine's errors, in the language of the run ----------------------------------------------------------

def _error_cases(tmp: Path, fake_url: str) -> dict[str, tuple[list[str], list[str]]]:
    """Each case: a command that fails deep in the engine, and what it may show as it is (paths, server words)."""
    team = tmp / "team.yaml"
    team.write_text("managers:\n  ivanova: {level: expert, pbx_extensions: [101]}\n", encoding="utf-8")
    keys = tmp / "keys.yaml"
    keys.write_text("managers:\n  ivanova: {levl: newcomer}\n", encoding="utf-8")
    ranges = tmp / "ranges.yaml"
    ranges.write_text("targets:\n  connected_per_day: {min: 40, max: 30}\n", encoding="utf-8")
    script = tmp / "script.yaml"
    script.write_text("id: x\ntitle: y\nstages:\n  - id: a\n    title: A\n    lines: [\"Привет, {clint}\"]\n"
                      "    wieght: 2\nforbidden:\n  - {phrase: как бы, severity: huge}\n", encoding="utf-8")
    broken = tmp / "broken.mp3"
    broken.write_bytes(b"ID3 not really an mp3")
    empty = tmp / "empty.ogg"
    empty.write_bytes(b"")
    database = tmp / "history.db"
    database.write_bytes(b"this is not sqlite " * 200)
    binary = tmp / "call.txt"
    binary.write_bytes(b"\x00\x01\x02 binary " * 50)
    as_json = tmp / "call.json"
    as_json.write_text('{"segments": [{"start": "soon", "text": "Добрый день"}]}', encoding="utf-8")
    token = tmp / "token.txt"
    token.write_text("", encoding="utf-8")
    (tmp / "pbx-team.yaml").write_text("managers:\n  ivanova: {pbx_extensions: [101]}\n", encoding="utf-8")
    out = tmp / "out"
    out.mkdir()
    (out / "mine.txt").write_text("not a report", encoding="utf-8")
    return {
        "roster: a bad level": (["team", "list", "--team", str(team)], [str(team), FIELD, "newcomer", "experienced"]),
        "roster: an unknown key": (["team", "list", "--team", str(keys)], [str(keys), "managers.ivanova.levl", "levl"]),
        "roster: min above max": (["team", "list", "--team", str(ranges)],
                                  [str(ranges), "targets.connected_per_day", "min", "max"]),
        "roster: no such file": (["score", str(CALL), "--team", str(tmp / "none.yaml")], [str(tmp)]),
        "script: several problems": (["script", "check", str(script)],
                                     [str(script), "{clint}", "{client}", "{manager}", "{company}", "wieght", "huge",
                                      "critical", "minor"]),
        "audio: undecodable": (["analyze", str(broken), str(empty), "--workers", "1"], [str(tmp)]),
        "history: damaged database": (["daily", "ivanova", "--db", str(database)], [str(database)]),
        "transcript: a binary file": (["score", str(binary)], [str(binary), "М:/К:"]),
        "transcript: a bad value": (["score", str(as_json)], [str(as_json)]),
        "chat: an unknown date": (["score", str(FIXTURES / "chats" / "whatsapp_bad_date.txt")], [str(FIXTURES)]),
        "pipedrive: refused token": (["pipedrive", "users", "--api-url", fake_url], [fake_url]),
        "pipedrive: empty token file": (["pipedrive", "users", "--token-file", str(token)], [str(token)]),
        "pbx: no key": (["fetch", "binotel", "--since", "2026-11-27", "--root", str(tmp / "calls"), "--db",
                         str(tmp / "f.db"), "--team", str(tmp / "pbx-team.yaml")], [str(tmp)]),
        "reports: a folder of other files": (["report", "--db", str(tmp / "r.db"), "--out", str(out)],
                                             [str(out), str(tmp)]),
    }


@pytest.fixture(scope="module")
def pipedrive():
    server = FakePipedrive("the-right-token").start()
    try:
        yield server
    finally:
        server.stop()


CASES = ["roster: a bad level", "roster: an unknown key", "roster: min above max", "roster: no such file",
         "script: several problems", "audio: undecodable", "history: damaged database", "transcript: a binary file",
         "transcript: a bad value", "chat: an unknown date", "pipedrive: refused token",
         "pipedrive: empty token file", "pbx: no key", "reports: a folder of other files"]


@pytest.mark.parametrize("case", CASES)
def test_an_engine_error_speaks_the_run_language(case, tmp_path, pipedrive, monkeypatch):
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", "a-wrong-token")
    for name in ("BINOTEL_API_KEY", "BINOTEL_API_SECRET", "PIPEDRIVE_API_URL"):
        monkeypatch.delenv(name, raising=False)
    if case == "reports: a folder of other files":
        from .review_helpers import build_history

        build_history(tmp_path / "r.db")
    args, data = _error_cases(tmp_path, pipedrive.url)[case]
    said = {}
    for lang in ("ru", "en"):
        run = CliRunner().invoke(cli, ["--lang", lang, *args])
        assert run.exit_code not in (0, None) and run.exception is None or isinstance(run.exception, SystemExit), \
            run.output
        output = run.output
        assert output.strip(), case
        assert foreign(output, lang, data=data) == [], (lang, foreign(output, lang, data=data), output)
        said[lang] = output
    assert said["ru"] != said["en"] and CYRILLIC.search(said["ru"]), said   # said in each language, not only prefixed


def test_a_failed_transcription_in_a_worker_speaks_the_run_language(tmp_path):
    """Several recordings go to the worker pool: its errors come back in the run's language too."""
    for name in ("a.mp3", "b.mp3"):
        (tmp_path / name).write_bytes(b"ID3 not really an mp3")
    files = [str(tmp_path / "a.mp3"), str(tmp_path / "b.mp3")]
    for lang, word in (("en", "cannot decode audio"), ("ru", "не удаётся декодировать звук")):
        run = CliRunner().invoke(cli, ["--lang", lang, "analyze", *files, "--workers", "2"])
        assert run.exit_code == 1, run.output
        assert run.output.count(word) == 2 and foreign(run.output, lang, data=[str(tmp_path)]) == [], run.output


def test_an_error_made_in_one_language_can_be_said_in_the_other():
    from compliance.errors import TeamError
    from compliance.history.roster import load_team

    with pytest.raises(TeamError) as caught:
        load_team("/nonexistent/team.yaml")
    assert "нет такого файла состава команды" in str(caught.value)
    english = catalogue.in_language(caught.value, "en")
    assert english == "/nonexistent/team.yaml: no such roster file; create it (see samples/team.yaml)"
    assert catalogue.in_language("plain text", "en") == "plain text"


def test_every_error_text_says_what_to_do_or_what_is_wrong_in_both_languages():
    """Each engine error has both texts, with the same placeholders (the catalogue test checks the fields)."""
    keys = [k for k in catalogue.keys("ru") if k.startswith("err.")]
    assert len(keys) > 200
    for key in keys:
        assert catalogue.has(key, "en"), key
        ru, en = catalogue.translations("ru").gettext(key), catalogue.translations("en").gettext(key)
        assert ru != en or set(ru) <= set("{}:., abcdefghijklmnopqrstuvwxyz_"), key
        assert not CYRILLIC.search(en.replace("М:/К:", "").replace("«М:»", "")), key


# -- the web app's refusals -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def history(tmp_path_factory):
    from .review_helpers import build_history

    db = tmp_path_factory.mktemp("refusals") / "history.db"
    build_history(db)
    return db


def _lead(db: Path, lang: str) -> tuple[TestClient, str]:
    from .review_helpers import PASSWORDS

    client = TestClient(create_app(db, lang=lang, login_delay=0.01), follow_redirects=False,
                        raise_server_exceptions=False)
    token = CSRF.search(client.get("/login").text).group(1)
    client.post("/login", data={"login": "lead", "password": PASSWORDS["lead"], "csrf_token": token})
    return client, CSRF.search(client.get("/calls/call001").text).group(1)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_web_apps_refusals_speak_its_language(history, lang):
    client, token = _lead(history, lang)
    answers = {
        400: client.post("/calls/call001/override", data={"stage_id": "greeting", "line": "²", "present": "1",
                                                          "note": "", "csrf_token": token}),
        415: client.post("/calls/call001/override", content=b"stage_id=greeting",
                         headers={"content-type": "text/plain"}),
        413: client.post("/calls/call001/override", content=b"note=" + b"x" * (70 * 1024),
                         headers={"content-type": "application/x-www-form-urlencoded"}),
        # an engine error in a request: a stage the call's script does not have
        401: client.post("/calls/call001/override", data={"stage_id": "nosuch", "line": "", "present": "1",
                                                          "note": "", "csrf_token": token}),
    }
    expected = {"ru": ("Номер строки должен быть числом", "Форма пришла не как", "Форма больше 64 КиБ",
                       "в его скрипте нет этапа 'nosuch'"),
                "en": ("The line must be a number", "The form did not come as", "The form is larger than 64 KiB",
                       "no stage 'nosuch' in its script")}[lang]
    for (status, res), words in zip(answers.items(), expected):
        assert res.status_code == (400 if status == 401 else status), (status, res.text[:300])
        shown = visible_text(res.text)
        assert words in shown, (status, shown)
        data = ["application/x-www-form-urlencoded", "nosuch", *STAGES]
        assert foreign(shown, lang, data=data) == [], (foreign(shown, lang, data=data), shown)


# -- the recognition-quality notes ----------------------------------------------------------------------------

def _poorly_heard(default_script) -> CallRecord:
    """A call the recogniser heard badly: a poor rating with its figures, the flag for the lead, unsure evidence."""
    from compliance.messages import Message
    from compliance.scoring.quality import ChannelQuality, RecognitionQuality
    from compliance.scoring.result import ReviewFlag

    transcript = load_transcript(CALL)
    result = score_call(transcript, default_script, "newcomer")
    result.quality = RecognitionQuality(rating="poor", channels=[
        ChannelQuality(channel="left", speaker="manager", words=120, low_confidence=0.31, snr_db=5.0,
                       background_words=7, rating="poor"),
        ChannelQuality(channel="right", speaker="client", words=60, low_confidence=0.05, snr_db=30.0,
                       rating="good")])
    result.flags.append(ReviewFlag(code="poor_recognition", detail="low_confidence=31%"))
    result.messages.append(Message(code="poor_recognition"))
    result.stages[0].uncertain = True
    return CallRecord(call_id="c1", file=str(CALL), manager="sidorova", manager_name="Сидорова Анна",
                      date="2026-11-27", time="11:05:40", result=result, transcript=transcript)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_recognition_quality_notes_speak_one_language(default_script, lang):
    from compliance.cli.options import format_result
    from compliance.reports.call_page import build_call_page
    from compliance.reports.render import make_environment, render_call_page

    from .test_languages_pages import _data

    record = _poorly_heard(default_script)
    shown = visible_text(render_call_page(build_call_page(record, default_script), make_environment(lang)))
    said = {"ru": ("Качество записи: низкое", "неуверенных слов 31 %", "слов фона 7", "распознаны плохо"),
            "en": ("Recording quality: poor", "low-confidence words 31 %", "background words 7",
                   "poorly recognised")}[lang]
    assert all(words in shown for words in said), shown
    data = _data([record], lang) | {default_script.title, *(s.title for s in default_script.stages)}
    assert foreign(shown, lang, data=data) == []
    catalogue.use(lang)
    try:
        line = format_result(record.result)
    finally:
        catalogue.use(None)
    quality = catalogue.text("quality_poor", lang)
    assert quality in line and catalogue.text("cli.result.uncertain", lang) in line, line
