"""The speaker-embedding encoder (Resemblyzer's GE2E weights run in numpy, no PyTorch) on real recordings, and the
diarizer's fallback to MFCC statistics when its package is not installed."""
from __future__ import annotations

import io
import pickle
import sys

import numpy as np
import pytest

from compliance.speech import diarize as diarize_module
from compliance.speech.decode import SAMPLE_RATE, decode_audio
from compliance.speech.voice_encoder import EMBEDDING_SIZE, load_encoder, read_torch_state, weights_file

from .conftest import FIXTURES
from .test_audio import fake  # noqa: F401 - the fake recogniser fixture

AUDIO = FIXTURES / "audio"
needs_encoder = pytest.mark.skipif(weights_file() is None, reason="pip install --no-deps resemblyzer==0.1.4")


def _pieces(channel: np.ndarray, seconds: float = 1.5) -> list[np.ndarray]:
    """A channel's stretches of speech, ``seconds`` long (the quiet ones left out)."""
    size = int(seconds * SAMPLE_RATE)
    cuts = [channel[s:s + size] for s in range(0, len(channel) - size, size)]
    return [c for c in cuts if float(np.sqrt(np.mean(c ** 2))) > 0.01]


@needs_encoder
def test_d_vectors_are_unit_vectors_and_a_voice_is_closer_to_itself_than_to_the_other_party():
    encoder = load_encoder()
    assert encoder is not None and "torch" not in sys.modules
    manager, client = decode_audio(AUDIO / "call_full.stereo.ogg").channels  # two people's voices, a channel each
    a, b = encoder.embed(_pieces(manager)), encoder.embed(_pieces(client))
    assert a.shape == (len(_pieces(manager)), EMBEDDING_SIZE) and len(a) >= 8 and len(b) >= 8
    assert np.allclose(np.linalg.norm(np.concatenate([a, b]), axis=1), 1.0, atol=1e-4)
    same = [float((x @ x.T)[np.triu_indices(len(x), 1)].mean()) for x in (a, b)]
    other = float((a @ b.T).mean())
    assert min(same) > other + 0.1, (same, other)
    # a piece's nearest party mean is its own for nearly every piece
    means = np.stack([a.mean(axis=0), b.mean(axis=0)])
    right = np.mean(np.argmax(a @ means.T, axis=1) == 0) + np.mean(np.argmax(b @ means.T, axis=1) == 1)
    assert right / 2 >= 0.9
    assert encoder.embed([]).shape == (0, EMBEDDING_SIZE)
    assert encoder.embed([np.zeros(800, np.float32)]).shape == (1, EMBEDDING_SIZE)  # 50 ms of silence: no crash


@needs_encoder
def test_a_real_mono_call_is_split_by_d_vectors():
    from compliance.speech.diarize import diarize

    manager, client = decode_audio(AUDIO / "call_full.stereo.ogg").channels
    units, truth = [], []
    for k, channel in enumerate((manager, client)):  # each party's loud 0.3 s stretches, as words
        for s in range(0, len(channel) - 4800, 4800):
            if float(np.sqrt(np.mean(channel[s:s + 4800] ** 2))) > 0.02:
                units.append((s / SAMPLE_RATE, (s + 4800) / SAMPLE_RATE))
                truth.append(k)
    order = np.argsort([a for a, _ in units])
    units, truth = [units[i] for i in order], np.array(truth)[order]
    result = diarize(manager + client, units)
    assert result.method == "ge2e" and result.voices == 2
    labels = np.array(result.labels)
    assert max(np.mean(labels == truth), np.mean(labels != truth)) >= 0.9
    assert len(result.voice_prints) == 2 and all(len(p) == EMBEDDING_SIZE for p in result.voice_prints)
    alone = diarize(manager, [u for u, k in zip(units, truth) if k == 0])
    assert alone.voices == 1


def test_without_the_package_the_mfcc_statistics_split_the_call_and_say_so(monkeypatch, default_script):
    from tests.test_diarize import HIGH, LOW, _call

    monkeypatch.setattr(diarize_module, "load_encoder", lambda: None)
    audio, units, truth = _call([LOW, HIGH])
    result = diarize_module.diarize(audio, units)
    assert result.method == "mfcc" and result.voices == 2 and not result.voice_prints
    assert diarize_module.diarization_method() == "mfcc"


