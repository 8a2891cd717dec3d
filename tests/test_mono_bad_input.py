"""Bad one-channel recordings through the real pipeline, as a cloud PBX delivers them (8 kHz μ-law, mono): one
voice only (a manager's monologue, a recorded greeting), a recorded greeting followed by the manager's message,
silence, music on hold and a three-way call (a third, IVR-like voice before the two parties). Each gets a clear status, none crashes, and the batch goes on.

The files are made from the committed fixture recordings (the parties' channels of the stereo calls), so no
synthesizer is needed here; the music is sine chords.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from compliance.batch.run import BatchOptions, run_batch
from compliance.history.store import Store
from compliance.resources import default_script_path
from compliance.speech.decode import SAMPLE_RATE, decode_audio
from compliance.speech.parties import NOT_SEPARATED

from .conftest import FIXTURES

AUDIO = FIXTURES / "audio"
pytestmark = pytest.mark.slow


def _make_audio():
    spec = importlib.util.spec_from_file_location("_make_audio", FIXTURES / "make_audio.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _music(seconds: float) -> np.ndarray:
    """Hold music: chords of sine tones, two seconds each, with a beat."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    out = np.zeros_like(t)
    for i, chord in enumerate([(262, 330, 392), (220, 262, 330), (196, 247, 294), (175, 220, 262)] * 4):
        part = slice(int(i * 2 * SAMPLE_RATE), int((i + 1) * 2 * SAMPLE_RATE))
        for f in chord:
            out[part] += np.sin(2 * np.pi * f * t[part]) * 0.08
    return (out * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t) ** 2)).astype(np.float32)


def _higher(voice: np.ndarray, factor: float = 1.25) -> np.ndarray:
    """The same speech faster and higher (resampled): a third voice, like an IVR's."""
    return np.interp(np.arange(0, len(voice), factor), np.arange(len(voice)), voice).astype(np.float32)


def _recordings(day) -> dict[str, np.ndarray]:
    call = decode_audio(AUDIO / "call_full.stereo.ogg").channels          # manager left, client right
    greeting = decode_audio(AUDIO / "voicemail.stereo.ogg").channels[1]  # «Абонент сейчас не может ответить…»
    silence = decode_audio(AUDIO / "silence.stereo.wav").channels[0]
    mix = (call[0] + call[1]) * 0.7
    gap = np.zeros(SAMPLE_RATE // 2, np.float32)
    return {
        "monologue": call[0],                                    # one voice: the manager alone
        "greeting": greeting,                                    # one voice: a recorded greeting
        "silence": silence,
        "music": _music(24.0),
        "three_way": np.concatenate([gap, _higher(greeting), gap, mix]),
        # a machine's greeting, then the manager's message (the manager's first two turns of the call)
        "greeting_message": np.concatenate([greeting[:8 * SAMPLE_RATE], gap, call[0][:int(16.3 * SAMPLE_RATE)]]),
        "call": mix,                                             # a good call beside them
    }


def test_bad_mono_recordings_get_a_clear_status_and_the_batch_goes_on(tmp_path):
    make = _make_audio()
    folder = tmp_path / "day" / "2026-11-27" / "ivanova"
    folder.mkdir(parents=True)
    names = {}
    for i, (kind, audio) in enumerate(_recordings(folder).items()):
        path = folder / f"2026-11-27_{10 + i:02d}-00-00_ivanova.wav"
        make.encode(audio[None, :], path, "pcm_mulaw", 8000)
        names[str(path)] = kind
    run = run_batch(BatchOptions(folder=tmp_path / "day", db=tmp_path / "h.db", scripts=[default_script_path()],
                                 workers=1, cache_dir=tmp_path / "cache"))
    assert run.failed == 0 and run.analysed == len(names), run.failures
    with Store(tmp_path / "h.db") as store:
        got = {names[r.file]: r for r in store.calls()}
    status = {k: (r.result.connected, r.result.not_connected.code if r.result.not_connected else None)
              for k, r in got.items()}
    assert status["silence"] == (False, "no_speech")
    assert status["music"][0] is False and status["music"][1] in ("no_speech", "too_short"), status["music"]
    # one voice or two, the greeting first: voicemail, as the same call in stereo. (The code before the opening
    # rule passed this too: these voices are told apart here. The one-voice reading it missed, and the greeting given
    # to the manager, are tested fast in tests/test_diarize.py.)
    assert status["greeting_message"] == (False, "voicemail"), (status["greeting_message"],
                                                                got["greeting_message"].transcript.parties)
    # one voice: never a two-party call that counts, said why. A greeting is not connected; the manager's side of a
    # call alone follows the script through the call: a conversation whose client may have said too little to be
    # heard apart, so it is scored on all its words and flagged «говорящие не разделены» for the lead
    for kind in ("monologue", "greeting"):
        parties, result = got[kind].transcript.parties, got[kind].result
        assert parties is not None and parties.voices == 1, (kind, parties)
        assert (status[kind][0] is False and status[kind][1]) or [f.code for f in result.flags] == [NOT_SEPARATED], \
            (kind, status[kind], result.flags)
    for kind in ("call", "three_way"):  # two parties, the manager found; the IVR's words join a party
        parties, result = got[kind].transcript.parties, got[kind].result
        assert result.connected and parties is not None and parties.voices == 2, (kind, status[kind], parties)
        manager_words = " ".join(s.text for s in got[kind].transcript.segments if s.speaker == "manager").lower()
        assert "меня зовут" in manager_words and "компания" in manager_words, (kind, manager_words)
        assert result.adherence >= 70, (kind, result.adherence)
