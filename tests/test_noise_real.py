"""A noisy room through the real model (issue 27): a recorded voice 12 dB below the manager, on their channel.

The spoken full call (tests/fixtures/audio) is mixed, on the manager's channel, with the answering-machine
recording of the fixtures said over and over: a voice that must not become the manager's words, nor make the call
a voicemail. The clean call is recognised beside it: the noisy call's quality figures must show the noise.
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from compliance.scoring.score import score_call
from compliance.speech.decode import SAMPLE_RATE, decode_audio
from compliance.speech.transcribe import TranscribeOptions, load_model, transcribe_file

pytestmark = pytest.mark.slow

AUDIO = Path(__file__).resolve().parent / "fixtures" / "audio"


def _active_rms(x: np.ndarray) -> float:
    frames = np.sqrt(np.mean(x[:len(x) // 800 * 800].reshape(-1, 800) ** 2, axis=1)) + 1e-9
    return float(np.sqrt(np.mean(frames[frames > frames.max() / 30] ** 2)))


def _noisy_call(target: Path, below_db: float) -> None:
    call = decode_audio(AUDIO / "call_full.stereo.ogg").channels
    voice = decode_audio(AUDIO / "voicemail.stereo.ogg").channels[1]
    said = np.flatnonzero(np.abs(voice) > 0.02)
    voice = voice[said[0]:said[-1]]  # the greeting without its silent tail: the voice goes on, as in a room
    pause = np.zeros(SAMPLE_RATE // 5, dtype=np.float32)
    background = np.tile(np.concatenate([voice, pause]), len(call[0]) // (len(voice) + len(pause)) + 1)
    background = background[:len(call[0])] * _active_rms(call[0]) / _active_rms(voice) * 10 ** (-below_db / 20)
    left = np.clip(call[0] + background, -1, 1)
    pcm = (np.stack([left, call[1]]).T * 32767).astype(np.int16)
    with wave.open(str(target), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


@pytest.fixture(scope="module")
def heard(tmp_path_factory):
    from compliance.resources import default_script_path
    from compliance.scoring.script_file import load_script

    folder = tmp_path_factory.mktemp("noisy")
    script = load_script(default_script_path())
    options = TranscribeOptions(manager_channel="left")
    model = load_model(options)
    _noisy_call(folder / "noisy.wav", 12.0)
    out = {}
    for name, path in (("clean", AUDIO / "call_full.stereo.ogg"), ("noisy", folder / "noisy.wav")):
        transcript = transcribe_file(path, options, model=model, cache_dir=folder / "cache", script=script)
        out[name] = (transcript, score_call(transcript, script, "newcomer"))
    return out


def test_a_voice_in_the_room_is_not_the_manager(heard):
    transcript, result = heard["noisy"]
    manager = transcript.text_of("manager").lower()
    assert "абонент" not in manager and "сигнал" not in manager, manager
    assert result.connected, result.not_connected_reason  # the recorded greeting does not make it a voicemail
    assert result.forbidden == []
    clean = heard["clean"][1]
    assert result.verdict == clean.verdict or result.flags  # the same verdict, or a flag for the lead
    assert [s.present for s in result.stages] == [s.present for s in clean.stages] or result.flags


def test_the_quality_figures_show_the_noise(heard):
    clean, noisy = heard["clean"][0].quality, heard["noisy"][0].quality
    assert clean is not None and noisy is not None
    assert [q.speaker for q in noisy.channels] == ["manager", "client"]
    assert [q.channel for q in noisy.channels] == ["left", "right"]
    c, n = clean.channels[0], noisy.channels[0]
    assert c.snr_db is not None and n.snr_db is not None and n.snr_db < c.snr_db - 10
    assert clean.rating == "good" and c.low_confidence < 0.1
    assert n.words > 50 and n.avg_logprob is not None and n.no_speech_prob is not None
    assert heard["noisy"][1].quality == noisy  # carried into the result (JSON, the store, the pages)


def test_a_teams_own_model_folder_recognises_the_batch(tmp_path):
    """team.yaml ``model:`` names a local CTranslate2 Whisper folder (here the base model's files under another
    name, as a converted larger model would be placed): the batch recognises with it and records it."""
    import shutil

    from compliance.batch.run import BatchOptions, run_batch
    from compliance.history.store import Store
    from compliance.speech.model import assemble_default_model

    base = assemble_default_model()
    own = tmp_path / "models" / "whisper-team"
    own.mkdir(parents=True)
    for part in base.iterdir():
        (own / part.name).symlink_to(part)
    team = tmp_path / "team.yaml"
    team.write_text("model: models/whisper-team\nmanagers:\n  ivanova: {name: Иванова Мария, level: newcomer}\n",
                    encoding="utf-8")
    day = tmp_path / "day"
    day.mkdir()
    shutil.copy(AUDIO / "call_missing.stereo.ogg", day / "2026-11-27_10-31-02_ivanova_380991234567.ogg")
    summary = run_batch(BatchOptions(folder=day, db=tmp_path / "c.db", team=team, cache_dir=tmp_path / "cache",
                                     workers=1))
    assert (summary.analysed, summary.failed) == (1, 0), summary.model_dump_json()
    with Store(tmp_path / "c.db") as store:
        [record] = store.calls()
    assert record.model == "whisper-team"
    assert record.transcript is not None and record.transcript.text_of("manager")
    assert record.result.connected
