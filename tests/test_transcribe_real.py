"""The real Whisper base model on real (synthesised) speech: tests/fixtures/make_audio.py made the calls.

One model is loaded for the module; the transcript cache and the assembled model live in a temporary
cache folder. About half a minute on 2 cores.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from compliance.cli import cli
from compliance.scoring.score import score_call
from compliance.speech import transcribe as tx
from compliance.speech.transcribe import TranscribeOptions, load_model, transcribe_file

pytestmark = pytest.mark.slow

AUDIO = Path(__file__).resolve().parent / "fixtures" / "audio"
MANIFEST = json.loads((AUDIO / "manifest.json").read_text(encoding="utf-8"))


def _plain(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.lower().replace("ё", "е")))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A private cache (model + transcripts) and the loaded model, shared by the module."""
    cache = tmp_path_factory.mktemp("compliance-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMPLIANCE_CACHE_DIR", str(cache))
        options = TranscribeOptions()
        yield {"cache": cache, "options": options, "model": load_model(options)}


@pytest.fixture(scope="module")
def transcripts(env, default_script_module):
    """Every call fixture transcribed once (the tests below read these)."""
    names = ["call_full.stereo.ogg", "call_missing.stereo.ogg", "call_full.mono.mp3", "voicemail.stereo.ogg",
             "silence.stereo.wav"]
    return {n: transcribe_file(AUDIO / n, env["options"], model=env["model"], script=default_script_module)
            for n in names}


@pytest.fixture(scope="module")
def default_script_module():
    from compliance.resources import default_script_path
    from compliance.scoring.script_file import load_script

    return load_script(default_script_path())


def _wer(reference: str, hypothesis: str) -> float:
    ref, hyp = _plain(reference).split(), _plain(hypothesis).split()
    return Levenshtein.distance(ref, hyp) / len(ref)


def _lines_found(name: str, text: str) -> tuple[int, int]:
    lines = [t["text"] for t in MANIFEST[name]["turns"] if t["speaker"] == "manager"]
    said = _plain(text)
    return sum(fuzz.partial_ratio(_plain(line), said) >= 80 for line in lines), len(lines)


def test_full_stereo_call(transcripts, default_script_module):
    name = "call_full.stereo.ogg"
    t = transcripts[name]
    assert t.manager_channel == "left"
    assert any("автоматически: левый" in n for n in t.notes)
    manager, client = _plain(t.text_of("manager")), _plain(t.text_of("client"))
    for word in ("ольга", "зовут", "иван", "задачу", "сроки", "бюджет", "проекты", "оплату", "шаге", "свидания"):
        assert word in manager, word
    for word in ("сайт", "магазина", "месяц", "гривен"):
        assert word in client, word
    turns = MANIFEST[name]["turns"]
    assert _wer(" ".join(x["text"] for x in turns if x["speaker"] == "manager"), t.text_of("manager")) < 0.2
    assert _wer(" ".join(x["text"] for x in turns if x["speaker"] == "client"), t.text_of("client")) < 0.35
    found, total = _lines_found(name, t.text_of("manager"))
    assert found >= total - 1, f"{found}/{total} script lines survived recognition"
    # turns alternate as in the call, and words carry times and confidences
    assert [s.speaker for s in t.segments[:4]] == ["manager", "client", "manager", "client"]
    words = [w for s in t.segments for w in s.words]
    assert all(0 < (w.probability or 0) <= 1 and w.start is not None and w.end >= w.start for w in words)
    assert t.talk.manager_speech > t.talk.client_speech > 10 and 0.5 < t.talk.manager_share < 0.85
    result = score_call(t, default_script_module, "newcomer")
    assert result.connected and result.adherence >= 85, result.adherence
    assert result.verdict in ("within", "above")


def test_call_with_missing_stages(transcripts, default_script_module):
    t = transcripts["call_missing.stereo.ogg"]
    assert t.manager_channel == "left"
    result = score_call(t, default_script_module, "newcomer")
    assert result.connected and result.adherence < 85 and result.verdict == "below"
    present = {s.id for s in result.stages if s.present}
    assert {"greeting", "offer", "farewell"} <= present
    assert not {"needs", "payment_timing", "next_step"} & present


def test_mono_call(transcripts, default_script_module):
    t = transcripts["call_full.mono.mp3"]
    assert {s.speaker for s in t.segments} == {"manager", "client"} and t.talk is not None  # split by voice
    assert any("Моно-запись" in n for n in t.notes) and t.parties is not None
    text = _plain(" ".join(s.text for s in t.segments))
    for word in ("ольга", "иван", "бюджет", "сайт", "оплату", "свидания"):
        assert word in text, word
    found, total = _lines_found("call_full.mono.mp3", text)
    assert found >= total - 1, f"{found}/{total} script lines survived recognition (mono)"
    result = score_call(t, default_script_module, "newcomer")
    assert result.connected and result.speakers_known and result.adherence >= 85 and not result.flags


