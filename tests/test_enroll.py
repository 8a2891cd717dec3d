"""`compliance team enroll`: a manager's voice print from their calls, stored in the history, used on mono calls."""
from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from compliance.cli import cli
from compliance.history.store import Store
from compliance.history.voices import voice_of
from compliance.speech.engine import TranscribeOptions
from compliance.speech.transcribe import transcribe_file
from compliance.speech.voice_encoder import EMBEDDING_SIZE
from tests.test_audio import AUDIO, fake  # noqa: F401 - the fake recogniser fixture


def test_enroll_stores_a_print_that_finds_the_manager_on_a_mono_call(fake, tmp_path, default_script):  # noqa: F811
    db = tmp_path / "history.db"
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt garbage")
    result = CliRunner().invoke(cli, ["team", "enroll", "ivanova", str(AUDIO / "call_full.stereo.ogg"),
                                      str(AUDIO / "call_missing.stereo.ogg"), str(bad), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "пропущен:" in result.output and "broken.wav" in result.output
    with Store(db) as store:
        voice = voice_of(store, "ivanova")
    assert voice is not None and voice.calls == 2 and len(voice.vector) == EMBEDDING_SIZE  # a d-vector print
    assert abs(np.linalg.norm(voice.vector) - 1) < 1e-3
    mono = transcribe_file(AUDIO / "call_full.mono.mp3", script=None, voice=voice.vector)
    assert mono.parties.by == "voice" and mono.segments[0].speaker == "manager"
    assert mono.segments[0].text.startswith("Добрый день")


def test_a_print_enrolled_before_the_d_vectors_still_finds_the_manager(fake, tmp_path, monkeypatch):  # noqa: F811
    """An MFCC print (32 numbers, enrolled without the encoder) is compared with the parties' MFCC prints, which a
    call split by d-vectors keeps beside its d-vector prints."""
    from compliance.speech import voiceprint

    monkeypatch.setattr(voiceprint, "load_encoder", lambda: None)
    old = voiceprint.enroll([AUDIO / "call_full.stereo.ogg"], TranscribeOptions(), None, cache_dir=tmp_path)
    assert len(old.vector) == 32
    mono = transcribe_file(AUDIO / "call_full.mono.mp3", script=None, voice=old.vector, cache_dir=tmp_path)
    assert mono.parties.by == "voice" and mono.segments[0].speaker == "manager"


def test_enroll_without_a_usable_call_is_one_clear_error(fake, tmp_path):  # noqa: F811
    result = CliRunner().invoke(cli, ["team", "enroll", "ivanova", str(AUDIO / "silence.stereo.wav"),
                                      "--db", str(tmp_path / "h.db")])
    assert result.exit_code == 1
    assert "Ошибка: ivanova: отпечатка голоса нет: ни один из звонков (1) его не дал" in result.output