def test_the_weights_reader_builds_arrays_and_nothing_else():
    """A file that asks the unpickler for any other global (here os.system) is refused, not run."""
    class Evil:
        def __reduce__(self):
            import os
            return os.system, ("echo owned",)

    raw = io.BytesIO()
    for part in (0x1950A86A20F9469CFC6C, 1001, {}):
        pickle.dump(part, raw)
    pickle.dump(Evil(), raw)
    with pytest.raises(pickle.UnpicklingError):
        read_torch_state(raw.getvalue())
    with pytest.raises(ValueError):
        read_torch_state(pickle.dumps("not a torch file"))


def test_a_mono_call_split_without_the_encoder_says_so(fake, monkeypatch, tmp_path):  # noqa: F811
    from compliance.speech.transcribe import transcribe_file

    monkeypatch.setattr(diarize_module, "load_encoder", lambda: None)
    transcript = transcribe_file(AUDIO / "call_full.mono.mp3", script=None, cache_dir=tmp_path)
    assert transcript.parties is not None and "mono_diarized_mfcc" in [m.code for m in transcript.messages]
    assert any("MFCC" in n for n in transcript.notes)  # said in words, in Russian


@needs_encoder
def test_the_one_blas_thread_pin_is_restored_after_recordings_on_threads():
    import threading

    from compliance.speech import voice_encoder

    setter = voice_encoder._openblas_setter()
    if setter is None:
        pytest.skip("numpy's OpenBLAS is not reachable here")
    before = setter[1]()
    encoder = load_encoder()
    assert encoder is not None
    piece = np.random.default_rng(0).normal(0, 0.1, SAMPLE_RATE).astype(np.float32)
    threads = [threading.Thread(target=lambda: [encoder.embed([piece] * 3) for _ in range(3)]) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert setter[1]() == before


def _answered(replies_from: np.ndarray, manager: np.ndarray, turns: int = 6) -> tuple[np.ndarray, list, list]:
    """A mono call where the manager talks (2.4 s turns of his channel) and after each turn a short reply (0.4 s, a
    «да» or «угу») is cut from ``replies_from``; its units (0.3 s word-like spans) and each unit's true voice (1:
    a reply)."""
    def loud(channel: np.ndarray, size: int) -> list[np.ndarray]:
        cuts = [channel[s:s + size] for s in range(0, len(channel) - size, size)]
        return [c for c in cuts if float(np.sqrt(np.mean(c ** 2))) > 0.03]

    talk, short = loud(manager, int(2.4 * SAMPLE_RATE)), loud(replies_from, int(0.4 * SAMPLE_RATE))
    pause = np.zeros(int(0.5 * SAMPLE_RATE), np.float32)
    audio, units, truth, t = [], [], [], 0.0
    for i in range(turns):
        for piece, who in ((talk[i], 0), (short[(7 * i) % len(short)], 1)):
            n = len(piece) / SAMPLE_RATE
            units += [(t + a, min(t + a + 0.3, t + n)) for a in np.arange(0.0, n - 0.1, 0.3)]
            truth += [who] * (len(units) - len(truth))
            audio += [piece, pause]
            t += n + 0.5
    return np.concatenate(audio), units, truth


@needs_encoder
def test_a_client_who_only_answers_is_heard_as_the_other_party():
    """Replies too short to cluster (0.4 s each) are heard together: another voice's are the other party, the
    manager's own short words are not."""
    from compliance.speech.diarize import diarize

    manager, client = decode_audio(AUDIO / "call_full.stereo.ogg").channels
    audio, units, truth = _answered(client, manager)
    result = diarize(audio, units)
    assert result.method == "ge2e" and result.voices == 2, result
    labels, truth_ = np.array(result.labels), np.array(truth)
    assert max(np.mean(labels == truth_), np.mean(labels != truth_)) >= 0.9
    alone, units, _ = _answered(manager[len(manager) // 2:], manager)  # the "replies" in the manager's own voice
    assert diarize(alone, units).voices == 1