def test_one_party_and_silence(transcripts):
    vm = transcripts["voicemail.stereo.ogg"]
    assert "абонент" in _plain(" ".join(s.text for s in vm.segments))
    assert vm.talk.manager_speech == 0 or vm.talk.client_speech == 0
    silence = transcripts["silence.stereo.wav"]
    assert silence.segments == [] and silence.talk.silence == pytest.approx(6.0, abs=0.1)


def test_analyze_end_to_end(env, transcripts, tmp_path):
    """The command on real recordings: scores, not-connected reasons, and a bad file among them."""
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt garbage")
    files = [AUDIO / "call_full.stereo.ogg", bad, AUDIO / "voicemail.stereo.ogg", AUDIO / "silence.stereo.wav",
             AUDIO / "call_missing.stereo.ogg"]
    result = CliRunner().invoke(cli, ["analyze", *map(str, files), "--level", "newcomer", "--json"])
    assert result.exit_code == 1
    assert f"Ошибка: {bad}: не удаётся декодировать звук (" in result.output
    rows = {Path(r["file"]).name: r for r in map(json.loads, (line for line in result.output.splitlines()
                                                              if line.startswith("{")))}
    assert set(rows) == {"call_full.stereo.ogg", "voicemail.stereo.ogg", "silence.stereo.wav",
                         "call_missing.stereo.ogg"}
    assert rows["call_full.stereo.ogg"]["connected"] and rows["call_full.stereo.ogg"]["adherence"] >= 85
    assert rows["call_missing.stereo.ogg"]["verdict"] == "below"
    for name in ("voicemail.stereo.ogg", "silence.stereo.wav"):
        assert rows[name]["connected"] is False and rows[name]["adherence"] is None
        assert rows[name]["not_connected_reason"]
    assert rows["call_full.stereo.ogg"]["talk"]["manager_speech"] > 0


def test_edited_script_rescored_without_transcribing(env, transcripts, tmp_path, monkeypatch):
    from compliance.resources import default_script_path

    recording = AUDIO / "call_missing.stereo.ogg"
    before = CliRunner().invoke(cli, ["analyze", str(recording), "--json"])
    assert before.exit_code == 0, before.output

    def _no_recognition(*args, **kwargs):
        raise AssertionError("transcribed again")

    monkeypatch.setattr(tx, "_recognise", _no_recognition)
    edited = tmp_path / "edited.yaml"
    data = yaml.safe_load(default_script_path().read_text(encoding="utf-8"))
    for stage in data["stages"]:  # the call's missing stages stop being required: it now scores higher
        if stage["id"] in ("needs", "payment_timing", "next_step"):
            stage["required"] = False
    edited.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    after = CliRunner().invoke(cli, ["analyze", str(recording), "--script", str(edited), "--json"])
    assert after.exit_code == 0, after.output
    assert json.loads(after.output)["coverage"] > json.loads(before.output)["coverage"]


@pytest.mark.parametrize("name", sorted(k for k in MANIFEST if k.startswith("formats/")))
def test_every_format_is_recognised(env, name, default_script_module):
    t = transcribe_file(AUDIO / name, env["options"], model=env["model"], script=default_script_module)
    text = _plain(" ".join(s.text for s in t.segments))
    assert "добрый день" in text and "зовут" in text and "слушаю" in text, text
    if MANIFEST[name]["channels"] == 2:
        assert t.manager_channel == "left"
        assert [s.speaker for s in t.segments] == ["manager", "client"]
    else:  # one channel: split by voice at the turn, the greeting the manager's, the answer the client's
        assert t.parties is not None and t.segments[0].speaker == "manager", [s.speaker for s in t.segments]
        said = {who: _plain(t.text_of(who)) for who in ("manager", "client")}
        assert "зовут" in said["manager"] and "слушаю" in said["client"] and "слушаю" not in said["manager"], said


def test_transcribe_command_writes_real_json(env, tmp_path):
    result = CliRunner().invoke(cli, ["transcribe", str(AUDIO / "formats" / "phrase.stereo44k.mp3"),
                                      "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "phrase.stereo44k.json").read_text(encoding="utf-8"))
    assert data["model"] == "whisper-base" and data["language"] == "ru" and data["manager_channel"] == "left"
    assert data["segments"][0]["speaker"] == "manager"
    assert all(set(w) == {"word", "start", "end", "probability", "level"} for s in data["segments"] for w in s["words"])
