"""Russian first for what the engine says (issue 23): the errors raised deep in the engine (roster, history,
Pipedrive, audio, sources, chats, scripts) and the web app's refusals speak the run's language, with no text of
the other; a band is shown with the one sentence that explains it, from the one home the pages take it from."""
from __future__ import annotations

from click.testing import CliRunner

from compliance.cli import cli
from compliance.crm.note import render_note
from compliance.scoring.band import band_why_key
from compliance.scoring.result import CallRecord
from compliance.scoring.score import score_call
from compliance.scoring.transcript import load_transcript
from compliance.text import catalogue

from .conftest import FIXTURES, ROOT

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
